"""Contract: column lineage as first-class records (put_column_lineage, columnLineage
facets) and its bounded walk (walk_column_lineage), on every backend."""

from __future__ import annotations

import pytest

from server.errors import ConflictError, NotFoundError
from server.models import ColumnLineageGraph, Direction
from server.storage.graph import GraphStore
from tests.contract.helpers import ACTOR, actions, audit_mark, audit_since, dataset, key
from tests.lineage_events import column_lineage, ds, event, new_run_id, run_event

W = "warehouse"


def _nodes(g: ColumnLineageGraph) -> list[tuple[str, str, int]]:
    return [(n.dataset.name, n.field, n.depth) for n in g.nodes]


async def _columns(graph: GraphStore, name: str, field: str, direction: Direction,
                   depth: int = 5, max_nodes: int = 100) -> ColumnLineageGraph:
    found = await graph.get_dataset(W, name)
    assert found is not None
    return await graph.walk_column_lineage(found.id, field, direction=direction, depth=depth,
                                           max_nodes=max_nodes)


async def test_put_column_lineage_directly(graph: GraphStore) -> None:
    a, b = await dataset(graph, W, "a"), await dataset(graph, W, "b")
    mark = await audit_mark(graph)
    edge = await graph.put_column_lineage(key(W, "b"), "email_hash", key(W, "a"), "email",
                                          transformation_type="DIRECT",
                                          transformation_subtype="TRANSFORMATION",
                                          description="sha256(email)", masking=True,
                                          actor=ACTOR)
    assert (edge.downstream_id, edge.upstream_id, edge.masking) == (b.id, a.id, True)
    assert (edge.job_id, edge.run_id) == (None, None)
    again = await graph.put_column_lineage(key(W, "b"), "email_hash", key(W, "a"), "email",
                                           transformation_type="DIRECT",
                                           transformation_subtype="TRANSFORMATION",
                                           description="sha256(email)", masking=True,
                                           actor=ACTOR)
    assert again == edge
    assert actions(await audit_since(graph, mark)) == ["column_lineage.added"]
    with pytest.raises(NotFoundError):
        await graph.put_column_lineage(key(W, "b"), "x", key(W, "missing"), "y", actor=ACTOR)
    with pytest.raises(ConflictError):
        await graph.put_column_lineage(key(W, "a"), "x", key(W, "a"), "x", actor=ACTOR)
    g = await _columns(graph, "b", "email_hash", Direction.UPSTREAM)
    assert _nodes(g) == [("a", "email", -1), ("b", "email_hash", 0)]
    [only] = g.edges
    assert (only.transformation_type, only.transformation_subtype, only.description) == (
        "DIRECT", "TRANSFORMATION", "sha256(email)")


@pytest.fixture
async def pipeline(graph: GraphStore) -> str:
    """crm(id, email) -> clean(id, email) -> audience(member_id); audience also from
    scores(score). Recorded by two runs with columnLineage facets."""
    run_id = new_run_id()
    await graph.ingest_lineage_event(event(run_event(
        "clean", new_run_id(), inputs=[ds("crm", fields=["id", "email"])],
        outputs=[ds("clean", fields=["id", "email"], columnLineage=column_lineage(
            {"id": [(W, "crm", "id")], "email": [(W, "crm", "email")]}))])), actor=ACTOR)
    await graph.ingest_lineage_event(event(run_event(
        "segment", run_id, inputs=[ds("clean"), ds("scores")],
        outputs=[ds("audience", columnLineage=column_lineage(
            {"member_id": [(W, "clean", "id")], "score": [(W, "scores", "score")]},
            subtype="AGGREGATION"))])), actor=ACTOR)
    return run_id


async def test_column_lineage_from_events_walks_both_ways(graph: GraphStore,
                                                          pipeline: str) -> None:
    g = await _columns(graph, "audience", "member_id", Direction.UPSTREAM)
    assert _nodes(g) == [("crm", "id", -2), ("clean", "id", -1), ("audience", "member_id", 0)]
    assert [(e.downstream_field, e.upstream_field, e.transformation_subtype) for e in g.edges] \
        == [("member_id", "id", "AGGREGATION"), ("id", "id", "IDENTITY")]
    assert g.edges[0].run_id == pipeline
    assert g.edges[0].job_id is not None
    down = await _columns(graph, "crm", "email", Direction.DOWNSTREAM)
    assert _nodes(down) == [("crm", "email", 0), ("clean", "email", 1)]
    both = await _columns(graph, "clean", "id", Direction.BOTH, depth=1)
    assert _nodes(both) == [("crm", "id", -1), ("clean", "id", 0), ("audience", "member_id", 1)]
    # column lineage implies dataset lineage, input or not
    scores = await graph.get_dataset(W, "scores")
    assert scores is not None
    impact = await graph.walk_lineage(scores.id, direction=Direction.DOWNSTREAM, depth=3,
                                      max_nodes=10)
    assert [n.dataset.name for n in impact.nodes] == ["scores", "audience"]


async def test_replaying_column_lineage_adds_nothing(graph: GraphStore, pipeline: str) -> None:
    mark = await audit_mark(graph)
    await graph.ingest_lineage_event(event(run_event(
        "clean", new_run_id(), inputs=[ds("crm", fields=["id", "email"])],
        outputs=[ds("clean", fields=["id", "email"], columnLineage=column_lineage(
            {"id": [(W, "crm", "id")], "email": [(W, "crm", "email")]}))])), actor=ACTOR)
    assert "column_lineage.added" not in actions(await audit_since(graph, mark))
    g = await _columns(graph, "clean", "id", Direction.UPSTREAM)
    assert len(g.edges) == 1


async def test_column_walks_are_bounded_and_cycle_safe(graph: GraphStore) -> None:
    for name in ("p", "q"):
        await dataset(graph, W, name)
    await graph.put_column_lineage(key(W, "q"), "v", key(W, "p"), "v", actor=ACTOR)
    await graph.put_column_lineage(key(W, "p"), "v", key(W, "q"), "v", actor=ACTOR)
    g = await _columns(graph, "p", "v", Direction.UPSTREAM, depth=20)
    assert _nodes(g) == [("q", "v", -1), ("p", "v", 0)]
    assert len(g.edges) == 2
    hub = await dataset(graph, W, "hub")
    for i in range(6):
        await graph.put_column_lineage(key(W, "hub"), "all", key(W, "p"), f"f{i}",
                                       actor=ACTOR)
    cut = await graph.walk_column_lineage(hub.id, "all", direction=Direction.UPSTREAM,
                                          depth=3, max_nodes=3)
    assert _nodes(cut) == [("p", "f0", -1), ("p", "f1", -1), ("hub", "all", 0)]
    assert cut.truncated
