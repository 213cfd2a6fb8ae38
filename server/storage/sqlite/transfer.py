"""Whole-catalog export and import for the SQLite store (``peso migrate``).

``export_all`` reads every record in one snapshot; ``import_batch`` writes a batch inside the
caller's write transaction, keeping ids and timestamps and skipping records already present.
The record format is described in ``server.storage.transfer``; the catalog's statements are in
``sql.py``, lineage's (jobs, runs, run and job datasets, column lineage, dataset facets,
events) in ``lineage_sql.py``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from server.errors import ConflictError
from server.models import EntityKind, Owner, OwnerKind, RunRole, RunState
from server.storage import transfer
from server.storage.sqlite import lineage_rows as lr
from server.storage.sqlite import lineage_sql as L
from server.storage.sqlite import rows, sql


def is_empty(c: sqlite3.Connection) -> bool:
    return bool(c.execute(sql.IS_EMPTY).fetchone()[0])


def export_all(c: sqlite3.Connection) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    out += [transfer.source_record(rows.source(r)) for r in c.execute(sql.EXPORT_SOURCES)]
    out += [transfer.entity_record(rows.entity(r)) for r in c.execute(sql.EXPORT_ENTITIES)]
    out += [transfer.dataset_record(rows.dataset(r)) for r in c.execute(sql.EXPORT_DATASETS)]
    fields: dict[str, list[Any]] = {}
    for r in c.execute(sql.EXPORT_FIELDS):
        fields.setdefault(r["version_id"], []).append(rows.field(r))
    out += [transfer.version_record(v, fields.get(v.id, []))
            for v in map(rows.version, c.execute(sql.EXPORT_VERSIONS))]
    out += [transfer.link_record(r["dataset_id"], r["entity_id"], r["role"])
            for r in c.execute(sql.EXPORT_LINKS)]
    out += [transfer.tag_record(r["dataset_id"], r["tag"], rows.ts(r["created_at"]))
            for r in c.execute(sql.EXPORT_TAGS)]
    out += [transfer.owner_record(r["dataset_id"], Owner(r["name"], OwnerKind(r["kind"]),
                                                         r["email"]))
            for r in c.execute(sql.EXPORT_OWNERS)]
    out += _export_lineage(c)
    out += [transfer.audit_record(rows.audit(r)) for r in c.execute(sql.EXPORT_AUDIT)]
    return out


def _export_lineage(c: sqlite3.Connection) -> list[dict[str, Any]]:
    """Jobs, runs, their datasets, DERIVED_FROM (with job and run), column lineage, dataset
    facets and the OpenLineage events received, in ``RECORD_KINDS`` order."""
    out = [transfer.job_record(lr.job(r)) for r in c.execute(L.EXPORT_JOBS)]
    out += [transfer.run_record(lr.run(r), rows.ts(r["state_time"]))
            for r in c.execute(L.EXPORT_RUNS)]
    out += [transfer.run_dataset_record(lr.run_dataset(r))
            for r in c.execute(L.EXPORT_RUN_DATASETS)]
    out += [transfer.job_dataset_record(r["job_id"], r["dataset_id"], RunRole(r["role"]))
            for r in c.execute(L.EXPORT_JOB_DATASETS)]
    out += [transfer.lineage_record(lr.edge(r)) for r in c.execute(sql.EXPORT_LINEAGE)]
    out += [transfer.column_lineage_record(lr.column(r))
            for r in c.execute(L.EXPORT_COLUMN_LINEAGE)]
    out += [transfer.dataset_facets_record(r["dataset_id"], lr.loads(r["facets"]),
                                           rows.ts(r["updated_at"]))
            for r in c.execute(L.EXPORT_DATASET_FACETS)]
    out += [transfer.lineage_event_record(
        event_key=r["event_key"], kind=r["kind"], event_type=r["event_type"],
        event_time=rows.ts(r["event_time"]), job_id=r["job_id"], run_id=r["run_id"],
        producer=r["producer"], received_at=rows.ts(r["received_at"]),
        payload=lr.loads(r["payload"])) for r in c.execute(L.EXPORT_EVENTS)]
    return out


def _ts(text: str | None) -> str | None:
    return transfer.iso(transfer.parse_iso(text))


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _json_or_none(value: dict[str, Any] | None) -> str | None:
    return None if value is None else _json(value)


def _insert(kind: str, r: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """The INSERT for one record (not audit events) and its parameters."""
    if kind == "source":
        return sql.IMPORT_SOURCE, (r["id"], r["name"], r["kind"], r["url"], r["license"],
                                   r["description"], _ts(r["created_at"]),
                                   _ts(r["updated_at"]))
    if kind == "entity":
        return sql.IMPORT_ENTITY, (r["id"], r["kind"], r["name"],
                                   int(EntityKind(r["kind"]).is_human), r["description"],
                                   _json(r["identifiers"]), _ts(r["created_at"]))
    if kind == "dataset":
        return sql.IMPORT_DATASET, (r["id"], r["namespace"], r["name"], r["layer"],
                                    r["description"], r["source_id"], _ts(r["created_at"]),
                                    _ts(r["updated_at"]), _ts(r["deleted_at"]),
                                    _json_or_none(r["contract"]))
    if kind == "version":
        return sql.IMPORT_VERSION, (r["id"], r["dataset_id"], r["version"], r["content_hash"],
                                    r["row_count"], r["byte_size"], r["raw_key"],
                                    r["curated_key"], r["format"], _ts(r["created_at"]),
                                    r["created_by"], _json_or_none(r["quality"]),
                                    _json_or_none(r["changes"]), r["quarantine_key"])
    if kind == "link":
        return sql.IMPORT_LINK, (r["dataset_id"], r["entity_id"], r["role"])
    if kind == "tag":
        return sql.IMPORT_TAG, (r["dataset_id"], r["tag"], _ts(r["created_at"]))
    if kind == "owner":
        return sql.IMPORT_OWNER, (r["dataset_id"], r["name"], r["kind"], r["email"])
    if kind == "lineage":
        return sql.IMPORT_LINEAGE, (r["downstream_id"], r["upstream_id"], r["transformation"],
                                    r["job"], _ts(r["created_at"]), r["job_id"], r["run_id"])
    return _insert_lineage(kind, r)


def _insert_lineage(kind: str, r: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """The INSERT for one OpenLineage record (jobs, runs, …, events) and its parameters."""
    if kind == "job":
        return L.IMPORT_JOB, (r["id"], r["namespace"], r["name"], r["description"],
                              _json(r["facets"]), _ts(r["created_at"]), _ts(r["updated_at"]))
    if kind == "run":
        return L.IMPORT_RUN, (r["id"], r["job_id"], RunState(r["state"]).value,
                              _ts(r["state_time"]),
                              _ts(r["started_at"]), _ts(r["ended_at"]), r["error_message"],
                              _ts(r["nominal_start"]), _ts(r["nominal_end"]),
                              r["parent_run_id"], _json(r["facets"]), _ts(r["created_at"]),
                              _ts(r["updated_at"]))
    if kind == "run_dataset":
        return L.IMPORT_RUN_DATASET, (r["run_id"], r["dataset_id"], RunRole(r["role"]).value,
                                      _json(r["facets"]))
    if kind == "job_dataset":
        return L.IMPORT_JOB_DATASET, (r["job_id"], r["dataset_id"], RunRole(r["role"]).value)
    if kind == "column_lineage":
        return L.IMPORT_COLUMN_LINEAGE, (
            r["downstream_id"], r["downstream_field"], r["upstream_id"], r["upstream_field"],
            r["transformation_type"], r["transformation_subtype"], r["description"],
            int(r["masking"]), r["job_id"], r["run_id"], _ts(r["created_at"]))
    if kind == "dataset_facets":
        return L.IMPORT_DATASET_FACETS, (r["dataset_id"], _json(r["facets"]),
                                         _ts(r["updated_at"]))
    if kind == "lineage_event":
        return L.IMPORT_EVENT, (r["event_key"], r["kind"], r["event_type"],
                                _ts(r["event_time"]), r["job_id"], r["run_id"], r["producer"],
                                _ts(r["received_at"]), _json(r["payload"]))
    raise ValueError(f"no single INSERT for {kind} records")


def _import_audit(c: sqlite3.Connection, group: list[dict[str, Any]]) -> int:
    """Events not already present (by content) keep their id when it is free; the others are
    appended after every id in use, so no event is lost or overwritten."""
    later: list[tuple[Any, ...]] = []
    created = 0
    for r in group:
        values = (_ts(r["at"]), r["actor"], r["action"], r["target_kind"], r["target_id"],
                  _json(r["detail"]), r.get("request_id"))
        at, actor, action, target_kind, target_id, detail, _ = values
        if c.execute(sql.AUDIT_FIND, (target_id, at, actor, action, target_kind,
                                      detail)).fetchone():
            continue
        if c.execute(sql.IMPORT_AUDIT, (r["id"], *values)).rowcount:
            created += 1
        else:
            later.append(values)
    for values in later:
        c.execute(sql.AUDIT_INSERT, values)
        created += 1
    return created


def import_batch(c: sqlite3.Connection, records: list[dict[str, Any]]
                 ) -> tuple[dict[str, int], set[str]]:
    """Insert what is missing; return (records created per kind, dataset ids touched)."""
    created = dict.fromkeys(transfer.RECORD_KINDS, 0)
    touched: set[str] = set()
    for kind, group in transfer.by_kind(records).items():
        if kind == "audit":
            created[kind] = _import_audit(c, group)
            continue
        for r in group:
            query, params = _insert(kind, r)
            try:
                inserted = c.execute(query, params).rowcount
                if kind == "version" and inserted:
                    c.executemany(sql.IMPORT_FIELD, [
                        (f["id"], r["id"], f["position"], f["name"], f["arrow_type"],
                         int(f["nullable"]), f["description"], _json(f["metadata"]),
                         f["semantic_type"], int(f["pii"]), _json(f["stats"]))
                        for f in r["fields"]])
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"cannot import {kind} {transfer.identity(r)[1:]}: {exc} "
                                    "(the target holds a different record under the same "
                                    "name, or one it refers to is missing)") from exc
            created[kind] += inserted
            if inserted and kind in ("dataset", "version", "tag"):
                touched.add(r["id"] if kind == "dataset" else r["dataset_id"])
    for dataset_id in sorted(touched):
        c.execute(sql.DATASET_REFRESH_LATEST, (dataset_id,))
    return created, touched
