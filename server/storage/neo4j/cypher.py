"""All Cypher of the Neo4j graph store, each statement commented.

Rules (checked by tests/test_neo4j_cypher.py without a server):
- values only ever travel as ``$parameters``; the text below is constant;
- labels and relationship types are members of the closed enums ``Label`` and ``Rel``;
- the only text ever formatted in comes from the closed maps in the builders at the bottom
  (sort columns and directions keyed by ``DatasetSort``) or is a lineage depth that
  ``validate_depth`` has proved to be an int in 1..max.

The graph (relationships stored in one direction only):

    (:Dataset)-[:HAS_VERSION]->(:DatasetVersion)-[:HAS_FIELD]->(:Field)
    (:Dataset)-[:FROM_SOURCE]->(:Source)
    (:Dataset)-[:DESCRIBES {role}]->(:Entity)
    (:Dataset)-[:TAGGED {created_at}]->(:Tag)
    (:Dataset)-[:OWNED_BY {kind, email}]->(:Owner)
    (downstream:Dataset)-[:DERIVED_FROM {transformation, job, created_at}]->(upstream:Dataset)
    (:AuditEvent {id, at, actor, action, target_kind, target_id, detail, request_id})
    (:Counter {name: 'audit', value})                                       audit id sequence

Natural keys are stored as one property so that a single-property uniqueness constraint
(available in every edition) guards them: ``Dataset.natural_key = namespace + '/' + name``
(or ``["namespace","name"]`` for an OpenLineage namespace holding '/': records.dataset_key),
``Entity.natural_key = kind + ':' + name`` (kinds contain no ':').
Maps (identifiers, field metadata and stats, contracts, quality reports, audit detail) are
stored as JSON text. Timestamps are native DateTime (UTC).
"""

from __future__ import annotations

import enum

from server.errors import ValidationError
from server.models import DatasetSort, Direction


class Label(enum.StrEnum):
    SOURCE = "Source"
    DATASET = "Dataset"
    VERSION = "DatasetVersion"
    FIELD = "Field"
    ENTITY = "Entity"
    TAG = "Tag"
    OWNER = "Owner"
    AUDIT = "AuditEvent"
    API_TOKEN = "ApiToken"  # noqa: S105 - a node label, not a secret
    COUNTER = "Counter"


class Rel(enum.StrEnum):
    HAS_VERSION = "HAS_VERSION"
    HAS_FIELD = "HAS_FIELD"
    FROM_SOURCE = "FROM_SOURCE"
    DESCRIBES = "DESCRIBES"
    TAGGED = "TAGGED"
    OWNED_BY = "OWNED_BY"
    DERIVED_FROM = "DERIVED_FROM"


SEARCH_INDEX = "peso_dataset_search"

