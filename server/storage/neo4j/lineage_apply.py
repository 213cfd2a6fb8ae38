"""Applying one OpenLineage event on Neo4j, inside the caller's managed write transaction:
the same steps, in the same order, with the same audit events as the SQLite store
(``server/storage/sqlite/lineage_apply.py``); the catalog's own dataset and version
registration (``datasets.ensure_dataset``, ``versions.register_one``) is reused."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    RunRole,
    RunState,
    SourceKind,
)
from server.requestctx import current_request_id
from server.storage.neo4j import cypher, records
from server.storage.neo4j import lineage_cypher as LC
from server.storage.neo4j.base import (
    Tx,
    audit,
    dataset_by_key,
    iso,
    now,
    one,
    rows,
    run,
    single,
)
from server.storage.neo4j.datasets import ensure_dataset
from server.storage.neo4j.versions import register_one


def loads(text: Any) -> dict[str, Any]:
    value = json.loads(text) if isinstance(text, str) and text else {}
    return value if isinstance(value, dict) else {}


def column(r: dict[str, Any]) -> ColumnLineageEdge:
    c = r["c"]
    return ColumnLineageEdge(
        downstream_id=r["downstream_id"], downstream_field=c["downstream_field"],
        upstream_id=r["upstream_id"], upstream_field=c["upstream_field"],
        transformation_type=c.get("transformation_type") or "",
        transformation_subtype=c.get("transformation_subtype") or "",
        description=c.get("description"), masking=bool(c.get("masking")),
        job_id=c.get("job_id"), run_id=c.get("run_id"), created_at=records.ts(c["created_at"]))


@dataclass(frozen=True, slots=True)
class Held:
    """What a batch knows of a dataset the catalog holds (all ``_unchanged`` reads)."""

    id: str
    description: str | None
    deleted: bool


# the timestamps of a queued run row, kept as datetimes while the batch decides on them
# (``run_after``); every other queued timestamp is ISO text (``base.iso``) from the start
_RUN_TIMES = ("state_time", "started_at", "ended_at", "nominal_start", "nominal_end")

# the audit counter BATCH_WRITE appends to (cypher.AUDIT_APPEND's, named in its text)
AUDIT_COUNTER = "audit"


def wire(row: dict[str, Any]) -> dict[str, Any]:
    """A queued run row as BATCH_WRITE takes it: its timestamps as ISO text (``base.iso``)."""
    out = dict(row)
    for k in _RUN_TIMES:
        if out[k] is not None:
            out[k] = iso(out[k])
    return out


class Batch:
    """Events applied in order inside one write transaction, their writes set-wise.

    One read (``LC.BATCH_LOOKUP``) fetches what the events name; each event is then decided
    in Python against that state, kept up to date with the batch's own changes, and its
    writes are queued; ``flush`` writes the queue, one statement per kind, in dependency
    order, the audit trail last in the order the changes were made. What the shared catalog
    code does (registering a new dataset or version, owners, sources, column lineage) reads
    and writes the database itself: the queue is flushed before it, and what it may have
    changed is dropped from the state (read again when named again). So every event sees
    the ones before it, and the result is what one transaction per event gives."""

    def __init__(self, actor: str) -> None:
        self.actor = actor
        self.seen: set[str] = set()
        self.jobs: dict[str, dict[str, Any]] = {}          # by natural key, as stored
        self.runs: dict[str, dict[str, Any]] = {}          # by id, as stored
        self.datasets: dict[tuple[str, str], Held] = {}
        self.absent: set[tuple[str, str]] = set()   # looked up, not in the catalog
        self.io: dict[tuple[str, bool, str], dict[str, Any]] = {}   # (run, input, dataset)
        self.edges: dict[tuple[str, str], dict[str, Any]] = {}
        self.queue: dict[str, list[dict[str, Any]]] = {name: [] for name in _WRITES}
        self.io_rows: dict[tuple[str, bool, str], dict[str, Any]] = {}
        self.job_io: dict[tuple[str, bool, str], dict[str, Any]] = {}
        self.edge_rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.edge_created: set[tuple[str, str]] = set()
        self.audits: list[dict[str, Any]] = []

    async def load(self, tx: Tx, events: Sequence[LineageEvent]) -> None:
        named = {(spec.namespace, spec.name) for ev in events for spec in ev.specs()}
        named.update((k.namespace, k.name) for ev in events for k in ev.other_keys())
        keys = {records.dataset_key(namespace, name) for namespace, name in named}
        found = await single(tx, LC.BATCH_LOOKUP, batch={   # one map: one plan (LC)
            "event_keys": sorted({ev.key for ev in events}),
            "job_keys": sorted({records.dataset_key(ev.job.namespace, ev.job.name)
                                for ev in events if ev.job is not None}),
            "run_ids": sorted({ev.run.run_id for ev in events if ev.run is not None}),
            "keys": sorted(keys)}, read=LC.Rel.READ.value)
        self.seen = set(found["seen"])
        self.jobs = {j["natural_key"]: j for j in found["jobs"]}
        self.runs = {r["id"]: r for r in found["runs"]}
        self.datasets = {(namespace, name): Held(ds_id, description, deleted)
                         for namespace, name, ds_id, description, deleted in found["datasets"]}
        self.absent = named - self.datasets.keys()
        self.io = {(r, bool(is_input), d): loads(f) for r, is_input, d, f in found["io"]}
        self.edges = {(d, u): {"job": job, "job_id": job_id, "run_id": run_id}
                      for d, u, job, job_id, run_id in found["edges"]}

    def audit(self, action: str, kind: str, target: str, detail: dict[str, Any]) -> None:
        self.audits.append({"at": iso(now()), "actor": self.actor, "action": action,
                            "target_kind": kind, "target_id": target,
                            "detail": records.to_json(detail),
                            "request_id": current_request_id()})

    async def flush(self, tx: Tx) -> None:
        self.queue["io"] = list(self.io_rows.values())
        self.queue["job_io"] = list(self.job_io.values())
        self.queue["edges_new"] = [self.edge_rows[k] for k in self.edge_rows
                                   if k in self.edge_created]
        self.queue["edges_set"] = [self.edge_rows[k] for k in self.edge_rows
                                   if k not in self.edge_created]
        if self.audits or any(self.queue.values()):
            batch = {**self.queue, "runs_new": [wire(row) for row in self.queue["runs_new"]],
                     "runs_set": [wire(row) for row in self.queue["runs_set"]],
                     "audits": self.audits}
            await run(tx, LC.BATCH_WRITE, batch=batch, audit_counter=AUDIT_COUNTER)
            self.queue = {name: [] for name in _WRITES}
            self.audits = []
        self.io_rows, self.job_io, self.edge_rows = {}, {}, {}
        self.edge_created = set()

    # --- one event ---------------------------------------------------------------------
    async def apply(self, tx: Tx, ev: LineageEvent) -> IngestResult:
        if ev.key in self.seen:
            return IngestResult(created=False, key=ev.key)
        job_id = self.ensure_job(ev.job) if ev.job is not None else None
        run_id = None
        if ev.run is not None and job_id is not None:
            run_id = self.ensure_run(ev.run, job_id, ev.event_time)
        ids: dict[DatasetKey, str] = {}
        for spec in ev.specs():
            ids[spec.key] = await self.ensure_spec(tx, spec)
        for key in ev.other_keys():
            ids[key] = await self.ensure_bare(tx, key)
        for role, specs in ((RunRole.INPUT, ev.inputs), (RunRole.OUTPUT, ev.outputs)):
            for spec in specs:
                at = (role is RunRole.INPUT, ids[spec.key])
                if run_id is not None:
                    merged = {**self.io.get((run_id, *at), {}), **spec.io_facets}
                    self.io[(run_id, *at)] = merged
                    self.io_rows[(run_id, *at)] = {"run_id": run_id, "input": at[0],
                                                   "dataset_id": at[1],
                                                   "facets": records.to_json(merged)}
                if job_id is not None:
                    self.job_io[(job_id, *at)] = {"job_id": job_id, "input": at[0],
                                                  "dataset_id": at[1]}
        label = ev.job.name if ev.job is not None else None
        for down_key, up_key in ev.edges:
            self.put_edge(ids[down_key], ids[up_key], str(up_key), label, job_id, run_id)
        if ev.column_lineage:
            await self.flush(tx)   # put_column reads what the catalog holds
            changed: dict[str, int] = {}
            for col in ev.column_lineage:
                down, up = ids[col.downstream], ids[col.upstream]
                if (down, col.downstream_field) != (up, col.upstream_field) and \
                        await put_column(tx, down, col, up, job_id, run_id):
                    changed[down] = changed.get(down, 0) + 1
            for dataset_id, count in changed.items():
                self.audit("column_lineage.added", "Dataset", dataset_id, {"fields": count})
        self.queue["events"].append({
            "key": ev.key, "kind": ev.kind.value, "event_type": ev.event_type,
            "event_time": iso(ev.event_time), "job_id": job_id, "run_id": run_id,
            "producer": ev.producer, "now": iso(now()), "payload": records.to_json(ev.payload)})
        self.seen.add(ev.key)
        target_kind, target = (("Run", run_id) if run_id else ("Job", job_id) if job_id
                               else ("Dataset", next(iter(ids.values()), "")))
        self.audit("openlineage.event", target_kind, target or "", {
            "eventType": ev.event_type, "kind": ev.kind.value,
            "eventTime": ev.event_time.isoformat(timespec="microseconds"),
            "producer": ev.producer, "datasets": len(ids),
            "job": f"{ev.job.namespace}/{ev.job.name}" if ev.job else None})
        return IngestResult(created=True, key=ev.key, job_id=job_id, run_id=run_id,
                            dataset_ids=list(dict.fromkeys(ids.values())))

    def ensure_job(self, spec: JobSpec) -> str:
        natural_key = records.dataset_key(spec.namespace, spec.name)
        old = self.jobs.get(natural_key)
        stamp = iso(now())
        if old is None:
            job_id = new_id()
            row = {"id": job_id, "natural_key": natural_key, "namespace": spec.namespace,
                   "name": spec.name, "description": spec.description,
                   "facets": records.to_json(merge_facets({}, spec.facets)), "now": stamp}
            self.queue["jobs_new"].append(row)
            self.jobs[natural_key] = row
            self.audit("job.created", "Job", job_id,
                       {"namespace": spec.namespace, "name": spec.name})
            return job_id
        held = loads(old.get("facets"))
        facets = merge_facets(held, spec.facets)
        description = spec.description if spec.description is not None \
            else old.get("description")
        if (facets, description) != (held, old.get("description")):
            row = {"id": old["id"], "description": description,
                   "facets": records.to_json(facets), "now": stamp}
            self.queue["jobs_set"].append(row)
            self.jobs[natural_key] = {**old, **row}
            self.audit("job.updated", "Job", old["id"],
                       {"namespace": spec.namespace, "name": spec.name})
        return str(old["id"])

    def ensure_run(self, spec: RunSpec, job_id: str, at: datetime) -> str:
        old = self.runs.get(spec.run_id)
        state = spec.state
        if old is None:
            row = {"id": spec.run_id, "job_id": job_id, "state": state.value,
                   "state_time": at,
                   "started_at": at if state in (RunState.START, RunState.RUNNING) else None,
                   "ended_at": at if state.terminal else None,
                   "error_message": spec.error_message, "nominal_start": spec.nominal_start,
                   "nominal_end": spec.nominal_end, "parent_run_id": spec.parent_run_id,
                   "facets": records.to_json(merge_facets({}, spec.facets)),
                   "now": iso(now())}
            self.queue["runs_new"].append(row)
            self.runs[spec.run_id] = row
            self.audit("run.created", "Run", spec.run_id, {"job": job_id, "state": state.value})
            return spec.run_id
        after = run_after(spec, job_id, at, old)
        if after is not None:
            row = {"id": spec.run_id, **after, "now": iso(now())}
            self.queue["runs_set"].append(row)
            self.runs[spec.run_id] = {**old, **row}
            self.audit("run.updated", "Run", spec.run_id, {"state": after["state"]})
        return spec.run_id

    async def ensure_spec(self, tx: Tx, spec: DatasetSpec) -> str:
        held = self.datasets.get((spec.namespace, spec.name))
        if _unchanged(spec, held):
            assert held is not None
            return held.id
        if (spec.namespace, spec.name) in self.absent and _bare(spec):
            return self.new_dataset(spec.namespace, spec.name, spec.description)
        await self.flush(tx)
        self.forget(spec.namespace, spec.name)
        return await ensure_spec(tx, spec, self.actor)

    async def ensure_bare(self, tx: Tx, key: DatasetKey) -> str:
        held = self.datasets.get((key.namespace, key.name))
        if _unchanged(None, held):
            assert held is not None
            return held.id
        if (key.namespace, key.name) in self.absent:
            return self.new_dataset(key.namespace, key.name, None)
        await self.flush(tx)
        self.forget(key.namespace, key.name)
        return await ensure_dataset(tx, key.namespace, key.name, DatasetLayer.EXTERNAL, None,
                                    None, self.actor)

    def forget(self, namespace: str, name: str) -> None:
        """The shared catalog code is about to change the dataset: no longer known as it was."""
        self.datasets.pop((namespace, name), None)
        self.absent.discard((namespace, name))

    def new_dataset(self, namespace: str, name: str, description: str | None) -> str:
        """Queue what ``ensure_dataset`` writes for a dataset the catalog does not hold (and
        ``reindex`` after it): the node, its search text, an embedding ticket, the audit."""
        dataset_id = new_id()
        layer = DatasetLayer.EXTERNAL.value
        self.queue["datasets_new"].append({
            "id": dataset_id, "natural_key": records.dataset_key(namespace, name),
            "namespace": namespace, "name": name, "layer": layer, "description": description,
            "now": iso(now()), "search_namespace": records.search_text(namespace),
            "search_name": records.search_text(name),
            "search_description": records.search_text(description),
            "search_tags": records.search_text(), "search_fields": records.search_text()})
        self.audit("dataset.registered", "Dataset", dataset_id,
                   {"namespace": namespace, "name": name, "layer": layer})
        self.absent.discard((namespace, name))
        self.datasets[(namespace, name)] = Held(dataset_id, description, False)
        return dataset_id

    def put_edge(self, down: str, up: str, up_name: str, label: str | None,
                 job_id: str | None, run_id: str | None) -> None:
        if down == up:
            return
        before = self.edges.get((down, up))
        if before is None:
            after = {"job": label, "job_id": job_id, "run_id": run_id}
            self.edge_created.add((down, up))
        elif (before["job"], before["job_id"]) != (label, job_id):
            after = {"job": label, "job_id": job_id, "run_id": run_id or before["run_id"]}
        elif run_id is not None and before["run_id"] != run_id:
            after = {"job": label, "job_id": job_id, "run_id": run_id}
            self.edges[(down, up)] = after
            self._queue_edge(down, up, after)
            return   # only the run moved on: no audit event
        else:
            return
        self.edges[(down, up)] = after
        self._queue_edge(down, up, after)
        self.audit("lineage.added", "Dataset", down,
                   {"upstream": up_name, "job": label, "run": run_id})


    def _queue_edge(self, down: str, up: str, after: dict[str, Any]) -> None:
        """The edge's final properties in the queue (created: stamped when first queued)."""
        self.edge_rows[(down, up)] = {"now": iso(now()), **self.edge_rows.get((down, up), {}),
                                      "down": down, "up": up, **after}

