"""A checked OpenLineage event (``validate.check``) → a ``LineageEvent`` for the graph store.

What each facet becomes:

- ``schema`` (dataset): the dataset's fields, as a version without objects (format
  ``openlineage``) when the schema is new; a dataset loaded by Peso with the same fields
  gets none. ``version`` (DatasetVersionDatasetFacet) is part of that version's identity;
  ``outputStatistics`` gives its row count and size.
- ``documentation`` (dataset, job): the description.
- ``dataSource`` (dataset): the dataset's source (created, kind platform, when new).
- ``ownership`` (dataset): owners (``team:…`` / ``group:…`` a team, else a user); on a job
  it is kept with the job (``Job.owners``).
- ``columnLineage`` (dataset): FIELD_DERIVED_FROM records, and DERIVED_FROM edges.
- ``dataQualityMetrics``, ``dataQualityAssertions`` (input, dataset), ``outputStatistics``:
  kept with the run's input/output (``RunDataset``) and the dataset's facets.
- ``parent``, ``errorMessage``, ``nominalTime`` (run): the run's parent, error, nominal times.
- anything else: kept as sent (``facets`` JSON of the job, run, dataset or run input/output).

DERIVED_FROM edges: every output from every input of a RunEvent (not for FAIL or ABORT: the
outputs were not produced) or a JobEvent, skipping a dataset "derived" from itself; and every
(output ← input dataset) a columnLineage facet names.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from server.errors import ValidationError
from server.ids import check_label, check_lineage_name, check_lineage_namespace, check_text
from server.lineage_event import (
    ColumnLineageSpec,
    DatasetSpec,
    EventKind,
    JobSpec,
    LineageEvent,
    RunSpec,
    SourceSpec,
)
from server.models import DatasetKey, FieldSpec, Owner, OwnerKind, RunState
from server.openlineage.field_types import MAX_TYPE_LENGTH, SOURCE_TYPE_KEY, arrow_type_of
from server.openlineage.validate import Checked, parse_time

MAX_FIELD_NAME = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")   # a field name's forbidden characters (C0, DEL)
TEAM_PREFIXES = ("team:", "group:")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def utc(stamp: datetime) -> datetime:
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _time(value: Any) -> datetime | None:
    """A facet's timestamp (tolerant: a bare date too); None when absent or unreadable."""
    parsed = parse_time(value) if isinstance(value, str) else None
    return utc(parsed) if parsed else None


def _field_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_FIELD_NAME \
            or _CONTROL.search(value):
        raise ValidationError(f"{where}: a field name must be 1-{MAX_FIELD_NAME} characters "
                              "without control characters", field=where)
    return value


def dataset_key(ds: dict[str, Any], where: str) -> DatasetKey:
    return DatasetKey(check_lineage_namespace(ds.get("namespace", ""), field=f"{where}.namespace"),
                      check_lineage_name(ds.get("name", ""), field=f"{where}.name"))


def schema_fields(facet: dict[str, Any], where: str) -> tuple[FieldSpec, ...]:
    """The schema facet's fields; nested ones (structs) flattened as ``parent.child``."""
    out: list[FieldSpec] = []
    at_fields, at_schema = f"{where}.schema.fields", f"{where}.schema"   # for the errors

    def walk(fields: list[Any], prefix: str) -> None:
        for f in fields:
            f = _dict(f)
            name = prefix + _field_name(f.get("name"), at_fields)
            declared = _str(f.get("type"))
            if declared is not None and len(declared) > MAX_TYPE_LENGTH:
                raise ValidationError(f"{where}.schema.fields: the type of field {name!r} is "
                                      f"longer than {MAX_TYPE_LENGTH} characters",
                                      field=at_schema)
            description = f.get("description")
            out.append(FieldSpec(name=name, arrow_type=arrow_type_of(declared or "") or "",
                                 description=None if description is None else check_text(
                                     _str(description), field=at_schema),
                                 metadata={SOURCE_TYPE_KEY: declared} if declared else {}))
            if f.get("fields"):   # a struct's own fields
                walk(_list(f["fields"]), name + ".")

    walk(_list(facet.get("fields")), "")
    return tuple(out)


def owners(facet: dict[str, Any], where: str) -> tuple[Owner, ...]:
    found: dict[str, Owner] = {}
    for item in _list(facet.get("owners")):
        name = check_label(_dict(item).get("name", ""), field=f"{where}.ownership.owners")
        kind = OwnerKind.TEAM if name.lower().startswith(TEAM_PREFIXES) else OwnerKind.USER
        found[name] = Owner(name, kind, None)
    return tuple(found.values())


def dataset_spec(ds: dict[str, Any], where: str, io_key: str | None) -> DatasetSpec:
    key = dataset_key(ds, where)
    facets = _dict(ds.get("facets"))
    io_facets = _dict(ds.get(io_key)) if io_key else {}
    source = None
    if isinstance(facets.get("dataSource"), dict):
        src = facets["dataSource"]
        name = _str(src.get("name")) or _str(src.get("uri"))
        if name:
            source = SourceSpec(check_label(name, field=f"{where}.dataSource.name"),
                                check_text(_str(src.get("uri")), field=f"{where}.dataSource",
                                           limit=2000))
    doc = _dict(facets.get("documentation"))
    stats = _dict(io_facets.get("outputStatistics"))
    version = _dict(facets.get("version")).get("datasetVersion")
    return DatasetSpec(
        namespace=key.namespace, name=key.name,
        description=check_text(_str(doc.get("description")), field=f"{where}.documentation"),
        source=source,
        owners=owners(facets["ownership"], where) if "ownership" in facets else (),
        fields=schema_fields(facets["schema"], where) if "schema" in facets else None,
        version=version if isinstance(version, str) else None,
        row_count=stats.get("rowCount") if type(stats.get("rowCount")) is int else None,
        byte_size=stats.get("size") if type(stats.get("size")) is int else None,
        facets=facets, io_facets=io_facets)


