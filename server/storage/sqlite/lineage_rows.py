"""sqlite3 rows of the lineage tables → ``server.models`` dataclasses."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from server.models import ColumnLineageEdge, Job, LineageEdge, Run, RunDataset, RunRole, RunState
from server.storage.sqlite.rows import ts


def iso(stamp: datetime) -> str:
    """An aware datetime as the sortable UTC text every lineage timestamp is stored as."""
    return stamp.astimezone(UTC).isoformat(timespec="microseconds")


def _ts_or_none(text: str | None) -> datetime | None:
    return ts(text) if text else None


def loads(text: str | None) -> dict[str, Any]:
    value = json.loads(text) if text else {}
    return value if isinstance(value, dict) else {}


def dumps(value: dict[str, Any]) -> str:
    """Facets and payloads as stored: keys sorted, what JSON cannot hold as text (no facets,
    the common case, without building an encoder)."""
    return "{}" if value == {} else json.dumps(value, sort_keys=True, default=str)


def job(r: sqlite3.Row) -> Job:
    return Job(id=r["id"], namespace=r["namespace"], name=r["name"],
               description=r["description"], facets=loads(r["facets"]),
               created_at=ts(r["created_at"]), updated_at=ts(r["updated_at"]))


def run(r: sqlite3.Row) -> Run:
    return Run(id=r["id"], job_id=r["job_id"], state=RunState(r["state"]),
               started_at=_ts_or_none(r["started_at"]), ended_at=_ts_or_none(r["ended_at"]),
               error_message=r["error_message"], facets=loads(r["facets"]),
               nominal_start=_ts_or_none(r["nominal_start"]),
               nominal_end=_ts_or_none(r["nominal_end"]), parent_run_id=r["parent_run_id"],
               created_at=ts(r["created_at"]), updated_at=ts(r["updated_at"]))


def run_dataset(r: sqlite3.Row) -> RunDataset:
    return RunDataset(run_id=r["run_id"], dataset_id=r["dataset_id"], role=RunRole(r["role"]),
                      facets=loads(r["facets"]))


def edge(r: sqlite3.Row) -> LineageEdge:
    return LineageEdge(downstream_id=r["downstream_id"], upstream_id=r["upstream_id"],
                       transformation=r["transformation"], job=r["job"],
                       created_at=ts(r["created_at"]), job_id=r["job_id"], run_id=r["run_id"])


def edge_tuple(r: tuple[Any, ...]) -> LineageEdge:
    """``edge`` for a plain tuple in ``EDGE_COLS`` order (lineage walks)."""
    downstream_id, upstream_id, transformation, job_name, created, job_id, run_id = r
    return LineageEdge(downstream_id=downstream_id, upstream_id=upstream_id,
                       transformation=transformation, job=job_name, created_at=ts(created),
                       job_id=job_id, run_id=run_id)


def column(r: sqlite3.Row) -> ColumnLineageEdge:
    return ColumnLineageEdge(
        downstream_id=r["downstream_id"], downstream_field=r["downstream_field"],
        upstream_id=r["upstream_id"], upstream_field=r["upstream_field"],
        transformation_type=r["transformation_type"],
        transformation_subtype=r["transformation_subtype"], description=r["description"],
        masking=bool(r["masking"]), job_id=r["job_id"], run_id=r["run_id"],
        created_at=ts(r["created_at"]))
