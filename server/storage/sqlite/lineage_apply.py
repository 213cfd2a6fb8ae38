"""Applying one OpenLineage event (a ``LineageEvent``) to SQLite, inside the caller's write
transaction: job, run, datasets, run inputs/outputs, DERIVED_FROM edges, column lineage
(``lineage_columns.py``), dataset facets, the event row, and one audit event per change.

The store's own dataset and version registration (``_ensure_dataset``, ``_insert_version``)
is reused through ``Host``, so an OpenLineage dataset is an ordinary dataset: searchable,
listable, with versions and fields.

The events of one transaction share a ``Batch``: what the transaction already read or wrote
of a job, a run, a dataset, its latest version's schema and its facets, kept as a fresh read
would give it, so a batch reads each of them once (a run's START and COMPLETE name the same
job, run and datasets). It lives and dies with its transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.errors import ConflictError
from server.ids import new_id
from server.lineage_event import (
    DatasetSpec,
    IngestResult,
    JobSpec,
    LineageEvent,
    RunSpec,
    merge_facets,
    version_marker,
)
from server.models import (
    DatasetKey,
    DatasetLayer,
    FieldSpec,
    NewVersion,
    RunRole,
    RunState,
    SourceKind,
)
from server.storage.sqlite import lineage_rows as lr
from server.storage.sqlite import lineage_sql as L
from server.storage.sqlite import rows, sql
from server.storage.sqlite.helpers import _audit
from server.storage.sqlite.lineage_columns import put_columns

FIELDS_OF_VERSION = ("SELECT name, arrow_type, nullable, description FROM fields "
                     "WHERE version_id = ? ORDER BY position")


class Host(Protocol):
    """What the SQLite store lends: its dataset and version registration."""

    def _ensure_dataset(self, c: sqlite3.Connection, namespace: str, name: str,
                        layer: DatasetLayer, description: str | None, source_name: str | None,
                        actor: str) -> str: ...

    def _insert_version(self, c: sqlite3.Connection, dataset_id: str, previous: int,
                        item: NewVersion, actor: str) -> str: ...


# a field as ``add_version`` compares it (and a version from a version facet alone reuses it):
# (name, arrow type, nullable, description), as read back from ``fields``
_Held = tuple[str, str, bool, str | None]


@dataclass(slots=True)
class _Latest:
    """A dataset's latest version as ``add_version`` compares it: number, content hash and
    fields."""

    number: int
    content_hash: str
    fields: list[_Held]


_UNKNOWN: Any = object()   # a dataset's description or source not (yet) known to the batch


@dataclass(slots=True)
class _Known:
    """A dataset the batch ensured: its id, and the description and source it now has as far
    as the batch knows (``_UNKNOWN``: never given in this batch)."""

    id: str
    description: Any = _UNKNOWN
    source: Any = _UNKNOWN


@dataclass(slots=True)
class Batch:
    """Reads of one write transaction, kept current with its own writes (see the module
    docstring). Each value is what reading the row again would return."""

    jobs: dict[tuple[str, str], tuple[str, str | None, dict[str, Any]]] = field(
        default_factory=dict)                          # key -> (id, description, facets)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)   # id -> RUN_BY_ID's row
    datasets: dict[DatasetKey, _Known] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)     # source names known to exist
    latest: dict[str, _Latest | None] = field(default_factory=dict)  # dataset id -> latest
    # dataset id -> its facets row: parsed, or the JSON text as written; None: no row
    facets: dict[str, dict[str, Any] | str | None] = field(default_factory=dict)


def audit(c: sqlite3.Connection, actor: str, action: str, kind: str, target: str,
          detail: dict[str, Any]) -> None:
    """The store's own audit writer (request id included)."""
    _audit(c, actor, action, kind, target, detail)


# --- the event ---------------------------------------------------------------------------

