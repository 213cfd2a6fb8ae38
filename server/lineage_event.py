"""What one OpenLineage event becomes before a graph store sees it: plain, validated data.

``server.openlineage.facets`` maps a validated event (JSON) onto a ``LineageEvent``; a store's
``ingest_lineage_event`` applies it in ONE transaction. Everything backend-neutral about the
mapping (which facets mean what, which DERIVED_FROM edges a run implies) is decided here and
in the consumer, so the SQLite and Neo4j stores only write what they are given.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.models import DatasetKey, FieldSpec, Owner, RunState


class EventKind(enum.StrEnum):
    RUN = "run"          # RunEvent: a job's run changed state
    JOB = "job"          # JobEvent: a job's definition (static lineage, no run)
    DATASET = "dataset"  # DatasetEvent: a dataset's metadata alone


@dataclass(frozen=True, slots=True)
class SourceSpec:
    name: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """A dataset named in an event, with what its facets say about it."""

    namespace: str
    name: str
    description: str | None = None           # documentation facet
    source: SourceSpec | None = None         # dataSource facet
    owners: tuple[Owner, ...] = ()           # ownership facet
    fields: tuple[FieldSpec, ...] | None = None  # schema facet (None: none sent)
    version: str | None = None               # version (DatasetVersionDatasetFacet)
    row_count: int | None = None             # outputStatistics
    byte_size: int | None = None
    facets: dict[str, Any] = field(default_factory=dict)     # every dataset facet, as sent
    io_facets: dict[str, Any] = field(default_factory=dict)  # inputFacets / outputFacets

    @property
    def key(self) -> DatasetKey:
        return DatasetKey(self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class JobSpec:
    namespace: str
    name: str
    description: str | None = None
    facets: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunSpec:
    run_id: str                      # lower-case UUID
    state: RunState
    facets: dict[str, Any] = field(default_factory=dict)
    error_message: str | None = None
    nominal_start: datetime | None = None
    nominal_end: datetime | None = None
    parent_run_id: str | None = None


@dataclass(frozen=True, slots=True)
class ColumnLineageSpec:
    downstream: DatasetKey
    downstream_field: str
    upstream: DatasetKey
    upstream_field: str
    transformation_type: str = ""
    transformation_subtype: str = ""
    description: str | None = None
    masking: bool = False


@dataclass(frozen=True, slots=True)
class LineageEvent:
    """One event, ready to apply. ``key`` identifies it for idempotence: replaying an event
    with the same key changes nothing (runs: runId + eventType + eventTime)."""

    key: str
    kind: EventKind
    event_type: str | None           # the RunEvent's eventType as sent (START, …)
    event_time: datetime             # aware, UTC
    producer: str
    job: JobSpec | None = None
    run: RunSpec | None = None
    inputs: tuple[DatasetSpec, ...] = ()
    outputs: tuple[DatasetSpec, ...] = ()
    datasets: tuple[DatasetSpec, ...] = ()   # a DatasetEvent's dataset
    column_lineage: tuple[ColumnLineageSpec, ...] = ()
    # DERIVED_FROM edges to record: (downstream, upstream); every key is in inputs, outputs,
    # datasets or named by column_lineage
    edges: tuple[tuple[DatasetKey, DatasetKey], ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)  # the event as received

    def specs(self) -> tuple[DatasetSpec, ...]:
        """The datasets the event describes (inputs, outputs, a DatasetEvent's dataset); one
        dataset may appear twice (read and written by one run)."""
        return (*self.inputs, *self.outputs, *self.datasets)

    def other_keys(self) -> list[DatasetKey]:
        """Datasets named only by column lineage or an edge (created bare when missing)."""
        described = {spec.key for spec in self.specs()}
        found: dict[DatasetKey, None] = {}
        for col in self.column_lineage:
            found.setdefault(col.downstream)
            found.setdefault(col.upstream)
        for down, up in self.edges:
            found.setdefault(down)
            found.setdefault(up)
        return [key for key in found if key not in described]


@dataclass(frozen=True, slots=True)
class IngestResult:
    """``created`` is False for a replay (an event already applied): nothing was written."""

    created: bool
    key: str
    job_id: str | None = None
    run_id: str | None = None
    dataset_ids: list[str] = field(default_factory=list)


def merge_facets(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The latest of each facet; a facet sent with ``_deleted: true`` is removed."""
    merged = dict(old)
    for name, value in new.items():
        if isinstance(value, dict) and value.get("_deleted") is True:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def version_marker(fields: list[tuple[str, str]], version: str | None) -> str:
    """The content hash of a version registered from OpenLineage: its schema and version."""
    text = json.dumps({"fields": fields, "version": version}, sort_keys=True)
    return "openlineage:" + hashlib.sha256(text.encode()).hexdigest()
