"""Data contracts: what a dataset's rows must satisfy, written down, and its strict parser.

A contract is a YAML or JSON document::

    on_violation: quarantine        # fail | quarantine | warn   (default fail)
    allow_extra_columns: true       # default true
    columns:
      age:      {type: integer, required: true, min: 18, max: 120}
      email:    {type: string, required: true, unique: true, regex: '^[^@\\s]+@[^@\\s]+$'}
      country:  {allowed: [GB, DE, FR]}
      signup:   {type: date, min: '2020-01-01'}

Column names are matched against the *normalised* (snake_case) names the cleaning step gives
the columns; a :class:`loaders.contract.Validator` also accepts the original names through the
``names`` mapping (original → normalised) the pipeline passes it.

The contract itself is checked strictly: an unknown key, a value of the wrong type, an invalid
regular expression (RE2 syntax, compiled by pyarrow), ``min`` greater than ``max`` or a
non-list ``allowed`` is a :class:`LoadError` naming the contract and the key path, e.g.
``contract.yaml: columns.age.min: expected a number, got 'x'``.

YAML is read with YAML 1.2 booleans (only ``true``/``false``), so ``allowed: [GB, NO]`` means
the country codes, not ``'GB'`` and ``False``; unquoted dates stay text until a declared type
converts them; duplicate keys are refused in YAML and JSON (``loaders.contract_text``).
"""

from __future__ import annotations

import difflib
import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from loaders.contract_text import DEFAULT_LABEL, read_document
from server.errors import LoadError

