"""The VALIDATE step: check cleaned record batches against a data contract.

Use, per load::

    contract = parse_contract(Path("contract.yaml"))          # LoadError if malformed
    v = Validator(contract, schema, names=original_to_normalised)
    decide(v.report(), label="bank.csv (mkt/bank)")             # fail fast: schema failures
    for batch, first_row in batches:                           # first_row: 0-based
        mask = v.validate(batch, first_row)                    # True = row violates a rule
        if contract.on_violation is OnViolation.QUARANTINE:
            good, bad = v.split(batch, mask)                   # bad has _row, _violations
        ...
    outcome = decide(v.report(), label="bank.csv (mkt/bank)")  # LoadError in "fail" mode

Semantics: a null (or a float NaN) violates only ``required``; it is never a min, max,
allowed, regex or unique violation. ``unique`` flags every repeat of a value seen in an
earlier row (the first occurrence passes), across batches, exactly for up to
``unique_max_values`` distinct values (default 5,000,000) or ``unique_max_bytes`` of them
(default 256 MiB) per column, whichever comes first. Past the cap new values are no longer
remembered: later rows are still checked against the remembered values and within their own
batch, and the report marks the check ``"complete": false`` with a note saying from which
row on. String min/max compare by Unicode code point. A naive timestamp bound of a column
with a time zone is read as UTC. Schema-level failures (missing column, wrong type, extra
column, a rule that cannot apply to the column's type) fail the load in ``fail`` and
``quarantine`` modes, since no row can be set aside for them, and are reported in ``warn``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from loaders.contract_arrow import Mismatch, build_kernel, type_matches, value_type, values
from loaders.contract_rules import (
    ColumnContract,
    ColumnType,
    Contract,
    OnViolation,
    json_value,
    parse_contract,
    show,
)
from server.errors import LoadError

__all__ = ["ColumnContract", "ColumnType", "Contract", "OnViolation", "Outcome", "RowCheck",
           "SchemaCheck", "Validator", "decide", "parse_contract"]

UNIQUE_MAX_VALUES = 5_000_000
UNIQUE_MAX_BYTES = 256 << 20
MAX_SAMPLES = 5
ROW_COLUMN = "_row"
VIOLATIONS_COLUMN = "_violations"
VIOLATIONS_SEPARATOR = ","


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    """A check of the schema as a whole: column presence, type, extra columns."""

    name: str              # "age.present", "age.type", "age.min", "extra_columns"
    column: str | None
    rule: str              # present | type | min | max | allowed | regex | allow_extra_columns
    expected: Any
    actual: Any
    passed: bool
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "column": self.column, "rule": self.rule,
                "expected": json_value(self.expected), "actual": json_value(self.actual),
                "passed": self.passed, "message": self.message}


@dataclass(slots=True)
class RowCheck:
    """One row-level rule of one column, with its running counts."""

    name: str              # "<column>.<rule>"
    column: str
    rule: str              # required | unique | min | max | allowed | regex
    expected: Any
    passed: int = 0
    failed: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True  # False: skipped (schema failure) or unique past its memory cap
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "column": self.column, "rule": self.rule,
                "expected": self.expected, "passed": self.passed, "failed": self.failed,
                "samples": list(self.samples), "complete": self.complete, "note": self.note}


Kernel = Callable[[pa.Array, int], pa.Array]


@dataclass(slots=True)
class _Last:
    batch: pa.RecordBatch
    first_row: int
    failures: list[tuple[str, pa.Array]]


class Validator:
    """Checks batches with one schema against a contract; keeps the counts for the report.

    ``contract`` is a parsed Contract, or anything ``parse_contract`` reads. Contract columns
    are looked up by name in ``schema`` (the normalised names); a name not found there is
    looked up through ``names`` (original → normalised), which defaults to the fields'
    ``original_name`` metadata. Call ``validate`` exactly once per batch, in file order:
    ``unique`` remembers what it has seen.
    """

    def __init__(self, contract: Contract | Mapping[str, Any] | str | Path, schema: pa.Schema, *,
                 names: Mapping[str, str] | None = None,
                 unique_max_values: int = UNIQUE_MAX_VALUES,
                 unique_max_bytes: int = UNIQUE_MAX_BYTES,
                 max_samples: int = MAX_SAMPLES) -> None:
        if not isinstance(contract, Contract):
            contract = parse_contract(contract)
        self.contract: Contract = contract
        self.schema, self.max_samples = schema, max_samples
        self.rows_checked = self.rows_failed = 0
        self._schema_checks: list[SchemaCheck] = []
        self._checks: list[RowCheck] = []
        self._runnable: list[tuple[RowCheck, str, Kernel]] = []
        self._last: _Last | None = None
        claimed: dict[str, str] = {}
        lookup = {**original_names(schema), **(names or {})}
        for col in contract.columns:
            column = self._resolve(col, lookup)
            if column is not None and column in claimed:
                raise LoadError(f"{contract.label}: columns {claimed[column]!r} and "
                                f"{col.name!r} both name the column {column!r}")
            if column is not None:
                claimed[column] = col.name
            self._plan(col, column, unique_max_values, unique_max_bytes)
        if not contract.allow_extra_columns:
            extra = [f.name for f in schema if f.name not in claimed]
            self._schema_checks.append(SchemaCheck(
                "extra_columns", None, "allow_extra_columns", [], extra, not extra,
                None if not extra else
                f"columns not in the contract: {_names(extra)} (allow_extra_columns is false)"))

    # ----------------------------------------------------------------- set-up

    def _resolve(self, col: ColumnContract, names: Mapping[str, str]) -> str | None:
        present = self.schema.names
        mapped = names.get(col.name)
        for candidate in (col.name, mapped):
            if candidate is not None and present.count(candidate) == 1:
                self._schema_checks.append(SchemaCheck(
                    f"{candidate}.present", candidate, "present", True, True, True))
                return candidate
        also = f" (nor {mapped!r}, its normalised name)" if mapped else ""
        why = "appears more than once" if present.count(col.name) > 1 else "is missing"
        self._schema_checks.append(SchemaCheck(
            f"{col.name}.present", col.name, "present", True, False, False,
            f"column {col.name!r}{also} {why}; the data has: {_names(present)}"))
        return None

    def _plan(self, col: ColumnContract, column: str | None, max_values: int,
              max_bytes: int) -> None:
        name = column or col.name
        checks = [RowCheck(f"{name}.{rule}", name, rule, col.expected(rule))
                  for rule in col.rules]
        self._checks.extend(checks)
        skip = None if column is not None else f"not checked: column {col.name!r} is missing"
        t = value_type(self.schema.field(column).type) if column is not None else pa.null()
        if column is not None and col.type is not None:
            ok = type_matches(col.type, t)
            self._schema_checks.append(SchemaCheck(
                f"{name}.type", name, "type", col.type.value, str(t), ok,
                None if ok else f"column {name!r}: expected {col.type.value}, got {t}"))
            if not ok:
                skip = f"not checked: column {name!r} is {t}, not {col.type.value}"
        for check in checks:
            if skip is not None:
                check.complete, check.note = False, skip
                continue
            try:
                kernel = build_kernel(col, check.rule, t, check, max_values, max_bytes)
            except Mismatch as exc:
                self._schema_checks.append(SchemaCheck(
                    check.name, name, check.rule, check.expected, str(t), False,
                    f"{check.name}: {exc}"))
                check.complete, check.note = False, f"not checked: {exc}"
                continue
            self._runnable.append((check, name, kernel))

    # ----------------------------------------------------------------- checking

    def check_schema(self) -> list[SchemaCheck]:
        """Presence and type of every contract column, and extra columns when refused."""
        return list(self._schema_checks)

    @property
    def schema_passed(self) -> bool:
        return all(c.passed for c in self._schema_checks)

    def validate(self, batch: pa.RecordBatch, first_row: int) -> pa.BooleanArray:
        """Check one batch; return a mask, True for each row that violates any row rule.

        ``first_row`` is the 0-based index of the batch's first row in the whole file; the
        report numbers rows from 1.
        """
        n = batch.num_rows
        mask: pa.Array | None = None
        failures: list[tuple[str, pa.Array]] = []
        cache: dict[str, pa.Array] = {}
        for check, column, kernel in self._runnable:
            if column not in cache:
                index = batch.schema.get_field_index(column)
                if index < 0:
                    raise LoadError(f"batch at row {first_row + 1} has no column {column!r} "
                                    f"(a Validator checks batches of one schema)")
                cache[column] = values(batch.column(index))
            arr = cache[column]
            fail = kernel(arr, first_row)
            failed = _count(fail)
            check.failed += failed
            check.passed += n - failed
            if not failed:
                continue
            failures.append((check.name, fail))
            mask = fail if mask is None else pc.or_(mask, fail)
            room = self.max_samples - len(check.samples)
            if room > 0:
                for i in pc.indices_nonzero(fail)[:room].to_pylist():
                    check.samples.append({"row": first_row + i + 1,
                                          "value": json_value(arr[i].as_py())})
        result = pa.repeat(False, n) if mask is None else mask
        self.rows_checked += n
        self.rows_failed += _count(result)
        self._last = _Last(batch, first_row, failures)
        return result

    @property
    def quarantine_schema(self) -> pa.Schema:
        """The schema of ``split``'s bad rows: the data's, then ``_row`` and ``_violations``."""
        for reserved in (ROW_COLUMN, VIOLATIONS_COLUMN):
            if reserved in self.schema.names:
                raise LoadError(f"the data has a column named {reserved!r}, which quarantine "
                                f"output reserves")
        return self.schema.append(pa.field(ROW_COLUMN, pa.int64(), nullable=False)) \
            .append(pa.field(VIOLATIONS_COLUMN, pa.string()))

    def split(self, batch: pa.RecordBatch, mask: pa.Array) -> tuple[pa.RecordBatch,
                                                                     pa.RecordBatch]:
        """Split the batch just validated into (good rows, bad rows).

        Bad rows carry two more columns: ``_row`` (1-based row number in the file) and
        ``_violations`` (the failed check names, comma-separated, e.g. "age.min,email.regex").
        """
        last = self._last
        if last is None or last.batch is not batch:
            raise ValueError("split() takes the batch last passed to validate()")
        keep = pc.fill_null(mask, False)
        good = batch.filter(pc.invert(keep))
        bad = batch.filter(keep)
        rows = pc.add(pc.cast(pc.indices_nonzero(keep), pa.int64()), last.first_row + 1)
        listed = pa.nulls(len(bad), pa.string())
        for name, fail in last.failures:
            label = pa.scalar(name, pa.string())
            joined = pc.coalesce(
                pc.binary_join_element_wise(listed, label, VIOLATIONS_SEPARATOR), label)
            listed = pc.if_else(fail.filter(keep), joined, listed)
        return good, pa.RecordBatch.from_arrays([*bad.columns, rows, listed],
                                                schema=self.quarantine_schema)

    def report(self) -> dict[str, Any]:
        """The quality report, JSON-safe; valid at any time (counts so far)."""
        return {"contract": self.contract.as_dict(),
                "on_violation": self.contract.on_violation.value,
                "rows_checked": self.rows_checked, "rows_failed": self.rows_failed,
                "passed": self.schema_passed and self.rows_failed == 0,
                "complete": all(c.complete for c in self._checks),
                "checks": [c.as_dict() for c in self._checks],
                "schema_checks": [c.as_dict() for c in self._schema_checks]}


def original_names(schema: pa.Schema) -> dict[str, str]:
    """original → normalised name, from the ``original_name`` metadata the cleaner sets."""
    out = {}
    for f in schema:
        original = (f.metadata or {}).get(b"original_name")
        if original is not None:
            out[original.decode()] = f.name
    return out


def _count(mask: pa.Array) -> int:
    total = pc.sum(mask).as_py()
    return int(total or 0)


def _names(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "") \
        if names else "no columns"


# --------------------------------------------------------------------------- deciding


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the pipeline does with a validated load.

    ``quarantine``: write the rows ``validate`` flagged to the quarantine Parquet and leave
    them out of the curated one. ``warnings``: one line per failing or incomplete check, for
    ``LoadReport.warnings``.
    """

    on_violation: OnViolation
    passed: bool
    rows_failed: int
    quarantine: bool
    warnings: tuple[str, ...] = ()