# --- schema: run once per open(); every statement is idempotent ----------------------------
SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT peso_source_id IF NOT EXISTS FOR (s:Source) REQUIRE s.id IS UNIQUE",
    "CREATE CONSTRAINT peso_source_name IF NOT EXISTS FOR (s:Source) REQUIRE s.name IS UNIQUE",
    "CREATE CONSTRAINT peso_dataset_id IF NOT EXISTS FOR (d:Dataset) REQUIRE d.id IS UNIQUE",
    "CREATE CONSTRAINT peso_dataset_key IF NOT EXISTS "
    "FOR (d:Dataset) REQUIRE d.natural_key IS UNIQUE",
    "CREATE CONSTRAINT peso_version_id IF NOT EXISTS "
    "FOR (v:DatasetVersion) REQUIRE v.id IS UNIQUE",
    "CREATE CONSTRAINT peso_field_id IF NOT EXISTS FOR (f:Field) REQUIRE f.id IS UNIQUE",
    "CREATE CONSTRAINT peso_entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE",
    "CREATE CONSTRAINT peso_entity_key IF NOT EXISTS "
    "FOR (e:Entity) REQUIRE e.natural_key IS UNIQUE",
    "CREATE CONSTRAINT peso_tag_name IF NOT EXISTS FOR (t:Tag) REQUIRE t.name IS UNIQUE",
    "CREATE CONSTRAINT peso_owner_name IF NOT EXISTS FOR (o:Owner) REQUIRE o.name IS UNIQUE",
    "CREATE CONSTRAINT peso_audit_id IF NOT EXISTS FOR (a:AuditEvent) REQUIRE a.id IS UNIQUE",
    "CREATE CONSTRAINT peso_counter_name IF NOT EXISTS FOR (c:Counter) REQUIRE c.name IS UNIQUE",
    # sort orders of list_datasets / list_entities, and the audit trail of one target
    "CREATE INDEX peso_dataset_name IF NOT EXISTS FOR (d:Dataset) ON (d.namespace, d.name)",
    "CREATE INDEX peso_dataset_created IF NOT EXISTS FOR (d:Dataset) ON (d.created_at)",
    "CREATE INDEX peso_dataset_updated IF NOT EXISTS FOR (d:Dataset) ON (d.updated_at)",
    "CREATE INDEX peso_entity_name IF NOT EXISTS FOR (e:Entity) ON (e.name)",
    "CREATE INDEX peso_audit_target IF NOT EXISTS FOR (a:AuditEvent) ON (a.target_id)",
    # API tokens and the admin's audit-log filters (server/storage/neo4j/security.py)
    "CREATE CONSTRAINT peso_token_id IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.id IS UNIQUE",
    "CREATE CONSTRAINT peso_token_name IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.name IS UNIQUE",
    "CREATE INDEX peso_audit_actor IF NOT EXISTS FOR (a:AuditEvent) ON (a.actor)",
    "CREATE INDEX peso_audit_action IF NOT EXISTS FOR (a:AuditEvent) ON (a.action)",
    # full-text search over the denormalised search_* properties (words split on anything
    # that is not a letter or digit, so 'ads_spend' finds 'spend'); updated at commit
    "CREATE FULLTEXT INDEX peso_dataset_search IF NOT EXISTS FOR (d:Dataset) ON EACH "
    "[d.search_namespace, d.search_name, d.search_description, d.search_tags, d.search_fields] "
    "OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words', "
    "`fulltext.eventually_consistent`: false}}",
)
# wait until the indexes above are online (a new full-text index is populated in the background)
AWAIT_INDEXES = "CALL db.awaitIndexes($seconds)"
PING = "RETURN 1 AS ok"

# --- sources -------------------------------------------------------------------------------
SOURCE_BY_NAME = "MATCH (s:Source {name: $name}) RETURN s {.*} AS s"
SOURCES_BY_IDS = "MATCH (s:Source) WHERE s.id IN $ids RETURN s {.*} AS s"
SOURCE_CREATE = """
CREATE (s:Source {id: $id, name: $name, kind: $kind, url: $url, license: $license,
                  description: $description, created_at: $now, updated_at: $now})
"""
SOURCE_UPDATE = """
MATCH (s:Source {id: $id})
SET s.kind = $kind, s.url = $url, s.license = $license, s.description = $description,
    s.updated_at = $now
"""
# keyset page by (name, id); $after_name IS NULL on the first page
SOURCE_PAGE = """
MATCH (s:Source)
WHERE $after_name IS NULL OR s.name > $after_name OR (s.name = $after_name AND s.id > $after_id)
RETURN s {.*} AS s ORDER BY s.name, s.id LIMIT $limit
"""
SOURCE_COUNT = "MATCH (s:Source) RETURN count(s) AS n"

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
RETURN d {.*, source_id: s.id} AS d
"""
DATASET_CREATE = """
CREATE (d:Dataset {id: $id, natural_key: $natural_key, namespace: $namespace, name: $name,
                   layer: $layer, description: $description, created_at: $now,
                   updated_at: $now})