# The batch statements with parameters of the types a batch passes (a map, strings), which
# ``LineageMixin.open`` has the server plan and cache (EXPLAIN: nothing runs). Planning
# BATCH_WRITE takes ~1 s and BATCH_LOOKUP ~0.4 s (measured on 5.26): left to the first batch
# after Neo4j starts, they stall it that long. Once cached, an EXPLAIN is a plan-cache hit
# (a few ms for each store opened). The map's contents are not part of the cache key (LC).
PLANNED_AHEAD: tuple[tuple[str, dict[str, Any]], ...] = (
    (LC.BATCH_LOOKUP, {"batch": {}, "read": LC.Rel.READ.value}),
    (LC.BATCH_WRITE, {"batch": {}, "audit_counter": AUDIT_COUNTER}),
)

# the queued writes of a Batch (LC.BATCH_WRITE's lists, written in this order)
_WRITES = ("datasets_new", "jobs_new", "jobs_set", "runs_new", "runs_set", "io", "job_io",
           "edges_new", "edges_set", "events")


async def apply_events(tx: Tx, events: Sequence[LineageEvent], actor: str
                       ) -> list[IngestResult]:
    """Apply ``events`` in order inside the caller's write transaction (``Batch``)."""
    batch = Batch(actor)
    await batch.load(tx, events)
    results = [await batch.apply(tx, ev) for ev in events]
    await batch.flush(tx)
    return results


