"""Shared helpers for the graph-store contract tests: written against the protocol only."""

from __future__ import annotations

from datetime import datetime

from server.models import (
    AuditEvent,
    Dataset,
    DatasetKey,
    DatasetLayer,
    FieldSpec,
    NewVersion,
)
from server.storage.graph import GraphStore

ACTOR = "contract-tester"


def key(namespace: str, name: str) -> DatasetKey:
    return DatasetKey(namespace, name)


def new_version(namespace: str, name: str, content_hash: str = "h1", *,
                fields: list[FieldSpec] | None = None, rows: int = 10,
                layer: DatasetLayer = DatasetLayer.CURATED, source_name: str | None = None,
                description: str | None = None, version_id: str | None = None) -> NewVersion:
    return NewVersion(
        namespace=namespace, name=name, content_hash=content_hash, row_count=rows,
        byte_size=rows * 100,
        fields=fields if fields is not None else [FieldSpec("id", "int64", nullable=False)],
        raw_key=f"raw/{namespace}/{name}/{content_hash}/data.csv",
        curated_key=f"curated/{namespace}/{name}/{content_hash}/part-0.parquet",
        format="csv", layer=layer, source_name=source_name, description=description,
        version_id=version_id,
    )


async def dataset(graph: GraphStore, namespace: str, name: str, *,
                  layer: DatasetLayer = DatasetLayer.CURATED, description: str | None = None,
                  source_name: str | None = None, actor: str = ACTOR) -> Dataset:
    """Register a dataset with ``upsert_dataset``."""
    return await graph.upsert_dataset(namespace=namespace, name=name, layer=layer,
                                      description=description, source_name=source_name,
                                      actor=actor)


async def audit_mark(graph: GraphStore) -> int:
    """The id of the newest audit event (0 when there is none)."""
    newest = await graph.list_audit(limit=1)
    return newest[0].id if newest else 0


async def audit_since(graph: GraphStore, mark: int) -> list[AuditEvent]:
    """Audit events written after ``mark``, oldest first."""
    events = await graph.list_audit(limit=10_000)
    return sorted((e for e in events if e.id > mark), key=lambda e: e.id)


def actions(events: list[AuditEvent]) -> list[str]:
    return [e.action for e in events]


def is_aware(stamp: datetime) -> bool:
    return stamp.tzinfo is not None and stamp.utcoffset() is not None
