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
``rejected/`` (refused uploads, kept on purpose) is never touched. On the local folder store,
temporary files of writes that were killed half-way (``.peso-tmp-*``) older than the grace
period are removed too.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from server.storage.graph import GraphStore
from server.storage.local import LocalObjectStore
from server.storage.objects import ObjectInfo, ObjectStore

PREFIXES = ("raw/", "curated/", "quarantine/")
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
    refused: str | None = None
    grace_seconds: int = 0

    @property
    def orphan_bytes(self) -> int:
        return sum(o.size for o in self.orphans)

    @property
    def ok(self) -> bool:
        return self.refused is None

    def as_dict(self) -> dict[str, Any]:
        return {"considered": self.considered, "referenced": self.referenced,
                "orphans": [o.key for o in self.orphans], "orphan_bytes": self.orphan_bytes,
                "young_unreferenced": self.young, "temp_files": self.temp_files,
                "deleted": self.deleted, "deleted_bytes": self.deleted_bytes,
                "dry_run": self.dry_run, "refused": self.refused,
                "grace_seconds": self.grace_seconds}

    def lines(self) -> list[str]:
        out = [f"objects under {', '.join(PREFIXES)}: {self.considered}; referenced by "
               f"versions: {self.referenced}; unreferenced: {len(self.orphans) + self.young} "
               f"({self.young} younger than {self.grace_seconds}s, left alone)"]
        verb = "would delete" if self.dry_run or self.refused else "deleted"
        out.append(f"{verb} {len(self.orphans)} orphaned objects ({self.orphan_bytes} bytes)"
                   + (f" and {len(self.temp_files)} stale temporary files"
                      if self.temp_files else ""))
        out += [f"  {o.key} ({o.size} bytes, {o.modified.isoformat(timespec='seconds')})"
                for o in self.orphans[:_SHOWN]]
        if len(self.orphans) > _SHOWN:
            out.append(f"  … and {len(self.orphans) - _SHOWN} more")
        if self.refused:
            out.append(f"refused: {self.refused}")
        elif self.dry_run and self.orphans:
            out.append("dry run: nothing was deleted; run `peso gc --delete` to delete them")
        return out


async def referenced_keys(graph: GraphStore) -> set[str]:
    keys: set[str] = set()
    async for record in graph.export_records():
        if record.get("record") == "version":
            keys.update(record[k] for k in VERSION_KEYS if record.get(k))
    return keys


def _list(objects: ObjectStore) -> list[ObjectInfo]:
    return [info for prefix in PREFIXES for info in objects.list(prefix)]


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
                          now: datetime | None = None) -> GcReport:
    """Find orphaned objects; delete them when ``delete`` (and the share allows)."""
    report = GcReport(dry_run=not delete, grace_seconds=grace_seconds)
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
    temps = await asyncio.to_thread(_stale_temp_files, objects,
                                    time.time() - grace_seconds)
    report.temp_files = [str(p) for p in temps]
    share = len(report.orphans) / report.considered if report.considered else 0.0
    if report.orphans and share > max_share and not force:
        report.refused = (f"{len(report.orphans)} of {report.considered} objects "
                          f"({share:.0%}) would be deleted, more than PESO_GC_MAX_SHARE "
                          f"({max_share:.0%}); check PESO_OBJECTS_URL and PESO_GRAPH_URL "
                          "point at the same catalog, then pass --force")
        return report
    if not delete:
        return report
    for info in report.orphans:
        if await asyncio.to_thread(objects.delete, info.key):
            report.deleted += 1
            report.deleted_bytes += info.size
    for path in temps:
        path.unlink(missing_ok=True)
    return report
