"""Cypher of versions, fields and DERIVED_FROM edges, and the lineage-walk builder (the one
place a validated depth is formatted in). Re-exported by ``cypher.py``, whose rules apply.
"""

from __future__ import annotations

from server.errors import ValidationError
from server.models import Direction

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
    created_at: datetime($now), created_by: $created_by, quality: $quality, changes: $changes,
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
# batch reads: one record holding a list (base.listed), created_at as [epochSeconds,
# nanosecond] (records.ts)
VERSIONS_OF_DATASETS = """
MATCH (d:Dataset)-[:HAS_VERSION]->(v:DatasetVersion) WHERE d.id IN $ids
WITH d, v ORDER BY v.version DESC
RETURN collect(v {.*, dataset_id: d.id,
                  created_at: [v.created_at.epochSeconds, v.created_at.nanosecond]}) AS found
"""
LATEST_VERSIONS_OF_DATASETS = """
MATCH (d:Dataset) WHERE d.id IN $ids
MATCH (d)-[:HAS_VERSION]->(v:DatasetVersion {id: d.latest_version_id})
RETURN collect(v {.*, dataset_id: d.id,
                  created_at: [v.created_at.epochSeconds, v.created_at.nanosecond]}) AS found
"""
FIELDS_OF_VERSIONS = """
MATCH (v:DatasetVersion)-[:HAS_FIELD]->(f:Field) WHERE v.id IN $ids
WITH v, f ORDER BY f.position
RETURN collect(f {.*, version_id: v.id}) AS found
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
ON CREATE SET r.created_at = datetime($now)
SET r.transformation = $transformation, r.job = $job
"""
# every DERIVED_FROM edge between two of the reached datasets (diamonds and cycles show whole)
LINEAGE_EDGES_AMONG = """
MATCH (down:Dataset)-[r:DERIVED_FROM]->(up:Dataset) WHERE down.id IN $ids AND up.id IN $ids
RETURN down.id AS downstream_id, up.id AS upstream_id, r.transformation AS transformation,
       r.job AS job, r.created_at AS created_at
"""


# --- builders: the only formatted Cypher, from closed maps and validated ints ---------------
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
