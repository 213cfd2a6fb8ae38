"""`peso load` vs a bare pyarrow CSV → Parquet (zstd) conversion of the same file.

    python bench/load_vs_pyarrow.py [--rows 2000000] [--inputs native,marketing,corpus]
                                    [--corpus-mb 40] [--keep DIR] [--quick] [--profile]

Generates a marketing-like CSV (~120 bytes a row: ~240 MB at the default 2,000,000 rows) in a
temp folder with Arrow kernels (a few seconds), then, in the same run:

* **bare pyarrow**: ``pyarrow.csv.read_csv`` (multi-threaded, types inferred by Arrow) +
  ``pyarrow.parquet.write_table(compression="zstd")`` — and, for reference, the streaming
  variant (``open_csv`` → ``ParquetWriter``), which is what a bounded-memory loader can use;
* **Peso**: ``loaders.pipeline.load_file`` — the real `peso load` path (hash, sniff, read,
  trim, null tokens, type inference incl. currency and dates, validation, profiling, curated
  zstd Parquet, raw copy and registration in an embedded SQLite catalog).

Three inputs (``--inputs``): **native**, the generator's columns with every value a plain type
(ISO dates and timestamps, integers, decimals, strings); **marketing**, the same generator with
marketing defects (``$1,234.56`` amounts, empty cells); **corpus**, each real marketing CSV of
``../shared/corpus/marketing`` with its data lines repeated to ``--corpus-mb`` MB (the real
defects, at a size where fixed costs do not dominate).

Prints MB/s (input bytes / wall seconds) for each and the ratio Peso / bare (best of
``--repeat`` interleaved runs each), and records each ratio in
``bench/results/load_vs_pyarrow.jsonl``. Targets (issue 15): >= 0.85 of bare pyarrow on the
all-native CSV, >= 0.6 on the messy real files. ``--profile`` runs one Peso load of the
marketing file under pyinstrument (if installed) and prints the hot spots.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import header, record  # noqa: E402 - the path above makes bench/ importable

from loaders.pipeline import LoadRequest, LoadResult, load_file  # noqa: E402
from loaders.sniff import sniff  # noqa: E402
from server.storage.local import LocalObjectStore  # noqa: E402
from server.storage.sqlite.store import SQLiteGraphStore  # noqa: E402

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


def generate(path: Path, rows: int, make: Callable[[int, int, int], pa.Table] | None = None
             ) -> None:
    """Write ``rows`` generated rows (``make``: the chunk generator, ``make_chunk`` by
    default) to ``path`` in chunks of 250,000."""
    make = make or make_chunk
    chunk = 250_000
    options = pacsv.WriteOptions(quoting_style="needed")
    with pacsv.CSVWriter(str(path), make(1, 0, 1).schema, write_options=options) as writer:
        for start in range(0, rows, chunk):
            writer.write_table(make(min(chunk, rows - start), start, start // chunk + 1))


def _parse(src: Path) -> pacsv.ParseOptions:
    """The delimiter Peso's sniffer finds (the bank files use ';'), so both read the same."""
    return pacsv.ParseOptions(delimiter=sniff(src).delimiter or ",")


def bare_pyarrow(src: Path, out: Path) -> float:
    start = time.perf_counter()
    table = pacsv.read_csv(str(src), parse_options=_parse(src))
    pq.write_table(table, str(out), compression="zstd")
    return time.perf_counter() - start


def bare_pyarrow_streaming(src: Path, out: Path) -> float:
    start = time.perf_counter()
    reader = pacsv.open_csv(str(src), read_options=pacsv.ReadOptions(block_size=8 << 20),
                            parse_options=_parse(src))
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


def make_plain_chunk(rows: int, start: int, seed: int) -> pa.Table:
    """The same columns with every value a plain type: ``Spend`` a bare decimal, no gaps."""
    table = make_chunk(rows, start, seed)
    spend = pc.cast(pc.cast(pc.replace_substring(pc.replace_substring(
        table.column("Spend"), "$", ""), ",", ""), pa.float64()), pa.string())
    impressions = pc.fill_null(table.column("Impressions"), 0)
    return table.set_column(table.schema.get_field_index("Spend"), "Spend", spend) \
        .set_column(table.schema.get_field_index("Impressions"), "Impressions", impressions)