def column_lineage(output: DatasetSpec, where: str) -> tuple[list[ColumnLineageSpec],
                                                             list[DatasetKey]]:
    """The columnLineage facet's records, and the datasets its dataset-level entries name."""
    facet = _dict(output.facets.get("columnLineage"))
    records: list[ColumnLineageSpec] = []
    at_fields, at_inputs, at_facet = (f"{where}.columnLineage.fields",   # for the errors
                                      f"{where}.columnLineage.inputFields",
                                      f"{where}.columnLineage")
    for out_field, spec in sorted(_dict(facet.get("fields")).items()):
        out_field = _field_name(out_field, at_fields)
        spec = _dict(spec)
        for item in _list(spec.get("inputFields")):
            item = _dict(item)
            up = dataset_key(item, at_inputs)
            in_field = _field_name(item.get("field"), at_inputs)
            transformations = [_dict(t) for t in _list(item.get("transformations"))] or [{
                "type": spec.get("transformationType"),
                "description": item.get("transformation") or spec.get(
                    "transformationDescription")}]
            for t in transformations:
                records.append(ColumnLineageSpec(
                    output.key, out_field, up, in_field,
                    transformation_type=(_str(t.get("type")) or "")[:100],
                    transformation_subtype=(_str(t.get("subtype")) or "")[:100],
                    description=check_text(_str(t.get("description")), field=at_facet,
                                           limit=2000),
                    masking=t.get("masking") is True))
    whole = [dataset_key(_dict(item), f"{where}.columnLineage.dataset")
             for item in _list(facet.get("dataset"))]
    return records, whole


def run_spec(run: dict[str, Any], event_type: str | None) -> RunSpec:
    facets = _dict(run.get("facets"))
    parent = _dict(_dict(facets.get("parent")).get("run"))
    nominal = _dict(facets.get("nominalTime"))
    error = _str(_dict(facets.get("errorMessage")).get("message"))
    return RunSpec(
        run_id=str(uuid.UUID(str(run["runId"]))),
        state=RunState(event_type.lower()) if event_type else RunState.OTHER,
        facets=facets, error_message=check_text(error, field="run.errorMessage"),
        nominal_start=_time(nominal.get("nominalStartTime")),
        nominal_end=_time(nominal.get("nominalEndTime")),
        parent_run_id=str(uuid.UUID(parent["runId"])) if _str(parent.get("runId")) else None)


def to_lineage_event(checked: Checked) -> LineageEvent:
    """Map a checked event; ValidationError for names outside Peso's lineage grammar."""
    ev = checked.event
    stamp = parse_time(str(ev["eventTime"]))
    if stamp is None:
        raise ValidationError("eventTime is not an ISO-8601 date-time", field="eventTime")
    at = utc(stamp)
    job = None
    if isinstance(ev.get("job"), dict):
        j = ev["job"]
        facets = _dict(j.get("facets"))
        job = JobSpec(check_lineage_namespace(j["namespace"], field="job.namespace"),
                      check_lineage_name(j["name"], field="job.name"),
                      check_text(_str(_dict(facets.get("documentation")).get("description")),
                                 field="job.documentation"), facets)
    inputs = tuple(dataset_spec(_dict(d), f"inputs[{i}]", "inputFacets")
                   for i, d in enumerate(_list(ev.get("inputs"))))
    outputs = tuple(dataset_spec(_dict(d), f"outputs[{i}]", "outputFacets")
                    for i, d in enumerate(_list(ev.get("outputs"))))
    statics: tuple[DatasetSpec, ...] = ()
    if checked.kind == "DatasetEvent":
        statics = (dataset_spec(ev["dataset"], "dataset", None),)
    event_type = _str(ev.get("eventType"))
    run = run_spec(ev["run"], event_type) if checked.kind == "RunEvent" else None
    produced = run is None or run.state not in (RunState.FAIL, RunState.ABORT)
    columns: list[ColumnLineageSpec] = []
    edges: dict[tuple[DatasetKey, DatasetKey], None] = {}
    if produced:
        for out in outputs:
            for inp in inputs:
                edges.setdefault((out.key, inp.key))
        for i, spec in enumerate((*outputs, *statics)):
            records, whole = column_lineage(spec, f"outputs[{i}]" if spec in outputs
                                            else "dataset")
            columns += records
            for rec in records:
                edges.setdefault((rec.downstream, rec.upstream))
            for up in whole:
                edges.setdefault((spec.key, up))
    kept = tuple(e for e in edges if e[0] != e[1])
    if checked.kind == "RunEvent" and run is not None:
        key = f"run|{run.run_id}|{event_type or 'OTHER'}|{at.isoformat()}"
    elif checked.kind == "JobEvent" and job is not None:
        key = f"job|{job.namespace}|{job.name}|{at.isoformat()}"
    else:
        key = f"dataset|{statics[0].namespace}|{statics[0].name}|{at.isoformat()}"
    return LineageEvent(
        key=key, kind={"RunEvent": EventKind.RUN, "JobEvent": EventKind.JOB}.get(
            checked.kind, EventKind.DATASET),
        event_type=event_type, event_time=at, producer=str(ev["producer"]), job=job, run=run,
        inputs=inputs, outputs=outputs, datasets=statics, column_lineage=tuple(columns),
        edges=kept, payload=ev)
