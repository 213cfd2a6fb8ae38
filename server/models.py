"""The domain model as plain dataclasses. Stores return these, never driver rows.

OpenLineage's jobs, runs and column lineage live in ``server/models_lineage.py``, roles and
API tokens in ``server/models_security.py``; both are re-exported here, so every model is
imported from ``server.models``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from server.models_lineage import ColumnLineageEdge as ColumnLineageEdge
from server.models_lineage import ColumnLineageGraph as ColumnLineageGraph
from server.models_lineage import ColumnNode as ColumnNode
from server.models_lineage import Job as Job
from server.models_lineage import LineagePaths as LineagePaths
from server.models_lineage import Run as Run
from server.models_lineage import RunDataset as RunDataset
from server.models_lineage import RunRole as RunRole
from server.models_lineage import RunState as RunState
from server.models_security import ApiToken as ApiToken
from server.models_security import AuditFilter as AuditFilter
from server.models_security import Role as Role

T = TypeVar("T")


class SourceKind(enum.StrEnum):
    PUBLISHER = "publisher"
    VENDOR = "vendor"
    PUBLIC_PORTAL = "public_portal"
    PLATFORM = "platform"
    INTERNAL = "internal"
    OTHER = "other"


class EntityKind(enum.StrEnum):
    # human
    PERSON = "person"
    CUSTOMER = "customer"
    AUDIENCE = "audience"
    # non-human
    ORGANIZATION = "organization"
    BRAND = "brand"
    PRODUCT = "product"
    DEVICE = "device"
    BOT = "bot"
    AI_AGENT = "ai_agent"
    CHANNEL = "channel"
    CAMPAIGN = "campaign"

    @property
    def is_human(self) -> bool:
        return self in HUMAN_KINDS


HUMAN_KINDS = frozenset({EntityKind.PERSON, EntityKind.CUSTOMER, EntityKind.AUDIENCE})


class DatasetLayer(enum.StrEnum):
    RAW = "raw"          # an upload kept as it arrived
    CURATED = "curated"  # cleaned, typed Parquet
    EXTERNAL = "external"  # known from OpenLineage events; its data lives elsewhere


class OwnerKind(enum.StrEnum):
    USER = "user"
    TEAM = "team"


class Direction(enum.StrEnum):
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"
    BOTH = "both"


class DatasetSort(enum.StrEnum):
    NAME = "name"              # (namespace, name)
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@dataclass(frozen=True, slots=True)
class DatasetKey:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    name: str
    kind: SourceKind
    url: str | None
    license: str | None
    description: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Dataset:
    id: str
    namespace: str
    name: str
    layer: DatasetLayer
    description: str | None
    source_id: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    contract: dict[str, Any] | None = None

    @property
    def key(self) -> DatasetKey:
        return DatasetKey(self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One column of a version's schema."""

    name: str
    arrow_type: str
    nullable: bool = True
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    semantic_type: str | None = None   # email, phone, url, country, currency, postal_code, …
    pii: bool = False                  # holds personal data
    stats: dict[str, Any] = field(default_factory=dict)  # the column's profile


@dataclass(frozen=True, slots=True)
class SchemaField:
    """A stored field: its spec plus identity and position within the version."""

    id: str
    version_id: str
    position: int
    name: str
    arrow_type: str
    nullable: bool
    description: str | None
    metadata: dict[str, str]
    semantic_type: str | None = None
    pii: bool = False
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewVersion:
    """What a loader hands the graph store to register one immutable version."""

    namespace: str
    name: str
    content_hash: str
    row_count: int
    byte_size: int
    fields: list[FieldSpec]
    raw_key: str | None = None
    curated_key: str | None = None
    format: str | None = None
    layer: DatasetLayer = DatasetLayer.CURATED
    source_name: str | None = None
    description: str | None = None
    version_id: str | None = None  # chosen by the caller so object keys can name it
    quality: dict[str, Any] | None = None   # the validation report of this load
    changes: dict[str, Any] | None = None   # schema/row-count difference from the previous
    quarantine_key: str | None = None       # Parquet of rows refused by the contract
    contract: dict[str, Any] | None = None  # the validation contract, stored on the dataset


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    id: str
    dataset_id: str
    version: int
    content_hash: str
    row_count: int
    byte_size: int
    raw_key: str | None
    curated_key: str | None
    format: str | None
    created_at: datetime
    created_by: str
    quality: dict[str, Any] | None = None
    changes: dict[str, Any] | None = None
    quarantine_key: str | None = None


@dataclass(frozen=True, slots=True)
class RegisteredVersion:
    """The outcome of registering one version: ``created`` is False for a no-op re-run."""

    dataset: Dataset
    version: DatasetVersion
    created: bool


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    kind: EntityKind
    name: str
    description: str | None
    identifiers: dict[str, str]
    created_at: datetime

    @property
    def is_human(self) -> bool:
        return self.kind.is_human


@dataclass(frozen=True, slots=True)
class EntityLink:
    dataset_id: str
    entity_id: str
    role: str | None


@dataclass(frozen=True, slots=True)
class Tag:
    name: str


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    kind: OwnerKind
    email: str | None


@dataclass(frozen=True, slots=True)
class LineageEdge:
    """``downstream`` was derived from ``upstream`` (DERIVED_FROM points downstream→upstream)."""

    downstream_id: str
    upstream_id: str
    transformation: str | None
    job: str | None
    created_at: datetime
    job_id: str | None = None  # the OpenLineage job that derived it (server.lineage models)
    run_id: str | None = None  # the latest run of that job that did


@dataclass(frozen=True, slots=True)
class LineageNode:
    dataset: Dataset
    depth: int  # hops from the start dataset: negative upstream, positive downstream


@dataclass(frozen=True, slots=True)
class LineageGraph:
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool = False         # the walk stopped at max_nodes (or the edge cap)
    nodes_total: int | None = None  # datasets reached before it stopped (None: len(nodes))


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    at: datetime
    actor: str
    action: str
    target_kind: str
    target_id: str
    detail: dict[str, Any]
    request_id: str | None = None  # the HTTP request (or CLI run) that made the change


@dataclass(frozen=True, slots=True)
class DatasetFilter:
    namespace: str | None = None
    source: str | None = None        # source name
    tag: str | None = None
    entity_kind: EntityKind | None = None
    text: str | None = None          # substring of namespace/name/description
    layer: DatasetLayer | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int
    after: list[Any] | None = None   # decoded keyset cursor
    sort: DatasetSort = DatasetSort.NAME
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list; ``cursors[i]`` is the sort key of ``items[i]``."""

    items: list[T]
    cursors: list[list[Any]]
    has_next: bool
    total: int


@dataclass(frozen=True, slots=True)
class SearchHit:
    dataset: Dataset
    score: float


@dataclass(frozen=True, slots=True)
class EmbeddingTask:
    """A dataset whose embedding is missing or stale (its text changed): what to embed, and the
    ``ticket`` that ``store_embeddings`` must present, so that a change made while the vector
    was being computed queues the dataset again instead of being lost."""
    dataset_id: str
    ticket: str
    namespace: str
    name: str
    description: str | None
    tags: tuple[str, ...]
    fields: tuple[str, ...]
