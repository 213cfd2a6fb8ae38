"""The record format of a whole-catalog export/import (``peso migrate``).

A graph store's ``export_records()`` yields one plain dict per record: ``{"record": KIND, ...}``
with JSON-safe values only (str, int, bool, None, lists and dicts of those; timestamps as
ISO-8601 UTC text with microseconds), kinds in dependency order, so that importing them in the
order given never names something not yet imported:

=============== ============================================================================
source          id, name, kind, url, license, description, created_at, updated_at
entity          id, kind, name, description, identifiers{}, created_at
dataset         id, namespace, name, layer, description, source_id, created_at, updated_at,
                deleted_at (soft-deleted datasets are records too), contract{}|None
version         id, dataset_id, version, content_hash, row_count, byte_size, raw_key,
                curated_key, format, created_at, created_by, quality{}|None, changes{}|None,
                quarantine_key, fields[{id, position, name, arrow_type, nullable, description,
                metadata{}, semantic_type, pii, stats{}}]
link            dataset_id, entity_id, role                              (DESCRIBES)
tag             dataset_id, tag, created_at                              (TAGGED)
owner           dataset_id, name, kind, email                            (OWNED_BY)
job             id, namespace, name, description, facets{}, created_at, updated_at
run             id (the runId), job_id, state, state_time, started_at, ended_at,
                error_message, nominal_start, nominal_end, parent_run_id, facets{},
                created_at, updated_at                                   (HAS_RUN)
run_dataset     run_id, dataset_id, role (input|output), facets{}        (READ / WROTE)
job_dataset     job_id, dataset_id, role (input|output)       (a job's inputs and outputs)
lineage         downstream_id, upstream_id, transformation, job, created_at, job_id,
                run_id                                                   (DERIVED_FROM)
column_lineage  downstream_id, downstream_field, upstream_id, upstream_field,
                transformation_type, transformation_subtype, description, masking, job_id,
                run_id, created_at                                 (FIELD_DERIVED_FROM)
dataset_facets  dataset_id, facets{}, updated_at   (the latest OpenLineage dataset facets)
lineage_event   event_key, kind, event_type, event_time, job_id, run_id, producer,
                received_at, payload{}   (every OpenLineage event applied: replays of a
                                          restored event stay no-ops)
audit           id, at, actor, action, target_kind, target_id, detail{}, request_id
=============== ============================================================================

Jobs come before ``lineage`` (an edge names the job that derived it) and runs after jobs;
``run_id`` on edges, column lineage and events is a plain reference (a run may be unknown to
the catalog). A lineage event is identified by its key: its local sequence number is not part
of it (a target numbers the events it receives in the order given).

Every key of a kind is always present (``None`` when unset), so two backends holding the same
catalog export identical dicts, and ``fingerprint`` can compare them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from server.errors import ValidationError
from server.models import (
    AuditEvent,
    ColumnLineageEdge,
    Dataset,
    DatasetVersion,
    Entity,
    Job,
    LineageEdge,
    Owner,
    Run,
    RunDataset,
    RunRole,
    SchemaField,
    Source,
)

RECORD_KINDS: tuple[str, ...] = ("source", "entity", "dataset", "version", "link", "tag",
                                 "owner", "job", "run", "run_dataset", "job_dataset", "lineage",
                                 "column_lineage", "dataset_facets", "lineage_event", "audit")

# the fields that identify a record of each kind (what "the same record" means). An audit
# event is identified by its content: its id is a per-store sequence number, kept on import
# when it is free and renumbered (appended) when another event already holds it.
IDENTITY: dict[str, tuple[str, ...]] = {
    "source": ("id",), "entity": ("id",), "dataset": ("id",), "version": ("id",),
    "link": ("dataset_id", "entity_id"), "tag": ("dataset_id", "tag"),
    "owner": ("dataset_id", "name"), "job": ("id",), "run": ("id",),
    "run_dataset": ("run_id", "role", "dataset_id"),
    "job_dataset": ("job_id", "role", "dataset_id"),
    "lineage": ("downstream_id", "upstream_id"),
    "column_lineage": ("downstream_id", "downstream_field", "upstream_id", "upstream_field",
                       "transformation_type", "transformation_subtype"),
    "dataset_facets": ("dataset_id",), "lineage_event": ("event_key",),
    "audit": ("at", "actor", "action", "target_kind", "target_id", "detail"),
}
# keys added to a kind after format version 1 of ``peso export``, with the value an older
# record means (``complete`` fills them in, so an old export still imports and verifies)
ADDED_KEYS: dict[str, dict[str, Any]] = {"lineage": {"job_id": None, "run_id": None}}
# fields that are not part of what a record says (left out of its fingerprint)
LOCAL_FIELDS: dict[str, tuple[str, ...]] = {"audit": ("id",)}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def identity(record: dict[str, Any]) -> tuple[Any, ...]:
    """``(kind, *identifying values)`` of a record (hashable); ValidationError for an unknown
    kind."""
    kind = record.get("record")
    if kind not in IDENTITY:
        raise ValidationError(f"unknown record kind {kind!r}", field="record")
    return (kind, *(_canonical(v) if isinstance(v, dict | list) else v
                    for v in (record[f] for f in IDENTITY[kind])))


def fingerprint(record: dict[str, Any]) -> str:
    """A digest of what the record says, equal for equal records from any backend."""
    local = LOCAL_FIELDS.get(record.get("record", ""), ())
    text = _canonical({k: v for k, v in record.items() if k not in local})
    return hashlib.sha256(text.encode()).hexdigest()


def iso(stamp: datetime | None) -> str | None:
    """A timestamp as the export writes it: UTC, microseconds, ``+00:00``."""
    if stamp is None:
        return None
    return stamp.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str | None, *, field: str = "timestamp") -> datetime | None:
    if text is None:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{field} {text!r} is not an ISO-8601 timestamp",
                              field=field) from exc
    if stamp.tzinfo is None:
        raise ValidationError(f"{field} {text!r} has no time zone", field=field)
    return stamp.astimezone(UTC)


def complete(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the keys its kind gained since it was written (``ADDED_KEYS``)."""
    added = ADDED_KEYS.get(record.get("record", ""), {})
    missing = {k: v for k, v in added.items() if k not in record}
    return {**record, **missing} if missing else record


