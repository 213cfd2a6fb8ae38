"""The contract between the text-like readers (JSON, JSON Lines, Excel, ...) and the pipeline.

A reader hands over *strings only*: every column is ``pa.string()`` (nullable), so trimming,
null tokens and type inference happen in one place (the pipeline), the same way for every
format. Parquet stays typed and does not go through this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa


def _noop() -> None:
    return None


@dataclass
class StringStream:
    """A table read as text.

    ``columns``: header names exactly as in the file, in order (may be duplicated or blank;
    the pipeline normalises them). ``batches``: record batches whose fields are named
    ``c0``..``cN-1`` (N = ``len(columns)``), every one ``pa.string()`` and nullable; errors
    while iterating are ``LoadError``. ``close()`` releases the file handles; it is safe to
    call more than once and before the batches are exhausted.
    """

    columns: list[str]
    batches: Iterator[pa.RecordBatch]
    format: str
    close: Callable[[], None] = _noop


def string_schema(width: int) -> pa.Schema:
    """The schema every batch of a ``width``-column StringStream has."""
    return pa.schema([pa.field(f"c{i}", pa.string(), nullable=True) for i in range(width)])


def string_batch(schema: pa.Schema, columns: Sequence[Sequence[str | None]]) -> pa.RecordBatch:
    """Build one batch from column-major Python strings (``None`` = null).

    Every inner sequence must have the same length; ``len(columns)`` must equal the schema's.
    """
    arrays = [pa.array(values, type=pa.string()) for values in columns]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
