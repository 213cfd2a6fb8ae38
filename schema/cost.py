"""Query cost: a graphql-core validation rule that refuses operations asking for too much.

Strawberry limits depth, tokens and aliases but not breadth: ``datasets(first: 100) { edges {
node { versions(first: 100) { … } } } }`` is shallow and short, yet asks for 10,000 versions.
The cost of an operation is the sum over its fields of::

    leaf field                    multiplier
    field with a selection        1 + multiplier * cost of its selection

where the multiplier is the field's page size — its ``first``, ``last``, ``limit`` or
``maxNodes`` argument, read from the literal, the request's variables, the variable's default
or the argument's schema default, in that order (``first`` without any of these: the default
page size), and clamped to what the resolver would accept (PESO_MAX_PAGE_SIZE, …), since a
larger value is refused there anyway. Other fields multiply by 1. Fragments count where they
are spread (each fragment's cost is computed once, so nesting fragments cannot blow up the
walk). The limit is PESO_MAX_QUERY_COST.

Validation results are cached by document, but a cost depends on variables; so
``CostLimiter`` (a Strawberry extension) prices each request after the cached validation
passed. Prices are cached too (``CostModel.costs``, a bounded LRU): a price depends only on
the document text, the schema and the model (both fixed for a ``CostModel``) and, of the
variables, only on which are given and the Int each would run as (``_as_int``). That, with
the text and the schema, is the key: ``$first: 10`` and ``$first: 11`` are priced apart,
two requests differing only in a string variable share one price.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from graphql.language import ValueNode
from strawberry.extensions import SchemaExtension

MULTIPLIER_ARGS = ("first", "last", "limit", "maxNodes")
PRICE_CACHE_SIZE = 512            # distinct (document, priced variables) kept
CACHED_DOCUMENT_CHARS = 16_384    # larger documents are priced every time, never kept
PriceKey = tuple[tuple[str, int | None], ...]


class CostModel:
    """How one document is priced: caps per multiplier argument, the default page size."""

    def __init__(self, *, max_cost: int, caps: Mapping[str, int], default_page: int = 20,
                 omitted: Mapping[str, int] | None = None, scan_cost: int = 1) -> None:
        self.max_cost, self.caps, self.default_page = max_cost, dict(caps), default_page
        # what the resolver really uses when an argument is omitted and its schema default is
        # null (``maxNodes`` -> PESO_MAX_LINEAGE_NODES): priced as that, not as a page
        self.omitted = dict(omitted or {})
        # ``preview(where: …)`` may read every row group of a version: its price
        self.scan_cost = scan_cost
        self._prices: OrderedDict[tuple[GraphQLSchema, str, PriceKey], tuple[int, ...]] = \
            OrderedDict()
        self.cache_size = PRICE_CACHE_SIZE

    def costs(self, schema: GraphQLSchema, document: Any, query: str | None,
              variables: Mapping[str, Any] | None) -> list[tuple[OperationDefinitionNode, int]]:
        """``operation_costs`` of a document parsed from ``query``, the price taken from
        the LRU when this text was priced with the same priced variables before."""
        if query is None or len(query) > CACHED_DOCUMENT_CHARS:
            return list(operation_costs(self, schema, document, variables))
        key = (schema, query, price_key(variables))
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        cached = self._prices.get(key)
        if cached is not None and len(cached) == len(ops):
            self._prices.move_to_end(key)
            return list(zip(ops, cached, strict=True))
        priced = list(operation_costs(self, schema, document, variables))
        self._prices[key] = tuple(cost for _, cost in priced)
        while len(self._prices) > self.cache_size:
            self._prices.popitem(last=False)
        return priced

    def message(self, cost: int, name: str | None) -> str:
        shown = f"'{name}'" if name else "the operation"
        return (f"{shown} costs {cost}, more than the limit of {self.max_cost} "
                "(PESO_MAX_QUERY_COST): ask for smaller pages (first, limit, maxNodes) or "
                "fewer nested lists")


class _Pricer:
    def __init__(self, model: CostModel, schema: GraphQLSchema,
                 fragments: Mapping[str, FragmentDefinitionNode],
                 variables: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
        self.model, self.schema, self.fragments = model, schema, fragments
        self.variables, self.defaults = variables, defaults
        self._fragment_cost: dict[str, int] = {}
        self._pricing: set[str] = set()

    def selection_set(self, parent: Any, node: SelectionSetNode | None) -> int:
        if node is None:
            return 0
        total = 0
        for sel in node.selections:
            if isinstance(sel, FieldNode):
                total += self.field(parent, sel)
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                typ = self.schema.get_type(cond.name.value) if cond else parent
                total += self.selection_set(typ, sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                total += self.fragment(sel.name.value)
        return total

    def fragment(self, name: str) -> int:
        if name in self._fragment_cost:
            return self._fragment_cost[name]
        frag = self.fragments.get(name)
        if frag is None or name in self._pricing:  # unknown or cyclic: validation reports it
            return 0
        self._pricing.add(name)
        cost = self.selection_set(self.schema.get_type(frag.type_condition.name.value),
                                  frag.selection_set)
        self._pricing.discard(name)
        self._fragment_cost[name] = cost
        return cost

    def field(self, parent: Any, node: FieldNode) -> int:
        definition: GraphQLField | None = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
        multiplier = self.multiplier(node, definition)
        if definition is not None and "where" in definition.args and node.name.value == \
                "preview" and any(a.name.value == "where" for a in node.arguments or ()):
            multiplier = max(multiplier, self.model.scan_cost)
        if node.selection_set is None:
            return multiplier
        child = get_named_type(definition.type) if definition is not None else None
        return 1 + multiplier * self.selection_set(child, node.selection_set)

    def multiplier(self, node: FieldNode, definition: GraphQLField | None) -> int:
        given = {a.name.value: a.value for a in node.arguments or ()}
        best = 1
        for name in MULTIPLIER_ARGS:
            if definition is None or name not in definition.args:
                continue
            value = self.value(given.get(name))
            if value is None:
                default = definition.args[name].default_value
                if isinstance(default, int) and not isinstance(default, bool):
                    value = default
                else:
                    value = self.model.omitted.get(name, self.model.default_page)
            cap = self.model.caps.get(name, self.model.default_page)
            best = max(best, min(max(value, 1), cap))
        return best

    def value(self, node: ValueNode | None) -> int | None:
        if isinstance(node, IntValueNode):
            try:
                return int(node.value)
            except ValueError:
                return None
        if isinstance(node, VariableNode):
            name = node.name.value
            found = self.variables.get(name, self.defaults.get(name))
            return _as_int(found)
        return None


def price_key(variables: Mapping[str, Any] | None) -> PriceKey:
    """What of the variables a price can depend on: which are given (a given null or
    string is not the variable's default) and the Int each would run as."""
    if not variables:
        return ()
    return tuple(sorted((name, _as_int(value)) for name, value in variables.items()))


def _as_int(found: Any) -> int | None:
    """The value graphql-core's Int coercion will pass to the resolver: ints, and floats
    with no fractional part (``100.0`` runs as 100, so it is priced as 100)."""
    if isinstance(found, bool):
        return None
    if isinstance(found, int):
        return found
    if isinstance(found, float) and found.is_integer():
        return int(found)
    return None


def _defaults(op: OperationDefinitionNode) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for definition in op.variable_definitions or ():
        if isinstance(definition.default_value, IntValueNode):
            out[definition.variable.name.value] = int(definition.default_value.value)
    return out


def operation_costs(model: CostModel, schema: GraphQLSchema, document: Any,
                    variables: Mapping[str, Any] | None = None
                    ) -> Iterator[tuple[OperationDefinitionNode, int]]:
    """``(operation, cost)`` for every operation of a parsed document."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    for op in document.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        root = schema.get_root_type(op.operation)
        pricer = _Pricer(model, schema, fragments, variables or {}, _defaults(op))
        yield op, pricer.selection_set(root, op.selection_set)


def cost_rule(model: CostModel, variables: Mapping[str, Any] | None = None
              ) -> type[ValidationRule]:
    """A graphql-core validation rule pricing each operation with these variables."""

    class CostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for op, cost in operation_costs(model, context.schema, context.document,
                                            variables):
                if cost > model.max_cost:
                    name = op.name.value if op.name else None
                    context.report_error(GraphQLError(model.message(cost, name), op))

    return CostRule


class CostLimiter(SchemaExtension):
    """Runs ``cost_rule`` with the request's variables once the document is otherwise
    valid. Place it after the validation cache: it reuses the cached verdict."""

    def __init__(self, model: CostModel) -> None:
        self.model = model

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.pre_execution_errors is None and ctx.graphql_document is not None:
            from strawberry.schema.schema import validate_document

            ctx.pre_execution_errors = validate_document(
                ctx.schema._schema, ctx.graphql_document, ctx.validation_rules)
        if not ctx.pre_execution_errors and ctx.graphql_document is not None:
            # price the operations directly: the same errors ``cost_rule`` reports, without
            # graphql-core's validate() walking the whole document with a TypeInfo for a rule
            # that visits nothing (that walk was ~40% of a small query's execution time;
            # bench/graphql_vs_bare.py --breakdown)
            errors = [GraphQLError(self.model.message(cost, op.name.value if op.name else None),
                                   op)
                      for op, cost in self.model.costs(ctx.schema._schema,
                                                       ctx.graphql_document, ctx.query,
                                                       ctx.variables)
                      if cost > self.model.max_cost]
            if errors:
                ctx.pre_execution_errors = errors
        yield
