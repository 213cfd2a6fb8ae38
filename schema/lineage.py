"""Lineage: walk DERIVED_FROM edges, and record new ones."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.datasets import DatasetRef, dataset_key
from schema.enums import LineageDirection
from schema.payloads import LineagePayload, attempt
from schema.types import Dataset, LineageEdge, LineageGraph
from server import models
from server.errors import NotFoundError, ValidationError
from server.ids import check_label, check_text


@strawberry.input
class AddLineageInput:
    downstream: DatasetRef
    upstream: DatasetRef
    transformation: str | None = None
    job: str | None = None


@strawberry.type
class LineageQuery:
    @strawberry.field(description="The lineage subgraph around a dataset, `depth` hops each "
                                  "way (1..PESO_MAX_LINEAGE_DEPTH); null if the dataset is absent.")
    async def lineage(self, info: Info, namespace: str, name: str,
                      direction: LineageDirection = LineageDirection.BOTH,
                      depth: int = 3) -> LineageGraph | None:
        cap = info.context.settings.max_lineage_depth
        if not 1 <= depth <= cap:
            raise ValidationError(f"depth must be between 1 and {cap}, got {depth}",
                                  field="depth")
        found = await info.context.graph.get_dataset(namespace, name)
        if found is None:
            return None
        graph = await info.context.graph.get_lineage(
            found.id, direction=models.Direction(direction.value), depth=depth)
        return LineageGraph.from_model(graph)


@strawberry.type
class LineageMutation:
    @strawberry.mutation(description="Record that `downstream` is derived from `upstream`.")
    async def add_lineage(self, info: Info, input: AddLineageInput
                          ) -> LineagePayload:
        graph = info.context.graph

        async def run() -> LineageEdge:
            down = dataset_key(input.downstream.namespace, input.downstream.name)
            up = dataset_key(input.upstream.namespace, input.upstream.name)
            edge = await graph.put_lineage(
                down, up, actor=info.context.actor,
                transformation=check_text(input.transformation, field="transformation",
                                          limit=2000),
                job=check_label(input.job, field="job") if input.job else None)
            d, u = await graph.get_datasets([edge.downstream_id, edge.upstream_id])
            if d is None or u is None:
                raise NotFoundError("a dataset of this edge vanished")
            return LineageEdge(downstream=Dataset.from_model(d), upstream=Dataset.from_model(u),
                               transformation=edge.transformation, job=edge.job,
                               created_at=edge.created_at)
        found, errors = await attempt(run())
        return LineagePayload(edge=found, errors=errors)
