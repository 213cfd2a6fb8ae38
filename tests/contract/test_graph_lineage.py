"""Contract: lineage edges (put) and traversal (get) over chains, diamonds and cycles."""

from __future__ import annotations

import pytest

from server.errors import ConflictError, NotFoundError, ValidationError
from server.models import Dataset, Direction, LineageGraph
from server.storage.graph import GraphStore
from tests.contract.helpers import ACTOR, actions, audit_mark, audit_since, dataset, is_aware, key


async def _make(graph: GraphStore, *names: str) -> dict[str, Dataset]:
    return {n: await dataset(graph, "lin", n) for n in names}


async def _derive(graph: GraphStore, downstream: str, upstream: str) -> None:
    await graph.put_lineage(key("lin", downstream), key("lin", upstream), actor=ACTOR)


def _nodes(g: LineageGraph) -> list[tuple[str, int]]:
    return [(n.dataset.name, n.depth) for n in g.nodes]


def _edges(g: LineageGraph, ds: dict[str, Dataset]) -> set[tuple[str, str]]:
    names = {d.id: n for n, d in ds.items()}
    return {(names[e.downstream_id], names[e.upstream_id]) for e in g.edges}


def _check_shape(g: LineageGraph) -> None:
    """Every node once, every edge between two returned nodes, deterministic node order."""
    ids = [n.dataset.id for n in g.nodes]
    assert len(ids) == len(set(ids)), "a node appears twice"
    assert all(e.downstream_id in ids and e.upstream_id in ids for e in g.edges)
    pairs = [(e.downstream_id, e.upstream_id) for e in g.edges]
    assert len(pairs) == len(set(pairs)), "an edge appears twice"
    assert [(n.depth, n.dataset.namespace, n.dataset.name) for n in g.nodes] == sorted(
        (n.depth, n.dataset.namespace, n.dataset.name) for n in g.nodes)


# --- put ---------------------------------------------------------------------------------


async def test_put_lineage_then_get(graph: GraphStore) -> None:
    ds = await _make(graph, "raw", "clean")
    mark = await audit_mark(graph)
    edge = await graph.put_lineage(key("lin", "clean"), key("lin", "raw"),
                                   transformation="dedupe + cast", job="nightly", actor="etl")
    assert (edge.downstream_id, edge.upstream_id) == (ds["clean"].id, ds["raw"].id)
    assert (edge.transformation, edge.job) == ("dedupe + cast", "nightly")
    assert is_aware(edge.created_at)
    g = await graph.get_lineage(ds["clean"].id, direction=Direction.UPSTREAM, depth=1)
    assert g.edges == [edge]
    events = await audit_since(graph, mark)
    assert [(e.action, e.actor, e.target_kind, e.target_id) for e in events] == [
        ("lineage.added", "etl", "Dataset", ds["clean"].id)]


async def test_put_lineage_again_updates_or_is_a_noop(graph: GraphStore) -> None:
    ds = await _make(graph, "a", "b")
    await graph.put_lineage(key("lin", "b"), key("lin", "a"), transformation="t1", actor=ACTOR)
    mark = await audit_mark(graph)
    same = await graph.put_lineage(key("lin", "b"), key("lin", "a"), transformation="t1",
                                   actor=ACTOR)
    assert same.transformation == "t1"
    assert await audit_since(graph, mark) == []
    changed = await graph.put_lineage(key("lin", "b"), key("lin", "a"), transformation="t2",
                                      job="j", actor=ACTOR)
    assert (changed.transformation, changed.job) == ("t2", "j")
    g = await graph.get_lineage(ds["b"].id, direction=Direction.UPSTREAM, depth=1)
    assert [(e.transformation, e.job) for e in g.edges] == [("t2", "j")]
    assert actions(await audit_since(graph, mark)) == ["lineage.added"]


async def test_self_edge_is_a_conflict(graph: GraphStore) -> None:
    ds = await _make(graph, "a")
    mark = await audit_mark(graph)
    with pytest.raises(ConflictError):
        await graph.put_lineage(key("lin", "a"), key("lin", "a"), actor=ACTOR)
    assert await audit_since(graph, mark) == []
    g = await graph.get_lineage(ds["a"].id, direction=Direction.BOTH, depth=3)
    assert (_nodes(g), g.edges) == ([("a", 0)], [])