"""
# Point the dataset at a (new) source: drop the old FROM_SOURCE edge, make the new one.
DATASET_SET_SOURCE = """
MATCH (d:Dataset {id: $id}), (s:Source {id: $source_id})
OPTIONAL MATCH (d)-[old:FROM_SOURCE]->(:Source)
DELETE old
MERGE (d)-[:FROM_SOURCE]->(s)
SET d.updated_at = $now
"""
DATASET_SET_DESCRIPTION = """
MATCH (d:Dataset {id: $id}) SET d.description = $description, d.updated_at = $now
"""
DATASET_UNDELETE = "MATCH (d:Dataset {id: $id}) SET d.deleted_at = null, d.updated_at = $now"
DATASET_DELETE = "MATCH (d:Dataset {id: $id}) SET d.deleted_at = $now, d.updated_at = $now"
# the validation contract a load brings (JSON text)
DATASET_SET_CONTRACT = """
MATCH (d:Dataset {id: $id}) SET d.contract = $contract, d.updated_at = $now
"""
DATASET_SET_LATEST = """
MATCH (d:Dataset {id: $id}) SET d.latest_version_id = $version_id, d.updated_at = $now
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
    d.search_tags = $tags, d.search_fields = $fields
"""

# The filters of list_datasets; a NULL parameter switches its filter off. Live datasets only.
DATASET_FILTER = """
d.deleted_at IS NULL
AND ($namespace IS NULL OR d.namespace = $namespace)
AND ($layer IS NULL OR d.layer = $layer)
AND ($source IS NULL OR EXISTS { MATCH (d)-[:FROM_SOURCE]->(src:Source) WHERE src.name = $source })
AND ($tag IS NULL OR EXISTS { MATCH (d)-[:TAGGED]->(t:Tag) WHERE t.name = $tag })
AND ($entity_kind IS NULL
     OR EXISTS { MATCH (d)-[:DESCRIBES]->(e:Entity) WHERE e.kind = $entity_kind })
"""
# where the candidates come from: every dataset, or the full-text matches of $text
DATASETS_ALL = "MATCH (d:Dataset)"
DATASETS_BY_TEXT = (
    "CALL db.index.fulltext.queryNodes('peso_dataset_search', $text) YIELD node AS d")

# --- versions and fields -------------------------------------------------------------------
# The newest version of a dataset (by number: the truth that latest_version_id caches).
VERSION_LATEST_OF = """
MATCH (d:Dataset {id: $id})-[:HAS_VERSION]->(v:DatasetVersion)
RETURN v {.*, dataset_id: d.id} AS v ORDER BY v.version DESC LIMIT 1
"""
VERSION_CREATE = """
MATCH (d:Dataset {id: $dataset_id})
CREATE (d)-[:HAS_VERSION]->(v:DatasetVersion {
    id: $id, version: $version, content_hash: $content_hash, row_count: $row_count,
    byte_size: $byte_size, raw_key: $raw_key, curated_key: $curated_key, format: $format,
    created_at: $now, created_by: $created_by, quality: $quality, changes: $changes,
    quarantine_key: $quarantine_key})
"""
# $fields: [{id, position, name, arrow_type, nullable, description, metadata, semantic_type,
#            pii, stats}] (metadata and stats as JSON text)
FIELDS_CREATE = """
MATCH (v:DatasetVersion {id: $version_id})
UNWIND $fields AS f
CREATE (v)-[:HAS_FIELD]->(:Field {id: f.id, position: f.position, name: f.name,
                                  arrow_type: f.arrow_type, nullable: f.nullable,
                                  description: f.description, metadata: f.metadata,
                                  semantic_type: f.semantic_type, pii: f.pii, stats: f.stats})
