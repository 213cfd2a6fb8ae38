"""Whole-catalog export and import on Neo4j (``peso migrate``); record format in
``server.storage.transfer``. Export reads everything in one read transaction; an import batch
is one write transaction that keeps ids and timestamps and skips what is already there."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from server.models import EntityKind, Owner, OwnerKind
from server.storage import transfer
from server.storage.neo4j import cypher, records
from server.storage.neo4j.base import Neo4jBase, Tx, one, reindex, rows, run


async def export_all(tx: Tx) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    out += [transfer.source_record(records.source(r["s"]))
            for r in await rows(tx, cypher.EXPORT_SOURCES)]
    out += [transfer.entity_record(records.entity(r["e"]))
            for r in await rows(tx, cypher.EXPORT_ENTITIES)]
    out += [transfer.dataset_record(records.dataset(r["d"]))
            for r in await rows(tx, cypher.EXPORT_DATASETS)]
    fields: dict[str, list[Any]] = {}
    for r in await rows(tx, cypher.EXPORT_FIELDS):
        f = records.field(r["f"])
        fields.setdefault(f.version_id, []).append(f)
    out += [transfer.version_record(v, fields.get(v.id, []))
            for v in (records.version(r["v"]) for r in await rows(tx, cypher.EXPORT_VERSIONS))]
    out += [transfer.link_record(r["dataset_id"], r["entity_id"], r["role"])
            for r in await rows(tx, cypher.EXPORT_LINKS)]
    out += [transfer.tag_record(r["dataset_id"], r["tag"], records.ts(r["created_at"]))
            for r in await rows(tx, cypher.EXPORT_TAGS)]
    out += [transfer.owner_record(r["dataset_id"], Owner(r["name"], OwnerKind(r["kind"]),
                                                         r["email"]))
            for r in await rows(tx, cypher.EXPORT_OWNERS)]
    out += [transfer.lineage_record(records.edge(r))
            for r in await rows(tx, cypher.EXPORT_LINEAGE)]
    out += [transfer.audit_record(records.audit(r["a"]))
            for r in await rows(tx, cypher.EXPORT_AUDIT)]
    return out


def _ts(text: str | None) -> Any:
    return transfer.parse_iso(text)


def _row(kind: str, r: dict[str, Any]) -> dict[str, Any]:
    """An exported record as the $rows map its IMPORT_* statement reads."""
    row = {k: v for k, v in r.items() if k != "record"}
    for stamp in ("created_at", "updated_at", "deleted_at", "at"):
        if stamp in row:
            row[stamp] = _ts(row[stamp])
    if kind == "dataset":
        row["natural_key"] = records.dataset_key(r["namespace"], r["name"])
        row["contract"] = records.to_json_or_none(r["contract"])
    elif kind == "entity":
        entity_kind = EntityKind(r["kind"])
        row["natural_key"] = records.entity_key(entity_kind, r["name"])
        row["is_human"] = entity_kind.is_human
        row["identifiers"] = records.to_json(r["identifiers"])
    elif kind == "audit":
        row["detail"] = records.to_json(r["detail"])
    elif kind == "version":
        row.pop("fields")
        row["quality"] = records.to_json_or_none(r["quality"])
        row["changes"] = records.to_json_or_none(r["changes"])
    return row


_COUNTED = {"source": cypher.IMPORT_SOURCES, "entity": cypher.IMPORT_ENTITIES,
            "link": cypher.IMPORT_LINKS, "tag": cypher.IMPORT_TAGS,
            "owner": cypher.IMPORT_OWNERS, "lineage": cypher.IMPORT_LINEAGE}


async def import_audit(tx: Tx, prepared: list[dict[str, Any]]) -> int:
    """New events (by content) keep their id when it is free; the others are appended after
    every id in use, so no event is lost or overwritten."""
    plan = await rows(tx, cypher.AUDIT_IMPORT_PLAN, rows=prepared)
    taken = {p["id"] for p in plan if p["taken"]}
    free = {p["id"] for p in plan} - taken
    await run(tx, cypher.IMPORT_AUDIT, rows=[r for r in prepared if r["id"] in free])
    await run(tx, cypher.AUDIT_COUNTER_CATCH_UP)
    for r in prepared:
        if r["id"] in taken:
            await run(tx, cypher.IMPORT_AUDIT_APPENDED, at=r["at"], actor=r["actor"],
                      action=r["action"], target_kind=r["target_kind"],
                      target_id=r["target_id"], detail=r["detail"],
                      request_id=r.get("request_id"))
    return len(plan)


async def import_batch(tx: Tx, batch: list[dict[str, Any]]) -> dict[str, int]:
    created = dict.fromkeys(transfer.RECORD_KINDS, 0)
    touched: set[str] = set()
    for kind, group in transfer.by_kind(batch).items():
        if not group:
            continue
        prepared = [_row(kind, r) for r in group]
        if kind == "dataset":
            found = await one(tx, cypher.IMPORT_DATASETS, rows=prepared)
            new = set(found["created"]) if found else set()
            await run(tx, cypher.IMPORT_DATASET_SOURCES, rows=[
                {"id": r["id"], "source_id": r["source_id"]} for r in group
                if r["id"] in new and r["source_id"] is not None])
            created[kind], touched = len(new), touched | new
        elif kind == "version":
            found = await one(tx, cypher.IMPORT_VERSIONS, rows=prepared)
            new = set(found["created"]) if found else set()
            await run(tx, cypher.IMPORT_FIELDS, rows=[
                {**f, "version_id": r["id"], "metadata": records.to_json(f["metadata"]),
                 "stats": records.to_json(f["stats"])}
                for r in group if r["id"] in new for f in r["fields"]])
            created[kind] = len(new)
            touched |= {r["dataset_id"] for r in group if r["id"] in new}
        elif kind == "audit":
            created[kind] = await import_audit(tx, prepared)
        else:
            found = await one(tx, _COUNTED[kind], rows=prepared)
            created[kind] = int(found["created"]) if found else 0
            if kind == "tag" and created[kind]:
                touched |= {r["dataset_id"] for r in group}
    if touched:
        await run(tx, cypher.DATASETS_REFRESH_LATEST, ids=sorted(touched))
        for dataset_id in sorted(touched):
            await reindex(tx, dataset_id)
    return created


class TransferMixin(Neo4jBase):
    async def is_empty(self) -> bool:
        async def work(tx: Tx) -> bool:
            found = await one(tx, cypher.IS_EMPTY)
            return bool(found and found["empty"])
        return await self._read(work)

    async def export_records(self) -> AsyncIterator[dict[str, Any]]:
        for record in await self._read(export_all):  # one consistent snapshot
            yield record

    async def import_records(self, records: Sequence[dict[str, Any]]) -> dict[str, int]:
        batch = list(records)

        async def work(tx: Tx) -> dict[str, int]:
            return await import_batch(tx, batch)
        return await self._write(work)
