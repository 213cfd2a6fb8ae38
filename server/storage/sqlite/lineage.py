"""Lineage on SQLite, mixed into ``SQLiteGraphStore``: bounded walks (datasets and columns),
shortest paths, OpenLineage jobs and runs, and applying OpenLineage events.

Walks follow ``server/storage/lineage_walk.py`` with the queries of ``lineage_sql.py``, all
inside ONE read snapshot; an event is applied in ONE write transaction
(``lineage_apply.py``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from server.lineage_event import ColumnLineageSpec, IngestResult, LineageEvent
from server.models import (
    ColumnLineageEdge,
    ColumnLineageGraph,
    ColumnNode,
    Dataset,
    DatasetKey,
    Direction,
    Job,
    LineageEdge,
    LineageGraph,
    LineagePaths,
    Page,
    Run,
    RunDataset,
    RunRole,
)
from server.storage import lineage_walk as walk
from server.storage.batching import first_pages, grouped
from server.storage.lineage_walk import BoundedWalk, PathSearch, Reached, Step
from server.storage.sqlite import lineage_apply as apply
from server.storage.sqlite import lineage_columns as columns
from server.storage.sqlite import lineage_rows as lr
from server.storage.sqlite import lineage_sql as L
from server.storage.sqlite import rows
from server.storage.sqlite.db import Database
from server.storage.sqlite.helpers import deferred_reindex

Column = tuple[str, str]   # (dataset id, field)


def _ids(values: Sequence[Any]) -> str:
    return json.dumps(list(values))


def _tuples(c: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
    """``sql``'s rows as plain tuples: a walk reads thousands, and sqlite3.Row's by-name
    access is a third of their cost (the column order is the statement's)."""
    cursor = c.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, params)


def _datasets(c: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Dataset]:
    return {d.id: d for d in map(rows.dataset_tuple,
                                 _tuples(c, L.DATASETS_BY_JSON_IDS, (_ids(ids),)))}


def _live(c: sqlite3.Connection, dataset_id: str) -> bool:
    found = _datasets(c, [dataset_id]).get(dataset_id)
    return found is not None and found.deleted_at is None


def _expand(c: sqlite3.Connection, step: Step[str]) -> list[Reached[str]]:
    query = L.EXPAND_UPSTREAM if step.direction is Direction.UPSTREAM else L.EXPAND_DOWNSTREAM
    return [Reached(r["id"], (r["namespace"], r["name"])) for r in c.execute(
        query, (_ids(step.frontier), _ids(step.exclude), step.limit))]


def _expand_columns(c: sqlite3.Connection, step: Step[Column]) -> list[Reached[Column]]:
    query = (L.COLUMN_EXPAND_UPSTREAM if step.direction is Direction.UPSTREAM
             else L.COLUMN_EXPAND_DOWNSTREAM)
    return [Reached((r["id"], r["field"]), (r["namespace"], r["name"], r["field"]))
            for r in c.execute(query, (_ids(step.frontier), _ids(step.exclude), step.limit))]


def _edges_among(c: sqlite3.Connection, ids: list[str], cap: int
                 ) -> tuple[list[Any], bool]:
    found = list(map(lr.edge_tuple, _tuples(c, L.EDGES_AMONG, (_ids(ids), _ids(ids), cap + 1))))
    return found[:cap], len(found) > cap


def walk_lineage(c: sqlite3.Connection, dataset_id: str, direction: Direction, depth: int,
                 max_nodes: int) -> LineageGraph:
    bfs: BoundedWalk[str] = BoundedWalk(dataset_id, direction=direction, depth=depth,
                                        max_nodes=max_nodes)
    if not _live(c, dataset_id):
        return LineageGraph([], [], nodes_total=0)  # a deleted start hides its neighbourhood
    walk.run_walk(bfs, lambda step: _expand(c, step))
    ids = list(bfs.depths)
    edges, cut = _edges_among(c, ids, walk.edge_cap(max_nodes))
    return walk.lineage_graph(_datasets(c, ids), bfs.depths, edges,
                              truncated=bfs.truncated or cut, nodes_total=bfs.nodes_total)


def _search(c: sqlite3.Connection, from_id: str, to_id: str, way: Direction, max_depth: int,
            max_nodes: int) -> tuple[PathSearch[str], dict[tuple[str, str], LineageEdge]]:
    search: PathSearch[str] = PathSearch(from_id, to_id, direction=way, max_depth=max_depth,
                                         max_nodes=max_nodes)
    kept: dict[tuple[str, str], LineageEdge] = {}

    def between(lower: list[str], upper: list[str]) -> list[tuple[str, str]]:
        down, up = (upper, lower) if way is Direction.DOWNSTREAM else (lower, upper)
        pairs = []
        for e in (lr.edge(r) for r in c.execute(L.EDGES_BETWEEN, (
                _ids(down), _ids(up), walk.edge_cap(max_nodes)))):
            kept[(e.downstream_id, e.upstream_id)] = e
            pairs.append((e.upstream_id, e.downstream_id) if way is Direction.DOWNSTREAM
                         else (e.downstream_id, e.upstream_id))
        return pairs

    walk.run_paths(search, lambda step: _expand(c, step), between)
    return search, kept


