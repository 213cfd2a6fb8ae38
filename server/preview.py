"""Read a window of rows from a curated Parquet object: only the asked-for columns, only the
row groups that hold the window, never the whole file. Values come back JSON-safe."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from server.collect.parts import is_folder_key
from server.errors import LoadError, ValidationError
from server.storage.objects import ObjectStore

_BATCH_ROWS = 1024


MAX_CONDITIONS = 10
OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "is_null", "not_null")


@dataclass(frozen=True, slots=True)
class Condition:
    """``column op value``; all conditions of a preview must hold (AND)."""

    column: str
    op: str
    value: Any = None


def read_preview(objects: ObjectStore, key: str, *, columns: list[str] | None, limit: int,
                 offset: int, where: list[Condition] | None = None) -> dict[str, Any]:
    if limit < 0 or offset < 0:
        raise ValidationError("limit and offset must not be negative", field="limit")
    fs, base = objects.arrow_filesystem()
    try:
        if where or is_folder_key(key):   # a folder of parts reads as one dataset
            return _filtered(fs, base + key, columns, limit, offset, where or [])
        with fs.open_input_file(base + key) as fh:
            pf = pq.ParquetFile(fh)
            names = pf.schema_arrow.names
            wanted = _columns(columns, names)
            rows = _window(pf, wanted, limit, offset)
            total = pf.metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(f"cannot read curated data {key}: {exc}") from exc
    return {"columns": wanted, "rows": rows, "offset": offset, "limit": limit,
            "totalRows": total}


def _filtered(fs: Any, path: str, columns: list[str] | None, limit: int, offset: int,
              where: list[Condition]) -> dict[str, Any]:
    """A filtered window through pyarrow.dataset: the filter is pushed down, so row groups
    whose statistics cannot match are skipped, and only the needed columns are read."""
    dataset = ds.dataset(path, filesystem=fs, format="parquet")
    schema = dataset.schema
    wanted = _columns(columns, schema.names)
    expression = _expression(schema, where) if where else None
    scanner = dataset.scanner(columns=wanted, filter=expression, batch_size=_BATCH_ROWS)
    out = _take(scanner.to_batches(), limit, offset)
    total = sum(f.metadata.num_rows for f in dataset.get_fragments())  # footers only
    block = {"columns": wanted, "rows": out, "offset": offset, "limit": limit,
             "totalRows": total}
    if where:
        block["where"] = [[c.column, c.op, json_safe(c.value)] for c in where]
    return block


def _expression(schema: pa.Schema, where: list[Condition]) -> ds.Expression:
    if len(where) > MAX_CONDITIONS:
        raise ValidationError(f"at most {MAX_CONDITIONS} conditions in `where`", field="where")
    combined: ds.Expression | None = None
    for i, cond in enumerate(where):
        label = f"where[{i}]"
        if cond.column not in schema.names:
            raise ValidationError(f"{label}: unknown column {cond.column!r}; this version has: "
                                  f"{', '.join(schema.names)}", field="where")
        if cond.op not in OPS:
            raise ValidationError(f"{label}: op must be one of {', '.join(OPS)}", field="where")
        ftype = schema.field(cond.column).type
        col = ds.field(cond.column)
        if cond.op == "is_null":
            expr = col.is_null()
        elif cond.op == "not_null":
            expr = col.is_valid()
        elif cond.op == "in":
            if not isinstance(cond.value, list) or not cond.value or len(cond.value) > 1000:
                raise ValidationError(f"{label}: `in` takes a list of 1 to 1000 values",
                                      field="where")
            expr = col.isin(pa.array([_scalar(v, ftype, label) for v in cond.value], ftype))
        else:
            value = pa.scalar(_scalar(cond.value, ftype, label), ftype)
            expr = {"eq": col == value, "ne": col != value, "lt": col < value,
                    "le": col <= value, "gt": col > value, "ge": col >= value}[cond.op]
        combined = expr if combined is None else combined & expr
    assert combined is not None
    return combined


def _scalar(value: Any, ftype: pa.DataType, label: str) -> Any:
    """The JSON value as a Python value of the column's type (dates from ISO text…)."""
    if value is None or isinstance(value, (dict, list)):
        raise ValidationError(f"{label}: a comparison needs a single non-null value "
                              "(use is_null / not_null for nulls)", field="where")
    try:
        return pc.cast(pa.scalar(value), ftype).as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ValidationError(f"{label}: {value!r} does not fit the column's type {ftype}",
                              field="where") from exc


def _columns(columns: list[str] | None, names: list[str]) -> list[str]:
    if columns is None:
        return names
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise ValidationError(f"unknown column(s) {', '.join(map(repr, unknown))}; this version "
                              f"has: {', '.join(names)}", field="columns")
    return list(dict.fromkeys(columns))


def _window(pf: pq.ParquetFile, columns: list[str], limit: int, offset: int) -> list[list[Any]]:
    first, skip = 0, offset
    while first < pf.num_row_groups and skip >= (n := pf.metadata.row_group(first).num_rows):
        skip -= n    # a whole row group before the window: not read at all
        first += 1
    batches = (batch for rg in range(first, pf.num_row_groups)
               for batch in pf.iter_batches(batch_size=_BATCH_ROWS, row_groups=[rg],
                                            columns=columns))
    return _take(batches, limit, skip)


def _take(batches: Iterable[pa.RecordBatch], limit: int, skip: int) -> list[list[Any]]:
    """Skip ``skip`` rows of ``batches``, then return up to ``limit`` rows, JSON-safe; stops
    reading as soon as the window is full."""
    out: list[list[Any]] = []
    if limit <= 0:
        return out
    for batch in batches:
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        part = batch.slice(skip, limit - len(out))
        skip = 0
        cols = [part.column(i).to_pylist() for i in range(part.num_columns)]
        out.extend([json_safe(v) for v in row] for row in zip(*cols, strict=True))
        if len(out) >= limit:
            break
    return out


def json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return str(value)