"""
VERSIONS_BY_IDS = """
MATCH (d:Dataset)-[:HAS_VERSION]->(v:DatasetVersion) WHERE v.id IN $ids
RETURN v {.*, dataset_id: d.id} AS v
"""
VERSIONS_OF_DATASETS = """
MATCH (d:Dataset)-[:HAS_VERSION]->(v:DatasetVersion) WHERE d.id IN $ids
RETURN v {.*, dataset_id: d.id} AS v ORDER BY v.version DESC
"""
LATEST_VERSIONS_OF_DATASETS = """
MATCH (d:Dataset) WHERE d.id IN $ids
MATCH (d)-[:HAS_VERSION]->(v:DatasetVersion {id: d.latest_version_id})
RETURN v {.*, dataset_id: d.id} AS v
"""
FIELDS_OF_VERSIONS = """
MATCH (v:DatasetVersion)-[:HAS_FIELD]->(f:Field) WHERE v.id IN $ids
RETURN f {.*, version_id: v.id} AS f ORDER BY f.position
"""

# --- entities ------------------------------------------------------------------------------
ENTITY_BY_KEY = "MATCH (e:Entity {natural_key: $natural_key}) RETURN e {.*} AS e"
ENTITIES_BY_IDS = "MATCH (e:Entity) WHERE e.id IN $ids RETURN e {.*} AS e"
ENTITY_CREATE = """
CREATE (e:Entity {id: $id, natural_key: $natural_key, kind: $kind, name: $name, is_human: $is_human,
                  description: $description, identifiers: $identifiers, created_at: $now})
"""
ENTITY_UPDATE = """
MATCH (e:Entity {id: $id}) SET e.description = $description, e.identifiers = $identifiers
"""
# keyset page by (name, id), optionally of one kind and/or humanness
ENTITY_PAGE = """
MATCH (e:Entity)
WHERE ($kind IS NULL OR e.kind = $kind) AND ($is_human IS NULL OR e.is_human = $is_human)
  AND ($after_name IS NULL OR e.name > $after_name
       OR (e.name = $after_name AND e.id > $after_id))
RETURN e {.*} AS e ORDER BY e.name, e.id LIMIT $limit
"""
ENTITY_COUNT = """
MATCH (e:Entity)
WHERE ($kind IS NULL OR e.kind = $kind) AND ($is_human IS NULL OR e.is_human = $is_human)
RETURN count(e) AS n
"""
LINK_GET = """
MATCH (:Dataset {id: $dataset_id})-[r:DESCRIBES]->(:Entity {id: $entity_id})
RETURN r.role AS role
"""
LINK_UPSERT = """
MATCH (d:Dataset {id: $dataset_id}), (e:Entity {id: $entity_id})
MERGE (d)-[r:DESCRIBES]->(e)
SET r.role = $role
"""
ENTITIES_OF_DATASETS = """
MATCH (d:Dataset)-[r:DESCRIBES]->(e:Entity) WHERE d.id IN $ids
RETURN d.id AS dataset_id, r.role AS role, e {.*} AS e ORDER BY e.kind, e.name
"""

# --- tags and owners -----------------------------------------------------------------------
# Tag a dataset unless it already is; returns how many edges were created (0 or 1).
TAG_ADD = """
MATCH (d:Dataset {id: $id})
MERGE (t:Tag {name: $tag})
WITH d, t WHERE NOT EXISTS { MATCH (d)-[:TAGGED]->(t) }
CREATE (d)-[:TAGGED {created_at: $now}]->(t)
RETURN count(*) AS added
"""
TAG_REMOVE = """
MATCH (:Dataset {id: $id})-[r:TAGGED]->(:Tag {name: $tag})
DELETE r
RETURN count(*) AS removed
"""
TAGS_OF_DATASETS = """
MATCH (d:Dataset)-[:TAGGED]->(t:Tag) WHERE d.id IN $ids
RETURN d.id AS dataset_id, t.name AS tag ORDER BY tag
"""
OWNER_GET = """
MATCH (:Dataset {id: $id})-[r:OWNED_BY]->(:Owner {name: $name})
RETURN r.kind AS kind, r.email AS email
"""
OWNER_UPSERT = """
MATCH (d:Dataset {id: $id})
MERGE (o:Owner {name: $name})
MERGE (d)-[r:OWNED_BY]->(o)
SET r.kind = $kind, r.email = $email
"""
OWNERS_OF_DATASETS = """
MATCH (d:Dataset)-[r:OWNED_BY]->(o:Owner) WHERE d.id IN $ids
RETURN d.id AS dataset_id, o.name AS name, r.kind AS kind, r.email AS email ORDER BY name
"""

# --- lineage -------------------------------------------------------------------------------
LINEAGE_GET = """
MATCH (down:Dataset {id: $down})-[r:DERIVED_FROM]->(up:Dataset {id: $up})
RETURN down.id AS downstream_id, up.id AS upstream_id, r.transformation AS transformation,
       r.job AS job, r.created_at AS created_at
