"""Cypher of the whole-catalog export and import (``peso migrate``, ``peso export/import``;
the record format is in ``server/storage/transfer.py``). Re-exported by ``cypher.py``, whose
rules apply.
"""

from __future__ import annotations

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

# Imports: $rows is a list of maps prepared by neo4j/transfer.py (timestamps as UTC ISO text,
# made DateTimes here by datetime(): far cheaper than the driver packing Python datetimes;
# maps as JSON text). Each creates only the rows whose identity is absent and returns the
# created ids (or a count); a clash on another unique property (a source name under another
# id) raises.
IMPORT_SOURCES = """
UNWIND $rows AS row
OPTIONAL MATCH (old:Source {id: row.id})
WITH row WHERE old IS NULL
CREATE (s:Source {id: row.id, name: row.name, kind: row.kind, url: row.url,
                  license: row.license, description: row.description,
                  created_at: datetime(row.created_at), updated_at: datetime(row.updated_at)})
RETURN count(s) AS created
"""
IMPORT_ENTITIES = """
UNWIND $rows AS row
OPTIONAL MATCH (old:Entity {id: row.id})
WITH row WHERE old IS NULL
CREATE (e:Entity {id: row.id, natural_key: row.natural_key, kind: row.kind, name: row.name,
                  is_human: row.is_human, description: row.description,
                  identifiers: row.identifiers, created_at: datetime(row.created_at)})
RETURN count(e) AS created
"""
# A new dataset has no tag and no version yet (a batch imports datasets before their versions
# and tags), so its search_* properties are known from the row alone (neo4j/transfer.py sets
# them: null for a deleted dataset, which stays out of the index) and are written with it:
# no read-back and no second write of its full-text entry. Its FROM_SOURCE edge too.
IMPORT_DATASETS = """
UNWIND $rows AS row
OPTIONAL MATCH (old:Dataset {id: row.id})
WITH row WHERE old IS NULL
CREATE (d:Dataset {id: row.id, natural_key: row.natural_key, namespace: row.namespace,
                   name: row.name, layer: row.layer, description: row.description,
                   created_at: datetime(row.created_at), updated_at: datetime(row.updated_at),
                   deleted_at: datetime(row.deleted_at), contract: row.contract,
                   search_namespace: row.search_namespace, search_name: row.search_name,
                   search_description: row.search_description, search_tags: row.search_tags,
                   search_fields: row.search_fields,
                   search_key: CASE WHEN row.search_name IS NULL THEN null
                                    ELSE [row.layer, row.namespace, row.name] END})
WITH d, row
OPTIONAL MATCH (s:Source {id: row.source_id})
FOREACH (x IN CASE WHEN s IS NULL THEN [] ELSE [s] END | CREATE (d)-[:FROM_SOURCE]->(x))
RETURN collect(d.id) AS created
"""
# a new version with its fields (row.fields: [{id, position, name, arrow_type, nullable,
# description, metadata, semantic_type, pii, stats}], maps as JSON text)
IMPORT_VERSIONS = """
UNWIND $rows AS row
OPTIONAL MATCH (old:DatasetVersion {id: row.id})
WITH row WHERE old IS NULL
MATCH (d:Dataset {id: row.dataset_id})
CREATE (d)-[:HAS_VERSION]->(v:DatasetVersion {
    id: row.id, version: row.version, content_hash: row.content_hash, row_count: row.row_count,
    byte_size: row.byte_size, raw_key: row.raw_key, curated_key: row.curated_key,
    format: row.format, created_at: datetime(row.created_at), created_by: row.created_by,
    quality: row.quality, changes: row.changes, quarantine_key: row.quarantine_key})
FOREACH (f IN row.fields |
    CREATE (v)-[:HAS_FIELD]->(:Field {id: f.id, position: f.position, name: f.name,
                                      arrow_type: f.arrow_type, nullable: f.nullable,
                                      description: f.description, metadata: f.metadata,
                                      semantic_type: f.semantic_type, pii: f.pii,
                                      stats: f.stats}))
RETURN collect(v.id) AS created
"""
# After new versions: each dataset's newest new version ($rows: one per dataset, {dataset_id,
# version_id, version, fields: its search text}) becomes its latest when it is newer than the
# latest it has (latest_version_id always names a dataset's highest version number), and a
# live dataset's search_fields follow it. A dataset whose latest stays is not written at all.
VERSIONS_SET_LATEST = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.dataset_id})
OPTIONAL MATCH (current:DatasetVersion {id: d.latest_version_id})
WITH d, row, current WHERE current IS NULL OR current.version < row.version
SET d.latest_version_id = row.version_id,
    d.search_fields = CASE WHEN d.deleted_at IS NULL THEN row.fields END
"""
IMPORT_LINKS = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.dataset_id}), (e:Entity {id: row.entity_id})
WITH d, e, row WHERE NOT EXISTS { MATCH (d)-[:DESCRIBES]->(e) }
CREATE (d)-[:DESCRIBES {role: row.role}]->(e)
RETURN count(*) AS created
"""
# the datasets that gained a tag come back with all their tag names, from which
# neo4j/transfer.py rewrites their search_tags (IMPORT_SEARCH_TAGS)
IMPORT_TAGS = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.dataset_id})
MERGE (t:Tag {name: row.tag})
WITH d, t, row WHERE NOT EXISTS { MATCH (d)-[:TAGGED]->(t) }
CREATE (d)-[:TAGGED {created_at: datetime(row.created_at)}]->(t)
WITH d, count(*) AS added
RETURN sum(added) AS created,
       collect([d.id, d.deleted_at IS NOT NULL, [(d)-[:TAGGED]->(x:Tag) | x.name]]) AS datasets
"""
IMPORT_SEARCH_TAGS = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.id})
SET d.search_tags = row.tags
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
                              created_at: datetime(row.created_at)}]->(up)
RETURN count(*) AS created
"""
# An audit event is identified by its content (its id is a local sequence number). Plan:
# which rows are not there yet, and whether another event already holds their id.
AUDIT_IMPORT_PLAN = """
UNWIND $rows AS row
OPTIONAL MATCH (same:AuditEvent {target_id: row.target_id, at: datetime(row.at),
                                 actor: row.actor, action: row.action,
                                 target_kind: row.target_kind, detail: row.detail})
WITH row WHERE same IS NULL
OPTIONAL MATCH (taken:AuditEvent {id: row.id})
RETURN row.id AS id, taken IS NOT NULL AS taken
"""
# the new events whose id is free keep it
IMPORT_AUDIT = """
UNWIND $rows AS row
CREATE (:AuditEvent {id: row.id, at: datetime(row.at), actor: row.actor, action: row.action,
                     target_kind: row.target_kind, target_id: row.target_id,
                     detail: row.detail, request_id: row.request_id})
"""
# one new event whose id is taken: appended with the next id from the counter
IMPORT_AUDIT_APPENDED = """
MERGE (c:Counter {name: 'audit'})
ON CREATE SET c.value = 0
SET c.value = c.value + 1
CREATE (:AuditEvent {id: c.value, at: datetime($at), actor: $actor, action: $action,
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
