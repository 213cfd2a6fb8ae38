"""Profiles, quality reports and version changes: what a load learned about the data."""

from __future__ import annotations

from typing import Any, cast

import strawberry
from strawberry.scalars import JSON


@strawberry.type(description="How often a value occurs (low-cardinality columns only).")
class ValueCount:
    value: JSON
    count: int


@strawberry.type(description="Statistics of one column of a curated version.")
class FieldProfile:
    count: int
    null_count: int
    distinct_count: int | None
    distinct_approximate: bool = strawberry.field(
        description="True when distinctCount is an estimate (past the exact-count threshold).")
    min: JSON | None
    max: JSON | None
    mean: float | None
    min_length: int | None
    max_length: int | None
    top_values: list[ValueCount]

    @classmethod
    def from_stats(cls, s: dict[str, Any]) -> FieldProfile | None:
        if not s:
            return None
        return cls(count=int(s.get("count") or 0), null_count=int(s.get("null_count") or 0),
                   distinct_count=s.get("distinct_count"),
                   distinct_approximate=bool(s.get("distinct_approximate")),
                   min=cast(JSON, s.get("min")), max=cast(JSON, s.get("max")),
                   mean=s.get("mean"), min_length=s.get("min_length"),
                   max_length=s.get("max_length"),
                   top_values=[ValueCount(value=cast(JSON, t.get("value")),
                                          count=int(t.get("count") or 0))
                               for t in s.get("top_values") or []])


@strawberry.type(description="One contract check over a version's rows.")
class QualityCheck:
    name: str
    column: str | None
    rule: str
    expected: JSON | None
    passed: int
    failed: int
    samples: JSON = strawberry.field(description="Up to 5 failing rows: [{row, value}].")


@strawberry.type(description="The validation report of the load that made this version.")
class QualityReport:
    passed: bool
    on_violation: str
    rows_checked: int
    rows_failed: int
    checks: list[QualityCheck]
    raw: JSON = strawberry.field(description="The whole report as stored.")

    @classmethod
    def from_report(cls, r: dict[str, Any] | None) -> QualityReport | None:
        if not r:
            return None
        checks = list(r.get("schema_checks") or []) + list(r.get("checks") or [])
        return cls(passed=bool(r.get("passed")), on_violation=str(r.get("on_violation")),
                   rows_checked=int(r.get("rows_checked") or 0),
                   rows_failed=int(r.get("rows_failed") or 0), raw=cast(JSON, r),
                   checks=[QualityCheck(name=str(c.get("name")), column=c.get("column"),
                                        rule=str(c.get("rule")),
                                        expected=cast(JSON, c.get("expected")),
                                        passed=int(c.get("passed") or 0),
                                        failed=int(c.get("failed") or 0),
                                        samples=cast(JSON, c.get("samples") or []))
                           for c in checks])


@strawberry.type
class RetypedField:
    name: str
    from_type: str
    to_type: str


@strawberry.type(description="How this version differs from the one before it.")
class VersionChanges:
    previous_version: int | None
    first_version: bool
    added_fields: list[str]
    removed_fields: list[str]
    retyped_fields: list[RetypedField]
    row_count_change: int

    @classmethod
    def from_changes(cls, c: dict[str, Any] | None) -> VersionChanges | None:
        if not c:
            return None
        return cls(previous_version=c.get("previous_version"),
                   first_version=bool(c.get("first_version")),
                   added_fields=list(c.get("added") or []),
                   removed_fields=list(c.get("removed") or []),
                   retyped_fields=[RetypedField(name=r["name"], from_type=r["from"],
                                                to_type=r["to"]) for r in c.get("retyped") or []],
                   row_count_change=int(c.get("row_count_change") or 0))
