"""schema/execution.py: the short way for plain fields answers exactly what graphql-core's
ordinary way answers: values, nulls, errors and their paths."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.dataloaders import NotReady
from schema.execution import PesoExecutionContext, lean_resolvers, ready_reader


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
    def wrong_item(self) -> Holder:
        h = holder()
        object.__setattr__(h, "leaves", [h.leaf, "not a Leafy", None])
        return h

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


@pytest.mark.parametrize("field", ["ok", "nullName", "badCount", "wrongObject", "wrongItem"])
async def test_same_answer_as_graphql_core(field: str) -> None:
    ordinary = await run(StrawberryGraphQLCoreExecutionContext, field)
    assert await run(PesoExecutionContext, field) == ordinary
    if field != "ok":
        assert len(ordinary["errors"]) >= 2   # the odd value was reported, not hidden


class _Never(strawberry.BasePermission):
    message = "never"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.type
class InfoQuery:
    @strawberry.field
    def field_name(self, info: strawberry.Info) -> str:
        return f"{info.field_name}:{info.path.key}"

    @strawberry.field
    async def later_name(self, info: strawberry.Info) -> str:
        return info.field_name

    @strawberry.field
    @staticmethod
    def static() -> int:
        return 7

    @strawberry.field
    def failing(self) -> int | None:
        raise ValueError("fails on purpose")

    @strawberry.field(permission_classes=[_Never])
    def guarded(self) -> int | None:
        return 1

    @strawberry.field
    def with_arg(self, n: int = 2) -> int:
        return n * 2

    @strawberry.field
    def holder(self) -> Holder:
        return holder(name=None)


async def run_lean(lean: bool) -> dict[str, Any]:
    schema = strawberry.Schema(query=InfoQuery, execution_context_class=PesoExecutionContext)
    if lean:
        # static, fieldName, laterName, failing, holder (and Holder/Leafy's later, broken)
        assert lean_resolvers(schema._schema, schema.config.info_class,
                              exception_handlers=False) == 7
    result = await schema.execute("{ fieldName laterName static failing guarded withArg "
                                  "a: withArg(n: 5) holder { leaf { later broken } } }")
    return {"data": result.data,
            "errors": sorted((e.message, tuple(e.path or ())) for e in result.errors or [])}


async def test_lean_resolvers_answer_what_strawberry_answers() -> None:
    ordinary = await run_lean(False)
    assert await run_lean(True) == ordinary
    assert ("never", ("guarded",)) in ordinary["errors"]   # the permission still runs
    assert ordinary["data"]["fieldName"] == "fieldName:fieldName"


def test_lean_resolvers_leave_exception_handlers_alone() -> None:
    schema = strawberry.Schema(query=InfoQuery)
    before = schema._schema.type_map["InfoQuery"].fields["failing"].resolve
    assert lean_resolvers(schema._schema, schema.config.info_class,
                          exception_handlers=True) == 0
    assert schema._schema.type_map["InfoQuery"].fields["failing"].resolve is before


# --- whole selections answered by a compiled tree ----------------------------------------------

@strawberry.type
class Branch:
    label: str
    scores: list[int]
    maybe_scores: list[int | None] | None
    leaf: Leafy | None
    leaves: list[Leafy]


@strawberry.type
class Tree:
    branches: list[Branch]
    pair: list[Branch] | None


def tree(**bad: Any) -> Tree:
    good = Leafy(name="a", maybe=None, colour=Colour.RED, count=1)
    branches = [Branch(label=f"b{k}", scores=[k, k + 1], maybe_scores=[None, k] if k else None,
                       leaf=good if k % 2 else None, leaves=[good] * k) for k in range(4)]
    t = Tree(branches=branches, pair=None)
    odd = branches[2]
    for key, value in bad.items():
        object.__setattr__(odd if key != "pair" else t, key, value)
    return t


@strawberry.type
class TreeQuery:
    @strawberry.field
    def ok(self) -> Tree:
        return tree(pair=tuple(tree().branches[:2]))

    @strawberry.field
    def null_label(self) -> Tree:
        return tree(label=None)

    @strawberry.field
    def null_score(self) -> Tree:
        return tree(scores=[1, None])

    @strawberry.field
    def bad_score(self) -> Tree:
        return tree(scores=[1, "x"])

    @strawberry.field
    def not_a_list(self) -> Tree:
        return tree(scores=7)

    @strawberry.field
    def wrong_leaf(self) -> Tree:
        return tree(leaf="not a Leafy")

    @strawberry.field
    def broken_deep(self) -> Tree:
        return tree(leaves=[Leafy(name=None, maybe=None, colour=Colour.RED, count=1)])  # type: ignore[arg-type]


TREE_QUERY = """query($yes: Boolean!) { %s { __typename
  branches { __typename label scores maybeScores ...Parts alias: label
             skipped: label @skip(if: $yes) kept: label @include(if: $yes) }
  pair { label } } }
