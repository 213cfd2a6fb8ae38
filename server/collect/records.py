"""The records of one collection batch: split the body into JSON records, freeze a dataset's
schema, and sort records into accepted and refused (with the reason for each).

Checking is pyarrow's JSON reader first, on the whole batch at once with the frozen schema
as its explicit schema (no per-record Python when everything fits). Only a batch it refuses
is looked at record by record: Python names the problem (invalid JSON, not an object, an
unknown field, a value of the wrong kind), and each record Python lets through is parsed
alone by pyarrow too, so what is accepted is exactly what the flush will be able to read.
Then the dataset's contract rules (``loaders.contract``) run over the parsed records.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.json as pj

from loaders.contract import ROW_COLUMN, VIOLATIONS_COLUMN, Contract, Validator
from loaders.contract_rules import ColumnType
from server.errors import ValidationError

TIMESTAMP = pa.timestamp("us", tz="UTC")
_CONTRACT_TYPES = {ColumnType.STRING: pa.string(), ColumnType.INTEGER: pa.int64(),
                   ColumnType.NUMBER: pa.float64(), ColumnType.BOOLEAN: pa.bool_(),
                   ColumnType.DATE: pa.date32(), ColumnType.TIMESTAMP: TIMESTAMP}
_INT64 = (-(2**63), 2**63 - 1)
_BLOCK = 1 << 24  # pyarrow's JSON block: a whole batch (≤ PESO_MAX_BODY_BYTES) in one block
MAX_SHOWN_TEXT = 4096  # characters of a refused record kept in the rejected file


@dataclass(frozen=True, slots=True)
class Refused:
    record: int     # 1-based position of the record in the batch
    reason: str
    text: str       # the record as sent (cut at MAX_SHOWN_TEXT characters)

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "reason": self.reason, "text": self.text}


@dataclass
class Checked:
    lines: list[bytes] = field(default_factory=list)     # accepted records, one JSON each
    refused: list[Refused] = field(default_factory=list)
    rows: int = 0


def split_body(body: bytes) -> list[bytes]:
    """The records of a body: a JSON array of objects, JSON Lines (blank lines skipped), or
    one JSON object (even spread over several lines).
    A body that starts with ``[`` and is not valid JSON is refused as a whole: there is no
    telling where its records begin."""
    text = body.lstrip()
    if text.startswith(b"\xef\xbb\xbf"):   # a UTF-8 byte order mark some writers put first
        text = text[3:].lstrip()
    if not text:
        raise ValidationError("the body holds no records: send JSON Lines (one object per "
                              "line) or a JSON array of objects", field="body")
    if text.startswith(b"["):
        try:
            items = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ValidationError(f"the body starts with '[' but is not a valid JSON array: "
                                  f"{exc}", field="body") from exc
        if not isinstance(items, list):
            raise ValidationError("the body must be a JSON array of objects or JSON Lines",
                                  field="body")
        return [json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()
                for item in items]
    if text.startswith(b"{") and b"\n" in text.rstrip():
        try:   # one pretty-printed object (JSON Lines fail here at their second line, fast)
            single = json.loads(text)
        except (ValueError, RecursionError):
            single = None
        if isinstance(single, dict):
            return [json.dumps(single, separators=(",", ":"), ensure_ascii=False).encode()]
    return [line for line in (raw.strip() for raw in text.split(b"\n")) if line]


def _options(schema: pa.Schema) -> pj.ParseOptions:
    return pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error",
                           newlines_in_values=False)


def read(lines: Sequence[bytes], schema: pa.Schema | None) -> pa.Table:
    """JSON lines as a table with ``schema`` (inferred when None): the check and the flush
    read records the same way."""
    data = b"\n".join(lines) + b"\n"
    block = max(_BLOCK, len(data) + 1)
    if schema is None:
        return pj.read_json(io.BytesIO(data), read_options=pj.ReadOptions(block_size=block))
    return pj.read_json(io.BytesIO(data), read_options=pj.ReadOptions(block_size=block),
                        parse_options=_options(schema))


# --------------------------------------------------------------------------- the schema


@dataclass(frozen=True, slots=True)
class FrozenSchema:
    """The Arrow schema every record of a dataset must fit; where it came from."""

    schema: pa.Schema
    origin: str   # "contract", "inferred" (from the first batch) or "contract+inferred"

    def serialize(self) -> str:
        return base64.b64encode(self.schema.serialize().to_pybytes()).decode()

    @classmethod
    def deserialize(cls, text: str, origin: str) -> FrozenSchema:
        return cls(pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text))), origin)

    def describe(self) -> str:
        return ", ".join(f"{f.name}: {f.type}" for f in self.schema)


def freeze(lines: Sequence[bytes], contract: Contract | None) -> FrozenSchema:
    """The schema of a dataset's first batch: the contract's typed columns, and the type of
    every other field as pyarrow infers it from the batch (from its first record alone when
    the records disagree). Fields that are only ever null become strings; string fields whose
    values are all ISO timestamps become UTC timestamps (microseconds)."""
    declared: dict[str, pa.DataType] = {}
    if contract is not None:
        for col in contract.columns:
            declared[col.name] = _CONTRACT_TYPES[col.type] if col.type else pa.string()
    objects = [line for line in lines if _is_object(line)]
    inferred = pa.schema([])
    if objects:
        try:
            table = read(objects, None)
        except pa.ArrowInvalid:
            table = read(objects[:1], None)
        inferred = pa.schema([pa.field(f.name, _settle(f.type, table.column(f.name)))
                              for f in table.schema])
    fields = [pa.field(name, t) for name, t in declared.items()]
    fields += [f for f in inferred if f.name not in declared]
    if not fields:
        raise ValidationError("cannot freeze a schema: the first batch has no JSON object "
                              "with a field, and the dataset has no contract", field="body")
    origin = ("contract+inferred" if declared and len(fields) > len(declared)
              else "contract" if declared else "inferred")
    return FrozenSchema(pa.schema(fields), origin)


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _settle(t: pa.DataType, column: pa.ChunkedArray) -> pa.DataType:
    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_timestamp(t):   # pyarrow's guess fits these values; later ones may
        return TIMESTAMP           # carry fractions or an offset
    if pa.types.is_string(t) and column.null_count < len(column):
        try:
            column.cast(TIMESTAMP)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return t
        return TIMESTAMP
    return t


# --------------------------------------------------------------------------- checking


def check(lines: Sequence[bytes], frozen: FrozenSchema,
          validator: Validator | None = None) -> Checked:
    """Sort ``lines`` into accepted and refused. ``validator`` (the dataset's contract,
    built over ``frozen.schema``) also refuses records that break a row rule."""
    out = Checked()
    try:
        table = read(lines, frozen.schema)
        kept = list(range(len(lines)))
    except pa.ArrowInvalid:
        kept = []
        for i, line in enumerate(lines):
            reason = _problem(line, frozen.schema)
            if reason is None:
                reason = _arrow_problem(line, frozen.schema)
            if reason is None:
                kept.append(i)
            else:
                out.refused.append(_refused(i, reason, line))
        table = read([lines[i] for i in kept], frozen.schema) if kept else None
    if table is not None and validator is not None and table.num_rows:
        batch = table.combine_chunks().to_batches()[0]
        mask = validator.validate(batch, 0)
        _, bad = validator.split(batch, mask)
        if bad.num_rows:
            rows = bad.column(bad.schema.get_field_index(ROW_COLUMN)).to_pylist()
            why = bad.column(bad.schema.get_field_index(VIOLATIONS_COLUMN)).to_pylist()
            failed = {}
            for row, violations in zip(rows, why, strict=True):
                failed[row - 1] = violations
            for position in sorted(failed):
                i = kept[position]
                out.refused.append(_refused(i, f"breaks the contract: {failed[position]}",
                                            lines[i]))
            kept = [i for position, i in enumerate(kept) if position not in failed]
    out.refused.sort(key=lambda r: r.record)
    out.lines = [lines[i] for i in kept]
    out.rows = len(out.lines)
    return out


def _refused(index: int, reason: str, line: bytes) -> Refused:
    return Refused(index + 1, reason, line.decode("utf-8", "replace")[:MAX_SHOWN_TEXT])


def _problem(line: bytes, schema: pa.Schema) -> str | None:
    """Why a record cannot fit ``schema``, in words; None when Python sees no problem."""
    try:
        value = json.loads(line)
    except ValueError as exc:
        return f"invalid JSON: {exc}"
    except RecursionError:
        return "nested too deeply to read"
    if not isinstance(value, dict):
        return f"a record must be a JSON object, not {_kind(value)}"
    names = set(schema.names)
    unknown = [k for k in value if k not in names]
    if unknown:
        return (f"unknown field(s) {', '.join(map(repr, unknown[:5]))}: the dataset's schema "
                f"is frozen ({', '.join(schema.names[:20])})")
    for name, item in value.items():
        wrong = _misfit(item, schema.field(name).type)
        if wrong:
            return f"field {name!r}: {wrong}"
    return None


def _arrow_problem(line: bytes, schema: pa.Schema) -> str | None:
    """pyarrow's objection to a record Python found no fault with, naming the field."""
    try:
        read([line], schema)
        return None
    except pa.ArrowInvalid as whole:
        for name, item in json.loads(line).items():
            try:
                read([json.dumps({name: item}).encode()], schema)
            except pa.ArrowInvalid as exc:
                return f"field {name!r}: {exc}"
        return f"{whole}"


def _misfit(value: Any, t: pa.DataType) -> str | None:
    if value is None:
        return None
    if pa.types.is_boolean(t):
        ok = isinstance(value, bool)
    elif pa.types.is_integer(t):
        ok = isinstance(value, int) and not isinstance(value, bool) \
            and _INT64[0] <= value <= _INT64[1]
    elif pa.types.is_floating(t):
        ok = isinstance(value, int | float) and not isinstance(value, bool) \
            and math.isfinite(value)
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_timestamp(t) \
            or pa.types.is_date(t):
        ok = isinstance(value, str)
    elif pa.types.is_struct(t):
        ok = isinstance(value, dict)
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        ok = isinstance(value, list)
    else:
        ok = True
    return None if ok else f"expected {t}, got {_kind(value)} {_show(value)}"


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, float) \
        or math.isfinite(value) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
