"""Applying one OpenLineage event on Neo4j, inside the caller's managed write transaction:
the same steps, in the same order, with the same audit events as the SQLite store
(``server/storage/sqlite/lineage_apply.py``); the catalog's own dataset and version
registration (``datasets.ensure_dataset``, ``versions.register_one``) is reused."""

from __future__ import annotations

import json
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
    Dataset,
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
from server.storage.neo4j.base import Tx, audit, dataset_by_key, now, one, rows, run
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


class Audits:
    """Audit events of one event's application, written together (``cypher.AUDIT_APPEND_MANY``)
    in the order they were added. Anything that writes its own audit event (the catalog's
    ``ensure_dataset``, ``register_one``, …) runs after ``flush``, so the trail keeps the
    order of one ``audit`` call per change."""

    def __init__(self, actor: str) -> None:
        self.actor = actor
        self.pending: list[dict[str, Any]] = []

    def add(self, action: str, kind: str, target: str, detail: dict[str, Any]) -> None:
        self.pending.append({"at": now(), "actor": self.actor, "action": action,
                             "target_kind": kind, "target_id": target,
                             "detail": records.to_json(detail),
                             "request_id": current_request_id()})

    async def flush(self, tx: Tx) -> None:
        if self.pending:
            await run(tx, cypher.AUDIT_APPEND_MANY, events=self.pending)
            self.pending = []


async def apply_event(tx: Tx, ev: LineageEvent, actor: str) -> IngestResult:
    """The steps of the SQLite store's ``apply_event``, in few round trips: one read of what
    the event names (``LC.EVENT_LOOKUP``), set-wise writes of the run's inputs and outputs
    and of the edges, the audit trail in one statement; a dataset that exists and that the
    event does not change costs nothing more."""
    keys = [*(spec.key for spec in ev.specs()), *ev.other_keys()]
    known = await one(tx, LC.EVENT_LOOKUP, key=ev.key,
                      job_key=records.dataset_key(ev.job.namespace, ev.job.name)
                      if ev.job is not None else None,
                      run_id=ev.run.run_id if ev.run is not None else None,
                      keys=sorted({records.dataset_key(k.namespace, k.name) for k in keys}))
    assert known is not None   # EVENT_LOOKUP always returns its row
    if known["seen"]:
        return IngestResult(created=False, key=ev.key)
    audits = Audits(actor)
    job_id = await _ensure_job(tx, ev.job, known["j"], audits) if ev.job is not None else None
    run_id, new_run = None, False
    if ev.run is not None and job_id is not None:
        new_run = known["r"] is None
        run_id = await _ensure_run(tx, ev.run, job_id, ev.event_time, known["r"], audits)
    held = {(d["namespace"], d["name"]): records.dataset(d) for d in known["datasets"]}
    ids: dict[DatasetKey, str] = {}
    for spec in ev.specs():
        ids[spec.key] = await _ensure_spec(tx, spec, held, audits, actor)
    for key in ev.other_keys():
        ids[key] = await _ensure_bare(tx, key, held, audits, actor)
    await _put_io(tx, ev, ids, job_id, run_id, new_run)
    label = ev.job.name if ev.job is not None else None
    await _put_edges(tx, ev, ids, label, job_id, run_id, audits)
    changed: dict[str, int] = {}
    for col in ev.column_lineage:
        down, up = ids[col.downstream], ids[col.upstream]
        if (down, col.downstream_field) != (up, col.upstream_field) and \
                await put_column(tx, down, col, up, job_id, run_id):
            changed[down] = changed.get(down, 0) + 1
    for dataset_id, count in changed.items():
        audits.add("column_lineage.added", "Dataset", dataset_id, {"fields": count})
    await run(tx, LC.EVENT_CREATE, key=ev.key, kind=ev.kind.value, event_type=ev.event_type,
              event_time=ev.event_time, job_id=job_id, run_id=run_id, producer=ev.producer,
              now=now(), payload=records.to_json(ev.payload))
    target_kind, target = (("Run", run_id) if run_id else ("Job", job_id) if job_id
                           else ("Dataset", next(iter(ids.values()), "")))
    audits.add("openlineage.event", target_kind, target or "", {
        "eventType": ev.event_type, "kind": ev.kind.value,
        "eventTime": ev.event_time.isoformat(timespec="microseconds"),
        "producer": ev.producer, "datasets": len(ids),
        "job": f"{ev.job.namespace}/{ev.job.name}" if ev.job else None})
    await audits.flush(tx)
    return IngestResult(created=True, key=ev.key, job_id=job_id, run_id=run_id,
                        dataset_ids=list(dict.fromkeys(ids.values())))


