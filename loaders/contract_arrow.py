"""Contract rules as vectorised pyarrow.compute kernels.

A kernel takes a column's values (dictionaries decoded, string views as large strings) and
the 0-based index of the batch's first row, and returns a boolean array without nulls:
True where the row violates the rule. Nulls (and float NaNs) fail only ``required``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from loaders.contract_rules import ColumnContract, ColumnType, Scalar, full_match, show

if TYPE_CHECKING:
    from collections.abc import Callable

    from loaders.contract import RowCheck

    Kernel = Callable[[pa.Array, int], pa.Array]

COMPACT_CHUNKS = 32


class Mismatch(Exception):
    """A rule cannot apply to the column's actual type (only possible without ``type``)."""


def value_type(t: pa.DataType) -> pa.DataType:
    """The type kernels see for a column of type ``t``."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string_view(t):
        return pa.large_string()
    return t


def values(arr: pa.Array) -> pa.Array:
    """A column's values as kernels see them (see ``value_type``)."""
    if isinstance(arr, pa.DictionaryArray):
        arr = arr.dictionary_decode()
    if pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.large_string())
    return arr


def is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def is_numeric(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def type_matches(declared: ColumnType, t: pa.DataType) -> bool:
    """Whether a column of Arrow type ``t`` satisfies ``type: declared`` (an all-null column
    of type null satisfies every type; ``required`` is what refuses it)."""
    if pa.types.is_null(t):
        return True
    return bool({ColumnType.STRING: is_text, ColumnType.INTEGER: pa.types.is_integer,
                 ColumnType.NUMBER: is_numeric, ColumnType.BOOLEAN: pa.types.is_boolean,
                 ColumnType.DATE: pa.types.is_date,
                 ColumnType.TIMESTAMP: pa.types.is_timestamp}[declared](t))


def present(arr: pa.Array) -> pa.Array:
    """True where the row has a value: not null, and not NaN."""
    return pc.invert(pc.is_null(arr, nan_is_null=True))


def build_kernel(col: ColumnContract, rule: str, t: pa.DataType, check: RowCheck,
                 max_values: int, max_bytes: int) -> Kernel:
    """The kernel for ``rule`` of ``col`` on a column of value type ``t``; Mismatch when the
    rule's parameter cannot be compared with that type. Tried once on an empty array so a
    missing pyarrow kernel shows up here, not in the middle of a load."""
    kernel = _kernel(col, rule, t, check, max_values, max_bytes)
    try:
        _probe = kernel(pa.array([], type=t), 0) if rule != "unique" else None
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise Mismatch(f"{rule} cannot be checked on a column of type {t}") from exc
    del _probe
    return kernel


def _kernel(col: ColumnContract, rule: str, t: pa.DataType, check: RowCheck,
            max_values: int, max_bytes: int) -> Kernel:
    if rule == "required":
        return lambda arr, _: pc.is_null(arr, nan_is_null=True)
    if pa.types.is_null(t):  # every value is null: no other rule can fail
        return lambda arr, _: pc.is_valid(arr)
    if rule == "unique":
        return UniqueIndex(check, max_values, max_bytes)
    if rule in ("min", "max"):
        bound = pa.scalar(*convert(getattr(col, rule), t, rule))
        compare = pc.less if rule == "min" else pc.greater
        return lambda arr, _: pc.fill_null(compare(arr, bound), False)
    if rule == "allowed":
        assert col.allowed is not None
        converted = [convert(v, t, rule) for v in col.allowed]
        types = {ty for _, ty in converted}
        try:
            value_set = pa.array([v for v, _ in converted],
                                 type=types.pop() if len(types) == 1 else None)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise Mismatch(f"allowed values of mixed types cannot match {t} values") from exc
        return lambda arr, _: pc.and_(present(arr),
                                      pc.invert(pc.is_in(arr, value_set=value_set)))
    if rule == "regex":
        if not is_text(t):
            raise Mismatch(f"regex applies to string columns; this column is {t}")
        assert col.regex is not None
        pattern = full_match(col.regex)
        return lambda arr, _: pc.fill_null(
            pc.invert(pc.match_substring_regex(arr, pattern=pattern)), False)
    raise AssertionError(f"unknown rule {rule}")


def convert(value: Scalar, t: pa.DataType, rule: str) -> tuple[Any, pa.DataType | None]:
    """A contract value as a Python value and Arrow type comparable with ``t`` values."""
    bad = Mismatch(f"{rule} {show(value)} cannot be compared with {t} values")
    if is_numeric(t):
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise bad
        if isinstance(value, int):
            if not -(2**63) <= value < 2**63:
                raise bad
            return value, pa.int64()
        return value, (pa.float64() if isinstance(value, float) else None)
    if is_text(t):
        if isinstance(value, date) and not isinstance(value, datetime):
            value = value.isoformat()
        if not isinstance(value, str):
            raise bad
        return value, t
    if pa.types.is_boolean(t):
        if not isinstance(value, bool):
            raise bad
        return value, pa.bool_()
    if pa.types.is_date(t):
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                raise bad from None
        if not isinstance(value, date) or isinstance(value, datetime):
            raise bad
        return value, pa.date32()
    if pa.types.is_timestamp(t):
        return _timestamp(value, t, bad), pa.timestamp("us", tz=t.tz)
    raise bad


def _timestamp(value: Scalar, t: pa.TimestampType, bad: Mismatch) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise bad from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise bad
    if t.tz is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)           # a naive bound of an aware column: UTC
    if t.tz is None and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


