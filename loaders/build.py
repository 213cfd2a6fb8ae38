"""Build the curated Parquet of one load: read → clean → infer → convert → validate →
profile → write, in one streaming pass (memory bounded by the batch size).

If a value later in the file does not fit the type inferred from the first batch, the column
is widened (integer → float → text; a day/month date swaps its order once, see
``loaders.infer.widen``) and the pass starts again from the top, so no value is ever silently
dropped or mis-typed; a column with no values in the first batch is typed by its first values
and read again the same way. Restarts are bounded by a small multiple of the column count.
Arrow errors the data provokes become LoadErrors naming the file, never a traceback.

CSV columns that the file's first block shows to be plain integers, decimals, ISO dates or
ISO timestamps are parsed by Arrow's CSV reader straight into their type
(``loaders.native``), skipping the text path's trim/token/convert passes; a value Arrow
cannot convert sends that one column back to the text path (``NativeParseFailed``: the pass
starts again), which cleans, converts or widens it as before. The report lists them under
``cleaning.parsed_natively``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from loaders.compression import detect_compression, layer_budget, materialize
from loaders.convert import CleanStats, ConversionError, clean_text, convert
from loaders.infer import EMPTY, STRING, ColumnPlan, infer_column, widen
from loaders.names import normalize_names
from loaders.native import Cleaned, missing_markers, sample_native
from loaders.options import DateOrder, LoadOptions
from loaders.readers import (
    Head,
    NativeParseFailed,
    TypedStream,
    csv_width,
    open_csv,
    open_source,
)
from loaders.sniff import FileFormat, sniff
from loaders.stages import Stages
from loaders.streams import StringStream
from server.errors import LoadError
from server.models import FieldSpec

Progress = Callable[[int, int], None]   # (rows so far, bytes of input so far)


@dataclass
class BuildResult:
    format: str
    rows_read: int = 0
    rows_written: int = 0
    rows_skipped: int = 0           # exact duplicates dropped
    rows_quarantined: int = 0
    fields: list[FieldSpec] = field(default_factory=list)
    quality: dict[str, Any] | None = None
    cleaning: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    restarts: int = 0


def build_curated(path: Path, out: Path, quarantine: Path, *, opts: LoadOptions,
                  contract: Any = None, label: str | None = None,
                  progress: Progress | None = None,
                  _budget: tuple[int, int] | None = None) -> BuildResult:
    """Write ``out`` (and ``quarantine`` when rows are refused); return what happened.
    (``_budget``: for a compressed layer inside another, the bytes and layers left.)"""
    shown = label or str(path)
    with path.open("rb") as fh:
        head = fh.read(64)
    compression = detect_compression(head, path)
    if compression is not None:  # gzip/zip: unpack to a temp file (bounded, bomb-guarded)
        left = None if _budget is None else _budget[0]
        inflated = materialize(path, compression, out.parent, left)
        try:
            budget = layer_budget(path, _budget, inflated.stat().st_size, shown)
            result = build_curated(inflated, out, quarantine, opts=opts, contract=contract,
                                   label=f"{shown} ({compression}: {inflated.suffix or 'file'})",
                                   progress=progress, _budget=budget)
        finally:
            inflated.unlink(missing_ok=True)
        result.format = f"{result.format}+{compression}"
        return result
    sniffed = sniff(path, force=opts.read.format, delimiter=opts.read.delimiter,
                    encoding=opts.read.encoding, label=label)
    size = os.path.getsize(path)
    plans: list[ColumnPlan] | None = None
    # CSV columns Arrow parses straight into their type, planned from the first block
    native: dict[int, ColumnPlan] = {}
    first: Head | None = None   # its first batch, parsed once to plan them
    cleaned: dict[int, Cleaned] = {}   # and its other columns, cleaned while planning
    if sniffed.format is FileFormat.CSV and opts.read.native_types:
        planned = sample_native(path, sniffed, csv_width(path, sniffed, shown), opts)
        if planned is not None:
            plans, native, first = planned.plans, planned.native, planned.head
            cleaned = planned.cleaned
    warnings: list[str] = []
    multiline = False
    fallbacks = 0   # passes started again because a natively parsed column needs the text path
    for attempt in range(1000):
        stream = _open(path, sniffed, opts, shown, multiline, native, first)
        try:
            result = _one_pass(stream, out, quarantine, opts, contract, plans, shown, size,
                               progress, native, cleaned if first is not None else {})
        except NativeParseFailed as failed:   # a value Arrow cannot convert: the text path
            native = {i: p for i, p in native.items() if i != failed.column}
            fallbacks += 1
            continue
        except _WidenAndRestart as again:
            plans = again.plans
            warnings.append(again.message)
            continue
        except LoadError as exc:
            if sniffed.format is FileFormat.CSV and not multiline and "fields, found" in str(exc):
                multiline = True   # maybe a quoted field with a line break: read again, slower
                if first is not None:   # batches are cut otherwise: plan from them as text
                    plans, native, first, cleaned = None, {}, None, {}
                continue
            raise
        except pa.ArrowException as exc:   # data Arrow cannot process: say so, not a traceback
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise LoadError(f"{shown}: the {sniffed.format.value} data could not be processed "
                            f"({type(exc).__name__}: {detail[:300]})") from exc
        finally:
            close = getattr(stream, "close", None)
            if callable(close):
                close()
        result.warnings = warnings + result.warnings
        result.restarts = attempt - fallbacks
        return result
    raise LoadError(f"{shown}: too many re-reads while settling column types")


def _open(path: Path, sniffed: Any, opts: LoadOptions, shown: str, multiline: bool,
          native: dict[int, ColumnPlan], head: Head | None) -> StringStream | TypedStream:
    if multiline or head is not None:
        return open_csv(path, sniffed, opts.read, shown, newlines_in_values=multiline,
                        typed={i: p.arrow_type for i, p in native.items()},
                        null_values=missing_markers(opts), head=head)
    return open_source(path, sniffed, opts.read, label=shown)


class _WidenAndRestart(Exception):
    def __init__(self, plans: list[ColumnPlan], message: str) -> None:
        super().__init__(message)
        self.plans, self.message = plans, message


def _one_pass(stream: StringStream | TypedStream, out: Path, quarantine: Path,
              opts: LoadOptions, contract: Any, plans: list[ColumnPlan] | None, shown: str,
              size: int, progress: Progress | None,
              native: dict[int, pa.DataType], head_cleaned: dict[int, Cleaned]) -> BuildResult:
    """One pass over ``stream``. ``head_cleaned``: columns of its first batch (the planned
    head) cleaned already."""
    result = BuildResult(format=stream.format)
    stats = CleanStats()
    if isinstance(stream, TypedStream):
        names = normalize_names(stream.schema.names, enabled=opts.clean.normalize_names)
        originals = list(stream.schema.names)
        schema = pa.schema([pa.field(n, f.type, f.nullable) for n, f in
                            zip(names, stream.schema, strict=True)])
        notes: list[str | None] = [None] * len(names)
    else:
        names = normalize_names(stream.columns, enabled=opts.clean.normalize_names)
        originals = list(stream.columns)
        schema, notes = None, []
    stages: Stages | None = None
    rows = 0
    try:
        for batch in stream.batches:
            if isinstance(stream, TypedStream):
                typed = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
            else:
                done = head_cleaned if rows == 0 else {}
                texts = [col if i in native else _clean(col, opts, stats, names[i], done.get(i))
                         for i, col in enumerate(batch.columns)]
                for i in native:   # Arrow read the null tokens as null: count them
                    stats.null_tokens += texts[i].null_count
                if plans is None:   # (with native columns, the first block planned them all)
                    plans = [infer_column(t, date_order=opts.clean.date_order)
                             if opts.clean.infer_types else STRING for t in texts]
                elif opts.clean.infer_types:
                    _type_empty_columns(texts, plans, names, opts.clean.date_order, rows)
                if schema is None:
                    schema = pa.schema([pa.field(n, p.arrow_type) for n, p in
                                        zip(names, plans, strict=True)])
                    notes = [p.note for p in plans]
                try:
                    arrays = [t if i in native else convert(t, plans[i], i, rows)
                              for i, t in enumerate(texts)]
                except ConversionError as exc:
                    widened = list(plans)
                    again = widened[exc.column] = widen(exc.plan, exc.value)
                    raise _WidenAndRestart(widened, (
                        f"column {names[exc.column]!r}: row {exc.row} value {exc.value[:60]!r} "
                        f"is not {exc.plan.kind.value}"
                        f"{' in that day/month order' if again.reordered else ''}; "
                        f"read again as {again.kind.value}")) from None
                typed = pa.RecordBatch.from_arrays(arrays, schema=schema)
            if stages is None:
                assert schema is not None
                stages = Stages(schema, originals, notes, plans, out, quarantine, opts,
                                contract, shown)
            stages.push(typed, rows)
            rows += batch.num_rows
            if progress is not None:
                progress(rows, _position(stream, size, rows))
        if stages is None:  # a header and no rows
            if schema is None:
                schema = pa.schema([pa.field(n, pa.string()) for n in names])
                notes = [None] * len(names)
            stages = Stages(schema, originals, notes, plans, out, quarantine, opts, contract,
                            shown)
        stages.finish(result)
    except BaseException:
        if stages is not None:
            stages.abort()
        raise
    result.rows_read = rows
    result.cleaning = {"trimmed_values": stats.trimmed, "null_tokens": stats.null_tokens,
                       "excel_overflow_cells": stats.excel_overflow,
                       "null_tokens_used": list(opts.clean.null_tokens),
                       "sentinels": list(opts.clean.sentinels),
                       "names_normalized": opts.clean.normalize_names,
                       "types_inferred": opts.clean.infer_types,
                       "duplicates_dropped": result.rows_skipped,
                       "parsed_natively": [names[i] for i in sorted(native)]}
    if stats.excel_overflow:
        result.warnings.append(
            f"{stats.excel_overflow} Excel overflow cell(s) ('####': the value was lost on "
            f"export) read as null in {', '.join(sorted(stats.by_column))}")
    for name, plan in zip(names, plans or [], strict=False):
        if plan.assumed:
            result.warnings.append(f"column {name!r}: {plan.note}")
    return result


def _clean(column: pa.Array, opts: LoadOptions, stats: CleanStats, name: str,
           done: Cleaned | None) -> pa.Array:
    """``clean_text`` of ``column``, or what it gave while planning (``done``)."""
    if done is None:
        return clean_text(column, opts.clean, stats, name)
    stats.add(done.stats, name)
    return done.text


def _type_empty_columns(texts: list[pa.Array], plans: list[ColumnPlan], names: list[str],
                        date_order: DateOrder, rows: int) -> None:
    """A column empty in the first batch was planned as text with no values; once values turn
    up, type it by them and read again (earlier rows are all null: any type holds them)."""
    for i, (text, plan) in enumerate(zip(texts, plans, strict=True)):
        if plan == EMPTY and text.null_count < len(text):
            typed = infer_column(text, date_order=date_order)
            widened = list(plans)
            widened[i] = typed
            raise _WidenAndRestart(widened, (
                f"column {names[i]!r}: no values in the first {rows:,} rows; typed by the "
                f"next ones, read again as {typed.kind.value}"))


def _position(stream: object, size: int, rows: int) -> int:
    """Bytes of input consumed so far, when the reader can tell (CSV can), else the size."""
    position = getattr(stream, "position", None)
    return int(position()) if callable(position) else size
