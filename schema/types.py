"""The catalog's GraphQL object types. Each wraps a ``server.models`` dataclass; related
objects resolve through the request's DataLoaders, so lists cost a constant number of store
calls whatever their length."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Generic, NewType, TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from schema.dataloaders import ready, then
from schema.enums import (
    DatasetLayer,
    EntityKind,
    OwnerKind,
    SourceKind,
    SuggestionKind,
    SuggestionStatus,
)
from schema.execution import ready_reader
from schema.permissions import may_see_pii
from schema.pii import (
    check_download,
    mask_stats,
    masked_facets,
    masked_preview,
    masked_quality,
    pii_columns,
)
from schema.preview_input import PreviewCondition
from schema.quality import FieldProfile, QualityReport, VersionChanges
from schema.relay import (
    Node,
    PageInfo,
    check_first,
    decode_after,
    global_id,
    page_info,
    tagged_cursor,
)
from schema.suggestion_types import Suggestion, suggestions_page
from server import models
from server.downloads import download_url
from server.errors import NotFoundError, ValidationError
from server.openlineage.field_types import SOURCE_TYPE_KEY
from server.preview import read_preview
from server.settings import public_base_url

if TYPE_CHECKING:
    from schema.jobs import Job, Run

# A whole number that may exceed 32 bits; its scalar definition is in schema.root.SCALARS.
BigInt = NewType("BigInt", int)

T = TypeVar("T")


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int


def connection(nodes: list[T], cursors: list[str], *, has_next: bool, has_previous: bool,
               total: int) -> Connection[T]:
    return Connection(edges=[Edge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
                      page_info=page_info(cursors, has_next, has_previous), total_count=total)


@strawberry.type(description="A publisher, vendor or public portal that datasets come from.")
class Source(Node):
    id: strawberry.ID
    name: str
    kind: SourceKind
    url: str | None
    license: str | None
    description: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, m: models.Source) -> Source:
        return cls(id=global_id("Source", m.id), name=m.name, kind=SourceKind(m.kind.value),
                   url=m.url, license=m.license, description=m.description,
                   created_at=m.created_at, updated_at=m.updated_at)


@strawberry.type(description="Something data is about: a person, audience, brand, device, bot…")
class Entity(Node):
    id: strawberry.ID
    kind: EntityKind
    name: str
    is_human: bool
    description: str | None
    identifiers: JSON
    created_at: datetime

    @classmethod
    def from_model(cls, m: models.Entity) -> Entity:
        return cls(id=global_id("Entity", m.id), kind=EntityKind(m.kind.value), name=m.name,
                   is_human=m.is_human, description=m.description,
                   identifiers=cast(JSON, m.identifiers),
                   created_at=m.created_at)


@strawberry.type(description="A dataset describes an entity, in a role (e.g. 'subject').")
class EntityLink:
    entity: Entity
    role: str | None


@strawberry.type
class Tag:
    name: str


@strawberry.type
class Owner:
    name: str
    kind: OwnerKind
    email: str | None


@strawberry.type(description="One column of a dataset version's schema.")
class Field:
    name: str
    position: int
    arrow_type: str = strawberry.field(description="The Arrow type, e.g. int64, string.")
    nullable: bool
    description: str | None
    metadata: JSON
    original_name: str | None = strawberry.field(
        description="The column's name in the uploaded file, when normalisation changed it.")
    source_type: str | None = strawberry.field(
        description="The type as its producer declared it (an OpenLineage schema facet's "
                    "`varchar`, `NUMBER(38,0)`…); arrowType is its Arrow meaning, empty when "
                    "that is not clear.")
    semantic_type: str | None = strawberry.field(
        description="email, phone, url, country, currency, postal_code, date, id, …")
    pii: bool = strawberry.field(description="The column holds personal data.")
    model: strawberry.Private[models.SchemaField]

    @classmethod
    def from_model(cls, m: models.SchemaField) -> Field:
        return cls(name=m.name, position=m.position, arrow_type=m.arrow_type,
                   nullable=m.nullable, description=m.description,
                   metadata=cast(JSON, m.metadata), original_name=m.metadata.get("original_name"),
                   source_type=m.metadata.get(SOURCE_TYPE_KEY),
                   semantic_type=m.semantic_type, pii=m.pii, model=m)

    @strawberry.field(description="The column's statistics. For a PII column, min, max and "
                                  "topValues are masked ('***') unless the caller's token has "
                                  "the pii permission.")
    def profile(self, info: Info) -> FieldProfile | None:
        stats = self.model.stats
        if self.pii and stats and not may_see_pii(info):
            stats = mask_stats(stats)
        return FieldProfile.from_stats(stats)


# The reads behind Dataset.source, tags, latestVersion and DatasetVersion.fields: with
# ``then`` (the resolvers: a plain value when preloaded, else an awaitable) or with ``ready``
# (their ready readers: the plain value, else NotReady; schema/execution.py).
Fetch = Callable[..., Any]


def _source(ctx: Any, ds: Dataset, fetch: Fetch = then) -> Any:
    if ds.model.source_id is None:
        return None
    return fetch(ctx.loaders.source, ds.model.source_id, _source_of)


def _tags(ctx: Any, ds: Dataset, fetch: Fetch = then) -> Any:
    return fetch(ctx.loaders.tags, ds.model.id, _tags_of)


def _latest_version(ctx: Any, ds: Dataset, fetch: Fetch = then) -> Any:
    return fetch(ctx.loaders.latest_version, ds.model.id, _version_of)


def _fields(ctx: Any, v: DatasetVersion, fetch: Fetch = then) -> Any:
    return fetch(ctx.loaders.fields, v.model.id, _fields_of)


@strawberry.type(description="An immutable version of a dataset: one load of its content.")
class DatasetVersion(Node):
    id: strawberry.ID
    version: int
    content_hash: str = strawberry.field(description="sha256 of the content as uploaded.")
    row_count: BigInt
    byte_size: BigInt = strawberry.field(
        description="Size of the curated Parquet (or of the raw upload for RAW datasets).")
    raw_key: str | None
    curated_key: str | None
    format: str | None
    created_at: datetime
    created_by: str
    quarantine_key: str | None = strawberry.field(
        description="Parquet of the rows the contract refused (quarantine mode), if any.")
    changes: VersionChanges | None = strawberry.field(
        description="Columns added, removed, retyped and the row-count change since the "
                    "previous version.")
    model: strawberry.Private[models.DatasetVersion]

    @classmethod
    def from_model(cls, m: models.DatasetVersion) -> DatasetVersion:
        return cls(id=global_id("DatasetVersion", m.id), version=m.version,
                   content_hash=m.content_hash, row_count=BigInt(m.row_count),
                   byte_size=BigInt(m.byte_size),
                   raw_key=m.raw_key, curated_key=m.curated_key, format=m.format,
                   created_at=m.created_at, created_by=m.created_by,
                   quarantine_key=m.quarantine_key,
                   changes=VersionChanges.from_changes(m.changes), model=m)

    @strawberry.field(description="The contract's checks over this version's rows (null "
                                  "without a contract). Failing-row samples of PII columns are "
                                  "masked unless the caller's token has the pii permission.")
    async def quality(self, info: Info) -> QualityReport | None:
        return QualityReport.from_report(
            await masked_quality(info, self.model.id, self.model.quality))

    @strawberry.field
    async def dataset(self, info: Info) -> Dataset:
        found = await info.context.loaders.dataset.load(self.model.dataset_id)
        if found is None:
            raise NotFoundError("the dataset of this version no longer exists")
        return Dataset.from_model(found)

    @strawberry.field(description="The schema: one Field per column, in order.")
    @ready_reader(partial(_fields, fetch=ready))
    def fields(self, info: Info) -> list[Field]:
        return cast("list[Field]", _fields(info.context, self))

    @strawberry.field(description=(
        "A time-limited URL that downloads this version's curated Parquet (or, with "
        "raw: true, the upload as it arrived); presigned on S3, a signed Peso route for the "
        "local store. Valid for at most PESO_DOWNLOAD_URL_SECONDS."))
    async def download_url(self, info: Info, raw: bool = False,
                           expires_in: int | None = None) -> str | None:
        await check_download(info, self.model.id)  # the whole file: PII needs the pii grant
        return await _download(info, self.model.raw_key if raw else self.model.curated_key,
                               expires_in)

    @strawberry.field(description=(
        "Rows of the curated Parquet as one JSON value {columns, rows, offset, limit, "
        "totalRows}. Reads only the named columns and the row groups holding the window; "
        "`limit` is capped by PESO_MAX_PREVIEW_ROWS. Values of PII columns are masked ('***', "
        "listed in `masked`) unless the caller's token has the pii permission."))
    async def preview(self, info: Info, columns: list[str] | None = None, limit: int = 20,
                      offset: int = 0, where: list[PreviewCondition] | None = None) -> JSON:
        cap = info.context.settings.max_preview_rows
        if not 0 <= limit <= cap:
            raise ValidationError(f"limit must be between 0 and {cap} (PESO_MAX_PREVIEW_ROWS), "
                                  f"got {limit}", field="limit")
        if offset < 0:
            raise ValidationError(f"offset must not be negative, got {offset}", field="offset")
        key = self.model.curated_key
        if key is None:
            raise NotFoundError("this version has no curated Parquet to preview (a RAW upload)")
        conditions = [c.to_condition() for c in where or []]
        if conditions and not may_see_pii(info):
            pii = await pii_columns(info, self.model.id)
            if hidden := sorted({c.column for c in conditions} & pii):
                raise ValidationError(f"filtering on personal-data column(s) {', '.join(hidden)} "
                                      "needs a token with the pii permission", field="where")
        block = await asyncio.to_thread(read_preview, info.context.objects, key,
                                        columns=columns, limit=limit, offset=offset,
                                        where=conditions)
        return cast(JSON, await masked_preview(info, self.model.id, block))


@strawberry.type(description="A dataset, identified by namespace and name.")
class Dataset(Node):
    id: strawberry.ID
    namespace: str
    name: str
    layer: DatasetLayer
    description: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    contract: JSON | None = strawberry.field(
        description="The validation contract stored with the dataset (applied to every load).")
    model: strawberry.Private[models.Dataset]

    @classmethod
    def from_model(cls, m: models.Dataset) -> Dataset:
        return cls(id=global_id("Dataset", m.id), namespace=m.namespace, name=m.name,
                   layer=DatasetLayer(m.layer.value), description=m.description,
                   created_at=m.created_at, updated_at=m.updated_at, deleted_at=m.deleted_at,
                   contract=cast(JSON, m.contract), model=m)

    # source, tags and latestVersion: plain values when the page's resolver preloaded them
    # (schema/datasets.py ``datasets``), else awaitables; graphql-core takes either
    # (each also registers the same read with ``ready`` as its ready reader, for a tree)
    @strawberry.field
    @ready_reader(partial(_source, fetch=ready))
    def source(self, info: Info) -> Source | None:
        return cast("Source | None", _source(info.context, self))

    @strawberry.field
    @ready_reader(partial(_tags, fetch=ready))
    def tags(self, info: Info) -> list[Tag]:
        return cast("list[Tag]", _tags(info.context, self))

    @strawberry.field(description="Who answers for the dataset. A person's name and e-mail "
                                  "(kind USER: e.g. a harvested contact point) are personal "
                                  "data, '***' unless the caller's token has the pii "
                                  "permission; a team's stay visible.")
    async def owners(self, info: Info) -> list[Owner]:
        found = await info.context.loaders.owners.load(self.model.id)
        masked = any(o.kind is models.OwnerKind.USER for o in found) and not may_see_pii(info)
        return [Owner(name="***", kind=OwnerKind.USER, email="***" if o.email else None)
                if masked and o.kind is models.OwnerKind.USER
                else Owner(name=o.name, kind=OwnerKind(o.kind.value), email=o.email)
                for o in found]

    @strawberry.field(description="The entities this dataset describes.")
    async def entities(self, info: Info) -> list[EntityLink]:
        return [EntityLink(entity=Entity.from_model(e), role=role)
                for e, role in await info.context.loaders.entities.load(self.model.id)]

    @strawberry.field(description="The OpenLineage dataset facets received for it (the latest "
                                  "of each, unknown ones included): schema, dataSource, "
                                  "dataQualityMetrics, dataQualityAssertions, …")
    async def lineage_facets(self, info: Info) -> JSON:
        facets = await info.context.loaders.dataset_facets.load(self.model.id)
        # sample values (columnMetrics min/max/quantiles) of PII columns: schema/pii.py
        return cast(JSON, await masked_facets(info, self.model.id, facets))

    @strawberry.field
    @ready_reader(partial(_latest_version, fetch=ready))
    def latest_version(self, info: Info) -> DatasetVersion | None:
        return cast("DatasetVersion | None", _latest_version(info.context, self))

    @strawberry.field(description="A time-limited URL for the latest version's curated "
                                  "Parquet (see DatasetVersion.downloadUrl).")
    async def download_url(self, info: Info, expires_in: int | None = None) -> str | None:
        latest = await info.context.loaders.latest_version.load(self.model.id)
        if latest is None:
            return None
        await check_download(info, latest.id)  # the whole file: PII needs the pii grant
        return await _download(info, latest.curated_key, expires_in)

    @strawberry.field(description="Versions, newest first.")
    async def versions(self, info: Info, first: int | None = None,
                       after: str | None = None) -> Connection[DatasetVersion]:
        size = check_first(first, info.context.settings.max_page_size)
        every = await info.context.loaders.versions.load(self.model.id)
        start = 0
        if after is not None:
            [number] = decode_after(after, 1, "versions") or [0]
            if not isinstance(number, int):
                raise ValidationError("cursor does not belong to this list", field="after")
            start = next((i + 1 for i, v in enumerate(every) if v.version == number), len(every))
        window = every[start:start + size]
        return connection([DatasetVersion.from_model(v) for v in window],
                          [tagged_cursor("versions", [v.version]) for v in window],
                          has_next=start + size < len(every), has_previous=start > 0,
                          total=len(every))

    @strawberry.field(description="One version by its number (1 is the first load).")
    async def version(self, info: Info, number: int) -> DatasetVersion | None:
        every = await info.context.loaders.versions.load(self.model.id)
        found = next((v for v in every if v.version == number), None)
        return DatasetVersion.from_model(found) if found else None

    @strawberry.field(description="What the enrichers propose for it, newest first (status "
                                  "null: every status).")
    async def suggestions(self, info: Info,
                          status: SuggestionStatus | None = SuggestionStatus.PENDING,
                          kind: SuggestionKind | None = None, first: int | None = None,
                          after: str | None = None) -> Connection[Suggestion]:
        return await suggestions_page(info, self.model.id, status, kind, first, after)


async def _download(info: Info, key: str | None, expires_in: int | None) -> str | None:
    if key is None:
        return None
    ctx = info.context
    base = public_base_url(ctx.settings)   # not the Host header: a client may forge it
    return await asyncio.to_thread(download_url, ctx.objects, ctx.settings, key,
                                   base_url=base, expires_in=expires_in)


@strawberry.type(description="A dataset reached by a lineage walk, with its distance.")
class LineageNode:
    dataset: Dataset
    depth: int = strawberry.field(
        description="Hops from the start: negative upstream, positive downstream, 0 the start.")

    @strawberry.field(description="The node's typed global id (the Dataset's id).")
    def id(self) -> strawberry.ID:
        return self.dataset.id


@strawberry.type(description="`downstream` was derived from `upstream` (DERIVED_FROM); when "
                             "OpenLineage said so, by a job (`viaJob`) and its latest run.")
class LineageEdge:
    downstream: Dataset
    upstream: Dataset
    transformation: str | None
    job: str | None
    created_at: datetime
    job_id: strawberry.Private[str | None] = None
    run_id: strawberry.Private[str | None] = None

    @strawberry.field(description="The OpenLineage job that derived `downstream`.")
    async def via_job(self, info: Info) -> Annotated[Job, strawberry.lazy("schema.jobs")] | None:
        from schema.jobs import load_job

        return await load_job(info, self.job_id)

    @strawberry.field(description="The namespace of `job` when it is an OpenLineage job "
                                  "(`job` is its name); null for a label set by `addLineage`.")
    async def job_namespace(self, info: Info) -> str | None:
        from schema.jobs import load_job

        found = await load_job(info, self.job_id)
        return found.namespace if found is not None else None

    @strawberry.field(description="The latest run of that job that did.")
    async def via_run(self, info: Info) -> Annotated[Run, strawberry.lazy("schema.jobs")] | None:
        from schema.jobs import load_run

        return await load_run(info, self.run_id)

    @classmethod
    def from_model(cls, e: models.LineageEdge, by_id: dict[str, Dataset]) -> LineageEdge:
        return cls(downstream=by_id[e.downstream_id], upstream=by_id[e.upstream_id],
                   transformation=e.transformation, job=e.job, created_at=e.created_at,
                   job_id=e.job_id, run_id=e.run_id)


@strawberry.type(description="A lineage subgraph in deterministic order: nodes by (depth, "
                             "namespace, name), edges by their ends' names.")
class LineageGraph:
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool = strawberry.field(
        default=False, description="The walk stopped at `maxNodes` datasets: there is more.")
    nodes_total: int = strawberry.field(
        default=0, description="Datasets the walk reached (returned or found and left out; "
                               "a lower bound of the whole neighbourhood when truncated).")

    @strawberry.field(description="How many datasets are returned in `nodes`.")
    def nodes_returned(self) -> int:
        return len(self.nodes)

    @classmethod
    def from_model(cls, g: models.LineageGraph) -> LineageGraph:
        by_id = {n.dataset.id: Dataset.from_model(n.dataset) for n in g.nodes}
        return cls(
            nodes=[LineageNode(dataset=by_id[n.dataset.id], depth=n.depth) for n in g.nodes],
            edges=[LineageEdge.from_model(e, by_id) for e in g.edges],
            truncated=g.truncated,
            nodes_total=len(g.nodes) if g.nodes_total is None else g.nodes_total)


def _source_of(found: models.Source | None) -> Source | None:
    return Source.from_model(found) if found else None


def _tags_of(found: list[models.Tag]) -> list[Tag]:
    return [Tag(name=t.name) for t in found]


def _fields_of(found: list[models.SchemaField]) -> list[Field]:
    return [Field.from_model(f) for f in found]


def _version_of(found: models.DatasetVersion | None) -> DatasetVersion | None:
    return DatasetVersion.from_model(found) if found else None
