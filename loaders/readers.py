"""Readers: a file in, a stream of Arrow record batches out (memory bounded by the batch).

Text-like formats (CSV/TSV, JSON, JSON Lines, Excel) come out as ``StringStream`` — every
column text — so the pipeline can clean and infer types over the data itself; Parquet comes
out typed (``TypedStream``). Errors are LoadErrors naming the file and, when known, the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from loaders.options import ReadOptions
from loaders.sniff import HEAD_BYTES, FileFormat, Sniffed
from loaders.streams import StringStream
from server.errors import LoadError

PARQUET_BATCH_ROWS = 65_536
_MANGLED_SHARE = 0.9


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


def open_csv(path: Path, sniffed: Sniffed, opts: ReadOptions, shown: str, *,
             newlines_in_values: bool) -> StringStream:
    header, sample = _header(path, sniffed, shown)
    _check_not_mangled(shown, header, sample)
    names = [f"c{i}" for i in range(len(header))]
    encoding = sniffed.encoding or "utf-8"
    read = pacsv.ReadOptions(block_size=opts.block_bytes, column_names=names, skip_rows=1,
                             encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding)
    bad_rows: list[str] = []

    def on_bad_row(row: pacsv.InvalidRow) -> str:
        bad_rows.append(f"expected {row.expected_columns} fields, found {row.actual_columns}: "
                        f"{first_line(row.text)!r}")
        return "error"

    parse = pacsv.ParseOptions(delimiter=sniffed.delimiter or ",",
                               newlines_in_values=newlines_in_values,
                               invalid_row_handler=on_bad_row)
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)

    def fail(exc: Exception) -> LoadError:
        where = _locate(path, encoding, bad_rows[0].rsplit(": ", 1)[-1]) if bad_rows else ""
        detail = bad_rows[0] if bad_rows else describe_arrow_error(shown, exc)
        if bad_rows:
            detail = f"{shown}: {where}{detail}"
        return LoadError(f"{detail} (read as CSV, delimiter {sniffed.delimiter!r}, {encoding})")

    source = _CountingFile(path)
    try:
        reader = pacsv.open_csv(source, read_options=read, parse_options=parse,
                                convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        source.close()
        raise fail(exc) from exc

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise fail(exc) from exc

    def close() -> None:
        reader.close()
        source.close()

    stream = StringStream(columns=header, batches=batches(), format="csv", close=close)
    stream.position = source.tell_read  # type: ignore[attr-defined]
    return stream


class _CountingFile(io.RawIOBase):
    """A read-only file that counts the bytes pyarrow has read (for progress: MB/s)."""

    def __init__(self, path: Path) -> None:
        self._fh = path.open("rb", buffering=0)
        self.read_bytes = 0

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
    try:
        pf = pq.ParquetFile(str(path))
        schema = pf.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(describe_arrow_error(shown, exc) + " (expected a valid Parquet file)"
                        ) from exc

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from pf.iter_batches(batch_size=PARQUET_BATCH_ROWS)
        except (pa.ArrowException, OSError) as exc:
            raise LoadError(describe_arrow_error(shown, exc) + " (corrupt Parquet data)"
                            ) from exc

    return TypedStream(schema, batches())

