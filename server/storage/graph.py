"""The graph-store protocol: everything the catalog keeps that is not file content.

Rules every backend follows (the contract suite in ``tests/contract`` checks them):

- async, keyword-only arguments after the first few obvious ones;
- every mutation takes ``actor`` and writes exactly one audit event per change in the same
  transaction as the change itself;
- batch getters (``get_*``) take a sequence of ids and return results in input order, with
  ``None`` (or an empty list) for a missing id, so they plug straight into DataLoaders;
- soft-deleted datasets are invisible to lists, search and lineage, but stay in history;
- returned objects are ``server.models`` dataclasses, never driver records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from server.models import (
    AuditEvent,
    Dataset,
    DatasetFilter,
    DatasetKey,
    DatasetLayer,
    DatasetVersion,
    Direction,
    Entity,
    EntityKind,
    EntityLink,
    LineageEdge,
    LineageGraph,
    NewVersion,
    Owner,
    OwnerKind,
    Page,
    PageRequest,
    RegisteredVersion,
    SchemaField,
    SearchHit,
    Source,
    SourceKind,
    Tag,
)


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

    # --- search and audit ------------------------------------------------------------------
    async def search(self, query: str, *, first: int, offset: int = 0
                     ) -> tuple[list[SearchHit], int]:
        """Full-text search over names, descriptions, tags and field names; best first."""
    async def append_audit(self, *, actor: str, action: str, target_kind: str, target_id: str,
                           detail: dict[str, Any] | None = None) -> AuditEvent: ...
    async def list_audit(self, *, limit: int, target_id: str | None = None
                         ) -> list[AuditEvent]: ...

    # --- whole-catalog transfer (peso migrate; record format in storage/transfer.py) -------
    async def is_empty(self) -> bool:
        """True when the store holds no sources, datasets, entities or audit events."""
    def export_records(self) -> AsyncIterator[dict[str, Any]]:
        """Every record (soft-deleted datasets and the audit log included) as a plain dict,
        kinds in dependency order (``transfer.RECORD_KINDS``), read from one snapshot."""
    async def import_records(self, records: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Write a batch of exported records in ONE transaction, keeping their ids and
        timestamps; records already present (by identity) are skipped, so a re-run is a
        no-op. Returns how many records of each kind were created.

        The one mutation without an ``actor`` and its own audit event: it restores the
        source's audit log verbatim, and an extra event would make the copy differ from it.
        Raises ConflictError when a record clashes with a different one in the store."""
