"""Lineage on Neo4j, mixed into ``Neo4jGraphStore``: bounded walks (datasets and columns),
shortest paths, OpenLineage jobs and runs, applying OpenLineage events.

The walks follow ``server/storage/lineage_walk.py`` inside ONE read transaction, so both
backends answer identically: a dataset walk is ONE Cypher statement (``LC.WALK``, the same
algorithm run by the server, answering the walk's datasets and edges too), column walks and
path searches one hop per query, each bounded by ``max_nodes``; an event is applied in ONE
write transaction (``lineage_apply.py``). Cypher: ``lineage_cypher.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from server.errors import ConflictError
from server.lineage_event import ColumnLineageSpec, IngestResult, LineageEvent
from server.models import (
    ColumnLineageEdge,
    ColumnLineageGraph,
    ColumnNode,
    Dataset,
    DatasetKey,
    DatasetLayer,
    Direction,
    Job,
    LineageEdge,
    LineageGraph,
    LineagePaths,
    Page,
    Run,
    RunDataset,
    RunRole,
    RunState,
)
from server.storage import lineage_walk as walk
from server.storage.batching import first_pages, grouped
from server.storage.lineage_walk import BoundedWalk, PathSearch, Reached, Step
from server.storage.neo4j import cypher, records
from server.storage.neo4j import lineage_apply as apply
from server.storage.neo4j import lineage_cypher as LC
from server.storage.neo4j.base import Neo4jBase, Tx, one, rows

Column = tuple[str, str]
# LC.WALK's $ways: the directions of a walk, each level upstream first (as BoundedWalk)
_WAYS = {Direction.UPSTREAM: [-1], Direction.DOWNSTREAM: [1], Direction.BOTH: [-1, 1]}
_ROLE = {LC.Rel.READ.value: RunRole.INPUT, LC.Rel.WROTE.value: RunRole.OUTPUT,
         LC.Rel.JOB_READS.value: RunRole.INPUT, LC.Rel.JOB_WRITES.value: RunRole.OUTPUT}


def job(m: dict[str, Any]) -> Job:
    return Job(id=m["id"], namespace=m["namespace"], name=m["name"],
               description=m.get("description"), facets=apply.loads(m.get("facets")),
               created_at=records.ts(m["created_at"]), updated_at=records.ts(m["updated_at"]))


def run(m: dict[str, Any]) -> Run:
    return Run(id=m["id"], job_id=m["job_id"], state=RunState(m["state"]),
               started_at=records.ts_or_none(m.get("started_at")),
               ended_at=records.ts_or_none(m.get("ended_at")),
               error_message=m.get("error_message"), facets=apply.loads(m.get("facets")),
               nominal_start=records.ts_or_none(m.get("nominal_start")),
               nominal_end=records.ts_or_none(m.get("nominal_end")),
               parent_run_id=m.get("parent_run_id"), created_at=records.ts(m["created_at"]),
               updated_at=records.ts(m["updated_at"]))


def edge(m: dict[str, Any]) -> LineageEdge:
    return LineageEdge(downstream_id=m["downstream_id"], upstream_id=m["upstream_id"],
                       transformation=m.get("transformation"), job=m.get("job"),
                       created_at=records.ts(m["created_at"]), job_id=m.get("job_id"),
                       run_id=m.get("run_id"))


# A walk reads ~1,000 datasets and ~1,400 edges: these two build them straight from the
# statements' lists (no intermediate map, no type tests per timestamp), ~40% less client time.
# Stamps repeat (a dataset never updated, the records of one import or one OpenLineage batch):
# a remembered one costs ~0.15 µs instead of ~1 µs, ~3,400 of them a walk; a layer is looked
# up, not made by the enum's call (~1 µs).
_epoch = functools.lru_cache(maxsize=4096)(records.epoch)
_LAYERS = {layer.value: layer for layer in DatasetLayer}


def edge_row(r: list[Any]) -> LineageEdge:
    """An edge as ``LC.EDGES_BETWEEN`` and ``LC.WALK`` list it."""
    return LineageEdge(downstream_id=r[0], upstream_id=r[1], transformation=r[2], job=r[3],
                       created_at=_epoch(r[4], r[5]), job_id=r[6], run_id=r[7])


def dataset_row(r: list[Any]) -> Dataset:
    """A dataset as ``LC.WALK_DATASETS`` lists it (timestamps as [epochSeconds, nanosecond]);
    ``LC.WALK`` lists its datasets the same way after their depth."""
    ds_id, namespace, name, layer, description, contract, source_id, created, updated, \
        deleted = r
    return Dataset(id=ds_id, namespace=namespace, name=name,
                   layer=_LAYERS.get(layer) or DatasetLayer(layer), description=description,
                   source_id=source_id, created_at=_epoch(*created),
                   updated_at=_epoch(*updated),
                   deleted_at=None if deleted is None else _epoch(*deleted),
                   contract=records.from_json(contract))


async def _collected(tx: Tx, statement: str, /, **params: Any) -> list[Any]:
    """The one list a statement returns in its one row, as the driver decoded it (plain
    values: no ``Result.data()`` pass over thousands of them)."""
    result = await tx.run(statement, params)
    record = await result.single(strict=True)
    found: list[Any] = record[0]
    return found


async def _datasets(tx: Tx, ids: Sequence[str]) -> dict[str, Dataset]:
    return {d.id: d for d in (records.dataset(r["d"]) for r in
                              await rows(tx, cypher.DATASETS_BY_IDS, ids=list(ids)))}


async def _walk_datasets(tx: Tx, ids: Sequence[str]) -> dict[str, Dataset]:
    return {d.id: d for d in map(dataset_row, await _collected(tx, LC.WALK_DATASETS,
                                                                ids=list(ids)))}


async def _live(tx: Tx, dataset_id: str) -> bool:
    found = (await _datasets(tx, [dataset_id])).get(dataset_id)
    return found is not None and found.deleted_at is None


async def _expand(tx: Tx, step: Step[str]) -> list[Reached[str]]:
    query = LC.EXPAND_UPSTREAM if step.direction is Direction.UPSTREAM else LC.EXPAND_DOWNSTREAM
    return [Reached(r["id"], (r["namespace"], r["name"])) for r in await rows(
        tx, query, frontier=step.frontier, exclude=step.exclude, limit=step.limit)]


async def _expand_columns(tx: Tx, step: Step[Column]) -> list[Reached[Column]]:
    query = (LC.COLUMN_EXPAND_UPSTREAM if step.direction is Direction.UPSTREAM
             else LC.COLUMN_EXPAND_DOWNSTREAM)
    return [Reached((r["id"], r["field"]), (r["namespace"], r["name"], r["field"]))
            for r in await rows(tx, query, frontier=[list(k) for k in step.frontier],
                                exclude=[list(k) for k in step.exclude], limit=step.limit)]


async def _edges_between(tx: Tx, down: list[str], up: list[str], cap: int
                         ) -> list[LineageEdge]:
    return [edge_row(r) for r in await _collected(tx, LC.EDGES_BETWEEN, down=down, up=up,
                                                  limit=cap)]


async def walk_lineage(tx: Tx, dataset_id: str, direction: Direction, depth: int,
                       max_nodes: int) -> LineageGraph:
    """``lineage_walk.BoundedWalk`` run by Neo4j itself with its datasets and the edges among
    them (``LC.WALK``): one statement, one round trip."""
    walk.check_bounds(depth, max_nodes)
    cap = walk.edge_cap(max_nodes)
    result = await tx.run(LC.WALK, {"start": dataset_id, "ways": _WAYS[direction],
                                    "depth": depth, "max_nodes": max_nodes, "limit": cap + 1})
    done = await result.single()   # the record itself: no data() pass over its lists
    if done is None:   # missing or deleted: a deleted start hides its whole neighbourhood
        return LineageGraph([], [], nodes_total=0)
    depths: dict[str, int] = {}
    datasets: dict[str, Dataset] = {}
    for r in done["datasets"]:
        d = dataset_row(r[1:])
        depths[d.id] = int(r[0])
        datasets[d.id] = d
    edges = [edge_row(r) for r in done["edges"]]
    return walk.lineage_graph(datasets, depths, edges[:cap],
                              truncated=bool(done["truncated"]) or len(edges) > cap,
                              nodes_total=len(depths) + int(done["dropped"]))


async def _search(tx: Tx, from_id: str, to_id: str, way: Direction, max_depth: int,
                  max_nodes: int) -> tuple[PathSearch[str], dict[tuple[str, str], LineageEdge]]:
    search: PathSearch[str] = PathSearch(from_id, to_id, direction=way, max_depth=max_depth,
                                         max_nodes=max_nodes)
    kept: dict[tuple[str, str], LineageEdge] = {}
    while (step := search.next_step()) is not None:
        search.take(step, await _expand(tx, step))
    while (back := search.back_step()) is not None:
        lower, upper = back
        down, up = (upper, lower) if way is Direction.DOWNSTREAM else (lower, upper)
        pairs = []
        for e in await _edges_between(tx, down, up, walk.edge_cap(max_nodes)):
            kept[(e.downstream_id, e.upstream_id)] = e
            pairs.append((e.upstream_id, e.downstream_id) if way is Direction.DOWNSTREAM
                         else (e.downstream_id, e.upstream_id))
        search.take_back(pairs)
    return search, kept


async def walk_columns(tx: Tx, dataset_id: str, field: str, direction: Direction, depth: int,
                       max_nodes: int) -> ColumnLineageGraph:
    bfs: BoundedWalk[Column] = BoundedWalk((dataset_id, field), direction=direction,
                                           depth=depth, max_nodes=max_nodes)
    if not await _live(tx, dataset_id):
        return ColumnLineageGraph([], [], nodes_total=0)
    while (step := bfs.next_step()) is not None:
        bfs.take(step, await _expand_columns(tx, step))
    ids = sorted({d for d, _ in bfs.depths})
    cap = walk.edge_cap(max_nodes)
    found = [apply.column(r) for r in await rows(
        tx, LC.COLUMN_EDGES_AMONG, ids=ids, pairs=[list(k) for k in bfs.depths],
        limit=cap + 1)]
    datasets = await _walk_datasets(tx, ids)
    nodes = sorted((ColumnNode(datasets[d], f, depth) for (d, f), depth in bfs.depths.items()
                    if d in datasets), key=lambda n: (n.depth, n.dataset.namespace,
                                                      n.dataset.name, n.field))
    edges = sorted(found[:cap], key=lambda e: (
        datasets[e.downstream_id].namespace, datasets[e.downstream_id].name,
        e.downstream_field, datasets[e.upstream_id].namespace, datasets[e.upstream_id].name,
        e.upstream_field, e.transformation_type, e.transformation_subtype))
    return ColumnLineageGraph(nodes, edges, truncated=bfs.truncated or len(found) > cap,
                              nodes_total=bfs.nodes_total)


async def _consume(pending: Any) -> None:
    result = await pending
    await result.consume()


class LineageMixin(Neo4jBase):
    async def open(self) -> None:
        """The catalog's schema (``Neo4jBase.open``), then lineage's constraints and
        indexes (``lineage_cypher.SCHEMA``, idempotent), waited on like the others; then
        the OpenLineage batch statements are planned ahead (``apply.PLANNED_AHEAD``)."""
        await super().open()
        driver = self._require()
        async with driver.session(database=self.database) as session:
            for statement in LC.SCHEMA:
                await self._call(_consume(session.run(statement)))
            await self._call(_consume(session.run(cypher.AWAIT_INDEXES, seconds=300)))
            for statement, params in apply.PLANNED_AHEAD:
                await self._call(_consume(session.run("EXPLAIN " + statement, params)))

    # --- walks -----------------------------------------------------------------------------
    async def walk_lineage(self, dataset_id: str, *, direction: Direction, depth: int,
                           max_nodes: int) -> LineageGraph:
        walk.check_bounds(depth, max_nodes)

        async def work(tx: Tx) -> LineageGraph:
            return await walk_lineage(tx, dataset_id, direction, depth, max_nodes)
        return await self._read(work)

    async def lineage_paths(self, from_id: str, to_id: str, *, max_depth: int,
                            max_nodes: int, max_paths: int) -> LineagePaths:
        walk.check_bounds(max_depth, max_nodes)

        async def work(tx: Tx) -> LineagePaths:
            if not (await _live(tx, from_id) and await _live(tx, to_id)):
                return LineagePaths(Direction.DOWNSTREAM, [], {}, [])
            search, kept = await _search(tx, from_id, to_id, Direction.DOWNSTREAM, max_depth,
                                         max_nodes)
            if not (search.found or search.truncated):
                search, kept = await _search(tx, from_id, to_id, Direction.UPSTREAM,
                                             max_depth, max_nodes)
            datasets = await _walk_datasets(tx, sorted(search.seen))
            return walk.paths_result(search, kept, datasets, max_paths)
        return await self._read(work)

    async def walk_column_lineage(self, dataset_id: str, field: str, *, direction: Direction,
                                  depth: int, max_nodes: int) -> ColumnLineageGraph:
        walk.check_bounds(depth, max_nodes)

        async def work(tx: Tx) -> ColumnLineageGraph:
            return await walk_columns(tx, dataset_id, field, direction, depth, max_nodes)
        return await self._read(work)

    async def put_column_lineage(self, downstream: DatasetKey, downstream_field: str,
                                 upstream: DatasetKey, upstream_field: str, *,
                                 transformation_type: str = "",
                                 transformation_subtype: str = "",
                                 description: str | None = None, masking: bool = False,
                                 actor: str) -> ColumnLineageEdge:
        spec = ColumnLineageSpec(downstream, downstream_field, upstream, upstream_field,
                                 transformation_type, transformation_subtype, description,
                                 masking)

        async def work(tx: Tx) -> ColumnLineageEdge:
            return await apply.put_column_lineage(tx, spec, actor)
        return await self._write(work)

    # --- OpenLineage events, jobs and runs --------------------------------------------------
    async def ingest_lineage_event(self, event: LineageEvent, *, actor: str) -> IngestResult:
        async def work(tx: Tx) -> IngestResult:
            return await apply.apply_event(tx, event, actor)
        try:
            return await self._write(work)
        except ConflictError:
            # two replicas applying the same event at once: the other one's commit won the
            # event key's uniqueness constraint; this is a replay
            async def check(tx: Tx) -> bool:
                return await one(tx, LC.EVENT_EXISTS, key=event.key) is not None
            if await self._read(check):
                return IngestResult(created=False, key=event.key)
            raise

    async def ingest_lineage_events(self, events: Sequence[LineageEvent], *,
                                    actor: str) -> list[IngestResult]:
        """One write transaction for the batch. A clash with another replica's commit
        (ConflictError) is raised as is: applied one by one, the events tell replays apart."""
        if not events:
            return []

        async def work(tx: Tx) -> list[IngestResult]:
            return await apply.apply_events(tx, events, actor)
        return await self._write(work)   # (UNRECOGNIZED notifications are off: base._QUIET)

    async def get_jobs(self, ids: Sequence[str]) -> list[Job | None]:
        return await self._get_by_ids(LC.JOBS_BY_IDS, "j", job, ids)

    async def get_job(self, namespace: str, name: str) -> Job | None:
        async def work(tx: Tx) -> Job | None:
            found = await one(tx, LC.JOB_BY_KEY,
                              natural_key=records.dataset_key(namespace, name))
            return job(found["j"]) if found else None
        return await self._read(work)

    async def get_jobs_by_key(self, keys: Sequence[tuple[str, str]]) -> list[Job | None]:
        if not keys:
            return []

        async def work(tx: Tx) -> list[Job]:
            wanted = list(dict.fromkeys(records.dataset_key(ns, name) for ns, name in keys))
            return [job(r["j"]) for r in await rows(tx, LC.JOBS_BY_KEYS, keys=wanted)]
        found = {(j.namespace, j.name): j for j in await self._read(work)}
        return [found.get((namespace, name)) for namespace, name in keys]

    async def list_jobs(self, *, namespace: str | None = None, first: int,
                        after: list[Any] | None = None) -> Page[Job]:
        a = after or [None, None]

        async def work(tx: Tx) -> Page[Job]:
            found = [job(r["j"]) for r in await rows(tx, LC.JOB_PAGE, namespace=namespace,
                                                     after_ns=a[0], after_name=a[1],
                                                     limit=first + 1)]
            total = await one(tx, LC.JOB_COUNT, namespace=namespace)
            items = found[:first]
            return Page(items, [[j.namespace, j.name] for j in items], len(found) > first,
                        int(total["n"]) if total else 0)
        return await self._read(work)

    async def get_runs(self, ids: Sequence[str]) -> list[Run | None]:
        return await self._get_by_ids(LC.RUNS_BY_IDS, "r", run, ids)

    async def list_runs(self, *, job_id: str | None = None, first: int,
                        after: list[Any] | None = None) -> Page[Run]:
        after_at = datetime.fromisoformat(after[0]) if after else None
        after_id = after[1] if after else None

        async def work(tx: Tx) -> Page[Run]:
            found = [run(m["r"]) for m in await rows(
                tx, LC.RUN_PAGE, job_id=job_id, after_at=after_at, after_id=after_id,
                limit=first + 1)]
            total = await one(tx, LC.RUN_COUNT, job_id=job_id)
            items = found[:first]
            return Page(items, [[r.created_at.isoformat(timespec="microseconds"), r.id]
                                for r in items], len(found) > first,
                        int(total["n"]) if total else 0)
        return await self._read(work)

    async def list_job_runs(self, job_ids: Sequence[str], *, first: int) -> list[Page[Run]]:
        if not job_ids:
            return []

        async def work(tx: Tx) -> list[Page[Run]]:
            found = await rows(tx, LC.RUNS_OF_JOBS, ids=list(dict.fromkeys(job_ids)),
                               limit=first + 1)
            items = [run(r) for m in found for r in m["runs"]]
            totals = {m["job_id"]: int(m["n"]) for m in found}
            return first_pages(job_ids, items, lambda r: r.job_id, totals, first,
                               lambda r: [r.created_at.isoformat(timespec="microseconds"),
                                          r.id])
        return await self._read(work)

    async def get_run_datasets(self, run_ids: Sequence[str]) -> list[list[RunDataset]]:
        if not run_ids:
            return []

        async def work(tx: Tx) -> list[tuple[str, RunDataset]]:
            return [(r["run_id"], RunDataset(r["run_id"], r["dataset_id"], _ROLE[r["rel"]],
                                             apply.loads(r["facets"])))
                    for r in await rows(tx, LC.RUN_DATASETS_OF, ids=list(run_ids))]
        return grouped(await self._read(work), run_ids)

    async def get_job_datasets(self, job_ids: Sequence[str]
                               ) -> list[list[tuple[str, RunRole]]]:
        if not job_ids:
            return []

        async def work(tx: Tx) -> list[tuple[str, tuple[str, RunRole]]]:
            return [(r["job_id"], (r["dataset_id"], _ROLE[r["rel"]]))
                    for r in await rows(tx, LC.JOB_DATASETS_OF, ids=list(job_ids))]
        return grouped(await self._read(work), job_ids)

    async def get_dataset_facets(self, dataset_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not dataset_ids:
            return []

        async def work(tx: Tx) -> dict[str, dict[str, Any]]:
            return {r["dataset_id"]: apply.loads(r["facets"]) for r in
                    await rows(tx, LC.DATASET_FACETS_OF, ids=list(dataset_ids))}
        found = await self._read(work)
        return [found.get(i, {}) for i in dataset_ids]
