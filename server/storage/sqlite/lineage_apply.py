"""Applying one OpenLineage event (a ``LineageEvent``) to SQLite, inside the caller's write
transaction: job, run, datasets, run inputs/outputs, DERIVED_FROM edges, column lineage,
dataset facets, the event row, and one audit event per change.

The store's own dataset and version registration (``_ensure_dataset``, ``_register_one``) is
reused through ``Host``, so an OpenLineage dataset is an ordinary dataset: searchable,
listable, with versions and fields.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Protocol

from server.errors import ConflictError, NotFoundError
from server.ids import new_id
from server.lineage_event import (
    ColumnLineageSpec,
    DatasetSpec,
    IngestResult,
    JobSpec,
    LineageEvent,
    RunSpec,
    merge_facets,
    version_marker,
)
from server.models import (
    ColumnLineageEdge,
    DatasetKey,
    DatasetLayer,
    FieldSpec,
    NewVersion,
    RegisteredVersion,
    RunRole,
    RunState,
    SourceKind,
)
from server.storage.sqlite import lineage_rows as lr
from server.storage.sqlite import lineage_sql as L
from server.storage.sqlite import rows, sql
from server.storage.sqlite.helpers import _audit

FIELDS_OF_VERSION = ("SELECT name, arrow_type, nullable, description FROM fields "
                     "WHERE version_id = ? ORDER BY position")


class Host(Protocol):
    """What the SQLite store lends: its dataset and version registration."""

    def _ensure_dataset(self, c: sqlite3.Connection, namespace: str, name: str,
                        layer: DatasetLayer, description: str | None, source_name: str | None,
                        actor: str) -> str: ...

    def _register_one(self, c: sqlite3.Connection, item: NewVersion,
                      actor: str) -> RegisteredVersion: ...


def audit(c: sqlite3.Connection, actor: str, action: str, kind: str, target: str,
          detail: dict[str, Any]) -> None:
    """The store's own audit writer (request id included)."""
    _audit(c, actor, action, kind, target, detail)


# --- the event ---------------------------------------------------------------------------

def apply_event(host: Host, c: sqlite3.Connection, ev: LineageEvent,
                actor: str) -> IngestResult:
    if c.execute(L.EVENT_EXISTS, (ev.key,)).fetchone() is not None:
        return IngestResult(created=False, key=ev.key)
    job_id = ensure_job(c, ev.job, actor) if ev.job is not None else None
    run_id = None
    if ev.run is not None and job_id is not None:
        run_id = ensure_run(c, ev.run, job_id, lr.iso(ev.event_time), actor)
    ids: dict[DatasetKey, str] = {}
    for spec in ev.specs():
        ids[spec.key] = ensure_dataset(host, c, spec, actor)
    for key in ev.other_keys():
        ids[key] = host._ensure_dataset(c, key.namespace, key.name, DatasetLayer.EXTERNAL,
                                        None, None, actor)
    for role, specs in ((RunRole.INPUT, ev.inputs), (RunRole.OUTPUT, ev.outputs)):
        for spec in specs:
            if run_id is not None:
                c.execute(L.RUN_DATASET_UPSERT, (run_id, ids[spec.key], role.value,
                                                 lr.dumps(spec.io_facets)))
            if job_id is not None:
                c.execute(L.JOB_DATASET_ADD, (job_id, ids[spec.key], role.value))
    label = ev.job.name if ev.job is not None else None
    for down, up in ev.edges:
        put_edge(c, ids[down], ids[up], str(up), label, job_id, run_id, actor)
    put_columns(c, ev.column_lineage, ids, job_id, run_id, actor)
    c.execute(L.EVENT_INSERT, (ev.key, ev.kind.value, ev.event_type, lr.iso(ev.event_time),
                               job_id, run_id, ev.producer, rows.now(), lr.dumps(ev.payload)))
    target_kind, target = (("Run", run_id) if run_id else ("Job", job_id) if job_id
                           else ("Dataset", next(iter(ids.values()), "")))
    audit(c, actor, "openlineage.event", target_kind, target or "", {
        "eventType": ev.event_type, "kind": ev.kind.value, "eventTime": lr.iso(ev.event_time),
        "producer": ev.producer, "datasets": len(ids),
        "job": f"{ev.job.namespace}/{ev.job.name}" if ev.job else None})
    return IngestResult(created=True, key=ev.key, job_id=job_id, run_id=run_id,
                        dataset_ids=list(dict.fromkeys(ids.values())))


def ensure_job(c: sqlite3.Connection, spec: JobSpec, actor: str) -> str:
    row = c.execute(L.JOB_BY_KEY, (spec.namespace, spec.name)).fetchone()
    stamp = rows.now()
    if row is None:
        job_id = new_id()
        c.execute(L.JOB_INSERT, (job_id, spec.namespace, spec.name, spec.description,
                                 lr.dumps(merge_facets({}, spec.facets)), stamp, stamp))
        audit(c, actor, "job.created", "Job", job_id,
              {"namespace": spec.namespace, "name": spec.name})
        return job_id
    old = lr.job(row)
    facets = merge_facets(old.facets, spec.facets)
    description = spec.description if spec.description is not None else old.description
    if (facets, description) != (old.facets, old.description):
        c.execute(L.JOB_UPDATE, (description, lr.dumps(facets), stamp, old.id))
        audit(c, actor, "job.updated", "Job", old.id,
              {"namespace": spec.namespace, "name": spec.name})
    return old.id