Scalar = str | int | float | Decimal | bool | date | datetime
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class ColumnType(enum.StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"        # integer, float or decimal
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"


class OnViolation(enum.StrEnum):
    FAIL = "fail"              # any failure refuses the load
    QUARANTINE = "quarantine"  # failing rows go to a quarantine Parquet, the rest is loaded
    WARN = "warn"              # every row is loaded; the report carries the failures


ROW_RULES = ("required", "unique", "min", "max", "allowed", "regex")  # report order
TOP_KEYS = ("on_violation", "allow_extra_columns", "columns")
COLUMN_KEYS = ("type", *ROW_RULES)


@dataclass(frozen=True, slots=True)
class ColumnContract:
    """The rules of one column. Bounds and allowed values are already converted to the
    declared type (date, datetime, int, …); without a declared type they are kept as given
    and matched against the column's actual Arrow type by the Validator."""

    name: str
    type: ColumnType | None = None
    required: bool = False
    unique: bool = False
    min: Scalar | None = None
    max: Scalar | None = None
    allowed: tuple[Scalar, ...] | None = None
    regex: str | None = None

    @property
    def rules(self) -> list[str]:
        """The row-level rules this column declares, in report order."""
        return [r for r in ROW_RULES
                if (getattr(self, r) is not None if r not in ("required", "unique")
                    else getattr(self, r))]

    def expected(self, rule: str) -> Any:
        """The rule's parameter, JSON-safe, for the report."""
        if rule in ("required", "unique"):
            return True
        value = getattr(self, rule)
        if rule == "allowed":
            return [json_value(v) for v in value]
        return json_value(value)


@dataclass(frozen=True, slots=True)
class Contract:
    columns: tuple[ColumnContract, ...]
    on_violation: OnViolation = OnViolation.FAIL
    allow_extra_columns: bool = True
    label: str = DEFAULT_LABEL           # the file name or label used in messages
    document: Mapping[str, Any] | None = None  # the contract as given, JSON-safe

    def as_dict(self) -> dict[str, Any]:
        """The contract as given (JSON-safe: dates as ISO strings), for storage and reports."""
        return json_value(dict(self.document or {}))  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- checking


def parse_contract(source: str | Path | Mapping[str, Any], *,
                   label: str | None = None) -> Contract:
    """Read and check a contract.

    ``source`` is a :class:`Path` to a ``.yaml``/``.yml``/``.json`` file; a ``str`` naming
    such a file (one line, ending in one of those suffixes); any other ``str`` is the contract
    text itself (JSON when it starts with ``{`` and parses as JSON, YAML otherwise); a mapping
    is an already-parsed document. ``label`` names the contract in messages (default: the
    file's path, else ``"contract"``). Raises LoadError naming the contract and key path.
    """
    name, doc = read_document(source, label)
    return _build(doc, name)


class _Refused(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path, self.message = path, message


def _build(doc: Any, name: str) -> Contract:
    try:
        return _contract(doc, name)
    except _Refused as exc:
        where = f"{exc.path}: " if exc.path else ""
        raise LoadError(f"{name}: {where}{exc.message}", field=exc.path or None) from None


def _contract(doc: Any, name: str) -> Contract:
    if not isinstance(doc, Mapping):
        raise _Refused("", f"expected a mapping with a 'columns' key, got {show(doc)}")
    _known_keys(doc, TOP_KEYS, "")
    mode = doc.get("on_violation", OnViolation.FAIL.value)
    if not isinstance(mode, str) or mode not in OnViolation.__members__.values():
        raise _Refused("on_violation", f"expected one of {_one_of(OnViolation)}, got {show(mode)}")
    extra = doc.get("allow_extra_columns", True)
    if not isinstance(extra, bool):
        raise _Refused("allow_extra_columns", f"expected true or false, got {show(extra)}")
    if "columns" not in doc:
        raise _Refused("columns", "required: a mapping of column name to rules")
    columns = doc["columns"]
    if not isinstance(columns, Mapping) or not columns:
        raise _Refused("columns", f"expected a non-empty mapping of column name to rules, "
                                  f"got {show(columns)}")
    parsed = []
    for col, spec in columns.items():
        if not isinstance(col, str) or not col.strip():
            raise _Refused(f"columns.{col}", "a column name must be a non-empty string")
        parsed.append(_column(col, spec, f"columns.{col}"))
    return Contract(columns=tuple(parsed), on_violation=OnViolation(mode),
                    allow_extra_columns=extra, label=name, document=json_value(dict(doc)))


def _column(col: str, spec: Any, path: str) -> ColumnContract:
    spec = {} if spec is None else spec
    if not isinstance(spec, Mapping):
        raise _Refused(path, f"expected a mapping of rules, got {show(spec)}")
    _known_keys(spec, COLUMN_KEYS, path + ".")
    ctype: ColumnType | None = None
    if "type" in spec:
        t = spec["type"]
        if not isinstance(t, str) or t not in ColumnType.__members__.values():
            raise _Refused(f"{path}.type", f"expected one of {_one_of(ColumnType)}, got {show(t)}")
        ctype = ColumnType(t)
    flags = {}
    for flag in ("required", "unique"):
        value = spec.get(flag, False)
        if not isinstance(value, bool):
            raise _Refused(f"{path}.{flag}", f"expected true or false, got {show(value)}")
        flags[flag] = value
    bounds: dict[str, Scalar | None] = {"min": None, "max": None}
    for key in ("min", "max"):
        if key in spec:
            if ctype is ColumnType.BOOLEAN:
                raise _Refused(f"{path}.{key}", "min and max do not apply to boolean columns")
            bounds[key] = _value(spec[key], ctype, f"{path}.{key}")
    lo, hi = bounds["min"], bounds["max"]
    if lo is not None and hi is not None:
        if kind(lo) != kind(hi):
            raise _Refused(f"{path}.max", f"expected {kind(lo)} like min, got {show(hi)}")
        try:
            inverted = _greater(lo, hi)
        except TypeError:  # a naive and an aware timestamp
            raise _Refused(f"{path}.max", "cannot be compared with min: give both or neither "
                                          "a time zone") from None
        if inverted:
            raise _Refused(f"{path}.min", f"min ({show(lo)}) is greater than max ({show(hi)})")
    allowed = _allowed(spec["allowed"], ctype, f"{path}.allowed") if "allowed" in spec else None
    regex = _regex(spec["regex"], ctype, f"{path}.regex") if "regex" in spec else None
    return ColumnContract(name=col, type=ctype, required=flags["required"],
                          unique=flags["unique"], min=lo, max=hi, allowed=allowed, regex=regex)


def _known_keys(spec: Mapping[Any, Any], known: tuple[str, ...], prefix: str) -> None:
    for key in spec:
        if key not in known:
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else \
                f"; expected one of {', '.join(sorted(known))}"
            raise _Refused(f"{prefix}{key}", f"unknown key{hint}")


def _value(value: Any, ctype: ColumnType | None, path: str) -> Scalar:
    """A bound or allowed value, converted to the declared type."""
    if value is None:
        raise _Refused(path, f"expected {_what(ctype)}, got null")
    if ctype is None:
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal | date):
            raise _Refused(path, f"expected a number, string, date or timestamp, "
                                 f"got {show(value)}")
        if isinstance(value, float | Decimal) and not _finite(value):
            raise _Refused(path, f"expected a finite number, got {show(value)}")
        return value
    if ctype is ColumnType.STRING and isinstance(value, str):
        return value
    if ctype is ColumnType.BOOLEAN and isinstance(value, bool):
        return value
    if ctype is ColumnType.INTEGER and isinstance(value, int) and not isinstance(value, bool):
        if not INT64_MIN <= value <= INT64_MAX:
            raise _Refused(path, f"expected a 64-bit integer, got {value}")
        return value
    if ctype is ColumnType.NUMBER and isinstance(value, int | float | Decimal) \
            and not isinstance(value, bool):
        if not _finite(value):
            raise _Refused(path, f"expected a finite number, got {show(value)}")
        return value
    if ctype is ColumnType.DATE:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
    if ctype is ColumnType.TIMESTAMP:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.strip())
            except ValueError:
                pass
    raise _Refused(path, f"expected {_what(ctype)}, got {show(value)}")


