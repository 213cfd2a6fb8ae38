"""Contract: walk_lineage on random graphs (cycles, hubs, deleted datasets, names out of id
order) gives exactly what ``lineage_walk.BoundedWalk`` gives over the same graph held in
memory — nodes and depths, edges, the truncation flag and nodesTotal — for every direction
and many depths and maxNodes caps. A store may run the walk its own way (Neo4j runs it as
one Cypher statement); the reference below is the algorithm itself."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from server.models import Direction, LineageGraph
from server.storage.graph import GraphStore
from server.storage.lineage_walk import BoundedWalk, Reached, Step, edge_cap, run_walk

STAMP = "2025-01-01T00:00:00.000000+00:00"
SIZE = 60


def _catalog(seed: int) -> tuple[list[list[dict[str, object]]], dict[str, tuple[str, str]],
                                  set[str], set[tuple[str, str]]]:
    rng = random.Random(seed)
    ids = [f"w{seed}-{i:03d}" for i in range(SIZE)]
    names = {i: (rng.choice(["a", "b"]), f"n{rng.randrange(10_000):05d}-{k}")
             for k, i in enumerate(ids)}
    deleted = set(rng.sample(ids, 5))
    edges: set[tuple[str, str]] = set()
    for k, down in enumerate(ids[1:], start=1):
        for up in rng.sample(ids[:k], min(k, rng.choice([1, 2, 3]))):
            edges.add((down, up))
    for hub in ids[:2]:                                        # hubs feed many
        edges |= {(d, hub) for d in rng.sample(ids[2:], 25)}
    for _ in range(6):                                         # and a few cycles
        down, up = rng.sample(ids, 2)
        edges.add((down, up))
    edges = {(d, u) for d, u in edges if d != u}
    datasets = [{"record": "dataset", "id": i, "namespace": names[i][0], "name": names[i][1],
                 "layer": "curated", "description": None, "source_id": None,
                 "created_at": STAMP, "updated_at": STAMP,
                 "deleted_at": STAMP if i in deleted else None, "contract": None}
                for i in ids]
    lineage = [{"record": "lineage", "downstream_id": d, "upstream_id": u,
                "transformation": None, "job": f"job-{d}", "created_at": STAMP,
                "job_id": None, "run_id": None} for d, u in sorted(edges)]
    return [datasets, lineage], names, deleted, edges


def _reference(start: str, direction: Direction, depth: int, max_nodes: int,
               names: dict[str, tuple[str, str]], deleted: set[str],
               edges: set[tuple[str, str]]) -> tuple[object, ...]:
    if start in deleted:
        return ([], [], False, 0)

    def expand(step: Step[str]) -> Sequence[Reached[str]]:
        frontier, exclude = set(step.frontier), set(step.exclude)
        hop = ({u for d, u in edges if d in frontier} if step.direction is Direction.UPSTREAM
               else {d for d, u in edges if u in frontier})
        found = sorted((n for n in hop if n not in deleted and n not in exclude),
                       key=lambda n: names[n])
        return [Reached(n, names[n]) for n in found[:step.limit]]

    bfs: BoundedWalk[str] = BoundedWalk(start, direction=direction, depth=depth,
                                        max_nodes=max_nodes)
    run_walk(bfs, expand)
    live = {n for n in bfs.depths if n not in deleted}
    nodes = sorted(((n, d) for n, d in bfs.depths.items() if n in live),
                   key=lambda nd: (nd[1], *names[nd[0]]))
    among = sorted(((d, u) for d, u in edges if d in live and u in live),
                   key=lambda e: (*names[e[0]], *names[e[1]]))
    cap = edge_cap(max_nodes)
    return (nodes, among[:cap], bfs.truncated or len(among) > cap, bfs.nodes_total)


def _answer(g: LineageGraph) -> tuple[object, ...]:
    return ([(n.dataset.id, n.depth) for n in g.nodes],
            [(e.downstream_id, e.upstream_id) for e in g.edges], g.truncated, g.nodes_total)


@pytest.mark.parametrize("seed", [1, 2])
async def test_walks_match_the_reference_algorithm(graph: GraphStore, seed: int) -> None:
    groups, names, deleted, edges = _catalog(seed)
    for group in groups:
        await graph.import_records(group)
    rng = random.Random(seed * 1000)
    starts = rng.sample(sorted(names), 12) + sorted(deleted)[:1] + [f"w{seed}-000"]
    checked, kinds = 0, set()
    for start in starts:
        for direction in Direction:
            for depth, max_nodes in ((0, 5), (1, 1), (2, 3), (3, 7), (5, 12), (10, 2),
                                     (10, 20), (20, 1000)):
                got = await graph.walk_lineage(start, direction=direction, depth=depth,
                                               max_nodes=max_nodes)
                want = _reference(start, direction, depth, max_nodes, names, deleted, edges)
                assert _answer(got) == want, (start, direction, depth, max_nodes)
                checked += 1
                kinds.add((got.truncated, got.nodes_total > len(got.nodes)))
    assert checked == len(starts) * len(Direction) * 8
    assert {(False, False), (True, True)} <= kinds   # walks cut short, and whole ones