def ensure_run(c: sqlite3.Connection, spec: RunSpec, job_id: str, at: str,
               actor: str) -> str:
    row = c.execute(L.RUN_BY_ID, (spec.run_id,)).fetchone()
    stamp, state = rows.now(), spec.state
    nominal = (lr.iso(spec.nominal_start) if spec.nominal_start else None,
               lr.iso(spec.nominal_end) if spec.nominal_end else None)
    if row is None:
        started = at if state in (RunState.START, RunState.RUNNING) else None
        ended = at if state.terminal else None
        c.execute(L.RUN_INSERT, (spec.run_id, job_id, state.value, at, started, ended,
                                 spec.error_message, *nominal, spec.parent_run_id,
                                 lr.dumps(merge_facets({}, spec.facets)), stamp, stamp))
        audit(c, actor, "run.created", "Run", spec.run_id, {"job": job_id, "state": state.value})
        return spec.run_id
    if row["job_id"] != job_id:
        raise ConflictError(f"run {spec.run_id} belongs to another job; a runId names one "
                            "run of one job", field="run.runId")
    current = RunState(row["state"])
    new_state, state_time = current, row["state_time"]
    # the state moves with event time, whatever order events arrive in; OTHER never sets it
    if state is not RunState.OTHER and (current is RunState.OTHER or at >= state_time):
        new_state, state_time = state, at
    started, ended = row["started_at"], row["ended_at"]
    if (state is RunState.START and (started is None or at < started)) or (
            state is RunState.RUNNING and started is None):
        started = at
    if state.terminal and new_state is state:
        ended = at
    after = (new_state.value, state_time, started, ended,
             spec.error_message or row["error_message"], nominal[0] or row["nominal_start"],
             nominal[1] or row["nominal_end"], spec.parent_run_id or row["parent_run_id"],
             lr.dumps(merge_facets(lr.loads(row["facets"]), spec.facets)))
    before = (row["state"], row["state_time"], row["started_at"], row["ended_at"],
              row["error_message"], row["nominal_start"], row["nominal_end"],
              row["parent_run_id"], lr.dumps(lr.loads(row["facets"])))
    if after != before:
        c.execute(L.RUN_UPDATE, (*after, stamp, spec.run_id))
        audit(c, actor, "run.updated", "Run", spec.run_id, {"state": new_state.value})
    return spec.run_id


# --- datasets ----------------------------------------------------------------------------

def ensure_dataset(host: Host, c: sqlite3.Connection, spec: DatasetSpec, actor: str) -> str:
    source_name = ensure_source(c, spec, actor)
    dataset_id = host._ensure_dataset(c, spec.namespace, spec.name, DatasetLayer.EXTERNAL,
                                      spec.description, source_name, actor)
    if spec.fields is not None or spec.version is not None:
        add_version(host, c, dataset_id, spec, source_name, actor)
    for owner in spec.owners:
        before = c.execute(sql.OWNER_GET, (dataset_id, owner.name)).fetchone()
        if before is None or (before["kind"], before["email"]) != (owner.kind.value,
                                                                   owner.email):
            c.execute(sql.OWNER_UPSERT, (dataset_id, owner.name, owner.kind.value, owner.email))
            audit(c, actor, "owner.added", "Dataset", dataset_id,
                  {"owner": owner.name, "kind": owner.kind.value})
    if spec.facets:
        found = c.execute(L.DATASET_FACETS_GET, (dataset_id,)).fetchone()
        old = lr.loads(found["facets"]) if found else {}
        new = merge_facets(old, spec.facets)
        if found is None or new != old:   # recorded under the event's own audit entry
            c.execute(L.DATASET_FACETS_PUT, (dataset_id, lr.dumps(new), rows.now()))
    return dataset_id


def ensure_source(c: sqlite3.Connection, spec: DatasetSpec, actor: str) -> str | None:
    """The dataSource facet's source, created (kind platform) when it is new; an existing
    source of that name is used as it is."""
    if spec.source is None:
        return None
    if c.execute(sql.SOURCE_BY_NAME, (spec.source.name,)).fetchone() is None:
        source_id, stamp = new_id(), rows.now()
        c.execute(sql.SOURCE_INSERT, (source_id, spec.source.name, SourceKind.PLATFORM.value,
                                      spec.source.url, None,
                                      "Named by OpenLineage dataSource facets", stamp, stamp))
        audit(c, actor, "source.created", "Source", source_id, {"name": spec.source.name})
    return spec.source.name


