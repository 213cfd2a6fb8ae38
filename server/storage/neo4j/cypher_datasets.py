"""Cypher of datasets, their listing (the filters and the ``dataset_page``/``dataset_count``
builders), full-text search and the audit trail. Re-exported by ``cypher.py``, whose rules
apply.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.models import DatasetSort

# --- datasets ------------------------------------------------------------------------------
# Every dataset read returns the node's properties plus source_id from its FROM_SOURCE edge.
DATASET_BY_KEY = """
MATCH (d:Dataset {natural_key: $natural_key})
OPTIONAL MATCH (d)-[:FROM_SOURCE]->(s:Source)
RETURN d {.*, source_id: s.id} AS d
"""
DATASETS_BY_IDS = """
MATCH (d:Dataset) WHERE d.id IN $ids
OPTIONAL MATCH (d)-[:FROM_SOURCE]->(s:Source)
RETURN d {.*, source_id: s.id,
          created_at: [d.created_at.epochSeconds, d.created_at.nanosecond],
          updated_at: [d.updated_at.epochSeconds, d.updated_at.nanosecond],
          deleted_at: CASE WHEN d.deleted_at IS NULL THEN null
                      ELSE [d.deleted_at.epochSeconds, d.deleted_at.nanosecond] END} AS d
"""
DATASET_CREATE = """
CREATE (d:Dataset {id: $id, natural_key: $natural_key, namespace: $namespace, name: $name,
                   layer: $layer, description: $description, created_at: datetime($now),
                   updated_at: datetime($now)})
"""
# Point the dataset at a (new) source: drop the old FROM_SOURCE edge, make the new one.
DATASET_SET_SOURCE = """
MATCH (d:Dataset {id: $id}), (s:Source {id: $source_id})
OPTIONAL MATCH (d)-[old:FROM_SOURCE]->(:Source)
DELETE old
MERGE (d)-[:FROM_SOURCE]->(s)
SET d.updated_at = datetime($now)
"""
DATASET_SET_DESCRIPTION = """
MATCH (d:Dataset {id: $id}) SET d.description = $description, d.updated_at = datetime($now)
"""
DATASET_UNDELETE = """
MATCH (d:Dataset {id: $id}) SET d.deleted_at = null, d.updated_at = datetime($now)
"""
DATASET_DELETE = """
MATCH (d:Dataset {id: $id}) SET d.deleted_at = datetime($now), d.updated_at = datetime($now)
"""
# the validation contract a load brings (JSON text)
DATASET_SET_CONTRACT = """
MATCH (d:Dataset {id: $id}) SET d.contract = $contract, d.updated_at = datetime($now)
"""
DATASET_SET_LATEST = """
MATCH (d:Dataset {id: $id}) SET d.latest_version_id = $version_id, d.updated_at = datetime($now)
"""
# Take the dataset's write lock for the rest of the transaction (set and remove a dummy
# property: the documented Cypher idiom), so two concurrent registrations of the same dataset
# cannot both read "latest is N" and both create version N+1.
DATASET_LOCK = "MATCH (d:Dataset {id: $id}) SET d._lock = true REMOVE d._lock"
# What the full-text properties are made of: names, description, tags, latest field names.
DATASET_SEARCH_INPUTS = """
MATCH (d:Dataset {id: $id})
OPTIONAL MATCH (d)-[:TAGGED]->(t:Tag)
WITH d, t.name AS tag ORDER BY tag
WITH d, collect(tag) AS tags
OPTIONAL MATCH (:DatasetVersion {id: d.latest_version_id})-[:HAS_FIELD]->(f:Field)
WITH d, tags, f ORDER BY f.position
RETURN d.namespace AS namespace, d.name AS name, d.description AS description, tags,
       collect(f.name) AS fields
"""
DATASET_SET_SEARCH = """
MATCH (d:Dataset {id: $id})
SET d.search_namespace = $namespace, d.search_name = $name, d.search_description = $description,
    d.search_tags = $tags, d.search_fields = $fields, d.search_key = [d.layer, d.namespace, d.name]
