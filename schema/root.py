"""The root: per-domain query and mutation classes merged, limits and caches switched on."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.scalar import ScalarDefinition

from schema.audit import AuditQuery
from schema.catalog import CatalogMutation, CatalogQuery
from schema.context import Info
from schema.cost import CostLimiter, CostModel
from schema.datasets import DatasetMutation, DatasetQuery
from schema.enrichment import EnrichmentMutation, EnrichmentQuery
from schema.events import EventSubscription
from schema.execution import PesoExecutionContext, lean_resolvers
from schema.guards import (
    DocumentValidationCache,
    OperationMetrics,
    RequestIdMaskErrors,
    is_query,
    run_with_timeout,
)
from schema.harvest import HarvestMutation, HarvestQuery
from schema.health import HealthQuery
from schema.jobs import Job, JobQuery, Run, load_job, load_run
from schema.lineage import LineageMutation, LineageQuery
from schema.permissions import principal_of, protect_root
from schema.relay import Node
from schema.search import SearchQuery
from schema.suggestion_types import Suggestion
from schema.suggestions import NoSuggestions
from schema.tokens import TokenMutation, TokenQuery
from schema.types import BigInt, Dataset, DatasetVersion, Entity, Source
from schema.uploads import UploadMutation
from server import metrics
from server.errors import PesoError, StoreUnavailableError
from server.ids import from_global_id
from server.models import Role
from server.settings import Settings

log = logging.getLogger("peso.graphql")

UNEXPECTED = "Unexpected error."

SCALARS: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt", serialize=int, parse_value=int,
        description="A whole number that may exceed 32 bits (row counts, byte sizes)."),
}


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id (null if it does not exist).")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, raw = from_global_id(id)
        loaders = info.context.loaders
        if type_name == "Dataset":
            ds = await loaders.dataset.load(raw)
            return Dataset.from_model(ds) if ds and ds.deleted_at is None else None
        if type_name == "DatasetVersion":
            v = await loaders.version.load(raw)
            if v is None:
                return None
            # a soft-deleted dataset's versions are gone with it, as the dataset itself is;
            # admins still reach them (history kept for audit)
            owner = await loaders.dataset.load(v.dataset_id)
            visible = owner is not None and (owner.deleted_at is None
                                             or principal_of(info).has(Role.ADMIN))
            return DatasetVersion.from_model(v) if visible else None
        if type_name == "Source":
            s = await loaders.source.load(raw)
            return Source.from_model(s) if s else None
        if type_name == "Entity":
            e = await loaders.entity.load(raw)
            return Entity.from_model(e) if e else None
        if type_name == "Job":
            return await load_job(info, raw)
        if type_name == "Run":
            return await load_run(info, raw)
        if type_name == "Suggestion":
            [found] = await info.context.graph.get_suggestions([raw])
            return Suggestion.from_model(found) if found else None
        return None


Query = merge_types("Query", (NodeQuery, DatasetQuery, CatalogQuery, SearchQuery, LineageQuery,
                              AuditQuery, TokenQuery, JobQuery, HealthQuery, HarvestQuery,
                              EnrichmentQuery))
Mutation = merge_types("Mutation", (DatasetMutation, CatalogMutation, LineageMutation,
                                    UploadMutation, TokenMutation, HarvestMutation,
                                    EnrichmentMutation))
Subscription = merge_types("Subscription", (EventSubscription,))


class PesoSchema(strawberry.Schema):
    """Strawberry's schema with Peso's guards: every Mutation field needs a writer token and
    every Subscription field a token of any role unless it declares its own permission
    (``schema.permissions``), and queries stop after PESO_QUERY_TIMEOUT_SECONDS."""

    def __init__(self, *args: Any, query_timeout: float | None = None, max_tokens: int = 2000,
                 **kwargs: Any) -> None:
        protect_root(kwargs.get("mutation"), Role.WRITER)
        protect_root(kwargs.get("subscription"), Role.READER)
        super().__init__(*args, **kwargs)
        self.query_timeout, self.max_tokens = query_timeout, max_tokens
        lean_resolvers(self._schema, self.config.info_class,
                       exception_handlers=bool(self.exception_handlers))

    async def execute(self, query: str | None, variable_values: dict[str, Any] | None = None,
                      context_value: Any | None = None, root_value: Any | None = None,
                      operation_name: str | None = None,
                      allowed_operation_types: Iterable[Any] | None = None,
                      operation_extensions: dict[str, Any] | None = None) -> ExecutionResult:
        work = super().execute(query, variable_values, context_value, root_value,
                               operation_name, allowed_operation_types, operation_extensions)
        if self.query_timeout is None or not is_query(query, operation_name, self.max_tokens):
            return await work
        return await run_with_timeout(work, self.query_timeout, operation_name)

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        """Client mistakes (syntax, validation, limits, bad arguments) are logged in one line
        at INFO; unexpected errors were logged in full when they were masked."""
        for error in errors:
            if isinstance(error.original_error, StoreUnavailableError):
                metrics.store_error("graph", "unavailable")
            if error.original_error is None or isinstance(error.original_error, PesoError):
                log.info("graphql request error: %s", error.message)


def should_mask(error: GraphQLError) -> bool:
    """Mask only what no client should see: errors that are neither GraphQL's own (syntax,
    validation, limits) nor Peso's user-facing ones. Masked errors are logged in full."""
    original = error.original_error
    if original is None or isinstance(original, (PesoError, GraphQLError)):
        return False
    log.error("unexpected error in %s", error.path, exc_info=original)
    metrics.store_error("graphql", "masked")
    return True


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions per request (passing
    # instances is deprecated, strawberry#4369, and warns). The depth and alias rules are
    # built once, so the validation cache (keyed by the rule classes) keeps hitting.
    limit_rules = [*QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
                   *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules]
    if not settings.introspection:
        limit_rules.append(NoSchemaIntrospectionCustomRule)
    cost = CostModel(max_cost=settings.max_query_cost, caps={
        "first": settings.max_page_size, "last": settings.max_page_size,
        "limit": settings.max_preview_rows, "maxNodes": settings.max_lineage_nodes},
        omitted={"maxNodes": settings.max_lineage_nodes},
        scan_cost=settings.preview_scan_cost)
    extensions: list[Any] = [
        OperationMetrics,
        partial(AddValidationRules, limit_rules),
        partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
        partial(ParserCache, maxsize=256),
        DocumentValidationCache,             # ValidationCache without hashing the document
        partial(CostLimiter, cost),          # after the validation cache: prices valid documents
        partial(RequestIdMaskErrors, should_mask_error=should_mask, error_message=UNEXPECTED),
    ]
    if not settings.introspection:
        extensions.insert(0, NoSuggestions)  # first in: its after-hooks run last
    return PesoSchema(query=Query, mutation=Mutation, subscription=Subscription,
                      extensions=extensions,
                      types=[Dataset, DatasetVersion, Source, Entity, Job, Run, Suggestion],
                      config=StrawberryConfig(scalar_map=SCALARS),
                      execution_context_class=PesoExecutionContext,
                      query_timeout=settings.query_timeout_seconds,
                      max_tokens=settings.max_query_tokens)


def export_sdl() -> str:
    """The SDL as committed in ``schema/schema.graphql`` (limits do not change the SDL)."""
    return build_schema(Settings.from_env({})).as_str() + "\n"