"""
# one edge per pair: created once (keeping its created_at), its job/transformation updated
LINEAGE_UPSERT = """
MATCH (down:Dataset {id: $down}), (up:Dataset {id: $up})
MERGE (down)-[r:DERIVED_FROM]->(up)
ON CREATE SET r.created_at = $now
SET r.transformation = $transformation, r.job = $job
"""
# every DERIVED_FROM edge between two of the reached datasets (diamonds and cycles show whole)
LINEAGE_EDGES_AMONG = """
MATCH (down:Dataset)-[r:DERIVED_FROM]->(up:Dataset) WHERE down.id IN $ids AND up.id IN $ids
RETURN down.id AS downstream_id, up.id AS upstream_id, r.transformation AS transformation,
       r.job AS job, r.created_at AS created_at
"""

# --- search --------------------------------------------------------------------------------
# $query is a Lucene query built by records.lucene_query from escaped words, never raw input.
SEARCH = """
CALL db.index.fulltext.queryNodes('peso_dataset_search', $query) YIELD node, score
WHERE node.deleted_at IS NULL
WITH node AS d, score ORDER BY score DESC, d.namespace, d.name SKIP $offset LIMIT $limit
OPTIONAL MATCH (d)-[:FROM_SOURCE]->(s:Source)
RETURN d {.*, source_id: s.id} AS d, score ORDER BY score DESC, d.namespace, d.name
"""
SEARCH_COUNT = """
CALL db.index.fulltext.queryNodes('peso_dataset_search', $query) YIELD node
WHERE node.deleted_at IS NULL
RETURN count(node) AS n
"""

# --- audit ---------------------------------------------------------------------------------
# Next id from the counter node (its write lock orders concurrent writers), then the event.
AUDIT_APPEND = """
MERGE (c:Counter {name: 'audit'})
ON CREATE SET c.value = 0
SET c.value = c.value + 1
CREATE (a:AuditEvent {id: c.value, at: $at, actor: $actor, action: $action,
                      target_kind: $target_kind, target_id: $target_id, detail: $detail,
                      request_id: $request_id})
RETURN a {.*} AS a
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

