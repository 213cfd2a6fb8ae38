"""GraphQL vs a bare JSON endpoint doing the same store reads.

Starts, on 127.0.0.1 and free ports, one ``peso serve`` worker (uvicorn) over a fresh temp
catalog loaded with ``peso demo``, and ``bench/bare_app.py`` (uvicorn, one worker) on the same
catalog file. Checks both answer the same JSON, then drives each in turn with the lean
keep-alive load generator in bench/common.py and prints req/s, p50, p99 and GraphQL/bare.

    python bench/graphql_vs_bare.py [--connections 8] [--duration 10] [--warmup 2]
                                    [--breakdown]  # also: where a request's time goes
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import (  # noqa: E402 - the path above makes bench/ and the repo importable
    BENCH,
    DATASET_QUERY,
    DEMO_DATASETS,
    HOST,
    LoadResult,
    asgi_post,
    check_graphql,
    free_port,
    graphql_request,
    header,
    http_load,
    peso_command,
    peso_env,
    post_json,
    record,
    request_once,
    run_cli,
    serve,
)

TARGET = 0.60  # GraphQL req/s at least 60% of bare (issue 15; was 35%)
QUICK_SECONDS = 20  # bench/run_all.py: this script has a --quick mode taking about this long


INPUT = {"catalog": "peso demo (7 curated datasets + RAW twins, 6 sources, 12 entities)",
         "generator": "loaders/demo.py", "query": "dataset(namespace, name) with tags, "
         "latestVersion.rowCount and fields (name, arrowType), rotating over the 7 datasets",
         "bare": "bench/bare_app.py: the same 4 store reads as JSON"}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per server")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    p.add_argument("--max-requests", type=int, default=300_000, help="hard cap per server")
    p.add_argument("--rounds", type=int, default=1, help="alternate bare/GraphQL this many times")
    p.add_argument("--quick", action="store_true",
                   help="a short run for bench/run_all.py: 1 s warm-up + 4 s per server")
    p.add_argument("--breakdown", action="store_true",
                   help="also time, in process, the store reads alone, the bare app, "
                        "schema.execute and the whole GraphQL app")
    args = p.parse_args()
    if args.quick:
        args.warmup, args.duration, args.rounds = 1.0, 4.0, 1
    return args


async def breakdown(data: Path, n: int = 2000) -> None:
    """Per-request cost of each layer, in this process, one request at a time (no sockets):
    the differences say where GraphQL's extra time goes."""
    os.environ.update({"PESO_DATA_DIR": str(data), "PESO_LOG_LEVEL": "warning"})
    from schema.context import Context
    from server.app import create_app
    from server.settings import Settings

    bare = importlib.import_module("bare_app")  # reads PESO_DATA_DIR when imported
    settings = Settings.from_env()
    app = create_app(settings)
    ns, name = DEMO_DATASETS[0]
    variables = {"ns": ns, "n": name}
    async with app.router.lifespan_context(app), bare.app.router.lifespan_context(bare.app):
        graph, schema = app.state.graph, build_schema_of(app)

        async def reads() -> None:
            found = await graph.get_dataset(ns, name)
            (latest,), _ = await asyncio.gather(graph.get_latest_versions([found.id]),
                                                graph.get_tags([found.id]))
            await graph.get_fields([latest.id])

        async def execute() -> None:
            ctx = Context(settings=settings, graph=graph, objects=app.state.objects)
            result = await schema.execute(DATASET_QUERY, variable_values=variables,
                                          context_value=ctx)
            assert not result.errors, result.errors

        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("store reads alone (4 reads, 3 thread hops)", reads),
            ("bare app via ASGI (reads + JSON)", lambda: asgi_post(
                bare.app, "/dataset", {"namespace": ns, "name": name})),
            ("schema.execute (reads + GraphQL execution)", execute),
            ("peso app via ASGI (+ Strawberry HTTP view)", lambda: asgi_post(
                app, "/graphql", {"query": DATASET_QUERY, "variables": variables})),
        ]
        print(f"\nbreakdown: µs per request in process, best of 3 x {n} sequential requests")
        for label, step in steps:
            for _ in range(200):
                await step()
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                for _ in range(n):
                    await step()
                best = min(best, (time.perf_counter() - t0) / n)
            print(f"  {label:<46} {best * 1e6:7.0f} µs")


