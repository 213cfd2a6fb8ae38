"""Which CSV columns Arrow's CSV reader may parse straight into their type (no text path).

``sample_native`` parses the file's first batch (the rows of its first CSV block, exactly as
Arrow's streaming reader will cut it) as text, plans each column as the text path would
(trim → null tokens → infer), and keeps the integers, decimals, ISO dates and ISO
timestamps whose every sampled value converts *as it stands*: no padding, no ``+`` sign, no
Excel ``####``, nothing but exact null tokens. The load then opens the CSV with those columns typed.
Nothing of the head is done twice: the columns are planned on two threads (nothing else runs
yet), their native conversion is kept for the head's typed batch (``Head.converted``) and
the other columns' cleaning, with its counts, for the load's first batch
(``NativePlan.cleaned``).

Why the result equals the text path's for every later value too: Arrow's CSV converter and
``pc.cast`` (the text path's conversion) share one parser, so a value either converts the
same way in both or is refused natively, which raises ``NativeParseFailed`` and sends that
column back to the text path (cleaned, converted or widened there). Two guards keep the
remaining differences out: trimming must be on (Arrow trims a padded number itself, without
counting it in ``trimmed_values`` — the one count natively parsed columns do not keep), and a
column whose null token or sentinel itself parses as its type (a sentinel ``-1``: Arrow only
matches it unpadded) stays on the text path. ``tests/test_loaders_native.py`` loads every
case both ways and compares.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from loaders.convert import CleanStats, clean_text
from loaders.infer import ColumnPlan, Kind, infer_column
from loaders.options import LoadOptions
from loaders.readers import Head, null_out
from loaders.sniff import Sniffed

PLANNERS = 2   # threads planning the head's columns


def missing_markers(opts: LoadOptions) -> list[str]:
    """The exact values read as null: the null tokens and the dataset's sentinels."""
    return list(dict.fromkeys(opts.clean.null_tokens + opts.clean.sentinels))


@dataclass(frozen=True)
class Cleaned:
    """A head column as ``clean_text`` left it, and what cleaning it counted."""

    text: pa.Array
    stats: CleanStats


@dataclass(frozen=True)
class NativePlan:
    plans: list[ColumnPlan]            # every column's, from the head
    native: dict[int, ColumnPlan]      # the columns to parse natively
    head: Head                         # the first batch (text) and where the rest starts
    # the other columns of the head, cleaned while planning: the load's first batch uses
    # them instead of cleaning them again
    cleaned: dict[int, Cleaned] = field(default_factory=dict)


def sample_native(path: Path, sniffed: Sniffed, width: int, opts: LoadOptions
                  ) -> NativePlan | None:
    """Parse the file's first batch as Arrow's streaming reader cuts it (the first
    ``block_bytes`` of UTF-8 text, up to its last line break), plan every one of the ``width``
    columns from it as the text path would, and pick the columns to parse natively. The load
    then streams that batch first and the rest of the file after it, so it is parsed once.
    None when no column qualifies or the head cannot be cut exactly (UTF-16, a multi-byte
    encoding, a parse error there: the text path decides)."""
    clean = opts.clean
    encoding = (sniffed.encoding or "utf-8").lower().replace("_", "-")
    if not (opts.read.native_types and clean.trim_whitespace and clean.infer_types):
        return None
    block = opts.read.block_bytes
    with path.open("rb") as fh:
        raw = fh.read(block)
    if encoding in ("utf-8", "utf-8-sig", "utf8"):
        head = raw.removeprefix(b"\xef\xbb\xbf")
        bom = len(raw) - len(head)
    elif _single_byte(encoding):   # Arrow cuts blocks from the text transcoded to UTF-8
        head, bom = raw.decode(encoding, errors="replace").encode("utf-8")[:block], 0
    else:
        return None
    cut = head.rfind(b"\n")
    if cut <= 0:
        return None
    # where the rest starts in the file: one byte per character in a single-byte encoding
    rest = bom + (cut + 1 if bom or encoding.startswith("utf") else
                  len(head[:cut + 1].decode("utf-8")))
    names = [f"c{i}" for i in range(width)]
    try:
        sample = pacsv.read_csv(
            io.BytesIO(head[:cut + 1]),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=sniffed.delimiter or ","),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                 strings_can_be_null=False))
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None   # a quoted line break or a bad row in the head: the text path decides
    if sample.num_rows == 0 or sample.num_columns != width:
        return None
    markers = missing_markers(opts)

    def plan(column: pa.ChunkedArray) -> _Planned:
        text = column.combine_chunks()
        stats = CleanStats()
        cleaned = clean_text(text, clean, stats, "")
        inferred = infer_column(cleaned, date_order=clean.date_order)
        return _Planned(text, inferred, _native_column(text, inferred, markers),
                        Cleaned(cleaned, stats))

    # Columns plan independently, and Arrow's kernels release the GIL: nothing else of the
    # load runs yet, so they are planned on two threads.
    with ThreadPoolExecutor(max_workers=PLANNERS, thread_name_prefix="peso-plan") as pool:
        planned = list(pool.map(plan, sample.columns))
    converted = {i: p.typed for i, p in enumerate(planned) if p.typed is not None}
    if not converted:
        return None
    plans = [p.plan for p in planned]
    batch = pa.RecordBatch.from_arrays([p.text for p in planned], names=names)
    return NativePlan(plans, {i: plans[i] for i in converted}, Head(batch, rest, converted),
                      {i: p.cleaned for i, p in enumerate(planned) if i not in converted})


@dataclass(frozen=True)
class _Planned:
    text: pa.Array              # as read
    plan: ColumnPlan
    typed: pa.Array | None      # converted natively, when it may be
    cleaned: Cleaned


def _single_byte(encoding: str) -> bool:
    try:
        return len("é".encode(encoding, errors="replace")) == 1 and \
            len("\n".encode(encoding)) == 1
    except LookupError:
        return False


def _native_column(column: pa.Array, plan: ColumnPlan, markers: list[str]) -> pa.Array | None:
    """``column`` (text as read) converted as Arrow's CSV reader would, if its ``plan``
    may be parsed natively (see the module docstring); else None."""
    if not _native_kind(plan):
        return None
    arrow_type = plan.arrow_type
    if any(_cast(pa.array([m], pa.string()), arrow_type) is not None for m in markers):
        return None
    return _cast(null_out(column, markers), arrow_type)


def _native_kind(plan: ColumnPlan) -> bool:
    if plan.kind in (Kind.INTEGER, Kind.FLOAT):
        return True
    if plan.kind is Kind.DATE:
        return plan.fmt == "%Y-%m-%d"
    return plan.kind is Kind.TIMESTAMP and plan.fmt is None


def _cast(values: pa.Array, arrow_type: pa.DataType) -> pa.Array | None:
    try:
        return pc.cast(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