async def apply_event(tx: Tx, ev: LineageEvent, actor: str) -> IngestResult:
    [result] = await apply_events(tx, [ev], actor)
    return result


def _unchanged(spec: DatasetSpec | None, held: Held | None) -> bool:
    """True when ``ensure_spec`` (a bare dataset when ``spec`` is None) would write nothing
    for a dataset the catalog ``held``."""
    if held is None or held.deleted:
        return False
    if spec is None:
        return True
    return (spec.source is None and spec.fields is None and spec.version is None
            and not spec.owners and not spec.facets
            and (spec.description is None or spec.description == held.description))


def _bare(spec: DatasetSpec) -> bool:
    """True when all ``ensure_spec`` writes for ``spec`` is what ``ensure_dataset`` writes
    (no source, schema, version, owners or facets to add)."""
    return (spec.source is None and spec.fields is None and spec.version is None
            and not spec.owners and not spec.facets)


def run_after(spec: RunSpec, job_id: str, at: datetime, r: dict[str, Any]
              ) -> dict[str, Any] | None:
    """What an event makes of a run the catalog holds (``r``): its new properties, or None
    when nothing changes. The state only moves forward in event time; OTHER never changes
    it. ConflictError for a run of another job."""
    if r["job_id"] != job_id:
        raise ConflictError(f"run {spec.run_id} belongs to another job; a runId names one "
                            "run of one job", field="run.runId")
    state = spec.state
    current = RunState(r["state"])
    held_time = records.ts(r["state_time"])
    held_started = records.ts_or_none(r.get("started_at"))
    held_ended = records.ts_or_none(r.get("ended_at"))
    held_nominal_start = records.ts_or_none(r.get("nominal_start"))
    held_nominal_end = records.ts_or_none(r.get("nominal_end"))
    held_facets = loads(r.get("facets"))
    state_time, started, ended = held_time, held_started, held_ended
    new_state = current
    if state is not RunState.OTHER and (current is RunState.OTHER or at >= state_time):
        new_state, state_time = state, at
    if (state is RunState.START and (started is None or at < started)) or (
            state is RunState.RUNNING and started is None):
        started = at
    if state.terminal and new_state is state:
        ended = at
    facets = merge_facets(held_facets, spec.facets)
    after = {"state": new_state.value, "state_time": state_time, "started_at": started,
             "ended_at": ended, "error_message": spec.error_message or r.get("error_message"),
             "nominal_start": spec.nominal_start or held_nominal_start,
             "nominal_end": spec.nominal_end or held_nominal_end,
             "parent_run_id": spec.parent_run_id or r.get("parent_run_id"),
             "facets": records.to_json(facets)}
    before = {"state": r["state"], "state_time": held_time, "started_at": held_started,
              "ended_at": held_ended, "error_message": r.get("error_message"),
              "nominal_start": held_nominal_start, "nominal_end": held_nominal_end,
              "parent_run_id": r.get("parent_run_id"), "facets": records.to_json(held_facets)}
    return after if after != before else None


