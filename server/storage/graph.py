"""The graph-store protocol: everything the catalog keeps that is not file content.

Rules every backend follows (the contract suite in ``tests/contract`` checks them):

- async, keyword-only arguments after the first few obvious ones;
- every mutation takes ``actor`` and writes exactly one audit event per change in the same
  transaction as the change itself; the event carries the current request id
  (``server.requestctx.current_request_id()``, set per HTTP request and per CLI run);
- batch getters (``get_*``) take a sequence of ids and return results in input order, with
  ``None`` (or an empty list) for a missing id, so they plug straight into DataLoaders;
- soft-deleted datasets are invisible to lists, search and lineage, but stay in history;
- returned objects are ``server.models`` dataclasses, never driver records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from server.lineage_event import IngestResult, LineageEvent
from server.models import (
    ApiToken,
    AuditEvent,
    AuditFilter,
    ColumnLineageEdge,
    ColumnLineageGraph,
    Dataset,
    DatasetFilter,
    DatasetKey,
    DatasetLayer,
    DatasetVersion,
    Direction,
    EmbeddingTask,
    Entity,
    EntityKind,
    EntityLink,
    Job,
    LineageEdge,
    LineageGraph,
    LineagePaths,
    NewVersion,
    Owner,
    OwnerKind,
    Page,
    PageRequest,
    RegisteredVersion,
    Role,
    Run,
    RunDataset,
    RunRole,
    SchemaField,
    SearchHit,
    Source,
    SourceKind,
    Tag,
)
from server.models_lease import Lease
from server.models_suggestions import (
    NewSuggestion,
    PutSuggestionsResult,
    Suggestion,
    SuggestionKind,
    SuggestionStatus,
)

# The deepest a search can page (offset + first), and the most matches a backend must rank.
SEARCH_WINDOW = 5000
# A raw dataset's text repeats its curated dataset's, so search scales a raw match's relevance
# by this factor on every backend: the curated dataset people should use ranks first.
RAW_SEARCH_WEIGHT = 0.5


class GraphStore(Protocol):
    # --- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def health(self) -> None:
        """Return when the store answers a trivial query; raise StoreUnavailableError."""

    # --- sources ---------------------------------------------------------------------------
    async def upsert_source(self, *, name: str, kind: SourceKind, url: str | None = None,
                            license: str | None = None, description: str | None = None,
                            actor: str) -> Source: ...
    async def get_sources(self, ids: Sequence[str]) -> list[Source | None]: ...
    async def get_source_by_name(self, name: str) -> Source | None: ...
    async def list_sources(self, *, first: int, after: list[Any] | None = None) -> Page[Source]:
        ...

    # --- datasets --------------------------------------------------------------------------
    async def upsert_dataset(self, *, namespace: str, name: str,
                             layer: DatasetLayer = DatasetLayer.CURATED,
                             description: str | None = None, source_name: str | None = None,
                             actor: str) -> Dataset: ...
    async def get_datasets(self, ids: Sequence[str]) -> list[Dataset | None]: ...
    async def get_dataset(self, namespace: str, name: str) -> Dataset | None: ...
    async def list_datasets(self, flt: DatasetFilter, page: PageRequest) -> Page[Dataset]: ...
    async def delete_dataset(self, namespace: str, name: str, *, actor: str) -> Dataset: ...
    async def set_description(self, namespace: str, name: str, description: str | None, *,
                              actor: str) -> Dataset: ...
    async def set_contract(self, namespace: str, name: str, contract: dict[str, Any] | None,
                           *, actor: str) -> Dataset:
        """Store (or with None, remove) the dataset's validation contract, applied to every
        later load and collected batch (audit ``dataset.contract_set``); NotFoundError for
        an unknown or deleted dataset."""

    # --- versions and fields ---------------------------------------------------------------
    async def register_versions(
        self, items: Sequence[NewVersion], *,
        lineage: Sequence[tuple[DatasetKey, DatasetKey, str | None]] = (), actor: str,
    ) -> list[RegisteredVersion]:
        """Register versions (creating datasets as needed) and lineage in ONE transaction.

        ``lineage`` holds ``(downstream, upstream, transformation)``. An item whose content
        hash equals its dataset's latest version is a no-op (``created=False``).
        """
    async def get_versions(self, ids: Sequence[str]) -> list[DatasetVersion | None]: ...
    async def list_versions(self, dataset_ids: Sequence[str]) -> list[list[DatasetVersion]]:
        """Versions of each dataset, newest first."""
    async def get_latest_versions(self, dataset_ids: Sequence[str]
                                  ) -> list[DatasetVersion | None]: ...
    async def get_fields(self, version_ids: Sequence[str]) -> list[list[SchemaField]]: ...

    # --- entities --------------------------------------------------------------------------
    async def upsert_entity(self, *, kind: EntityKind, name: str, description: str | None = None,
                            identifiers: dict[str, str] | None = None, actor: str) -> Entity: ...
    async def get_entities(self, ids: Sequence[str]) -> list[Entity | None]: ...
    async def list_entities(self, *, kind: EntityKind | None = None, is_human: bool | None = None,
                            first: int, after: list[Any] | None = None) -> Page[Entity]: ...
    async def link_entity(self, dataset: DatasetKey, entity_id: str, *, role: str | None = None,
                          actor: str) -> EntityLink: ...
    async def get_dataset_entities(self, dataset_ids: Sequence[str]
                                   ) -> list[list[tuple[Entity, str | None]]]: ...

    # --- tags and owners -------------------------------------------------------------------
    async def add_tag(self, dataset: DatasetKey, tag: str, *, actor: str) -> Dataset: ...
    async def remove_tag(self, dataset: DatasetKey, tag: str, *, actor: str) -> Dataset: ...
    async def get_tags(self, dataset_ids: Sequence[str]) -> list[list[Tag]]: ...
    async def add_owner(self, dataset: DatasetKey, *, name: str, kind: OwnerKind,
                        email: str | None = None, actor: str) -> Owner: ...
    async def get_owners(self, dataset_ids: Sequence[str]) -> list[list[Owner]]: ...

    # --- lineage ---------------------------------------------------------------------------
    async def put_lineage(self, downstream: DatasetKey, upstream: DatasetKey, *,
                          transformation: str | None = None, job: str | None = None,
                          actor: str) -> LineageEdge: ...
    async def get_lineage(self, dataset_id: str, *, direction: Direction,
                          depth: int) -> LineageGraph:
        """Nodes reachable within ``depth`` hops (the start at depth 0), edges between them,
        in a deterministic order (by depth, then namespace/name)."""
    async def walk_lineage(self, dataset_id: str, *, direction: Direction, depth: int,
                           max_nodes: int) -> LineageGraph:
        """A bounded breadth-first walk (``storage/lineage_walk.py``): every dataset once
        (cycles end), level by level, each level's newcomers by (namespace, name); it stops
        at ``depth`` and when ``max_nodes`` datasets are reached (``truncated``,
        ``nodes_total`` a lower bound). Edges carry job_id/run_id. Same order as get_lineage."""
    async def lineage_paths(self, from_id: str, to_id: str, *, max_depth: int,
                            max_nodes: int, max_paths: int) -> LineagePaths:
        """Every shortest path from ``from_id`` to ``to_id`` following DERIVED_FROM
        downstream (``to`` derived from ``from``), else upstream; at most ``max_paths`` of
        them in (namespace, name) order, visiting at most ``max_nodes`` datasets."""
    async def put_column_lineage(self, downstream: DatasetKey, downstream_field: str,
                                 upstream: DatasetKey, upstream_field: str, *,
                                 transformation_type: str = "",
                                 transformation_subtype: str = "",
                                 description: str | None = None, masking: bool = False,
                                 actor: str) -> ColumnLineageEdge:
        """Record one FIELD_DERIVED_FROM (audit ``column_lineage.added``; unchanged: no-op)."""
    async def walk_column_lineage(self, dataset_id: str, field: str, *, direction: Direction,
                                  depth: int, max_nodes: int) -> ColumnLineageGraph:
        """The bounded walk of ``walk_lineage`` over (dataset, field) nodes."""

    # --- OpenLineage: jobs, runs and the events that make them (server/lineage_event.py) ---
    async def ingest_lineage_event(self, event: LineageEvent, *, actor: str) -> IngestResult:
        """Apply one event in ONE transaction: the job, the run (its state only moves forward
        in event time; OTHER never changes it), every dataset (created with layer EXTERNAL;
        description, source, owners; a version without objects when its schema or version
        facet is new), the run's inputs/outputs, ``event.edges`` as DERIVED_FROM carrying
        job and run, column lineage, the dataset facets, and the event itself. An event whose
        ``key`` was applied before is a no-op (``created=False``): no record, no audit."""
    async def ingest_lineage_events(self, events: Sequence[LineageEvent], *,
                                    actor: str) -> list[IngestResult]:
        """``ingest_lineage_event`` for each event in order, all in ONE transaction (a batch
        posted to the OpenLineage endpoint: one commit, not one per event). Each event sees
        the ones before it (a run's START, then its COMPLETE; an event sent twice is a replay
        the second time). All or nothing: when one is refused, its error is raised and none
        of the batch is written (apply them one by one to learn which it was)."""
    async def get_jobs(self, ids: Sequence[str]) -> list[Job | None]: ...
    async def get_job(self, namespace: str, name: str) -> Job | None: ...
    async def get_jobs_by_key(self, keys: Sequence[tuple[str, str]]) -> list[Job | None]:
        """Jobs by ``(namespace, name)``, in the order of ``keys`` (None for an unknown one):
        ``get_job`` for many, in one read."""
    async def list_jobs(self, *, namespace: str | None = None, first: int,
                        after: list[Any] | None = None) -> Page[Job]:
        """Jobs by (namespace, name), only those of ``namespace`` when given (``total``
        counts those); cursors ``[namespace, name]``."""
    async def get_runs(self, ids: Sequence[str]) -> list[Run | None]: ...
    async def list_runs(self, *, job_id: str | None = None, first: int,
                        after: list[Any] | None = None) -> Page[Run]:
        """Runs (of one job, or all), newest first by ``created_at``; cursors
        ``[created_at, id]``."""
    async def list_job_runs(self, job_ids: Sequence[str], *, first: int) -> list[Page[Run]]:
        """The first page (``first`` newest runs, with totals) of each job's runs, in the
        order of ``job_ids``: what ``list_runs(job_id=..., first=...)`` returns for each, in
        one read."""
    async def get_run_datasets(self, run_ids: Sequence[str]) -> list[list[RunDataset]]:
        """Each run's inputs and outputs (inputs first, each by namespace and name)."""
    async def get_job_datasets(self, job_ids: Sequence[str]
                               ) -> list[list[tuple[str, RunRole]]]:
        """Each job's known inputs and outputs: ``(dataset_id, role)``, inputs first, each by
        namespace and name."""
    async def get_dataset_facets(self, dataset_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The latest of each OpenLineage dataset facet received per dataset ({} if none)."""

    # --- search and audit ------------------------------------------------------------------
    async def search(self, query: str, *, first: int, offset: int = 0
                     ) -> tuple[list[SearchHit], int]:
        """Full-text search over names, descriptions, tags and field names; best first;
        ``(hits, total matches)``. Results are ranked over at most ``SEARCH_WINDOW`` matches
        (for a broader query SQLite ranks the most recently registered ones, Neo4j the
        best-scoring ones its full-text index hands over; ties in that index's order) and
        pages reach no further than that."""

    # --- embeddings for semantic search (server/semantic.py) -------------------------------
    # A derived index like the full-text one: no audit events. Every change to a dataset's
    # name, description, tags or latest fields (and a restore) queues it for re-embedding.
    async def prepare_embeddings(self, *, model: str, dimensions: int) -> bool:
        """Get ready to hold ``dimensions``-wide vectors of ``model``. When the stored model or
        width differ (or none is stored), drop every vector, queue every live dataset and
        return True; otherwise change nothing and return False."""
    async def pending_embeddings(self, *, limit: int) -> list[EmbeddingTask]:
        """Up to ``limit`` live datasets queued for (re-)embedding, oldest change first is not
        promised; deleted datasets are never returned."""
    async def store_embeddings(self, items: Sequence[tuple[str, str, Sequence[float]]]
                               ) -> int:
        """Store ``(dataset_id, ticket, vector)`` triples in one transaction; an item whose
        ticket is no longer the dataset's current one (it changed again meanwhile) or whose
        dataset is deleted is skipped. Returns how many were stored. ValidationError when a
        vector's width is not the prepared one."""
    async def nearest_datasets(self, vector: Sequence[float], *, k: int) -> list[SearchHit]:
        """Up to ``k`` live datasets with a stored vector, by cosine similarity to ``vector``
        (the hit's score, in [-1, 1]), best first."""

    async def append_audit(self, *, actor: str, action: str, target_kind: str, target_id: str,
                           detail: dict[str, Any] | None = None,
                           request_id: str | None = None) -> AuditEvent:
        """``request_id`` defaults to the current one (``server.requestctx``)."""
    async def list_audit(self, *, limit: int, target_id: str | None = None,
                         after_id: int | None = None) -> list[AuditEvent]:
        """Newest first; with ``after_id``, the events after that id OLDEST first (a cursor
        for followers such as the catalogEvents subscription)."""
    async def list_audit_page(self, flt: AuditFilter, *, first: int,
                              before_id: int | None = None) -> Page[AuditEvent]:
        """Audit events matching every given filter (exact values), newest first; the page
        starts below ``before_id``. Cursors are ``[id]``; ``total`` counts every match."""

    # --- enrichers' suggestions (server/models_suggestions.py, server/enrich/) -------------
    async def put_suggestions(self, items: Sequence[NewSuggestion], *,
                              actor: str) -> PutSuggestionsResult:
        """Store new pending suggestions (audit ``suggestion.proposed`` each). An item whose
        ``key`` was stored before, whatever its status, is skipped: a rejected suggestion is
        never proposed again for that version. A new one supersedes the older versions'
        pending suggestions of the same kind and target (status ``superseded``)."""
    async def get_suggestions(self, ids: Sequence[str]) -> list[Suggestion | None]: ...
    async def list_suggestions(self, *, dataset_id: str | None = None,
                               status: SuggestionStatus | None = None,
                               kind: SuggestionKind | None = None, first: int,
                               after: list[Any] | None = None) -> Page[Suggestion]:
        """Newest first by ``created_at``, then id; cursors ``[created_at text, id]``."""
    async def list_dataset_suggestions(self, dataset_ids: Sequence[str], *,
                                       status: SuggestionStatus | None = None,
                                       kind: SuggestionKind | None = None,
                                       first: int) -> list[Page[Suggestion]]:
        """The first page of ``list_suggestions`` for each dataset, in the order of
        ``dataset_ids``, in one read (``Dataset.suggestions`` through a DataLoader)."""
    async def decide_suggestion(self, suggestion_id: str, *, status: SuggestionStatus,
                                actor: str, note: str | None = None) -> Suggestion:
        """Accept or reject a pending suggestion (audit ``suggestion.accepted|rejected``);
        NotFoundError for an unknown id, ConflictError when it is not pending. Applying an
        accepted change is the caller's job (``server/enrich/decide.py``)."""
    async def note_suggestion(self, suggestion_id: str, note: str, *,
                              actor: str) -> Suggestion:
        """Record why an accepted change could not apply; it stays pending (audit
        ``suggestion.kept_pending``)."""
    async def set_field_semantics(self, version_id: str, field_name: str, *,
                                  semantic_type: str | None, pii: bool,
                                  actor: str) -> SchemaField:
        """Set one column's semantic type and PII flag (audit ``field.semantics_set``;
        unchanged: no-op). NotFoundError when the version has no such column."""

    # --- API tokens (server/auth.py; only a sha256 of each secret is stored) ---------------
    async def create_token(self, *, token_id: str, name: str, role: Role, pii: bool,
                           secret_hash: str, actor: str,
                           namespaces: Sequence[str] = ()) -> ApiToken:
        """Store a new token (audit ``token.created``); ConflictError when ``name`` was ever
        used, revoked tokens included (a name identifies an actor in the audit log).
        ``namespaces``: where a collector token may post events (kept in the given order)."""
    async def get_token(self, token_id: str) -> ApiToken | None: ...
    async def list_tokens(self) -> list[ApiToken]:
        """Every token, revoked ones included, by name."""
    async def revoke_token(self, name_or_id: str, *, actor: str) -> ApiToken:
        """Revoke by id or name (audit ``token.revoked``); revoking twice is a no-op;
        NotFoundError when there is no such token."""

    # --- whole-catalog transfer (peso migrate; record format in storage/transfer.py) -------
    async def is_empty(self) -> bool:
        """True when the store holds no sources, datasets, entities, audit events, OpenLineage
        jobs or received OpenLineage events."""
    def export_records(self) -> AsyncIterator[dict[str, Any]]:
        """Every record (soft-deleted datasets, OpenLineage jobs, runs, column lineage, dataset
        facets and received events, and the audit log included) as a plain dict, kinds in
        dependency order (``transfer.RECORD_KINDS``), read from one snapshot."""
    async def import_records(self, records: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Write a batch of exported records in ONE transaction, keeping their ids and
        timestamps; records already present (by identity) are skipped, so a re-run is a
        no-op. Returns how many records of each kind were created.

        The one mutation without an ``actor`` and its own audit event: it restores the
        source's audit log verbatim, and an extra event would make the copy differ from it.
        Raises ConflictError when a record clashes with a different one in the store."""
    async def compact_search_index(self) -> None:
        """Bring the full-text index to its most compact form, for after a bulk import
        (``peso migrate``, ``peso restore``): on SQLite FTS5 merges its segments into one
        (~10 s for 1M datasets, holding the write lock; a search then reads about half as
        much), on Neo4j Lucene merges its own segments and this does nothing. Answers are the
        same before and after; safe to call at any time."""

    # --- leases (server/scheduler.py): one process at a time runs a named job ---------------
    # Not catalog content: no actor, no audit event, not exported, not counted by is_empty.
    async def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take ``name`` for ``holder`` until ``ttl_seconds`` from now, atomically: True when
        it was free, expired or already ``holder``'s (then its expiry moves on); False while
        another holder's lease runs. Of concurrent acquirers of a free lease exactly one wins."""
    async def renew_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Extend ``holder``'s lease to ``ttl_seconds`` from now; False when another holder
        took it over (or it was released)."""
    async def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up; False when ``holder`` did not hold it (nothing changes)."""
    async def get_lease(self, name: str) -> Lease | None:
        """The lease's current record (possibly expired), or None."""
