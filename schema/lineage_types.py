"""GraphQL types of the lineage answers beyond the dataset graph: impact (who to warn),
shortest paths, and column lineage."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.context import Info
from schema.enums import LineageDirection, OwnerKind
from schema.types import Dataset, LineageEdge, Owner
from server import models
from server.ids import to_global_id
from server.storage.lineage_walk import ImpactEntry as ImpactModel

if TYPE_CHECKING:
    from schema.jobs import Job, Run


@strawberry.type(description="A dataset downstream of the start: how far, who owns it, and "
                             "the jobs (and edges) it was reached by.")
class ImpactEntry:
    dataset: Dataset
    distance: int = strawberry.field(description="Hops downstream of the start (1: direct).")
    via: list[LineageEdge] = strawberry.field(
        description="The edges from datasets one hop closer to the start.")
    job_names: list[str] = strawberry.field(description="The job names on those edges.")
    model: strawberry.Private[ImpactModel]

    @strawberry.field
    async def owners(self, info: Info) -> list[Owner]:
        return [Owner(name=o.name, kind=OwnerKind(o.kind.value), email=o.email)
                for o in await info.context.loaders.owners.load(self.model.dataset.id)]

    @strawberry.field(description="The OpenLineage jobs on those edges.")
    async def jobs(self, info: Info) -> list[Annotated[Job, strawberry.lazy("schema.jobs")]]:
        from schema.jobs import Job

        found = await info.context.loaders.job.load_many(self.model.job_ids)
        return [Job.from_model(j) for j in found if j is not None]


@strawberry.type(description="Everything downstream of a dataset: what breaks if it changes.")
class ImpactReport:
    dataset: Dataset
    entries: list[ImpactEntry] = strawberry.field(description="Nearest first, then by name.")
    truncated: bool = strawberry.field(description="The walk stopped at `maxNodes` datasets.")
    nodes_total: int = strawberry.field(description="Datasets reached (the start included).")

    @classmethod
    def build(cls, start: models.Dataset, graph: models.LineageGraph,
              entries: list[ImpactModel]) -> ImpactReport:
        by_id = {n.dataset.id: Dataset.from_model(n.dataset) for n in graph.nodes}
        return cls(
            dataset=by_id.get(start.id) or Dataset.from_model(start),
            entries=[ImpactEntry(dataset=by_id[e.dataset.id], distance=e.distance,
                                 via=[LineageEdge.from_model(v, by_id) for v in e.via],
                                 job_names=e.job_labels, model=e) for e in entries],
            truncated=graph.truncated,
            nodes_total=len(graph.nodes) if graph.nodes_total is None else graph.nodes_total)


@strawberry.type(description="One shortest path: datasets first to last, and the edges "
                             "between consecutive ones.")
class LineagePath:
    datasets: list[Dataset]
    edges: list[LineageEdge]


@strawberry.type(description="The shortest lineage paths between two datasets.")
class LineagePathResult:
    from_: Dataset = strawberry.field(name="from")
    to: Dataset
    direction: LineageDirection = strawberry.field(
        description="DOWNSTREAM: `to` is derived from `from`; UPSTREAM: the other way round.")
    length: int | None = strawberry.field(
        description="Hops along each path (null when there is none).")
    paths: list[LineagePath] = strawberry.field(
        description="Every shortest path (at most 100), ordered by the names along them.")
    truncated: bool = strawberry.field(
        description="The search stopped at `maxNodes` datasets, or there were more paths.")

    @classmethod
    def build(cls, start: models.Dataset, end: models.Dataset,
              found: models.LineagePaths) -> LineagePathResult:
        by_id = {i: Dataset.from_model(d) for i, d in found.datasets.items()}
        edges = {(e.downstream_id, e.upstream_id): e for e in found.edges}
        paths = []
        for ids in found.paths:
            steps = []
            for a, b in itertools.pairwise(ids):
                edge = edges.get((b, a)) or edges.get((a, b))
                if edge is not None:
                    steps.append(LineageEdge.from_model(edge, by_id))
            paths.append(LineagePath(datasets=[by_id[i] for i in ids], edges=steps))
        return cls(from_=by_id.get(start.id) or Dataset.from_model(start),
                   to=by_id.get(end.id) or Dataset.from_model(end),
                   direction=LineageDirection(found.direction.value),
                   length=len(found.paths[0]) - 1 if found.paths else None, paths=paths,
                   truncated=found.truncated)


@strawberry.type(description="A column reached by a column-lineage walk.")
class ColumnLineageNode:
    id: strawberry.ID = strawberry.field(description="A typed id: DatasetField:<dataset>:<field>.")
    dataset: Dataset
    field: str
    depth: int = strawberry.field(
        description="Hops from the start: negative upstream, positive downstream, 0 the start.")


@strawberry.type(description="`downstreamField` of `downstream` is derived from "
                             "`upstreamField` of `upstream` (FIELD_DERIVED_FROM).")
class ColumnLineageEdge:
    downstream: Dataset
    downstream_field: str
    upstream: Dataset
    upstream_field: str
    transformation_type: str = strawberry.field(
        description="DIRECT or INDIRECT (OpenLineage); empty when not said.")
    transformation_subtype: str = strawberry.field(
        description="IDENTITY, TRANSFORMATION, AGGREGATION, FILTER, JOIN, …; empty when not "
                    "said.")
    description: str | None
    masking: bool
    model: strawberry.Private[models.ColumnLineageEdge]

    @strawberry.field(description="The OpenLineage job that recorded it.")
    async def via_job(self, info: Info) -> Annotated[Job, strawberry.lazy("schema.jobs")] | None:
        from schema.jobs import load_job

        return await load_job(info, self.model.job_id)

    @strawberry.field(description="The latest run that did.")
    async def via_run(self, info: Info) -> Annotated[Run, strawberry.lazy("schema.jobs")] | None:
        from schema.jobs import load_run

        return await load_run(info, self.model.run_id)


@strawberry.type(description="A column-lineage subgraph in deterministic order.")
class ColumnLineageGraph:
    nodes: list[ColumnLineageNode]
    edges: list[ColumnLineageEdge]
    truncated: bool
    nodes_total: int

    @classmethod
    def from_model(cls, g: models.ColumnLineageGraph) -> ColumnLineageGraph:
        by_id = {n.dataset.id: Dataset.from_model(n.dataset) for n in g.nodes}
        return cls(
            nodes=[ColumnLineageNode(
                id=strawberry.ID(to_global_id("DatasetField", f"{n.dataset.id}:{n.field}")),
                dataset=by_id[n.dataset.id], field=n.field, depth=n.depth) for n in g.nodes],
            edges=[ColumnLineageEdge(
                downstream=by_id[e.downstream_id], downstream_field=e.downstream_field,
                upstream=by_id[e.upstream_id], upstream_field=e.upstream_field,
                transformation_type=e.transformation_type,
                transformation_subtype=e.transformation_subtype, description=e.description,
                masking=e.masking, model=e)
                for e in g.edges if e.downstream_id in by_id and e.upstream_id in by_id],
            truncated=g.truncated,
            nodes_total=len(g.nodes) if g.nodes_total is None else g.nodes_total)
