"""Clean and convert one batch of text columns by the inferred plans.

Per column: trim whitespace → Excel overflow cells (``####``) and null tokens/sentinels to
null → convert to the planned Arrow type. A value that does not fit raises ConversionError
with its column, row and value, so the pipeline can widen that column and read again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from loaders.infer import PATTERNS, ColumnPlan, Kind
from loaders.options import CleaningOptions

_EXCEL_OVERFLOW = r"^#{3,}$"
_AROUND_DIGITS = "+-$€£¥ \t\r\n\f\v"


class ConversionError(Exception):
    def __init__(self, column: int, row: int, value: str, plan: ColumnPlan) -> None:
        super().__init__(f"column {column} row {row}: {value!r} is not {plan.kind.value}")
        self.column, self.row, self.value, self.plan = column, row, value, plan


@dataclass
class CleanStats:
    """Counts per cleaning step, summed over batches, for the load report."""

    trimmed: int = 0
    null_tokens: int = 0
    excel_overflow: int = 0
    by_column: dict[str, int] = field(default_factory=dict)

    def add(self, other: CleanStats, name: str) -> None:
        """Count what cleaning column ``name`` counted in ``other`` (its only column)."""
        self.trimmed += other.trimmed
        self.null_tokens += other.null_tokens
        self.excel_overflow += other.excel_overflow
        for count in other.by_column.values():
            self.by_column[name] = self.by_column.get(name, 0) + count


def clean_text(arr: pa.Array, opts: CleaningOptions, stats: CleanStats, name: str) -> pa.Array:
    """Trim and null-out one text column (before inference or conversion)."""
    if opts.trim_whitespace:
        trimmed = pc.utf8_trim_whitespace(arr)
        # trimming only shortens: equal byte totals mean nothing changed (skip the compare)
        if _total_bytes(trimmed) != _total_bytes(arr):
            stats.trimmed += int(pc.sum(pc.not_equal(trimmed, arr)).as_py() or 0)
        arr = trimmed
    tokens = list(opts.null_tokens) + list(opts.sentinels)
    is_token = pc.is_in(arr, value_set=pa.array(tokens, pa.string())) if tokens else None
    overflow = None
    maybe = pc.starts_with(arr, "###")   # a cheap scan; the regex only when something matches
    if pc.any(maybe).as_py():
        overflow = pc.and_(maybe, pc.match_substring_regex(arr, _EXCEL_OVERFLOW))
        n_overflow = int(pc.sum(overflow).as_py() or 0)
        if n_overflow:
            stats.excel_overflow += n_overflow
            stats.by_column[name] = stats.by_column.get(name, 0) + n_overflow
            stats.null_tokens -= n_overflow   # counted apart, not as null tokens
    if overflow is None and is_token is None:
        return arr
    to_null = (is_token if overflow is None else overflow if is_token is None
               else pc.or_(is_token, overflow))
    n = int(pc.sum(to_null).as_py() or 0)
    if n:
        stats.null_tokens += n
        arr = pc.if_else(to_null, pa.scalar(None, pa.string()), arr)
    return arr


def _total_bytes(arr: pa.Array) -> int:
    """The bytes of text ``arr`` holds: its last offset minus its first (O(1))."""
    if len(arr) == 0:
        return 0
    width = 8 if pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type) else 4
    offsets = memoryview(arr.buffers()[1]).cast("q" if width == 8 else "i")
    return int(offsets[arr.offset + len(arr)] - offsets[arr.offset])


def convert(arr: pa.Array, plan: ColumnPlan, column: int, first_row: int) -> pa.Array:
    """Convert a cleaned text column; raise ConversionError at the first value that fails."""
    try:
        return _convert(arr, plan)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, _Unparsed):
        index, value = _first_bad(arr, plan)
        raise ConversionError(column, first_row + index + 1, value, plan) from None


class _Unparsed(Exception):
    pass


def _convert(arr: pa.Array, plan: ColumnPlan) -> pa.Array:
    kind = plan.kind
    if kind is Kind.STRING:
        return arr
    if kind is Kind.BOOLEAN:
        if not _fits(arr, PATTERNS[Kind.BOOLEAN]):
            raise _Unparsed
        return pc.equal(pc.utf8_lower(arr), "true")
    if kind is Kind.INTEGER:
        try:
            return pc.cast(arr, pa.int64())
        except pa.ArrowInvalid:  # Arrow's integer parser refuses a leading "+"
            return pc.cast(pc.replace_substring_regex(arr, r"^\+", ""), pa.int64())
    if kind is Kind.FLOAT:
        return pc.cast(arr, pa.float64())
    if kind is Kind.CURRENCY:
        if not _fits(arr, PATTERNS[Kind.CURRENCY]):
            raise _Unparsed
        # The pattern allows a sign, symbols and spaces only around the digits: trimming
        # them and dropping the commas is a few fast passes (a regex replace is 3x slower).
        negative = pc.starts_with(arr, "-")
        digits = pc.replace_substring(pc.utf8_trim(arr, _AROUND_DIGITS), ",", "")
        number = pc.cast(digits, plan.arrow_type)
        return pc.if_else(negative, pc.negate(number), number) \
            if pc.any(negative).as_py() else number
    if kind is Kind.PERCENT:
        if not _fits(arr, PATTERNS[Kind.PERCENT]):   # "5" is not 5% (nor 0.05) silently
            raise _Unparsed
        number = pc.cast(pc.replace_substring_regex(arr, r"[\s%]", ""), pa.float64())
        return pc.divide(number, 100.0)
    if plan.fmt is None:  # ISO timestamp
        return pc.cast(arr, plan.arrow_type)
    if kind is Kind.DATE and plan.fmt == "%Y-%m-%d":  # ISO date: a strict cast, 4x strptime
        return pc.cast(arr, pa.date32())
    parsed = pc.strptime(arr, format=plan.fmt, unit="us", error_is_null=True)
    if parsed.null_count != arr.null_count:
        raise _Unparsed
    if kind is Kind.DATE:
        return pc.cast(parsed, pa.date32())
    return parsed


def _fits(arr: pa.Array, pattern: str) -> bool:
    ok = pc.match_substring_regex(arr, pattern)
    return bool(pc.all(pc.or_kleene(ok, pc.is_null(arr))).as_py())


def _first_bad(arr: pa.Array, plan: ColumnPlan) -> tuple[int, str]:
    """Find the first value that does not convert (row-by-row only on this failing batch)."""
    values = arr.to_pylist()
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            _convert(pa.array([value], pa.string()), plan)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, _Unparsed):
            return i, value
    return 0, str(values[0]) if values else ""
