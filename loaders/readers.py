"""Readers: a file in, a stream of Arrow record batches out (memory bounded by the batch).

``open_table`` returns the schema and a batch iterator; errors come out as LoadError naming
the file and, when pyarrow says where, the row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from loaders.sniff import FileFormat, Sniffed
from server.errors import LoadError

BLOCK_SIZE = 16 << 20        # bytes of CSV per block: types are inferred from the first block
PARQUET_BATCH_ROWS = 65_536
NULL_TOKENS = ["", "NA", "N/A", "n/a", "null", "NULL", "None", "NaN", "nan", "-"]


@dataclass
class TableStream:
    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]


def open_table(path: Path, sniffed: Sniffed) -> TableStream:
    if sniffed.format is FileFormat.PARQUET:
        return _open_parquet(path)
    return _open_csv(path, sniffed)


def describe_arrow_error(path: Path, exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{path}: {text}"


def _open_csv(path: Path, sniffed: Sniffed) -> TableStream:
    encoding = sniffed.encoding or "utf-8"
    read = pacsv.ReadOptions(block_size=BLOCK_SIZE,
                             encoding="utf8" if encoding == "utf-8-sig" else encoding)
    parse = pacsv.ParseOptions(delimiter=sniffed.delimiter or ",", newlines_in_values=True)
    convert = pacsv.ConvertOptions(null_values=NULL_TOKENS, strings_can_be_null=True)
    try:
        reader = pacsv.open_csv(str(path), read_options=read, parse_options=parse,
                                convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
        raise LoadError(describe_arrow_error(path, exc) +
                        f" (read as CSV, delimiter {sniffed.delimiter!r}, {encoding})") from exc
    schema = reader.schema
    if len(schema) == 0:
        raise LoadError(f"{path}: no columns found; expected a header row")

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
            raise LoadError(describe_arrow_error(path, exc)) from exc

    return TableStream(schema, batches())


def _open_parquet(path: Path) -> TableStream:
    try:
        pf = pq.ParquetFile(str(path))
        schema = pf.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(describe_arrow_error(path, exc) + " (expected a valid Parquet file)"
                        ) from exc

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from pf.iter_batches(batch_size=PARQUET_BATCH_ROWS)
        except (pa.ArrowException, OSError) as exc:
            raise LoadError(describe_arrow_error(path, exc) + " (corrupt Parquet data)") from exc

    return TableStream(schema, batches())
