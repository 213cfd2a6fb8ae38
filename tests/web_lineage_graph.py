"""A generated lineage of exactly ``size`` datasets around one start, as OpenLineage run events
(for the browser tests and bench/web_lineage.py): an upstream tree feeding the start (fan-in
3) and a downstream tree it feeds (fan-out 3), each job writing the 3 children of one dataset,
with column lineage on every output. Namespaces follow the subtrees (about 20), so folding by
namespace and by job both have something to fold. Posted through the real OpenLineage
endpoint in batches."""

from __future__ import annotations

import json
from typing import Any

from tests.lineage_events import column_lineage, ds, new_run_id, run_event
from tests.serverproc import ServerProcess, http

START_NS, START_NAME = "hub", "start"
FIELDS = ["id", "email", "amount"]
FAN = 3
BATCH = 100  # events a request (bodies stay under PESO_MAX_BODY_BYTES)


def _namespaces(count: int, prefix: str) -> list[str]:
    """Node i of a FAN-ary tree in BFS order (0 is the root) → a namespace named for its
    ancestor two levels below the root (the root's own level shares one)."""
    out = []
    for i in range(count):
        chain = [i]
        while chain[-1] > 0:
            chain.append((chain[-1] - 1) // FAN)
        chain.reverse()  # root … i
        out.append(f"{prefix}-{chain[2]:02d}" if len(chain) > 2 else f"{prefix}-top")
    return out


def events(size: int = 1000) -> list[dict[str, Any]]:
    """The run events of a ``size``-dataset lineage (start included)."""
    up_count = (size - 1) * 3 // 10          # 30% upstream of the start, the rest downstream
    down_count = size - 1 - up_count
    up = [(ns, f"src_{i:04d}") for i, ns in enumerate(_namespaces(up_count + 1, "up"))][1:]
    down = [(ns, f"out_{i:04d}") for i, ns in enumerate(_namespaces(down_count + 1, "down"))][1:]
    up_tree = [(START_NS, START_NAME), *up]      # index 0 is the start: its inputs are 1..3
    down_tree = [(START_NS, START_NAME), *down]  # index 0 is the start: it feeds 1..3
    out: list[dict[str, Any]] = []

    def run(job: str, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]],
            minute: int) -> dict[str, Any]:
        # every output field comes from the same field of the first input
        first = inputs[0]
        return run_event(job, new_run_id(), "COMPLETE", minute=minute,
                         inputs=[ds(n, ns, fields=FIELDS) for ns, n in inputs],
                         outputs=[ds(n, ns, fields=FIELDS, columnLineage=column_lineage(
                             {f: [(first[0], first[1], f)] for f in FIELDS}))
                             for ns, n in outputs])

    # upstream: dataset i is written (alone) from its FAN children in the tree
    for i, target in enumerate(up_tree):
        children = up_tree[FAN * i + 1: FAN * i + 1 + FAN]
        if children:
            out.append(run(f"build_{target[1]}", children, [target], minute=len(out)))
    # downstream: dataset i feeds its FAN children, all written by one job
    for i, source in enumerate(down_tree):
        children = down_tree[FAN * i + 1: FAN * i + 1 + FAN]
        if children:
            out.append(run(f"fanout_{source[1]}", [source], children, minute=len(out)))
    return out


def post_lineage(server: ServerProcess, token: str, size: int = 1000) -> int:
    """Post the generated events to ``server``'s OpenLineage endpoint; return how many."""
    evs = events(size)
    for start in range(0, len(evs), BATCH):
        body = json.dumps(evs[start:start + BATCH]).encode()
        resp = http("POST", server.base_url + "/api/v1/lineage", body=body, timeout=120,
                    headers={"Content-Type": "application/json",
                             "Authorization": f"Bearer {token}"})
        if resp.status >= 300:
            raise RuntimeError(f"OpenLineage batch at {start} refused: {resp.status} "
                               f"{resp.text[:500]}")
    return len(evs)