async def ensure_spec(tx: Tx, spec: DatasetSpec, actor: str) -> str:
    source_name = None
    if spec.source is not None:
        source_name = spec.source.name
        if await one(tx, cypher.SOURCE_BY_NAME, name=source_name) is None:
            source_id = new_id()
            await run(tx, cypher.SOURCE_CREATE, id=source_id, name=source_name,
                      kind=SourceKind.PLATFORM.value, url=spec.source.url, license=None,
                      description="Named by OpenLineage dataSource facets", now=iso(now()))
            await audit(tx, actor, "source.created", "Source", source_id, {"name": source_name})
    dataset_id = await ensure_dataset(tx, spec.namespace, spec.name, DatasetLayer.EXTERNAL,
                                      spec.description, source_name, actor)
    if spec.fields is not None or spec.version is not None:
        await add_version(tx, dataset_id, spec, source_name, actor)
    for owner in spec.owners:
        before = await one(tx, cypher.OWNER_GET, id=dataset_id, name=owner.name)
        if before is None or (before["kind"], before["email"]) != (owner.kind.value,
                                                                   owner.email):
            await run(tx, cypher.OWNER_UPSERT, id=dataset_id, name=owner.name,
                      kind=owner.kind.value, email=owner.email)
            await audit(tx, actor, "owner.added", "Dataset", dataset_id,
                        {"owner": owner.name, "kind": owner.kind.value})
    if spec.facets:
        found = await one(tx, LC.DATASET_FACETS_GET, id=dataset_id)
        old = loads(found["facets"] if found else None)
        new = merge_facets(old, spec.facets)
        if found is None or found["facets"] is None or new != old:
            await run(tx, LC.DATASET_FACETS_SET, id=dataset_id, facets=records.to_json(new),
                      now=iso(now()))
    return dataset_id


