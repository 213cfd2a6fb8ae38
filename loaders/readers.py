"""Readers: a file in, a stream of Arrow record batches out (memory bounded by the batch).

Text-like formats (CSV/TSV, JSON, JSON Lines, Excel) come out as ``StringStream`` — every
column text — so the pipeline can clean and infer types over the data itself; Parquet comes
out typed (``TypedStream``). Errors are LoadErrors naming the file and, when known, the line.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from loaders.compression import limit_for
from loaders.csv_blocks import BlockFailed, parse_blocks
from loaders.limits import MIN_DECODED, current
from loaders.options import ReadOptions
from loaders.sniff import HEAD_BYTES, FileFormat, Sniffed
from loaders.streams import StringStream
from server.errors import LoadError

PARQUET_BATCH_ROWS = 65_536
_MANGLED_SHARE = 0.9


class NativeParseFailed(Exception):
    """A column read natively (typed by Arrow's CSV reader) held a value Arrow could not
    convert: the caller reads the file again with that column as text, where Peso's own
    cleaning and conversion handle it (and widen the column if it must)."""

    def __init__(self, column: int, detail: str) -> None:
        super().__init__(detail)
        self.column = column


_NATIVE_FAILURE = re.compile(r"^In CSV column #(\d+): CSV conversion error")


@dataclass
class TypedStream:
    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    format: str = "parquet"


def open_source(path: Path, sniffed: Sniffed, opts: ReadOptions, *,
                label: str | None = None) -> StringStream | TypedStream:
    shown = label or str(path)
    if sniffed.format is FileFormat.PARQUET:
        return open_parquet(path, shown)
    if sniffed.format in (FileFormat.JSON, FileFormat.JSONL):
        from loaders.read_json import open_json

        return open_json(path, lines=sniffed.format is FileFormat.JSONL,
                         batch_rows=opts.batch_rows, label=shown)
    if sniffed.format is FileFormat.XLSX:
        from loaders.read_excel import open_xlsx

        return open_xlsx(path, sheet=opts.sheet, batch_rows=opts.batch_rows, label=shown)
    return open_csv(path, sniffed, opts, shown, newlines_in_values=False)


def first_line(text: str) -> str:
    return text.split("\n", 1)[0][:200]


def describe_arrow_error(shown: str, exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{shown}: {text}"


def _header(path: Path, sniffed: Sniffed, shown: str) -> tuple[list[str], list[list[str]]]:
    """The header row and a few data rows, parsed with the stdlib csv module."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    text = head.decode(sniffed.encoding or "utf-8", errors="replace").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=sniffed.delimiter or ","))[:21]
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise LoadError(f"{shown}: the first line is empty; expected a header row")
    return rows[0], rows[1:-1] if len(rows) > 2 else rows[1:]


def csv_width(path: Path, sniffed: Sniffed, shown: str) -> int:
    """How many columns the header row names."""
    return len(_header(path, sniffed, shown)[0])


def _check_not_mangled(shown: str, header: list[str], rows: list[list[str]]) -> None:
    """A one-column file whose every row holds a whole delimited record in one quoted field
    was quoted twice on export; loading it would give one useless text column."""
    if len(header) != 1 or not rows:
        return
    for delim in (";", ",", "\t", "|"):
        counts = [row[0].count(delim) for row in rows if row]
        if counts and sum(c >= 2 for c in counts) >= _MANGLED_SHARE * len(counts):
            shown_delim = "\\t" if delim == "\t" else delim
            raise LoadError(
                f"{shown}: mangled quoting: each row is ONE quoted field holding "
                f"{counts[0] + 1} {shown_delim!r}-separated values (line 2: "
                f"{first_line(rows[0][0])!r}); the file was quoted as a whole on export. "
                f"Expected one field per column: re-export it, or strip the outer quotes")


@dataclass(frozen=True)
class Head:
    """A CSV file's first batch, already parsed as text, and the byte offset where the rows
    after it start (``loaders.native`` plans from it; the stream then starts there).
    ``converted``: columns (by index) already converted as ``_typed_head`` converts them,
    found while planning; used when the type asked for is theirs."""

    batch: pa.RecordBatch
    rest: int
    converted: Mapping[int, pa.Array] = field(default_factory=dict)


def open_csv(path: Path, sniffed: Sniffed, opts: ReadOptions, shown: str, *,
             newlines_in_values: bool, typed: Mapping[int, pa.DataType] | None = None,
             null_values: Sequence[str] = (), head: Head | None = None) -> StringStream:
    """Stream a CSV file as text columns; ``typed`` names the columns (by index) Arrow
    converts natively instead, with ``null_values`` (exact matches) read as null in them.
    A value in a typed column that Arrow cannot convert raises ``NativeParseFailed``.
    ``head``: the first batch, parsed already; the rest of the file is read after it."""
    header, sample = _header(path, sniffed, shown)
    _check_not_mangled(shown, header, sample)
    names = [f"c{i}" for i in range(len(header))]
    encoding = sniffed.encoding or "utf-8"
    if newlines_in_values:
        head = None
    read = pacsv.ReadOptions(block_size=opts.block_bytes, column_names=names,
                             skip_rows=0 if head else 1,
                             encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding)
    bad_rows: list[str] = []

    def on_bad_row(row: pacsv.InvalidRow) -> str:
        bad_rows.append(_bad_row(row))
        return "error"

    parse = pacsv.ParseOptions(delimiter=sniffed.delimiter or ",",
                               newlines_in_values=newlines_in_values,
                               invalid_row_handler=on_bad_row)
    types: dict[str, pa.DataType] = dict.fromkeys(names, pa.string())
    for index, arrow_type in (typed or {}).items():
        types[names[index]] = arrow_type
    # null_values apply to the typed columns only (strings_can_be_null=False): a quoted
    # "NA" is null there as it is after the text path's token step
    convert = pacsv.ConvertOptions(column_types=types, null_values=list(null_values),
                                   strings_can_be_null=False)

    def fail(exc: Exception) -> LoadError:
        where = _locate(path, encoding, bad_rows[0].rsplit(": ", 1)[-1]) if bad_rows else ""
        detail = bad_rows[0] if bad_rows else describe_arrow_error(shown, exc)
        if bad_rows:
            detail = f"{shown}: {where}{detail}"
        elif "invalid UTF8" in str(exc) and encoding.startswith("utf-8"):
            detail = f"{shown}: {_bad_utf8(path)}"
        return LoadError(f"{detail} (read as CSV, delimiter {sniffed.delimiter!r}, {encoding})")

    def refuse(exc: Exception) -> Exception:
        native = _NATIVE_FAILURE.match(str(exc)) if isinstance(exc, pa.ArrowInvalid) else None
        if native and typed and int(native.group(1)) in typed:
            return NativeParseFailed(int(native.group(1)), str(exc))
        return fail(exc)

    first = _typed_head(head, typed or {}, null_values) if head else None
    start = head.rest if head else 0
    rest: Iterator[pa.RecordBatch] = iter(())
    position: Callable[[], int] = lambda: start  # noqa: E731 - nothing more is read
    closers: list[Callable[[], None]] = []
    if head is None or start < path.stat().st_size:
        if newlines_in_values:   # blocks cannot be cut without following the quotes
            source = _CountingFile(path, start=start)
            closers.append(source.close)
            try:
                reader = pacsv.open_csv(source, read_options=read, parse_options=parse,
                                        convert_options=convert)
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                source.close()
                raise refuse(exc) from exc
            closers.insert(0, reader.close)
            rest, position = reader, source.tell_read
        else:   # cut at line breaks and parsed on several threads, as Arrow would cut them
            rest, position, done = parse_blocks(
                path, start=start, encoding=encoding, block_bytes=opts.block_bytes,
                skip_header=head is None, names=names, parse=parse, convert=convert)
            closers.append(done)

    def batches() -> Iterator[pa.RecordBatch]:
        last = first
        if first is not None and first.num_rows:
            yield first
        try:
            for last in rest:
                yield last
        except BlockFailed as exc:
            bad_rows[:] = [_bad_row(row) for row in exc.bad_rows[:1]]
            raise refuse(exc.error) from exc.error
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise refuse(exc) from exc
        if last is not None and last.num_rows:
            _check_last_quote_closed(path, encoding, shown, header, last)

    def close() -> None:
        for closer in closers:
            closer()

    stream = StringStream(columns=header, batches=batches(), format="csv", close=close)
    stream.position = position  # type: ignore[attr-defined]
    return stream


def _bad_row(row: pacsv.InvalidRow) -> str:
    return (f"expected {row.expected_columns} fields, found {row.actual_columns}: "
            f"{first_line(row.text)!r}")


def null_out(text: pa.Array, null_values: Sequence[str]) -> pa.Array:
    """``text`` with its exact ``null_values`` as null (what Arrow's CSV reader does)."""
    markers = pa.array(list(null_values), pa.string())
    hit = pc.is_in(text, value_set=markers)
    if text.null_count == 0 and text.offset == 0 and text.type == pa.string():
        keep = pc.invert(hit)
        if keep.offset == 0 and keep.null_count == 0:
            # no copy of the text: its offsets and bytes, the markers masked by a bitmap
            return pa.Array.from_buffers(text.type, len(text),
                                         [keep.buffers()[1], *text.buffers()[1:]])
    return pc.if_else(hit, pa.scalar(None, pa.string()), text)


def _typed_head(head: Head, typed: Mapping[int, pa.DataType],
                null_values: Sequence[str]) -> pa.RecordBatch:
    """The text head with its ``typed`` columns converted as Arrow's CSV reader converts
    them (exact ``null_values`` → null, then the shared parser: ``pc.cast``)."""
    batch = head.batch
    if not typed:
        return batch
    columns = list(batch.columns)
    for index, arrow_type in typed.items():
        done = head.converted.get(index)
        if done is not None and done.type == arrow_type:
            columns[index] = done
            continue
        try:
            columns[index] = pc.cast(null_out(columns[index], null_values), arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise NativeParseFailed(index, str(exc)) from exc
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


class _CountingFile(io.RawIOBase):
    """A read-only file that counts the bytes pyarrow has read (for progress: MB/s), from
    byte ``start`` on (counted as read)."""

    def __init__(self, path: Path, start: int = 0) -> None:
        self._fh = path.open("rb", buffering=0)
        if start:
            self._fh.seek(start)
        self.read_bytes = start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._fh.readinto(buffer) or 0
        self.read_bytes += n
        return n

    def tell_read(self) -> int:
        return self.read_bytes

    def close(self) -> None:
        self._fh.close()
        super().close()


def _check_last_quote_closed(path: Path, encoding: str, shown: str, header: list[str],
                             last: pa.RecordBatch) -> None:
    """An opening quote never closed swallows every line after it into the last value of the
    file (when it is in the last column, the field count still fits): refuse that rather than
    load one row where there were many."""
    value = last.column(last.num_columns - 1)[last.num_rows - 1].as_py()
    if not isinstance(value, str):   # read natively: Arrow refuses a value with line breaks
        return
    if not value or "\n" not in value.rstrip("\r\n") or encoding.startswith("utf-16"):
        return
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 64))
        tail = fh.read().rstrip()
    if tail.endswith(b'"'):
        return   # a quoted value with line breaks in it, closed properly
    start = value.split("\n", 1)[0]
    where = _locate(path, encoding, start) or "line ?: "
    lines = value.rstrip("\r\n").count("\n")
    raise LoadError(f"{shown}: {where}the quote opening column {header[-1]!r} is never closed: "
                    f"it runs to the end of the file, swallowing the {lines:,} lines after "
                    f"it; expected a closing quote (a truncated or hand-edited file?)")