class UniqueIndex:
    """``unique`` across batches: the distinct values seen so far, as Arrow arrays.

    A row fails when its value occurred in an earlier row. Memory: the distinct values
    themselves (about their Arrow size: 5M e-mail addresses ≈ 150 MB), capped at
    ``max_values`` values or ``max_bytes`` bytes; past the cap, values are no longer added,
    later rows are checked against what is held and within their own batch, and the check
    is marked incomplete. Each batch costs one probe of the held values, O(held + batch).
    """

    def __init__(self, check: RowCheck, max_values: int, max_bytes: int) -> None:
        self.check, self.max_values, self.max_bytes = check, max_values, max_bytes
        self.chunks: list[pa.Array] = []
        self.count = self.nbytes = 0

    def __call__(self, arr: pa.Array, first_row: int) -> pa.Array:
        has_value = present(arr)
        fail = repeats(arr)
        distinct = pc.unique(arr.filter(has_value))
        if self.chunks:
            held = pa.chunked_array(self.chunks, type=arr.type)
            seen = held.filter(pc.is_in(held, value_set=distinct)).combine_chunks()
            if len(seen):
                fail = pc.or_(fail, pc.is_in(arr, value_set=seen))
                distinct = distinct.filter(pc.invert(pc.is_in(distinct, value_set=seen)))
        self._remember(distinct, first_row)
        return pc.and_(fail, has_value)

    def _remember(self, new: pa.Array, first_row: int) -> None:
        if not len(new) or not self.check.complete:
            return
        room = self.max_values - self.count
        if new.nbytes and self.nbytes + new.nbytes > self.max_bytes:
            room = min(room, len(new) * (self.max_bytes - self.nbytes) // new.nbytes)
        if room < len(new):
            new = new.slice(0, max(room, 0))
            self.check.complete = False
            self.check.note = (
                f"exact for the first {self.count + len(new):,} distinct values (the memory "
                f"cap); rows from row {first_row + 1} on were checked only against those and "
                f"within their batch of rows, so repeats among later values may be missed")
        if len(new):
            self.chunks.append(new)
            self.count += len(new)
            self.nbytes += new.nbytes
        if len(self.chunks) > COMPACT_CHUNKS:
            self.chunks = [pa.concat_arrays(self.chunks)]


def repeats(arr: pa.Array) -> pa.Array:
    """True where a value equals the value of an earlier row of ``arr`` (never for nulls)."""
    n = len(arr)
    if n < 2:
        return pa.repeat(False, n)
    order = pc.sort_indices(arr)         # a stable sort: equal values keep row order
    ordered = arr.take(order)
    same = pc.fill_null(pc.equal(ordered.slice(1), ordered.slice(0, n - 1)), False)
    repeated = pa.concat_arrays([pa.array([False]), same])
    return repeated.take(pc.sort_indices(order))  # back to row order (inverse permutation)
