"""Datasets, full-text search and the audit trail on SQLite, mixed into ``SQLiteGraphStore``.
Each public method is one read snapshot or one write transaction (``db.Database``); each
change writes its audit event inside that same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from server.errors import NotFoundError
from server.ids import new_id
from server.models import (
    AuditEvent,
    Dataset,
    DatasetFilter,
    DatasetKey,
    DatasetLayer,
    DatasetSort,
    Page,
    PageRequest,
    SearchHit,
)
from server.storage.batching import by_id
from server.storage.graph import SEARCH_WINDOW
from server.storage.sqlite import rows, sql
from server.storage.sqlite.db import Database
from server.storage.sqlite.helpers import _audit, _live_dataset, _reindex, fts_query

AUDIT_AFTER = (f"SELECT {sql.AUDIT_COLS} FROM audit WHERE id > ? "
               "AND (? IS NULL OR target_id = ?) ORDER BY id LIMIT ?")


class DatasetsMixin:
    db: Database

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
        return by_id(found, ids)

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

    async def set_contract(self, namespace: str, name: str, contract: dict[str, Any] | None,
                           *, actor: str) -> Dataset:
        def run(c: sqlite3.Connection) -> Dataset:
            ds = _live_dataset(c, DatasetKey(namespace, name))
            if ds.contract != contract:
                stored = json.dumps(contract, sort_keys=True) if contract is not None else None
                c.execute(sql.DATASET_SET_CONTRACT, (stored, rows.now(), ds.id))
                _audit(c, actor, "dataset.contract_set", "Dataset", ds.id,
                       {"contract": contract})
            return rows.dataset(c.execute(sql.datasets_by_ids(1), (ds.id,)).fetchone())
        return await self.db.write(run)

    # --- search and audit ------------------------------------------------------------------
    async def search(self, query: str, *, first: int, offset: int = 0
                     ) -> tuple[list[SearchHit], int]:
        fts = fts_query(query)
        if fts is None:
            return [], 0

        if offset >= SEARCH_WINDOW:
            return [], await self.db.read(
                lambda c: int(c.execute(sql.SEARCH_COUNT, (fts,)).fetchone()[0]))
        first = min(first, SEARCH_WINDOW - offset)

        def run(c: sqlite3.Connection) -> tuple[list[SearchHit], int]:
            total = int(c.execute(sql.SEARCH_COUNT, (fts,)).fetchone()[0])
            start = 0  # rank every match, or only the SEARCH_WINDOW most recent ones
            if total > SEARCH_WINDOW:
                start = c.execute(sql.SEARCH_WINDOW_START, (fts, SEARCH_WINDOW - 1)).fetchone()[0]
            hits = [SearchHit(rows.dataset(r), -float(r["score"]))
                    for r in c.execute(sql.SEARCH, (fts, first, offset, start))]
            return hits, total
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


def _sort_key(d: Dataset, sort: DatasetSort) -> list[Any]:
    if sort is DatasetSort.NAME:
        return [d.namespace, d.name]
    stamp = d.created_at if sort is DatasetSort.CREATED_AT else d.updated_at
    return [stamp.isoformat(timespec="microseconds"), d.id]
