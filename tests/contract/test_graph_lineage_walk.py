"""Contract: bounded lineage walks (walk_lineage), shortest paths (lineage_paths) and impact,
over chains, diamonds, cycles and hubs — the same answers on every backend."""

from __future__ import annotations

import pytest

from server.errors import ValidationError
from server.models import Dataset, Direction, LineageGraph
from server.storage.graph import GraphStore
from server.storage.lineage_walk import impact_entries
from tests.contract.helpers import ACTOR, dataset, key
from tests.lineage_events import derive

NS = "walk"


async def _make(graph: GraphStore, *names: str) -> dict[str, Dataset]:
    return {n: await dataset(graph, NS, n) for n in names}


async def _derive(graph: GraphStore, downstream: str, upstream: str) -> None:
    await graph.put_lineage(key(NS, downstream), key(NS, upstream), actor=ACTOR)


def _nodes(g: LineageGraph) -> list[tuple[str, int]]:
    return [(n.dataset.name, n.depth) for n in g.nodes]


def _edges(g: LineageGraph) -> list[tuple[str, str]]:
    names = {n.dataset.id: n.dataset.name for n in g.nodes}
    return [(names[e.downstream_id], names[e.upstream_id]) for e in g.edges]


async def _walk(graph: GraphStore, start: Dataset, direction: Direction, depth: int = 10,
                max_nodes: int = 100) -> LineageGraph:
    return await graph.walk_lineage(start.id, direction=direction, depth=depth,
                                    max_nodes=max_nodes)


@pytest.fixture
async def chain(graph: GraphStore) -> dict[str, Dataset]:
    """c0 <- c1 <- c2 <- c3 <- c4."""
    ds = await _make(graph, *(f"c{i}" for i in range(5)))
    for i in range(1, 5):
        await _derive(graph, f"c{i}", f"c{i - 1}")
    return ds


@pytest.fixture
async def diamond(graph: GraphStore) -> dict[str, Dataset]:
    """top <- left, right <- bottom (bottom derived from both)."""
    ds = await _make(graph, "top", "left", "right", "bottom")
    for down, up in (("left", "top"), ("right", "top"), ("bottom", "left"),
                     ("bottom", "right")):
        await _derive(graph, down, up)
    return ds


async def test_chain_both_ways_with_depth(graph: GraphStore, chain: dict[str, Dataset]) -> None:
    g = await _walk(graph, chain["c2"], Direction.BOTH, depth=1)
    assert _nodes(g) == [("c1", -1), ("c2", 0), ("c3", 1)]
    assert _edges(g) == [("c2", "c1"), ("c3", "c2")]
    assert (g.truncated, g.nodes_total) == (False, 3)
    g = await _walk(graph, chain["c4"], Direction.UPSTREAM)
    assert _nodes(g) == [("c0", -4), ("c1", -3), ("c2", -2), ("c3", -1), ("c4", 0)]
    assert len(g.edges) == 4
    assert (await _walk(graph, chain["c4"], Direction.DOWNSTREAM)).nodes[0].depth == 0


async def test_same_answer_as_get_lineage(graph: GraphStore, diamond: dict[str, Dataset]
                                          ) -> None:
    for direction in Direction:
        old = await graph.get_lineage(diamond["bottom"].id, direction=direction, depth=5)
        new = await _walk(graph, diamond["bottom"], direction, depth=5)
        assert (_nodes(new), _edges(new)) == (_nodes(old), _edges(old))


async def test_diamond_visits_each_node_once(graph: GraphStore,
                                             diamond: dict[str, Dataset]) -> None:
    g = await _walk(graph, diamond["bottom"], Direction.UPSTREAM)
    assert _nodes(g) == [("top", -2), ("left", -1), ("right", -1), ("bottom", 0)]
    assert _edges(g) == [("bottom", "left"), ("bottom", "right"), ("left", "top"),
                         ("right", "top")]


async def test_a_cycle_ends(graph: GraphStore) -> None:
    ds = await _make(graph, "x", "y", "z")
    for down, up in (("y", "x"), ("z", "y"), ("x", "z")):
        await _derive(graph, down, up)
    g = await _walk(graph, ds["x"], Direction.BOTH, depth=20)
    # each node once, at the depth it was first reached: z one hop up, y one hop down
    assert _nodes(g) == [("z", -1), ("x", 0), ("y", 1)]
    assert len(g.edges) == 3
    assert not g.truncated


async def test_max_nodes_truncates_deterministically(graph: GraphStore) -> None:
    """A hub with 12 inputs: a budget of 5 keeps the start and the first 4 by name."""
    ds = await _make(graph, "hub", *(f"in{i:02d}" for i in range(12)))
    for i in range(12):
        await _derive(graph, "hub", f"in{i:02d}")
    g = await _walk(graph, ds["hub"], Direction.UPSTREAM, max_nodes=5)
    assert _nodes(g) == [("in00", -1), ("in01", -1), ("in02", -1), ("in03", -1), ("hub", 0)]
    assert g.truncated
    assert 5 < (g.nodes_total or 0) <= 13
    assert len(g.edges) == 4
    whole = await _walk(graph, ds["hub"], Direction.UPSTREAM, max_nodes=13)
    assert (len(whole.nodes), whole.truncated, whole.nodes_total) == (13, False, 13)
    # exactly at the cap with nothing left over is not truncated
    chain = await _walk(graph, ds["in03"], Direction.DOWNSTREAM, max_nodes=2)
    assert (_nodes(chain), chain.truncated) == ([("in03", 0), ("hub", 1)], False)


