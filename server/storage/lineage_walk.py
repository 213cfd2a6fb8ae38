"""Bounded lineage walks, shared by every graph store: the algorithm here, the queries there.

A store drives a walk with two kinds of query of its own and nothing else:

- expand(step): the datasets (or columns) one hop from ``step.frontier`` in
  ``step.direction``, leaving out ``step.exclude``, the first ``step.limit`` by
  (namespace, name[, field]);
- the edges among (or between) sets of nodes it was given.

So every query a walk makes is bounded by ``max_nodes`` (its inputs and its LIMIT), the walk
visits each node once per direction (cycles end), it stops at ``depth`` and as soon as
``max_nodes`` nodes are reached, and its answer does not depend on the backend: a level that
does not fit whole is cut at the same (namespace, name) on SQLite and on Neo4j.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from server.errors import ValidationError
from server.models import (
    Dataset,
    Direction,
    LineageEdge,
    LineageGraph,
    LineageNode,
    LineagePaths,
)

K = TypeVar("K", bound=Hashable)

EDGES_PER_NODE = 10   # edges returned with a walk: at most this many per node (else truncated)


@dataclass(frozen=True, slots=True)
class Step(Generic[K]):
    """One query to run: from ``frontier``, one hop ``direction`` (UPSTREAM: from a derived
    dataset to what it was derived from), not into ``exclude``, at most ``limit`` rows."""

    direction: Direction
    frontier: list[K]
    exclude: list[K]
    limit: int


@dataclass(frozen=True, slots=True)
class Reached(Generic[K]):
    key: K
    order: tuple[str, ...]   # (namespace, name) or (namespace, name, field)


def check_bounds(depth: object, max_nodes: object) -> tuple[int, int]:
    """Both bounds as ints (not bools): depth >= 0, max_nodes >= 1."""
    if type(depth) is not int or depth < 0:
        raise ValidationError(f"lineage depth must be a non-negative integer, not {depth!r}",
                              field="depth")
    if type(max_nodes) is not int or max_nodes < 1:
        raise ValidationError(f"maxNodes must be a positive integer, not {max_nodes!r}",
                              field="maxNodes")
    return depth, max_nodes


class BoundedWalk(Generic[K]):
    """Breadth-first from ``start``: level 1 upstream, then level 1 downstream, level 2 …

    Each direction keeps its own visited set (a dataset both upstream and downstream, in a
    cycle, is walked on from both sides) and the result keeps the depth a node was first
    reached at. Newcomers of a level are admitted in (namespace, name) order until
    ``max_nodes`` nodes are in the result; then the walk stops, ``truncated``."""

    def __init__(self, start: K, *, direction: Direction, depth: int, max_nodes: int) -> None:
        self.depth, self.max_nodes = check_bounds(depth, max_nodes)
        self.depths: dict[K, int] = {start: 0}
        self.ways = [w for w in (Direction.UPSTREAM, Direction.DOWNSTREAM)
                     if direction in (w, Direction.BOTH)]
        self._frontier: dict[Direction, list[K]] = {w: [start] for w in self.ways}
        self._seen: dict[Direction, set[K]] = {w: {start} for w in self.ways}
        self._level = 0
        self._queue: list[Direction] = []
        self.truncated = False
        self.dropped = 0   # newcomers found but not admitted (the budget was spent)

    @property
    def nodes_total(self) -> int:
        """Nodes the walk reached: what it returns plus what it found and left out (a lower
        bound of the whole neighbourhood when truncated)."""
        return len(self.depths) + self.dropped

    def next_step(self) -> Step[K] | None:
        if self.truncated:
            return None
        while not self._queue:
            self._level += 1
            if self._level > self.depth:
                return None
            self._queue = [w for w in self.ways if self._frontier[w]]
            if not self._queue:
                return None
        way = self._queue[0]
        seen = self._seen[way]
        free = sum(1 for k in self.depths if k not in seen)  # reached the other way: no cost
        limit = max(self.max_nodes - len(self.depths), 0) + free + 1
        return Step(way, list(self._frontier[way]), list(seen), limit)

    def take(self, step: Step[K], found: Sequence[Reached[K]]) -> None:
        """Record what ``step`` found (in (namespace, name) order, at most ``step.limit``)."""
        self._queue.pop(0)
        seen = self._seen[step.direction]
        sign = -1 if step.direction is Direction.UPSTREAM else 1
        frontier: list[K] = []
        for r in found:
            if r.key in seen:
                continue
            seen.add(r.key)
            if r.key not in self.depths:
                if len(self.depths) >= self.max_nodes:
                    self.truncated = True
                    self.dropped += 1
                    continue
                self.depths[r.key] = sign * self._level
            frontier.append(r.key)
        if len(found) >= step.limit:
            self.truncated = True   # there may have been more than the query returned
        self._frontier[step.direction] = frontier


def run_walk(walk: BoundedWalk[K], expand: Callable[[Step[K]], Sequence[Reached[K]]]) -> None:
    """Drive a walk with a synchronous ``expand`` (SQLite runs it inside one snapshot)."""
    while (step := walk.next_step()) is not None:
        walk.take(step, expand(step))


def edge_cap(max_nodes: int) -> int:
    return max_nodes * EDGES_PER_NODE


def lineage_graph(datasets: dict[str, Dataset], depths: dict[str, int],
                  edges: Sequence[LineageEdge], *, truncated: bool = False,
                  nodes_total: int | None = None) -> LineageGraph:
    """Live nodes by (depth, namespace, name); the edges among them by their ends' names."""
    live = {i: d for i, d in datasets.items() if d.deleted_at is None and i in depths}
    nodes = sorted((LineageNode(d, depths[i]) for i, d in live.items()),
                   key=lambda n: (n.depth, n.dataset.namespace, n.dataset.name))

    def key(e: LineageEdge) -> tuple[str, str, str, str]:
        d, u = live[e.downstream_id], live[e.upstream_id]
        return (d.namespace, d.name, u.namespace, u.name)

    kept = sorted((e for e in edges if e.downstream_id in live and e.upstream_id in live),
                  key=key)
    return LineageGraph(nodes, kept, truncated=truncated,
                        nodes_total=nodes_total if nodes_total is not None else len(nodes))


