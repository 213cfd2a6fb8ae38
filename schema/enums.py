"""GraphQL enums, mirrored from the domain's closed enums."""

from __future__ import annotations

import enum

import strawberry

from server import models


@strawberry.enum(description="What kind of publisher or provider a source is.")
class SourceKind(enum.Enum):
    PUBLISHER = "publisher"
    VENDOR = "vendor"
    PUBLIC_PORTAL = "public_portal"
    PLATFORM = "platform"
    INTERNAL = "internal"
    OTHER = "other"


@strawberry.enum(description="What an entity is. PERSON, CUSTOMER and AUDIENCE are human.")
class EntityKind(enum.Enum):
    PERSON = "person"
    CUSTOMER = "customer"
    AUDIENCE = "audience"
    ORGANIZATION = "organization"
    BRAND = "brand"
    PRODUCT = "product"
    DEVICE = "device"
    BOT = "bot"
    AI_AGENT = "ai_agent"
    CHANNEL = "channel"
    CAMPAIGN = "campaign"


@strawberry.enum(description="RAW: an upload as it arrived. CURATED: cleaned, typed Parquet. "
                             "EXTERNAL: known from OpenLineage events; its data lives "
                             "elsewhere.")
class DatasetLayer(enum.Enum):
    RAW = "raw"
    CURATED = "curated"
    EXTERNAL = "external"


@strawberry.enum
class OwnerKind(enum.Enum):
    USER = "user"
    TEAM = "team"


@strawberry.enum(description="Which way to walk lineage from a dataset.")
class LineageDirection(enum.Enum):
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"
    BOTH = "both"


@strawberry.enum
class DatasetOrderField(enum.Enum):
    NAME = "name"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"


def to_model(value: enum.Enum, model_enum: type[enum.StrEnum]) -> enum.StrEnum:
    return model_enum(value.value)


def source_kind(value: SourceKind) -> models.SourceKind:
    return models.SourceKind(value.value)


def entity_kind(value: EntityKind) -> models.EntityKind:
    return models.EntityKind(value.value)


@strawberry.enum(description="What a suggestion proposes (server/enrich/).")
class SuggestionKind(enum.Enum):
    SEMANTIC_TYPE = "semantic_type"
    ENTITY = "entity"
    JOIN_KEY = "join_key"
    DESCRIPTION = "description"
    TAG = "tag"


@strawberry.enum(description="PENDING: waiting for a person. SUPERSEDED: a newer version "
                             "proposed the same kind for the same target.")
class SuggestionStatus(enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