def apply_event(host: Host, c: sqlite3.Connection, ev: LineageEvent, actor: str,
                batch: Batch | None = None) -> IngestResult:
    """Apply one event; ``batch`` is shared by the events of one transaction (a fresh one
    when not given)."""
    if c.execute(L.EVENT_EXISTS, (ev.key,)).fetchone() is not None:
        return IngestResult(created=False, key=ev.key)
    b = batch if batch is not None else Batch()
    job_id = ensure_job(c, ev.job, actor, b) if ev.job is not None else None
    run_id = None
    if ev.run is not None and job_id is not None:
        run_id = ensure_run(c, ev.run, job_id, lr.iso(ev.event_time), actor, b)
    ids: dict[DatasetKey, str] = {}
    for spec in ev.specs():
        ids[spec.key] = ensure_dataset(host, c, spec, actor, b)
    for key in ev.other_keys():
        ids[key] = _dataset(host, c, b, key.namespace, key.name, None, None, actor)
    run_rows, job_rows = [], []
    for role, specs in ((RunRole.INPUT, ev.inputs), (RunRole.OUTPUT, ev.outputs)):
        for spec in specs:
            if run_id is not None:
                run_rows.append((run_id, ids[spec.key], role.value, lr.dumps(spec.io_facets)))
            if job_id is not None:
                job_rows.append((job_id, ids[spec.key], role.value))
    c.executemany(L.RUN_DATASET_UPSERT, run_rows)
    c.executemany(L.JOB_DATASET_ADD, job_rows)
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