# --- whole-catalog export/import (peso migrate; record format in storage/transfer.py) ------
# "empty" means no catalog node at all (an unused Counter does not count)
IS_EMPTY = """
OPTIONAL MATCH (n) WHERE n:Source OR n:Dataset OR n:Entity OR n:AuditEvent
WITH n LIMIT 1
RETURN n IS NULL AS empty
"""
EXPORT_SOURCES = "MATCH (s:Source) RETURN s {.*} AS s ORDER BY s.id"
EXPORT_ENTITIES = "MATCH (e:Entity) RETURN e {.*} AS e ORDER BY e.id"
EXPORT_DATASETS = """
MATCH (d:Dataset) OPTIONAL MATCH (d)-[:FROM_SOURCE]->(s:Source)
RETURN d {.*, source_id: s.id} AS d ORDER BY d.id
"""
EXPORT_VERSIONS = """
MATCH (d:Dataset)-[:HAS_VERSION]->(v:DatasetVersion)
RETURN v {.*, dataset_id: d.id} AS v ORDER BY v.dataset_id, v.version
"""
EXPORT_FIELDS = """
MATCH (v:DatasetVersion)-[:HAS_FIELD]->(f:Field)
RETURN f {.*, version_id: v.id} AS f ORDER BY f.version_id, f.position
"""
EXPORT_LINKS = """
MATCH (d:Dataset)-[r:DESCRIBES]->(e:Entity)
RETURN d.id AS dataset_id, e.id AS entity_id, r.role AS role ORDER BY dataset_id, entity_id
"""
EXPORT_TAGS = """
MATCH (d:Dataset)-[r:TAGGED]->(t:Tag)
RETURN d.id AS dataset_id, t.name AS tag, r.created_at AS created_at ORDER BY dataset_id, tag
"""
EXPORT_OWNERS = """
MATCH (d:Dataset)-[r:OWNED_BY]->(o:Owner)
RETURN d.id AS dataset_id, o.name AS name, r.kind AS kind, r.email AS email
ORDER BY dataset_id, name
"""
EXPORT_LINEAGE = """
MATCH (down:Dataset)-[r:DERIVED_FROM]->(up:Dataset)
RETURN down.id AS downstream_id, up.id AS upstream_id, r.transformation AS transformation,
       r.job AS job, r.created_at AS created_at ORDER BY downstream_id, upstream_id
"""
EXPORT_AUDIT = "MATCH (a:AuditEvent) RETURN a {.*} AS a ORDER BY a.id"

# Imports: $rows is a list of maps prepared by transfer.py (timestamps as DateTime, maps as
# JSON text). Each creates only the rows whose identity is absent and returns the created ids
# (or a count); a clash on another unique property (a source name under another id) raises.
IMPORT_SOURCES = """
UNWIND $rows AS row
OPTIONAL MATCH (old:Source {id: row.id})
WITH row WHERE old IS NULL
CREATE (s:Source {id: row.id, name: row.name, kind: row.kind, url: row.url,
                  license: row.license, description: row.description,
                  created_at: row.created_at, updated_at: row.updated_at})
RETURN count(s) AS created
"""
IMPORT_ENTITIES = """
UNWIND $rows AS row
OPTIONAL MATCH (old:Entity {id: row.id})
WITH row WHERE old IS NULL
CREATE (e:Entity {id: row.id, natural_key: row.natural_key, kind: row.kind, name: row.name,
                  is_human: row.is_human, description: row.description,
                  identifiers: row.identifiers, created_at: row.created_at})
RETURN count(e) AS created
"""
IMPORT_DATASETS = """
UNWIND $rows AS row
OPTIONAL MATCH (old:Dataset {id: row.id})
WITH row WHERE old IS NULL
CREATE (d:Dataset {id: row.id, natural_key: row.natural_key, namespace: row.namespace,
                   name: row.name, layer: row.layer, description: row.description,
                   created_at: row.created_at, updated_at: row.updated_at,
                   deleted_at: row.deleted_at, contract: row.contract})
RETURN collect(d.id) AS created
"""
# for the datasets just created: their FROM_SOURCE edge
IMPORT_DATASET_SOURCES = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.id}), (s:Source {id: row.source_id})
CREATE (d)-[:FROM_SOURCE]->(s)
"""
IMPORT_VERSIONS = """
UNWIND $rows AS row
OPTIONAL MATCH (old:DatasetVersion {id: row.id})
WITH row WHERE old IS NULL
MATCH (d:Dataset {id: row.dataset_id})
CREATE (d)-[:HAS_VERSION]->(v:DatasetVersion {
    id: row.id, version: row.version, content_hash: row.content_hash, row_count: row.row_count,
    byte_size: row.byte_size, raw_key: row.raw_key, curated_key: row.curated_key,
    format: row.format, created_at: row.created_at, created_by: row.created_by,
    quality: row.quality, changes: row.changes, quarantine_key: row.quarantine_key})
