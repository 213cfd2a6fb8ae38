"""Machine data collection: events/s into ``POST /api/v1/collect/{ns}/{name}`` beside bare
pyarrow on the same data.

Input: generated events of 10 fields (int, timestamp, 4 strings, 2 floats, bool, int) in
batches of ``--batch`` (1,000) as JSON Lines; ``--distinct`` different batches cycled by
``--connections`` keep-alive connections for ``--seconds`` against ``peso serve`` (embedded
SQLite catalog, local object folder, one process) with a collector token. Each acknowledged
batch is fsynced to the WAL before its answer, flushes to Parquet run in the background
(PESO_COLLECT_FLUSH_SECONDS=2). After the run the server is stopped (SIGTERM: the last flush)
and the stored Parquet rows are counted against the acknowledged events.

Baseline in the same run: bare ``pyarrow.json.read_json`` of the same JSON Lines with the
same explicit schema, then ``pyarrow.parquet.write_table`` (zstd), in this process.

Target: >= 50,000 events/s acknowledged on this 2-core machine (server and client share it).
Appends JSON lines to bench/results/collect_bench.jsonl.

    python bench/collect_bench.py [--seconds 10] [--connections 4] [--batch 1000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.json as pj
import pyarrow.parquet as pq

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import (  # noqa: E402
    HOST,
    free_port,
    header,
    http_load,
    peso_command,
    peso_env,
    record,
    run_cli,
    serve,
)

BENCH = "collect_bench"
QUICK_SECONDS = 20  # bench/run_all.py: this script has a --quick mode taking about this long
SCHEMA = pa.schema([("event_id", pa.int64()), ("ts", pa.timestamp("us", tz="UTC")),
                    ("device", pa.string()), ("campaign", pa.string()),
                    ("channel", pa.string()), ("country", pa.string()),
                    ("cost", pa.float64()), ("score", pa.float64()), ("bot", pa.bool_()),
                    ("position", pa.int64())])
CHANNELS = ["search", "social", "display", "video", "email"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--batch", type=int, default=1000, help="events per request")
    p.add_argument("--distinct", type=int, default=50, help="different batches to cycle")
    p.add_argument("--quick", action="store_true", help="a 4-second run for bench/run_all.py")
    return p.parse_args()


def batch(n: int, size: int) -> bytes:
    lines = []
    for i in range(size):
        k = n * size + i
        ts = f"2026-12-07T{k % 24:02d}:{k % 60:02d}:{(k * 7) % 60:02d}.{k % 1000:03d}Z"
        lines.append(json.dumps({
            "event_id": k, "ts": ts,
            "device": f"dev-{k % 5003:05d}", "campaign": f"cmp-{k % 211}",
            "channel": CHANNELS[k % 5], "country": ["DE", "FR", "US", "BR", "JP"][k % 5],
            "cost": round((k % 1000) * 0.013, 3), "score": (k % 97) / 97,
            "bot": k % 17 == 0, "position": k % 10}, separators=(",", ":")))
    return "\n".join(lines).encode()


def request(body: bytes, port: int, token: str) -> bytes:
    head = (f"POST /api/v1/collect/bench/events HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/x-ndjson\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def bare_pyarrow(bodies: list[bytes], out: Path) -> float:
    """Events/s of pyarrow.json → Parquet on the same batches (one table per batch, as the
    server parses them, then one write)."""
    t0 = time.perf_counter()
    tables = [pj.read_json(io.BytesIO(b), parse_options=pj.ParseOptions(
        explicit_schema=SCHEMA)) for b in bodies]
    pq.write_table(pa.concat_tables(tables), out, compression="zstd")
    seconds = time.perf_counter() - t0
    return sum(t.num_rows for t in tables) / seconds


def main() -> None:
    args = parse_args()
    if args.quick:
        args.seconds, args.distinct = 4.0, 20
    bodies = [batch(n, args.batch) for n in range(args.distinct)]
    size = sum(map(len, bodies))
    inp = {"generator": "bench/collect_bench.py batch()", "fields": 10,
           "types": "int64, timestamp, 4 strings, 2 doubles, bool, int64",
           "batch_events": args.batch, "distinct_batches": args.distinct,
           "bytes_per_batch": size // len(bodies), "connections": args.connections,
           "seconds": args.seconds, "format": "JSON Lines"}
    header(BENCH, input=inp, backend="sqlite + local folder", workers=1)
    with tempfile.TemporaryDirectory(prefix="peso-bench-collect-") as tmp:
        bare = bare_pyarrow(bodies, Path(tmp) / "bare.parquet")
        data = Path(tmp) / "data"
        env = peso_env(data, PESO_COLLECT_FLUSH_SECONDS="2", PESO_WORKER_IN_SERVE="false",
                       PESO_COLLECT_BUFFER_ROWS="5000000")
        token = run_cli(peso_command("token", "create", "--name", "bench", "--role",
                                     "collector", "--namespace", "bench"),
                        env).strip().splitlines()[-1]
        port = free_port()
        env = {**env, "PESO_PORT": str(port), "PESO_HOST": HOST}
        with serve("peso", peso_command("serve", "--no-worker"), env, port) as server:
            raws = [request(b, port, token) for b in bodies]
            result = asyncio.run(http_load(port, raws, label="collect",
                                           connections=args.connections,
                                           duration=args.seconds, warmup=1.0, server=server,
                                           request_timeout=30.0))
            print(result.line())
        stored = ds.dataset(str(data / "objects" / "collected" / "bench" / "events"),
                            format="parquet").count_rows()
    events_per_s = result.rps * args.batch
    ok = result.statuses.get(200, 0)
    print(f"bare pyarrow.json → Parquet: {bare:,.0f} events/s; Peso: {events_per_s:,.0f} "
          f"events/s ({100 * events_per_s / bare:.0f}% of bare); statuses {result.statuses}; "
          f"stored {stored:,} rows (all runs, warm-up included)")
    record(BENCH, "events_per_s", events_per_s, "events/s", input=inp,
           backend="sqlite", workers=1, target=">= 50000")
    record(BENCH, "bare_pyarrow_events_per_s", bare, "events/s", input=inp,
           backend="none", workers=None)
    record(BENCH, "p99_ms", result.pct(99) * 1000, "ms", input=inp, backend="sqlite",
           workers=1)
    record(BENCH, "non_200", float(sum(v for k, v in result.statuses.items() if k != 200)),
           "responses", input=inp, backend="sqlite", workers=1, target="== 0")
    if stored < ok * args.batch:
        raise SystemExit(f"stored {stored} rows < {ok * args.batch} acknowledged events")


if __name__ == "__main__":
    main()
