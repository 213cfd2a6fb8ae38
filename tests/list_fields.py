"""Every list field of the query side of the live GraphQL schema, and, for each, a query that
reaches it from ``Query`` and selects it with a nested selection: what
tests/test_store_call_counts.py runs against two catalog sizes. A list field added to any
type reachable from ``Query`` is found here the day it is added, with nobody listing it."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)


def _unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def is_list(field: GraphQLField) -> bool:
    return isinstance(_unwrap(field.type), GraphQLList)


def is_connection(field: GraphQLField) -> bool:
    named = get_named_type(field.type)
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection") \
        and "edges" in named.fields


def required_args(field: GraphQLField) -> list[str]:
    return [a for a, arg in field.args.items()
            if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined]


@dataclass(frozen=True)
class ListField:
    owner: str   # the object type holding the field
    name: str    # the field's GraphQL name

    def __str__(self) -> str:
        return f"{self.owner}.{self.name}"


def reachable_types(schema: GraphQLSchema) -> dict[str, GraphQLObjectType]:
    """Object types reachable from Query through fields (interfaces: their implementations)."""
    assert schema.query_type is not None
    seen: dict[str, GraphQLObjectType] = {}
    todo: deque[GraphQLObjectType] = deque([schema.query_type])
    while todo:
        t = todo.popleft()
        if t.name in seen or t.name.startswith("__"):
            continue
        seen[t.name] = t
        for f in t.fields.values():
            named = get_named_type(f.type)
            if isinstance(named, GraphQLObjectType):
                todo.append(named)
            elif isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
                todo.extend(schema.get_possible_types(named))
    return seen


def list_fields(schema: GraphQLSchema) -> list[ListField]:
    """Every field, on a type reachable from Query, that returns a list or a connection."""
    out = [ListField(t.name, name) for t in reachable_types(schema).values()
           for name, f in t.fields.items() if is_list(f) or is_connection(f)]
    return sorted(out, key=str)


Step = tuple[str, str]  # (type, field)


def paths_to(schema: GraphQLSchema, args: Mapping[str, Mapping[str, Any]],
             skip: frozenset[str] = frozenset()) -> dict[str, list[Step]]:
    """The shortest field path from Query to each object type that starts at a root list
    or connection (``datasets``, ``jobs``…: the type then occurs once per item of a list the
    catalog makes long), else the shortest path at all (a lineage root); only
    through fields whose required arguments ``args`` (keyed ``Type.field``) provides, never
    through ``skip`` fields."""
    assert schema.query_type is not None
    start = (schema.query_type.name, False)
    found: dict[tuple[str, bool], list[Step]] = {start: []}
    todo: deque[tuple[str, bool]] = deque([start])
    while todo:
        state = todo.popleft()
        t = schema.get_type(state[0])
        assert isinstance(t, GraphQLObjectType)
        for name, f in t.fields.items():
            key = f"{t.name}.{name}"
            if key in skip or (required_args(f) and key not in args):
                continue
            named = get_named_type(f.type)
            rooted = state[1] or (t is schema.query_type and (is_list(f) or is_connection(f)))
            nxt = (getattr(named, "name", ""), rooted)
            if isinstance(named, GraphQLObjectType) and nxt not in found:
                found[nxt] = [*found[state], (t.name, name)]
                todo.append(nxt)
    paths = {name: path for (name, listed), path in found.items() if not listed}
    paths.update({name: path for (name, listed), path in found.items() if listed})
    return paths


def _literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _Enum):
        return value.name
    return json.dumps(value)


@dataclass(frozen=True)
class _Enum:
    name: str


def enum(name: str) -> _Enum:
    """An enum value for ``args`` (written bare in the document)."""
    return _Enum(name)


class QueryBuilder:
    """Builds the query for a list field: the path to its type, then the field with every
    leaf of its items and, one level further, the leaves of each object they hold."""

    def __init__(self, schema: GraphQLSchema, args: Mapping[str, Mapping[str, Any]],
                 skip: frozenset[str], page: int) -> None:
        self.schema, self.args, self.skip, self.page = schema, args, skip, page
        self.paths = paths_to(schema, args, skip)

    def call(self, owner: str, name: str, f: GraphQLField) -> str:
        given = dict(self.args.get(f"{owner}.{name}", {}))
        if "first" in f.args and "first" not in given:
            given["first"] = self.page
        if not given:
            return name
        return f"{name}(" + ", ".join(f"{k}: {_literal(v)}" for k, v in given.items()) + ")"

    def usable(self, owner: str, name: str, f: GraphQLField) -> bool:
        key = f"{owner}.{name}"
        return key not in self.skip and (not required_args(f) or key in self.args)

    def selection(self, type_: Any, depth: int) -> str:
        named = get_named_type(type_)
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            return ""
        if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            return "{ __typename }"
        assert isinstance(named, GraphQLObjectType)
        parts = ["__typename"]
        for name, f in named.fields.items():
            if not self.usable(named.name, name, f):
                continue
            child = get_named_type(f.type)
            if isinstance(child, GraphQLScalarType | GraphQLEnumType):
                parts.append(self.call(named.name, name, f))
                continue
            # connections, edges and page info are wrappers: they cost no depth
            wrapper = named.name.endswith(("Connection", "Edge")) or \
                (isinstance(child, GraphQLObjectType) and child.name == "PageInfo")
            if depth > 0 or wrapper:
                inner = self.selection(f.type, depth if wrapper else depth - 1)
                parts.append(f"{self.call(named.name, name, f)} {inner}")
        return "{ " + " ".join(parts) + " }"

    def query(self, target: ListField) -> str:
        """The document reaching ``target`` through the shortest usable path."""
        if target.owner not in self.paths:
            raise LookupError(f"no path from Query to {target.owner} (add the required "
                              "arguments of a field leading there to ARGS)")
        t = self.schema.get_type(target.owner)
        assert isinstance(t, GraphQLObjectType)
        f = t.fields[target.name]
        body = f"{self.call(target.owner, target.name, f)} {self.selection(f.type, 1)}"
        for owner, name in reversed(self.paths[target.owner]):
            step = self.schema.get_type(owner)
            assert isinstance(step, GraphQLObjectType)
            field = step.fields[name]
            body = f"{self.call(owner, name, field)} {{ {body} }}"
        return "{ " + body + " }"


def items_at(data: Any, path: list[str]) -> list[Any]:
    """Every value at ``path`` (field names; lists are walked through) in a response."""
    found = [data]
    for key in path:
        nxt: list[Any] = []
        for value in found:
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, dict) and v.get(key) is not None:
                    nxt.append(v[key])
        found = nxt
    return found


def response_path(builder: QueryBuilder, target: ListField) -> list[str]:
    """Field names from the response's root down to ``target``'s value."""
    return [name for _, name in builder.paths[target.owner]] + [target.name]


def count_items(value: Any) -> int:
    """How many items a list field's values hold (a connection: its edges)."""
    total = 0
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, list):
            total += len(v)
        elif isinstance(v, dict) and isinstance(v.get("edges"), list):
            total += len(v["edges"])
    return total