"""

# The filters of list_datasets: live datasets, and each filter given (by name: the closed
# set below, values always parameters). Only the filters asked for are in the statement, so
# an unfiltered page can be read in index order instead of filtering and sorting every
# dataset (``$x IS NULL OR …`` kept the planner off the indexes: 2.5 s a page at 1M).
DATASET_FILTERS = {
    "namespace": "d.namespace = $namespace",
    "layer": "d.layer = $layer",
    "source": "EXISTS { MATCH (d)-[:FROM_SOURCE]->(src:Source) WHERE src.name = $source }",
    "tag": "EXISTS { MATCH (d)-[:TAGGED]->(t:Tag) WHERE t.name = $tag }",
    "entity_kind": "EXISTS { MATCH (d)-[:DESCRIBES]->(e:Entity) WHERE e.kind = $entity_kind }",
}
# where the candidates come from: every dataset, or the full-text matches of $text
DATASETS_ALL = "MATCH (d:Dataset)"
DATASETS_BY_TEXT = (
    "CALL db.index.fulltext.queryNodes('peso_dataset_search', $text) YIELD node AS d")
# every live dataset, counted without reading one: the label's count (kept by Neo4j) less
# the deleted ones (found by the peso_dataset_deleted index)
DATASETS_LIVE_COUNT = """
CALL () { MATCH (d:Dataset) RETURN count(d) AS everything }
CALL () { MATCH (d:Dataset) WHERE d.deleted_at IS NOT NULL RETURN count(d) AS deleted }
RETURN everything - deleted AS n
"""

# what a Dataset is made of (records.dataset), without the search_* text a page need not carry
# timestamps as [epochSeconds, nanosecond] (records.ts: the driver's DateTime hydration costs
# ~100 µs a value, three per dataset)
DATASET_MAP = ("d {.id, .namespace, .name, .layer, .description, "
               "created_at: [d.created_at.epochSeconds, d.created_at.nanosecond], "
               "updated_at: [d.updated_at.epochSeconds, d.updated_at.nanosecond], "
               "deleted_at: CASE WHEN d.deleted_at IS NULL THEN null "
               "ELSE [d.deleted_at.epochSeconds, d.deleted_at.nanosecond] END, "
               ".contract, source_id: s.id}")

# --- search --------------------------------------------------------------------------------
# $query is a Lucene query built by records.lucene_query from escaped words, never raw input.
# Only live datasets are in the index (base.reindex clears a deleted dataset's search_*
# properties). Neo4j's procedure hands over every match, and reading properties of each is
# what made a broad term slow (a term matching 340,000 of 1,000,000 datasets ran past the
# 30 s query timeout): so $window (SEARCH_WINDOW) best-scoring matches are taken from the
# index — all of them when fewer match — and only those are weighted and ordered by
# (score, namespace, name); the count reads no property at all. Each read of one property of
# 5,000 nodes costs ~5 ms, so the window reads ONE: search_key, [layer, namespace, name],
# written beside the search_* text (tiktok, 12,500 matches of 100k: 18.1 -> 11.1 ms; a
# fallback to the node's own properties for a missing key costs most of that back, as the
# planner reads every property an expression names). Every writer of search_* writes it
# (tests/test_neo4j_search_index.py) and open() backfills an older catalog; a node without
# it would still be found and counted, only weighted 1.0 and tie-broken last. The
# deleted_at check runs on the page only: the index holds live datasets alone (above), so it
# is a safety net that costs 20 reads, not 5,000. The answer carries what a
# Dataset is made of (DATASET_MAP: timestamps as [epochSeconds, nanosecond], ~5 ms less for
# 20 hits), not the search_* text (100 hits of `{.*}` cost ~10 ms more).
# The count (every match, no property read) and the page in ONE statement, one round trip:
# ONE row, hits (a list of [dataset map, score] in order) and total.
SEARCH = """
CALL () {
  CALL db.index.fulltext.queryNodes('peso_dataset_search', $query) YIELD node
  RETURN count(node) AS total
}
CALL () {
  CALL db.index.fulltext.queryNodes('peso_dataset_search', $query, {limit: $window})
  YIELD node, score
  WITH node AS d, score, node.search_key AS k
  WITH d, k, score * CASE k[0] WHEN $raw_layer THEN $raw_weight ELSE 1.0 END AS score
  ORDER BY score DESC, k[1], k[2] SKIP $offset LIMIT $limit
  WITH d, score WHERE d.deleted_at IS NULL
  OPTIONAL MATCH (d)-[:FROM_SOURCE]->(s:Source)
  WITH d, s, score ORDER BY score DESC, d.namespace, d.name
  RETURN collect([""" + DATASET_MAP + """, score]) AS hits
}
RETURN hits, total
"""
# search_key (SEARCH's sort key) of every indexed dataset that has none: what a catalog from
# before search_key needs, once (SEARCH_KEY_DONE's marker then skips it at open)
SEARCH_KEY_DONE = "MATCH (c:Counter {name: 'search-key'}) RETURN c.value AS done"
SEARCH_KEY_BACKFILL = """
MATCH (d:Dataset) WHERE d.search_name IS NOT NULL AND d.search_key IS NULL
CALL (d) { SET d.search_key = [d.layer, d.namespace, d.name] } IN TRANSACTIONS OF 10000 ROWS
"""
SEARCH_KEY_MARK = "MERGE (c:Counter {name: 'search-key'}) ON CREATE SET c.value = 1"
# a deleted dataset leaves the index (its search_* properties are what the index reads)
DATASET_CLEAR_SEARCH = """
MATCH (d:Dataset {id: $id})
SET d.search_namespace = null, d.search_name = null, d.search_description = null,
    d.search_tags = null, d.search_fields = null, d.search_key = null
