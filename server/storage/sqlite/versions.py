"""Versions, fields and lineage edges on SQLite, mixed into ``SQLiteGraphStore``: the
registration of a batch of versions (with its lineage edges) in one write transaction, the
batch getters, and ``get_lineage``'s bounded ``WITH RECURSIVE`` walk.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from server import crashpoints
from server.errors import ConflictError, ValidationError
from server.ids import new_id
from server.models import (
    Dataset,
    DatasetKey,
    DatasetLayer,
    DatasetVersion,
    Direction,
    LineageEdge,
    LineageGraph,
    LineageNode,
    NewVersion,
    RegisteredVersion,
    SchemaField,
)
from server.storage.batching import by_id, grouped
from server.storage.sqlite import rows, sql
from server.storage.sqlite.db import Database
from server.storage.sqlite.helpers import _audit, _dump, _live_dataset, _reindex


class VersionsMixin:
    db: Database
    # DatasetsMixin._ensure_dataset (declared, not defined: the class in the MRO provides it)
    _ensure_dataset: Callable[[sqlite3.Connection, str, str, DatasetLayer, str | None,
                               str | None, str], str]

    # --- versions and fields ---------------------------------------------------------------
    async def register_versions(
        self, items: Sequence[NewVersion], *,
        lineage: Sequence[tuple[DatasetKey, DatasetKey, str | None]] = (), actor: str,
    ) -> list[RegisteredVersion]:
        def run(c: sqlite3.Connection) -> list[RegisteredVersion]:
            out = [self._register_one(c, item, actor) for item in items]
            for downstream, upstream, transformation in lineage:
                self._put_lineage(c, downstream, upstream, transformation, "peso.load", actor)
            crashpoints.reach("in-register")  # test-only: die before COMMIT
            return out
        return await self.db.write(run)

    def _register_one(self, c: sqlite3.Connection, item: NewVersion,
                      actor: str) -> RegisteredVersion:
        dataset_id = self._ensure_dataset(c, item.namespace, item.name, item.layer,
                                          item.description, item.source_name, actor)
        latest = c.execute(sql.VERSION_LATEST_OF, (dataset_id,)).fetchone()
        if latest is not None and latest["content_hash"] == item.content_hash:
            ds = rows.dataset(c.execute(sql.datasets_by_ids(1), (dataset_id,)).fetchone())
            return RegisteredVersion(ds, rows.version(latest), created=False)
        version_id = self._insert_version(c, dataset_id, latest["version"] if latest else 0,
                                          item, actor)
        ds = rows.dataset(c.execute(sql.datasets_by_ids(1), (dataset_id,)).fetchone())
        ver = rows.version(c.execute(sql.versions_by_ids(1), (version_id,)).fetchone())
        return RegisteredVersion(ds, ver, created=True)

    def _insert_version(self, c: sqlite3.Connection, dataset_id: str, previous: int,
                        item: NewVersion, actor: str) -> str:
        """Write version ``previous + 1`` of the (ensured) dataset: the version, its fields,
        the contract, the latest pointer, the audit event and the search row; its id."""
        number = previous + 1
        version_id = item.version_id or new_id()
        stamp = rows.now()
        c.execute(sql.VERSION_INSERT, (version_id, dataset_id, number, item.content_hash,
                                       item.row_count, item.byte_size, item.raw_key,
                                       item.curated_key, item.format, stamp, actor,
                                       _dump(item.quality), _dump(item.changes),
                                       item.quarantine_key))
        c.executemany(sql.FIELD_INSERT, [
            (new_id(), version_id, pos, f.name, f.arrow_type, int(f.nullable), f.description,
             _metadata_json(f.metadata), f.semantic_type, int(f.pii), _stats_json(f.stats))
            for pos, f in enumerate(item.fields)])
        if item.contract is not None:
            c.execute(sql.DATASET_SET_CONTRACT, (_dump(item.contract), stamp, dataset_id))
        c.execute(sql.DATASET_SET_LATEST, (version_id, stamp, dataset_id))
        _audit(c, actor, "version.added", "DatasetVersion", version_id,
               {"dataset": f"{item.namespace}/{item.name}", "version": number,
                "rows": item.row_count, "content_hash": item.content_hash})
        _reindex(c, dataset_id)
        return version_id

    async def get_versions(self, ids: Sequence[str]) -> list[DatasetVersion | None]:
        if not ids:
            return []
        found = await self.db.read(lambda c: [rows.version(r) for r in
                                              c.execute(sql.versions_by_ids(len(ids)), list(ids))])
        return by_id(found, ids)

    async def list_versions(self, dataset_ids: Sequence[str]) -> list[list[DatasetVersion]]:
        if not dataset_ids:
            return []
        found = await self.db.read(lambda c: [rows.version(r) for r in c.execute(
            sql.versions_of_datasets(len(dataset_ids)), list(dataset_ids))])
        return grouped([(v.dataset_id, v) for v in found], dataset_ids)

    async def get_latest_versions(self, dataset_ids: Sequence[str]
                                  ) -> list[DatasetVersion | None]:
        if not dataset_ids:
            return []
        found = await self.db.read(lambda c: [rows.version(r) for r in c.execute(
            sql.latest_versions_of_datasets(len(dataset_ids)), list(dataset_ids))])
        by_dataset = {v.dataset_id: v for v in found}
        return [by_dataset.get(i) for i in dataset_ids]

    async def get_fields(self, version_ids: Sequence[str]) -> list[list[SchemaField]]:
        if not version_ids:
            return []
        found = await self.db.read(lambda c: [rows.field(r) for r in c.execute(
            sql.fields_of_versions(len(version_ids)), list(version_ids))])
        return grouped([(f.version_id, f) for f in found], version_ids)

    # --- lineage ---------------------------------------------------------------------------
    async def put_lineage(self, downstream: DatasetKey, upstream: DatasetKey, *,
                          transformation: str | None = None, job: str | None = None,
                          actor: str) -> LineageEdge:
        return await self.db.write(
            lambda c: self._put_lineage(c, downstream, upstream, transformation, job, actor))

    def _put_lineage(self, c: sqlite3.Connection, downstream: DatasetKey, upstream: DatasetKey,
                     transformation: str | None, job: str | None, actor: str) -> LineageEdge:
        if downstream == upstream:
            raise ConflictError(f"dataset {downstream} cannot be derived from itself")
        down, up = _live_dataset(c, downstream), _live_dataset(c, upstream)
        before = c.execute(sql.LINEAGE_GET, (down.id, up.id)).fetchone()
        if before is None or (before["transformation"], before["job"]) != (transformation, job):
            c.execute(sql.LINEAGE_UPSERT, (down.id, up.id, transformation, job, rows.now()))
            _audit(c, actor, "lineage.added", "Dataset", down.id,
                   {"upstream": str(upstream), "transformation": transformation, "job": job})
        return rows.edge(c.execute(sql.LINEAGE_GET, (down.id, up.id)).fetchone())

    async def get_lineage(self, dataset_id: str, *, direction: Direction,
                          depth: int) -> LineageGraph:
        if not isinstance(depth, int) or depth < 0:
            raise ValidationError(f"lineage depth must be a non-negative integer, not {depth!r}")

        def run(c: sqlite3.Connection) -> LineageGraph:
            start = c.execute(sql.datasets_by_ids(1), (dataset_id,)).fetchone()
            if start is None or start["deleted_at"] is not None:
                return LineageGraph([], [])  # a deleted start hides its whole neighbourhood
            depths: dict[str, int] = {dataset_id: 0}
            if direction in (Direction.UPSTREAM, Direction.BOTH):
                for r in c.execute(sql.LINEAGE_UPSTREAM, (dataset_id, depth)):
                    depths[r["id"]] = -r["depth"]
            if direction in (Direction.DOWNSTREAM, Direction.BOTH):
                for r in c.execute(sql.LINEAGE_DOWNSTREAM, (dataset_id, depth)):
                    depths.setdefault(r["id"], r["depth"])
            ids = list(depths)
            datasets = {d.id: d for d in (rows.dataset(r) for r in
                                          c.execute(sql.datasets_by_ids(len(ids)), ids))}
            edges = [rows.edge(r) for r in c.execute(sql.lineage_edges_among(len(ids)), ids * 2)]
            return _lineage_graph(datasets, depths, edges)
        return await self.db.read(run)


def _lineage_graph(datasets: dict[str, Dataset], depths: dict[str, int],
                   edges: list[LineageEdge]) -> LineageGraph:
    live = {i: d for i, d in datasets.items() if d.deleted_at is None}
    nodes = sorted((LineageNode(d, depths[i]) for i, d in live.items()),
                   key=lambda n: (n.depth, n.dataset.namespace, n.dataset.name))

    def wanted(e: LineageEdge) -> bool:
        # every edge between two reached nodes, so diamonds and cycles show whole
        return e.downstream_id in live and e.upstream_id in live

    def key(e: LineageEdge) -> tuple[str, str, str, str]:
        d, u = live[e.downstream_id], live[e.upstream_id]
        return (d.namespace, d.name, u.namespace, u.name)

    return LineageGraph(nodes, sorted(filter(wanted, edges), key=key))


def _metadata_json(value: dict[str, str]) -> str:
    """A field's metadata as stored (keys sorted); most fields have none or the same few
    (an OpenLineage field's declared type), so the text is remembered by the items."""
    if value == {}:
        return "{}"
    items = tuple(value.items())
    if all(type(k) is str and type(v) is str for k, v in items):   # no 1 == True clashes
        return _items_json(items)
    return json.dumps(value, sort_keys=True)


@functools.lru_cache(maxsize=1024)
def _items_json(items: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(dict(items), sort_keys=True)


def _stats_json(value: dict[str, Any]) -> str:
    """A field's profile as stored (keys sorted, what JSON cannot hold as text)."""
    return "{}" if value == {} else json.dumps(value, sort_keys=True, default=str)