# --- shortest paths ----------------------------------------------------------------------

class PathSearch(Generic[K]):
    """Breadth-first from ``start`` one way until ``target`` turns up (then every shortest
    path is among the levels walked), at most ``max_depth`` levels and ``max_nodes`` nodes."""

    def __init__(self, start: K, target: K, *, direction: Direction, max_depth: int,
                 max_nodes: int) -> None:
        self.max_depth, self.max_nodes = check_bounds(max_depth, max_nodes)
        if direction is Direction.BOTH:
            raise ValidationError("a path search goes upstream or downstream", field="direction")
        self.direction, self.target = direction, target
        self.levels: list[list[K]] = [[start]]
        self.seen: set[K] = {start}
        self.found = start == target
        self.truncated = False
        self._kept: list[list[tuple[K, K]]] = []   # per level k: (node at k, node at k+1)
        self._back = 0

    def next_step(self) -> Step[K] | None:
        if self.found or self.truncated or len(self.levels) > self.max_depth \
                or not self.levels[-1]:
            return None
        return Step(self.direction, list(self.levels[-1]), list(self.seen),
                    max(self.max_nodes - len(self.seen), 0) + 1)

    def take(self, step: Step[K], found: Sequence[Reached[K]]) -> None:
        level: list[K] = []
        for r in found:
            if r.key in self.seen:
                continue
            if len(self.seen) >= self.max_nodes:
                break
            self.seen.add(r.key)
            level.append(r.key)
        self.levels.append(level)
        self.found = self.target in level
        if not self.found and len(found) >= step.limit:
            self.truncated = True

    def back_step(self) -> tuple[list[K], list[K]] | None:
        """(nodes of level k, path nodes of level k+1) whose edges to fetch next, from the
        target back to the start; None when done."""
        if not self.found or len(self.levels) < 2:
            return None
        k = len(self.levels) - 2 - self._back
        if k < 0:
            return None
        upper = [self.target] if not self._kept else sorted({a for a, _ in self._kept[0]},
                                                             key=repr)
        return self.levels[k], upper

    def take_back(self, pairs: Sequence[tuple[K, K]]) -> None:
        """The edges found for the last back_step, as (node at k, node at k+1) walk-wise."""
        self._kept.insert(0, list(pairs))
        self._back += 1

    def paths(self, order: Callable[[K], tuple[str, ...]], max_paths: int) -> list[list[K]]:
        """Every shortest path start→target in ``order`` of the nodes along it, at most
        ``max_paths`` (``truncated`` when there were more)."""
        if not self.found:
            return []
        start = self.levels[0][0]
        if start == self.target:
            return [[start]]
        nxt: list[dict[K, list[K]]] = []
        for pairs in self._kept:
            step: dict[K, list[K]] = {}
            for a, b in pairs:
                step.setdefault(a, []).append(b)
            nxt.append({a: sorted(set(bs), key=order) for a, bs in step.items()})
        out: list[list[K]] = []

        def extend(path: list[K]) -> bool:
            k = len(path) - 1
            if k == len(nxt):
                if path[-1] == self.target:
                    if len(out) >= max_paths:
                        self.truncated = True
                        return False
                    out.append(list(path))
                return True
            for b in nxt[k].get(path[-1], []):
                path.append(b)
                going = extend(path)
                path.pop()
                if not going:
                    return False
            return True

        extend([start])
        return out