async def add_version(tx: Tx, dataset_id: str, spec: DatasetSpec, source_name: str | None,
                      actor: str) -> None:
    found = await one(tx, cypher.VERSION_LATEST_OF, id=dataset_id)
    latest = found["v"] if found else None
    held = [] if latest is None else [
        FieldSpec(r["name"], r["arrow_type"], bool(r["nullable"]), r["description"])
        for r in await rows(tx, LC.VERSION_FIELDS, id=latest["id"])]
    fields = list(spec.fields) if spec.fields is not None else held
    shape = [(f.name, f.arrow_type) for f in fields]
    marker = version_marker(shape, spec.version)
    if latest is not None and shape == [(f.name, f.arrow_type) for f in held] and (
            spec.version is None or latest["content_hash"] == marker):
        return
    await register_one(tx, NewVersion(
        namespace=spec.namespace, name=spec.name, content_hash=marker,
        row_count=spec.row_count or 0, byte_size=spec.byte_size or 0, fields=fields,
        format="openlineage", layer=DatasetLayer.EXTERNAL, source_name=source_name,
        description=spec.description), actor)


async def put_column(tx: Tx, down: str, spec: ColumnLineageSpec, up: str, job_id: str | None,
                     run_id: str | None) -> bool:
    ident = {"down": down, "up": up, "down_field": spec.downstream_field,
             "up_field": spec.upstream_field, "ttype": spec.transformation_type,
             "tsubtype": spec.transformation_subtype}
    found = await one(tx, LC.COLUMN_GET, **ident)
    if found is None:
        await run(tx, LC.COLUMN_CREATE, **ident, description=spec.description,
                  masking=spec.masking, job_id=job_id, run_id=run_id, now=iso(now()))
        return True
    c = found["c"]
    meaning = (spec.description, spec.masking)
    origin = (job_id or c.get("job_id"), run_id or c.get("run_id"))
    if meaning != (c.get("description"), bool(c.get("masking"))) \
            or origin != (c.get("job_id"), c.get("run_id")):
        await run(tx, LC.COLUMN_UPDATE, **ident, description=meaning[0], masking=meaning[1],
                  job_id=origin[0], run_id=origin[1])
    return meaning != (c.get("description"), bool(c.get("masking")))


async def put_column_lineage(tx: Tx, spec: ColumnLineageSpec, actor: str) -> ColumnLineageEdge:
    ids = {}
    for key in (spec.downstream, spec.upstream):
        ds = await dataset_by_key(tx, key)
        if ds is None or ds.deleted_at is not None:
            raise NotFoundError(f"dataset {key} does not exist")
        ids[key] = ds.id
    down, up = ids[spec.downstream], ids[spec.upstream]
    if (down, spec.downstream_field) == (up, spec.upstream_field):
        raise ConflictError(f"field {spec.downstream_field!r} of {spec.downstream} cannot be "
                            "derived from itself")
    if await put_column(tx, down, spec, up, None, None):
        await audit(tx, actor, "column_lineage.added", "Dataset", down,
                    {"field": spec.downstream_field, "upstream": str(spec.upstream),
                     "upstreamField": spec.upstream_field})
    found = await one(tx, LC.COLUMN_GET, down=down, up=up, down_field=spec.downstream_field,
                      up_field=spec.upstream_field, ttype=spec.transformation_type,
                      tsubtype=spec.transformation_subtype)
    assert found is not None
    return column(found)
