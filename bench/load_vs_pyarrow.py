"""`peso load` vs a bare pyarrow CSV → Parquet (zstd) conversion of the same file.

    python bench/load_vs_pyarrow.py [--rows 2000000] [--keep DIR] [--profile]

Generates a marketing-like CSV (~120 bytes a row: ~240 MB at the default 2,000,000 rows) in a
temp folder with Arrow kernels (a few seconds), then, in the same run:

* **bare pyarrow**: ``pyarrow.csv.read_csv`` (multi-threaded, types inferred by Arrow) +
  ``pyarrow.parquet.write_table(compression="zstd")`` — and, for reference, the streaming
  variant (``open_csv`` → ``ParquetWriter``), which is what a bounded-memory loader can use;
* **Peso**: ``loaders.pipeline.load_file`` — the real `peso load` path (hash, sniff, read,
  trim, null tokens, type inference incl. currency and dates, validation, profiling, curated
  zstd Parquet, raw copy and registration in an embedded SQLite catalog).

Prints MB/s (input bytes / wall seconds) for each and the ratio Peso / bare (best of
``--repeat`` runs each). Target: Peso >= 50% of bare pyarrow. ``--profile`` runs one Peso
load under pyinstrument (if installed) and prints the hot spots.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loaders.pipeline import LoadRequest, LoadResult, load_file
from server.storage.local import LocalObjectStore
from server.storage.sqlite.store import SQLiteGraphStore

CHANNELS = ["search", "social", "email", "display", "affiliate", "direct", "video"]
COUNTRIES = ["United Kingdom", "France", "Germany", "Spain", "Italy", "Netherlands",
             "Norway", "Ireland", "Australia", "Japan", "United States", "Canada"]
WORDS = ["summer", "sale", "brand", "retarget", "lookalike", "promo", "launch", "spring",
         "holiday", "loyalty", "b2b", "webinar", "trial", "upsell", "newsletter", "q3"]


def _pick(options: list[str], index: pa.Array) -> pa.Array:
    return pc.take(pa.array(options), index)


def _mod(values: pa.Array, n: int) -> pa.Array:
    return pc.cast(pc.floor(pc.multiply(values, float(n))), pa.int64())


def make_chunk(rows: int, start: int, seed: int) -> pa.Table:
    """``rows`` marketing-like rows (ids from ``start``)."""
    ids = pa.array(range(start, start + rows), pa.int64())
    r = [pc.random(rows, initializer=seed * 100 + k) for k in range(8)]
    day = _mod(r[0], 730)
    base = pa.scalar(19_358, pa.int64())  # 2023-01-01 in days
    dates = pc.cast(pc.cast(pc.add(day, base), pa.int32()), pa.date32())
    seconds = pc.add(pc.multiply(pc.cast(pc.add(day, base), pa.int64()), 86_400),
                     _mod(r[1], 86_400))
    stamps = pc.cast(seconds, pa.timestamp("s"))
    spend_cents = _mod(pc.power(r[2], 3.0), 2_500_000)
    dollars = pc.divide(spend_cents, 100)
    cent_part = pc.utf8_lpad(pc.cast(pc.subtract(spend_cents, pc.multiply(dollars, 100)),
                                      pa.string()), 2, "0")
    spend = pc.binary_join_element_wise("$", _thousands(dollars), ".", cent_part, "")
    clicks = _mod(r[3], 5_000)
    impressions = pc.add(pc.multiply(clicks, 37), _mod(r[4], 10_000))
    ctr = pc.round(pc.divide(pc.cast(clicks, pa.float64()),
                             pc.cast(pc.add(impressions, 1), pa.float64())), 6)
    words = pc.binary_join_element_wise(_pick(WORDS, _mod(r[5], len(WORDS))), " ",
                                        _pick(WORDS, _mod(r[6], len(WORDS))), " campaign #",
                                        pc.cast(_mod(r[7], 997), pa.string()), "")
    null_every = pc.equal(pc.bit_wise_and(ids, 15), 3)   # 1 in 16 descriptions missing
    description = pc.if_else(null_every, pa.scalar("", pa.string()), words)
    return pa.table({
        "Event Date": pc.cast(dates, pa.string()),
        "EventTimestamp": pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%S"),
        "CampaignID": pc.add(_mod(r[5], 5_000), 100_000),
        "CustomerID": pc.add(ids, 1_000_000),
        "Channel": _pick(CHANNELS, _mod(r[6], len(CHANNELS))),
        "Country": _pick(COUNTRIES, _mod(r[7], len(COUNTRIES))),
        "Spend": spend,
        "Impressions": pc.if_else(pc.equal(pc.bit_wise_and(ids, 63), 5),
                                  pa.scalar(None, pa.int64()), impressions),
        "Clicks": clicks,
        "CTR": ctr,
        "Description": description,
    })


def _thousands(n: pa.Array) -> pa.Array:
    """Integers as text with thousands separators (values below 1,000,000,000)."""
    millions = pc.divide(n, 1_000_000)
    thousands = pc.divide(pc.subtract(n, pc.multiply(millions, 1_000_000)), 1_000)
    units = pc.subtract(n, pc.add(pc.multiply(millions, 1_000_000), pc.multiply(thousands,
                                                                                1_000)))
    s_m, s_t, s_u = (pc.cast(x, pa.string()) for x in (millions, thousands, units))
    pad_t, pad_u = pc.utf8_lpad(s_t, 3, "0"), pc.utf8_lpad(s_u, 3, "0")
    big = pc.binary_join_element_wise(s_m, ",", pad_t, ",", pad_u, "")
    mid = pc.binary_join_element_wise(s_t, ",", pad_u, "")
    return pc.if_else(pc.greater(millions, 0), big,
                      pc.if_else(pc.greater(thousands, 0), mid, s_u))


def generate(path: Path, rows: int) -> None:
    chunk = 250_000
    options = pacsv.WriteOptions(quoting_style="needed")
    with pacsv.CSVWriter(str(path), make_chunk(1, 0, 1).schema,
                         write_options=options) as writer:
        for start in range(0, rows, chunk):
            writer.write_table(make_chunk(min(chunk, rows - start), start, start // chunk + 1))


def bare_pyarrow(src: Path, out: Path) -> float:
    start = time.perf_counter()
    table = pacsv.read_csv(str(src))
    pq.write_table(table, str(out), compression="zstd")
    return time.perf_counter() - start


def bare_pyarrow_streaming(src: Path, out: Path) -> float:
    start = time.perf_counter()
    reader = pacsv.open_csv(str(src), read_options=pacsv.ReadOptions(block_size=8 << 20))
    with pq.ParquetWriter(str(out), reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
    return time.perf_counter() - start


async def _peso(src: Path, work: Path) -> tuple[float, LoadResult, list[str]]:
    graph = SQLiteGraphStore(str(work / "catalog.db"))
    objects = LocalObjectStore(work / "objects")
    await graph.open()
    objects.open()
    (work / "tmp").mkdir(exist_ok=True)
    try:
        start = time.perf_counter()
        result = await load_file(LoadRequest(path=src, namespace="bench", name="events"),
                                 graph=graph, objects=objects, actor="bench",
                                 tmp_dir=work / "tmp")
        seconds = time.perf_counter() - start
        [fields] = await graph.get_fields([result.curated.version.id])
        return seconds, result, [f"{f.name}={f.arrow_type}" for f in fields]
    finally:
        objects.close()
        await graph.close()


def peso(src: Path, root: Path) -> tuple[float, LoadResult, list[str]]:
    work = Path(tempfile.mkdtemp(dir=root, prefix="peso-"))
    try:
        return asyncio.run(_peso(src, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this CSV path")
    parser.add_argument("--profile", action="store_true", help="profile one Peso load")
    args = parser.parse_args()
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, "
          f"pyarrow {pa.__version__}")
    root = Path(tempfile.mkdtemp(prefix="peso-bench-load-"))
    try:
        src = args.keep or root / "events.csv"
        if not src.exists():
            start = time.perf_counter()
            generate(src, args.rows)
            print(f"generated {src} in {time.perf_counter() - start:.1f} s")
        mb = src.stat().st_size / 1e6
        print(f"input: {args.rows:,} rows, {mb:,.1f} MB")
        bares, streams, runs = [], [], []
        for _ in range(args.repeat):   # interleaved, so that a busy spell hits all three
            bares.append(bare_pyarrow(src, root / "bare.parquet"))
            streams.append(bare_pyarrow_streaming(src, root / "bare-s.parquet"))
            runs.append(peso(src, root))
        bare, streaming = min(bares), min(streams)
        bare_size = (root / "bare.parquet").stat().st_size / 1e6
        seconds, result, types = min(runs, key=lambda r: r[0])
        print("all runs (s): bare " + " ".join(f"{s:.2f}" for s in bares) + " | streaming "
              + " ".join(f"{s:.2f}" for s in streams) + " | peso "
              + " ".join(f"{r[0]:.2f}" for r in runs))
        report = result.report
        print(f"bare pyarrow  read_csv + write_table: {bare:6.2f} s  {mb / bare:7.1f} MB/s  "
              f"(Parquet {bare_size:.1f} MB)")
        print(f"bare pyarrow  streaming open_csv:     {streaming:6.2f} s  "
              f"{mb / streaming:7.1f} MB/s")
        print(f"peso load     (load_file):            {seconds:6.2f} s  {mb / seconds:7.1f} MB/s"
              f"  (curated {result.curated.version.byte_size / 1e6:.1f} MB, "
              f"{report.rows_written:,} rows)")
        print("  steps: " + ", ".join(f"{s.step} {s.seconds:.2f} s" for s in report.steps))
        print("  types: " + ", ".join(types))
        print(f"ratio peso / bare: {bare / seconds:.0%} (vs streaming bare: "
              f"{streaming / seconds:.0%}); target >= 50%")
        if args.profile:
            _profile(src, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _profile(src: Path, root: Path) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed: pip install pyinstrument")
        return
    profiler = Profiler(interval=0.005)
    profiler.start()
    peso(src, root)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    main()