async def test_bounds_are_checked(graph: GraphStore, chain: dict[str, Dataset]) -> None:
    for depth, nodes in ((-1, 10), (1, 0), (True, 10), (1, 2.5)):
        with pytest.raises(ValidationError):
            await graph.walk_lineage(chain["c1"].id, direction=Direction.BOTH,
                                     depth=depth, max_nodes=nodes)  # type: ignore[arg-type]


async def test_deleted_datasets_stop_the_walk(graph: GraphStore,
                                              chain: dict[str, Dataset]) -> None:
    await graph.delete_dataset(NS, "c2", actor=ACTOR)
    assert _nodes(await _walk(graph, chain["c4"], Direction.UPSTREAM)) == [("c3", -1),
                                                                          ("c4", 0)]
    g = await _walk(graph, chain["c2"], Direction.BOTH)
    assert (g.nodes, g.edges) == ([], [])


async def test_edges_carry_the_job_and_run(graph: GraphStore) -> None:
    result = await graph.ingest_lineage_event(derive("build", ["mart"], ["raw"]), actor=ACTOR)
    mart = await graph.get_dataset("warehouse", "mart")
    assert mart is not None
    g = await graph.walk_lineage(mart.id, direction=Direction.UPSTREAM, depth=1, max_nodes=10)
    [edge] = g.edges
    assert (edge.job, edge.job_id, edge.run_id) == ("build", result.job_id, result.run_id)


# --- shortest paths ----------------------------------------------------------------------

async def test_paths_along_a_chain_both_ways(graph: GraphStore,
                                             chain: dict[str, Dataset]) -> None:
    found = await graph.lineage_paths(chain["c0"].id, chain["c3"].id, max_depth=10,
                                      max_nodes=100, max_paths=10)
    assert found.direction is Direction.DOWNSTREAM
    assert [[found.datasets[i].name for i in p] for p in found.paths] == [
        ["c0", "c1", "c2", "c3"]]
    assert len(found.edges) == 3
    back = await graph.lineage_paths(chain["c3"].id, chain["c0"].id, max_depth=10,
                                     max_nodes=100, max_paths=10)
    assert back.direction is Direction.UPSTREAM
    assert [[back.datasets[i].name for i in p] for p in back.paths] == [
        ["c3", "c2", "c1", "c0"]]
    short = await graph.lineage_paths(chain["c0"].id, chain["c3"].id, max_depth=2,
                                      max_nodes=100, max_paths=10)
    assert short.paths == []


async def test_every_shortest_path_of_a_diamond(graph: GraphStore,
                                                diamond: dict[str, Dataset]) -> None:
    found = await graph.lineage_paths(diamond["top"].id, diamond["bottom"].id, max_depth=5,
                                      max_nodes=100, max_paths=10)
    assert [[found.datasets[i].name for i in p] for p in found.paths] == [
        ["top", "left", "bottom"], ["top", "right", "bottom"]]
    assert len(found.edges) == 4
    assert not found.truncated
    one = await graph.lineage_paths(diamond["top"].id, diamond["bottom"].id, max_depth=5,
                                    max_nodes=100, max_paths=1)
    assert (len(one.paths), one.truncated) == (1, True)


async def test_no_path_between_unrelated_datasets(graph: GraphStore,
                                                  diamond: dict[str, Dataset]) -> None:
    lone = await dataset(graph, NS, "lone")
    found = await graph.lineage_paths(diamond["top"].id, lone.id, max_depth=5,
                                      max_nodes=100, max_paths=10)
    assert (found.paths, found.truncated) == ([], False)
    same = await graph.lineage_paths(lone.id, lone.id, max_depth=5, max_nodes=100,
                                     max_paths=10)
    assert same.paths == [[lone.id]]


async def test_a_path_search_is_bounded(graph: GraphStore) -> None:
    ds = await _make(graph, "src", *(f"m{i:02d}" for i in range(10)), "dst")
    for i in range(10):
        await _derive(graph, f"m{i:02d}", "src")
    await _derive(graph, "dst", "m09")
    found = await graph.lineage_paths(ds["src"].id, ds["dst"].id, max_depth=5, max_nodes=4,
                                      max_paths=10)
    assert (found.paths, found.truncated) == ([], True)
    found = await graph.lineage_paths(ds["src"].id, ds["dst"].id, max_depth=5, max_nodes=20,
                                      max_paths=10)
    assert [[found.datasets[i].name for i in p] for p in found.paths] == [
        ["src", "m09", "dst"]]


# --- impact --------------------------------------------------------------------------------

async def test_impact_lists_everything_downstream_with_jobs(graph: GraphStore) -> None:
    await graph.ingest_lineage_event(derive("clean", ["crm_clean"], ["crm_export"]),
                                     actor=ACTOR)
    await graph.ingest_lineage_event(derive("segment", ["audience", "scores"], ["crm_clean"]),
                                     actor=ACTOR)
    await graph.ingest_lineage_event(derive("sync", ["ads_upload"], ["audience"]), actor=ACTOR)
    start = await graph.get_dataset("warehouse", "crm_export")
    assert start is not None
    g = await graph.walk_lineage(start.id, direction=Direction.DOWNSTREAM, depth=20,
                                 max_nodes=100)
    entries = impact_entries(g)
    assert [(e.dataset.name, e.distance, e.job_labels) for e in entries] == [
        ("crm_clean", 1, ["clean"]), ("audience", 2, ["segment"]), ("scores", 2, ["segment"]),
        ("ads_upload", 3, ["sync"])]
    assert all(len(e.job_ids) == 1 for e in entries)
