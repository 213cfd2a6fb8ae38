"""Cypher of sources, entities (and DESCRIBES links), tags and owners. Re-exported by
``cypher.py``, whose rules apply.
"""

from __future__ import annotations

# --- sources -------------------------------------------------------------------------------
SOURCE_BY_NAME = "MATCH (s:Source {name: $name}) RETURN s {.*} AS s"
SOURCES_BY_IDS = "MATCH (s:Source) WHERE s.id IN $ids RETURN s {.*} AS s"
SOURCE_CREATE = """
CREATE (s:Source {id: $id, name: $name, kind: $kind, url: $url, license: $license,
                  description: $description, created_at: datetime($now),
                  updated_at: datetime($now)})
"""
SOURCE_UPDATE = """
MATCH (s:Source {id: $id})
SET s.kind = $kind, s.url = $url, s.license = $license, s.description = $description,
    s.updated_at = datetime($now)
"""
# keyset page by (name, id); $after_name IS NULL on the first page
SOURCE_PAGE = """
MATCH (s:Source)
WHERE $after_name IS NULL OR s.name > $after_name OR (s.name = $after_name AND s.id > $after_id)
RETURN s {.*} AS s ORDER BY s.name, s.id LIMIT $limit
"""
SOURCE_COUNT = "MATCH (s:Source) RETURN count(s) AS n"

# --- entities ------------------------------------------------------------------------------
ENTITY_BY_KEY = "MATCH (e:Entity {natural_key: $natural_key}) RETURN e {.*} AS e"
ENTITIES_BY_IDS = "MATCH (e:Entity) WHERE e.id IN $ids RETURN e {.*} AS e"
ENTITY_CREATE = """
CREATE (e:Entity {id: $id, natural_key: $natural_key, kind: $kind, name: $name, is_human: $is_human,
                  description: $description, identifiers: $identifiers, created_at: datetime($now)})
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
CREATE (d)-[:TAGGED {created_at: datetime($now)}]->(t)
RETURN count(*) AS added
"""
TAG_REMOVE = """
MATCH (:Dataset {id: $id})-[r:TAGGED]->(:Tag {name: $tag})
DELETE r
RETURN count(*) AS removed
"""
# the batch reads below return one record holding a list (base.listed: the driver's cost is
# per record), timestamps as [epochSeconds, nanosecond] (records.ts: its DateTime hydration
# costs ~100 µs a value)
TAGS_OF_DATASETS = """
MATCH (d:Dataset)-[:TAGGED]->(t:Tag) WHERE d.id IN $ids
WITH d.id AS dataset_id, t.name AS tag ORDER BY tag
RETURN collect([dataset_id, tag]) AS found
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
