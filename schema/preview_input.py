"""Row filters for ``DatasetVersion.preview``."""

from __future__ import annotations

import enum

import strawberry
from strawberry.scalars import JSON

from server.preview import Condition


@strawberry.enum(description="How a preview condition compares a column with its value.")
class ConditionOp(enum.Enum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    IS_NULL = "is_null"
    NOT_NULL = "not_null"


@strawberry.input(description="A row filter for `preview`, pushed down to the Parquet reader "
                              "(row groups that cannot match are skipped).")
class PreviewCondition:
    column: str
    op: ConditionOp = ConditionOp.EQ
    value: JSON | None = strawberry.field(
        default=None, description="A number, text (ISO text for dates), boolean, or a list "
                                  "for IN; omitted for IS_NULL / NOT_NULL.")

    def to_condition(self) -> Condition:
        return Condition(column=self.column, op=self.op.value, value=self.value)
