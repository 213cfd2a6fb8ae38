"""Enrichment of a big version: every registered enricher over a 1,000,000-row, 20-column
dataset, seconds and peak RSS.

Input: a generated Parquet file (``--rows`` rows, 20 columns: ids, e-mails, phones, person
names, postal codes, countries, currencies and amounts, campaign ids, URLs, device ids, IPv4
addresses, timestamps, channels, booleans, free text), loaded with ``peso load`` into an
embedded SQLite catalog (setup, timed apart). A second dataset sharing the customer ids is
loaded too, so the join-key enricher has a real candidate. Then ``enrich_version`` runs on
the big one in a child process (this script re-invoked with ``--child``), so its peak RSS is
the enrichment's own: it reads a sample of PESO_ENRICH_SAMPLE_ROWS rows (100,000 by default;
the sample size is in every suggestion's evidence), never the whole file.

Appends JSON lines to bench/results/enrich_bench.jsonl.

    python bench/enrich_bench.py [--rows 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import header, peso_command, peso_env, record, run_cli  # noqa: E402

BENCH = "enrich_bench"
QUICK_SECONDS = 30  # bench/run_all.py: --quick (100,000 rows) takes about this long
FIRST = ["Ana", "Bruno", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas"]
LAST = ["Silva", "Martin", "Müller", "Rossi", "Kowalski", "Tanaka", "Okafor", "Dubois"]


def column(values: list[Any], n: int) -> pa.Array:
    """``values`` repeated to ``n`` rows (vectorised: pyarrow takes, no Python per row)."""
    return pa.array(values).take(pc.remainder(pa.array(range(n), pa.int64()), len(values)))


def generate(path: Path, rows: int) -> int:
    idx = pa.array(range(rows), pa.int64())
    text = pc.cast(idx, pa.string())
    k = 9973   # distinct values per text column, drawn like real ones
    table = pa.table({
        "customer_id": pc.binary_join_element_wise("CUST-", text, ""),
        "email": column([f"{FIRST[i % 10].lower()}.{LAST[i % 8].lower()}{i}@example.com"
                         for i in range(k)], rows),
        "phone": column([f"+49 30 {1000000 + i * 37}" for i in range(k)], rows),
        "full_name": column([f"{FIRST[i % 10]} {LAST[i % 8]}" for i in range(80)], rows),
        "postal_code": column([f"{10000 + i * 7}" for i in range(k)], rows),
        "country": column(["DE", "FR", "US", "BR", "JP", "NG", "IN"], rows),
        "currency": column(["EUR", "USD", "BRL", "JPY"], rows),
        "amount": pc.divide(pc.cast(pc.remainder(idx, 100000), pa.float64()), 100.0),
        "campaign_id": column([f"cmp-{2026}{i:04d}" for i in range(211)], rows),
        "landing_url": column([f"https://shop.example.com/p/{i}?utm_source=ads"
                               for i in range(k)], rows),
        "device_id": column([f"{i:08x}-1b2c-4d5e-8f90-{i * 31:012x}" for i in range(k)], rows),
        "ip_address": column([f"10.{i % 256}.{(i // 256) % 256}.{i % 250 + 1}"
                              for i in range(k)], rows),
        "clicked_at": pc.cast(pc.add(pc.multiply(idx, 37), 1_764_000_000_000_000),
                              pa.timestamp("us", tz="UTC")),
        "channel": column(["search", "social", "display", "video", "email"], rows),
        "converted": pc.equal(pc.remainder(idx, 7), 0),
        "impressions": pc.remainder(pc.multiply(idx, 13), 5000),
        "ad_group": column([f"group {i}" for i in range(57)], rows),
        "user_agent": column(["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.4.0",
                              "Googlebot/2.1 (+http://www.google.com/bot.html)"], rows),
        "age": pc.add(pc.remainder(idx, 60), 18),
        "note": column([f"free text note number {i}" for i in range(k)], rows),
    })
    pq.write_table(table, path, compression="zstd")
    return path.stat().st_size


def child(data_dir: str) -> None:
    from server.enrich.runner import enrich_version
    from server.settings import Settings
    from server.storage import factory

    async def run() -> dict[str, Any]:
        settings = Settings.from_env({"PESO_DATA_DIR": data_dir,
                                      "PESO_SEMANTIC_SEARCH": "off"})
        graph, objects = factory.graph_store(settings), factory.object_store(settings)
        await graph.open()
        objects.open()
        try:
            dataset = await graph.get_dataset("bench", "clicks")
            assert dataset is not None
            t0 = time.perf_counter()
            report = await enrich_version(graph, objects, settings, dataset.id)
            seconds = time.perf_counter() - t0
        finally:
            objects.close()
            await graph.close()
        out = report.as_dict()
        out.pop("suggestions")
        kinds: dict[str, int] = {}
        for s in report.created:
            kinds[s.kind.value] = kinds.get(s.kind.value, 0) + 1
        return {**out, "kinds": kinds, "wall_seconds": seconds,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    print(json.dumps(asyncio.run(run())))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--quick", action="store_true", help="100,000 rows, for bench/run_all.py")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child)
        return
    rows = 100_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory(prefix="peso-bench-enrich-") as tmp:
        big = Path(tmp) / "clicks.parquet"
        size = generate(big, rows)
        small = Path(tmp) / "customers.parquet"
        ids = pa.array([f"CUST-{i}" for i in range(0, min(rows, 50_000), 2)])
        pq.write_table(pa.table({"customer_id": ids,
                                 "segment": column(["gold", "silver"], len(ids))}), small)
        inp = {"generator": "bench/enrich_bench.py generate()", "rows": rows, "columns": 20,
               "parquet_bytes": size, "second_dataset": "customers (shares customer_id)"}
        header(BENCH, input=inp, backend="sqlite + local folder", workers=1)
        data = Path(tmp) / "data"
        env = peso_env(data)
        t0 = time.perf_counter()
        run_cli(peso_command("load", str(big), "--dataset", "bench/clicks"), env, timeout=1800)
        run_cli(peso_command("load", str(small), "--dataset", "bench/customers"), env)
        print(f"setup: generated and loaded {rows:,} rows in {time.perf_counter() - t0:.1f} s")
        done = subprocess.run([sys.executable, __file__, "--child", str(data)], env=env,
                              capture_output=True, text=True, timeout=1800, check=False)
        if done.returncode != 0:
            raise SystemExit(f"enrichment failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"enriched {rows:,} rows x 20 columns: {result['wall_seconds']:.2f} s, peak RSS "
          f"{result['peak_rss_mib']:.0f} MiB, sample {result['sampleRows']:,} of "
          f"{result['totalRows']:,} rows; suggestions by kind {result['kinds']}; "
          f"errors {result['errors'] or 'none'}")
    record(BENCH, "seconds", result["wall_seconds"], "s", input=inp, backend="sqlite",
           workers=1)
    record(BENCH, "peak_rss_mib", result["peak_rss_mib"], "MiB", input=inp, backend="sqlite",
           workers=1)
    record(BENCH, "suggestions", float(result["created"] + result["skipped"]), "suggestions",
           input=inp, backend="sqlite", workers=1)


if __name__ == "__main__":
    main()
