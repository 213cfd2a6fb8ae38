"""Lineage: bounded walks of DERIVED_FROM (lineage, impact, lineagePath) and of column
lineage (columnLineage), and recording new edges (addLineage)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.datasets import DatasetRef, existing_dataset_key
from schema.enums import LineageDirection
from schema.lineage_types import ColumnLineageGraph, ImpactReport, LineagePathResult
from schema.payloads import LineagePayload, attempt
from schema.types import Dataset, LineageEdge, LineageGraph
from server import models
from server.errors import NotFoundError, ValidationError
from server.ids import check_label, check_lineage_name, check_lineage_namespace, check_text
from server.storage.lineage_walk import impact_entries


@strawberry.input
class AddLineageInput:
    downstream: DatasetRef
    upstream: DatasetRef
    transformation: str | None = None
    job: str | None = None


MAX_PATHS = 100   # shortest paths returned by lineagePath at most


def check_walk(info: Info, depth: int, max_nodes: int | None,
               depth_field: str = "depth") -> int:
    """Validate ``depth`` (1..PESO_MAX_LINEAGE_DEPTH) and ``maxNodes``
    (1..PESO_MAX_LINEAGE_NODES, default the cap); return maxNodes."""
    cap = info.context.settings.max_lineage_depth
    if not 1 <= depth <= cap:
        raise ValidationError(f"{depth_field} must be between 1 and {cap}, got {depth}",
                              field=depth_field)
    node_cap = info.context.settings.max_lineage_nodes
    nodes = node_cap if max_nodes is None else max_nodes
    if not 1 <= nodes <= node_cap:
        raise ValidationError(f"maxNodes must be between 1 and {node_cap} "
                              f"(PESO_MAX_LINEAGE_NODES), got {nodes}", field="maxNodes")
    return nodes


async def _dataset(info: Info, namespace: str, name: str) -> models.Dataset | None:
    return await info.context.graph.get_dataset(check_lineage_namespace(namespace),
                                                check_lineage_name(name))


@strawberry.type
class LineageQuery:
    @strawberry.field(description="The lineage subgraph around a dataset, `depth` hops each "
                                  "way (1..PESO_MAX_LINEAGE_DEPTH), at most `maxNodes` "
                                  "datasets (default and cap: PESO_MAX_LINEAGE_NODES; "
                                  "`truncated` says when it stopped there); null if the "
                                  "dataset is absent.")
    async def lineage(self, info: Info, namespace: str, name: str,
                      direction: LineageDirection = LineageDirection.BOTH,
                      depth: int = 3, max_nodes: int | None = None) -> LineageGraph | None:
        nodes = check_walk(info, depth, max_nodes)
        found = await _dataset(info, namespace, name)
        if found is None:
            return None
        graph = await info.context.graph.walk_lineage(
            found.id, direction=models.Direction(direction.value), depth=depth,
            max_nodes=nodes)
        return LineageGraph.from_model(graph)

    @strawberry.field(description="Who to warn: every dataset downstream of this one, nearest "
                                  "first, with its distance, owners and the jobs between "
                                  "(bounded like `lineage`); null if the dataset is absent.")
    async def impact(self, info: Info, namespace: str, name: str, depth: int | None = None,
                     max_nodes: int | None = None) -> ImpactReport | None:
        hops = info.context.settings.max_lineage_depth if depth is None else depth
        nodes = check_walk(info, hops, max_nodes)
        found = await _dataset(info, namespace, name)
        if found is None:
            return None
        graph = await info.context.graph.walk_lineage(
            found.id, direction=models.Direction.DOWNSTREAM, depth=hops, max_nodes=nodes)
        return ImpactReport.build(found, graph, impact_entries(graph))

    @strawberry.field(description="The shortest lineage path(s) between two datasets: `to` "
                                  "derived from `from` (DOWNSTREAM), else the other way "
                                  "(UPSTREAM); at most 100 paths of at most `maxDepth` hops; "
                                  "null if either dataset is absent.")
    async def lineage_path(self, info: Info, from_: Annotated[
            DatasetRef, strawberry.argument(name="from")], to: DatasetRef,
            max_depth: int = 10, max_nodes: int | None = None) -> LineagePathResult | None:
        nodes = check_walk(info, max_depth, max_nodes, "maxDepth")
        start = await _dataset(info, from_.namespace, from_.name)
        end = await _dataset(info, to.namespace, to.name)
        if start is None or end is None:
            return None
        found = await info.context.graph.lineage_paths(start.id, end.id, max_depth=max_depth,
                                                       max_nodes=nodes, max_paths=MAX_PATHS)
        return LineagePathResult.build(start, end, found)

    @strawberry.field(description="Column lineage around one field of a dataset "
                                  "(FIELD_DERIVED_FROM), bounded like `lineage`; null if the "
                                  "dataset is absent.")
    async def column_lineage(self, info: Info, namespace: str, name: str, field: str,
                             direction: LineageDirection = LineageDirection.BOTH,
                             depth: int = 3, max_nodes: int | None = None
                             ) -> ColumnLineageGraph | None:
        nodes = check_walk(info, depth, max_nodes)
        found = await _dataset(info, namespace, name)
        if found is None:
            return None
        graph = await info.context.graph.walk_column_lineage(
            found.id, check_label(field, field="field", limit=1000),
            direction=models.Direction(direction.value), depth=depth, max_nodes=nodes)
        if not graph.edges:
            await _known_field(info, found, field)
        return ColumnLineageGraph.from_model(graph)


MAX_FIELDS_NAMED = 20  # how many of a dataset's fields an unknown-field error lists


async def _known_field(info: Info, dataset: models.Dataset, field: str) -> None:
    """An answer without edges for a field the dataset's schema lacks is a typo, not an empty
    lineage (issue 10): say so, with the fields it has. A dataset without a schema (known only
    from lineage events) can't be checked."""
    latest = await info.context.loaders.latest_version.load(dataset.id)
    if latest is None:
        return
    names = [f.name for f in await info.context.loaders.fields.load(latest.id)]
    if names and field not in names:
        shown = ", ".join(names[:MAX_FIELDS_NAMED]) + (", …" if len(names) > MAX_FIELDS_NAMED
                                                        else "")
        raise ValidationError(f"dataset {dataset.namespace}/{dataset.name} has no field "
                              f"{field!r} (its fields: {shown})", field="field")


@strawberry.type
class LineageMutation:
    @strawberry.mutation(description="Record that `downstream` is derived from `upstream`.")
    async def add_lineage(self, info: Info, input: AddLineageInput
                          ) -> LineagePayload:
        graph = info.context.graph

        async def run() -> LineageEdge:
            down = existing_dataset_key(input.downstream.namespace, input.downstream.name)
            up = existing_dataset_key(input.upstream.namespace, input.upstream.name)
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
