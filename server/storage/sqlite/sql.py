"""All SQL text of the SQLite graph store. Values are always ``?`` parameters; the only
text ever formatted in comes from the closed maps below (sort columns, directions) or is a
count of ``?`` placeholders."""

from __future__ import annotations

from typing import Any

from server.models import DatasetFilter, DatasetSort
from server.storage.graph import RAW_SEARCH_WEIGHT

DATASET_COLS = ("d.id, d.namespace, d.name, d.layer, d.description, d.source_id, "
                "d.created_at, d.updated_at, d.deleted_at, d.contract")
VERSION_COLS = ("v.id, v.dataset_id, v.version, v.content_hash, v.row_count, v.byte_size, "
                "v.raw_key, v.curated_key, v.format, v.created_at, v.created_by, v.quality, "
                "v.changes, v.quarantine_key")
SOURCE_COLS = "s.id, s.name, s.kind, s.url, s.license, s.description, s.created_at, s.updated_at"
ENTITY_COLS = "e.id, e.kind, e.name, e.description, e.identifiers, e.created_at"


def marks(n: int) -> str:
    return ",".join("?" * n)


# --- sources --------------------------------------------------------------------------------
SOURCE_BY_NAME = f"SELECT {SOURCE_COLS} FROM sources s WHERE s.name = ?"
SOURCE_INSERT = ("INSERT INTO sources (id, name, kind, url, license, description, created_at, "
                 "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
SOURCE_UPDATE = ("UPDATE sources SET kind = ?, url = ?, license = ?, description = ?, "
                 "updated_at = ? WHERE id = ?")
SOURCE_PAGE = (f"SELECT {SOURCE_COLS} FROM sources s WHERE (? IS NULL OR (s.name, s.id) > (?, ?)) "
               "ORDER BY s.name, s.id LIMIT ?")
SOURCE_COUNT = "SELECT count(*) FROM sources"


def sources_by_ids(n: int) -> str:
    return f"SELECT {SOURCE_COLS} FROM sources s WHERE s.id IN ({marks(n)})"


# --- datasets -------------------------------------------------------------------------------
DATASET_BY_KEY = f"SELECT {DATASET_COLS} FROM datasets d WHERE d.namespace = ? AND d.name = ?"
DATASET_INSERT = ("INSERT INTO datasets (id, namespace, name, layer, description, source_id, "
                  "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
DATASET_TOUCH = "UPDATE datasets SET updated_at = ? WHERE id = ?"
DATASET_SET_SOURCE = "UPDATE datasets SET source_id = ?, updated_at = ? WHERE id = ?"
DATASET_SET_DESCRIPTION = "UPDATE datasets SET description = ?, updated_at = ? WHERE id = ?"
DATASET_UNDELETE = "UPDATE datasets SET deleted_at = NULL, updated_at = ? WHERE id = ?"
DATASET_DELETE = "UPDATE datasets SET deleted_at = ?, updated_at = ? WHERE id = ?"
DATASET_SET_LATEST = "UPDATE datasets SET latest_version_id = ?, updated_at = ? WHERE id = ?"
DATASET_SET_CONTRACT = "UPDATE datasets SET contract = ?, updated_at = ? WHERE id = ?"
DATASET_RID = "SELECT rid FROM datasets WHERE id = ?"


def datasets_by_ids(n: int) -> str:
    return f"SELECT {DATASET_COLS} FROM datasets d WHERE d.id IN ({marks(n)})"


# Sort keys: the columns of the keyset cursor, from a closed map keyed by the DatasetSort enum.
SORT_COLUMNS: dict[DatasetSort, tuple[str, str]] = {
    DatasetSort.NAME: ("d.namespace", "d.name"),
    DatasetSort.CREATED_AT: ("d.created_at", "d.id"),
    DatasetSort.UPDATED_AT: ("d.updated_at", "d.id"),
}


def dataset_filter(flt: DatasetFilter, fts_query: str | None) -> tuple[str, list[Any]]:
    """WHERE clause (live datasets only) and its parameters for a DatasetFilter."""
    clauses = ["d.deleted_at IS NULL"]
    params: list[Any] = []
    if flt.namespace is not None:
        clauses.append("d.namespace = ?")
        params.append(flt.namespace)
    if flt.layer is not None:
        clauses.append("d.layer = ?")
        params.append(flt.layer.value)
    if flt.source is not None:
        clauses.append("d.source_id = (SELECT id FROM sources WHERE name = ?)")
        params.append(flt.source)
    if flt.tag is not None:
        # IN, not a correlated EXISTS: SQLite then starts from the tags_tag index (rows with
        # this tag) instead of probing tags once per dataset; count(*) drops from a scan of
        # every dataset to one probe per tagged dataset (bench/catalog_100k.py)
        clauses.append("d.id IN (SELECT t.dataset_id FROM tags t WHERE t.tag = ?)")
        params.append(flt.tag)
    if flt.entity_kind is not None:
        clauses.append("EXISTS (SELECT 1 FROM dataset_entities de JOIN entities e "
                       "ON e.id = de.entity_id WHERE de.dataset_id = d.id AND e.kind = ?)")
        params.append(flt.entity_kind.value)
    if fts_query is not None:
        clauses.append("d.rid IN (SELECT rowid FROM dataset_fts WHERE dataset_fts MATCH ?)")
        params.append(fts_query)
    return " AND ".join(clauses), params


def dataset_page(where: str, sort: DatasetSort, descending: bool, with_cursor: bool) -> str:
    a, b = SORT_COLUMNS[sort]
    op, order = ("<", "DESC") if descending else (">", "ASC")
    keyset = f" AND ({a}, {b}) {op} (?, ?)" if with_cursor else ""
    return (f"SELECT {DATASET_COLS} FROM datasets d WHERE {where}{keyset} "
            f"ORDER BY {a} {order}, {b} {order} LIMIT ?")


def dataset_count(where: str) -> str:
    return f"SELECT count(*) FROM datasets d WHERE {where}"


# --- versions and fields --------------------------------------------------------------------
VERSION_LATEST_OF = (f"SELECT {VERSION_COLS} FROM versions v WHERE v.dataset_id = ? "
                     "ORDER BY v.version DESC LIMIT 1")
VERSION_INSERT = ("INSERT INTO versions (id, dataset_id, version, content_hash, row_count, "
                  "byte_size, raw_key, curated_key, format, created_at, created_by, quality, "
                  "changes, quarantine_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
FIELD_INSERT = ("INSERT INTO fields (id, version_id, position, name, arrow_type, nullable, "
                "description, metadata, semantic_type, pii, stats) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def versions_by_ids(n: int) -> str:
    return f"SELECT {VERSION_COLS} FROM versions v WHERE v.id IN ({marks(n)})"


def versions_of_datasets(n: int) -> str:
    return (f"SELECT {VERSION_COLS} FROM versions v WHERE v.dataset_id IN ({marks(n)}) "
            "ORDER BY v.dataset_id, v.version DESC")


def latest_versions_of_datasets(n: int) -> str:
    return (f"SELECT {VERSION_COLS} FROM datasets d JOIN versions v ON v.id = d.latest_version_id "
            f"WHERE d.id IN ({marks(n)})")


def fields_of_versions(n: int) -> str:
    return ("SELECT id, version_id, position, name, arrow_type, nullable, description, metadata, "
            f"semantic_type, pii, stats FROM fields WHERE version_id IN ({marks(n)}) "
            "ORDER BY version_id, position")


LATEST_FIELD_NAMES = ("SELECT f.name FROM datasets d JOIN fields f ON f.version_id = "
                      "d.latest_version_id WHERE d.id = ? ORDER BY f.position")

# --- entities -------------------------------------------------------------------------------
ENTITY_BY_KEY = f"SELECT {ENTITY_COLS} FROM entities e WHERE e.kind = ? AND e.name = ?"
ENTITY_INSERT = ("INSERT INTO entities (id, kind, name, is_human, description, identifiers, "
                 "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
ENTITY_UPDATE = "UPDATE entities SET description = ?, identifiers = ? WHERE id = ?"
ENTITY_PAGE = (f"SELECT {ENTITY_COLS} FROM entities e WHERE (? IS NULL OR e.kind = ?) "
               "AND (? IS NULL OR e.is_human = ?) AND (? IS NULL OR (e.name, e.id) > (?, ?)) "
               "ORDER BY e.name, e.id LIMIT ?")
ENTITY_COUNT = ("SELECT count(*) FROM entities e WHERE (? IS NULL OR e.kind = ?) "
                "AND (? IS NULL OR e.is_human = ?)")
LINK_GET = "SELECT role FROM dataset_entities WHERE dataset_id = ? AND entity_id = ?"
LINK_UPSERT = ("INSERT INTO dataset_entities (dataset_id, entity_id, role) VALUES (?, ?, ?) "
               "ON CONFLICT (dataset_id, entity_id) DO UPDATE SET role = excluded.role")


def entities_by_ids(n: int) -> str:
    return f"SELECT {ENTITY_COLS} FROM entities e WHERE e.id IN ({marks(n)})"


def entities_of_datasets(n: int) -> str:
    return (f"SELECT de.dataset_id, de.role, {ENTITY_COLS} FROM dataset_entities de "
            f"JOIN entities e ON e.id = de.entity_id WHERE de.dataset_id IN ({marks(n)}) "
            "ORDER BY de.dataset_id, e.kind, e.name")


# --- tags and owners ------------------------------------------------------------------------
TAG_INSERT = "INSERT OR IGNORE INTO tags (dataset_id, tag, created_at) VALUES (?, ?, ?)"
TAG_DELETE = "DELETE FROM tags WHERE dataset_id = ? AND tag = ?"
TAG_NAMES_OF = "SELECT tag FROM tags WHERE dataset_id = ? ORDER BY tag"
OWNER_GET = "SELECT kind, email FROM owners WHERE dataset_id = ? AND name = ?"
OWNER_UPSERT = ("INSERT INTO owners (dataset_id, name, kind, email) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (dataset_id, name) DO UPDATE SET kind = excluded.kind, "
                "email = excluded.email")


def tags_of_datasets(n: int) -> str:
    return f"SELECT dataset_id, tag FROM tags WHERE dataset_id IN ({marks(n)}) ORDER BY tag"


def owners_of_datasets(n: int) -> str:
    return (f"SELECT dataset_id, name, kind, email FROM owners WHERE dataset_id IN ({marks(n)}) "
            "ORDER BY name")


# --- lineage --------------------------------------------------------------------------------
LINEAGE_UPSERT = ("INSERT INTO lineage (downstream_id, upstream_id, transformation, job, "
                  "created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (downstream_id, upstream_id) "
                  "DO UPDATE SET transformation = excluded.transformation, job = excluded.job")
LINEAGE_GET = ("SELECT downstream_id, upstream_id, transformation, job, created_at FROM lineage "
               "WHERE downstream_id = ? AND upstream_id = ?")

# Walk DERIVED_FROM edges from a start dataset, up to a bounded depth (a validated int passed
# as a parameter). UNION (not UNION ALL) drops repeated (id, depth) pairs, so cycles end at the
# depth bound. Deleted datasets stop the walk.
LINEAGE_UPSTREAM = """
WITH RECURSIVE walk(id, depth) AS (
    SELECT ?, 0
    UNION
    SELECT l.upstream_id, w.depth + 1
    FROM walk w JOIN lineage l ON l.downstream_id = w.id
    JOIN datasets d ON d.id = l.upstream_id AND d.deleted_at IS NULL
    WHERE w.depth < ?
)
SELECT id, min(depth) AS depth FROM walk GROUP BY id
"""
LINEAGE_DOWNSTREAM = """
WITH RECURSIVE walk(id, depth) AS (
    SELECT ?, 0
    UNION
    SELECT l.downstream_id, w.depth + 1
    FROM walk w JOIN lineage l ON l.upstream_id = w.id
    JOIN datasets d ON d.id = l.downstream_id AND d.deleted_at IS NULL
    WHERE w.depth < ?
)
SELECT id, min(depth) AS depth FROM walk GROUP BY id
"""


def lineage_edges_among(n: int) -> str:
    return ("SELECT downstream_id, upstream_id, transformation, job, created_at FROM lineage "
            f"WHERE downstream_id IN ({marks(n)}) AND upstream_id IN ({marks(n)})")


# --- search ---------------------------------------------------------------------------------
# what helpers._reindex writes a dataset's full-text row from; the set form (a JSON array of
# dataset ids) in rowid order, the order FTS5 appends rows in without flushing a segment
DATASET_FOR_REINDEX = f"SELECT d.rid, {DATASET_COLS} FROM datasets d WHERE d.id = ?"
DATASETS_FOR_REINDEX = (f"SELECT d.rid, {DATASET_COLS} FROM datasets d "
                        "WHERE d.id IN (SELECT value FROM json_each(?)) ORDER BY d.rid")
FTS_DELETE = "DELETE FROM dataset_fts WHERE rowid = ?"
# FTS5's 'optimize' command: every segment merged into one (store.compact_search_index)
FTS_OPTIMIZE = "INSERT INTO dataset_fts (dataset_fts) VALUES ('optimize')"
FTS_INSERT = ("INSERT INTO dataset_fts (rowid, namespace, name, description, tags, fields) "
              "VALUES (?, ?, ?, ?, ?, ?)")
# bm25 column weights: namespace, name, description, tags, fields
# Parameters: ?1 the FTS query, ?2 first, ?3 offset, ?4 the window's first rowid. Every match
# in the window is scored with bm25 (unavoidable), but only the ?2 + ?3 best of those plain
# scores are joined to `datasets` for their layer before the cut-off: a raw dataset's score is
# its bm25 scaled towards 0 by RAW_SEARCH_WEIGHT (bm25 is negative, lower is better), so a
# final score is never better than its plain one, and the worst final score among those
# ?2 + ?3 rows bounds the page's last one. Only matches whose plain score reaches that bound
# are joined, weighted and sorted (with the namespace/name tie-break). Same rows, same order
# as weighting every match first (tests/test_sqlite_search_window.py holds the two equal);
# ~25% less CPU for a term matching a third of a 100k catalog (bench/backends_scale.py).
assert 0 < RAW_SEARCH_WEIGHT <= 1   # what the bound above rests on
_LAYER_WEIGHT = f"(CASE d.layer WHEN 'raw' THEN {RAW_SEARCH_WEIGHT} ELSE 1.0 END)"
SEARCH = f"""WITH hits AS (
    SELECT rowid AS rid, bm25(dataset_fts, 2.0, 10.0, 3.0, 5.0, 2.0) AS plain
    FROM dataset_fts WHERE dataset_fts MATCH ?1 AND rowid >= ?4
), best AS (
    SELECT h.plain * {_LAYER_WEIGHT} AS score
    FROM (SELECT rid, plain FROM hits ORDER BY plain LIMIT ?2 + ?3) h
    JOIN datasets d ON d.rid = h.rid WHERE d.deleted_at IS NULL
)
SELECT {DATASET_COLS}, hits.plain * {_LAYER_WEIGHT} AS score
FROM hits JOIN datasets d ON d.rid = hits.rid
WHERE hits.plain <= coalesce((SELECT max(score) FROM best
                              WHERE (SELECT count(*) FROM best) >= ?2 + ?3), 1e308)
  AND d.deleted_at IS NULL
ORDER BY score, d.namespace, d.name LIMIT ?2 OFFSET ?3"""
# dataset_fts holds exactly one row per live dataset (helpers._reindex drops deleted ones), so the
# count needs no join: a broad term over 100k datasets costs ~1 ms instead of ~10 ms
SEARCH_COUNT = "SELECT count(*) FROM dataset_fts WHERE dataset_fts MATCH ?"
# For a broad query, the rowid of the SEARCH_WINDOW-th most recent match: only matches from
# there on are scored. FTS5 walks its doclist in rowid order, so this costs ~2 ms where
# scoring every one of 35,000 matches with bm25 costs ~30 ms (bench/catalog_100k.py).
SEARCH_WINDOW_START = ("SELECT rowid FROM dataset_fts WHERE dataset_fts MATCH ? "
                       "ORDER BY rowid DESC LIMIT 1 OFFSET ?")

# --- embeddings (semantic search; server/storage/sqlite/embeddings.py) -----------------------
EMBEDDING_QUEUE = "INSERT OR REPLACE INTO embedding_queue (rid, ticket) VALUES (?, ?)"
EMBEDDING_UNQUEUE = "DELETE FROM embedding_queue WHERE rid = ?"
EMBEDDING_MODEL = "SELECT model, dimensions, generation FROM embedding_model WHERE id = 1"
EMBEDDING_SET_MODEL = ("INSERT INTO embedding_model (id, model, dimensions, generation) "
                       "VALUES (1, ?1, ?2, 1) ON CONFLICT (id) DO UPDATE SET model = ?1, "
                       "dimensions = ?2, generation = generation + 1")
EMBEDDING_DROP_ALL = "DELETE FROM dataset_embeddings"
EMBEDDING_QUEUE_ALL = ("INSERT OR REPLACE INTO embedding_queue (rid, ticket) "
                       "SELECT rid, lower(hex(randomblob(16))) FROM datasets "
                       "WHERE deleted_at IS NULL")
# CROSS JOIN keeps the (usually empty) queue the outer loop: with a plain JOIN the planner may
# walk all of `datasets` first, ~8 ms per search at 100k datasets
EMBEDDING_PENDING = """SELECT q.ticket, d.rid, d.id, d.namespace, d.name, d.description
FROM embedding_queue q CROSS JOIN datasets d ON d.rid = q.rid
WHERE d.deleted_at IS NULL LIMIT ?"""
EMBEDDING_TICKET = ("SELECT q.rid FROM embedding_queue q JOIN datasets d ON d.rid = q.rid "
                    "WHERE d.id = ? AND q.ticket = ? AND d.deleted_at IS NULL")
EMBEDDING_NEXT_SEQ = "SELECT coalesce(max(seq), 0) + 1 FROM dataset_embeddings"
EMBEDDING_UPSERT = "INSERT OR REPLACE INTO dataset_embeddings (rid, seq, vector) VALUES (?, ?, ?)"
EMBEDDING_STATE = "SELECT coalesce(max(seq), 0) FROM dataset_embeddings"
EMBEDDING_SINCE = "SELECT rid, vector FROM dataset_embeddings WHERE seq > ? ORDER BY seq"


def live_datasets_by_rids(n: int) -> str:
    return (f"SELECT d.rid, {DATASET_COLS} FROM datasets d "
            f"WHERE d.rid IN ({marks(n)}) AND d.deleted_at IS NULL")


# --- audit ----------------------------------------------------------------------------------
AUDIT_COLS = "id, at, actor, action, target_kind, target_id, detail, request_id"
AUDIT_INSERT = ("INSERT INTO audit (at, actor, action, target_kind, target_id, detail, "
                "request_id) VALUES (?, ?, ?, ?, ?, ?, ?)")
AUDIT_BY_ID = f"SELECT {AUDIT_COLS} FROM audit WHERE id = ?"
AUDIT_LIST = (f"SELECT {AUDIT_COLS} FROM audit "
              "WHERE (? IS NULL OR target_id = ?) ORDER BY id DESC LIMIT ?")

# --- whole-catalog export/import (peso migrate; see server/storage/transfer.py) -------------
IS_EMPTY = ("SELECT NOT EXISTS (SELECT 1 FROM sources UNION ALL SELECT 1 FROM datasets "
            "UNION ALL SELECT 1 FROM entities UNION ALL SELECT 1 FROM audit "
            "UNION ALL SELECT 1 FROM jobs UNION ALL SELECT 1 FROM lineage_events)")
EXPORT_SOURCES = f"SELECT {SOURCE_COLS} FROM sources s ORDER BY s.id"
EXPORT_ENTITIES = f"SELECT {ENTITY_COLS} FROM entities e ORDER BY e.id"
EXPORT_DATASETS = f"SELECT {DATASET_COLS} FROM datasets d ORDER BY d.id"
EXPORT_VERSIONS = f"SELECT {VERSION_COLS} FROM versions v ORDER BY v.dataset_id, v.version"
EXPORT_FIELDS = ("SELECT id, version_id, position, name, arrow_type, nullable, description, "
                 "metadata, semantic_type, pii, stats FROM fields ORDER BY version_id, position")
EXPORT_LINKS = ("SELECT dataset_id, entity_id, role FROM dataset_entities "
                "ORDER BY dataset_id, entity_id")
EXPORT_TAGS = "SELECT dataset_id, tag, created_at FROM tags ORDER BY dataset_id, tag"
EXPORT_OWNERS = "SELECT dataset_id, name, kind, email FROM owners ORDER BY dataset_id, name"
EXPORT_LINEAGE = ("SELECT downstream_id, upstream_id, transformation, job, created_at, "
                  "job_id, run_id FROM lineage ORDER BY downstream_id, upstream_id")
EXPORT_AUDIT = f"SELECT {AUDIT_COLS} FROM audit ORDER BY id"
# Imports keep ids and timestamps and skip what is already there (by identity only: a clash on
# another unique column, e.g. a source name under another id, raises). rowcount says which.
IMPORT_SOURCE = ("INSERT INTO sources (id, name, kind, url, license, description, created_at, "
                 "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")
IMPORT_ENTITY = ("INSERT INTO entities (id, kind, name, is_human, description, identifiers, "
                 "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")
IMPORT_DATASET = ("INSERT INTO datasets (id, namespace, name, layer, description, source_id, "
                  "created_at, updated_at, deleted_at, contract) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")
IMPORT_VERSION = ("INSERT INTO versions (id, dataset_id, version, content_hash, row_count, "
                  "byte_size, raw_key, curated_key, format, created_at, created_by, quality, "
                  "changes, quarantine_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT (id) DO NOTHING")
IMPORT_FIELD = ("INSERT INTO fields (id, version_id, position, name, arrow_type, nullable, "
                "description, metadata, semantic_type, pii, stats) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")
IMPORT_LINK = ("INSERT INTO dataset_entities (dataset_id, entity_id, role) VALUES (?, ?, ?) "
               "ON CONFLICT (dataset_id, entity_id) DO NOTHING")
IMPORT_TAG = ("INSERT INTO tags (dataset_id, tag, created_at) VALUES (?, ?, ?) "
              "ON CONFLICT (dataset_id, tag) DO NOTHING")
IMPORT_OWNER = ("INSERT INTO owners (dataset_id, name, kind, email) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (dataset_id, name) DO NOTHING")
IMPORT_LINEAGE = ("INSERT INTO lineage (downstream_id, upstream_id, transformation, job, "
                  "created_at, job_id, run_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT (downstream_id, upstream_id) DO NOTHING")
IMPORT_AUDIT = ("INSERT INTO audit (id, at, actor, action, target_kind, target_id, detail, "
                "request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")
# an audit event is identified by its content (its id is a local sequence number)
AUDIT_FIND = ("SELECT id FROM audit WHERE target_id = ? AND at = ? AND actor = ? AND action = ? "
              "AND target_kind = ? AND detail = ?")
# after an import: point each touched dataset at its newest version (timestamps untouched)
DATASET_REFRESH_LATEST = ("UPDATE datasets SET latest_version_id = (SELECT v.id FROM versions v "
                          "WHERE v.dataset_id = datasets.id ORDER BY v.version DESC LIMIT 1) "
                          "WHERE id = ?")
