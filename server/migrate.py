"""``peso migrate``: copy a whole catalog — graph and objects — to other stores, and verify it.

    objects first (so no copied version ever names a missing file), then graph records in
    dependency order (sources, entities, datasets incl. soft-deleted, versions with fields,
    links, tags, owners, OpenLineage jobs, runs and the datasets they read and wrote,
    lineage edges with their job and run, column lineage, dataset facets, the events
    received, the audit log), ids and timestamps kept; then verify, with a count per kind:
    every source record is in the target, identical, and every object has the same sha256.

Safe to re-run: what the target already holds identically is skipped, so a second run copies
nothing and verifies again (and an interrupted run resumes). A target holding anything that
is not part of the source (another catalog, or changes made there since) is refused unless
``force``; with ``force`` the source is merged in, and records that differ are reported.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.errors import ConfigError, ConflictError
from server.settings import Settings
from server.storage import factory
from server.storage.graph import GraphStore
from server.storage.objects import HashingReader, ObjectInfo, ObjectStore
from server.storage.transfer import RECORD_KINDS, fingerprint, identity

BATCH_SIZE = 500
_CHUNK = 1 << 20
_SHOWN = 5  # problems listed by name before "… and N more"

Say = Callable[[str], None]


@dataclass
class MigrationReport:
    records: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_KINDS, 0))
    copied: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_KINDS, 0))
    verified: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_KINDS, 0))
    objects: int = 0
    objects_copied: int = 0
    bytes_copied: int = 0
    objects_verified: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.verified == self.records \
            and self.objects_verified == self.objects

    def lines(self) -> list[str]:
        counts = ", ".join(f"{kind} {self.verified[kind]}/{self.records[kind]}"
                           for kind in RECORD_KINDS)
        out = [f"copied {sum(self.copied.values())} records and {self.objects_copied} objects "
               f"({self.bytes_copied} bytes)",
               f"verified records: {counts}",
               f"verified objects (sha256): {self.objects_verified}/{self.objects}"]
        out += [f"problem: {p}" for p in self.problems[:_SHOWN]]
        if len(self.problems) > _SHOWN:
            out.append(f"… and {len(self.problems) - _SHOWN} more problems")
        return out


def _sha256(store: ObjectStore, info: ObjectInfo) -> str:
    """The object's sha256: as recorded at write time when the backend keeps it, else read."""
    recorded = store.stat(info.key)
    if recorded is not None and recorded.sha256:
        return recorded.sha256
    digest = hashlib.sha256()
    with store.open_read(info.key) as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_object(source: ObjectStore, target: ObjectStore, info: ObjectInfo) -> tuple[str, str]:
    """Stream one object across; return (sha256 read from the source, sha256 the target
    recorded). The target's put is atomic, so a failure leaves nothing half-written."""
    with source.open_read(info.key) as fh:
        reader = HashingReader(fh)
        written = target.put_stream(info.key, reader, size=info.size)  # type: ignore[arg-type]
    return reader.digest.hexdigest(), written.sha256 or _sha256(target, written)


def _show(key: Any) -> str:
    """A record identity or object key, short enough for one line."""
    if isinstance(key, tuple):  # (kind, *identity); an audit event: (kind, at, actor, …)
        return (f"{key[0]} " + "/".join(map(str, key[1:3])))[:100]
    return str(key)[:100]


def _problem_list(kind: str, keys: list[Any]) -> str:
    shown = ", ".join(map(_show, keys[:_SHOWN]))
    more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return f"{len(keys)} {kind}: {shown}{more}"