RETURN collect(v.id) AS created
"""
# for the versions just created: their fields ($rows carry version_id)
IMPORT_FIELDS = """
UNWIND $rows AS row
MATCH (v:DatasetVersion {id: row.version_id})
CREATE (v)-[:HAS_FIELD]->(:Field {id: row.id, position: row.position, name: row.name,
                                  arrow_type: row.arrow_type, nullable: row.nullable,
                                  description: row.description, metadata: row.metadata,
                                  semantic_type: row.semantic_type, pii: row.pii,
                                  stats: row.stats})
"""
IMPORT_LINKS = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.dataset_id}), (e:Entity {id: row.entity_id})
WITH d, e, row WHERE NOT EXISTS { MATCH (d)-[:DESCRIBES]->(e) }
CREATE (d)-[:DESCRIBES {role: row.role}]->(e)
RETURN count(*) AS created
"""
IMPORT_TAGS = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.dataset_id})
MERGE (t:Tag {name: row.tag})
WITH d, t, row WHERE NOT EXISTS { MATCH (d)-[:TAGGED]->(t) }
CREATE (d)-[:TAGGED {created_at: row.created_at}]->(t)
RETURN count(*) AS created
"""
IMPORT_OWNERS = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.dataset_id})
MERGE (o:Owner {name: row.name})
WITH d, o, row WHERE NOT EXISTS { MATCH (d)-[:OWNED_BY]->(o) }
CREATE (d)-[:OWNED_BY {kind: row.kind, email: row.email}]->(o)
RETURN count(*) AS created
"""
IMPORT_LINEAGE = """
UNWIND $rows AS row
MATCH (down:Dataset {id: row.downstream_id}), (up:Dataset {id: row.upstream_id})
WITH down, up, row WHERE NOT EXISTS { MATCH (down)-[:DERIVED_FROM]->(up) }
CREATE (down)-[:DERIVED_FROM {transformation: row.transformation, job: row.job,
                              created_at: row.created_at}]->(up)
RETURN count(*) AS created
"""
# An audit event is identified by its content (its id is a local sequence number). Plan:
# which rows are not there yet, and whether another event already holds their id.
AUDIT_IMPORT_PLAN = """
UNWIND $rows AS row
OPTIONAL MATCH (same:AuditEvent {target_id: row.target_id, at: row.at, actor: row.actor,
                                 action: row.action, target_kind: row.target_kind,
                                 detail: row.detail})
WITH row WHERE same IS NULL
OPTIONAL MATCH (taken:AuditEvent {id: row.id})
RETURN row.id AS id, taken IS NOT NULL AS taken
"""
# the new events whose id is free keep it
IMPORT_AUDIT = """
UNWIND $rows AS row
CREATE (:AuditEvent {id: row.id, at: row.at, actor: row.actor, action: row.action,
                     target_kind: row.target_kind, target_id: row.target_id,
                     detail: row.detail, request_id: row.request_id})
"""
# one new event whose id is taken: appended with the next id from the counter
IMPORT_AUDIT_APPENDED = """
MERGE (c:Counter {name: 'audit'})
ON CREATE SET c.value = 0
SET c.value = c.value + 1
CREATE (:AuditEvent {id: c.value, at: $at, actor: $actor, action: $action,
                     target_kind: $target_kind, target_id: $target_id, detail: $detail,
                     request_id: $request_id})
"""
# after importing audit events: the id sequence continues after the highest id present
AUDIT_COUNTER_CATCH_UP = """
OPTIONAL MATCH (a:AuditEvent) WITH max(a.id) AS top
MERGE (c:Counter {name: 'audit'})
ON CREATE SET c.value = 0
SET c.value = CASE WHEN top IS NOT NULL AND top > c.value THEN top ELSE c.value END
"""
# after an import: point each touched dataset at its newest version (timestamps untouched)
DATASETS_REFRESH_LATEST = """
UNWIND $ids AS dataset_id
MATCH (d:Dataset {id: dataset_id})
OPTIONAL MATCH (d)-[:HAS_VERSION]->(v:DatasetVersion)
WITH d, v ORDER BY v.version DESC
WITH d, collect(v.id) AS newest_first
SET d.latest_version_id = newest_first[0]
"""
# Tests only (the contract suite's fixture): remove every node and edge.
WIPE = "MATCH (n) DETACH DELETE n"