fragment Parts on Branch { leaf { name colour } leaves { name count later } }"""
PLAIN_TREE_QUERY = TREE_QUERY.replace(" later", "")


class Counting(PesoExecutionContext):
    """Counts the objects graphql-core's ordinary way executed."""
    ordinary = 0

    def execute_fields(self, *args: Any, **kwargs: Any) -> Any:
        Counting.ordinary += 1
        return super().execute_fields(*args, **kwargs)


async def run_tree(context: type, field: str, query: str = TREE_QUERY) -> dict[str, Any]:
    schema = strawberry.Schema(query=TreeQuery, execution_context_class=context)
    result = await schema.execute(query % field, variable_values={"yes": True})
    return {"data": result.data,
            "errors": sorted((e.message, tuple(e.path or ())) for e in result.errors or [])}


@pytest.mark.parametrize("field", ["ok", "nullLabel", "nullScore", "badScore", "notAList",
                                   "wrongLeaf", "brokenDeep"])
@pytest.mark.parametrize("query", [TREE_QUERY, PLAIN_TREE_QUERY])
async def test_tree_gives_the_same_answer_as_graphql_core(field: str, query: str) -> None:
    ordinary = await run_tree(StrawberryGraphQLCoreExecutionContext, field, query)
    assert await run_tree(PesoExecutionContext, field, query) == ordinary
    if field != "ok":
        assert ordinary["errors"]   # the odd value was reported, not hidden
    else:
        assert ordinary["data"]["ok"]["pair"] == [{"label": "b0"}, {"label": "b1"}]
        assert ordinary["data"]["ok"]["branches"][1]["kept"] == "b1"
        assert "skipped" not in ordinary["data"]["ok"]["branches"][1]


async def test_a_plain_selection_skips_the_ordinary_way() -> None:
    Counting.ordinary = 0
    await run_tree(Counting, "ok", PLAIN_TREE_QUERY)
    assert Counting.ordinary == 1      # the root only: Tree and all below it is one tree
    Counting.ordinary = 0
    await run_tree(Counting, "ok", TREE_QUERY)
    assert Counting.ordinary > 4       # `later` has a resolver: leaves go the ordinary way


# --- resolver fields with a ready reader join the tree -------------------------------------------

def _ready_title(context: dict[str, Any], card: Card) -> str:
    if card.key not in context["loaded"]:
        raise NotReady
    return str(context["loaded"][card.key])


@strawberry.type
class Label:
    text: str


@strawberry.type
class Card:
    key: str

    @strawberry.field
    @ready_reader(_ready_title)
    def title(self, info: strawberry.Info) -> str:
        info.context["resolver_calls"] += 1
        return str(info.context["loaded"].get(self.key, f"late {self.key}"))

    @strawberry.field
    @ready_reader(lambda context, card: [Label(text=t) for t in context["labels"][card.key]])
    def labels(self, info: strawberry.Info) -> list[Label]:
        info.context["resolver_calls"] += 1
        return [Label(text=t) for t in info.context["labels"][self.key]]

    @strawberry.field
    def unregistered(self, info: strawberry.Info) -> str:
        return self.key.upper()


@strawberry.type
class CardQuery:
    @strawberry.field
    def cards(self) -> list[Card]:
        return [Card(key=k) for k in ("a", "b", "c")]


CARD_QUERY = "{ cards { key title labels { text } } }"


async def run_cards(context_class: type, query: str = CARD_QUERY, *,
                    loaded: dict[str, Any]) -> tuple[dict[str, Any], int]:
    schema = strawberry.Schema(query=CardQuery, execution_context_class=context_class)
    lean_resolvers(schema._schema, schema.config.info_class, exception_handlers=False)
    context = {"loaded": loaded, "labels": {"a": ["x"], "b": [], "c": ["y", "z"]},
               "resolver_calls": 0}
    result = await schema.execute(query, context_value=context)
    return {"data": result.data, "errors": [e.message for e in result.errors or []]}, \
        context["resolver_calls"]


@pytest.mark.parametrize("loaded", [{"a": "A", "b": "B", "c": "C"}, {"a": "A", "c": "C"},
                                    {"a": "A", "b": None, "c": "C"}])
async def test_ready_readers_answer_what_the_resolvers_answer(loaded: dict[str, Any]) -> None:
    ordinary, _ = await run_cards(StrawberryGraphQLCoreExecutionContext, loaded=loaded)
    assert (await run_cards(PesoExecutionContext, loaded=loaded))[0] == ordinary
    titles = [c["title"] for c in ordinary["data"]["cards"]]
    assert titles == [str(loaded.get(k, f"late {k}")) for k in "abc"]


async def test_ready_readers_keep_a_selection_one_tree() -> None:
    Counting.ordinary = 0
    _, calls = await run_cards(Counting, loaded={"a": "A", "b": "B", "c": "C"})
    assert (Counting.ordinary, calls) == (1, 0)    # the root only; no resolver called
    Counting.ordinary = 0
    _, calls = await run_cards(Counting, loaded={"a": "A", "c": "C"})   # b not loaded
    assert Counting.ordinary > 1    # b's object went the ordinary way
    assert calls >= 2
    Counting.ordinary = 0
    await run_cards(Counting, "{ cards { key unregistered } }", loaded={})
    assert Counting.ordinary > 1                   # no ready reader: the ordinary way
