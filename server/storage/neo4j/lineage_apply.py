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
    DatasetKey,
    DatasetLayer,
    FieldSpec,
    NewVersion,
    RunRole,
    RunState,
    SourceKind,
)
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


async def apply_event(tx: Tx, ev: LineageEvent, actor: str) -> IngestResult:
    if await one(tx, LC.EVENT_EXISTS, key=ev.key) is not None:
        return IngestResult(created=False, key=ev.key)
    job_id = await ensure_job(tx, ev.job, actor) if ev.job is not None else None
    run_id = None
    if ev.run is not None and job_id is not None:
        run_id = await ensure_run(tx, ev.run, job_id, ev.event_time, actor)
    ids: dict[DatasetKey, str] = {}
    for spec in ev.specs():
        ids[spec.key] = await ensure_spec(tx, spec, actor)
    for key in ev.other_keys():
        ids[key] = await ensure_dataset(tx, key.namespace, key.name, DatasetLayer.EXTERNAL,
                                        None, None, actor)
    for role, specs in ((RunRole.INPUT, ev.inputs), (RunRole.OUTPUT, ev.outputs)):
        for spec in specs:
            if run_id is not None:
                await put_run_dataset(tx, run_id, ids[spec.key], role, spec.io_facets)
            if job_id is not None:
                await run(tx, LC.JOB_READS_ADD if role is RunRole.INPUT else LC.JOB_WRITES_ADD,
                          job_id=job_id, dataset_id=ids[spec.key])
    label = ev.job.name if ev.job is not None else None
    for down_key, up_key in ev.edges:
        await put_edge(tx, ids[down_key], ids[up_key], str(up_key), label, job_id, run_id,
                       actor)
    changed: dict[str, int] = {}
    for col in ev.column_lineage:
        down, up = ids[col.downstream], ids[col.upstream]
        if (down, col.downstream_field) != (up, col.upstream_field) and \
                await put_column(tx, down, col, up, job_id, run_id):
            changed[down] = changed.get(down, 0) + 1
    for dataset_id, count in changed.items():
        await audit(tx, actor, "column_lineage.added", "Dataset", dataset_id,
                    {"fields": count})
    await run(tx, LC.EVENT_CREATE, key=ev.key, kind=ev.kind.value, event_type=ev.event_type,
              event_time=ev.event_time, job_id=job_id, run_id=run_id, producer=ev.producer,
              now=now(), payload=records.to_json(ev.payload))
    target_kind, target = (("Run", run_id) if run_id else ("Job", job_id) if job_id
                           else ("Dataset", next(iter(ids.values()), "")))
    await audit(tx, actor, "openlineage.event", target_kind, target or "", {
        "eventType": ev.event_type, "kind": ev.kind.value,
        "eventTime": ev.event_time.isoformat(timespec="microseconds"),
        "producer": ev.producer, "datasets": len(ids),
        "job": f"{ev.job.namespace}/{ev.job.name}" if ev.job else None})
    return IngestResult(created=True, key=ev.key, job_id=job_id, run_id=run_id,
                        dataset_ids=list(dict.fromkeys(ids.values())))


async def ensure_job(tx: Tx, spec: JobSpec, actor: str) -> str:
    natural_key = records.dataset_key(spec.namespace, spec.name)
    found = await one(tx, LC.JOB_BY_KEY, natural_key=natural_key)
    if found is None:
        job_id = new_id()
        await run(tx, LC.JOB_CREATE, id=job_id, natural_key=natural_key,
                  namespace=spec.namespace, name=spec.name, description=spec.description,
                  facets=records.to_json(merge_facets({}, spec.facets)), now=now())
        await audit(tx, actor, "job.created", "Job", job_id,
                    {"namespace": spec.namespace, "name": spec.name})
        return job_id
    old = found["j"]
    facets = merge_facets(loads(old.get("facets")), spec.facets)
    description = spec.description if spec.description is not None else old.get("description")
    if (facets, description) != (loads(old.get("facets")), old.get("description")):
        await run(tx, LC.JOB_UPDATE, id=old["id"], description=description,
                  facets=records.to_json(facets), now=now())
        await audit(tx, actor, "job.updated", "Job", old["id"],
                    {"namespace": spec.namespace, "name": spec.name})
    return str(old["id"])


async def ensure_run(tx: Tx, spec: RunSpec, job_id: str, at: datetime, actor: str) -> str:
    found = await one(tx, LC.RUN_BY_ID, id=spec.run_id)
    state = spec.state
    if found is None:
        await run(tx, LC.RUN_CREATE, id=spec.run_id, job_id=job_id, state=state.value,
                  state_time=at,
                  started_at=at if state in (RunState.START, RunState.RUNNING) else None,
                  ended_at=at if state.terminal else None, error_message=spec.error_message,
                  nominal_start=spec.nominal_start, nominal_end=spec.nominal_end,
                  parent_run_id=spec.parent_run_id,
                  facets=records.to_json(merge_facets({}, spec.facets)), now=now())
        await audit(tx, actor, "run.created", "Run", spec.run_id,
                    {"job": job_id, "state": state.value})
        return spec.run_id
    r = found["r"]
    if r["job_id"] != job_id:
        raise ConflictError(f"run {spec.run_id} belongs to another job; a runId names one "
                            "run of one job", field="run.runId")
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
    if after != before:
        await run(tx, LC.RUN_UPDATE, id=spec.run_id, **after, now=now())
        await audit(tx, actor, "run.updated", "Run", spec.run_id, {"state": new_state.value})
    return spec.run_id


async def put_run_dataset(tx: Tx, run_id: str, dataset_id: str, role: RunRole,
                          facets: dict[str, Any]) -> None:
    rel = LC.Rel.READ if role is RunRole.INPUT else LC.Rel.WROTE
    found = await one(tx, LC.RUN_DATASET_FACETS, run_id=run_id, dataset_id=dataset_id,
                      rel=rel.value)
    merged = {**loads(found["facets"] if found else None), **facets}
    await run(tx, LC.RUN_READ_SET if role is RunRole.INPUT else LC.RUN_WROTE_SET,
              run_id=run_id, dataset_id=dataset_id, facets=records.to_json(merged))


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


async def put_edge(tx: Tx, down_id: str, up_id: str, up_name: str, label: str | None,
                   job_id: str | None, run_id: str | None, actor: str) -> None:
    if down_id == up_id:
        return
    before = await one(tx, LC.EDGE_GET, down=down_id, up=up_id)
    if before is None:
        await run(tx, LC.EDGE_CREATE, down=down_id, up=up_id, job=label, job_id=job_id,
                  run_id=run_id, now=now())
        await audit(tx, actor, "lineage.added", "Dataset", down_id,
                    {"upstream": up_name, "job": label, "run": run_id})
    elif (before["job"], before["job_id"]) != (label, job_id):
        await run(tx, LC.EDGE_SET_JOB, down=down_id, up=up_id, job=label, job_id=job_id,
                  run_id=run_id or before["run_id"])
        await audit(tx, actor, "lineage.added", "Dataset", down_id,
                    {"upstream": up_name, "job": label, "run": run_id})
    elif run_id is not None and before["run_id"] != run_id:
        await run(tx, LC.EDGE_SET_JOB, down=down_id, up=up_id, job=label, job_id=job_id,
                  run_id=run_id)


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