def lineage_paths(c: sqlite3.Connection, from_id: str, to_id: str, max_depth: int,
                  max_nodes: int, max_paths: int) -> LineagePaths:
    if not (_live(c, from_id) and _live(c, to_id)):
        return LineagePaths(Direction.DOWNSTREAM, [], {}, [])
    search, kept = _search(c, from_id, to_id, Direction.DOWNSTREAM, max_depth, max_nodes)
    if not (search.found or search.truncated):
        search, kept = _search(c, from_id, to_id, Direction.UPSTREAM, max_depth, max_nodes)
    return walk.paths_result(search, kept, _datasets(c, sorted(search.seen)), max_paths)


def walk_columns(c: sqlite3.Connection, dataset_id: str, field: str, direction: Direction,
                 depth: int, max_nodes: int) -> ColumnLineageGraph:
    start: Column = (dataset_id, field)
    bfs: BoundedWalk[Column] = BoundedWalk(start, direction=direction, depth=depth,
                                           max_nodes=max_nodes)
    if not _live(c, dataset_id):
        return ColumnLineageGraph([], [], nodes_total=0)
    walk.run_walk(bfs, lambda step: _expand_columns(c, step))
    keys = [list(k) for k in bfs.depths]
    cap = walk.edge_cap(max_nodes)
    found = [lr.column(r) for r in c.execute(L.COLUMN_EDGES_AMONG,
                                             (_ids(keys), _ids(keys), cap + 1))]
    datasets = _datasets(c, list({k[0] for k in bfs.depths}))
    nodes = sorted((ColumnNode(datasets[d], f, depth) for (d, f), depth in bfs.depths.items()
                    if d in datasets), key=lambda n: (n.depth, n.dataset.namespace,
                                                      n.dataset.name, n.field))
    edges = sorted(found[:cap], key=lambda e: (
        datasets[e.downstream_id].namespace, datasets[e.downstream_id].name,
        e.downstream_field, datasets[e.upstream_id].namespace, datasets[e.upstream_id].name,
        e.upstream_field, e.transformation_type, e.transformation_subtype))
    return ColumnLineageGraph(nodes, edges, truncated=bfs.truncated or len(found) > cap,
                              nodes_total=bfs.nodes_total)


