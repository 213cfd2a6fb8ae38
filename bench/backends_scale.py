"""SQLite and Neo4j side by side on the same synthetic catalogs, and how each figure grows with
the catalog (issue 11, "Speed"; issue 15 item 3).

For each size (default 100,000 and 1,000,000 datasets) and each backend (SQLite in a temp
file; Neo4j from PESO_TEST_NEO4J_URI / _USER / _PASSWORD, wiped first):

1. **build**: the catalog is written through the store's own bulk path, ``import_records``
   (what ``peso migrate`` and ``peso import`` use; on Neo4j batched ``UNWIND`` statements), in
   batches of ``--batch`` records: per dataset one version with 4-6 fields (``bench/common.py``
   ``synth_version``), 0-3 tags, and lineage edges — from dataset 100 on, each is derived from
   2 datasets among the 1,000 before it (upstream walks go deep), plus 10 hubs of 1,000.
   The build time includes ``compact_search_index`` at the end, as ``peso migrate`` does.
2. **queries**, in process through the real ASGI app (``server.app.create_app``), one at a
   time: ``lineage`` UPSTREAM depth 10 maxNodes 1,000 and ``impact`` maxNodes 1,000 from random
   datasets (p50/p95), ``search`` of 5 terms (p50), ``datasets(first: 100)`` with nested
   source, tags and latestVersion (requests/s, one client). ``search`` is the full-text
   search of the store (PESO_SEMANTIC_SEARCH=off) unless ``--semantic auto``: on a freshly
   built catalog every dataset is queued for embedding, and semantic search embeds a batch
   of them inside each request (and drains the rest in the background, on the same event
   loop), which is what such a figure would measure.
3. **OpenLineage ingest**: RunEvents (START+COMPLETE of a job reading 2 datasets, writing 1)
   posted in batches of 100 to ``/api/v1/lineage``: events/s.
4. **memory**: peak RSS of this process (VmHWM) and of the Neo4j process (the pid in
   ``$NEO4J_LOCAL_DIR/neo4j.pid`` when given).

Each figure is printed with its input, the load average and the backend, and appended as a
JSON line to ``bench/results/backends_scale.jsonl``.

    python bench/backends_scale.py [--sizes 100000,1000000] [--backends sqlite,neo4j]
                                   [--iterations 50] [--batch 5000] [--quick]
                                   [--semantic off|auto|on]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import (  # noqa: E402 - the path above makes bench/ and the repo importable
    SYNTH_SOURCES,
    asgi_post,
    check_graphql,
    machine,
    percentile,
    synth_key,
    synth_tags,
    synth_version,
)

RESULTS = Path(__file__).resolve().parent / "results" / "backends_scale.jsonl"
STAMP = "2025-01-01T00:00:00.000000+00:00"
WINDOW, HUBS, HUB_DEGREE = 1000, 10, 1000
TARGETS = {"lineage_p50_ms": 50.0, "impact_p50_ms": 50.0, "search_p50_ms": 20.0,
           "openlineage_events_per_s": 1000.0}
BUILD_1M_SECONDS = 600.0   # issue 15: a catalog of 1M datasets built in < 10 minutes

LINEAGE = ("query($ns:String!,$n:String!){ lineage(namespace:$ns, name:$n, direction:UPSTREAM,"
           " depth:10, maxNodes:1000){ truncated nodesTotal nodes { depth dataset { name } } "
           "edges { job downstream { name } upstream { name } } } }")
IMPACT = ("query($ns:String!,$n:String!){ impact(namespace:$ns, name:$n, maxNodes:1000){ "
          "truncated nodesTotal entries { distance dataset { name } jobNames } } }")
SEARCH = ("query($q:String!){ search(query:$q, first:20){ totalCount "
          "edges { score node { namespace name } } } }")
SEARCH_TERMS = ["campaign", "customer email", "tiktok", "loyalty weekly", "churn scores"]
PAGE = ("{ datasets(first: 100) { totalCount edges { node { namespace name "
        "source { name } tags { name } latestVersion { rowCount fields { name } } } } } }")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100000,1000000",
                   help="comma-separated catalog sizes (datasets)")
    p.add_argument("--backends", default="sqlite,neo4j")
    p.add_argument("--iterations", type=int, default=50, help="timed calls per query kind")
    p.add_argument("--batch", type=int, default=5000, help="records per import_records call")
    p.add_argument("--events", type=int, default=2000, help="OpenLineage events to ingest")
    p.add_argument("--quick", action="store_true",
                   help="10,000 datasets, fewer iterations (bench/run_all.py)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--semantic", default="off", choices=("off", "auto", "on"),
                   help="PESO_SEMANTIC_SEARCH for the measured app (default off: full text)")
    return p.parse_args()


def dataset_id(i: int) -> str:
    return f"bench{i:07d}"


def lineage_edges(count: int, rng: random.Random) -> list[tuple[int, int]]:
    edges: set[tuple[int, int]] = set()
    for i in range(100, count):
        for up in rng.sample(range(max(0, i - WINDOW), i), 2):
            edges.add((i, up))
    for h in range(HUBS):                                   # source hubs feed 1,000 each
        for down in rng.sample(range(HUBS, count), min(HUB_DEGREE, count - HUBS)):
            edges.add((down, h))
    return sorted((d, u) for d, u in edges if d != u)


def records(count: int, rng: random.Random) -> list[list[dict[str, Any]]]:
    """The catalog as import records, in dependency order, in groups of one kind."""
    sources = [{"record": "source", "id": f"src{k}", "name": name, "kind": kind, "url": None,
                "license": None, "description": None, "created_at": STAMP,
                "updated_at": STAMP} for k, (name, kind) in enumerate(SYNTH_SOURCES)]
    source_ids = {name: f"src{k}" for k, (name, _) in enumerate(SYNTH_SOURCES)}
    datasets, versions, tags = [], [], []
    for i in range(count):
        ns, name = synth_key(i)
        v = synth_version(i)
        datasets.append({"record": "dataset", "id": dataset_id(i), "namespace": ns,
                         "name": name, "layer": "curated", "description": v.description,
                         "source_id": source_ids[v.source_name], "created_at": STAMP,
                         "updated_at": STAMP, "deleted_at": None, "contract": None})
        versions.append({
            "record": "version", "id": f"v{i:07d}", "dataset_id": dataset_id(i), "version": 1,
            "content_hash": v.content_hash, "row_count": v.row_count, "byte_size": v.byte_size,
            "raw_key": None, "curated_key": v.curated_key, "format": v.format,
            "created_at": STAMP, "created_by": "bench", "quality": None, "changes": None,
            "quarantine_key": None,
            "fields": [{"id": f"f{i:07d}_{k}", "position": k, "name": f.name,
                        "arrow_type": f.arrow_type, "nullable": True, "description": None,
                        "metadata": {}, "semantic_type": None, "pii": False, "stats": {}}
                       for k, f in enumerate(v.fields)]})
        tags += [{"record": "tag", "dataset_id": dataset_id(i), "tag": t, "created_at": STAMP}
                 for t in synth_tags(i)]
    lineage = [{"record": "lineage", "downstream_id": dataset_id(d), "upstream_id": dataset_id(u),
                "transformation": None, "job": f"job{d % 97}", "created_at": STAMP,
                "job_id": None, "run_id": None} for d, u in lineage_edges(count, rng)]
    return [sources, datasets, versions, tags, lineage]


def rss_peak_kib(pid: int | str = "self") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def neo4j_pid() -> int | None:
    folder = os.environ.get("NEO4J_LOCAL_DIR")
    if not folder:
        return None
    try:
        return int((Path(folder) / "neo4j.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def wipe_neo4j(env: dict[str, str]) -> None:
    from neo4j import GraphDatabase

    auth = (env["PESO_NEO4J_USER"], env["PESO_NEO4J_PASSWORD"])
    with GraphDatabase.driver(env["PESO_GRAPH_URL"], auth=auth) as d, d.session() as s:
        # one small transaction at a time, from here, relationships first: deleting a node
        # deletes all its relationships at once, and a source or tag of a 1M-dataset catalog
        # has hundreds of thousands (`CALL { DETACH DELETE } IN TRANSACTIONS` ran out of the
        # server's transaction memory)
        for statement in ("MATCH ()-[r]->() WITH r LIMIT 20000 DELETE r RETURN count(*) AS n",
                          "MATCH (n) WITH n LIMIT 20000 DELETE n RETURN count(*) AS n"):
            while s.run(statement).single(strict=True)["n"]:
                pass


def backend_env(backend: str, folder: Path, semantic: str = "off") -> dict[str, str] | None:
    env = {"PESO_DATA_DIR": str(folder), "PESO_LOG_LEVEL": "warning",
           "PESO_WORKER_IN_SERVE": "false", "PESO_MAX_QUERY_COST": "100000000",
           "PESO_SEMANTIC_SEARCH": semantic}
    if backend == "sqlite":
        return env
    uri = os.environ.get("PESO_TEST_NEO4J_URI")
    if not uri:
        return None
    return {**env, "PESO_GRAPH_URL": uri,
            "PESO_NEO4J_USER": os.environ.get("PESO_TEST_NEO4J_USER", "neo4j"),
            "PESO_NEO4J_PASSWORD": os.environ.get("PESO_TEST_NEO4J_PASSWORD", "")}


async def build(settings: Any, groups: list[list[dict[str, Any]]], batch: int) -> float:
    from server.storage.factory import graph_store

    graph = graph_store(settings)
    await graph.open()
    try:
        t0 = time.perf_counter()
        for group in groups:
            for lo in range(0, len(group), batch):
                await graph.import_records(group[lo:lo + batch])
        await graph.compact_search_index()   # what peso migrate and peso restore end with
        return time.perf_counter() - t0
    finally:
        await graph.close()


async def timed(app: Any, query: str, variables: list[dict[str, Any]]) -> list[float]:
    times = []
    for v in variables:
        t0 = time.perf_counter()
        status, body = await asgi_post(app, "/graphql", {"query": query, "variables": v})
        times.append(time.perf_counter() - t0)
        check_graphql(status, body, query[:30])
    return times


def run_events(count: int, size: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for k in range(count // 2):
        run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        a, b, c = (synth_key(rng.randrange(size)) for _ in range(3))
        for event_type, minute in (("START", 0), ("COMPLETE", 5)):
            out.append({
                "eventType": event_type, "eventTime": f"2026-11-01T{k % 24:02d}:{minute:02d}:00Z",
                "run": {"runId": run_id, "facets": {}},
                "job": {"namespace": "bench.airflow", "name": f"job_{k % 50}", "facets": {}},
                "inputs": [{"namespace": a[0], "name": a[1]}, {"namespace": b[0], "name": b[1]}],
                "outputs": [{"namespace": c[0], "name": c[1]}],
                "producer": "https://example.org/bench",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"})
    return out


async def ingest(app: Any, events: list[dict[str, Any]], token: str) -> float:
    t0 = time.perf_counter()
    for lo in range(0, len(events), 100):
        status, body = await asgi_post(app, "/api/v1/lineage", events[lo:lo + 100],
                                       headers={"authorization": f"Bearer {token}"})
        if status >= 300:
            raise RuntimeError(f"OpenLineage ingest answered {status}: {body[:300]!r}")
    return len(events) / (time.perf_counter() - t0)


def writer_token(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "server.cli", "token", "create", "--name",
                           f"bench-{uuid.uuid4().hex[:8]}", "--role", "writer"],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          check=True, timeout=120)
    return done.stdout.strip()


async def measure(env: dict[str, str], size: int, args: argparse.Namespace,
                  rng: random.Random) -> dict[str, float]:
    from server.app import create_app
    from server.settings import Settings

    settings = Settings.from_env(env)
    app = create_app(settings)
    starts = [{"ns": synth_key(i)[0], "n": synth_key(i)[1]}
              for i in (rng.randrange(size) for _ in range(args.iterations))]
    token = writer_token(env)
    async with app.router.lifespan_context(app):
        await timed(app, LINEAGE, starts[:3])                       # warm caches
        lineage = await timed(app, LINEAGE, starts)
        impact = await timed(app, IMPACT, starts)
        search = await timed(app, SEARCH, [{"q": SEARCH_TERMS[k % len(SEARCH_TERMS)]}
                                           for k in range(args.iterations)])
        page = await timed(app, PAGE, [{} for _ in range(max(10, args.iterations // 2))])
        events = await ingest(app, run_events(args.events, size, rng), token)
    return {"lineage_p50_ms": percentile(lineage, 50) * 1000,
            "lineage_p95_ms": percentile(lineage, 95) * 1000,
            "impact_p50_ms": percentile(impact, 50) * 1000,
            "impact_p95_ms": percentile(impact, 95) * 1000,
            "search_p50_ms": percentile(search, 50) * 1000,
            "datasets_page_req_per_s": len(page) / sum(page),
            "openlineage_events_per_s": events}


def record(result: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(result, sort_keys=True) + "\n")


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    args = parse_args()
    for noisy in ("neo4j", "peso", "httpx", "mcp"):  # query notices and access lines
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sizes = [10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    if args.quick:
        args.iterations, args.events = min(args.iterations, 20), min(args.events, 400)
    print(f"# backends_scale on {machine()}; commit {commit()}")
    for size in sizes:
        rng = random.Random(args.seed)
        t0 = time.perf_counter()
        groups = records(size, rng)
        # the generated catalog (millions of dicts, kept for the next backend's build) is no
        # server's: out of the collector's way, or a full collection inside a timed request
        # walks all of it (a 1.5 s lineage p95 at 100k)
        gc.freeze()
        generated = time.perf_counter() - t0
        counts = {g[0]["record"]: len(g) for g in groups if g}
        print(f"\n## {size:,} datasets: {counts} (generated in {generated:.1f} s; synthetic, "
              f"seed {args.seed}, fan-in 2 within a window of {WINDOW}, {HUBS} hubs of "
              f"{HUB_DEGREE})")
        for backend in args.backends.split(","):
            with tempfile.TemporaryDirectory(prefix="peso-scale-") as folder:
                env = backend_env(backend, Path(folder), args.semantic)
                if env is None:
                    print(f"{backend}: skipped (PESO_TEST_NEO4J_URI is not set)")
                    continue
                if backend == "neo4j":
                    wipe_neo4j(env)
                from server.settings import Settings

                gc.collect()
                seconds = asyncio.run(build(Settings.from_env(env), groups, args.batch))
                figures = asyncio.run(measure(env, size, args, rng))
                figures["build_seconds"] = seconds
                figures["peso_rss_peak_mib"] = (rss_peak_kib() or 0) / 1024
                pid = neo4j_pid() if backend == "neo4j" else None
                if pid:
                    figures["neo4j_rss_peak_mib"] = (rss_peak_kib(pid) or 0) / 1024
                load = os.getloadavg()
                print(f"{backend:>6} | build {seconds:7.1f} s | lineage p50 "
                      f"{figures['lineage_p50_ms']:6.1f} ms (p95 {figures['lineage_p95_ms']:.1f})"
                      f" | impact p50 {figures['impact_p50_ms']:6.1f} ms | search p50 "
                      f"{figures['search_p50_ms']:5.1f} ms | datasets(first:100) "
                      f"{figures['datasets_page_req_per_s']:5.1f} req/s | OL ingest "
                      f"{figures['openlineage_events_per_s']:6.0f} events/s | RSS peso "
                      f"{figures['peso_rss_peak_mib']:.0f} MiB"
                      + (f", neo4j {figures['neo4j_rss_peak_mib']:.0f} MiB" if pid else "")
                      + f" | load avg {load[0]:.2f}")
                for metric, value in figures.items():
                    target = (BUILD_1M_SECONDS if metric == "build_seconds" and size >= 1_000_000
                              else TARGETS.get(metric))
                    met = None if target is None else (
                        value >= target if metric.endswith("per_s") else value <= target)
                    record({"bench": "backends_scale", "metric": metric, "value": value,
                            "target": target, "met": met, "backend": backend, "workers": 1,
                            "input": f"synthetic catalog of {size} datasets, {counts}",
                            "datasets": size, "loadavg": load[0], "commit": commit(),
                            "semantic_search": args.semantic,
                            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
                if backend == "neo4j":
                    wipe_neo4j(env)
        del groups
        gc.unfreeze()
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
