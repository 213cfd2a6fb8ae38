"""sqlite3 rows → ``server.models`` dataclasses (the only place that knows column order)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from server.models import (
    AuditEvent,
    Dataset,
    DatasetLayer,
    DatasetVersion,
    Entity,
    EntityKind,
    LineageEdge,
    SchemaField,
    Source,
    SourceKind,
)


def now() -> str:
    """The current UTC time as sortable ISO-8601 text with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def source(r: sqlite3.Row) -> Source:
    return Source(id=r["id"], name=r["name"], kind=SourceKind(r["kind"]), url=r["url"],
                  license=r["license"], description=r["description"],
                  created_at=ts(r["created_at"]), updated_at=ts(r["updated_at"]))


def dataset(r: sqlite3.Row) -> Dataset:
    return Dataset(id=r["id"], namespace=r["namespace"], name=r["name"],
                   layer=DatasetLayer(r["layer"]), description=r["description"],
                   source_id=r["source_id"], created_at=ts(r["created_at"]),
                   updated_at=ts(r["updated_at"]),
                   deleted_at=ts(r["deleted_at"]) if r["deleted_at"] else None,
                   contract=_json(r["contract"]))


def dataset_tuple(r: tuple[Any, ...]) -> Dataset:
    """``dataset`` for a plain tuple in ``sql.DATASET_COLS`` order (lineage walks)."""
    ds_id, namespace, name, layer, description, source_id, created, updated, deleted, \
        contract = r
    return Dataset(id=ds_id, namespace=namespace, name=name,
                   layer=DatasetLayer(layer), description=description,
                   source_id=source_id, created_at=ts(created), updated_at=ts(updated),
                   deleted_at=ts(deleted) if deleted else None,
                   contract=None if contract is None else json.loads(contract))


def version(r: sqlite3.Row) -> DatasetVersion:
    return DatasetVersion(id=r["id"], dataset_id=r["dataset_id"], version=r["version"],
                          content_hash=r["content_hash"], row_count=r["row_count"],
                          byte_size=r["byte_size"], raw_key=r["raw_key"],
                          curated_key=r["curated_key"], format=r["format"],
                          created_at=ts(r["created_at"]), created_by=r["created_by"],
                          quality=_json(r["quality"]), changes=_json(r["changes"]),
                          quarantine_key=r["quarantine_key"])


def field(r: sqlite3.Row) -> SchemaField:
    return SchemaField(id=r["id"], version_id=r["version_id"], position=r["position"],
                       name=r["name"], arrow_type=r["arrow_type"], nullable=bool(r["nullable"]),
                       description=r["description"], metadata=json.loads(r["metadata"]),
                       semantic_type=r["semantic_type"], pii=bool(r["pii"]),
                       stats=json.loads(r["stats"]))


def entity(r: sqlite3.Row) -> Entity:
    return Entity(id=r["id"], kind=EntityKind(r["kind"]), name=r["name"],
                  description=r["description"], identifiers=json.loads(r["identifiers"]),
                  created_at=ts(r["created_at"]))


def edge(r: sqlite3.Row) -> LineageEdge:
    return LineageEdge(downstream_id=r["downstream_id"], upstream_id=r["upstream_id"],
                       transformation=r["transformation"], job=r["job"],
                       created_at=ts(r["created_at"]))


def audit(r: sqlite3.Row) -> AuditEvent:
    return AuditEvent(id=r["id"], at=ts(r["at"]), actor=r["actor"], action=r["action"],
                      target_kind=r["target_kind"], target_id=r["target_id"],
                      detail=json.loads(r["detail"]), request_id=r["request_id"])
