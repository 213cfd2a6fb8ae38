"""Walk the live GraphQL schema to build requests for every mutation (and subscription):
minimal valid variables, and the path of every String argument, so security tests cover a
mutation the day it is added, without anyone listing it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    get_named_type,
)

from schema.root import build_schema
from server.settings import Settings

SCALARS: dict[str, Any] = {"String": "x", "ID": "x", "Int": 1, "Float": 1.0,
                           "Boolean": False, "JSON": {}, "BigInt": 1,
                           "DateTime": "2025-01-01T00:00:00+00:00", "Upload": "x"}
# values a field must have to get past the first check (a global id is decoded first)
PLAIN = {"entityId": "RW50aXR5OjAwMDA"}  # base64url("Entity:0000")


@cache
def graphql_schema() -> GraphQLSchema:
    schema: GraphQLSchema = build_schema(Settings.from_env({}))._schema  # type: ignore[attr-defined]
    return schema


@dataclass(frozen=True)
class Operation:
    kind: str         # "mutation" | "subscription"
    name: str         # the root field
    field: GraphQLField

    def document(self) -> str:
        defs = ", ".join(f"${a}: {arg.type}" for a, arg in self.field.args.items())
        uses = ", ".join(f"{a}: ${a}" for a in self.field.args)
        head = f"{self.kind} Op({defs})" if defs else f"{self.kind} Op"
        call = f"{self.name}({uses})" if uses else self.name
        return f"{head} {{ {call} {{ __typename }} }}"

    def variables(self) -> dict[str, Any]:
        return {a: sample(arg.type, a) for a, arg in self.field.args.items()}


def operations(kind: str = "mutation") -> list[Operation]:
    schema = graphql_schema()
    root = schema.mutation_type if kind == "mutation" else schema.subscription_type
    if root is None:
        return []
    return [Operation(kind, name, f) for name, f in sorted(root.fields.items())]


def sample(type_: GraphQLInputType, name: str = "") -> Any:
    """A minimal value of an input type: every required field, nothing else."""
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type, name)
    if isinstance(type_, GraphQLList):
        return []
    if name in PLAIN:
        return PLAIN[name]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLScalarType):
        return SCALARS.get(type_.name, "x")
    assert isinstance(type_, GraphQLInputObjectType)
    return {f: sample(field.type, f) for f, field in type_.fields.items()
            if (isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined)
            or f in PLAIN}


def string_paths(op: Operation) -> Iterator[tuple[str, ...]]:
    """Every path (argument, input field, …) to a String or ID value of the operation,
    optional fields included."""
    def walk(type_: Any, path: tuple[str, ...], depth: int) -> Iterator[tuple[str, ...]]:
        named = get_named_type(type_)
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(inner, GraphQLList):
            if get_named_type(inner) is not None and \
                    getattr(get_named_type(inner), "name", "") in ("String", "ID"):
                yield (*path, "[]")
            return
        if isinstance(named, GraphQLScalarType) and named.name in ("String", "ID"):
            yield path
        elif isinstance(named, GraphQLInputObjectType) and depth < 4:
            for f, field in named.fields.items():
                yield from walk(field.type, (*path, f), depth + 1)
    for a, arg in op.field.args.items():
        yield from walk(arg.type, (a,), 0)


def with_value(variables: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``variables`` with ``value`` at ``path`` (a list path gets ``[value]``)."""
    out = copy.deepcopy(variables)
    node: Any = out
    for step in path[:-1]:
        if node.get(step) is None:
            node[step] = {}
        node = node[step]
    last = path[-1]
    if last == "[]":
        raise AssertionError("unreachable: list paths end at their field")
    node[last] = value
    return out


def set_path(variables: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    if path[-1] == "[]":
        return with_value(variables, path[:-1], [value])
    return with_value(variables, path, value)


def root_payload_type(op: Operation) -> GraphQLObjectType | None:
    named = get_named_type(op.field.type)
    return named if isinstance(named, GraphQLObjectType) else None
