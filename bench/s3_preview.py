"""Preview from S3: 100 rows, a two-column projection and a filter, from a 5,000,000-row
curated Parquet object on S3 (moto's server on 127.0.0.1), read by Peso's preview
(`server.preview.read_preview` through the S3 object store) and by bare `pyarrow.dataset` on
the same object. Prints p50/p99 of both and their ratio (target: Peso within 1.5x).

    python bench/s3_preview.py [--rows 5000000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from moto.server import ThreadedMotoServer

from bench.common import header, ms, percentile, record
from server.preview import Condition, read_preview
from server.storage.s3 import S3ObjectStore

KEY = "curated/bench/events/v1/part-0.parquet"
COLUMNS = ["event_id", "revenue"]
LIMIT = 100
QUICK_SECONDS = 25  # bench/run_all.py: this script has a --quick mode taking about this long


def write_table(path: Path, rows: int) -> None:
    """A marketing-like events table; row groups of 256k rows, sorted by day (as loads are)."""
    batch = 500_000
    schema = pa.schema([("event_id", pa.int64()), ("day", pa.int32()),
                        ("channel", pa.string()), ("revenue", pa.float64())])
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:
        for start in range(0, rows, batch):
            n = min(batch, rows - start)
            ids = pa.array(range(start, start + n), pa.int64())
            day = pc.cast(pc.divide(ids, max(rows // 365, 1)), pa.int32())
            channel = pc.take(pa.array(["search", "social", "email", "display"]),
                              pc.bit_wise_and(ids, 3))
            revenue = pc.multiply(pc.cast(pc.bit_wise_and(ids, 1023), pa.float64()), 0.37)
            writer.write_table(pa.table([ids, day, channel, revenue], schema=schema),
                               row_group_size=256_000)


def timed(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true",
                        help="a short run for bench/run_all.py: 1,000,000 rows, 7 repeats")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeat = 1_000_000, 7
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        store = S3ObjectStore(bucket="peso-bench", prefix="", endpoint=f"http://{host}:{port}",
                              region="us-east-1", access_key="testing", secret_key="testing")
        store.open()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "events.parquet"
            start = time.perf_counter()
            write_table(path, args.rows)
            store.put_file(KEY, str(path))
            size = path.stat().st_size
        inp = {"generator": "bench/s3_preview.py write_table (event_id int64, day int32, "
                            "channel string, revenue double; zstd, 256k-row groups)",
               "rows": args.rows, "bytes": size, "repeat": args.repeat, "key": KEY,
               "read": f"{LIMIT} rows of {COLUMNS} where day == 200"}
        header("s3_preview", input=inp, backend="s3 (moto)", workers=None)
        print(f"object: {args.rows:,} rows, {size / 1e6:.1f} MB on moto S3 "
              f"(written and uploaded in {time.perf_counter() - start:.1f} s)")
        day = 200  # a filter that lands in the middle of the file
        where = [Condition("day", "eq", day)]
        fs, base = store.arrow_filesystem()

        def peso() -> None:
            block = read_preview(store, KEY, columns=COLUMNS, limit=LIMIT, offset=0,
                                 where=where)
            assert len(block["rows"]) == LIMIT

        def bare() -> None:
            dataset = ds.dataset(base + KEY, filesystem=fs, format="parquet")
            table = dataset.head(LIMIT, columns=COLUMNS, filter=ds.field("day") == day)
            assert table.num_rows == LIMIT

        peso()
        bare()  # warm both (connection pools, footers)
        p, b = [], []
        for _ in range(args.repeat):  # interleaved so machine noise hits both alike
            p += timed(peso, 1)
            b += timed(bare, 1)
        for name, xs in (("peso preview", p), ("bare pyarrow.dataset", b)):
            print(f"{name:22s} p50 {ms(percentile(xs, 50))}  p99 {ms(percentile(xs, 99))}")
        ratio = percentile(p, 50) / percentile(b, 50)
        print(f"peso / bare (p50): {ratio:.2f}x   target: within 1.5x -> "
              f"{'met' if ratio <= 1.5 else 'MISSED'}")
        record("s3_preview", "peso_over_bare_p50", round(ratio, 3), "ratio", target="<= 1.5",
               input=inp, backend="s3 (moto)", workers=None)
        record("s3_preview", "peso_p50", round(percentile(p, 50) * 1000, 2), "ms", input=inp,
               backend="s3 (moto)", workers=None)
        store.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