def _bad_utf8(path: Path) -> str:
    """Where the first byte that is not UTF-8 is (only on the error path), and what to do."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = line = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                pending = len(decoder.getstate()[0])
                at = max(exc.start - pending, 0)
                line += chunk.count(b"\n", 0, at)
                return (f"line {line + 1}: byte 0x{chunk[at]:02X} at offset {offset + at:,} is "
                        "not UTF-8 (the start of the file is); pass the file's encoding, "
                        "e.g. --encoding cp1252 or latin-1")
            offset += len(chunk)
            line += chunk.count(b"\n")
    return "not valid UTF-8 text; pass the file's encoding, e.g. --encoding cp1252"


def _locate(path: Path, encoding: str, row_text: str) -> str:
    """Find the line of a bad row by its text (only on the error path)."""
    wanted = row_text.strip("'\"")[:60]
    if not wanted:
        return ""
    with path.open(encoding=encoding, errors="replace", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            if wanted in line:
                return f"line {number}: "
    return ""


def open_parquet(path: Path, shown: str) -> TypedStream:
    """Stream a Parquet file's rows in batches. Two bomb guards: the column chunks' declared
    ``total_uncompressed_size`` (the gzip/zip rule), and — since the file writes that number
    itself, and dictionary/RLE pages expand far beyond it — the bytes actually decoded:
    text and binary columns are read dictionary-encoded, their decoded size (the lengths of
    the values the indices pick) is added up batch by batch against
    ``decoded_limit_for(file size)``, and only then are they decoded."""
    try:
        probe = pq.ParquetFile(str(path))
        schema = probe.schema_arrow
        meta = probe.metadata
        inflated = sum(meta.row_group(i).column(j).total_uncompressed_size
                       for i in range(meta.num_row_groups) for j in range(meta.num_columns))
        texts = _dictionary_text_columns(schema, meta)
        pf = pq.ParquetFile(str(path), read_dictionary=texts) if texts else probe
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(describe_arrow_error(shown, exc) + " (expected a valid Parquet file)"
                        ) from exc
    size = path.stat().st_size
    if inflated > limit_for(size):  # a few KB that decompress to GBs (the gzip/zip rule)
        raise LoadError(f"{shown}: its column chunks decompress to {inflated:,} bytes from a "
                        f"{size:,}-byte file, over the limit of {limit_for(size):,} "
                        f"({current().rule()}); refusing a possible decompression bomb")
    budget = decoded_limit_for(size)

    def batches() -> Iterator[pa.RecordBatch]:
        decoded = 0
        try:
            for number, batch in enumerate(pf.iter_batches(batch_size=PARQUET_BATCH_ROWS)):
                decoded += decoded_size(batch)
                if decoded > budget:
                    raise LoadError(
                        f"{shown}: decodes to more than {budget:,} bytes by batch {number + 1} "
                        f"(row {number * PARQUET_BATCH_ROWS + 1:,} on) from a {size:,}-byte "
                        f"file (the limit is {current().parquet_ratio}x the file "
                        f"(PESO_MAX_PARQUET_DECODED_RATIO), at least {MIN_DECODED >> 20} MiB); "
                        "refusing a possible decompression bomb")
                yield _decode_dictionaries(batch, schema)
        except pa.ArrowNotImplementedError as exc:
            raise LoadError(describe_arrow_error(shown, exc) + " (a Parquet layout pyarrow "
                            "cannot read; rewrite the file with another writer)") from exc
        except (pa.ArrowException, OSError) as exc:
            raise LoadError(describe_arrow_error(shown, exc) + " (corrupt Parquet data)"
                            ) from exc

    return TypedStream(schema, batches())


def _dictionary_text_columns(schema: pa.Schema, meta: pq.FileMetaData) -> list[str]:
    """Top-level text/binary columns dictionary-encoded in every row group: read as Arrow
    dictionaries so their decoded size is known before decoding. (Other encodings are
    counted once decoded, one batch at a time; pyarrow cannot read some, such as
    DELTA_BYTE_ARRAY, as dictionaries.)"""
    leaf = {meta.schema.column(j).path: j for j in range(meta.num_columns)}
    out = []
    for f in schema:
        if not (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                or pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)):
            continue
        j = leaf.get(f.name)
        if j is not None and meta.num_row_groups and all(
                meta.row_group(i).column(j).has_dictionary_page
                for i in range(meta.num_row_groups)):
            out.append(f.name)
    return out


def decoded_limit_for(size: int) -> int:
    """What a Parquet file may decode to: a columnar file of repetitive values legitimately
    decodes to far more than its size, so the rule is looser than the gzip/zip one."""
    return current().for_parquet(size)


def decoded_size(batch: pa.RecordBatch) -> int:
    """The bytes ``batch`` takes once every dictionary column is decoded, computed without
    decoding: per dictionary column, the lengths of the values its indices pick, plus
    offsets; other columns as they are."""
    total = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            lengths = pc.binary_length(column.dictionary)
            picked = pc.sum(pc.take(lengths, column.indices)).as_py() if len(column) else 0
            total += int(picked or 0) + 8 * len(column)
        else:
            total += column.nbytes
    return total


def _decode_dictionaries(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if not any(pa.types.is_dictionary(c.type) for c in batch.columns):
        return batch
    columns = [c.cast(schema.field(i).type) if pa.types.is_dictionary(c.type) else c
               for i, c in enumerate(batch.columns)]
    return pa.RecordBatch.from_arrays(columns, schema=schema)