def build_schema_of(app: Any) -> Any:
    """The Strawberry schema the app serves (its /graphql route's view holds it)."""
    route = next(r for r in app.routes if getattr(r, "path", None) == "/graphql")
    return route.app.schema


async def check_same_answers(gql_port: int, bare_port: int) -> None:
    for ns, name in DEMO_DATASETS:
        gs, gb = await request_once(HOST, gql_port, graphql_request(
            DATASET_QUERY, {"ns": ns, "n": name}, port=gql_port))
        bs, bb = await request_once(HOST, bare_port, post_json(
            "/dataset", {"namespace": ns, "name": name}, port=bare_port))
        g = check_graphql(gs, gb, f"GraphQL {ns}/{name}")
        b = json.loads(bb)
        if bs != 200 or g != b or g["data"]["dataset"] is None:
            raise RuntimeError(f"{ns}/{name}: answers differ:\n GraphQL {gb!r}\n bare    {bb!r}")


def main() -> int:
    args = parse_args()
    with contextlib.ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="peso-bench-")))
        env = peso_env(data)
        print(run_cli(peso_command("demo"), env))
        header("graphql_vs_bare", input=INPUT, backend="sqlite", workers=1)
        gql_port, bare_port = free_port(), free_port()
        gql = stack.enter_context(serve(
            "peso", peso_command("serve", "--port", str(gql_port)), env, gql_port))
        bare = stack.enter_context(serve(
            "bare", [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "bare_app:app",
                     "--host", HOST, "--port", str(bare_port), "--workers", "1",
                     "--no-access-log", "--log-level", "warning"], env, bare_port))
        asyncio.run(check_same_answers(gql_port, bare_port))
        print("both servers answer the same JSON for every demo dataset")

        gql_reqs = [graphql_request(DATASET_QUERY, {"ns": ns, "n": n}, port=gql_port)
                    for ns, n in DEMO_DATASETS]
        bare_reqs = [post_json("/dataset", {"namespace": ns, "name": n}, port=bare_port)
                     for ns, n in DEMO_DATASETS]
        print(f"load: {args.connections} keep-alive connections, {args.warmup:g} s warm-up + "
              f"{args.duration:g} s measured per server, one server at a time; the load "
              "generator shares the 2 cores with the server (its CPU share is shown)")
        results: dict[str, list[LoadResult]] = {"bare": [], "graphql": []}
        for _ in range(args.rounds):
            for label, port, reqs, srv in (("bare", bare_port, bare_reqs, bare),
                                           ("graphql", gql_port, gql_reqs, gql)):
                r = asyncio.run(http_load(port, reqs, label=label, server=srv,
                                          connections=args.connections,
                                          duration=args.duration, warmup=args.warmup,
                                          max_requests=args.max_requests))
                print(r.line())
                results[label].append(r)

        if args.breakdown:
            asyncio.run(breakdown(data))

    best = {k: max(v, key=lambda r: r.rps) for k, v in results.items()}
    g, b = best["graphql"], best["bare"]
    if not g.requests or not b.requests:
        print("\nno ratio: a run measured no requests")
        return 1
    ratio = g.rps / b.rps if b.rps else 0.0
    print(f"\nGraphQL / bare throughput: {ratio:.1%} (target >= {TARGET:.0%}: "
          f"{'met' if ratio >= TARGET else 'NOT met'});  p50 {g.pct(50) / b.pct(50):.2f}x, "
          f"p99 {g.pct(99) / b.pct(99):.2f}x bare latency")
    run = {**INPUT, "connections": args.connections, "measured_s": args.duration,
           "rounds": args.rounds}
    for metric, value, unit, target in (
            ("graphql_over_bare", round(ratio, 4), "ratio", f">= {TARGET}"),
            ("graphql_rps", round(g.rps, 1), "req/s", None),
            ("bare_rps", round(b.rps, 1), "req/s", None),
            ("graphql_p99", round(g.pct(99) * 1000, 2), "ms", None)):
        record("graphql_vs_bare", metric, value, unit, target=target, input=run,
               backend="sqlite", workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
