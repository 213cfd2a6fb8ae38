"""Query latency on a 100,000-dataset catalog, in process through the real ASGI app.

Generates the catalog through the graph-store protocol (``register_versions`` in batches,
then ``add_tag``) into a temp SQLite file, builds the app with ``server.app.create_app`` and
runs its lifespan, then sends each GraphQL query below one at a time (no sockets: the whole
ASGI app, middleware and all) and prints p50/p99 per query against the p50 target.

    python bench/catalog_100k.py [--datasets 100000] [--iterations 100]
                                 [--catalog PATH]   # keep the catalog there; reuse it if present
                                 [--explain]        # print SQLite query plans of the list SQL
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import (  # noqa: E402 - the path above makes bench/ and the repo importable
    asgi_post,
    check_graphql,
    machine,
    ms,
    percentile,
    seed_synthetic,
    synth_key,
)

TARGET_P50 = 0.020  # seconds

NODE = "namespace name source { name } tags { name } latestVersion { rowCount }"
PAGE = ("query($first:Int!,$after:String,$filter:DatasetFilter){ datasets(first:$first,"
        "after:$after,filter:$filter){ totalCount pageInfo { endCursor hasNextPage } "
        f"edges {{ node {{ {NODE} }} }} }} }}")
SEARCH = ("query($q:String!){ search(query:$q, first:20){ totalCount "
          "edges { score node { namespace name description } } } }")
SEARCH_TERMS = ["campaign", "customer email", "tiktok", "loyalty weekly", "churn scores gdpr"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=1000, help="items per register_versions call")
    p.add_argument("--iterations", type=int, default=100, help="timed calls per query")
    p.add_argument("--max-seconds", type=float, default=5.0, help="time cap per query")
    p.add_argument("--catalog", type=Path, help="catalog file to keep (reused when present)")
    p.add_argument("--explain", action="store_true", help="print EXPLAIN QUERY PLAN output")
    return p.parse_args()


async def generate(path: Path, count: int, batch: int) -> None:
    from server.storage.sqlite.store import SQLiteGraphStore

    graph = SQLiteGraphStore(str(path))
    await graph.open()
    t0 = time.perf_counter()
    try:
        step = max(batch, count // 10 // batch * batch)
        for lo in range(0, count, step):
            await seed_synthetic(graph, lo, min(step, count - lo), batch=batch)
            done = min(lo + step, count)
            print(f"  {done:>7} datasets registered, {time.perf_counter() - t0:5.1f} s",
                  flush=True)
    finally:
        await graph.close()


WALK = ("query($after:String){ datasets(first:100, after:$after){ "
        "pageInfo { endCursor } } }")


async def deep_cursor(app: Any, count: int) -> tuple[int, str, list[str], tuple[str, str]]:
    """Walk the list 100 at a time with the server's own (opaque) cursors to the one that
    points 90% into the catalog in (namespace, name) order. Returns that position, the
    cursor, the sort key it stands for (what the store is given) and the key the page after
    it must start with."""
    at = int(count * 0.9) // 100 * 100
    after: str | None = None
    for _ in range(at // 100):
        status, body = await asgi_post(app, "/graphql", {"query": WALK,
                                                         "variables": {"after": after}})
        after = check_graphql(status, body, "walking the list")["data"]["datasets"][
            "pageInfo"]["endCursor"]
    assert after is not None
    ordered = sorted(synth_key(i) for i in range(count))
    return at, after, list(ordered[at - 1]), ordered[at]


StoreCall = Callable[[Any], Awaitable[Any]]


def cases(deep_at: int, deep: str, deep_key: list[str]
          ) -> list[tuple[str, str, dict[str, Any], StoreCall]]:
    """(label, GraphQL query, variables, the same read made on the store directly)."""
    from server.models import DatasetFilter, PageRequest

    def search(term: str) -> StoreCall:
        return lambda g: g.search(term, first=20)

    def page(after: list[str] | None = None, **flt: Any) -> StoreCall:
        return lambda g: g.list_datasets(DatasetFilter(**flt), PageRequest(first=50, after=after))

    out: list[tuple[str, str, dict[str, Any], StoreCall]] = [
        (f'search "{t}"', SEARCH, {"q": t}, search(t)) for t in SEARCH_TERMS]
    out += [
        ("datasets(first:50) page 1", PAGE, {"first": 50}, page()),
        (f"datasets(first:50) after #{deep_at:,}", PAGE, {"first": 50, "after": deep},
         page(deep_key)),
        ("filter tag:gdpr", PAGE, {"first": 50, "filter": {"tag": "gdpr"}}, page(tag="gdpr")),
        ("filter tag:deprecated (rare)", PAGE, {"first": 50, "filter": {"tag": "deprecated"}},
         page(tag="deprecated")),
        ("filter source:Shopify", PAGE, {"first": 50, "filter": {"source": "Shopify"}},
         page(source="Shopify")),
        ("filter namespace:crm", PAGE, {"first": 50, "filter": {"namespace": "crm"}},
         page(namespace="crm")),
        ("filter ns:crm + tag:pii", PAGE,
         {"first": 50, "filter": {"namespace": "crm", "tag": "pii"}},
         page(namespace="crm", tag="pii")),
    ]
    return out


async def timed(fn: Callable[[], Awaitable[Any]], iterations: int, max_seconds: float
                ) -> list[float]:
    for _ in range(3):
        await fn()
    times: list[float] = []
    stop = time.perf_counter() + max_seconds
    while len(times) < iterations and time.perf_counter() < stop:
        t0 = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t0)
    return times


async def measure(path: Path, data_dir: Path, args: argparse.Namespace) -> list[float]:
    from server.app import create_app
    from server.settings import Settings

    settings = Settings.from_env({"PESO_DATA_DIR": str(data_dir),
                                  "PESO_GRAPH_URL": f"sqlite://{path}",
                                  "PESO_LOG_LEVEL": "warning"})
    app = create_app(settings)
    p50s = []
    async with app.router.lifespan_context(app):
        graph = app.state.graph
        t0 = time.perf_counter()
        deep_at, deep, deep_key, deep_first = await deep_cursor(app, args.datasets)
        print(f"walked {deep_at // 100} pages of 100 with endCursor to position {deep_at:,} "
              f"({time.perf_counter() - t0:.1f} s)")
        gc.collect()
        gc.freeze()  # as `peso serve` does once the app is built (server/cli.py)
        print("\n`store` is the same read made on the graph store directly (SQL + thread hop);"
              "\nthe rest is the whole GraphQL request through the ASGI app.")
        print(f"\n{'query':<34} {'store p50':>9} {'p50':>9} {'p99':>9} {'max':>9}  calls  "
              "result")
        for label, query, variables, store_call in cases(deep_at, deep, deep_key):
            payload = {"query": query, "variables": variables}

            async def call(payload: dict[str, Any] = payload) -> dict[str, Any]:
                status, body = await asgi_post(app, "/graphql", payload)
                data: dict[str, Any] = check_graphql(status, body, label)["data"]  # noqa: B023
                return data

            first = await call()
            if "after" in variables:  # the deep page starts right after the cursor's dataset
                node = first["datasets"]["edges"][0]["node"]
                if (node["namespace"], node["name"]) != deep_first:
                    raise RuntimeError(f"deep page starts at {node}, expected {deep_first}")
            async def direct(store_call: StoreCall = store_call) -> Any:
                return await store_call(graph)

            store = await timed(direct, args.iterations, args.max_seconds / 2)
            times = await timed(call, args.iterations, args.max_seconds)
            p50s.append(percentile(times, 50))
            print(f"{label:<34} {ms(percentile(store, 50)):>9} {ms(percentile(times, 50)):>9} "
                  f"{ms(percentile(times, 99)):>9} {ms(max(times)):>9}  {len(times):>5}  "
                  f"{describe(first)}")
    return p50s


def describe(data: dict[str, Any]) -> str:
    conn = data.get("datasets") or data.get("search") or {}
    edges = conn.get("edges", [])
    first = edges[0]["node"] if edges else None
    where = f", first {first['namespace']}/{first['name']}" if first else ""
    return f"{len(edges)} of {conn.get('totalCount')}{where}"


def explain(path: Path, count: int) -> None:
    """The query plans of the SQL the store runs for the cases above."""
    from server.models import DatasetFilter, DatasetSort
    from server.storage.sqlite import sql
    from server.storage.sqlite.store import fts_query

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    plans: list[tuple[str, str, list[Any]]] = [
        ("search", sql.SEARCH, [fts_query("campaign"), 20, 0]),
        ("search count", sql.SEARCH_COUNT, [fts_query("campaign")])]
    deep = list(sorted(synth_key(i) for i in range(count))[int(count * 0.9) - 1])
    for label, flt, after in [
            ("first page", DatasetFilter(), None), ("deep page", DatasetFilter(), deep),
            ("tag", DatasetFilter(tag="gdpr"), None), ("source", DatasetFilter(source="Shopify"),
                                                       None),
            ("namespace", DatasetFilter(namespace="crm"), None),
            ("namespace + tag", DatasetFilter(namespace="crm", tag="pii"), None)]:
        where, params = sql.dataset_filter(flt, None)
        q = sql.dataset_page(where, DatasetSort.NAME, False, after is not None)
        plans.append((label, q, [*params, *(after or []), 51]))
        plans.append((label + " (count)", sql.dataset_count(where), params))
    for label, q, params in plans:
        rows: Callable[[], list[Any]] = conn.execute(f"EXPLAIN QUERY PLAN {q}", params).fetchall
        print(f"\n-- {label}\n" + "\n".join(f"   {r[3]}" for r in rows()))
    conn.close()


def main() -> int:
    args = parse_args()
    print(f"# catalog_100k — {machine()}")
    with tempfile.TemporaryDirectory(prefix="peso-bench-") as tmp:
        path = args.catalog.resolve() if args.catalog else Path(tmp) / "catalog.db"
        if path.exists():
            print(f"reusing {path}")
        else:
            print(f"generating {args.datasets:,} datasets into {path} "
                  f"(register_versions batches of {args.batch}, then add_tag)")
            t0 = time.perf_counter()
            asyncio.run(generate(path, args.datasets, args.batch))
            took = time.perf_counter() - t0
            print(f"generated in {took:.1f} s ({args.datasets / took:,.0f} datasets/s), "
                  f"{path.stat().st_size / 2**20:.0f} MiB")
        if args.explain:
            explain(path, args.datasets)
        p50s = asyncio.run(measure(path, Path(tmp), args))
    worst = max(p50s)
    print(f"\ntarget: p50 < {ms(TARGET_P50)} for every query — "
          f"{'met' if worst < TARGET_P50 else 'NOT met'} (worst p50 {ms(worst)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