async def _ensure_job(tx: Tx, spec: JobSpec, found: dict[str, Any] | None,
                      audits: Audits) -> str:
    """``ensure_job`` given what EVENT_LOOKUP found."""
    if found is None:
        job_id = new_id()
        await run(tx, LC.JOB_CREATE, id=job_id,
                  natural_key=records.dataset_key(spec.namespace, spec.name),
                  namespace=spec.namespace, name=spec.name, description=spec.description,
                  facets=records.to_json(merge_facets({}, spec.facets)), now=now())
        audits.add("job.created", "Job", job_id,
                   {"namespace": spec.namespace, "name": spec.name})
        return job_id
    facets = merge_facets(loads(found.get("facets")), spec.facets)
    description = spec.description if spec.description is not None \
        else found.get("description")
    if (facets, description) != (loads(found.get("facets")), found.get("description")):
        await run(tx, LC.JOB_UPDATE, id=found["id"], description=description,
                  facets=records.to_json(facets), now=now())
        audits.add("job.updated", "Job", found["id"],
                   {"namespace": spec.namespace, "name": spec.name})
    return str(found["id"])


async def _ensure_run(tx: Tx, spec: RunSpec, job_id: str, at: datetime,
                      found: dict[str, Any] | None, audits: Audits) -> str:
    """``ensure_run`` given what EVENT_LOOKUP found."""
    state = spec.state
    if found is None:
        await run(tx, LC.RUN_CREATE, id=spec.run_id, job_id=job_id, state=state.value,
                  state_time=at,
                  started_at=at if state in (RunState.START, RunState.RUNNING) else None,
                  ended_at=at if state.terminal else None, error_message=spec.error_message,
                  nominal_start=spec.nominal_start, nominal_end=spec.nominal_end,
                  parent_run_id=spec.parent_run_id,
                  facets=records.to_json(merge_facets({}, spec.facets)), now=now())
        audits.add("run.created", "Run", spec.run_id, {"job": job_id, "state": state.value})
        return spec.run_id
    after = run_after(spec, job_id, at, found)
    if after is not None:
        await run(tx, LC.RUN_UPDATE, id=spec.run_id, **after, now=now())
        audits.add("run.updated", "Run", spec.run_id, {"state": after["state"]})
    return spec.run_id


def _unchanged(spec: DatasetSpec | None, held: Dataset | None) -> bool:
    """True when ``ensure_spec`` (a bare dataset when ``spec`` is None) would write nothing
    for a dataset the catalog ``held`` at the event's start."""
    if held is None or held.deleted_at is not None:
        return False
    if spec is None:
        return True
    return (spec.source is None and spec.fields is None and spec.version is None
            and not spec.owners and not spec.facets
            and (spec.description is None or spec.description == held.description))


async def _ensure_spec(tx: Tx, spec: DatasetSpec, held: dict[tuple[str, str], Dataset],
                       audits: Audits, actor: str) -> str:
    found = held.get((spec.namespace, spec.name))
    if _unchanged(spec, found):
        assert found is not None
        return found.id
    await audits.flush(tx)
    held.pop((spec.namespace, spec.name), None)   # what it held may no longer be so
    return await ensure_spec(tx, spec, actor)


async def _ensure_bare(tx: Tx, key: DatasetKey, held: dict[tuple[str, str], Dataset],
                       audits: Audits, actor: str) -> str:
    found = held.get((key.namespace, key.name))
    if _unchanged(None, found):
        assert found is not None
        return found.id
    await audits.flush(tx)
    held.pop((key.namespace, key.name), None)
    return await ensure_dataset(tx, key.namespace, key.name, DatasetLayer.EXTERNAL, None, None,
                                actor)


async def _put_io(tx: Tx, ev: LineageEvent, ids: dict[DatasetKey, str], job_id: str | None,
                  run_id: str | None, new_run: bool) -> None:
    """The run's inputs and outputs (facets merged over what it had) and the job's, in two
    statements at most; a run this event created had none."""
    if job_id is None and run_id is None:
        return
    touched = [(role, spec) for role, specs in ((RunRole.INPUT, ev.inputs),
                                                (RunRole.OUTPUT, ev.outputs))
               for spec in specs]
    if not touched:
        return
    facets: dict[tuple[bool, str], dict[str, Any]] = {}
    if run_id is not None and not new_run:
        for r in await rows(tx, LC.RUN_IO_OF, run_id=run_id,
                            ids=sorted({ids[spec.key] for _, spec in touched})):
            facets[(r["rel"] == LC.Rel.READ.value, r["dataset_id"])] = loads(r["facets"])
    merged: dict[tuple[bool, str], dict[str, Any]] = {}
    for role, spec in touched:
        at = (role is RunRole.INPUT, ids[spec.key])
        merged[at] = {**merged.get(at, facets.get(at, {})), **spec.io_facets}
    await run(tx, LC.RUN_IO_SET, run_id=run_id, job_id=job_id, rows=[
        {"dataset_id": dataset_id, "input": is_input, "facets": records.to_json(value)}
        for (is_input, dataset_id), value in merged.items()])


