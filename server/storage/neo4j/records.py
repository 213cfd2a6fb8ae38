"""Neo4j result maps → ``server.models`` dataclasses, and the pure helpers around them
(search text, Lucene queries, the lineage graph's order). No driver objects leave here."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from server.models import (
    AuditEvent,
    Dataset,
    DatasetLayer,
    DatasetSort,
    DatasetVersion,
    Entity,
    EntityKind,
    LineageEdge,
    LineageGraph,
    LineageNode,
    SchemaField,
    Source,
    SourceKind,
)

MAX_SEARCH_TOKENS = 16
# Lucene's standard tokenizer cuts terms at 255 characters, and a prefix query on a longer word
# builds an automaton above Lucene's 1,000-state limit (the server rejects the query): such a
# word cannot be a prefix of any indexed term, so it is searched as an exact term instead.
MAX_PREFIX_WORD_CHARS = 255
_WORD_RE = re.compile(r"[^\W_]+")              # letters and digits (any script)
_SPLIT_RE = re.compile(r"[\W_]+")
# every character Lucene's classic query parser treats as syntax (the backslash first)
_LUCENE_SPECIAL = '\\+-!():^[]"{}~*?|&/'


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ts(value: Any) -> datetime:
    """A driver DateTime (or a datetime, or ``[epochSeconds, nanosecond]`` as a statement
    returns them where many rows are read: the driver's DateTime hydration costs ~100 µs a
    value) as an aware UTC ``datetime``, truncated to microseconds like ``to_native``."""
    if isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value):
        return epoch(value[0], value[1])
    native = value.to_native() if hasattr(value, "to_native") else value
    if not isinstance(native, datetime):
        raise TypeError(f"expected a DateTime, got {type(value).__name__}")
    return native.astimezone(UTC) if native.tzinfo else native.replace(tzinfo=UTC)


def epoch(seconds: int, nanosecond: int) -> datetime:
    """``[d.epochSeconds, d.nanosecond]`` as an aware UTC datetime (microseconds)."""
    return _EPOCH + timedelta(seconds=seconds, microseconds=nanosecond // 1000)


def ts_or_none(value: Any) -> datetime | None:
    return None if value is None else ts(value)


def source(m: dict[str, Any]) -> Source:
    return Source(id=m["id"], name=m["name"], kind=SourceKind(m["kind"]), url=m.get("url"),
                  license=m.get("license"), description=m.get("description"),
                  created_at=ts(m["created_at"]), updated_at=ts(m["updated_at"]))


def dataset(m: dict[str, Any]) -> Dataset:
    return Dataset(id=m["id"], namespace=m["namespace"], name=m["name"],
                   layer=DatasetLayer(m["layer"]), description=m.get("description"),
                   source_id=m.get("source_id"), created_at=ts(m["created_at"]),
                   updated_at=ts(m["updated_at"]), deleted_at=ts_or_none(m.get("deleted_at")),
                   contract=from_json(m.get("contract")))


def version(m: dict[str, Any]) -> DatasetVersion:
    return DatasetVersion(id=m["id"], dataset_id=m["dataset_id"], version=m["version"],
                          content_hash=m["content_hash"], row_count=m["row_count"],
                          byte_size=m["byte_size"], raw_key=m.get("raw_key"),
                          curated_key=m.get("curated_key"), format=m.get("format"),
                          created_at=ts(m["created_at"]), created_by=m["created_by"],
                          quality=from_json(m.get("quality")),
                          changes=from_json(m.get("changes")),
                          quarantine_key=m.get("quarantine_key"))


def field(m: dict[str, Any]) -> SchemaField:
    return SchemaField(id=m["id"], version_id=m["version_id"], position=m["position"],
                       name=m["name"], arrow_type=m["arrow_type"], nullable=bool(m["nullable"]),
                       description=m.get("description"),
                       metadata=json.loads(m.get("metadata") or "{}"),
                       semantic_type=m.get("semantic_type"), pii=bool(m.get("pii")),
                       stats=json.loads(m.get("stats") or "{}"))


def entity(m: dict[str, Any]) -> Entity:
    return Entity(id=m["id"], kind=EntityKind(m["kind"]), name=m["name"],
                  description=m.get("description"),
                  identifiers=json.loads(m.get("identifiers") or "{}"),
                  created_at=ts(m["created_at"]))


def edge(m: dict[str, Any]) -> LineageEdge:
    return LineageEdge(downstream_id=m["downstream_id"], upstream_id=m["upstream_id"],
                       transformation=m.get("transformation"), job=m.get("job"),
                       created_at=ts(m["created_at"]))


def audit(m: dict[str, Any]) -> AuditEvent:
    return AuditEvent(id=m["id"], at=ts(m["at"]), actor=m["actor"], action=m["action"],
                      target_kind=m["target_kind"], target_id=m["target_id"],
                      detail=json.loads(m.get("detail") or "{}"),
                      request_id=m.get("request_id"))


# json.dumps(value, sort_keys=True, default=str) without building an encoder per call (half
# of its cost for the small maps an OpenLineage batch writes hundreds of: audit details)
_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def to_json(value: dict[str, Any]) -> str:
    if not value:   # most field metadata and stats: json.dumps costs ~9 µs even for {}
        return "{}"
    return _ENCODER.encode(value)


def to_json_or_none(value: dict[str, Any] | None) -> str | None:
    return None if value is None else to_json(value)


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def dataset_key(namespace: str, name: str) -> str:
    """``namespace/name``; a namespace that itself holds '/' (an OpenLineage URI such as
    ``s3://bucket``) gives the JSON array ``["ns","name"]`` instead, so no two keys collide
    (neither a Peso nor an OpenLineage namespace can start with '[')."""
    if "/" in namespace:
        return json.dumps([namespace, name], ensure_ascii=False)
    return f"{namespace}/{name}"


def entity_key(kind: EntityKind, name: str) -> str:
    return f"{kind.value}:{name}"


# --- search --------------------------------------------------------------------------------

def search_text(*values: str | None) -> str:
    """Indexed form of names/descriptions/tags/fields: words split on anything that is not a
    letter or digit, so 'ads_spend' is found by 'spend' (as SQLite's FTS5 tokenizer does)."""
    return " ".join(w for v in values if v for w in _SPLIT_RE.split(v) if w)


def lucene_escape(word: str) -> str:
    return "".join("\\" + ch if ch in _LUCENE_SPECIAL else ch for ch in word)


# per-property boosts, as the SQLite store's bm25 weights (name counts most)
_BOOSTS = (("search_namespace", 2), ("search_name", 10), ("search_description", 3),
           ("search_tags", 5), ("search_fields", 2))


def lucene_query(text: str) -> str | None:
    """User text → a Lucene query: every word required, prefix-matched in any indexed
    property. Only letters and digits survive (and are escaped anyway), lower-cased so that
    AND/OR/NOT are never operators; None when no word is left."""
    words = [w.lower() for w in _WORD_RE.findall(text)][:MAX_SEARCH_TOKENS]
    if not words:
        return None
    clauses = []
    for word in words:
        term = lucene_escape(word) + ("*" if len(word) <= MAX_PREFIX_WORD_CHARS else "")
        clauses.append("+(" + " OR ".join(f"{prop}:{term}^{boost}" for prop, boost in _BOOSTS)
                       + ")")
    return " ".join(clauses)


# --- pages and lineage ---------------------------------------------------------------------

def sort_key(d: Dataset, sort: DatasetSort) -> list[Any]:
    """The keyset cursor of a dataset: the same shape as the SQLite store's."""
    if sort is DatasetSort.NAME:
        return [d.namespace, d.name]
    stamp = d.created_at if sort is DatasetSort.CREATED_AT else d.updated_at
    return [stamp.isoformat(timespec="microseconds"), d.id]


def lineage_graph(datasets: dict[str, Dataset], depths: dict[str, int],
                  edges: list[LineageEdge]) -> LineageGraph:
    """Live nodes by (depth, namespace, name); edges among them by their ends' names."""
    live = {i: d for i, d in datasets.items() if d.deleted_at is None}
    nodes = sorted((LineageNode(d, depths[i]) for i, d in live.items()),
                   key=lambda n: (n.depth, n.dataset.namespace, n.dataset.name))

    def key(e: LineageEdge) -> tuple[str, str, str, str]:
        d, u = live[e.downstream_id], live[e.upstream_id]
        return (d.namespace, d.name, u.namespace, u.name)

    kept = [e for e in edges if e.downstream_id in live and e.upstream_id in live]
    return LineageGraph(nodes, sorted(kept, key=key))
