"""``peso gc``: find (and, when asked, remove) objects no version refers to.

A load writes its objects first and registers the version second, so a load killed in
between leaves objects under ``raw/``, ``curated/`` or ``quarantine/`` that nothing refers
to. This module finds them:

1. list the objects under those prefixes (first: an object written after the listing is
   not considered at all);
2. read every version's raw, curated and quarantine key (``export_records``, one snapshot);
3. an unreferenced object older than the grace period (PESO_GC_GRACE_SECONDS) is an orphan;
   a younger one may belong to a load still in flight and is left alone.

Nothing is deleted unless ``delete`` is set (``peso gc --delete``); and not even then when
the orphans are more than PESO_GC_MAX_SHARE of the objects considered, unless ``force``: a
catalog pointed at the wrong object store would otherwise lose everything in one command.
``rejected/`` (refused uploads, kept on purpose for writers to inspect) is kept for
PESO_REJECTED_RETENTION_DAYS (``rejected_days``; 0: forever), then removed too. Also
removed, when older than the grace period: temporary files of object writes killed half-way
(``.peso-tmp-*``, the local folder store) and the scratch files of killed loads and uploads
(``peso-load-*``, ``peso-upload-*`` in the data folder's ``tmp``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from server.storage.graph import GraphStore
from server.storage.local import LocalObjectStore
from server.storage.objects import ObjectInfo, ObjectStore

PREFIXES = ("raw/", "curated/", "quarantine/")
REJECTED = "rejected/"
VERSION_KEYS = ("raw_key", "curated_key", "quarantine_key")
_SHOWN = 20


@dataclass
class GcReport:
    considered: int = 0
    referenced: int = 0
    orphans: list[ObjectInfo] = field(default_factory=list)
    young: int = 0
    temp_files: list[str] = field(default_factory=list)
    deleted: int = 0
    deleted_bytes: int = 0
    dry_run: bool = True
    over_share: str | None = None   # why deleting needs --force (set even in a dry run)
    refused: bool = False           # --delete was refused for that reason
    scratch: list[str] = field(default_factory=list)
    grace_seconds: int = 0
    rejected: list[ObjectInfo] = field(default_factory=list)   # past their retention
    rejected_days: int = 0
    stale_runs: list[dict[str, Any]] = field(default_factory=list)  # closed (or to close)

    @property
    def orphan_bytes(self) -> int:
        return sum(o.size for o in self.orphans)

    @property
    def ok(self) -> bool:
        return not self.refused

    def as_dict(self) -> dict[str, Any]:
        return {"considered": self.considered, "referenced": self.referenced,
                "orphans": [o.key for o in self.orphans], "orphan_bytes": self.orphan_bytes,
                "young_unreferenced": self.young, "temp_files": self.temp_files,
                "scratch": self.scratch, "deleted": self.deleted,
                "deleted_bytes": self.deleted_bytes, "dry_run": self.dry_run,
                "over_share": self.over_share, "refused": self.refused,
                "grace_seconds": self.grace_seconds,
                "rejected_expired": [o.key for o in self.rejected],
                "rejected_retention_days": self.rejected_days,
                "stale_runs": self.stale_runs}

    def lines(self) -> list[str]:
        out = [f"objects under {', '.join(PREFIXES)}: {self.considered}; referenced by "
               f"versions: {self.referenced}; unreferenced: {len(self.orphans) + self.young} "
               f"({self.young} younger than {self.grace_seconds}s, left alone)"]
        verb = "would delete" if self.dry_run or self.refused else "deleted"
        extra = len(self.temp_files) + len(self.scratch)
        out.append(f"{verb} {len(self.orphans)} orphaned objects ({self.orphan_bytes} bytes)"
                   + (f" and {extra} stale temporary files" if extra else ""))
        out += [f"  {o.key} ({o.size} bytes, {o.modified.isoformat(timespec='seconds')})"
                for o in self.orphans[:_SHOWN]]
        if len(self.orphans) > _SHOWN:
            out.append(f"  … and {len(self.orphans) - _SHOWN} more")
        if self.rejected_days:
            out.append(f"{verb} {len(self.rejected)} refused uploads under rejected/ older "
                       f"than {self.rejected_days} days (PESO_REJECTED_RETENTION_DAYS)")
        else:
            out.append("refused uploads under rejected/ are kept forever "
                       "(PESO_REJECTED_RETENTION_DAYS=0)")
        closing = "would close" if self.dry_run else "closed"
        out.append(f"{closing} {len(self.stale_runs)} runs whose process is gone as ABORT")
        out += [f"  {r['job']} run {r['run_id']}: {r['reason']}" for r in self.stale_runs[:_SHOWN]]
        if self.refused:
            out.append(f"refused, nothing was deleted: {self.over_share}")
        elif self.dry_run and (self.orphans or extra or self.rejected or self.stale_runs):
            needs = " --force" if self.over_share else ""
            out.append(f"dry run: nothing was deleted; run `peso gc --delete{needs}` to "
                       "delete them" + (f" ({self.over_share})" if self.over_share else ""))
        return out


async def referenced_keys(graph: GraphStore) -> set[str]:
    keys: set[str] = set()
    async for record in graph.export_records():
        if record.get("record") == "version":
            keys.update(record[k] for k in VERSION_KEYS if record.get(k))
    return keys


def _list(objects: ObjectStore) -> list[ObjectInfo]:
    return [info for prefix in PREFIXES for info in objects.list(prefix)]


def _stale_scratch(folder: Path | None, cutoff: float) -> list[Path]:
    """Work files of killed loads and uploads in the data folder's scratch space."""
    if folder is None or not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        if entry.name.startswith(("peso-load-", "peso-upload-")):
            try:
                if entry.lstat().st_mtime < cutoff:
                    found.append(entry)
            except FileNotFoundError:
                continue
    return sorted(found)


