"""Sources, entities (and DESCRIBES links), tags and owners on SQLite, mixed into
``SQLiteGraphStore``. Each public method is one read snapshot or one write transaction
(``db.Database``); each change writes its audit event inside that same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from server.errors import NotFoundError
from server.ids import new_id
from server.models import (
    Dataset,
    DatasetKey,
    Entity,
    EntityKind,
    EntityLink,
    Owner,
    OwnerKind,
    Page,
    Source,
    SourceKind,
    Tag,
)
from server.storage.batching import by_id, grouped
from server.storage.sqlite import rows, sql
from server.storage.sqlite.db import Database
from server.storage.sqlite.helpers import _audit, _live_dataset, _reindex


class CatalogMixin:
    db: Database

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
        return by_id(found, ids)

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
        return by_id(found, ids)

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
        return grouped(found, dataset_ids)

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
        return grouped(found, dataset_ids)

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
        return grouped(found, dataset_ids)
