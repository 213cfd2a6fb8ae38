"""Where the catalog lives, said out loud.

Before, the embedded catalog defaulted to ``./peso-data`` relative to the working directory, so
``peso token create`` run from another folder silently wrote to another, empty catalog. Now the
default is one folder per user (the platform's data directory: ``~/.local/share/peso`` on
Linux, honouring ``XDG_DATA_HOME``), still overridable by ``PESO_DATA_DIR`` or ``--data-dir``.
Every command's first line on stderr names the catalog it works on, and a command that finds
its catalog empty while a catalog exists at the old ``./peso-data`` says so.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from server.settings import Settings, default_data_dir, parse_graph_url

LEGACY_DIR = "peso-data"  # the earlier default, relative to the working directory


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _sqlite_path(settings: Settings) -> Path | None:
    scheme, location = parse_graph_url(settings.graph_url)
    return Path(location) if scheme == "sqlite" else None


def describe(settings: Settings) -> str:
    """One line naming the catalog this command works on (no credentials)."""
    db = _sqlite_path(settings)
    objects = _without_credentials(settings.objects_url)
    if db is not None:
        return f"peso: catalog {db} (objects {objects})"
    return f"peso: catalog {_without_credentials(settings.graph_url)} (objects {objects})"


def _dataset_count(db: Path) -> int | None:
    """Datasets in an embedded catalog file, or None when it is absent or unreadable."""
    if not db.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT count(*) FROM datasets WHERE deleted_at IS NULL").fetchone()
        return int(row[0])
    except sqlite3.Error:  # not a Peso catalog, or one still being created
        return None
    finally:
        conn.close()


def legacy_warning(settings: Settings, cwd: Path) -> str | None:
    """A warning when this catalog is empty but one exists at the old ./peso-data location."""
    db = _sqlite_path(settings)
    legacy = (cwd / LEGACY_DIR / "catalog.db").resolve()
    if db is None or db.resolve() == legacy:
        return None
    if (_dataset_count(db) or 0) > 0:
        return None
    found = _dataset_count(legacy)
    if not found:
        return None
    return (f"peso: warning: this catalog has no datasets, but {legacy} holds {found} datasets; "
            f"Peso's default moved to {default_data_dir()}. To use the old one, pass "
            f"--data-dir {legacy.parent} (or set PESO_DATA_DIR), or move the folder there.")