def decide(report: Mapping[str, Any], on_violation: OnViolation | str | None = None, *,
           label: str, max_listed: int = 3) -> Outcome:
    """Turn a report into an Outcome, or raise LoadError in ``fail`` mode (and for schema
    failures in ``quarantine`` mode). ``label`` names the file and dataset in messages, e.g.
    ``"bank.csv (marketing/bank)"``; ``on_violation`` defaults to the report's own."""
    mode = OnViolation(on_violation or report["on_violation"])
    where = label
    schema_failed = [c for c in report["schema_checks"] if not c["passed"]]
    failed = [c for c in report["checks"] if c["failed"]]
    rows_failed = int(report["rows_failed"])
    lines = [c["message"] or c["name"] for c in schema_failed] + [_describe(c) for c in failed]
    incomplete = [f"{c['name']}: not fully checked: {c['note']}" for c in report["checks"]
                  if not c["complete"] and c["note"] and not c["note"].startswith("not checked")]
    if (schema_failed and mode is not OnViolation.WARN) or (failed and mode is OnViolation.FAIL):
        shown = "; ".join(lines[:max_listed])
        rest = [c["name"] for c in (schema_failed + failed)[max_listed:]]
        more = f"; and {len(rest)} more: {', '.join(rest)}" if rest else ""
        rows = (f"{_rows(rows_failed)} of {int(report['rows_checked']):,} fail the contract: "
                if failed and not schema_failed else "the data does not match the contract: ")
        first = (schema_failed or failed)[0]
        raise LoadError(f"{where}: {rows}{shown}{more}", field=first["column"])
    warnings = [f"{where}: {line}" for line in lines + incomplete]
    if failed and mode is OnViolation.QUARANTINE:
        warnings.insert(0, f"{where}: {_rows(rows_failed)} quarantined")
    return Outcome(on_violation=mode, passed=bool(report["passed"]), rows_failed=rows_failed,
                   quarantine=mode is OnViolation.QUARANTINE and rows_failed > 0,
                   warnings=tuple(warnings))


def _describe(check: Mapping[str, Any]) -> str:
    samples = ", ".join(f"row {s['row']}: {show(s['value'])}" for s in check["samples"])
    example = f", e.g. {samples}" if samples else ""
    return (f"{check['name']} ({_expectation(check['rule'], check['expected'])}): "
            f"{_rows(check['failed'])}{example}")


def _expectation(rule: str, expected: Any) -> str:
    if rule == "required":
        return "a value"
    if rule == "unique":
        return "no repeated values"
    if rule == "min":
        return f"≥ {show(expected)}"
    if rule == "max":
        return f"≤ {show(expected)}"
    if rule == "allowed":
        listed = ", ".join(show(v) for v in expected[:10])
        return f"one of {listed}" + (", …" if len(expected) > 10 else "")
    return f"matching /{expected}/"


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")