def add_version(host: Host, c: sqlite3.Connection, dataset_id: str, spec: DatasetSpec,
                source_name: str | None, actor: str) -> None:
    """A version without objects when the schema (or the version facet) is new: a dataset
    loaded by Peso whose schema matches gets no extra version."""
    latest = c.execute(sql.VERSION_LATEST_OF, (dataset_id,)).fetchone()
    held = [] if latest is None else [
        FieldSpec(r["name"], r["arrow_type"], bool(r["nullable"]), r["description"])
        for r in c.execute(FIELDS_OF_VERSION, (latest["id"],))]
    fields = list(spec.fields) if spec.fields is not None else held
    shape = [(f.name, f.arrow_type) for f in fields]
    marker = version_marker(shape, spec.version)
    if latest is not None and shape == [(f.name, f.arrow_type) for f in held] and (
            spec.version is None or latest["content_hash"] == marker):
        return
    host._register_one(c, NewVersion(
        namespace=spec.namespace, name=spec.name, content_hash=marker,
        row_count=spec.row_count or 0, byte_size=spec.byte_size or 0, fields=fields,
        format="openlineage", layer=DatasetLayer.EXTERNAL, source_name=source_name,
        description=spec.description), actor)


# --- edges -------------------------------------------------------------------------------

def put_edge(c: sqlite3.Connection, down_id: str, up_id: str, up_name: str, label: str | None,
             job_id: str | None, run_id: str | None, actor: str) -> None:
    """DERIVED_FROM from a run or job: new edges and a change of job are audited; the run
    an edge remembers (its latest) changes with the event's own audit entry."""
    if down_id == up_id:
        return  # a job that reads and writes one table: not a derivation of itself
    before = c.execute(L.EDGE_GET, (down_id, up_id)).fetchone()
    if before is None:
        c.execute(L.EDGE_INSERT, (down_id, up_id, label, rows.now(), job_id, run_id))
        audit(c, actor, "lineage.added", "Dataset", down_id,
              {"upstream": up_name, "job": label, "run": run_id})
    elif (before["job"], before["job_id"]) != (label, job_id):
        c.execute(L.EDGE_SET_JOB, (label, job_id, run_id or before["run_id"], down_id, up_id))
        audit(c, actor, "lineage.added", "Dataset", down_id,
              {"upstream": up_name, "job": label, "run": run_id})
    elif run_id is not None and before["run_id"] != run_id:
        c.execute(L.EDGE_SET_JOB, (label, job_id, run_id, down_id, up_id))


def put_columns(c: sqlite3.Connection, specs: tuple[ColumnLineageSpec, ...],
                ids: dict[DatasetKey, str], job_id: str | None, run_id: str | None,
                actor: str) -> None:
    changed: dict[str, int] = {}
    for spec in specs:
        down, up = ids[spec.downstream], ids[spec.upstream]
        if (down, spec.downstream_field) == (up, spec.upstream_field):
            continue
        if put_column(c, down, spec, up, job_id, run_id):
            changed[down] = changed.get(down, 0) + 1
    for down, count in changed.items():
        audit(c, actor, "column_lineage.added", "Dataset", down, {"fields": count})


def put_column(c: sqlite3.Connection, down: str, spec: ColumnLineageSpec, up: str,
               job_id: str | None, run_id: str | None) -> bool:
    """Insert or refresh one record; True when it is new or its meaning changed."""
    ident = (down, spec.downstream_field, up, spec.upstream_field, spec.transformation_type,
             spec.transformation_subtype)
    before = c.execute(L.COLUMN_GET, ident).fetchone()
    if before is None:
        c.execute(L.COLUMN_INSERT, (*ident, spec.description, int(spec.masking), job_id,
                                    run_id, rows.now()))
        return True
    meaning = (spec.description, int(spec.masking))
    origin = (job_id or before["job_id"], run_id or before["run_id"])
    if meaning != (before["description"], before["masking"]) \
            or origin != (before["job_id"], before["run_id"]):
        c.execute(L.COLUMN_UPDATE, (*meaning, *origin, *ident))
    return meaning != (before["description"], before["masking"])


def put_column_lineage(c: sqlite3.Connection, spec: ColumnLineageSpec,
                       actor: str) -> ColumnLineageEdge:
    """The direct form (no job, no run): both datasets must be live."""
    ids = {}
    for key in (spec.downstream, spec.upstream):
        row = c.execute(sql.DATASET_BY_KEY, (key.namespace, key.name)).fetchone()
        if row is None or row["deleted_at"] is not None:
            raise NotFoundError(f"dataset {key} does not exist")
        ids[key] = row["id"]
    down, up = ids[spec.downstream], ids[spec.upstream]
    if (down, spec.downstream_field) == (up, spec.upstream_field):
        raise ConflictError(f"field {spec.downstream_field!r} of {spec.downstream} cannot be "
                            "derived from itself")
    if put_column(c, down, spec, up, None, None):
        audit(c, actor, "column_lineage.added", "Dataset", down,
              {"field": spec.downstream_field, "upstream": str(spec.upstream),
               "upstreamField": spec.upstream_field})
    row = c.execute(L.COLUMN_GET, (down, spec.downstream_field, up, spec.upstream_field,
                                   spec.transformation_type,
                                   spec.transformation_subtype)).fetchone()
    return lr.column(row)
