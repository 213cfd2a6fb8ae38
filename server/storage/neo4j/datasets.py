"""Datasets (upsert, soft delete, the filtered/sorted list), search and the audit log on Neo4j."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from server.errors import NotFoundError, ValidationError
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
from server.storage.graph import RAW_SEARCH_WEIGHT, SEARCH_WINDOW
from server.storage.neo4j import cypher, records
from server.storage.neo4j.base import (
    Neo4jBase,
    Tx,
    audit,
    dataset_by_id,
    dataset_by_key,
    iso,
    listed,
    live_dataset,
    now,
    one,
    reindex,
    rows,
    run,
)


async def ensure_dataset(tx: Tx, namespace: str, name: str, layer: DatasetLayer,
                         description: str | None, source_name: str | None, actor: str) -> str:
    """Create the dataset, or restore/update it; one audit event per change. Returns its id."""
    stamp = iso(now())
    source_id = None
    if source_name is not None:
        src = await one(tx, cypher.SOURCE_BY_NAME, name=source_name)
        if src is None:
            raise NotFoundError(f"source {source_name!r} does not exist; create it first "
                                "with upsertSource", field="source")
        source_id = src["s"]["id"]
    existing = await dataset_by_key(tx, DatasetKey(namespace, name))
    if existing is None:
        dataset_id = new_id()
        await run(tx, cypher.DATASET_CREATE, id=dataset_id,
                  natural_key=records.dataset_key(namespace, name), namespace=namespace, name=name,
                  layer=layer.value, description=description, now=stamp)
        if source_id is not None:
            await run(tx, cypher.DATASET_SET_SOURCE, id=dataset_id, source_id=source_id,
                      now=stamp)
        await audit(tx, actor, "dataset.registered", "Dataset", dataset_id,
                    {"namespace": namespace, "name": name, "layer": layer.value})
        await reindex(tx, dataset_id)
        return dataset_id
    changed: dict[str, Any] = {}
    if existing.deleted_at is not None:
        await run(tx, cypher.DATASET_UNDELETE, id=existing.id, now=stamp)
        changed["restored"] = True
    if description is not None and description != existing.description:
        await run(tx, cypher.DATASET_SET_DESCRIPTION, id=existing.id, description=description,
                  now=stamp)
        changed["description"] = description
    if source_id is not None and source_id != existing.source_id:
        await run(tx, cypher.DATASET_SET_SOURCE, id=existing.id, source_id=source_id, now=stamp)
        changed["source"] = source_name
    if changed:
        await audit(tx, actor, "dataset.updated", "Dataset", existing.id, changed)
        await reindex(tx, existing.id)
    return existing.id


def _cursor_params(page: PageRequest) -> dict[str, Any]:
    if page.after is None:
        return {}
    a, b = page.after
    if page.sort is not DatasetSort.NAME:  # the cursor holds ISO text; compare as DateTime
        try:
            a = datetime.fromisoformat(a)
        except (TypeError, ValueError) as exc:
            raise ValidationError("cursor does not belong to this sort order",
                                  field="after") from exc
        a = records.ts(a)
    return {"after_a": a, "after_b": b}


class DatasetsMixin(Neo4jBase):
    async def upsert_dataset(self, *, namespace: str, name: str,
                             layer: DatasetLayer = DatasetLayer.CURATED,
                             description: str | None = None, source_name: str | None = None,
                             actor: str) -> Dataset:
        async def work(tx: Tx) -> Dataset:
            dataset_id = await ensure_dataset(tx, namespace, name, layer, description,
                                              source_name, actor)
            return await dataset_by_id(tx, dataset_id)
        return await self._write(work)

    async def get_datasets(self, ids: Sequence[str]) -> list[Dataset | None]:
        return await self._get_by_ids(cypher.DATASETS_BY_IDS, "d", records.dataset, ids)

    async def get_dataset(self, namespace: str, name: str) -> Dataset | None:
        async def work(tx: Tx) -> Dataset | None:
            return await dataset_by_key(tx, DatasetKey(namespace, name))
        found = await self._read(work)
        return None if found is None or found.deleted_at is not None else found

    async def list_datasets(self, flt: DatasetFilter, page: PageRequest) -> Page[Dataset]:
        text = records.lucene_query(flt.text) if flt.text is not None else None
        if flt.text is not None and text is None:
            return Page([], [], False, 0)
        params: dict[str, Any] = {
            "namespace": flt.namespace, "layer": flt.layer.value if flt.layer else None,
            "source": flt.source, "tag": flt.tag,
            "entity_kind": flt.entity_kind.value if flt.entity_kind else None, "text": text}
        filters = [name for name in cypher.DATASET_FILTERS if params[name] is not None]
        query = cypher.dataset_page(page.sort, page.descending, text=text is not None,
                                    with_cursor=page.after is not None, filters=filters)
        count = cypher.dataset_count(text=text is not None, filters=filters)
        cursor = _cursor_params(page)

        async def work(tx: Tx) -> Page[Dataset]:
            found = [records.dataset(m) for m in
                     await listed(tx, query, **params, **cursor, limit=page.first + 1)]
            total = await one(tx, count, **params)
            items = found[:page.first]
            return Page(items, [records.sort_key(d, page.sort) for d in items],
                        len(found) > page.first, int(total["n"]) if total else 0)
        return await self._read(work)

    async def delete_dataset(self, namespace: str, name: str, *, actor: str) -> Dataset:
        async def work(tx: Tx) -> Dataset:
            ds = await live_dataset(tx, DatasetKey(namespace, name))
            await run(tx, cypher.DATASET_DELETE, id=ds.id, now=iso(now()))
            await run(tx, cypher.DATASET_CLEAR_SEARCH, id=ds.id)   # out of search
            await audit(tx, actor, "dataset.deleted", "Dataset", ds.id,
                        {"namespace": namespace, "name": name})
            return await dataset_by_id(tx, ds.id)
        return await self._write(work)

    async def set_description(self, namespace: str, name: str, description: str | None, *,
                              actor: str) -> Dataset:
        async def work(tx: Tx) -> Dataset:
            ds = await live_dataset(tx, DatasetKey(namespace, name))
            if ds.description != description:
                await run(tx, cypher.DATASET_SET_DESCRIPTION, id=ds.id, description=description,
                          now=iso(now()))
                await audit(tx, actor, "dataset.described", "Dataset", ds.id,
                            {"description": description})
                await reindex(tx, ds.id)
            return await dataset_by_id(tx, ds.id)
        return await self._write(work)

    async def set_contract(self, namespace: str, name: str, contract: dict[str, Any] | None,
                           *, actor: str) -> Dataset:
        async def work(tx: Tx) -> Dataset:
            ds = await live_dataset(tx, DatasetKey(namespace, name))
            if ds.contract != contract:
                await run(tx, cypher.DATASET_SET_CONTRACT, id=ds.id, now=iso(now()),
                          contract=records.to_json(contract) if contract is not None else None)
                await audit(tx, actor, "dataset.contract_set", "Dataset", ds.id,
                            {"contract": contract})
            return await dataset_by_id(tx, ds.id)
        return await self._write(work)

    # --- search and audit ------------------------------------------------------------------
    async def search(self, query: str, *, first: int, offset: int = 0
                     ) -> tuple[list[SearchHit], int]:
        lucene = records.lucene_query(query)
        if lucene is None:
            return [], 0

        async def work(tx: Tx) -> tuple[list[SearchHit], int]:
            found = await one(tx, cypher.SEARCH, query=lucene, offset=offset, limit=first,
                              window=SEARCH_WINDOW, raw_layer=DatasetLayer.RAW.value,
                              raw_weight=RAW_SEARCH_WEIGHT)
            if found is None:
                return [], 0
            return ([SearchHit(records.dataset(d), float(score)) for d, score in found["hits"]],
                    int(found["total"]))
        return await self._read(work)

    async def append_audit(self, *, actor: str, action: str, target_kind: str, target_id: str,
                           detail: dict[str, Any] | None = None,
                           request_id: str | None = None) -> AuditEvent:
        async def work(tx: Tx) -> AuditEvent:
            return records.audit(await audit(tx, actor, action, target_kind, target_id, detail,
                                             request_id))
        return await self._write(work)

    async def list_audit(self, *, limit: int, target_id: str | None = None,
                         after_id: int | None = None) -> list[AuditEvent]:
        async def work(tx: Tx) -> list[AuditEvent]:
            if after_id is not None:  # a follower's cursor: what came after, oldest first
                return [records.audit(r["a"]) for r in await rows(
                    tx, cypher.AUDIT_AFTER, after_id=after_id, target_id=target_id,
                    limit=limit)]
            return [records.audit(r["a"]) for r in
                    await rows(tx, cypher.AUDIT_LIST, target_id=target_id, limit=limit)]
        return await self._read(work)
