"""SQLiteGraphStore: the graph-store protocol on one SQLite file.

Each public method is one read snapshot or one write transaction (see ``db.Database``);
each change writes its audit event inside that same transaction.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

from server import crashpoints, metrics
from server.errors import ConflictError, NotFoundError, StoreUnavailableError, ValidationError
from server.ids import new_id
from server.models import (
    AuditEvent,
    Dataset,
    DatasetFilter,
    DatasetKey,
    DatasetLayer,
    DatasetSort,
    DatasetVersion,
    Direction,
    Entity,
    EntityKind,
    EntityLink,
    LineageEdge,
    LineageGraph,
    LineageNode,
    NewVersion,
    Owner,
    OwnerKind,
    Page,
    PageRequest,
    RegisteredVersion,
    SchemaField,
    SearchHit,
    Source,
    SourceKind,
    Tag,
)
from server.requestctx import current_request_id
from server.storage.sqlite import rows, sql, transfer
from server.storage.sqlite.db import Database
from server.storage.sqlite.lineage import LineageMixin
from server.storage.sqlite.security import SecurityMixin

_MAX_SEARCH_TOKENS = 16
AUDIT_AFTER = (f"SELECT {sql.AUDIT_COLS} FROM audit WHERE id > ? "
               "AND (? IS NULL OR target_id = ?) ORDER BY id LIMIT ?")


def fts_query(text: str) -> str | None:
    """User text → a safe FTS5 query: every word quoted, prefix-matched, all required."""
    tokens = re.findall(r"\w+", text)[:_MAX_SEARCH_TOKENS]
    if not tokens:
        return None
    return " ".join('"' + t.replace('"', "") + '"*' for t in tokens)


def _audit(conn: sqlite3.Connection, actor: str, action: str, kind: str, target: str,
           detail: dict[str, Any] | None = None, request_id: str | None = None) -> int:
    """Append one audit event in the caller's transaction, stamped with the request id
    (explicit, else the current one: ``server.requestctx``)."""
    cur = conn.execute(sql.AUDIT_INSERT, (rows.now(), actor, action, kind, target,
                                          json.dumps(detail or {}, sort_keys=True, default=str),
                                          request_id or current_request_id()))
    return int(cur.lastrowid or 0)


def _live_dataset(conn: sqlite3.Connection, key: DatasetKey) -> Dataset:
    row = conn.execute(sql.DATASET_BY_KEY, (key.namespace, key.name)).fetchone()
    if row is None or row["deleted_at"] is not None:
        raise NotFoundError(f"dataset {key} does not exist")
    return rows.dataset(row)


def _reindex(conn: sqlite3.Connection, dataset_id: str) -> None:
    """Refresh the dataset's full-text row (names, description, tags, latest field names)."""
    row = conn.execute(f"SELECT d.rid, {sql.DATASET_COLS} FROM datasets d WHERE d.id = ?",
                       (dataset_id,)).fetchone()
    conn.execute(sql.FTS_DELETE, (row["rid"],))
    if row["deleted_at"] is not None:
        return
    tags = " ".join(r[0] for r in conn.execute(sql.TAG_NAMES_OF, (dataset_id,)))
    fields = " ".join(r[0] for r in conn.execute(sql.LATEST_FIELD_NAMES, (dataset_id,)))
    conn.execute(sql.FTS_INSERT, (row["rid"], row["namespace"], row["name"],
                                  row["description"] or "", tags, fields))


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def _by_id(items: list[Any], ids: Sequence[str]) -> list[Any]:
    found = {item.id: item for item in items}
    return [found.get(i) for i in ids]


def _grouped(pairs: list[tuple[str, Any]], ids: Sequence[str]) -> list[list[Any]]:
    groups: dict[str, list[Any]] = {i: [] for i in ids}
    for key, value in pairs:
        groups[key].append(value)
    return [groups[i] for i in ids]


