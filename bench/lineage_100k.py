"""Lineage walks on a 100,000-dataset lineage graph in SQLite: ``lineage`` upstream depth 10
and ``impact``, both with maxNodes 1000, in process through the real ASGI app.

The graph: datasets d0..dN-1; every dataset from d100 on is derived from 2 earlier ones
(average fan-in 2), picked among the 1,000 before it (so upstream walks go deep); 10 source
hubs each feed 1,000 datasets and 10 sink hubs are each derived from 1,000 (hubs of 1,000
neighbours), and a few back edges make cycles. It is written straight into the tables the
migrations create (a dataset row and a DERIVED_FROM row are all a walk reads), then every
query goes through the app. Starts are random datasets, plus the hubs.

    python bench/lineage_100k.py [--datasets 100000] [--iterations 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import asgi_post, check_graphql, machine, ms, percentile  # noqa: E402

TARGET_P50 = 0.100  # seconds
HUBS, HUB_DEGREE, WINDOW = 10, 1000, 1000

LINEAGE = ("query($ns:String!,$n:String!){ lineage(namespace:$ns, name:$n, direction:UPSTREAM,"
           " depth:10, maxNodes:1000){ truncated nodesTotal nodesReturned "
           "nodes { depth dataset { name } } edges { job downstream { name } upstream { name } } "
           "} }")
IMPACT = ("query($ns:String!,$n:String!){ impact(namespace:$ns, name:$n, maxNodes:1000){ "
          "truncated nodesTotal entries { distance dataset { name } jobNames } } }")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", type=int, default=100_000)
    p.add_argument("--iterations", type=int, default=200, help="timed calls per query kind")
    p.add_argument("--max-seconds", type=float, default=40.0, help="time cap per query kind")
    p.add_argument("--seed", type=int, default=7)
    return p.parse_args()


def name(i: int) -> str:
    return f"d{i:06d}"


def generate(path: Path, count: int, rng: random.Random) -> int:
    """Create the catalog (migrations), then bulk-insert datasets and DERIVED_FROM rows."""
    from server.storage.sqlite.db import Database

    db = Database(str(path))
    db.open()
    db.close()
    stamp = "2025-01-01T00:00:00.000000+00:00"
    edges: set[tuple[int, int]] = set()           # (downstream, upstream)
    for i in range(100, count):
        lo = max(0, i - WINDOW)
        for up in rng.sample(range(lo, i), 2):
            edges.add((i, up))
    for h in range(HUBS):                           # source hubs: d(h) feeds 1,000
        for down in rng.sample(range(HUBS, count), HUB_DEGREE):
            edges.add((down, h))
    for h in range(count - HUBS, count):            # sink hubs: derived from 1,000
        for up in rng.sample(range(HUBS, count - HUBS), HUB_DEGREE):
            edges.add((h, up))
    for _ in range(50):                             # a few back edges: cycles
        a = rng.randrange(WINDOW, count)
        edges.add((a - rng.randrange(1, 50), a))
    edges = {(d, u) for d, u in edges if d != u}
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO datasets (id, namespace, name, layer, created_at, updated_at) "
            "VALUES (?, 'lineage', ?, 'external', ?, ?)",
            ((f"id{i:06d}", name(i), stamp, stamp) for i in range(count)))
        conn.executemany(
            "INSERT INTO lineage (downstream_id, upstream_id, transformation, job, created_at) "
            "VALUES (?, ?, NULL, ?, ?)",
            ((f"id{d:06d}", f"id{u:06d}", f"job{d % 97}", stamp) for d, u in sorted(edges)))
    conn.execute("ANALYZE")
    conn.close()
    return len(edges)


async def timed(app: Any, query: str, starts: list[str], iterations: int,
                max_seconds: float) -> tuple[list[float], list[dict[str, Any]]]:
    times, answers = [], []
    stop = time.perf_counter() + max_seconds
    for i in range(iterations):
        if time.perf_counter() > stop:
            break
        variables = {"ns": "lineage", "n": starts[i % len(starts)]}
        t0 = time.perf_counter()
        status, body = await asgi_post(app, "/graphql", {"query": query, "variables": variables})
        times.append(time.perf_counter() - t0)
        answers.append(check_graphql(status, body, query[:30])["data"])
    return times, answers


async def measure(path: Path, data_dir: Path, args: argparse.Namespace,
                  rng: random.Random) -> list[float]:
    from server.app import create_app
    from server.models import Direction
    from server.settings import Settings

    settings = Settings.from_env({"PESO_DATA_DIR": str(data_dir),
                                  "PESO_GRAPH_URL": f"sqlite://{path}",
                                  "PESO_LOG_LEVEL": "warning"})
    app = create_app(settings)
    p50s: list[float] = []
    async with app.router.lifespan_context(app):
        graph = app.state.graph
        gc.collect()
        gc.freeze()
        random_starts = [name(rng.randrange(WINDOW, args.datasets)) for _ in range(500)]
        upstream_hubs = [name(i) for i in range(args.datasets - HUBS, args.datasets)]
        downstream_hubs = [name(i) for i in range(HUBS)]
        early = [name(rng.randrange(HUBS, 5000)) for _ in range(200)]
        plan = [("lineage UPSTREAM depth 10, random start", LINEAGE, random_starts),
                ("lineage UPSTREAM depth 10, fan-in-1000 hub", LINEAGE, upstream_hubs),
                ("impact, random start", IMPACT, random_starts),
                ("impact, early dataset (big downstream)", IMPACT, early),
                ("impact, fan-out-1000 hub", IMPACT, downstream_hubs)]
        print(f"\n{'query (maxNodes 1000)':<44} {'store p50':>9} {'p50':>9} {'p99':>9} "
              f"{'max':>9} calls  returned (median)  truncated")
        for label, query, starts in plan:
            await timed(app, query, starts, 5, 10)     # warm up
            direction = Direction.UPSTREAM if query is LINEAGE else Direction.DOWNSTREAM
            depth = 10 if query is LINEAGE else settings.max_lineage_depth
            store: list[float] = []
            for start in starts[:50]:
                ds = await graph.get_dataset("lineage", start)
                t0 = time.perf_counter()
                await graph.walk_lineage(ds.id, direction=direction, depth=depth,
                                         max_nodes=1000)
                store.append(time.perf_counter() - t0)
            times, answers = await timed(app, query, starts, args.iterations, args.max_seconds)
            key = "lineage" if query is LINEAGE else "impact"
            sizes = sorted(len(a[key]["nodes" if key == "lineage" else "entries"])
                           for a in answers)
            cut = sum(1 for a in answers if a[key]["truncated"])
            p50s.append(percentile(times, 50))
            print(f"{label:<44} {ms(percentile(store, 50)):>9} {ms(percentile(times, 50)):>9} "
                  f"{ms(percentile(times, 99)):>9} {ms(max(times)):>9} {len(times):>5}  "
                  f"{sizes[len(sizes) // 2]:>8}           {cut}/{len(answers)}")
    return p50s


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)
    print(f"# lineage_100k — {machine()}")
    with tempfile.TemporaryDirectory(prefix="peso-bench-") as tmp:
        path = Path(tmp) / "catalog.db"
        t0 = time.perf_counter()
        edges = generate(path, args.datasets, rng)
        print(f"generated {args.datasets:,} datasets and {edges:,} DERIVED_FROM edges "
              f"(average fan-in {edges / args.datasets:.2f}; {HUBS} hubs feeding {HUB_DEGREE:,}"
              f" and {HUBS} derived from {HUB_DEGREE:,}) in {time.perf_counter() - t0:.1f} s, "
              f"{path.stat().st_size / 2**20:.0f} MiB")
        p50s = asyncio.run(measure(path, Path(tmp) / "data", args, rng))
    worst = max(p50s)
    print(f"\nworst p50 {ms(worst)} — target p50 < {ms(TARGET_P50)}: "
          f"{'met' if worst < TARGET_P50 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
