"""The domain model as plain dataclasses. Stores return these, never driver rows."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

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


# --- OpenLineage: jobs, runs, column lineage (what an event becomes: server/lineage_event.py)

class RunState(enum.StrEnum):
    START = "start"
    RUNNING = "running"
    COMPLETE = "complete"
    FAIL = "fail"
    ABORT = "abort"
    OTHER = "other"   # extra metadata; never changes a run's state once it has one

    @property
    def terminal(self) -> bool:
        return self in (RunState.COMPLETE, RunState.FAIL, RunState.ABORT)


class RunRole(enum.StrEnum):
    INPUT = "input"
    OUTPUT = "output"


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    namespace: str
    name: str
    description: str | None
    facets: dict[str, Any]   # the latest of each job facet received, unknown ones included
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Run:
    id: str                  # the OpenLineage runId (a UUID, lower-case)
    job_id: str
    state: RunState
    started_at: datetime | None
    ended_at: datetime | None
    error_message: str | None
    facets: dict[str, Any]
    nominal_start: datetime | None
    nominal_end: datetime | None
    parent_run_id: str | None
    created_at: datetime     # when Peso first heard of the run (runs list newest first by it)
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RunDataset:
    """A dataset a run read (INPUT) or wrote (OUTPUT), with the input/output facets sent."""

    run_id: str
    dataset_id: str
    role: RunRole
    facets: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ColumnLineageEdge:
    """Field ``downstream_field`` of ``downstream`` is derived from ``upstream_field`` of
    ``upstream`` (FIELD_DERIVED_FROM), by a transformation of a type and subtype
    (OpenLineage: DIRECT/IDENTITY, DIRECT/TRANSFORMATION, INDIRECT/FILTER, …; '' unknown)."""

    downstream_id: str
    downstream_field: str
    upstream_id: str
    upstream_field: str
    transformation_type: str
    transformation_subtype: str
    description: str | None
    masking: bool
    job_id: str | None
    run_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ColumnNode:
    dataset: Dataset
    field: str
    depth: int   # negative upstream, positive downstream, 0 the start


@dataclass(frozen=True, slots=True)
class ColumnLineageGraph:
    nodes: list[ColumnNode]
    edges: list[ColumnLineageEdge]
    truncated: bool = False
    nodes_total: int | None = None


@dataclass(frozen=True, slots=True)
class LineagePaths:
    """Every shortest DERIVED_FROM path between two datasets (each a list of dataset ids,
    first to last), walked ``direction`` from the first; the edges along them."""

    direction: Direction
    paths: list[list[str]]
    datasets: dict[str, Dataset]
    edges: list[LineageEdge]
    truncated: bool = False   # the node budget ran out, or there were more than max_paths


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


class Role(enum.StrEnum):
    """What an API token may do; each role includes the ones before it."""

    READER = "reader"
    WRITER = "writer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as stored: never the secret, only its sha256."""

    id: str
    name: str
    role: Role
    pii: bool
    secret_hash: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target_id: str | None = None
