"""Profiling throughput: a synthetic marketing-like table through ``loaders.profile.Profiler``.

    python bench/profile_bench.py [--rows 2000000] [--batch 65536] [--repeat 3]

Twelve columns (ids, low- and high-cardinality strings, floats with NaN and nulls, bools,
dates, timestamps), fed in ``--batch``-row record batches; prints rows/s and the best time.
The table is built with Arrow kernels before timing starts; only ``update`` + ``result`` count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loaders.profile import Profiler

COUNTRIES = pa.array(["United Kingdom", "France", "Germany", "Spain", "Italy", "Palau",
                      "Hungary", "Netherlands", "Norway", "EIRE", "Australia", "Japan"])
CHANNELS = pa.array(["search", "social", "email", "display", "affiliate", "direct"])


def _with_nulls(arr: pa.Array, every: int) -> pa.Array:
    index = pa.array(range(len(arr)), pa.int64())
    return pc.if_else(pc.equal(pc.bit_wise_and(index, every - 1), 0),
                      pa.scalar(None, arr.type), arr)


def make_table(rows: int, seed: int = 7) -> pa.Table:
    ids = pa.array(range(rows), pa.int64())
    shuffled = pc.bit_wise_and(pc.multiply(ids, 2654435761), (1 << 31) - 1)  # scrambled ints
    rand = pc.random(rows, initializer=seed)
    small = pc.cast(pc.floor(pc.multiply(rand, 1000)), pa.int64())
    low = pc.cast(pc.floor(pc.multiply(pc.random(rows, initializer=seed + 1), 12)), pa.int64())
    email = pc.binary_join_element_wise("user", pc.cast(shuffled, pa.string()), "@example.com",
                                        "")
    spend = pc.if_else(pc.less(rand, 0.01), pa.scalar(float("nan")), pc.multiply(rand, 250.0))
    day = pc.cast(pc.add(pc.cast(small, pa.int32()), 18_000), pa.int32()).view(pa.date32())
    stamp = pc.multiply(pc.add(ids, 1_600_000_000), 1_000_000).view(pa.timestamp("us", "UTC"))
    return pa.table({
        "event_id": ids,
        "customer_id": _with_nulls(shuffled, 16),
        "email": email,
        "country": pc.take(COUNTRIES, low),
        "channel": pc.take(CHANNELS, pc.bit_wise_and(low, 3)),
        "campaign": pc.binary_join_element_wise("cmp-", pc.cast(small, pa.string()), ""),
        "impressions": small,
        "spend": _with_nulls(spend, 8),
        "ctr": rand,
        "clicked": pc.less(rand, 0.3),
        "day": day,
        "ts": stamp,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--batch", type=int, default=65_536)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--show", action="store_true", help="print the profile as JSON")
    args = parser.parse_args()

    table = make_table(args.rows)
    batches = table.to_batches(max_chunksize=args.batch)
    best = float("inf")
    profile: dict[str, dict[str, object]] = {}
    for _ in range(args.repeat):
        start = time.perf_counter()
        profiler = Profiler(table.schema)
        for batch in batches:
            profiler.update(batch)
        profile = profiler.result()
        best = min(best, time.perf_counter() - start)
    if args.show:
        print(json.dumps(profile, indent=1))
    rows = table.num_rows
    print(f"profiled {rows:,} rows x {table.num_columns} columns in {len(batches)} batches "
          f"of <= {args.batch:,} rows: best {best:.2f} s = {rows / best:,.0f} rows/s "
          f"({os.cpu_count()} CPUs, pyarrow {pa.__version__}, "
          f"pyarrow cpu_count {pa.cpu_count()})")
    approx = {name: (stats["distinct_count"], stats["distinct_approximate"])
              for name, stats in profile.items()}
    print("distinct (count, approximate):", approx)


if __name__ == "__main__":
    main()
