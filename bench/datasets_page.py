"""Throughput and latency of one 100-dataset page over HTTP.

Builds a temp catalog (``peso demo`` plus ~300 synthetic datasets with a version, fields, a
source and tags, registered through the graph-store protocol), starts one ``peso serve``
worker on 127.0.0.1 and drives ``datasets(first: 100)`` with nested source, tags and latest
version using the lean keep-alive load generator in bench/common.py.

    python bench/datasets_page.py [--connections 4] [--duration 10] [--warmup 2] [--extra 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import (  # noqa: E402 - the path above makes bench/ and the repo importable
    HOST,
    check_graphql,
    free_port,
    graphql_request,
    header,
    http_load,
    peso_command,
    peso_env,
    record,
    request_once,
    run_cli,
    seed_synthetic,
    serve,
)

QUICK_SECONDS = 20  # bench/run_all.py: this script has a --quick mode taking about this long
TARGET = 300.0  # req/s, one worker on SQLite (issue 15)
PAGE_QUERY = ("{ datasets(first: 100) { totalCount edges { node { namespace name "
              "source { name } tags { name } latestVersion { rowCount } } } } }")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=4, help="concurrent keep-alive connections")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    p.add_argument("--max-requests", type=int, default=100_000, help="hard cap on requests")
    p.add_argument("--extra", type=int, default=300, help="synthetic datasets added to the demo")
    p.add_argument("--workers", type=int, default=1, help="peso serve --workers (SQLite: 1)")
    p.add_argument("--quick", action="store_true",
                   help="a short run for bench/run_all.py: 1 s warm-up + 5 s measured")
    args = p.parse_args()
    if args.quick:
        args.warmup, args.duration = 1.0, 5.0
    return args


async def seed(data: Path, extra: int) -> None:
    from server.storage.sqlite.store import SQLiteGraphStore

    graph = SQLiteGraphStore(str(data / "catalog.db"))
    await graph.open()
    try:
        await seed_synthetic(graph, 0, extra, batch=100)
    finally:
        await graph.close()


def main() -> int:
    args = parse_args()
    with contextlib.ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="peso-bench-")))
        env = peso_env(data)
        print(run_cli(peso_command("demo"), env))
        asyncio.run(seed(data, args.extra))
        inp = {"catalog": f"peso demo + {args.extra} synthetic datasets",
               "generator": "bench/common.py seed_synthetic (a version with 4-6 fields, one "
                            "of 8 sources, 0-3 tags each)", "query": PAGE_QUERY,
               "connections": args.connections, "measured_s": args.duration}
        header("datasets_page", input=inp, backend="sqlite", workers=args.workers)
        port = free_port()
        srv = stack.enter_context(serve("peso", peso_command("serve", "--port", str(port),
                                                     "--workers", str(args.workers)),
                                        env, port))
        status, body = asyncio.run(request_once(HOST, port, graphql_request(PAGE_QUERY,
                                                                            port=port)))
        page = check_graphql(status, body, "datasets page")["data"]["datasets"]
        nodes = [e["node"] for e in page["edges"]]
        print(f"catalog: {page['totalCount']} live datasets; one page = {len(nodes)} datasets, "
              f"{sum(len(n['tags']) for n in nodes)} tags, "
              f"{sum(n['source'] is not None for n in nodes)} sources, "
              f"{len(body)} response bytes")
        print(f"load: {args.connections} keep-alive connections, {args.warmup:g} s warm-up + "
              f"{args.duration:g} s measured; the load generator shares the 2 cores with the "
              "server (its CPU share is shown)")
        r = asyncio.run(http_load(port, [graphql_request(PAGE_QUERY, port=port)],
                                  label="datasets", server=srv, connections=args.connections,
                                  duration=args.duration, warmup=args.warmup,
                                  max_requests=args.max_requests))
        print(r.line())
        print(f"\n= {r.rps * len(nodes):.0f} datasets/s served as GraphQL nodes")
        inp.update(rows=len(nodes), response_bytes=len(body), live_datasets=page["totalCount"])
        for metric, value, unit, target in (
                ("rps", round(r.rps, 1), "req/s", f">= {TARGET:g}"),
                ("p50", round(r.pct(50) * 1000, 2), "ms", None),
                ("p99", round(r.pct(99) * 1000, 2), "ms", None)):
            record("datasets_page", metric, value, unit, target=target, input=inp,
                   backend="sqlite", workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
