"""The root: per-domain query and mutation classes merged, limits and caches switched on."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.scalar import ScalarDefinition

from schema.catalog import CatalogMutation, CatalogQuery
from schema.context import Info
from schema.datasets import DatasetMutation, DatasetQuery
from schema.lineage import LineageMutation, LineageQuery
from schema.relay import Node
from schema.search import SearchQuery
from schema.types import BigInt, Dataset, DatasetVersion, Entity, Source
from schema.uploads import UploadMutation
from server.errors import PesoError
from server.ids import from_global_id
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
            return DatasetVersion.from_model(v) if v else None
        if type_name == "Source":
            s = await loaders.source.load(raw)
            return Source.from_model(s) if s else None
        if type_name == "Entity":
            e = await loaders.entity.load(raw)
            return Entity.from_model(e) if e else None
        return None


Query = merge_types("Query", (NodeQuery, DatasetQuery, CatalogQuery, SearchQuery, LineageQuery))
Mutation = merge_types("Mutation", (DatasetMutation, CatalogMutation, LineageMutation,
                                    UploadMutation))


class PesoSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        """Client mistakes (syntax, validation, limits, bad arguments) are logged in one line
        at INFO; unexpected errors were logged in full when they were masked."""
        for error in errors:
            if error.original_error is None or isinstance(error.original_error, PesoError):
                log.info("graphql request error: %s", error.message)


def should_mask(error: GraphQLError) -> bool:
    """Mask only what no client should see: errors that are neither GraphQL's own (syntax,
    validation, limits) nor Peso's user-facing ones. Masked errors are logged in full."""
    original = error.original_error
    if original is None or isinstance(original, (PesoError, GraphQLError)):
        return False
    log.error("unexpected error in %s", error.path, exc_info=original)
    return True


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions per request (passing
    # instances is deprecated, strawberry#4369, and warns). The depth and alias rules are
    # built once, so the validation cache (keyed by the rule classes) keeps hitting.
    limit_rules = [*QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
                   *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules]
    extensions: list[Any] = [
        partial(AddValidationRules, limit_rules),
        partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
        partial(ParserCache, maxsize=256),
        partial(ValidationCache, maxsize=256),
        partial(MaskErrors, should_mask_error=should_mask, error_message=UNEXPECTED),
    ]
    return PesoSchema(query=Query, mutation=Mutation, extensions=extensions,
                      types=[Dataset, DatasetVersion, Source, Entity],
                      config=StrawberryConfig(scalar_map=SCALARS))


def export_sdl() -> str:
    """The SDL as committed in ``schema/schema.graphql`` (limits do not change the SDL)."""
    return build_schema(Settings.from_env({})).as_str() + "\n"