def _stored(facets: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Facets as written (JSON text) and as reading them back gives them."""
    text = lr.dumps(facets)
    return text, ({} if text == "{}" else lr.loads(text))


def ensure_job(c: sqlite3.Connection, spec: JobSpec, actor: str, b: Batch) -> str:
    key = (spec.namespace, spec.name)
    known = b.jobs.get(key)
    if known is None:
        row = c.execute(L.JOB_BY_KEY, key).fetchone()
        known = None if row is None else (row["id"], row["description"], lr.loads(row["facets"]))
    stamp = rows.now()
    if known is None:
        job_id = new_id()
        text, facets = _stored(merge_facets({}, spec.facets))
        c.execute(L.JOB_INSERT, (job_id, spec.namespace, spec.name, spec.description, text,
                                 stamp, stamp))
        audit(c, actor, "job.created", "Job", job_id,
              {"namespace": spec.namespace, "name": spec.name})
        b.jobs[key] = (job_id, spec.description, facets)
        return job_id
    job_id, old_description, old_facets = known
    merged = merge_facets(old_facets, spec.facets)
    description = spec.description if spec.description is not None else old_description
    if (merged, description) != (old_facets, old_description):
        text, facets = _stored(merged)
        c.execute(L.JOB_UPDATE, (description, text, stamp, job_id))
        audit(c, actor, "job.updated", "Job", job_id,
              {"namespace": spec.namespace, "name": spec.name})
        known = (job_id, description, facets)
    b.jobs[key] = known
    return job_id


_RUN_FIELDS = ("state", "state_time", "started_at", "ended_at", "error_message",
               "nominal_start", "nominal_end", "parent_run_id", "facets")


def ensure_run(c: sqlite3.Connection, spec: RunSpec, job_id: str, at: str,
               actor: str, b: Batch) -> str:
    row: Any = b.runs.get(spec.run_id)
    if row is None:
        row = c.execute(L.RUN_BY_ID, (spec.run_id,)).fetchone()
    stamp, state = rows.now(), spec.state
    nominal = (lr.iso(spec.nominal_start) if spec.nominal_start else None,
               lr.iso(spec.nominal_end) if spec.nominal_end else None)
    if row is None:
        started = at if state in (RunState.START, RunState.RUNNING) else None
        ended = at if state.terminal else None
        values = (state.value, at, started, ended, spec.error_message, *nominal,
                  spec.parent_run_id, lr.dumps(merge_facets({}, spec.facets)))
        c.execute(L.RUN_INSERT, (spec.run_id, job_id, *values, stamp, stamp))
        audit(c, actor, "run.created", "Run", spec.run_id, {"job": job_id, "state": state.value})
        b.runs[spec.run_id] = {"job_id": job_id, **dict(zip(_RUN_FIELDS, values, strict=True))}
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
        b.runs[spec.run_id] = {"job_id": job_id, **dict(zip(_RUN_FIELDS, after, strict=True))}
    else:
        b.runs[spec.run_id] = {"job_id": row["job_id"],
                               **{name: row[name] for name in _RUN_FIELDS}}
    return spec.run_id


# --- datasets ----------------------------------------------------------------------------

def _dataset(host: Host, c: sqlite3.Connection, b: Batch, namespace: str, name: str,
             description: str | None, source_name: str | None, actor: str) -> str:
    """``host._ensure_dataset`` (layer EXTERNAL), skipped when the batch already ensured
    this dataset and nothing given differs from what it now holds."""
    key = DatasetKey(namespace, name)
    known = b.datasets.get(key)
    if known is not None and (description is None or description == known.description) \
            and (source_name is None or source_name == known.source):
        return known.id
    dataset_id = host._ensure_dataset(c, namespace, name, DatasetLayer.EXTERNAL, description,
                                      source_name, actor)
    if known is None:
        known = b.datasets[key] = _Known(dataset_id)
    if description is not None:
        known.description = description
    if source_name is not None:
        known.source = source_name
    return dataset_id


def ensure_dataset(host: Host, c: sqlite3.Connection, spec: DatasetSpec, actor: str,
                   b: Batch) -> str:
    source_name = ensure_source(c, spec, actor, b)
    dataset_id = _dataset(host, c, b, spec.namespace, spec.name, spec.description,
                          source_name, actor)
    if spec.fields is not None or spec.version is not None:
        add_version(host, c, dataset_id, spec, source_name, actor, b)
    for owner in spec.owners:
        before = c.execute(sql.OWNER_GET, (dataset_id, owner.name)).fetchone()
        if before is None or (before["kind"], before["email"]) != (owner.kind.value,
                                                                   owner.email):
            c.execute(sql.OWNER_UPSERT, (dataset_id, owner.name, owner.kind.value, owner.email))
            audit(c, actor, "owner.added", "Dataset", dataset_id,
                  {"owner": owner.name, "kind": owner.kind.value})
    if spec.facets:
        if dataset_id in b.facets:
            held = b.facets[dataset_id]
        else:
            row = c.execute(L.DATASET_FACETS_GET, (dataset_id,)).fetchone()
            held = row["facets"] if row else None
        found = lr.loads(held) if isinstance(held, str) else held
        old = found if found is not None else {}
        new = merge_facets(old, spec.facets)
        if found is None or new != old:   # recorded under the event's own audit entry
            text = lr.dumps(new)
            c.execute(L.DATASET_FACETS_PUT, (dataset_id, text, rows.now()))
            b.facets[dataset_id] = text   # read back (parsed) only if the batch needs it
        else:
            b.facets[dataset_id] = found
    return dataset_id


def ensure_source(c: sqlite3.Connection, spec: DatasetSpec, actor: str, b: Batch) -> str | None:
    """The dataSource facet's source, created (kind platform) when it is new; an existing
    source of that name is used as it is."""
    if spec.source is None:
        return None
    name = spec.source.name
    if name not in b.sources and c.execute(sql.SOURCE_BY_NAME, (name,)).fetchone() is None:
        source_id, stamp = new_id(), rows.now()
        c.execute(sql.SOURCE_INSERT, (source_id, name, SourceKind.PLATFORM.value,
                                      spec.source.url, None,
                                      "Named by OpenLineage dataSource facets", stamp, stamp))
        audit(c, actor, "source.created", "Source", source_id, {"name": name})
    b.sources.add(name)
    return name


def add_version(host: Host, c: sqlite3.Connection, dataset_id: str, spec: DatasetSpec,
                source_name: str | None, actor: str, b: Batch) -> None:
    """A version without objects when the schema (or the version facet) is new: a dataset
    loaded by Peso whose schema matches gets no extra version."""
    if dataset_id in b.latest:
        latest = b.latest[dataset_id]
    else:
        row = c.execute(sql.VERSION_LATEST_OF, (dataset_id,)).fetchone()
        latest = None if row is None else _Latest(row["version"], row["content_hash"], [
            (r[0], r[1], bool(r[2]), r[3]) for r in c.execute(FIELDS_OF_VERSION, (row["id"],))])
        b.latest[dataset_id] = latest
    held = [] if latest is None else latest.fields
    if spec.fields is not None:
        fields = list(spec.fields)
        shape = [(f.name, f.arrow_type) for f in fields]
    else:   # a version facet alone: the fields the latest version has
        fields = [FieldSpec(*h) for h in held]
        shape = [h[:2] for h in held]
    if latest is not None and spec.version is None and shape == [h[:2] for h in held]:
        return   # the schema it has: no new version
    marker = version_marker(shape, spec.version)
    if latest is not None and latest.content_hash == marker:
        return   # the schema and version it has
    item = NewVersion(
        namespace=spec.namespace, name=spec.name, content_hash=marker,
        row_count=spec.row_count or 0, byte_size=spec.byte_size or 0, fields=fields,
        format="openlineage", layer=DatasetLayer.EXTERNAL, source_name=source_name,
        description=spec.description)
    # the dataset was ensured with this description and source just before: the version only
    number = latest.number if latest is not None else 0
    host._insert_version(c, dataset_id, number, item, actor)
    b.latest[dataset_id] = _Latest(number + 1, marker, [
        (f.name, f.arrow_type, bool(f.nullable), f.description) for f in fields])


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