class SQLiteGraphStore(SecurityMixin, LineageMixin):
    def __init__(self, path: str) -> None:
        self.path = path
        self.db = Database(path, on_lock=lambda: metrics.store_error("sqlite", "lock_retry"))

    # --- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        self.db.open()

    async def close(self) -> None:
        self.db.close()

    async def health(self) -> None:
        try:
            await self.db.read(lambda c: c.execute("SELECT 1").fetchone())
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"SQLite catalog {self.path}: {exc}") from exc

    # --- sources ---------------------------------------------------------------------------
    async def upsert_source(self, *, name: str, kind: SourceKind, url: str | None = None,
                            license: str | None = None, description: str | None = None,
                            actor: str) -> Source:
        def run(c: sqlite3.Connection) -> Source:
            row = c.execute(sql.SOURCE_BY_NAME, (name,)).fetchone()
            stamp = rows.now()
            if row is None:
                sid = new_id()
                c.execute(sql.SOURCE_INSERT, (sid, name, kind.value, url, license, description,
                                              stamp, stamp))
                _audit(c, actor, "source.created", "Source", sid, {"name": name})
            else:
                sid = row["id"]
                new = (kind.value, url, license, description)
                if new != (row["kind"], row["url"], row["license"], row["description"]):
                    c.execute(sql.SOURCE_UPDATE, (*new, stamp, sid))
                    _audit(c, actor, "source.updated", "Source", sid, {"name": name})
            return rows.source(c.execute(sql.SOURCE_BY_NAME, (name,)).fetchone())
        return await self.db.write(run)

    async def get_sources(self, ids: Sequence[str]) -> list[Source | None]:
        if not ids:
            return []
        found = await self.db.read(lambda c: [rows.source(r) for r in
                                              c.execute(sql.sources_by_ids(len(ids)), list(ids))])
        return _by_id(found, ids)

    async def get_source_by_name(self, name: str) -> Source | None:
        row = await self.db.read(lambda c: c.execute(sql.SOURCE_BY_NAME, (name,)).fetchone())
        return rows.source(row) if row else None

    async def list_sources(self, *, first: int, after: list[Any] | None = None) -> Page[Source]:
        a = after or [None, None]

        def run(c: sqlite3.Connection) -> Page[Source]:
            found = [rows.source(r) for r in c.execute(
                sql.SOURCE_PAGE, (after and a[0], a[0], a[1], first + 1))]
            total = c.execute(sql.SOURCE_COUNT).fetchone()[0]
            items = found[:first]
            return Page(items, [[s.name, s.id] for s in items], len(found) > first, total)
        return await self.db.read(run)

    # --- datasets --------------------------------------------------------------------------
    async def upsert_dataset(self, *, namespace: str, name: str,
                             layer: DatasetLayer = DatasetLayer.CURATED,
                             description: str | None = None, source_name: str | None = None,
                             actor: str) -> Dataset:
        def run(c: sqlite3.Connection) -> Dataset:
            dataset_id = self._ensure_dataset(c, namespace, name, layer, description,
                                              source_name, actor)
            return rows.dataset(c.execute(sql.datasets_by_ids(1), (dataset_id,)).fetchone())
        return await self.db.write(run)

    def _ensure_dataset(self, c: sqlite3.Connection, namespace: str, name: str,
                        layer: DatasetLayer, description: str | None, source_name: str | None,
                        actor: str) -> str:
        stamp = rows.now()
        source_id = None
        if source_name is not None:
            src = c.execute(sql.SOURCE_BY_NAME, (source_name,)).fetchone()
            if src is None:
                raise NotFoundError(f"source {source_name!r} does not exist; create it first "
                                    "with upsertSource", field="source")
            source_id = src["id"]
        row = c.execute(sql.DATASET_BY_KEY, (namespace, name)).fetchone()
        if row is None:
            dataset_id = new_id()
            c.execute(sql.DATASET_INSERT, (dataset_id, namespace, name, layer.value, description,
                                           source_id, stamp, stamp))
            _audit(c, actor, "dataset.registered", "Dataset", dataset_id,
                   {"namespace": namespace, "name": name, "layer": layer.value})
            _reindex(c, dataset_id)
            return dataset_id
        dataset_id = str(row["id"])
        changed: dict[str, Any] = {}
        if row["deleted_at"] is not None:
            c.execute(sql.DATASET_UNDELETE, (stamp, dataset_id))
            changed["restored"] = True
        if description is not None and description != row["description"]:
            c.execute(sql.DATASET_SET_DESCRIPTION, (description, stamp, dataset_id))
            changed["description"] = description
        if source_id is not None and source_id != row["source_id"]:
            c.execute(sql.DATASET_SET_SOURCE, (source_id, stamp, dataset_id))
            changed["source"] = source_name
        if changed:
            _audit(c, actor, "dataset.updated", "Dataset", dataset_id, changed)
            _reindex(c, dataset_id)
        return dataset_id

    async def get_datasets(self, ids: Sequence[str]) -> list[Dataset | None]:
        if not ids:
            return []
        found = await self.db.read(lambda c: [rows.dataset(r) for r in
                                              c.execute(sql.datasets_by_ids(len(ids)), list(ids))])
        return _by_id(found, ids)

    async def get_dataset(self, namespace: str, name: str) -> Dataset | None:
        row = await self.db.read(
            lambda c: c.execute(sql.DATASET_BY_KEY, (namespace, name)).fetchone())
        if row is None or row["deleted_at"] is not None:
            return None
        return rows.dataset(row)

    async def list_datasets(self, flt: DatasetFilter, page: PageRequest) -> Page[Dataset]:
        fts = fts_query(flt.text) if flt.text is not None else None
        if flt.text is not None and fts is None:
            return Page([], [], False, 0)
        where, params = sql.dataset_filter(flt, fts)
        query = sql.dataset_page(where, page.sort, page.descending, page.after is not None)
        args = [*params, *(page.after or []), page.first + 1]

        def run(c: sqlite3.Connection) -> Page[Dataset]:
            found = [rows.dataset(r) for r in c.execute(query, args)]
            total = c.execute(sql.dataset_count(where), params).fetchone()[0]
            items = found[:page.first]
            return Page(items, [_sort_key(d, page.sort) for d in items], len(found) > page.first,
                        total)
        return await self.db.read(run)

    async def delete_dataset(self, namespace: str, name: str, *, actor: str) -> Dataset:
        def run(c: sqlite3.Connection) -> Dataset:
            ds = _live_dataset(c, DatasetKey(namespace, name))
            stamp = rows.now()
            c.execute(sql.DATASET_DELETE, (stamp, stamp, ds.id))
            _audit(c, actor, "dataset.deleted", "Dataset", ds.id,
                   {"namespace": namespace, "name": name})
            _reindex(c, ds.id)
            return rows.dataset(c.execute(sql.datasets_by_ids(1), (ds.id,)).fetchone())
        return await self.db.write(run)

    async def set_description(self, namespace: str, name: str, description: str | None, *,
                              actor: str) -> Dataset:
        def run(c: sqlite3.Connection) -> Dataset:
            ds = _live_dataset(c, DatasetKey(namespace, name))
            if ds.description != description:
                c.execute(sql.DATASET_SET_DESCRIPTION, (description, rows.now(), ds.id))
                _audit(c, actor, "dataset.described", "Dataset", ds.id,
                       {"description": description})
                _reindex(c, ds.id)
            return rows.dataset(c.execute(sql.datasets_by_ids(1), (ds.id,)).fetchone())
        return await self.db.write(run)

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
        number = (latest["version"] if latest else 0) + 1
        version_id = item.version_id or new_id()
        stamp = rows.now()
        c.execute(sql.VERSION_INSERT, (version_id, dataset_id, number, item.content_hash,
                                       item.row_count, item.byte_size, item.raw_key,
                                       item.curated_key, item.format, stamp, actor,
                                       _dump(item.quality), _dump(item.changes),
                                       item.quarantine_key))
        c.executemany(sql.FIELD_INSERT, [
            (new_id(), version_id, pos, f.name, f.arrow_type, int(f.nullable), f.description,
             json.dumps(f.metadata, sort_keys=True), f.semantic_type, int(f.pii),
             json.dumps(f.stats, sort_keys=True, default=str))
            for pos, f in enumerate(item.fields)])
        if item.contract is not None:
            c.execute(sql.DATASET_SET_CONTRACT, (_dump(item.contract), stamp, dataset_id))
        c.execute(sql.DATASET_SET_LATEST, (version_id, stamp, dataset_id))
        _audit(c, actor, "version.added", "DatasetVersion", version_id,
               {"dataset": f"{item.namespace}/{item.name}", "version": number,
                "rows": item.row_count, "content_hash": item.content_hash})
        _reindex(c, dataset_id)
        ds = rows.dataset(c.execute(sql.datasets_by_ids(1), (dataset_id,)).fetchone())
        ver = rows.version(c.execute(sql.versions_by_ids(1), (version_id,)).fetchone())
        return RegisteredVersion(ds, ver, created=True)

    async def get_versions(self, ids: Sequence[str]) -> list[DatasetVersion | None]:
        if not ids:
            return []
        found = await self.db.read(lambda c: [rows.version(r) for r in
                                              c.execute(sql.versions_by_ids(len(ids)), list(ids))])
        return _by_id(found, ids)

    async def list_versions(self, dataset_ids: Sequence[str]) -> list[list[DatasetVersion]]:
        if not dataset_ids:
            return []
        found = await self.db.read(lambda c: [rows.version(r) for r in c.execute(
            sql.versions_of_datasets(len(dataset_ids)), list(dataset_ids))])
        return _grouped([(v.dataset_id, v) for v in found], dataset_ids)

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
        return _grouped([(f.version_id, f) for f in found], version_ids)

    # --- entities --------------------------------------------------------------------------
    async def upsert_entity(self, *, kind: EntityKind, name: str, description: str | None = None,
                            identifiers: dict[str, str] | None = None, actor: str) -> Entity:
        ids_json = json.dumps(identifiers or {}, sort_keys=True)

        def run(c: sqlite3.Connection) -> Entity:
            row = c.execute(sql.ENTITY_BY_KEY, (kind.value, name)).fetchone()
            if row is None:
                eid = new_id()
                c.execute(sql.ENTITY_INSERT, (eid, kind.value, name, int(kind.is_human),
                                              description, ids_json, rows.now()))
                _audit(c, actor, "entity.created", "Entity", eid,
                       {"kind": kind.value, "name": name})
            elif (row["description"], row["identifiers"]) != (description, ids_json):
                c.execute(sql.ENTITY_UPDATE, (description, ids_json, row["id"]))
                _audit(c, actor, "entity.updated", "Entity", row["id"], {"name": name})
            return rows.entity(c.execute(sql.ENTITY_BY_KEY, (kind.value, name)).fetchone())
        return await self.db.write(run)

    async def get_entities(self, ids: Sequence[str]) -> list[Entity | None]:
        if not ids:
            return []
        found = await self.db.read(lambda c: [rows.entity(r) for r in
                                              c.execute(sql.entities_by_ids(len(ids)), list(ids))])
        return _by_id(found, ids)

    async def list_entities(self, *, kind: EntityKind | None = None, is_human: bool | None = None,
                            first: int, after: list[Any] | None = None) -> Page[Entity]:
        k = kind.value if kind else None
        h = None if is_human is None else int(is_human)
        a = after or [None, None]

        def run(c: sqlite3.Connection) -> Page[Entity]:
            found = [rows.entity(r) for r in c.execute(
                sql.ENTITY_PAGE, (k, k, h, h, after and a[0], a[0], a[1], first + 1))]
            total = c.execute(sql.ENTITY_COUNT, (k, k, h, h)).fetchone()[0]
            items = found[:first]
            return Page(items, [[e.name, e.id] for e in items], len(found) > first, total)
        return await self.db.read(run)

    async def link_entity(self, dataset: DatasetKey, entity_id: str, *, role: str | None = None,
                          actor: str) -> EntityLink:
        def run(c: sqlite3.Connection) -> EntityLink:
            ds = _live_dataset(c, dataset)
            if c.execute(sql.entities_by_ids(1), (entity_id,)).fetchone() is None:
                raise NotFoundError(f"entity {entity_id!r} does not exist", field="entityId")
            before = c.execute(sql.LINK_GET, (ds.id, entity_id)).fetchone()
            if before is None or before["role"] != role:  # an unchanged link is a no-op
                c.execute(sql.LINK_UPSERT, (ds.id, entity_id, role))
                _audit(c, actor, "entity.linked", "Dataset", ds.id,
                       {"entity": entity_id, "role": role})
            return EntityLink(ds.id, entity_id, role)
        return await self.db.write(run)

    async def get_dataset_entities(self, dataset_ids: Sequence[str]
                                   ) -> list[list[tuple[Entity, str | None]]]:
        if not dataset_ids:
            return []
        found = await self.db.read(lambda c: [
            (r["dataset_id"], (rows.entity(r), r["role"])) for r in
            c.execute(sql.entities_of_datasets(len(dataset_ids)), list(dataset_ids))])
        return _grouped(found, dataset_ids)

    # --- tags and owners -------------------------------------------------------------------
    async def add_tag(self, dataset: DatasetKey, tag: str, *, actor: str) -> Dataset:
        def run(c: sqlite3.Connection) -> Dataset:
            ds = _live_dataset(c, dataset)
            if c.execute(sql.TAG_INSERT, (ds.id, tag, rows.now())).rowcount:
                _audit(c, actor, "tag.added", "Dataset", ds.id, {"tag": tag})
                _reindex(c, ds.id)
            return ds
        return await self.db.write(run)

    async def remove_tag(self, dataset: DatasetKey, tag: str, *, actor: str) -> Dataset:
        def run(c: sqlite3.Connection) -> Dataset:
            ds = _live_dataset(c, dataset)
            if c.execute(sql.TAG_DELETE, (ds.id, tag)).rowcount:
                _audit(c, actor, "tag.removed", "Dataset", ds.id, {"tag": tag})
                _reindex(c, ds.id)
            return ds
        return await self.db.write(run)

    async def get_tags(self, dataset_ids: Sequence[str]) -> list[list[Tag]]:
        if not dataset_ids:
            return []
        found = await self.db.read(lambda c: [(r[0], Tag(r[1])) for r in c.execute(
            sql.tags_of_datasets(len(dataset_ids)), list(dataset_ids))])
        return _grouped(found, dataset_ids)

    async def add_owner(self, dataset: DatasetKey, *, name: str, kind: OwnerKind,
                        email: str | None = None, actor: str) -> Owner:
        def run(c: sqlite3.Connection) -> Owner:
            ds = _live_dataset(c, dataset)
            before = c.execute(sql.OWNER_GET, (ds.id, name)).fetchone()
            if before is None or (before["kind"], before["email"]) != (kind.value, email):
                c.execute(sql.OWNER_UPSERT, (ds.id, name, kind.value, email))
                _audit(c, actor, "owner.added", "Dataset", ds.id,
                       {"owner": name, "kind": kind.value})
            return Owner(name, kind, email)
        return await self.db.write(run)

    async def get_owners(self, dataset_ids: Sequence[str]) -> list[list[Owner]]:
        if not dataset_ids:
            return []
        found = await self.db.read(lambda c: [
            (r[0], Owner(r[1], OwnerKind(r[2]), r[3])) for r in
            c.execute(sql.owners_of_datasets(len(dataset_ids)), list(dataset_ids))])
        return _grouped(found, dataset_ids)

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

    # --- search and audit ------------------------------------------------------------------
    async def search(self, query: str, *, first: int, offset: int = 0
                     ) -> tuple[list[SearchHit], int]:
        fts = fts_query(query)
        if fts is None:
            return [], 0

        def run(c: sqlite3.Connection) -> tuple[list[SearchHit], int]:
            hits = [SearchHit(rows.dataset(r), -float(r["score"]))
                    for r in c.execute(sql.SEARCH, (fts, first, offset))]
            return hits, c.execute(sql.SEARCH_COUNT, (fts,)).fetchone()[0]
        return await self.db.read(run)

    async def append_audit(self, *, actor: str, action: str, target_kind: str, target_id: str,
                           detail: dict[str, Any] | None = None,
                           request_id: str | None = None) -> AuditEvent:
        def run(c: sqlite3.Connection) -> AuditEvent:
            audit_id = _audit(c, actor, action, target_kind, target_id, detail, request_id)
            return rows.audit(c.execute(sql.AUDIT_BY_ID, (audit_id,)).fetchone())
        return await self.db.write(run)

    async def list_audit(self, *, limit: int, target_id: str | None = None,
                         after_id: int | None = None) -> list[AuditEvent]:
        if after_id is not None:  # a follower's cursor: what came after, oldest first
            return await self.db.read(lambda c: [rows.audit(r) for r in c.execute(
                AUDIT_AFTER, (after_id, target_id, target_id, limit))])
        return await self.db.read(lambda c: [rows.audit(r) for r in c.execute(
            sql.AUDIT_LIST, (target_id, target_id, limit))])

    # --- whole-catalog transfer (peso migrate) ---------------------------------------------
    async def is_empty(self) -> bool:
        return await self.db.read(transfer.is_empty)

    async def export_records(self) -> AsyncIterator[dict[str, Any]]:
        for record in await self.db.read(transfer.export_all):  # one consistent snapshot
            yield record

    async def import_records(self, records: Sequence[dict[str, Any]]) -> dict[str, int]:
        def run(c: sqlite3.Connection) -> dict[str, int]:
            created, touched = transfer.import_batch(c, list(records))
            for dataset_id in sorted(touched):
                _reindex(c, dataset_id)
            return created
        return await self.db.write(run)


def _sort_key(d: Dataset, sort: DatasetSort) -> list[Any]:
    if sort is DatasetSort.NAME:
        return [d.namespace, d.name]
    stamp = d.created_at if sort is DatasetSort.CREATED_AT else d.updated_at
    return [stamp.isoformat(timespec="microseconds"), d.id]


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