def _stale_temp_files(objects: ObjectStore, cutoff: float) -> list[Path]:
    """Temp files of killed writes in a local folder store (other backends have none)."""
    if not isinstance(objects, LocalObjectStore):
        return []
    found = []
    for folder, _dirs, files in os.walk(objects.root):
        for name in files:
            path = Path(folder) / name
            if name.startswith(".peso-tmp-"):
                try:
                    if path.stat().st_mtime < cutoff:
                        found.append(path)
                except FileNotFoundError:
                    continue
    return sorted(found)


async def collect_garbage(graph: GraphStore, objects: ObjectStore, *, grace_seconds: int,
                          max_share: float, delete: bool = False, force: bool = False,
                          scratch: Path | None = None, rejected_days: int = 0,
                          now: datetime | None = None) -> GcReport:
    """Find orphaned objects (and stale scratch files under ``scratch``, the data folder's
    ``tmp``, and refused uploads older than ``rejected_days``); delete them when ``delete``
    (and the share allows, or ``force``)."""
    report = GcReport(dry_run=not delete, grace_seconds=grace_seconds,
                      rejected_days=rejected_days)
    moment = now or datetime.now(UTC)
    cutoff = moment - timedelta(seconds=grace_seconds)
    listed = await asyncio.to_thread(_list, objects)      # first the objects …
    wanted = await referenced_keys(graph)                 # … then what refers to them
    report.considered = len(listed)
    for info in listed:
        if info.key in wanted:
            report.referenced += 1
        elif info.modified <= cutoff:
            report.orphans.append(info)
        else:
            report.young += 1
    if rejected_days:
        kept_until = moment - timedelta(days=rejected_days)
        report.rejected = [info for info in await asyncio.to_thread(
            lambda: list(objects.list(REJECTED))) if info.modified <= kept_until]
    cutoff_ts = time.time() - grace_seconds
    temps = await asyncio.to_thread(_stale_temp_files, objects, cutoff_ts)
    work = await asyncio.to_thread(_stale_scratch, scratch, cutoff_ts)
    report.temp_files, report.scratch = [str(p) for p in temps], [str(p) for p in work]
    share = len(report.orphans) / report.considered if report.considered else 0.0
    if report.orphans and share > max_share:
        report.over_share = (f"{len(report.orphans)} of {report.considered} objects "
                             f"({share:.0%}) are orphans, more than PESO_GC_MAX_SHARE "
                             f"({max_share:.0%}); check that PESO_OBJECTS_URL and "
                             "PESO_GRAPH_URL name the same catalog, then pass --force")
    if not delete:
        return report
    if report.over_share and not force:
        report.refused = True
        return report
    for info in report.orphans:
        if await asyncio.to_thread(objects.delete, info.key):
            report.deleted += 1
            report.deleted_bytes += info.size
    for info in report.rejected:
        if await asyncio.to_thread(objects.delete, info.key):
            report.deleted += 1
            report.deleted_bytes += info.size
    for path in temps:
        path.unlink(missing_ok=True)
    for path in work:
        await asyncio.to_thread(_remove_tree, path)
    return report


def _remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