async def test_put_lineage_needs_both_datasets(graph: GraphStore) -> None:
    await _make(graph, "a")
    mark = await audit_mark(graph)
    with pytest.raises(NotFoundError):
        await graph.put_lineage(key("lin", "a"), key("lin", "missing"), actor=ACTOR)
    with pytest.raises(NotFoundError):
        await graph.put_lineage(key("lin", "missing"), key("lin", "a"), actor=ACTOR)
    assert await audit_since(graph, mark) == []


# --- traversal ---------------------------------------------------------------------------


@pytest.fixture
async def chain(graph: GraphStore) -> dict[str, Dataset]:
    """d0 <- d1 <- d2 <- d3 <- d4 (each derived from the one before)."""
    ds = await _make(graph, "d0", "d1", "d2", "d3", "d4")
    for i in range(1, 5):
        await _derive(graph, f"d{i}", f"d{i - 1}")
    return ds


async def test_chain_upstream_respects_depth(graph: GraphStore, chain: dict[str, Dataset]
                                             ) -> None:
    g = await graph.get_lineage(chain["d4"].id, direction=Direction.UPSTREAM, depth=2)
    _check_shape(g)
    assert _nodes(g) == [("d2", -2), ("d3", -1), ("d4", 0)]
    assert _edges(g, chain) == {("d4", "d3"), ("d3", "d2")}
    g = await graph.get_lineage(chain["d4"].id, direction=Direction.UPSTREAM, depth=10)
    assert _nodes(g) == [("d0", -4), ("d1", -3), ("d2", -2), ("d3", -1), ("d4", 0)]
    assert len(g.edges) == 4
    # nothing downstream of the end of the chain
    g = await graph.get_lineage(chain["d4"].id, direction=Direction.DOWNSTREAM, depth=10)
    assert (_nodes(g), g.edges) == ([("d4", 0)], [])


async def test_chain_downstream_and_both(graph: GraphStore, chain: dict[str, Dataset]) -> None:
    g = await graph.get_lineage(chain["d0"].id, direction=Direction.DOWNSTREAM, depth=1)
    assert _nodes(g) == [("d0", 0), ("d1", 1)]
    assert _edges(g, chain) == {("d1", "d0")}
    g = await graph.get_lineage(chain["d2"].id, direction=Direction.BOTH, depth=1)
    _check_shape(g)
    assert _nodes(g) == [("d1", -1), ("d2", 0), ("d3", 1)]
    assert _edges(g, chain) == {("d2", "d1"), ("d3", "d2")}
    g = await graph.get_lineage(chain["d2"].id, direction=Direction.BOTH, depth=2)
    assert _nodes(g) == [("d0", -2), ("d1", -1), ("d2", 0), ("d3", 1), ("d4", 2)]
    assert len(g.edges) == 4


async def test_depth_zero_is_the_start_alone(graph: GraphStore, chain: dict[str, Dataset]
                                             ) -> None:
    for direction in Direction:
        g = await graph.get_lineage(chain["d2"].id, direction=direction, depth=0)
        assert (_nodes(g), g.edges) == ([("d2", 0)], [])
        assert g.nodes[0].dataset == chain["d2"]


async def test_negative_depth_is_refused(graph: GraphStore, chain: dict[str, Dataset]) -> None:
    with pytest.raises(ValidationError):
        await graph.get_lineage(chain["d2"].id, direction=Direction.BOTH, depth=-1)


async def test_unknown_start_has_no_nodes(graph: GraphStore, chain: dict[str, Dataset]) -> None:
    g = await graph.get_lineage("no-such-dataset", direction=Direction.BOTH, depth=3)
    assert (g.nodes, g.edges) == ([], [])


