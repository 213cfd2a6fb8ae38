"""schema/execution.py: the short way for plain fields answers exactly what graphql-core's
ordinary way answers: values, nulls, errors and their paths."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import PesoExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


@strawberry.type
class Leafy:
    name: str
    maybe: str | None
    colour: Colour
    count: int

    @strawberry.field
    async def later(self) -> str:
        return self.name.upper()

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError("broken on purpose")


@strawberry.type
class Holder:
    leaf: Leafy
    optional_leaf: Leafy | None
    leaves: list[Leafy]


def holder(**bad: Any) -> Holder:
    good = Leafy(name="a", maybe=None, colour=Colour.RED, count=1)
    odd = Leafy(name="b", maybe="m", colour=Colour.RED, count=2)
    for key, value in bad.items():
        object.__setattr__(odd, key, value)   # what a buggy model could hand over
    return Holder(leaf=good, optional_leaf=odd, leaves=[good, odd])


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> Holder:
        return holder()

    @strawberry.field
    def null_name(self) -> Holder:
        return holder(name=None)

    @strawberry.field
    def bad_count(self) -> Holder:
        return holder(count="not a number")

    @strawberry.field
    def wrong_object(self) -> Holder:
        h = holder()
        object.__setattr__(h, "optional_leaf", "not a Leafy")
        return h


QUERY = """{ %s { leaf { name maybe colour count later broken }
               optionalLeaf { name maybe colour count later }
               leaves { name count } } }"""


async def run(context: type, field: str) -> dict[str, Any]:
    schema = strawberry.Schema(query=Query, execution_context_class=context)
    result = await schema.execute(QUERY % field)
    return {"data": result.data,
            "errors": sorted((e.message, tuple(e.path or ())) for e in result.errors or [])}


@pytest.mark.parametrize("field", ["ok", "nullName", "badCount", "wrongObject"])
async def test_same_answer_as_graphql_core(field: str) -> None:
    ordinary = await run(StrawberryGraphQLCoreExecutionContext, field)
    assert await run(PesoExecutionContext, field) == ordinary
    if field != "ok":
        assert len(ordinary["errors"]) >= 2   # the odd value was reported, not hidden