# --- builders: the only formatted Cypher, from closed maps and validated ints ---------------
# keyset columns per sort order (the cursor is [a, b], as in the SQLite store)
SORT_COLUMNS: dict[DatasetSort, tuple[str, str]] = {
    DatasetSort.NAME: ("d.namespace", "d.name"),
    DatasetSort.CREATED_AT: ("d.created_at", "d.id"),
    DatasetSort.UPDATED_AT: ("d.updated_at", "d.id"),
}


def dataset_page(sort: DatasetSort, descending: bool, *, text: bool, with_cursor: bool) -> str:
    """One page of list_datasets: filter, keyset after ($after_a, $after_b), order, limit."""
    a, b = SORT_COLUMNS[sort]
    op, order = ("<", "DESC") if descending else (">", "ASC")
    keyset = (f"AND ({a} {op} $after_a OR ({a} = $after_a AND {b} {op} $after_b))\n"
              if with_cursor else "")
    return (f"{DATASETS_BY_TEXT if text else DATASETS_ALL}\n"
            f"WHERE {DATASET_FILTER}{keyset}"
            f"WITH d ORDER BY {a} {order}, {b} {order} LIMIT $limit\n"
            "OPTIONAL MATCH (d)-[:FROM_SOURCE]->(s:Source)\n"
            "RETURN d {.*, source_id: s.id} AS d "
            f"ORDER BY {a} {order}, {b} {order}\n")


def dataset_count(*, text: bool) -> str:
    """How many datasets pass the filters (no keyset)."""
    return (f"{DATASETS_BY_TEXT if text else DATASETS_ALL}\n"
            f"WHERE {DATASET_FILTER}RETURN count(d) AS n\n")


def validate_depth(depth: object, max_depth: int) -> int:
    """A lineage depth fit to format into a pattern: an int (not a bool) in 1..max_depth."""
    if type(max_depth) is not int or max_depth < 1:
        raise ValidationError(f"the lineage depth limit must be a positive int, not "
                              f"{max_depth!r}", field="depth")
    if type(depth) is not int or not 1 <= depth <= max_depth:
        raise ValidationError(f"lineage depth must be an integer from 1 to {max_depth}, not "
                              f"{depth!r}", field="depth")
    return depth


def lineage_walk(direction: Direction, depth: object, max_depth: int) -> str:
    """Datasets within ``depth`` DERIVED_FROM hops of $id, each with its fewest hops.

    Every dataset after the start must be live: a deleted dataset ends the walk. Cypher
    never repeats an edge within one path, so cycles end too."""
    hops = validate_depth(depth, max_depth)
    if direction is Direction.UPSTREAM:
        pattern = "-[:DERIVED_FROM*1.." + str(hops) + "]->"
    elif direction is Direction.DOWNSTREAM:
        pattern = "<-[:DERIVED_FROM*1.." + str(hops) + "]-"
    else:
        raise ValidationError("a lineage walk goes upstream or downstream; BOTH is two walks",
                              field="direction")
    return ("MATCH p = (start:Dataset {id: $id})" + pattern + "(other:Dataset)\n"
            "WHERE all(n IN tail(nodes(p)) WHERE n.deleted_at IS NULL)\n"
            "RETURN other.id AS id, min(length(p)) AS depth\n")
