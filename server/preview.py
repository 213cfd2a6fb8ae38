"""Read a window of rows from a curated Parquet object: only the asked-for columns, only the
row groups that hold the window, never the whole file. Values come back JSON-safe."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from server.errors import LoadError, ValidationError
from server.storage.objects import ObjectStore

_BATCH_ROWS = 1024


def read_preview(objects: ObjectStore, key: str, *, columns: list[str] | None, limit: int,
                 offset: int) -> dict[str, Any]:
    if limit < 0 or offset < 0:
        raise ValidationError("limit and offset must not be negative", field="limit")
    fs, base = objects.arrow_filesystem()
    try:
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


def _columns(columns: list[str] | None, names: list[str]) -> list[str]:
    if columns is None:
        return names
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise ValidationError(f"unknown column(s) {', '.join(map(repr, unknown))}; this version "
                              f"has: {', '.join(names)}", field="columns")
    return list(dict.fromkeys(columns))


def _window(pf: pq.ParquetFile, columns: list[str], limit: int, offset: int) -> list[list[Any]]:
    out: list[list[Any]] = []
    skip = offset
    for rg in range(pf.num_row_groups):
        if len(out) >= limit:
            break
        rg_rows = pf.metadata.row_group(rg).num_rows
        if skip >= rg_rows:      # the whole row group lies before the window: not read at all
            skip -= rg_rows
            continue
        for batch in pf.iter_batches(batch_size=_BATCH_ROWS, row_groups=[rg], columns=columns):
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