async def _put_edges(tx: Tx, ev: LineageEvent, ids: dict[DatasetKey, str],
                     label: str | None, job_id: str | None, run_id: str | None,
                     audits: Audits) -> None:
    """``put_edge`` for every edge of the event: one read, then its creations and its
    updates as one statement each."""
    pairs = [(ids[d], ids[u], str(u)) for d, u in ev.edges if ids[d] != ids[u]]
    if not pairs:
        return
    state: dict[tuple[str, str], dict[str, Any]] = {
        (r["down"], r["up"]): r for r in await rows(
            tx, LC.EDGES_OF_PAIRS, pairs=[[d, u] for d, u, _ in pairs])}
    created: dict[tuple[str, str], dict[str, Any]] = {}
    updated: dict[tuple[str, str], dict[str, Any]] = {}
    for down, up, up_name in pairs:
        before = state.get((down, up))
        if before is None:
            after = {"down": down, "up": up, "job": label, "job_id": job_id, "run_id": run_id}
            created[(down, up)] = state[(down, up)] = after
        elif (before["job"], before["job_id"]) != (label, job_id) or (
                run_id is not None and before["run_id"] != run_id):
            after = {"down": down, "up": up, "job": label, "job_id": job_id,
                     "run_id": run_id or before["run_id"]}
            (created if (down, up) in created else updated)[(down, up)] = after
            state[(down, up)] = after
            if (before["job"], before["job_id"]) == (label, job_id):
                continue   # only the run moved on: no audit event
        else:
            continue
        audits.add("lineage.added", "Dataset", down,
                   {"upstream": up_name, "job": label, "run": run_id})
    if created:
        await run(tx, LC.EDGES_CREATE, rows=list(created.values()), now=now())
    if updated:
        await run(tx, LC.EDGES_SET_JOB, rows=list(updated.values()))


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
    state_time = records.ts(r["state_time"])
    started = records.ts_or_none(r.get("started_at"))
    ended = records.ts_or_none(r.get("ended_at"))
    new_state = current
    if state is not RunState.OTHER and (current is RunState.OTHER or at >= state_time):
        new_state, state_time = state, at
    if (state is RunState.START and (started is None or at < started)) or (
            state is RunState.RUNNING and started is None):
        started = at
    if state.terminal and new_state is state:
        ended = at
    facets = merge_facets(loads(r.get("facets")), spec.facets)
    after = {"state": new_state.value, "state_time": state_time, "started_at": started,
             "ended_at": ended, "error_message": spec.error_message or r.get("error_message"),
             "nominal_start": spec.nominal_start or records.ts_or_none(r.get("nominal_start")),
             "nominal_end": spec.nominal_end or records.ts_or_none(r.get("nominal_end")),
             "parent_run_id": spec.parent_run_id or r.get("parent_run_id"),
             "facets": records.to_json(facets)}
    before = {"state": r["state"], "state_time": records.ts(r["state_time"]),
              "started_at": records.ts_or_none(r.get("started_at")),
              "ended_at": records.ts_or_none(r.get("ended_at")),
              "error_message": r.get("error_message"),
              "nominal_start": records.ts_or_none(r.get("nominal_start")),
              "nominal_end": records.ts_or_none(r.get("nominal_end")),
              "parent_run_id": r.get("parent_run_id"),
              "facets": records.to_json(loads(r.get("facets")))}
    return after if after != before else None


async def ensure_spec(tx: Tx, spec: DatasetSpec, actor: str) -> str:
    source_name = None
    if spec.source is not None:
        source_name = spec.source.name
        if await one(tx, cypher.SOURCE_BY_NAME, name=source_name) is None:
            source_id = new_id()
            await run(tx, cypher.SOURCE_CREATE, id=source_id, name=source_name,
                      kind=SourceKind.PLATFORM.value, url=spec.source.url, license=None,
                      description="Named by OpenLineage dataSource facets", now=now())
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
                      now=now())
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
                  masking=spec.masking, job_id=job_id, run_id=run_id, now=now())
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
