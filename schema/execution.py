"""graphql-core's executor with a short way for plain fields.

A lineage answer of 1,000 nodes and ~1,400 edges is ~10,000 fields, and most are leaves read
straight off an attribute (``name``, ``depth``, ``job``): graphql-core builds a resolve info,
wraps the value in ``complete_value`` → non-null → leaf, and Strawberry calls its default
resolver through two more frames, ~5 µs a field — most of such a request. Here a field whose
resolver is Strawberry's default one (no resolver of ours, no field extension, no argument)
and whose type is a scalar, an enum or an object type (nullable or not) is read directly
(``getattr``, what Strawberry's default resolver does) and a scalar coerced, an object's
sub-fields executed. Anything
else — an argument, a null for a non-null field, an exception, an awaitable, a value the
scalar refuses — goes the ordinary way (``ExecutionContext.execute_field``), which reads the
attribute again and reports exactly what it always did. Same values, same errors.

One level up, an object whose whole selection is such fields — leaves, objects and lists of
them, ``__typename``, all the way down, without ``@defer`` — is answered by a tree compiled
once per request from that selection (``_Tree``): a walk of the value that builds the
response dict with no resolve info, path or frame per field. A lineage answer is one such
tree. Anything out of the ordinary anywhere in it (see ``_run``) drops the whole object back
to graphql-core's execution, which reads it again: the tree only ever answers when every one
of its values is one graphql-core would have given unchanged.

A field with a resolver of ours joins a tree when the resolver registered a ready reader
(``ready_reader``): what it answers when the values it reads are already loaded, as a page's
``preload`` leaves them (``Dataset.source``, ``tags``, ``latestVersion``,
``DatasetVersion.fields``). A page of 100 datasets is then one tree instead of ~300 resolver
calls through graphql-core; a reader that finds its value not loaded raises, and the object
goes the ordinary way.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLString,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_PLAIN = frozenset({str, int, float, bool})   # never an awaitable nor an exception

F = TypeVar("F", bound=Callable[..., Any])
# resolver function -> its ready reader: reader(context, source) is the resolver's value when
# all it needs is already loaded, and raises (``schema.dataloaders.NotReady``) otherwise
_READY: dict[Callable[..., Any], Callable[[Any, Any], Any]] = {}


def ready_reader(reader: Callable[[Any, Any], Any]) -> Callable[[F], F]:
    """Register what a resolver answers without an awaitable: ``reader(context, source)``
    gives the resolver's value when everything it reads is already loaded (a page's
    ``preload``) and raises when not. A selection whose resolver fields all have one (and
    take no argument, have no field extension: ``_lean``'s fields) still compiles to a tree;
    a reader that raises sends the whole object the ordinary way, which calls the resolver."""
    def mark(func: F) -> F:
        _READY[func] = reader
        return func
    return mark


@dataclass(frozen=True, slots=True)
class _Plan:
    read: Callable[[Any], Any]   # source -> the attribute's value
    leaf: GraphQLLeafType | None
    obj: GraphQLObjectType | None
    non_null: bool


_PLANS: dict[int, tuple[GraphQLField, _Plan | None]] = {}


def _reader(field_def: GraphQLField) -> Callable[[Any], Any]:
    """Strawberry's default resolver without its frames: ``getattr(source, python_name)``
    (Peso keeps StrawberryConfig's default_resolver, getattr); its own call otherwise."""
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if isinstance(definition, StrawberryField) and definition.base_resolver is None \
            and definition.default_resolver is getattr:
        return operator.attrgetter(definition.python_name)
    resolve = field_def.resolve
    assert resolve is not None   # _plan only calls this for a default resolver
    return lambda source: resolve(source, None)


def _plan(field_def: GraphQLField) -> _Plan | None:
    cached = _PLANS.get(id(field_def))
    if cached is not None and cached[0] is field_def:
        return cached[1]
    plan = None
    resolve = field_def.resolve
    if resolve is not None and getattr(resolve, "_is_default", False) and not field_def.args:
        kind, non_null = field_def.type, False
        if isinstance(kind, GraphQLNonNull):
            kind, non_null = kind.of_type, True
        if is_leaf_type(kind):
            plan = _Plan(_reader(field_def), kind, None, non_null)
        elif isinstance(kind, GraphQLObjectType):
            plan = _Plan(_reader(field_def), None, kind, non_null)
    _PLANS[id(field_def)] = (field_def, plan)   # the definition kept: its id stays its own
    return plan


_SLOW = object()   # "take the ordinary way"


def _read_leaf(plan: _Plan, kind: GraphQLLeafType, source: Any,
               is_awaitable: Callable[[Any], bool]) -> Any:
    """The field's coerced value, or _SLOW when anything is out of the ordinary."""
    try:
        value = plan.read(source)
        if value is None:
            return _SLOW if plan.non_null else None
        if type(value) not in _PLAIN and (isinstance(value, Exception) or is_awaitable(value)):
            return _SLOW
        coerced = kind.coerce_output_value(value)
    except Exception:  # noqa: BLE001 - not lost: the ordinary way reads it again and reports it
        return _SLOW
    return _SLOW if coerced is None or coerced is Undefined else coerced


def _read_object(plan: _Plan, kind: GraphQLObjectType, source: Any,
                 is_awaitable: Callable[[Any], bool]) -> Any:
    """The field's object (its sub-fields not yet executed), None for a null allowed, or
    _SLOW. Strawberry's ``is_type_of`` reads only the value (Peso defines none of its own),
    so it is asked without a resolve info."""
    try:
        value = plan.read(source)
        if value is None:
            return _SLOW if plan.non_null else None
        if isinstance(value, Exception) or is_awaitable(value):
            return _SLOW
        if kind.is_type_of is not None and kind.is_type_of(value, None) is not True:  # type: ignore[arg-type]
            return _SLOW   # False, or an awaitable verdict: the ordinary way decides
    except Exception:  # noqa: BLE001 - not lost: the ordinary way reads it again and reports it
        return _SLOW
    return value


@dataclass(frozen=True, slots=True)
class _Tree:
    """One response key of an all-plain selection: how to read it and what it holds."""
    key: str
    read: Callable[[Any], Any] | None     # None: ``__typename``, answered by ``typename``
    typename: str | None
    leaf: GraphQLLeafType | None          # a leaf, or a list of leaves
    obj: GraphQLObjectType | None         # an object, or a list of objects: ``sub`` answers it
    sub: tuple[_Tree, ...]
    non_null: bool
    is_list: bool
    item_non_null: bool
    text: bool = False                    # String or ID: a str is its own serialized value


def _one(node: _Tree, value: Any, is_awaitable: Callable[[Any], bool]) -> Any:
    """A non-null leaf's coerced value or an object's answer, or _SLOW."""
    if node.leaf is not None:
        if node.text and type(value) is str:
            return value   # what GraphQLString's and GraphQLID's serialize return for a str
        if type(value) not in _PLAIN and (isinstance(value, Exception) or is_awaitable(value)):
            return _SLOW
        try:
            coerced = node.leaf.coerce_output_value(value)
        except Exception:  # noqa: BLE001 - not lost: the ordinary way reads it again and reports it
            return _SLOW
        return _SLOW if coerced is None or coerced is Undefined else coerced
    if isinstance(value, Exception) or is_awaitable(value):
        return _SLOW
    kind = node.obj
    assert kind is not None   # a _Tree holds a leaf or an object
    if kind.is_type_of is not None and kind.is_type_of(value, None) is not True:  # type: ignore[arg-type]
        return _SLOW
    return _run(node.sub, value, is_awaitable)


def _run(tree: tuple[_Tree, ...], source: Any, is_awaitable: Callable[[Any], bool]) -> Any:
    """The response dict of ``source`` for an all-plain selection, or _SLOW at the first
    value graphql-core would not pass through unchanged: a read that raises, a null for a
    non-null field or item, an exception or awaitable as a value, a list that is not a
    list or tuple, a value the scalar refuses, an object its type's ``is_type_of`` refuses."""
    out: dict[str, Any] = {}
    for node in tree:
        if node.read is None:
            out[node.key] = node.typename
            continue
        try:
            value = node.read(source)
        except Exception:  # noqa: BLE001 - not lost: the ordinary way reads it again and reports it
            return _SLOW
        if value is None:
            if node.non_null:
                return _SLOW
            out[node.key] = None
        elif node.is_list:
            if type(value) is not list and type(value) is not tuple:
                return _SLOW
            items: list[Any] = []
            for item in value:
                if item is None:
                    if node.item_non_null:
                        return _SLOW
                    items.append(None)
                    continue
                done = _one(node, item, is_awaitable)
                if done is _SLOW:
                    return _SLOW
                items.append(done)
            out[node.key] = items
        else:
            done = _one(node, value, is_awaitable)
            if done is _SLOW:
                return _SLOW
            out[node.key] = done
    return out


class PesoExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def collect_and_execute_subfields(self, return_type: GraphQLObjectType,
                                      field_details_list: FieldDetailsList, path: Path,
                                      result: Any, position_context: Any) -> Any:
        """An object whose selection compiles to a tree (no delivery group: no ``@defer``
        in play) is answered by ``_run``; any other, or one ``_run`` gives up on, the
        ordinary way."""
        if position_context is None:
            tree = self._tree(return_type, field_details_list)
            if tree is not None:
                done = _run(tree, result, self.is_awaitable)
                if done is not _SLOW:
                    return done
        return super().collect_and_execute_subfields(return_type, field_details_list, path,
                                                     result, position_context)

    def _tree(self, kind: GraphQLObjectType,
              field_details_list: FieldDetailsList) -> tuple[_Tree, ...] | None:
        """The compiled selection, once per request per (type, selection), like graphql-core
        memoizes ``collect_subfields`` (the list kept alive so that its id stays its own)."""
        trees: dict[tuple[GraphQLObjectType, int], tuple[FieldDetailsList,
                                                          tuple[_Tree, ...] | None]]
        trees = self.__dict__.setdefault("_peso_trees", {})
        key = (kind, id(field_details_list))
        cached = trees.get(key)
        if cached is None:
            cached = (field_details_list, self._compile(kind, field_details_list))
            trees[key] = cached
        return cached[1]

    def _compile(self, kind: GraphQLObjectType,
                 field_details_list: FieldDetailsList) -> tuple[_Tree, ...] | None:
        grouped, new_defer_usages, _forbidden = self.collect_subfields(kind, field_details_list)
        if new_defer_usages:
            return None
        manager = self.middleware_manager
        tree: list[_Tree] = []
        for key, details in grouped.items():
            first = details[0].node
            if first.name.value == "__typename":
                tree.append(_Tree(key, None, kind.name, None, None, (), True, False, False))
                continue
            field_def = self.schema.get_field(kind, first.name.value)
            if field_def is None or first.arguments or field_def.args:
                return None
            resolve = field_def.resolve
            if resolve is None or (manager is not None
                                   and manager.get_field_resolver(resolve) is not resolve):
                return None
            if getattr(resolve, "_is_default", False):
                read = _reader(field_def)
            else:
                found = _READY.get(getattr(resolve, "_peso_lean", None))  # type: ignore[arg-type]
                if found is None:
                    return None
                read = functools.partial(found, self.context_value)
            node = self._node(key, field_def, details, read)
            if node is None:
                return None
            tree.append(node)
        return tuple(tree)

    def _node(self, key: str, field_def: GraphQLField, details: FieldDetailsList,
              read: Callable[[Any], Any]) -> _Tree | None:
        kind: Any = field_def.type
        non_null = isinstance(kind, GraphQLNonNull)
        kind = kind.of_type if non_null else kind
        is_list = isinstance(kind, GraphQLList)
        item_non_null = False
        if is_list:
            kind = kind.of_type
            item_non_null = isinstance(kind, GraphQLNonNull)
            kind = kind.of_type if item_non_null else kind
        if is_leaf_type(kind):
            return _Tree(key, read, None, kind, None, (), non_null, is_list,
                         item_non_null, kind is GraphQLString or kind is GraphQLID)
        if isinstance(kind, GraphQLObjectType):
            sub = self._tree(kind, details)
            if sub is None:
                return None
            return _Tree(key, read, None, None, kind, sub, non_null, is_list,
                         item_non_null)
        return None   # an interface, a union, a list of lists: the ordinary way

    def execute_field(self, parent_type: GraphQLObjectType, source: Any,
                      field_details_list: FieldDetailsList, path: Path,
                      position_context: Any) -> Any:
        first = field_details_list[0].node
        field_def = self.schema.get_field(parent_type, first.name.value)
        if field_def is not None and not first.arguments:
            plan = _plan(field_def)
            manager = self.middleware_manager
            if plan is not None and (manager is None or manager.get_field_resolver(
                    field_def.resolve) is field_def.resolve):  # type: ignore[arg-type]  # _plan
                # no middleware wraps it (Strawberry passes a manager for its extensions'
                # resolve hooks; none of ours has one)
                if plan.leaf is not None:
                    value = _read_leaf(plan, plan.leaf, source, self.is_awaitable)
                    if value is not _SLOW:
                        return value
                elif plan.obj is not None:
                    value = _read_object(plan, plan.obj, source, self.is_awaitable)
                    if value is None:
                        return None
                    if value is not _SLOW:
                        return self._sub_fields(field_def, plan.obj, field_details_list, path,
                                                value, position_context)
        return super().execute_field(parent_type, source, field_details_list, path,
                                     position_context)

    def complete_value(self, return_type: GraphQLOutputType,
                       field_details_list: FieldDetailsList, info: GraphQLResolveInfo[Any],
                       path: Path, result: Any, position_context: Any) -> Any:
        """graphql-core's ``complete_value`` → (non-null →) ``complete_object_value`` for an
        object (a resolver's, a list item) whose ``is_type_of`` says True: straight to its
        sub-fields, two or three frames fewer for each of a page's ~350 objects. Anything
        else (a null, an exception, a list, a leaf, an abstract type, a False or awaitable
        verdict) is graphql-core's own completion."""
        kind = return_type.of_type if type(return_type) is GraphQLNonNull else return_type
        if type(kind) is GraphQLObjectType and result is not None \
                and result is not Undefined and not isinstance(result, Exception):
            check = kind.is_type_of
            verdict = True if check is None else check(result, info)
            if verdict is True:
                # a dict or an awaitable of one, never None: the non-null check has nothing
                # to refuse
                return self.collect_and_execute_subfields(kind, field_details_list, path,
                                                          result, position_context)
            close = getattr(verdict, "close", None)   # an async verdict: asked again below
            if callable(close):
                close()
        return super().complete_value(return_type, field_details_list, info, path, result,
                                      position_context)

    def _sub_fields(self, field_def: GraphQLField, kind: GraphQLObjectType,
                    field_details_list: FieldDetailsList, path: Path, value: Any,
                    position_context: Any) -> Any:
        """What ``execute_field`` → ``complete_value`` → ``complete_object_value`` do for an
        object already checked, with the same error handling."""
        try:
            completed = self.collect_and_execute_subfields(kind, field_details_list, path,
                                                           value, position_context)
        except Exception as raw_error:  # noqa: BLE001 - located and reported, as graphql-core does
            self.handle_field_error(raw_error, field_def.type, field_details_list, path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:  # noqa: BLE001 - as in graphql-core's execute_field
                self.handle_field_error(raw_error, field_def.type, field_details_list, path)
                return None
        return await_completed()


def _lean(field: StrawberryField, info_class: type[Any]) -> Callable[..., Any] | None:
    """The call Strawberry's resolver wrapper makes for a field whose resolver takes no
    GraphQL argument (only ``self`` and/or ``info``) and has no field extension (so no
    permission class either): ``resolver(source, info=Info(...))``, without the five frames
    around it (argument conversion of no arguments, an empty extension chain, …). None for
    any other field: Strawberry's own wrapper stays."""
    resolver = field.base_resolver
    if resolver is None or field.extensions or field.arguments or field.is_subscription \
            or resolver.parent_parameter is not None or resolver.root_parameter is not None:
        return None
    func = resolver.wrapped_func
    if not callable(func):
        return None   # Strawberry's wrapper raises UncallableResolverError: leave it to it
    info_parameter = resolver.info_parameter
    takes_self = resolver.self_parameter is not None

    def lean(source: Any, info: Any) -> Any:
        if info_parameter is None:
            return func(source) if takes_self else func()
        given = {info_parameter.name: info_class(_raw_info=info, _field=field)}
        return func(source, **given) if takes_self else func(**given)

    lean._peso_lean = func   # type: ignore[attr-defined]  # what ``_READY`` is keyed by
    return lean


def lean_resolvers(schema: GraphQLSchema, info_class: type[Any], *,
                   exception_handlers: bool) -> int:
    """Swap Strawberry's resolver wrapper for ``_lean``'s call on every field it fits (a
    page of 100 datasets calls ``source``, ``tags`` and ``latestVersion`` 300 times); the
    SDL, values and errors are unchanged. Not when the schema has exception handlers (their
    matching lives in the wrapper). Returns how many fields were swapped."""
    if exception_handlers:
        return 0
    swapped = 0
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_ is schema.subscription_type:
            continue
        for field_def in type_.fields.values():
            definition = (field_def.extensions or {}).get(
                GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(definition, StrawberryField) or field_def.args:
                continue
            lean = _lean(definition, info_class)
            if lean is not None:
                field_def.resolve = lean
                swapped += 1
    return swapped
