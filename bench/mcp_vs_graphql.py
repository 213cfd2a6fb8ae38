"""MCP tools over streamable HTTP vs the same GraphQL query over HTTP.

Starts one ``peso serve`` worker on 127.0.0.1 over a fresh temp catalog loaded with
``peso demo``, mints a reader token, then times, one call at a time on one keep-alive
connection each:

- MCP ``search_datasets`` and ``get_lineage`` through the ``mcp`` SDK's own client
  (``ClientSession`` over ``streamable_http_client`` at /mcp), and
- POST /graphql with exactly the document and variables that tool runs in-process,

and prints p50/p99 per call and MCP/GraphQL against the 1.5x target. Appends one JSON line
to bench/results/mcp_vs_graphql.jsonl.

    python bench/mcp_vs_graphql.py [--iterations 200] [--max-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
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
    HOST,
    free_port,
    machine,
    ms,
    percentile,
    peso_command,
    peso_env,
    run_cli,
    serve,
)

TARGET_RATIO = 1.5
LINEAGE_AT = ("marketing", "campaign_performance")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=200, help="timed calls per case")
    p.add_argument("--max-seconds", type=float, default=20.0, help="time cap per case")
    return p.parse_args()


def cases() -> list[tuple[str, str, dict[str, Any], str, dict[str, Any]]]:
    """(label, MCP tool, its arguments, GraphQL document, variables): the document is the
    one the tool runs (server/mcp_server.py), so both sides do the same work."""
    from server.mcp_server import _DATASET, _REF

    search_doc = ("query($q:String!,$f:Int){search(query:$q,first:$f){"
                  f"totalCount edges{{score node{{{_DATASET}}}}}}}}}")
    lineage_doc = ("query($n:String!,$m:String!,$d:LineageDirection!,$h:Int!,$x:Int){"
                   "lineage(namespace:$n,name:$m,direction:$d,depth:$h,maxNodes:$x){"
                   f"truncated nodesTotal nodesReturned nodes{{depth dataset{{{_REF}}}}} "
                   f"edges{{upstream{{{_REF}}} downstream{{{_REF}}} transformation job}}}}}}")
    ns, name = LINEAGE_AT
    return [
        ("search_datasets 'campaign'", "search_datasets", {"query": "campaign", "first": 10},
         search_doc, {"q": "campaign", "f": 10}),
        (f"get_lineage {ns}/{name}", "get_lineage",
         {"namespace": ns, "name": name, "direction": "BOTH", "depth": 3},
         lineage_doc, {"n": ns, "m": name, "d": "BOTH", "h": 3, "x": None}),
    ]


async def timed(fn: Callable[[], Awaitable[Any]], iterations: int, max_seconds: float
                ) -> list[float]:
    for _ in range(10):
        await fn()
    times: list[float] = []
    stop = time.perf_counter() + max_seconds
    while len(times) < iterations and time.perf_counter() < stop:
        t0 = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t0)
    return times


async def measure(port: int, token: str, args: argparse.Namespace
                  ) -> tuple[int, list[dict[str, Any]]]:
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    base = f"http://{HOST}:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    rows = []
    async with httpx2.AsyncClient(headers=headers, timeout=30) as mcp_http, \
            httpx2.AsyncClient(headers=headers, timeout=30) as gql_http, \
            streamable_http_client(f"{base}/mcp", http_client=mcp_http) as streams, \
            ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        count = (await gql_http.post(f"{base}/graphql", json={
            "query": "{datasets(first:1){totalCount}}"})).json()["data"]["datasets"]["totalCount"]
        print(f"catalog: {count} datasets")
        for label, tool, arguments, document, variables in cases():
            async def via_mcp(tool: str = tool, arguments: dict[str, Any] = arguments) -> Any:
                result = await session.call_tool(tool, arguments)
                if result.is_error:
                    raise RuntimeError(f"{tool}: {result.content}")
                return result

            async def via_graphql(document: str = document,
                                  variables: dict[str, Any] = variables) -> Any:
                resp = await gql_http.post(f"{base}/graphql",
                                           json={"query": document, "variables": variables})
                body = resp.json()
                if resp.status_code != 200 or body.get("errors"):
                    raise RuntimeError(f"GraphQL: {resp.status_code} {resp.text[:300]}")
                return body

            mcp_result = await via_mcp()
            gql_result = await via_graphql()
            size = len(json.dumps(gql_result["data"]))
            mcp_times = await timed(via_mcp, args.iterations, args.max_seconds)
            gql_times = await timed(via_graphql, args.iterations, args.max_seconds)
            mcp_p50, gql_p50 = percentile(mcp_times, 50), percentile(gql_times, 50)
            rows.append({"case": label, "mcp_p50_ms": round(mcp_p50 * 1000, 2),
                         "mcp_p99_ms": round(percentile(mcp_times, 99) * 1000, 2),
                         "graphql_p50_ms": round(gql_p50 * 1000, 2),
                         "graphql_p99_ms": round(percentile(gql_times, 99) * 1000, 2),
                         "ratio": round(mcp_p50 / gql_p50, 2), "calls": len(mcp_times),
                         "answer_bytes": size,
                         "mcp_blocks": len(mcp_result.content)})
    return count, rows


def main() -> int:
    args = parse_args()
    print("MCP vs GraphQL bench: input `peso demo` catalog, backend sqlite, workers 1 "
          "(peso serve), one call at a time, transport streamable HTTP vs POST /graphql")
    print(machine())
    with tempfile.TemporaryDirectory(prefix="peso-mcp-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        env = peso_env(data_dir, PESO_SEMANTIC_SEARCH="off")
        run_cli(peso_command("demo"), env, timeout=300)
        token = run_cli(peso_command("token", "create", "--name", "bench-reader",
                                     "--role", "reader"), env)
        port = free_port()
        with serve("peso", peso_command("serve", "--port", str(port)), env, port):
            count, rows = asyncio.run(measure(port, token, args))
    print(f"\n{'case':<44} {'MCP p50':>9} {'GQL p50':>9} {'MCP p99':>9} {'GQL p99':>9} "
          f"{'ratio':>6}  calls  bytes")
    for r in rows:
        print(f"{r['case']:<44} {ms(r['mcp_p50_ms'] / 1000):>9} "
              f"{ms(r['graphql_p50_ms'] / 1000):>9} {ms(r['mcp_p99_ms'] / 1000):>9} "
              f"{ms(r['graphql_p99_ms'] / 1000):>9} {r['ratio']:>5.2f}x  {r['calls']:>5}  "
              f"{r['answer_bytes']}")
    worst = max(r["ratio"] for r in rows)
    verdict = "PASS" if worst <= TARGET_RATIO else "FAIL"
    print(f"\nworst MCP/GraphQL p50 ratio {worst:.2f}x (target <= {TARGET_RATIO}x): {verdict}")
    record = {"bench": "mcp_vs_graphql", "at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                            time.gmtime()),
              "input": "peso demo catalog", "rows": count, "backend": "sqlite",
              "workers": 1, "load_average": [round(x, 2) for x in os.getloadavg()],
              "cpus": os.cpu_count(), "target_ratio": TARGET_RATIO, "verdict": verdict,
              "cases": rows}
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    with (results / "mcp_vs_graphql.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