def paths_result(search: PathSearch[str], kept: dict[tuple[str, str], LineageEdge],
                 datasets: dict[str, Dataset], max_paths: int) -> LineagePaths:
    """The answer of a finished search: its paths in (namespace, name) order, their
    datasets and the edges along them (``kept``: every edge fetched, by (down, up))."""
    if not search.found:
        return LineagePaths(search.direction, [], {}, [], truncated=search.truncated)
    paths = search.paths(lambda k: (datasets[k].namespace, datasets[k].name), max_paths)
    on_path = {k for p in paths for k in p}
    steps = {(a, b) for p in paths for a, b in itertools.pairwise(p)}
    edges = [e for (d, u), e in sorted(kept.items())
             if (u, d) in steps or (d, u) in steps]
    return LineagePaths(search.direction, paths, {k: datasets[k] for k in on_path}, edges,
                        truncated=search.truncated)


def run_paths(search: PathSearch[K], expand: Callable[[Step[K]], Sequence[Reached[K]]],
              between: Callable[[list[K], list[K]], Sequence[tuple[K, K]]]) -> None:
    """Drive a path search with synchronous queries: ``between(lower, upper)`` returns the
    edges from a node of ``lower`` to one of ``upper``, walk-wise."""
    while (step := search.next_step()) is not None:
        search.take(step, expand(step))
    while (back := search.back_step()) is not None:
        search.take_back(between(*back))


# --- impact: who depends on a dataset ----------------------------------------------------

@dataclass(frozen=True, slots=True)
class ImpactEntry:
    """A dataset downstream of the start, its distance, and the edges it was reached by
    (from datasets one hop closer), whose jobs are the ones "between"."""

    dataset: Dataset
    distance: int
    via: list[LineageEdge]

    @property
    def job_ids(self) -> list[str]:
        return sorted({e.job_id for e in self.via if e.job_id})

    @property
    def job_labels(self) -> list[str]:
        return sorted({e.job for e in self.via if e.job})


def impact_entries(graph: LineageGraph) -> list[ImpactEntry]:
    """Every downstream dataset of a DOWNSTREAM walk, nearest first, then by name."""
    depth = {n.dataset.id: n.depth for n in graph.nodes}
    into: dict[str, list[LineageEdge]] = {}   # by downstream end, in the graph's edge order
    for e in graph.edges:
        into.setdefault(e.downstream_id, []).append(e)
    return [ImpactEntry(n.dataset, n.depth,
                        [e for e in into.get(n.dataset.id, [])
                         if depth.get(e.upstream_id) == n.depth - 1])
            for n in graph.nodes if n.depth > 0]
