"""Type inference for text columns, from the data (vectorised with pyarrow.compute).

A column gets the narrowest type that EVERY non-null value in the sample fits: boolean
(true/false), integer, float, currency or thousands-separated number, percentage, date,
timestamp — else string. Numeric day/month dates are resolved from the data (a part over 12
fixes the order; otherwise the reading under which consecutive rows move least in time wins
clearly) or by the explicit ``date_order`` setting; when neither decides, month-first is
assumed and flagged as an assumption in the report and the field's metadata: never a silent
guess. Values that turn up later and do
not fit are caught at conversion, and the column is widened (see ``widen``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from loaders.options import DateOrder


class Kind(enum.StrEnum):
    STRING = "string"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    FLOAT = "float"
    CURRENCY = "currency"      # "$84,835.00", "1,234", "€12.50"
    PERCENT = "percent"        # "12.5%" → 0.125
    DATE = "date"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    kind: Kind
    fmt: str | None = None       # strptime format for non-ISO dates/timestamps
    utc: bool = False            # ISO timestamps that carry a zone
    integral: bool = False       # CURRENCY without decimals → int64
    note: str | None = None      # why (shown in the report)
    assumed: bool = False        # a day/month order the data could not decide
    reordered: bool = False      # the day/month order was swapped once by a later value

    @property
    def arrow_type(self) -> pa.DataType:
        return {
            Kind.STRING: pa.string(), Kind.BOOLEAN: pa.bool_(), Kind.INTEGER: pa.int64(),
            Kind.FLOAT: pa.float64(), Kind.PERCENT: pa.float64(), Kind.DATE: pa.date32(),
            Kind.CURRENCY: pa.int64() if self.integral else pa.float64(),
            Kind.TIMESTAMP: pa.timestamp("us", tz="UTC" if self.utc else None),
        }[self.kind]


STRING = ColumnPlan(Kind.STRING)
EMPTY = ColumnPlan(Kind.STRING, note="no values")   # all null so far: typed by its first values

# Full-match patterns (RE2 syntax), also used to find the first value that does not fit.
PATTERNS: dict[Kind, str] = {
    Kind.BOOLEAN: r"^(?i:true|false)$",
    Kind.INTEGER: r"^[+-]?\d{1,18}$",
    Kind.FLOAT: r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$",
    Kind.CURRENCY: r"^[+-]?\s*[$€£¥]?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*[$€£¥]?$",
    Kind.PERCENT: r"^[+-]?(\d+\.?\d*|\.\d+)\s*%$",
    Kind.DATE: r"^\d{4}-\d{2}-\d{2}$",
    Kind.TIMESTAMP: r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$",
}
_LEADING_ZERO = r"^[+-]?0\d"
_HUGE_INTEGER = r"^[+-]?\d{19,}$"   # past int64: as float it would silently lose digits
_HUGE_NOTE = "integers too long for int64 kept as text (a float would lose digits)"
_HAS_MARK = r"[$€£¥,]"
_ZONE = r"(Z|[+-]\d{2}:?\d{2})$"
# d/m/y or m/d/y, 2- or 4-digit year, optional H:MM[:SS]
_NUMERIC_DATE = (r"^(?P<a>\d{1,2})(?P<s1>[/.-])(?P<b>\d{1,2})(?P<s2>[/.-])(?P<y>\d{4}|\d{2})"
                 r"(?P<t>[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?P<S>:\d{2})?)?$")
_SMOOTHER = 0.5  # the winning date reading must move at most half as much as the other


_PROBE = 256   # values tried first: most patterns a column fails, its first values fail


def _all(values: pa.Array, pattern: str) -> bool:
    if len(values) > _PROBE and not pc.all(
            pc.match_substring_regex(values.slice(0, _PROBE), pattern)).as_py():
        return False   # the same answer, without a regex pass over every value
    return bool(pc.all(pc.match_substring_regex(values, pattern)).as_py())


def _any(values: pa.Array, pattern: str) -> bool:
    return bool(pc.any(pc.match_substring_regex(values, pattern)).as_py())


def infer_column(values: pa.Array, *, date_order: DateOrder = "auto") -> ColumnPlan:
    """The plan for one cleaned text column (trimmed, null tokens already null)."""
    rows = pc.drop_null(values)
    if len(rows) == 0:
        return EMPTY
    # Every test below is "all values match" or "any value matches" (or a min, max or set):
    # the distinct values answer it the same, and a marketing column has far fewer of them
    # than rows. Where the first rows are mostly distinct (ids, amounts, timestamps),
    # finding them costs more than it saves: the rows are tested as they are. (The day/month
    # reading looks at consecutive rows, so it gets the rows themselves too.)
    nn = rows if _mostly_distinct(rows) else pc.unique(rows)
    if _all(nn, PATTERNS[Kind.BOOLEAN]):
        return ColumnPlan(Kind.BOOLEAN)
    if _all(nn, PATTERNS[Kind.INTEGER]):
        if _any(nn, _LEADING_ZERO):
            return ColumnPlan(Kind.STRING, note="leading zeros kept (codes, not numbers)")
        return ColumnPlan(Kind.INTEGER)
    if _all(nn, PATTERNS[Kind.FLOAT]):
        if _any(nn, _HUGE_INTEGER):
            return ColumnPlan(Kind.STRING, note=_HUGE_NOTE)
        return ColumnPlan(Kind.FLOAT)
    if _all(nn, PATTERNS[Kind.CURRENCY]) and _any(nn, _HAS_MARK):
        integral = not _any(nn, r"\.\d")
        return ColumnPlan(Kind.CURRENCY, integral=integral,
                          note="currency symbols and thousands separators removed")
    if _all(nn, PATTERNS[Kind.PERCENT]):
        return ColumnPlan(Kind.PERCENT, note="percentages stored as fractions (12% → 0.12)")
    if _all(nn, PATTERNS[Kind.DATE]):
        return ColumnPlan(Kind.DATE, fmt="%Y-%m-%d")
    if _all(nn, PATTERNS[Kind.TIMESTAMP]):
        zoned = _all(nn, _ZONE)
        if zoned or not _any(nn, _ZONE):
            return ColumnPlan(Kind.TIMESTAMP, utc=zoned)
        return ColumnPlan(Kind.STRING, note="timestamps mix values with and without a zone")
    if _all(nn, _NUMERIC_DATE):
        return _numeric_date(rows, nn, date_order)
    return STRING


_DISTINCT_PROBE = 2048


def _mostly_distinct(rows: pa.Array) -> bool:
    """Whether over half of the first ``_DISTINCT_PROBE`` rows are distinct values."""
    return len(rows) > _DISTINCT_PROBE and \
        2 * len(pc.unique(rows.slice(0, _DISTINCT_PROBE))) > _DISTINCT_PROBE


def _numeric_date(rows: pa.Array, nn: pa.Array, date_order: DateOrder) -> ColumnPlan:
    """``rows``: the column's non-null values in order; ``nn``: its distinct values (or the
    rows again). Every test but the separators' (the first 1,000 rows) and the movement
    (consecutive rows) is a min, max, set or any over the values, which the distinct values
    answer alike."""
    names = [f.name for f in pc.extract_regex(nn.slice(0, 1), _NUMERIC_DATE).type]
    first = dict(zip(names, pc.extract_regex(rows.slice(0, 1000), _NUMERIC_DATE).flatten(),
                     strict=True))
    shapes = set(zip(first["s1"].to_pylist(), first["s2"].to_pylist(), strict=True))
    col = dict(zip(names, pc.extract_regex(nn, _NUMERIC_DATE).flatten(), strict=True))
    year_widths = set(pc.utf8_length(col["y"]).unique().to_pylist())
    with_time = pc.greater(pc.utf8_length(col["t"]), 0)
    has_seconds = pc.greater(pc.utf8_length(col["S"]), 0)
    if len(shapes) != 1 or len(year_widths) != 1 or len(pc.unique(with_time)) != 1 \
            or len(pc.unique(has_seconds)) != 1:
        return ColumnPlan(Kind.STRING, note="date-like values in more than one layout")
    (sep, sep2), = shapes
    a, b = pc.cast(col["a"], pa.int32()), pc.cast(col["b"], pa.int32())
    max_a, max_b = pc.max(a).as_py(), pc.max(b).as_py()
    if min(pc.min(a).as_py(), pc.min(b).as_py()) < 1 or (max_a > 12 and max_b > 12) \
            or max_a > 31 or max_b > 31:
        return ColumnPlan(Kind.STRING, note="numbers that are not day/month dates")
    year = "%Y" if year_widths == {4} else "%y"
    time = ""
    if pc.all(with_time).as_py():
        time = " %H:%M:%S" if pc.all(has_seconds).as_py() else " %H:%M"
        if _any(nn, r"T\d"):
            time = "T" + time[1:]
    dmy = f"%d{sep}%m{sep2}{year}{time}"
    mdy = f"%m{sep}%d{sep2}{year}{time}"
    kind = Kind.TIMESTAMP if time else Kind.DATE
    if max_a > 12:
        return ColumnPlan(kind, fmt=dmy, note="day-first (a first part is over 12)")
    if max_b > 12:
        return ColumnPlan(kind, fmt=mdy, note="month-first (a second part is over 12)")
    if date_order in ("dmy", "mdy"):
        return ColumnPlan(kind, fmt=dmy if date_order == "dmy" else mdy,
                          note=f"{date_order} as configured (the data fits either order)")
    codes = pc.dictionary_encode(rows)
    move_dmy, move_mdy = _movement(codes, dmy), _movement(codes, mdy)
    if move_mdy is not None and move_dmy is not None:
        if move_mdy <= _SMOOTHER * move_dmy:
            return ColumnPlan(kind, fmt=mdy, note="month-first (consecutive rows closer in "
                                                 "time than read day-first)")
        if move_dmy <= _SMOOTHER * move_mdy:
            return ColumnPlan(kind, fmt=dmy, note="day-first (consecutive rows closer in "
                                                 "time than read month-first)")
    # Every value fits both orders and the data cannot tell. Month-first is the layout of the
    # US spreadsheet exports these usually come from; the guess is loud, never silent: the
    # field's metadata and the load report say so, and date_order=dmy reads it day-first.
    return ColumnPlan(kind, fmt=mdy, assumed=True,
                      note="ASSUMED month-first: every value fits both day/month orders; "
                           "pass date_order=dmy if the file is day-first")


def _movement(codes: pa.DictionaryArray, fmt: str) -> float | None:
    """Sum of absolute differences between consecutive values read with ``fmt`` (seconds).
    ``codes``: the rows dictionary-encoded, so each distinct value is parsed once."""
    parsed = pc.take(pc.strptime(codes.dictionary, format=fmt, unit="s", error_is_null=True),
                     codes.indices)
    if parsed.null_count:
        return None
    secs = pc.cast(pc.cast(parsed, pa.int64()), pa.float64())
    if len(secs) < 2:
        return None
    diffs = pc.abs(pc.subtract(secs.slice(1), secs.slice(0, len(secs) - 1)))
    return float(pc.sum(diffs).as_py() or 0.0)


def widen(plan: ColumnPlan, bad_value: str) -> ColumnPlan:
    """The next wider plan once ``bad_value`` turned up: integer → float if it fits, else
    text; a numeric day/month date → the other order if the value reads that way (the data
    read again proves or refutes it: at worst text next time); every other kind → text."""
    value = pa.array([bad_value])
    if plan.kind in (Kind.DATE, Kind.TIMESTAMP) and plan.fmt and plan.fmt[:2] in ("%d", "%m") \
            and not plan.reordered:
        first, second = plan.fmt[:2], "%m" if plan.fmt[:2] == "%d" else "%d"
        swapped = second + plan.fmt[2] + first + plan.fmt[5:]   # "%m/%d/%Y" → "%d/%m/%Y"
        parsed = pc.strptime(value, format=swapped, unit="s", error_is_null=True)
        if parsed.null_count == 0:
            order = "day-first" if second == "%d" else "month-first"
            return ColumnPlan(plan.kind, fmt=swapped, reordered=True,
                              note=f"{order} (a later value, {bad_value[:40]!r}, reads only so)")
    if plan.kind is Kind.INTEGER and pc.match_substring_regex(
            value, PATTERNS[Kind.FLOAT])[0].as_py() \
            and not pc.match_substring_regex(value, _HUGE_INTEGER)[0].as_py():
        return ColumnPlan(Kind.FLOAT, note=f"widened to float by {bad_value[:40]!r}")
    return ColumnPlan(Kind.STRING, note=f"kept as text: {bad_value[:40]!r} does not fit "
                                        f"{plan.kind.value}")