"""
# at open: datasets deleted before deleted datasets left the index (peso_dataset_deleted finds
# them without a scan)
DELETED_OUT_OF_SEARCH = """
MATCH (d:Dataset) WHERE d.deleted_at IS NOT NULL AND d.search_name IS NOT NULL
SET d.search_namespace = null, d.search_name = null, d.search_description = null,
    d.search_tags = null, d.search_fields = null, d.search_key = null
"""

# --- audit ---------------------------------------------------------------------------------
# Next id from the counter node (its write lock orders concurrent writers), then the event.
# $at: ISO text (base.iso), stored as a DateTime
AUDIT_APPEND = """
MERGE (c:Counter {name: 'audit'})
ON CREATE SET c.value = 0
SET c.value = c.value + 1
CREATE (a:AuditEvent {id: c.value, at: datetime($at), actor: $actor, action: $action,
                      target_kind: $target_kind, target_id: $target_id, detail: $detail,
                      request_id: $request_id})
RETURN a {.*} AS a
"""
# several events at once, in list order, with consecutive ids (one round trip for the audit
# trail of an OpenLineage event; $events: maps with the parameters of AUDIT_APPEND)
AUDIT_APPEND_MANY = """
MERGE (c:Counter {name: 'audit'})
ON CREATE SET c.value = 0
SET c.value = c.value + size($events)
WITH c.value - size($events) AS base, $events AS events
UNWIND range(0, size(events) - 1) AS i
WITH base + i + 1 AS id, events[i] AS e
CREATE (:AuditEvent {id: id, at: datetime(e.at), actor: e.actor, action: e.action,
                     target_kind: e.target_kind, target_id: e.target_id, detail: e.detail,
                     request_id: e.request_id})
"""
AUDIT_LIST = """
MATCH (a:AuditEvent) WHERE $target_id IS NULL OR a.target_id = $target_id
RETURN a {.*} AS a ORDER BY a.id DESC LIMIT $limit
"""
# a follower's page: the events after $after_id, oldest first (catalogEvents)
AUDIT_AFTER = """
MATCH (a:AuditEvent) WHERE a.id > $after_id AND ($target_id IS NULL OR a.target_id = $target_id)
RETURN a {.*} AS a ORDER BY a.id LIMIT $limit
"""


# --- builders: the only formatted Cypher, from closed maps and validated ints ---------------
# keyset columns per sort order (the cursor is [a, b], as in the SQLite store)
SORT_COLUMNS: dict[DatasetSort, tuple[str, str]] = {
    DatasetSort.NAME: ("d.namespace", "d.name"),
    DatasetSort.CREATED_AT: ("d.created_at", "d.id"),
    DatasetSort.UPDATED_AT: ("d.updated_at", "d.id"),
}


# always true (the sort columns are required), these let the planner read the page from the
# sort's index in order (a composite index needs both its properties named)
INDEX_ORDER: dict[DatasetSort, str] = {
    DatasetSort.NAME: "d.namespace IS NOT NULL AND d.name IS NOT NULL",
    DatasetSort.CREATED_AT: "d.created_at IS NOT NULL",
    DatasetSort.UPDATED_AT: "d.updated_at IS NOT NULL",
}


def _where(filters: Sequence[str], extra: Sequence[str] = ()) -> str:
    unknown = set(filters) - DATASET_FILTERS.keys()
    if unknown:
        raise ValueError("unknown dataset filters", sorted(unknown))
    return "WHERE " + "\n  AND ".join(["d.deleted_at IS NULL", *extra,
                                        *(DATASET_FILTERS[f] for f in filters)]) + "\n"


def dataset_page(sort: DatasetSort, descending: bool, *, text: bool, with_cursor: bool,
                 filters: Sequence[str] = ()) -> str:
    """One page of list_datasets: filter, keyset after ($after_a, $after_b), order, limit.
    Without full text, ``INDEX_ORDER`` and the keyset as a range on ``a`` let Neo4j walk the
    sort's index in order and stop at the page's end."""
    a, b = SORT_COLUMNS[sort]
    op, order = ("<", "DESC") if descending else (">", "ASC")
    extra = [] if text else [INDEX_ORDER[sort]]
    if with_cursor:
        extra.append(f"{a} {op}= $after_a AND ({a} {op} $after_a OR {b} {op} $after_b)")
    return (f"{DATASETS_BY_TEXT if text else DATASETS_ALL}\n"
            f"{_where(filters, extra)}"
            f"WITH d ORDER BY {a} {order}, {b} {order} LIMIT $limit\n"
            "OPTIONAL MATCH (d)-[:FROM_SOURCE]->(s:Source)\n"
            f"WITH d, s ORDER BY {a} {order}, {b} {order}\n"
            f"RETURN collect({DATASET_MAP}) AS found\n")   # one record (base.listed)


def dataset_count(*, text: bool, filters: Sequence[str] = ()) -> str:
    """How many datasets pass the filters (no keyset)."""
    if not text and not filters:
        return DATASETS_LIVE_COUNT
    return (f"{DATASETS_BY_TEXT if text else DATASETS_ALL}\n"
            f"{_where(filters)}RETURN count(d) AS n\n")
