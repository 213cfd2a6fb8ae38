"""OpenLineage in the domain model: jobs, runs, the datasets a run read and wrote, column
lineage and shortest lineage paths (what an event becomes: ``server/lineage_event.py``).

Re-exported by ``server.models``: import these from there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: server.models imports this module to re-export it
    from server.models import Dataset, Direction, LineageEdge


class RunState(enum.StrEnum):
    START = "start"
    RUNNING = "running"
    COMPLETE = "complete"
    FAIL = "fail"
    ABORT = "abort"
    OTHER = "other"   # extra metadata; never changes a run's state once it has one

    @property
    def terminal(self) -> bool:
        return self in (RunState.COMPLETE, RunState.FAIL, RunState.ABORT)


class RunRole(enum.StrEnum):
    INPUT = "input"
    OUTPUT = "output"


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    namespace: str
    name: str
    description: str | None
    facets: dict[str, Any]   # the latest of each job facet received, unknown ones included
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Run:
    id: str                  # the OpenLineage runId (a UUID, lower-case)
    job_id: str
    state: RunState
    started_at: datetime | None
    ended_at: datetime | None
    error_message: str | None
    facets: dict[str, Any]
    nominal_start: datetime | None
    nominal_end: datetime | None
    parent_run_id: str | None
    created_at: datetime     # when Peso first heard of the run (runs list newest first by it)
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RunDataset:
    """A dataset a run read (INPUT) or wrote (OUTPUT), with the input/output facets sent."""

    run_id: str
    dataset_id: str
    role: RunRole
    facets: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ColumnLineageEdge:
    """Field ``downstream_field`` of ``downstream`` is derived from ``upstream_field`` of
    ``upstream`` (FIELD_DERIVED_FROM), by a transformation of a type and subtype
    (OpenLineage: DIRECT/IDENTITY, DIRECT/TRANSFORMATION, INDIRECT/FILTER, …; '' unknown)."""

    downstream_id: str
    downstream_field: str
    upstream_id: str
    upstream_field: str
    transformation_type: str
    transformation_subtype: str
    description: str | None
    masking: bool
    job_id: str | None
    run_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ColumnNode:
    dataset: Dataset
    field: str
    depth: int   # negative upstream, positive downstream, 0 the start


@dataclass(frozen=True, slots=True)
class ColumnLineageGraph:
    nodes: list[ColumnNode]
    edges: list[ColumnLineageEdge]
    truncated: bool = False
    nodes_total: int | None = None


@dataclass(frozen=True, slots=True)
class LineagePaths:
    """Every shortest DERIVED_FROM path between two datasets (each a list of dataset ids,
    first to last), walked ``direction`` from the first; the edges along them."""

    direction: Direction
    paths: list[list[str]]
    datasets: dict[str, Dataset]
    edges: list[LineageEdge]
    truncated: bool = False   # the node budget ran out, or there were more than max_paths
