"""Whole-catalog export and import on Neo4j (``peso migrate``); record format in
``server.storage.transfer``. Export reads everything in one read transaction; an import batch
is one write transaction that keeps ids and timestamps and skips what is already there.

The catalog's statements are in ``cypher.py``; lineage's (jobs, runs, their datasets,
DERIVED_FROM with job and run, column lineage, dataset facets, events) in
``lineage_cypher.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from server.models import EntityKind, Owner, OwnerKind, RunDataset, RunRole, RunState
from server.storage import transfer
from server.storage.neo4j import cypher, records
from server.storage.neo4j import lineage as lineage_records
from server.storage.neo4j import lineage_cypher as LC
from server.storage.neo4j.base import Neo4jBase, Tx, iso_or_none, one, rows, run
from server.storage.neo4j.lineage_apply import column, loads

_ROLE = {LC.Rel.READ.value: RunRole.INPUT, LC.Rel.WROTE.value: RunRole.OUTPUT,
         LC.Rel.JOB_READS.value: RunRole.INPUT, LC.Rel.JOB_WRITES.value: RunRole.OUTPUT}
# the statement importing each role of run_dataset / job_dataset records
_BY_ROLE = {"run_dataset": {RunRole.INPUT: LC.IMPORT_RUN_READ,
                            RunRole.OUTPUT: LC.IMPORT_RUN_WROTE},
            "job_dataset": {RunRole.INPUT: LC.IMPORT_JOB_READS,
                            RunRole.OUTPUT: LC.IMPORT_JOB_WRITES}}
_STAMPS = ("created_at", "updated_at", "deleted_at", "at", "state_time", "started_at",
           "ended_at", "nominal_start", "nominal_end", "event_time", "received_at")


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
    out += await export_lineage(tx)
    out += [transfer.audit_record(records.audit(r["a"]))
            for r in await rows(tx, cypher.EXPORT_AUDIT)]
    return out


async def export_lineage(tx: Tx) -> list[dict[str, Any]]:
    """Jobs, runs, their datasets, DERIVED_FROM (with job and run), column lineage, dataset
    facets and the OpenLineage events received, in ``RECORD_KINDS`` order."""
    out = [transfer.job_record(lineage_records.job(r["j"]))
           for r in await rows(tx, LC.EXPORT_JOBS)]
    out += [transfer.run_record(lineage_records.run(r["r"]), records.ts(r["r"]["state_time"]))
            for r in await rows(tx, LC.EXPORT_RUNS)]
    out += [transfer.run_dataset_record(RunDataset(r["run_id"], r["dataset_id"],
                                                   _ROLE[r["rel"]], loads(r["facets"])))
            for r in await rows(tx, LC.EXPORT_RUN_DATASETS)]
    out += [transfer.job_dataset_record(r["job_id"], r["dataset_id"], _ROLE[r["rel"]])
            for r in await rows(tx, LC.EXPORT_JOB_DATASETS)]
    out += [transfer.lineage_record(lineage_records.edge(r))
            for r in await rows(tx, LC.EXPORT_DERIVED_FROM)]
    out += [transfer.column_lineage_record(column(r))
            for r in await rows(tx, LC.EXPORT_COLUMN_LINEAGE)]
    out += [transfer.dataset_facets_record(r["dataset_id"], loads(r["facets"]),
                                           records.ts(r["updated_at"]))
            for r in await rows(tx, LC.EXPORT_DATASET_FACETS)]
    for r in await rows(tx, LC.EXPORT_EVENTS):
        e = r["e"]
        out.append(transfer.lineage_event_record(
            event_key=e["key"], kind=e["kind"], event_type=e.get("event_type"),
            event_time=records.ts(e["event_time"]), job_id=e.get("job_id"),
            run_id=e.get("run_id"), producer=e["producer"],
            received_at=records.ts(e["received_at"]), payload=loads(e.get("payload"))))
    return out


def _ts(text: str | None) -> str | None:
    """A record's timestamp checked and in UTC, as ISO text: the import statements turn it
    into a DateTime with Cypher's ``datetime()``. (The driver packs a Python datetime through
    ~100 µs of pure-Python time arithmetic: two per dataset, a 1M-dataset build spent
    minutes of client CPU on that alone.)"""
    return iso_or_none(transfer.parse_iso(text))


def _new_dataset_search(r: dict[str, Any]) -> dict[str, str | None]:
    """The search_* properties of a dataset just created (what ``base.reindex`` would write:
    no tags and no version yet), all null for a deleted one (out of the full-text index)."""
    live = r["deleted_at"] is None
    return {"search_namespace": records.search_text(r["namespace"]) if live else None,
            "search_name": records.search_text(r["name"]) if live else None,
            "search_description": records.search_text(r["description"]) if live else None,
            "search_tags": "" if live else None, "search_fields": "" if live else None}


def _newest_versions(group: list[dict[str, Any]], new: set[str]) -> list[dict[str, Any]]:
    """VERSIONS_SET_LATEST's rows: per dataset, its highest new version of the batch with the
    search text of its field names (in position order, as ``base.reindex`` builds it)."""
    newest: dict[str, dict[str, Any]] = {}
    for r in group:
        best = newest.get(r["dataset_id"])
        if r["id"] in new and (best is None or r["version"] > best["version"]):
            newest[r["dataset_id"]] = r
    return [{"dataset_id": ds_id, "version_id": r["id"], "version": r["version"],
             "fields": records.search_text(*(f["name"] for f in sorted(
                 r["fields"], key=lambda f: (f["position"], f["name"]))))}
            for ds_id, r in newest.items()]


def _row(kind: str, r: dict[str, Any]) -> dict[str, Any]:
    """An exported record as the $rows map its IMPORT_* statement reads."""
    row = {k: v for k, v in r.items() if k != "record"}
    for stamp in _STAMPS:
        if stamp in row:
            row[stamp] = _ts(row[stamp])
    if kind == "dataset":
        row["natural_key"] = records.dataset_key(r["namespace"], r["name"])
        row["contract"] = records.to_json_or_none(r["contract"])
        row.update(_new_dataset_search(r))
    elif kind == "entity":
        entity_kind = EntityKind(r["kind"])
        row["natural_key"] = records.entity_key(entity_kind, r["name"])
        row["is_human"] = entity_kind.is_human
        row["identifiers"] = records.to_json(r["identifiers"])
    elif kind == "audit":
        row["detail"] = records.to_json(r["detail"])
    elif kind == "version":
        row["fields"] = [{**f, "metadata": records.to_json(f["metadata"]),
                          "stats": records.to_json(f["stats"])} for f in r["fields"]]
        row["quality"] = records.to_json_or_none(r["quality"])
        row["changes"] = records.to_json_or_none(r["changes"])
    elif kind == "job":
        row["natural_key"] = records.dataset_key(r["namespace"], r["name"])
        row["facets"] = records.to_json(r["facets"])
    elif kind == "run":
        row["state"] = RunState(r["state"]).value
        row["facets"] = records.to_json(r["facets"])
    elif kind in ("run_dataset", "dataset_facets"):
        row["facets"] = records.to_json(r["facets"])
    elif kind == "column_lineage":
        row["masking"] = bool(r["masking"])
    elif kind == "lineage_event":
        row["payload"] = records.to_json(r["payload"])
    return row


_COUNTED = {"source": cypher.IMPORT_SOURCES, "entity": cypher.IMPORT_ENTITIES,
            "link": cypher.IMPORT_LINKS,
            "owner": cypher.IMPORT_OWNERS, "job": LC.IMPORT_JOBS, "run": LC.IMPORT_RUNS,
            "lineage": LC.IMPORT_DERIVED_FROM, "column_lineage": LC.IMPORT_COLUMN_LINEAGE,
            "dataset_facets": LC.IMPORT_DATASET_FACETS, "lineage_event": LC.IMPORT_EVENTS}


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
    """Import one batch in the caller's transaction. Each kind keeps the search_* properties
    (what the full-text index reads) of the datasets it changes up to date itself, from what
    the batch holds: a new dataset is created with them, new versions set search_fields with
    the latest version, new tags rewrite search_tags. So search sees the batch when it
    commits, and no dataset's entry is read back or rewritten for a kind that did not touch
    it (a read-back and rewrite of every touched dataset after each kind was a third of a
    bulk build)."""
    created = dict.fromkeys(transfer.RECORD_KINDS, 0)
    for kind, group in transfer.by_kind(batch).items():
        if not group:
            continue
        prepared = [_row(kind, r) for r in group]
        if kind in ("dataset", "version"):
            found = await one(tx, cypher.IMPORT_DATASETS if kind == "dataset"
                              else cypher.IMPORT_VERSIONS, rows=prepared)
            new = set(found["created"]) if found else set()
            created[kind] = len(new)
            if kind == "version" and new:
                await run(tx, cypher.VERSIONS_SET_LATEST, rows=_newest_versions(group, new))
        elif kind == "tag":
            found = await one(tx, cypher.IMPORT_TAGS, rows=prepared)
            created[kind] = int(found["created"]) if found else 0
            retext = [{"id": ds_id, "tags": records.search_text(*sorted(tags))}
                      for ds_id, deleted, tags in (found["datasets"] if found else [])
                      if not deleted]
            if retext:
                await run(tx, cypher.IMPORT_SEARCH_TAGS, rows=retext)
        elif kind == "audit":
            created[kind] = await import_audit(tx, prepared)
        elif kind in _BY_ROLE:
            for role, statement in _BY_ROLE[kind].items():
                subset = [p for p in prepared if RunRole(p["role"]) is role]
                found = await one(tx, statement, rows=subset) if subset else None
                created[kind] += int(found["created"]) if found else 0
        else:
            found = await one(tx, _COUNTED[kind], rows=prepared)
            created[kind] = int(found["created"]) if found else 0
    return created


class TransferMixin(Neo4jBase):
    async def is_empty(self) -> bool:
        async def work(tx: Tx) -> bool:
            found = await one(tx, cypher.IS_EMPTY)
            if not (found and found["empty"]):
                return False
            found = await one(tx, LC.NO_LINEAGE)
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
