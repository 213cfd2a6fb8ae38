"""Sources, entities (and DESCRIBES links), tags and owners on Neo4j."""

from __future__ import annotations

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
from server.storage.batching import grouped
from server.storage.neo4j import cypher, records
from server.storage.neo4j.base import (
    Neo4jBase,
    Tx,
    audit,
    iso,
    listed,
    live_dataset,
    now,
    one,
    reindex,
    rows,
    run,
)


class CatalogMixin(Neo4jBase):
    # --- sources ---------------------------------------------------------------------------
    async def upsert_source(self, *, name: str, kind: SourceKind, url: str | None = None,
                            license: str | None = None, description: str | None = None,
                            actor: str) -> Source:
        async def work(tx: Tx) -> Source:
            found = await one(tx, cypher.SOURCE_BY_NAME, name=name)
            stamp = iso(now())
            if found is None:
                sid = new_id()
                await run(tx, cypher.SOURCE_CREATE, id=sid, name=name, kind=kind.value, url=url,
                          license=license, description=description, now=stamp)
                await audit(tx, actor, "source.created", "Source", sid, {"name": name})
            else:
                old = records.source(found["s"])
                if (old.kind, old.url, old.license, old.description) != (
                        kind, url, license, description):
                    await run(tx, cypher.SOURCE_UPDATE, id=old.id, kind=kind.value, url=url,
                              license=license, description=description, now=stamp)
                    await audit(tx, actor, "source.updated", "Source", old.id, {"name": name})
            again = await one(tx, cypher.SOURCE_BY_NAME, name=name)
            assert again is not None
            return records.source(again["s"])
        return await self._write(work)

    async def get_sources(self, ids: Sequence[str]) -> list[Source | None]:
        return await self._get_by_ids(cypher.SOURCES_BY_IDS, "s", records.source, ids)

    async def get_source_by_name(self, name: str) -> Source | None:
        async def work(tx: Tx) -> Source | None:
            found = await one(tx, cypher.SOURCE_BY_NAME, name=name)
            return records.source(found["s"]) if found else None
        return await self._read(work)

    async def list_sources(self, *, first: int, after: list[Any] | None = None) -> Page[Source]:
        a = after or [None, None]

        async def work(tx: Tx) -> Page[Source]:
            found = [records.source(r["s"]) for r in await rows(
                tx, cypher.SOURCE_PAGE, after_name=a[0], after_id=a[1], limit=first + 1)]
            total = await one(tx, cypher.SOURCE_COUNT)
            items = found[:first]
            return Page(items, [[s.name, s.id] for s in items], len(found) > first,
                        int(total["n"]) if total else 0)
        return await self._read(work)

    # --- entities --------------------------------------------------------------------------
    async def upsert_entity(self, *, kind: EntityKind, name: str, description: str | None = None,
                            identifiers: dict[str, str] | None = None, actor: str) -> Entity:
        ids_json = records.to_json(identifiers or {})
        key = records.entity_key(kind, name)

        async def work(tx: Tx) -> Entity:
            found = await one(tx, cypher.ENTITY_BY_KEY, natural_key=key)
            if found is None:
                eid = new_id()
                await run(tx, cypher.ENTITY_CREATE, id=eid, natural_key=key, kind=kind.value,
                          name=name, is_human=kind.is_human, description=description,
                          identifiers=ids_json, now=iso(now()))
                await audit(tx, actor, "entity.created", "Entity", eid,
                            {"kind": kind.value, "name": name})
            elif (found["e"].get("description"), found["e"].get("identifiers")) != (
                    description, ids_json):
                await run(tx, cypher.ENTITY_UPDATE, id=found["e"]["id"],
                          description=description, identifiers=ids_json)
                await audit(tx, actor, "entity.updated", "Entity", found["e"]["id"],
                            {"name": name})
            again = await one(tx, cypher.ENTITY_BY_KEY, natural_key=key)
            assert again is not None
            return records.entity(again["e"])
        return await self._write(work)

    async def get_entities(self, ids: Sequence[str]) -> list[Entity | None]:
        return await self._get_by_ids(cypher.ENTITIES_BY_IDS, "e", records.entity, ids)

    async def list_entities(self, *, kind: EntityKind | None = None, is_human: bool | None = None,
                            first: int, after: list[Any] | None = None) -> Page[Entity]:
        k = kind.value if kind else None
        a = after or [None, None]

        async def work(tx: Tx) -> Page[Entity]:
            found = [records.entity(r["e"]) for r in await rows(
                tx, cypher.ENTITY_PAGE, kind=k, is_human=is_human, after_name=a[0],
                after_id=a[1], limit=first + 1)]
            total = await one(tx, cypher.ENTITY_COUNT, kind=k, is_human=is_human)
            items = found[:first]
            return Page(items, [[e.name, e.id] for e in items], len(found) > first,
                        int(total["n"]) if total else 0)
        return await self._read(work)

    async def link_entity(self, dataset: DatasetKey, entity_id: str, *, role: str | None = None,
                          actor: str) -> EntityLink:
        async def work(tx: Tx) -> EntityLink:
            ds = await live_dataset(tx, dataset)
            if not await rows(tx, cypher.ENTITIES_BY_IDS, ids=[entity_id]):
                raise NotFoundError(f"entity {entity_id!r} does not exist", field="entityId")
            before = await one(tx, cypher.LINK_GET, dataset_id=ds.id, entity_id=entity_id)
            if before is None or before["role"] != role:  # an unchanged link is a no-op
                await run(tx, cypher.LINK_UPSERT, dataset_id=ds.id, entity_id=entity_id,
                          role=role)
                await audit(tx, actor, "entity.linked", "Dataset", ds.id,
                            {"entity": entity_id, "role": role})
            return EntityLink(ds.id, entity_id, role)
        return await self._write(work)

    async def get_dataset_entities(self, dataset_ids: Sequence[str]
                                   ) -> list[list[tuple[Entity, str | None]]]:
        if not dataset_ids:
            return []

        async def work(tx: Tx) -> list[tuple[str, tuple[Entity, str | None]]]:
            return [(r["dataset_id"], (records.entity(r["e"]), r["role"])) for r in
                    await rows(tx, cypher.ENTITIES_OF_DATASETS, ids=list(dataset_ids))]
        return grouped(await self._read(work), dataset_ids)

    # --- tags and owners -------------------------------------------------------------------
    async def add_tag(self, dataset: DatasetKey, tag: str, *, actor: str) -> Dataset:
        async def work(tx: Tx) -> Dataset:
            ds = await live_dataset(tx, dataset)
            added = await one(tx, cypher.TAG_ADD, id=ds.id, tag=tag, now=iso(now()))
            if added and added["added"]:
                await audit(tx, actor, "tag.added", "Dataset", ds.id, {"tag": tag})
                await reindex(tx, ds.id)
            return ds
        return await self._write(work)

    async def remove_tag(self, dataset: DatasetKey, tag: str, *, actor: str) -> Dataset:
        async def work(tx: Tx) -> Dataset:
            ds = await live_dataset(tx, dataset)
            removed = await one(tx, cypher.TAG_REMOVE, id=ds.id, tag=tag)
            if removed and removed["removed"]:
                await audit(tx, actor, "tag.removed", "Dataset", ds.id, {"tag": tag})
                await reindex(tx, ds.id)
            return ds
        return await self._write(work)

    async def get_tags(self, dataset_ids: Sequence[str]) -> list[list[Tag]]:
        if not dataset_ids:
            return []

        async def work(tx: Tx) -> list[tuple[str, Tag]]:
            return [(dataset_id, Tag(tag)) for dataset_id, tag in
                    await listed(tx, cypher.TAGS_OF_DATASETS, ids=list(dataset_ids))]
        return grouped(await self._read(work), dataset_ids)

    async def add_owner(self, dataset: DatasetKey, *, name: str, kind: OwnerKind,
                        email: str | None = None, actor: str) -> Owner:
        async def work(tx: Tx) -> Owner:
            ds = await live_dataset(tx, dataset)
            before = await one(tx, cypher.OWNER_GET, id=ds.id, name=name)
            if before is None or (before["kind"], before["email"]) != (kind.value, email):
                await run(tx, cypher.OWNER_UPSERT, id=ds.id, name=name, kind=kind.value,
                          email=email)
                await audit(tx, actor, "owner.added", "Dataset", ds.id,
                            {"owner": name, "kind": kind.value})
            return Owner(name, kind, email)
        return await self._write(work)

    async def get_owners(self, dataset_ids: Sequence[str]) -> list[list[Owner]]:
        if not dataset_ids:
            return []

        async def work(tx: Tx) -> list[tuple[str, Owner]]:
            return [(r["dataset_id"], Owner(r["name"], OwnerKind(r["kind"]), r["email"]))
                    for r in await rows(tx, cypher.OWNERS_OF_DATASETS, ids=list(dataset_ids))]
        return grouped(await self._read(work), dataset_ids)
