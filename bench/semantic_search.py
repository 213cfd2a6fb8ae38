"""Semantic search on a 100,000-dataset catalog: embedding throughput and hybrid `search` p50.

Generates the synthetic catalog (bench/common.py ``seed_synthetic``) through the graph-store
protocol into a temp SQLite file (or a live Neo4j with ``--backend neo4j``, from
PESO_TEST_NEO4J_URI / _USER / _PASSWORD, wiped first), then

1. embeds every dataset with the local model (WordLlama, ``peso[semantic]``) exactly as the
   server does (``SemanticIndex.refresh_all``: queue → text → embed → store), timing the model
   alone and the whole refresh;
2. runs the GraphQL ``search`` field through the real ASGI app (in process, one worker) with
   PESO_SEMANTIC_SEARCH=on, for paraphrased and plain queries, and the store's
   ``nearest_datasets`` alone, printing p50/p99 against the p50 target.

Appends one JSON line per run to bench/results/semantic_search.jsonl.

    python bench/semantic_search.py [--datasets 100000] [--iterations 100]
                                    [--backend sqlite|neo4j] [--catalog PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import (  # noqa: E402 - the path above makes bench/ and the repo importable
    BENCH,
    asgi_post,
    check_graphql,
    machine,
    ms,
    percentile,
    seed_synthetic,
)

TARGET_P50 = 0.050  # seconds, hybrid search through GraphQL
SEARCH = ("query($q:String!){ search(query:$q, first:20){ totalCount "
          "edges { score node { namespace name } } } }")
QUERIES = ["customers who answered a phone campaign", "money spent on advertising per day",
           "people leaving their subscription", "campaign", "loyalty weekly"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=1000, help="items per register_versions call")
    p.add_argument("--embed-batch", type=int, default=1000, help="datasets per refresh step")
    p.add_argument("--iterations", type=int, default=100, help="timed calls per query")
    p.add_argument("--max-seconds", type=float, default=10.0, help="time cap per query")
    p.add_argument("--backend", choices=["sqlite", "neo4j"], default="sqlite")
    p.add_argument("--catalog", type=Path, help="SQLite catalog file to keep (reused)")
    return p.parse_args()


def graph_env(args: argparse.Namespace, path: Path) -> dict[str, str]:
    if args.backend == "sqlite":
        return {"PESO_GRAPH_URL": f"sqlite://{path}"}
    uri = os.environ.get("PESO_TEST_NEO4J_URI")
    if not uri:
        raise SystemExit("--backend neo4j needs PESO_TEST_NEO4J_URI (tools/neo4j/neo4j-local)")
    return {"PESO_GRAPH_URL": uri,
            "PESO_NEO4J_USER": os.environ.get("PESO_TEST_NEO4J_USER", "neo4j"),
            "PESO_NEO4J_PASSWORD": os.environ.get("PESO_TEST_NEO4J_PASSWORD", "")}


async def timed(fn: Any, iterations: int, max_seconds: float) -> list[float]:
    for _ in range(3):
        await fn()
    times: list[float] = []
    stop = time.perf_counter() + max_seconds
    while len(times) < iterations and time.perf_counter() < stop:
        t0 = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t0)
    return times


async def run(args: argparse.Namespace, path: Path, data_dir: Path) -> dict[str, Any]:
    from server.app import create_app
    from server.embedders import LocalEmbedder
    from server.semantic import dataset_text, index_for
    from server.settings import Settings

    settings = Settings.from_env({"PESO_DATA_DIR": str(data_dir), "PESO_LOG_LEVEL": "warning",
                                  "PESO_SEMANTIC_SEARCH": "on", **graph_env(args, path)})
    app = create_app(settings)
    out: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        logging.getLogger("peso.http").setLevel(logging.WARNING)  # no access log per request
        graph = app.state.graph
        fresh = args.backend == "neo4j" or not (args.catalog and args.catalog.exists()
                                                and args.catalog.stat().st_size > 0)
        if args.backend == "neo4j":
            from tests.contract.conftest import wipe_neo4j
            await wipe_neo4j(graph)
        if fresh or await graph.is_empty():
            t0 = time.perf_counter()
            await seed_synthetic(graph, 0, args.datasets, batch=args.batch)
            print(f"registered {args.datasets:,} datasets in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        index = await index_for(settings)
        print(f"local model {index.embedder.model} ({index.embedder.dimensions} dims) built in "
              f"{time.perf_counter() - t0:.2f} s")
        assert isinstance(index.embedder, LocalEmbedder)
        await index.ready(graph)
        sample = await graph.pending_embeddings(limit=10_000)
        texts = [dataset_text(t) for t in sample]
        t0 = time.perf_counter()
        index.embedder.embed_sync(texts)
        model_rate = len(texts) / (time.perf_counter() - t0)
        print(f"model alone: {len(texts):,} dataset texts in {time.perf_counter() - t0:.2f} s "
              f"= {model_rate:,.0f} embeddings/s")
        t0 = time.perf_counter()
        done = await index.refresh_all(graph, batch=args.embed_batch)
        seconds = time.perf_counter() - t0
        refresh_rate = done / seconds if seconds else float("nan")
        print(f"refresh (queue → text → embed → store): {done:,} datasets in {seconds:.1f} s "
              f"= {refresh_rate:,.0f} datasets/s")
        out.update(model_embeddings_per_s=round(model_rate), refresh_datasets_per_s=round(
            refresh_rate), embedded=done, model=index.embedder.model,
            dimensions=index.embedder.dimensions)

        gc.collect()
        gc.freeze()
        [qv] = await index.embedder.embed([QUERIES[0]])
        near = await timed(lambda: graph.nearest_datasets(qv, k=100), args.iterations,
                           args.max_seconds / 2)
        print(f"\nstore nearest_datasets(k=100): p50 {ms(percentile(near, 50))}, "
              f"p99 {ms(percentile(near, 99))} ({len(near)} calls)")
        out["nearest_p50_ms"] = round(percentile(near, 50) * 1000, 2)
        print(f"\n{'GraphQL search (hybrid)':<44} {'p50':>9} {'p99':>9}  calls  result")
        p50s: dict[str, float] = {}
        for q in QUERIES:
            payload = {"query": SEARCH, "variables": {"q": q}}

            async def call(payload: dict[str, Any] = payload) -> dict[str, Any]:
                status, body = await asgi_post(app, "/graphql", payload)
                data: dict[str, Any] = check_graphql(status, body, "search")["data"]
                return data
            first = await call()
            times = await timed(call, args.iterations, args.max_seconds)
            p50s[q] = percentile(times, 50)
            edges = first["search"]["edges"]
            top = f"{edges[0]['node']['namespace']}/{edges[0]['node']['name']}" if edges else "-"
            print(f"{q:<44} {ms(p50s[q]):>9} {ms(percentile(times, 99)):>9}  {len(times):>5}  "
                  f"{first['search']['totalCount']} found, first {top}")
        out["search_p50_ms"] = {q: round(v * 1000, 2) for q, v in p50s.items()}
        out["worst_search_p50_ms"] = round(max(p50s.values()) * 1000, 2)
    return out


def main() -> int:
    args = parse_args()
    print(f"semantic search bench: input synthetic catalog (bench/common.py), rows "
          f"{args.datasets:,} datasets, backend {args.backend}, workers 1 (in-process ASGI)")
    print(machine())
    with tempfile.TemporaryDirectory(prefix="peso-semantic-bench-") as tmp:
        path = args.catalog or Path(tmp) / "catalog.db"
        out = asyncio.run(run(args, path, Path(tmp) / "data"))
    worst = out["worst_search_p50_ms"] / 1000
    verdict = "PASS" if worst < TARGET_P50 else "FAIL"
    print(f"\nworst hybrid search p50 {ms(worst)} (target < {ms(TARGET_P50)}): {verdict}")
    record = {"bench": "semantic_search", "at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                             time.gmtime()),
              "input": "synthetic catalog (bench/common.py seed_synthetic)",
              "rows": args.datasets, "backend": args.backend, "workers": 1,
              "load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
              "target_p50_ms": TARGET_P50 * 1000, "verdict": verdict, **out}
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    with (results / "semantic_search.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
