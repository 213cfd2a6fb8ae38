"""OpenLineage ingest rate: a stream of realistic events over HTTP to one ``peso serve``.

10,000 events by default: 5,000 runs of 200 jobs, each a START and a COMPLETE, each naming 2
inputs and 1 output out of 2,000 datasets (Postgres tables and S3 paths), with schema facets
(8 fields), a columnLineage facet and outputStatistics on the output, nominalTime and parent
run facets. Sent over 8 keep-alive connections, each event once, first one per request
(``POST /api/v1/lineage`` with an event, as the OpenLineage HTTP transport does), then again
into a fresh catalog as batches of 50 (a JSON array per request). The server is a real
subprocess on a free port, stopped whatever happens; the catalog is a temp folder.

    python bench/openlineage_ingest.py [--events 10000] [--connections 8] [--batch 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import (  # noqa: E402
    HOST,
    _read_response,
    free_port,
    header,
    ms,
    percentile,
    peso_command,
    peso_env,
    record,
    serve,
)

QUICK_SECONDS = 30  # bench/run_all.py: this script has a --quick mode taking about this long

PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0"
FIELDS = ["id", "email", "country", "segment", "score", "created_at", "updated_at", "source"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=10_000)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--batch", type=int, default=50, help="events per request, batch mode")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--quick", action="store_true",
                   help="a short run for bench/run_all.py: 1,000 events")
    return p.parse_args()


def _dataset(i: int) -> tuple[str, str]:
    if i % 2:
        return "postgres://crm-db.internal:5432", f"crm.public.table_{i:04d}"
    return "s3://marketing-lake", f"curated/area_{i % 17}/dataset_{i:04d}"


def _facet(name: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER,
            "_schemaURL": f"https://openlineage.io/spec/facets/1-0-0/{name}.json#/$defs/{name}",
            **body}


def events(count: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    for r in range(count // 2):
        job = r % 200
        ins = rng.sample(range(2000), 2)
        out_i = (job * 7 + 3) % 2000
        ns, name = _dataset(out_i)
        schema = _facet("SchemaDatasetFacet", fields=[{"name": f, "type": "varchar"}
                                                      for f in FIELDS])
        inputs = [{"namespace": _dataset(i)[0], "name": _dataset(i)[1],
                   "facets": {"schema": schema}} for i in ins]
        lineage = _facet("ColumnLineageDatasetFacet", fields={
            f: {"inputFields": [{"namespace": inputs[k % 2]["namespace"],
                                 "name": inputs[k % 2]["name"], "field": f,
                                 "transformations": [{"type": "DIRECT",
                                                      "subtype": "IDENTITY"}]}]}
            for k, f in enumerate(FIELDS)})
        output = {"namespace": ns, "name": name,
                  "facets": {"schema": schema, "columnLineage": lineage},
                  "outputFacets": {"outputStatistics": _facet(
                      "OutputStatisticsOutputDatasetFacet", rowCount=rng.randrange(10**6))}}
        run_id, start = str(uuid.UUID(int=rng.getrandbits(128), version=4)), t0 + timedelta(
            minutes=r)
        run = {"runId": run_id, "facets": {
            "nominalTime": _facet("NominalTimeRunFacet", nominalStartTime=start.isoformat()),
            "parent": _facet("ParentRunFacet", run={"runId": str(uuid.uuid4())},
                             job={"namespace": "airflow", "name": f"dag_{job % 20}"})}}
        for kind, at in (("START", start), ("COMPLETE", start + timedelta(seconds=40))):
            out.append({"eventType": kind, "eventTime": at.isoformat(), "run": run,
                        "job": {"namespace": "airflow", "name": f"dag_{job % 20}.task_{job}"},
                        "inputs": inputs, "outputs": [output] if kind == "COMPLETE" else [],
                        "producer": PRODUCER,
                        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json"})
    return out


def writer_token(data_dir: Path) -> str:
    from server.auth import create_token
    from server.models import Role
    from server.storage.sqlite.store import SQLiteGraphStore

    async def make() -> str:
        graph = SQLiteGraphStore(str(data_dir / "catalog.db"))
        await graph.open()
        try:
            token, _ = await create_token(graph, name="bench", role=Role.WRITER, pii=False,
                                          actor="cli")
            return token
        finally:
            await graph.close()
    return asyncio.run(make())


def encode(body: Any, port: int, token: str) -> bytes:
    raw = json.dumps(body, separators=(",", ":")).encode()
    head = (f"POST /api/v1/lineage HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Length: {len(raw)}\r\n\r\n")
    return head.encode() + raw


async def drive(port: int, requests: list[bytes], connections: int
                ) -> tuple[float, list[float], dict[int, int]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for raw in requests:
        queue.put_nowait(raw)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while True:
                try:
                    raw = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                writer.write(raw)
                status, _ = await asyncio.wait_for(_read_response(reader), 60)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - t0, latencies, statuses


def run_mode(label: str, stream: list[dict[str, Any]], per_request: int,
             args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory(prefix="peso-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        token = writer_token(data_dir)
        port = free_port()
        env = peso_env(data_dir, PESO_PORT=str(port), PESO_MAX_BODY_BYTES=str(16 << 20))
        with serve("peso", peso_command("serve"), env, port) as server:
            bodies: list[Any] = stream if per_request == 1 else [
                stream[i:i + per_request] for i in range(0, len(stream), per_request)]
            requests = [encode(b, port, token) for b in bodies]
            cpu0 = server.cpu_seconds()
            seconds, latencies, statuses = asyncio.run(drive(port, requests, args.connections))
            cpu = server.cpu_seconds() - cpu0
        size = sum(len(r) for r in requests) / len(requests)
        print(f"{label:<22} {len(stream) / seconds:8.0f} events/s  {len(requests):>6} requests "
              f"of {size / 1024:5.1f} KiB  p50 {ms(percentile(latencies, 50)):>9}  "
              f"p99 {ms(percentile(latencies, 99)):>10}  server CPU "
              f"{100 * cpu / seconds:3.0f}%  statuses {dict(sorted(statuses.items()))}  "
              f"({seconds:.1f} s)")
        # 201 (a new event) and 200 (a replay, or a batch) are both successes: only an error
        # answer (4xx, 5xx) is a failure
        bad = sum(n for s, n in statuses.items() if s >= 400)
        inp = {**input_of(args), "per_request": per_request, "requests": len(requests),
               "bytes": sum(len(r) for r in requests), "failed": bad}
        record("openlineage_ingest", f"events_per_s_batch_{per_request}",
               round(len(stream) / seconds, 1), "events/s", input=inp, backend="sqlite",
               workers=1)
        record("openlineage_ingest", f"failed_batch_{per_request}", bad, "responses",
               target="== 0", input=inp, backend="sqlite", workers=1)
        return len(stream) / seconds


def input_of(args: argparse.Namespace) -> dict[str, Any]:
    return {"generator": "bench/openlineage_ingest.py events(): START+COMPLETE per run, 200 "
                         "jobs, 2,000 datasets, schema (8 fields), columnLineage, "
                         "outputStatistics, nominalTime, parent facets",
            "events": args.events, "seed": args.seed, "connections": args.connections}


def main() -> int:
    args = parse_args()
    if args.quick:
        args.events = 1000
    header("openlineage_ingest", input=input_of(args), backend="sqlite", workers=1)
    stream = events(args.events, random.Random(args.seed))
    print(f"{len(stream):,} events ({len(stream) // 2:,} runs of 200 jobs over 2,000 datasets),"
          f" {args.connections} connections\n")
    run_mode("one event per request", stream, 1, args)
    run_mode(f"batches of {args.batch}", stream, args.batch, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