def _allowed(values: Any, ctype: ColumnType | None, path: str) -> tuple[Scalar, ...]:
    if not isinstance(values, list | tuple) or not values:
        raise _Refused(path, f"expected a non-empty list, got {show(values)}")
    out: list[Scalar] = []
    for i, value in enumerate(values):
        if value is None:
            raise _Refused(f"{path}[{i}]", "null is never an allowed-value violation; "
                                           "use 'required: true' to refuse nulls")
        untyped_bool = ctype is None and isinstance(value, bool)
        out.append(value if untyped_bool else _value(value, ctype, f"{path}[{i}]"))
        if ctype is None and kind(out[-1]) != kind(out[0]):
            raise _Refused(f"{path}[{i}]", f"expected {kind(out[0])} like the first value, "
                                           f"got {show(value)}")
    return tuple(out)


def _regex(pattern: Any, ctype: ColumnType | None, path: str) -> str:
    if ctype is not None and ctype is not ColumnType.STRING:
        raise _Refused(path, f"regex applies to string columns, not {ctype.value}")
    if not isinstance(pattern, str):
        raise _Refused(path, f"expected a regular expression string, got {show(pattern)}")
    problem = regex_problem(pattern)
    if problem:
        raise _Refused(path, f"invalid regular expression {pattern!r}: {problem}")
    return pattern


def regex_problem(pattern: str) -> str | None:
    """Why RE2 (as pyarrow uses it) refuses ``pattern``, or None when it compiles."""
    try:
        pc.match_substring_regex(pa.array([""], pa.string()), pattern=pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return re.sub(r"^Invalid regular expression:\s*", "", str(exc).strip())
    return None


def full_match(pattern: str) -> str:
    """``pattern`` anchored to the whole value (RE2: ``\\A`` and ``\\z`` are text anchors)."""
    return rf"\A(?:{pattern})\z"


# --------------------------------------------------------------------------- helpers


def kind(value: Any) -> str:
    """The comparison family of a contract value, for messages and min/max checks."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, datetime):
        return "a timestamp"
    if isinstance(value, date):
        return "a date"
    return "a string"


def _what(ctype: ColumnType | None) -> str:
    return {None: "a value", ColumnType.STRING: "a string", ColumnType.INTEGER: "an integer",
            ColumnType.NUMBER: "a number", ColumnType.BOOLEAN: "true or false",
            ColumnType.DATE: "a date (YYYY-MM-DD)",
            ColumnType.TIMESTAMP: "a timestamp (ISO 8601, e.g. 2024-01-31T12:00:00Z)"}[ctype]


def _one_of(enum_type: type[enum.StrEnum]) -> str:
    return ", ".join(m.value for m in enum_type)


def _greater(a: Any, b: Any) -> bool:
    return bool(a > b)


def _finite(value: float | int | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def show(value: Any) -> str:
    """A contract or data value as a message shows it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and len(value) > 80:
        return repr(value[:77] + "...")
    return repr(value) if isinstance(value, str) else str(value)


MAX_TEXT = 200


def json_value(value: Any) -> Any:
    """``value`` made JSON-safe: dates as ISO strings, decimals and non-finite floats as
    strings, long strings cut to 200 characters, mappings and sequences recursively."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT - 1] + "…"
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, bytes):
        return json_value(value.hex())
    return json_value(str(value))  # Decimal, time, timedelta, …