def by_kind(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group a batch by kind, in ``RECORD_KINDS`` order (the order imports must follow)."""
    groups: dict[str, list[dict[str, Any]]] = {kind: [] for kind in RECORD_KINDS}
    for record in records:
        groups[identity(record)[0]].append(record)
    return groups


# --- models → records (both backends export through these, so their dicts agree) ----------

def source_record(s: Source) -> dict[str, Any]:
    return {"record": "source", "id": s.id, "name": s.name, "kind": s.kind.value, "url": s.url,
            "license": s.license, "description": s.description,
            "created_at": iso(s.created_at), "updated_at": iso(s.updated_at)}


def entity_record(e: Entity) -> dict[str, Any]:
    return {"record": "entity", "id": e.id, "kind": e.kind.value, "name": e.name,
            "description": e.description, "identifiers": dict(e.identifiers),
            "created_at": iso(e.created_at)}


def dataset_record(d: Dataset) -> dict[str, Any]:
    return {"record": "dataset", "id": d.id, "namespace": d.namespace, "name": d.name,
            "layer": d.layer.value, "description": d.description, "source_id": d.source_id,
            "created_at": iso(d.created_at), "updated_at": iso(d.updated_at),
            "deleted_at": iso(d.deleted_at), "contract": d.contract}


def version_record(v: DatasetVersion, fields: list[SchemaField]) -> dict[str, Any]:
    return {"record": "version", "id": v.id, "dataset_id": v.dataset_id, "version": v.version,
            "content_hash": v.content_hash, "row_count": v.row_count,
            "byte_size": v.byte_size, "raw_key": v.raw_key, "curated_key": v.curated_key,
            "format": v.format, "created_at": iso(v.created_at), "created_by": v.created_by,
            "quality": v.quality, "changes": v.changes, "quarantine_key": v.quarantine_key,
            "fields": [{"id": f.id, "position": f.position, "name": f.name,
                        "arrow_type": f.arrow_type, "nullable": f.nullable,
                        "description": f.description, "metadata": dict(f.metadata),
                        "semantic_type": f.semantic_type, "pii": f.pii,
                        "stats": dict(f.stats)}
                       for f in sorted(fields, key=lambda f: f.position)]}


def link_record(dataset_id: str, entity_id: str, role: str | None) -> dict[str, Any]:
    return {"record": "link", "dataset_id": dataset_id, "entity_id": entity_id, "role": role}


def tag_record(dataset_id: str, tag: str, created_at: datetime) -> dict[str, Any]:
    return {"record": "tag", "dataset_id": dataset_id, "tag": tag, "created_at": iso(created_at)}


def owner_record(dataset_id: str, owner: Owner) -> dict[str, Any]:
    return {"record": "owner", "dataset_id": dataset_id, "name": owner.name,
            "kind": owner.kind.value, "email": owner.email}


def job_record(j: Job) -> dict[str, Any]:
    return {"record": "job", "id": j.id, "namespace": j.namespace, "name": j.name,
            "description": j.description, "facets": dict(j.facets),
            "created_at": iso(j.created_at), "updated_at": iso(j.updated_at)}


def run_record(r: Run, state_time: datetime) -> dict[str, Any]:
    """``state_time`` (the event time that set the state) is not on the model: it is what
    keeps a late event from moving a restored run backwards."""
    return {"record": "run", "id": r.id, "job_id": r.job_id, "state": r.state.value,
            "state_time": iso(state_time), "started_at": iso(r.started_at),
            "ended_at": iso(r.ended_at), "error_message": r.error_message,
            "nominal_start": iso(r.nominal_start), "nominal_end": iso(r.nominal_end),
            "parent_run_id": r.parent_run_id, "facets": dict(r.facets),
            "created_at": iso(r.created_at), "updated_at": iso(r.updated_at)}


def run_dataset_record(d: RunDataset) -> dict[str, Any]:
    return {"record": "run_dataset", "run_id": d.run_id, "dataset_id": d.dataset_id,
            "role": d.role.value, "facets": dict(d.facets)}


def job_dataset_record(job_id: str, dataset_id: str, role: RunRole) -> dict[str, Any]:
    return {"record": "job_dataset", "job_id": job_id, "dataset_id": dataset_id,
            "role": role.value}


def lineage_record(e: LineageEdge) -> dict[str, Any]:
    return {"record": "lineage", "downstream_id": e.downstream_id, "upstream_id": e.upstream_id,
            "transformation": e.transformation, "job": e.job, "created_at": iso(e.created_at),
            "job_id": e.job_id, "run_id": e.run_id}


def column_lineage_record(c: ColumnLineageEdge) -> dict[str, Any]:
    return {"record": "column_lineage", "downstream_id": c.downstream_id,
            "downstream_field": c.downstream_field, "upstream_id": c.upstream_id,
            "upstream_field": c.upstream_field, "transformation_type": c.transformation_type,
            "transformation_subtype": c.transformation_subtype, "description": c.description,
            "masking": c.masking, "job_id": c.job_id, "run_id": c.run_id,
            "created_at": iso(c.created_at)}


def dataset_facets_record(dataset_id: str, facets: dict[str, Any],
                          updated_at: datetime) -> dict[str, Any]:
    return {"record": "dataset_facets", "dataset_id": dataset_id, "facets": dict(facets),
            "updated_at": iso(updated_at)}


def lineage_event_record(*, event_key: str, kind: str, event_type: str | None,
                         event_time: datetime, job_id: str | None, run_id: str | None,
                         producer: str, received_at: datetime,
                         payload: dict[str, Any]) -> dict[str, Any]:
    return {"record": "lineage_event", "event_key": event_key, "kind": kind,
            "event_type": event_type, "event_time": iso(event_time), "job_id": job_id,
            "run_id": run_id, "producer": producer, "received_at": iso(received_at),
            "payload": dict(payload)}


def audit_record(a: AuditEvent) -> dict[str, Any]:
    return {"record": "audit", "id": a.id, "at": iso(a.at), "actor": a.actor,
            "action": a.action, "target_kind": a.target_kind, "target_id": a.target_id,
            "detail": a.detail, "request_id": a.request_id}