async def test_deleted_dataset_breaks_the_walk(graph: GraphStore, chain: dict[str, Dataset]
                                               ) -> None:
    await graph.delete_dataset("lin", "d2", actor=ACTOR)
    g = await graph.get_lineage(chain["d4"].id, direction=Direction.UPSTREAM, depth=10)
    assert _nodes(g) == [("d3", -1), ("d4", 0)]
    assert _edges(g, chain) == {("d4", "d3")}
    g = await graph.get_lineage(chain["d0"].id, direction=Direction.DOWNSTREAM, depth=10)
    assert _nodes(g) == [("d0", 0), ("d1", 1)]
    # a deleted start shows nothing
    g = await graph.get_lineage(chain["d2"].id, direction=Direction.BOTH, depth=10)
    assert (g.nodes, g.edges) == ([], [])
    # restoring it brings the whole chain back
    await dataset(graph, "lin", "d2")
    g = await graph.get_lineage(chain["d4"].id, direction=Direction.UPSTREAM, depth=10)
    assert len(g.nodes) == 5
    assert len(g.edges) == 4


async def test_diamond_has_each_node_once(graph: GraphStore) -> None:
    """top <- left, top <- right, left <- bottom, right <- bottom."""
    ds = await _make(graph, "top", "left", "right", "bottom")
    for down, up in [("left", "top"), ("right", "top"), ("bottom", "left"),
                     ("bottom", "right")]:
        await _derive(graph, down, up)
    g = await graph.get_lineage(ds["bottom"].id, direction=Direction.UPSTREAM, depth=5)
    _check_shape(g)
    assert _nodes(g) == [("top", -2), ("left", -1), ("right", -1), ("bottom", 0)]
    assert _edges(g, ds) == {("left", "top"), ("right", "top"), ("bottom", "left"),
                             ("bottom", "right")}
    g = await graph.get_lineage(ds["top"].id, direction=Direction.DOWNSTREAM, depth=5)
    _check_shape(g)
    assert _nodes(g) == [("top", 0), ("left", 1), ("right", 1), ("bottom", 2)]
    assert len(g.edges) == 4
    # depth 1 from the bottom: the two parents and the two edges to them, not the top
    g = await graph.get_lineage(ds["bottom"].id, direction=Direction.UPSTREAM, depth=1)
    assert _nodes(g) == [("left", -1), ("right", -1), ("bottom", 0)]
    assert _edges(g, ds) == {("bottom", "left"), ("bottom", "right")}


async def test_cycle_terminates_with_each_node_once(graph: GraphStore) -> None:
    """a <- b <- c <- a: a cycle is allowed, and traversal must still end."""
    ds = await _make(graph, "a", "b", "c", "outside")
    for down, up in [("b", "a"), ("c", "b"), ("a", "c")]:
        await _derive(graph, down, up)
    await _derive(graph, "outside", "c")
    cycle_edges = {("b", "a"), ("c", "b"), ("a", "c")}
    g = await graph.get_lineage(ds["a"].id, direction=Direction.UPSTREAM, depth=50)
    _check_shape(g)
    assert _nodes(g) == [("b", -2), ("c", -1), ("a", 0)]
    assert _edges(g, ds) == cycle_edges
    g = await graph.get_lineage(ds["a"].id, direction=Direction.DOWNSTREAM, depth=50)
    _check_shape(g)
    assert _nodes(g) == [("a", 0), ("b", 1), ("c", 2), ("outside", 3)]
    assert _edges(g, ds) == cycle_edges | {("outside", "c")}
    g = await graph.get_lineage(ds["b"].id, direction=Direction.BOTH, depth=50)
    _check_shape(g)
    assert {n.dataset.name for n in g.nodes} == {"a", "b", "c", "outside"}
    assert _edges(g, ds) == cycle_edges | {("outside", "c")}
    assert [n.depth for n in g.nodes if n.dataset.name == "b"] == [0]


async def test_traversal_order_is_deterministic(graph: GraphStore) -> None:
    ds = await _make(graph, "hub", "z", "y", "x")
    for n in ["z", "y", "x"]:
        await _derive(graph, n, "hub")
    first = await graph.get_lineage(ds["hub"].id, direction=Direction.BOTH, depth=2)
    second = await graph.get_lineage(ds["hub"].id, direction=Direction.BOTH, depth=2)
    assert first == second
    assert _nodes(first) == [("hub", 0), ("x", 1), ("y", 1), ("z", 1)]