def replicate(src: Path, dst: Path, megabytes: float) -> int:
    """``src``'s header once, then its data lines repeated until ``dst`` holds ``megabytes``
    MB: a real file's defects, at a size where fixed costs do not dominate. Data rows out."""
    header, _, body = src.read_bytes().partition(b"\n")
    body = body if body.endswith(b"\n") else body + b"\n"
    copies = max(1, int(megabytes * 1e6 // max(len(body), 1)))
    dst.write_bytes(header + b"\n" + body * copies)
    return copies * body.count(b"\n")


def compare(src: Path, root: Path, repeat: int, label: str, inp: dict[str, object],
            target: str, show_steps: bool = True) -> float:
    """Interleaved best-of-``repeat`` runs of bare pyarrow and Peso on ``src``; the ratio."""
    mb = src.stat().st_size / 1e6
    bares, streams, runs = [], [], []
    for _ in range(repeat):   # interleaved, so that a busy spell hits all three
        bares.append(bare_pyarrow(src, root / "bare.parquet"))
        streams.append(bare_pyarrow_streaming(src, root / "bare-s.parquet"))
        runs.append(peso(src, root))
    bare, streaming = min(bares), min(streams)
    seconds, result, types = min(runs, key=lambda r: r[0])
    print(f"\n== {label}: {src.name}, {mb:,.1f} MB, {result.report.rows_written:,} rows")
    print("  all runs (s): bare " + " ".join(f"{x:.2f}" for x in bares) + " | streaming "
          + " ".join(f"{x:.2f}" for x in streams) + " | peso "
          + " ".join(f"{r[0]:.2f}" for r in runs))
    print(f"  bare pyarrow read_csv + write_table {bare:6.2f} s {mb / bare:7.1f} MB/s; "
          f"streaming {streaming:.2f} s; peso load {seconds:.2f} s {mb / seconds:.1f} MB/s")
    if show_steps:
        print("  steps: " + ", ".join(f"{x.step} {x.seconds:.2f} s"
                                      for x in result.report.steps))
        print("  types: " + ", ".join(types))
    natively = result.report.cleaning.get("parsed_natively", []) \
        if isinstance(result.report.cleaning, dict) else []
    print(f"  parsed natively by Arrow: {', '.join(natively) or 'none'}")
    ratio = round(bare / seconds, 3)
    record("load_vs_pyarrow", f"ratio_{label}", ratio, "x bare", target=target,
           input={**inp, "path": str(src), "bytes": src.stat().st_size,
                  "rows": result.report.rows_written, "column_types": types,
                  "parsed_natively": natively, "bare_s": round(bare, 3),
                  "peso_s": round(seconds, 3)},
           backend="sqlite (embedded), local objects", workers=1)
    return ratio


QUICK_SECONDS = 25  # bench/run_all.py: --quick (300,000 rows, 10 MB corpus files) takes this long
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "marketing"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000,
                        help="rows of each generated CSV")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--inputs", default="native,marketing,corpus",
                        help="which of native,marketing,corpus to run")
    parser.add_argument("--corpus-mb", type=float, default=40.0,
                        help="each real file's rows repeated up to this size")
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    parser.add_argument("--quick", action="store_true",
                        help="300,000 rows, 2 runs each, corpus files at 10 MB")
    parser.add_argument("--profile", action="store_true", help="profile one Peso load")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeat, args.corpus_mb = 300_000, 2, 10.0
    inputs = set(args.inputs.split(","))
    header("load_vs_pyarrow", input={"rows": args.rows, "repeat": args.repeat,
                                     "inputs": sorted(inputs), "corpus_mb": args.corpus_mb,
                                     "pyarrow": pa.__version__},
           backend="sqlite (embedded), local objects", workers=1)
    root = Path(tempfile.mkdtemp(prefix="peso-bench-load-"))
    folder = args.keep or root
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if "native" in inputs:
            src = folder / f"plain-{args.rows}.csv"
            if not src.exists():
                generate(src, args.rows, make_plain_chunk)
            compare(src, root, args.repeat, "native", {
                "generator": "bench/load_vs_pyarrow.py make_plain_chunk",
                "columns": "ISO date, ISO timestamp, 4 int64, 2 decimals, 3 strings"},
                ">= 0.85")
        if "marketing" in inputs:
            src = folder / f"events-{args.rows}.csv"
            if not src.exists():
                generate(src, args.rows)
            compare(src, root, args.repeat, "generated_messy", {
                "generator": "bench/load_vs_pyarrow.py make_chunk",
                "columns": "ISO date/timestamp, ints with gaps, '$1,234.56' spend, strings "
                           "with empty cells"}, ">= 0.6")
            if args.profile:
                _profile(src, root)
        if "corpus" in inputs:
            if not CORPUS.is_dir():
                print(f"\n{CORPUS} is absent: the real marketing files are skipped")
            ratios = []
            for real in sorted(CORPUS.glob("*.csv")):
                dst = folder / f"x-{real.name}"
                rows = replicate(real, dst, args.corpus_mb)
                ratios.append(compare(dst, root, args.repeat, f"real_{real.stem[:40]}", {
                    "file": str(real), "replicated_rows": rows,
                    "note": "the real file's data lines repeated to the size"},
                    ">= 0.6", show_steps=False))
            if ratios:
                record("load_vs_pyarrow", "ratio_real_marketing_min", min(ratios), "x bare",
                       target=">= 0.6", input={"files": str(CORPUS),
                                               "corpus_mb": args.corpus_mb},
                       backend="sqlite (embedded), local objects", workers=1)
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