class LineageMixin:
    db: Database

    # --- walks -----------------------------------------------------------------------------
    async def walk_lineage(self, dataset_id: str, *, direction: Direction, depth: int,
                           max_nodes: int) -> LineageGraph:
        walk.check_bounds(depth, max_nodes)
        return await self.db.read(
            lambda c: walk_lineage(c, dataset_id, direction, depth, max_nodes))

    async def lineage_paths(self, from_id: str, to_id: str, *, max_depth: int,
                            max_nodes: int, max_paths: int) -> LineagePaths:
        walk.check_bounds(max_depth, max_nodes)
        return await self.db.read(
            lambda c: lineage_paths(c, from_id, to_id, max_depth, max_nodes, max_paths))

    async def walk_column_lineage(self, dataset_id: str, field: str, *, direction: Direction,
                                  depth: int, max_nodes: int) -> ColumnLineageGraph:
        walk.check_bounds(depth, max_nodes)
        return await self.db.read(
            lambda c: walk_columns(c, dataset_id, field, direction, depth, max_nodes))

    async def put_column_lineage(self, downstream: DatasetKey, downstream_field: str,
                                 upstream: DatasetKey, upstream_field: str, *,
                                 transformation_type: str = "",
                                 transformation_subtype: str = "",
                                 description: str | None = None, masking: bool = False,
                                 actor: str) -> ColumnLineageEdge:
        spec = ColumnLineageSpec(downstream, downstream_field, upstream, upstream_field,
                                 transformation_type, transformation_subtype, description,
                                 masking)
        return await self.db.write(lambda c: columns.put_column_lineage(c, spec, actor))

    # --- OpenLineage events, jobs and runs --------------------------------------------------
    async def ingest_lineage_event(self, event: LineageEvent, *, actor: str) -> IngestResult:
        [result] = await self.ingest_lineage_events([event], actor=actor)
        return result

    async def ingest_lineage_events(self, events: Sequence[LineageEvent], *,
                                    actor: str) -> list[IngestResult]:
        if not events:
            return []
        host: apply.Host = self  # type: ignore[assignment]  # SQLiteGraphStore provides both

        def run(c: sqlite3.Connection) -> list[IngestResult]:
            batch = apply.Batch()   # what this transaction read, shared by its events
            with deferred_reindex(c):   # each dataset's search row written once, at the end
                return [apply.apply_event(host, c, e, actor, batch) for e in events]
        return await self.db.write(run)

    async def get_jobs(self, ids: Sequence[str]) -> list[Job | None]:
        if not ids:
            return []
        found = await self.db.read(lambda c: {j.id: j for j in (
            lr.job(r) for r in c.execute(L.JOBS_BY_IDS, (_ids(ids),)))})
        return [found.get(i) for i in ids]

    async def get_job(self, namespace: str, name: str) -> Job | None:
        row = await self.db.read(lambda c: c.execute(L.JOB_BY_KEY, (namespace, name)).fetchone())
        return lr.job(row) if row else None

    async def get_jobs_by_key(self, keys: Sequence[tuple[str, str]]) -> list[Job | None]:
        if not keys:
            return []
        pairs = json.dumps([[namespace, name] for namespace, name in keys])
        found = await self.db.read(lambda c: {(j.namespace, j.name): j for j in (
            lr.job(r) for r in c.execute(L.JOBS_BY_KEYS, (pairs,)))})
        return [found.get((namespace, name)) for namespace, name in keys]

    async def list_jobs(self, *, namespace: str | None = None, first: int,
                        after: list[Any] | None = None) -> Page[Job]:
        a = after or [None, None]

        def run(c: sqlite3.Connection) -> Page[Job]:
            found = [lr.job(r) for r in c.execute(L.JOB_PAGE,
                                                  (a[0], a[1], first + 1, namespace))]
            items = found[:first]
            return Page(items, [[j.namespace, j.name] for j in items], len(found) > first,
                        c.execute(L.JOB_COUNT, (namespace,)).fetchone()[0])
        return await self.db.read(run)

    async def get_runs(self, ids: Sequence[str]) -> list[Run | None]:
        if not ids:
            return []
        found = await self.db.read(lambda c: {r.id: r for r in (
            lr.run(row) for row in c.execute(L.RUNS_BY_IDS, (_ids(ids),)))})
        return [found.get(i) for i in ids]

    async def list_runs(self, *, job_id: str | None = None, first: int,
                        after: list[Any] | None = None) -> Page[Run]:
        a = after or [None, None]

        def run(c: sqlite3.Connection) -> Page[Run]:
            found = [lr.run(r) for r in c.execute(L.RUN_PAGE, (job_id, a[0], a[1], first + 1))]
            items = found[:first]
            return Page(items, [[lr.iso(r.created_at), r.id] for r in items],
                        len(found) > first, c.execute(L.RUN_COUNT, (job_id,)).fetchone()[0])
        return await self.db.read(run)

    async def list_job_runs(self, job_ids: Sequence[str], *, first: int) -> list[Page[Run]]:
        if not job_ids:
            return []

        def run(c: sqlite3.Connection) -> list[Page[Run]]:
            ids = _ids(job_ids)
            found = [lr.run(r) for r in c.execute(L.RUNS_OF_JOBS, (ids, first + 1))]
            totals = {r["job_id"]: r["n"] for r in c.execute(L.RUN_COUNTS_OF_JOBS, (ids,))}
            return first_pages(job_ids, found, lambda r: r.job_id, totals, first,
                               lambda r: [lr.iso(r.created_at), r.id])
        return await self.db.read(run)

    async def get_run_datasets(self, run_ids: Sequence[str]) -> list[list[RunDataset]]:
        if not run_ids:
            return []
        found = await self.db.read(lambda c: [
            (r["run_id"], lr.run_dataset(r)) for r in c.execute(L.RUN_DATASETS_OF,
                                                                (_ids(run_ids),))])
        return grouped(found, run_ids)

    async def get_job_datasets(self, job_ids: Sequence[str]
                               ) -> list[list[tuple[str, RunRole]]]:
        if not job_ids:
            return []
        found = await self.db.read(lambda c: [
            (r["job_id"], (r["dataset_id"], RunRole(r["role"]))) for r in c.execute(
                L.JOB_DATASETS_OF, (_ids(job_ids),))])
        return grouped(found, job_ids)

    async def get_dataset_facets(self, dataset_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not dataset_ids:
            return []
        found = await self.db.read(lambda c: {r["dataset_id"]: lr.loads(r["facets"]) for r in
                                              c.execute(L.DATASET_FACETS_OF,
                                                        (_ids(dataset_ids),))})
        return [found.get(i, {}) for i in dataset_ids]