async def migrate(source_graph: GraphStore, target_graph: GraphStore,
                  source_objects: ObjectStore, target_objects: ObjectStore, *,
                  force: bool = False, batch_size: int = BATCH_SIZE,
                  say: Say | None = None) -> MigrationReport:
    """Copy and verify; the stores must be open. Raises ConflictError (before writing
    anything) when the target holds data that is not part of the source and not ``force``."""
    tell: Say = say or (lambda _: None)
    report = MigrationReport()

    # --- what is where -------------------------------------------------------------------
    source = [r async for r in source_graph.export_records()]
    wanted = {identity(r): fingerprint(r) for r in source}
    for r in source:
        report.records[r["record"]] += 1
    src_objects = await asyncio.to_thread(lambda: list(source_objects.list()))
    report.objects = len(src_objects)
    tgt_objects = {o.key: o for o in await asyncio.to_thread(lambda: list(target_objects.list()))}
    held: dict[tuple[Any, ...], str] = {}
    if not await target_graph.is_empty():
        held = {identity(r): fingerprint(r) async for r in target_graph.export_records()}
    tell(f"source: {len(source)} records, {len(src_objects)} objects; "
         f"target: {len(held)} records, {len(tgt_objects)} objects")

    # --- refuse a target that is not (a partial copy of) this source ---------------------
    src_keys = {o.key for o in src_objects}
    foreign = [k for k in held if k not in wanted]
    differing = [k for k in held if k in wanted and held[k] != wanted[k]]
    foreign_objects = sorted(k for k in tgt_objects if k not in src_keys)
    if (foreign or differing or foreign_objects) and not force:
        parts = [_problem_list(what, keys) for what, keys in (
            ("records not in the source", foreign), ("records that differ", differing),
            ("objects not in the source", foreign_objects)) if keys]
        raise ConflictError("the target is not empty and is not a copy of this source ("
                            + "; ".join(parts) + "); pass --force to merge into it anyway")

    # --- objects first -------------------------------------------------------------------
    src_sha: dict[str, str] = {}
    tgt_sha: dict[str, str] = {}
    for info in src_objects:
        if info.key in tgt_objects:
            continue
        read, recorded = await asyncio.to_thread(_copy_object, source_objects, target_objects,
                                                 info)
        src_sha[info.key], tgt_sha[info.key] = read, recorded
        report.objects_copied += 1
        report.bytes_copied += info.size
    tell(f"objects: copied {report.objects_copied}, "
         f"{len(src_objects) - report.objects_copied} already there")

    # --- then the graph, in dependency order, in batches ---------------------------------
    missing = [r for r in source if identity(r) not in held]
    for start in range(0, len(missing), batch_size):
        created = await target_graph.import_records(missing[start:start + batch_size])
        for kind, n in created.items():
            report.copied[kind] += n
    tell(f"records: copied {sum(report.copied.values())}, {len(source) - len(missing)} "
         "already there")
    if missing:
        await target_graph.compact_search_index()

    # --- verify --------------------------------------------------------------------------
    now_held = {identity(r): fingerprint(r) async for r in target_graph.export_records()}
    bad = [k for k, fp in wanted.items() if now_held.get(k) != fp]
    for k in wanted:
        if now_held.get(k) == wanted[k]:
            report.verified[k[0]] += 1
    if bad:
        report.problems.append(_problem_list("records missing or different in the target",
                                             bad))
    mismatched: list[str] = []
    for info in src_objects:
        target_info = await asyncio.to_thread(target_objects.stat, info.key)
        if target_info is None or target_info.size != info.size:
            mismatched.append(info.key)
            continue
        a = src_sha.get(info.key) or await asyncio.to_thread(_sha256, source_objects, info)
        b = tgt_sha.get(info.key) or await asyncio.to_thread(_sha256, target_objects, target_info)
        if a == b:
            report.objects_verified += 1
        else:
            mismatched.append(info.key)
    if mismatched:
        report.problems.append(_problem_list("objects missing or different in the target",
                                             mismatched))
    tell("verified" if report.ok else "verification FAILED")
    return report


async def migrate_urls(settings: Settings, *, from_graph: str, to_graph: str, from_objects: str,
                       to_objects: str, force: bool = False,
                       say: Say | None = None) -> MigrationReport:
    """Open the four stores named by URL (S3/Neo4j credentials from ``settings``) and migrate."""
    if from_graph == to_graph:
        raise ConfigError(f"--from-graph and --to-graph are the same store ({from_graph})")
    if from_objects == to_objects:
        raise ConfigError(f"--from-objects and --to-objects are the same store ({from_objects})")
    graphs = [factory.graph_store(settings, from_graph), factory.graph_store(settings, to_graph)]
    stores = [factory.object_store(settings, from_objects),
              factory.object_store(settings, to_objects)]
    opened_graphs: list[GraphStore] = []
    opened_objects: list[ObjectStore] = []
    try:
        for graph in graphs:
            await graph.open()
            opened_graphs.append(graph)
        for objects in stores:
            await asyncio.to_thread(objects.open)
            opened_objects.append(objects)
        return await migrate(graphs[0], graphs[1], stores[0], stores[1], force=force, say=say)
    finally:
        for objects in opened_objects:
            objects.close()
        for graph in opened_graphs:
            await graph.close()
