"""The Cypher of lineage on Neo4j, each statement commented: OpenLineage jobs and runs, the
datasets they read and wrote, column lineage, bounded walks, events received.

Same rules as ``cypher.py`` (checked by tests/test_neo4j_lineage_cypher.py without a
server): constant text, values only as ``$parameters``, labels and relationship types from
the closed enums below; nothing is formatted in. The graph this part adds:

    (:Job {id, natural_key, namespace, name, description, facets, created_at, updated_at})
    (:Job)-[:HAS_RUN]->(:Run {id, job_id, state, state_time, started_at, ended_at,
                              error_message, nominal_start, nominal_end, parent_run_id,
                              facets, created_at, updated_at})
    (:Run)-[:READ {facets}]->(:Dataset)         (:Run)-[:WROTE {facets}]->(:Dataset)
    (:Job)-[:JOB_READS]->(:Dataset)             (:Job)-[:JOB_WRITES]->(:Dataset)
    (down:Dataset)-[:DERIVED_FROM {…, job_id, run_id}]->(up:Dataset)
    (down:Dataset)-[:FIELD_DERIVED_FROM {downstream_field, upstream_field,
        transformation_type, transformation_subtype, description, masking, job_id, run_id,
        created_at}]->(up:Dataset)
    (:Dataset {…, ol_facets, ol_facets_updated_at})
                                                the latest OpenLineage dataset facets (JSON)
                                                and when they last changed
    (:OpenLineageEvent {key, kind, event_type, event_time, job_id, run_id, producer,
                        received_at, payload})  every event applied; its key makes replays
                                                no-ops

``Job.natural_key`` is ``records.dataset_key(namespace, name)`` (the same unambiguous form).
Facets and payloads are JSON text; timestamps native DateTime (UTC).
"""

from __future__ import annotations

import enum


class Label(enum.StrEnum):
    DATASET = "Dataset"
    VERSION = "DatasetVersion"
    FIELD = "Field"
    JOB = "Job"
    RUN = "Run"
    EVENT = "OpenLineageEvent"
    AUDIT = "AuditEvent"


class Rel(enum.StrEnum):
    HAS_FIELD = "HAS_FIELD"
    DERIVED_FROM = "DERIVED_FROM"
    FIELD_DERIVED_FROM = "FIELD_DERIVED_FROM"
    HAS_RUN = "HAS_RUN"
    READ = "READ"
    WROTE = "WROTE"
    JOB_READS = "JOB_READS"
    JOB_WRITES = "JOB_WRITES"


# --- schema: run at open(), after the catalog's own (idempotent) -----------------------------
SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT peso_job_id IF NOT EXISTS FOR (j:Job) REQUIRE j.id IS UNIQUE",
    "CREATE CONSTRAINT peso_job_key IF NOT EXISTS FOR (j:Job) REQUIRE j.natural_key IS UNIQUE",
    "CREATE CONSTRAINT peso_run_id IF NOT EXISTS FOR (r:Run) REQUIRE r.id IS UNIQUE",
    "CREATE CONSTRAINT peso_ol_event_key IF NOT EXISTS "
    "FOR (e:OpenLineageEvent) REQUIRE e.key IS UNIQUE",
    # the jobs list (by namespace, name) and the runs list (newest first)
    "CREATE INDEX peso_job_name IF NOT EXISTS FOR (j:Job) ON (j.namespace, j.name)",
    "CREATE INDEX peso_run_created IF NOT EXISTS FOR (r:Run) ON (r.created_at)",
    "CREATE INDEX peso_run_job IF NOT EXISTS FOR (r:Run) ON (r.job_id)",
)

# --- jobs ----------------------------------------------------------------------------------
JOB_BY_KEY = "MATCH (j:Job {natural_key: $natural_key}) RETURN j {.*} AS j"
JOB_CREATE = """
CREATE (j:Job {id: $id, natural_key: $natural_key, namespace: $namespace, name: $name,
               description: $description, facets: $facets, created_at: $now, updated_at: $now})
"""
JOB_UPDATE = """
MATCH (j:Job {id: $id}) SET j.description = $description, j.facets = $facets, j.updated_at = $now
"""
JOBS_BY_IDS = "MATCH (j:Job) WHERE j.id IN $ids RETURN j {.*} AS j"
JOBS_BY_KEYS = "MATCH (j:Job) WHERE j.natural_key IN $keys RETURN j {.*} AS j"
# keyset page by (namespace, name); $after_ns IS NULL on the first page; $namespace IS NULL:
# every namespace
JOB_PAGE = """
MATCH (j:Job)
WHERE ($namespace IS NULL OR j.namespace = $namespace)
  AND ($after_ns IS NULL OR j.namespace > $after_ns
       OR (j.namespace = $after_ns AND j.name > $after_name))
RETURN j {.*} AS j ORDER BY j.namespace, j.name LIMIT $limit
"""
JOB_COUNT = """
MATCH (j:Job) WHERE $namespace IS NULL OR j.namespace = $namespace RETURN count(j) AS n
"""
# a job's known inputs and outputs (union over its runs and job events)
JOB_READS_ADD = """
MATCH (j:Job {id: $job_id}), (d:Dataset {id: $dataset_id}) MERGE (j)-[:JOB_READS]->(d)
"""
JOB_WRITES_ADD = """
MATCH (j:Job {id: $job_id}), (d:Dataset {id: $dataset_id}) MERGE (j)-[:JOB_WRITES]->(d)
"""
# type(r) tells inputs (JOB_READS) from outputs (JOB_WRITES); inputs sort first
JOB_DATASETS_OF = """
MATCH (j:Job)-[r:JOB_READS|JOB_WRITES]->(d:Dataset) WHERE j.id IN $ids
RETURN j.id AS job_id, d.id AS dataset_id, type(r) AS rel
ORDER BY job_id, rel, d.namespace, d.name
"""

# --- runs ----------------------------------------------------------------------------------
RUN_BY_ID = "MATCH (r:Run {id: $id}) RETURN r {.*} AS r"
RUN_CREATE = """
MATCH (j:Job {id: $job_id})
CREATE (j)-[:HAS_RUN]->(r:Run {id: $id, job_id: $job_id, state: $state,
                               state_time: $state_time, started_at: $started_at,
                               ended_at: $ended_at, error_message: $error_message,
                               nominal_start: $nominal_start, nominal_end: $nominal_end,
                               parent_run_id: $parent_run_id, facets: $facets,
                               created_at: $now, updated_at: $now})
"""
RUN_UPDATE = """
MATCH (r:Run {id: $id})
SET r.state = $state, r.state_time = $state_time, r.started_at = $started_at,
    r.ended_at = $ended_at, r.error_message = $error_message,
    r.nominal_start = $nominal_start, r.nominal_end = $nominal_end,
    r.parent_run_id = $parent_run_id, r.facets = $facets, r.updated_at = $now
"""
RUNS_BY_IDS = "MATCH (r:Run) WHERE r.id IN $ids RETURN r {.*} AS r"
# newest first by (created_at, id); $job_id NULL lists every job's runs
RUN_PAGE = """
MATCH (r:Run)
WHERE ($job_id IS NULL OR r.job_id = $job_id)
  AND ($after_at IS NULL OR r.created_at < $after_at
       OR (r.created_at = $after_at AND r.id < $after_id))
RETURN r {.*} AS r ORDER BY r.created_at DESC, r.id DESC LIMIT $limit
"""
RUN_COUNT = "MATCH (r:Run) WHERE $job_id IS NULL OR r.job_id = $job_id RETURN count(r) AS n"
# the first $limit runs of each job in $ids, newest first, and each job's run count: one read
# for a list of jobs
RUNS_OF_JOBS = """
UNWIND $ids AS job_id
CALL {
  WITH job_id
  MATCH (r:Run) WHERE r.job_id = job_id
  WITH r ORDER BY r.created_at DESC, r.id DESC LIMIT $limit
  RETURN collect(r {.*}) AS runs
}
CALL {
  WITH job_id
  MATCH (r:Run) WHERE r.job_id = job_id
  RETURN count(r) AS n
}
RETURN job_id, runs, n
"""
# a run's input or output facets so far ($rel: READ or WROTE, compared, never formatted in)
RUN_DATASET_FACETS = """
MATCH (:Run {id: $run_id})-[x:READ|WROTE]->(:Dataset {id: $dataset_id})
WHERE type(x) = $rel
RETURN x.facets AS facets
"""
RUN_READ_SET = """
MATCH (r:Run {id: $run_id}), (d:Dataset {id: $dataset_id})
MERGE (r)-[x:READ]->(d) SET x.facets = $facets
"""
RUN_WROTE_SET = """
MATCH (r:Run {id: $run_id}), (d:Dataset {id: $dataset_id})
MERGE (r)-[x:WROTE]->(d) SET x.facets = $facets
"""
RUN_DATASETS_OF = """
MATCH (r:Run)-[x:READ|WROTE]->(d:Dataset) WHERE r.id IN $ids
RETURN r.id AS run_id, d.id AS dataset_id, type(x) AS rel, x.facets AS facets
ORDER BY run_id, rel, d.namespace, d.name
"""

# --- DERIVED_FROM from runs and jobs --------------------------------------------------------
EDGE_GET = """
MATCH (down:Dataset {id: $down})-[r:DERIVED_FROM]->(up:Dataset {id: $up})
RETURN down.id AS downstream_id, up.id AS upstream_id, r.transformation AS transformation,
       r.job AS job, r.created_at AS created_at, r.job_id AS job_id, r.run_id AS run_id
"""
EDGE_CREATE = """
MATCH (down:Dataset {id: $down}), (up:Dataset {id: $up})
CREATE (down)-[:DERIVED_FROM {job: $job, job_id: $job_id, run_id: $run_id,
                              created_at: $now}]->(up)
"""
EDGE_SET_JOB = """
MATCH (:Dataset {id: $down})-[r:DERIVED_FROM]->(:Dataset {id: $up})
SET r.job = $job, r.job_id = $job_id, r.run_id = $run_id
"""

# --- bounded walks (server/storage/lineage_walk.py) ----------------------------------------
# One hop from the frontier, not into $exclude, live datasets only, the first $limit by
# (namespace, name).
EXPAND_UPSTREAM = """
UNWIND $frontier AS fid
MATCH (:Dataset {id: fid})-[:DERIVED_FROM]->(d:Dataset)
WHERE d.deleted_at IS NULL AND NOT d.id IN $exclude
WITH DISTINCT d ORDER BY d.namespace, d.name LIMIT $limit
RETURN d.id AS id, d.namespace AS namespace, d.name AS name
"""
EXPAND_DOWNSTREAM = """
UNWIND $frontier AS fid
MATCH (:Dataset {id: fid})<-[:DERIVED_FROM]-(d:Dataset)
WHERE d.deleted_at IS NULL AND NOT d.id IN $exclude
WITH DISTINCT d ORDER BY d.namespace, d.name LIMIT $limit
RETURN d.id AS id, d.namespace AS namespace, d.name AS name
"""
# every DERIVED_FROM with a downstream end in $down and an upstream end in $up, at most $limit
# (the edges among a walk's nodes: $down = $up = the nodes)
EDGES_BETWEEN = """
MATCH (down:Dataset)-[r:DERIVED_FROM]->(up:Dataset) WHERE down.id IN $down AND up.id IN $up
RETURN down.id AS downstream_id, up.id AS upstream_id, r.transformation AS transformation,
       r.job AS job, r.created_at AS created_at, r.job_id AS job_id, r.run_id AS run_id
LIMIT $limit
"""

# --- column lineage ------------------------------------------------------------------------
COLUMN_GET = """
MATCH (down:Dataset {id: $down})-[c:FIELD_DERIVED_FROM]->(up:Dataset {id: $up})
WHERE c.downstream_field = $down_field AND c.upstream_field = $up_field
  AND c.transformation_type = $ttype AND c.transformation_subtype = $tsubtype
RETURN down.id AS downstream_id, up.id AS upstream_id, c {.*} AS c
"""
COLUMN_CREATE = """
MATCH (down:Dataset {id: $down}), (up:Dataset {id: $up})
CREATE (down)-[:FIELD_DERIVED_FROM {downstream_field: $down_field, upstream_field: $up_field,
                                    transformation_type: $ttype,
                                    transformation_subtype: $tsubtype,
                                    description: $description, masking: $masking,
                                    job_id: $job_id, run_id: $run_id, created_at: $now}]->(up)
"""
COLUMN_UPDATE = """
MATCH (:Dataset {id: $down})-[c:FIELD_DERIVED_FROM]->(:Dataset {id: $up})
WHERE c.downstream_field = $down_field AND c.upstream_field = $up_field
  AND c.transformation_type = $ttype AND c.transformation_subtype = $tsubtype
SET c.description = $description, c.masking = $masking, c.job_id = $job_id, c.run_id = $run_id
"""
# $frontier and $exclude are lists of [dataset id, field] pairs
COLUMN_EXPAND_UPSTREAM = """
UNWIND $frontier AS f
MATCH (:Dataset {id: f[0]})-[c:FIELD_DERIVED_FROM]->(d:Dataset)
WHERE c.downstream_field = f[1] AND d.deleted_at IS NULL
  AND NOT [d.id, c.upstream_field] IN $exclude
WITH DISTINCT d, c.upstream_field AS field ORDER BY d.namespace, d.name, field LIMIT $limit
RETURN d.id AS id, field, d.namespace AS namespace, d.name AS name
"""
COLUMN_EXPAND_DOWNSTREAM = """
UNWIND $frontier AS f
MATCH (:Dataset {id: f[0]})<-[c:FIELD_DERIVED_FROM]-(d:Dataset)
WHERE c.upstream_field = f[1] AND d.deleted_at IS NULL
  AND NOT [d.id, c.downstream_field] IN $exclude
WITH DISTINCT d, c.downstream_field AS field ORDER BY d.namespace, d.name, field LIMIT $limit
RETURN d.id AS id, field, d.namespace AS namespace, d.name AS name
"""
# the records among a walk's columns ($ids: their datasets, for the index; $pairs: columns)
COLUMN_EDGES_AMONG = """
MATCH (down:Dataset)-[c:FIELD_DERIVED_FROM]->(up:Dataset)
WHERE down.id IN $ids AND up.id IN $ids
  AND [down.id, c.downstream_field] IN $pairs AND [up.id, c.upstream_field] IN $pairs
RETURN down.id AS downstream_id, up.id AS upstream_id, c {.*} AS c LIMIT $limit
"""

# --- dataset facets, events, datasets ---------------------------------------------------------
DATASET_FACETS_GET = "MATCH (d:Dataset {id: $id}) RETURN d.ol_facets AS facets"
DATASET_FACETS_SET = """
MATCH (d:Dataset {id: $id}) SET d.ol_facets = $facets, d.ol_facets_updated_at = $now
"""
DATASET_FACETS_OF = """
MATCH (d:Dataset) WHERE d.id IN $ids AND d.ol_facets IS NOT NULL
RETURN d.id AS dataset_id, d.ol_facets AS facets
"""
EVENT_EXISTS = "MATCH (e:OpenLineageEvent {key: $key}) RETURN e.key AS key"
EVENT_CREATE = """
CREATE (:OpenLineageEvent {key: $key, kind: $kind, event_type: $event_type,
                           event_time: $event_time, job_id: $job_id, run_id: $run_id,
                           producer: $producer, received_at: $now, payload: $payload})
"""
# the fields of one version, in order (for comparing an OpenLineage schema facet)
VERSION_FIELDS = """
MATCH (:DatasetVersion {id: $id})-[:HAS_FIELD]->(f:Field)
RETURN f.name AS name, f.arrow_type AS arrow_type, f.nullable AS nullable,
       f.description AS description ORDER BY f.position
"""

# --- whole-catalog export/import (peso migrate, peso export; storage/transfer.py) ----------
# "empty" for lineage: no job and no event received (the catalog's own IS_EMPTY covers the rest)
NO_LINEAGE = """
OPTIONAL MATCH (n) WHERE n:Job OR n:OpenLineageEvent
WITH n LIMIT 1
RETURN n IS NULL AS empty
"""
# Exports, each in identity order (events in the order received).
EXPORT_JOBS = "MATCH (j:Job) RETURN j {.*} AS j ORDER BY j.id"
EXPORT_RUNS = "MATCH (r:Run) RETURN r {.*} AS r ORDER BY r.id"
# type(x) tells inputs (READ) from outputs (WROTE)
EXPORT_RUN_DATASETS = """
MATCH (r:Run)-[x:READ|WROTE]->(d:Dataset)
RETURN r.id AS run_id, d.id AS dataset_id, type(x) AS rel, x.facets AS facets
ORDER BY run_id, rel, dataset_id
"""
EXPORT_JOB_DATASETS = """
MATCH (j:Job)-[x:JOB_READS|JOB_WRITES]->(d:Dataset)
RETURN j.id AS job_id, d.id AS dataset_id, type(x) AS rel ORDER BY job_id, rel, dataset_id
"""
# DERIVED_FROM with the job and run that derived it (the catalog's EXPORT_LINEAGE predates them)
EXPORT_DERIVED_FROM = """
MATCH (down:Dataset)-[r:DERIVED_FROM]->(up:Dataset)
RETURN down.id AS downstream_id, up.id AS upstream_id, r.transformation AS transformation,
       r.job AS job, r.created_at AS created_at, r.job_id AS job_id, r.run_id AS run_id
ORDER BY downstream_id, upstream_id
"""
EXPORT_COLUMN_LINEAGE = """
MATCH (down:Dataset)-[c:FIELD_DERIVED_FROM]->(up:Dataset)
RETURN down.id AS downstream_id, up.id AS upstream_id, c {.*} AS c
ORDER BY downstream_id, c.downstream_field, upstream_id, c.upstream_field,
         c.transformation_type, c.transformation_subtype
"""
# facets set before ol_facets_updated_at existed count as changed with the dataset
EXPORT_DATASET_FACETS = """
MATCH (d:Dataset) WHERE d.ol_facets IS NOT NULL
RETURN d.id AS dataset_id, d.ol_facets AS facets,
       coalesce(d.ol_facets_updated_at, d.updated_at) AS updated_at
ORDER BY dataset_id
"""
EXPORT_EVENTS = """
MATCH (e:OpenLineageEvent) RETURN e {.*} AS e ORDER BY e.received_at, e.key
"""

# Imports: $rows is a list of maps prepared by neo4j/transfer.py (timestamps as DateTime,
# facets and payloads as JSON text). Each creates only the rows whose identity is absent and
# returns how many it created; a clash on another unique property (a job's natural key under
# another id) raises. A row whose job, run or dataset is missing is left out (and the
# verification that follows every import reports it).
IMPORT_JOBS = """
UNWIND $rows AS row
OPTIONAL MATCH (old:Job {id: row.id})
WITH row WHERE old IS NULL
CREATE (j:Job {id: row.id, natural_key: row.natural_key, namespace: row.namespace,
               name: row.name, description: row.description, facets: row.facets,
               created_at: row.created_at, updated_at: row.updated_at})
RETURN count(j) AS created
"""
IMPORT_RUNS = """
UNWIND $rows AS row
OPTIONAL MATCH (old:Run {id: row.id})
WITH row WHERE old IS NULL
MATCH (j:Job {id: row.job_id})
CREATE (j)-[:HAS_RUN]->(r:Run {id: row.id, job_id: row.job_id, state: row.state,
                               state_time: row.state_time, started_at: row.started_at,
                               ended_at: row.ended_at, error_message: row.error_message,
                               nominal_start: row.nominal_start, nominal_end: row.nominal_end,
                               parent_run_id: row.parent_run_id, facets: row.facets,
                               created_at: row.created_at, updated_at: row.updated_at})
RETURN count(r) AS created
"""
# a run's inputs ($rows with role input) and outputs (role output)
IMPORT_RUN_READ = """
UNWIND $rows AS row
MATCH (r:Run {id: row.run_id}), (d:Dataset {id: row.dataset_id})
OPTIONAL MATCH (r)-[old:READ]->(d)
WITH r, d, row WHERE old IS NULL
CREATE (r)-[:READ {facets: row.facets}]->(d)
RETURN count(*) AS created
"""
IMPORT_RUN_WROTE = """
UNWIND $rows AS row
MATCH (r:Run {id: row.run_id}), (d:Dataset {id: row.dataset_id})
OPTIONAL MATCH (r)-[old:WROTE]->(d)
WITH r, d, row WHERE old IS NULL
CREATE (r)-[:WROTE {facets: row.facets}]->(d)
RETURN count(*) AS created
"""
# a job's inputs and outputs
IMPORT_JOB_READS = """
UNWIND $rows AS row
MATCH (j:Job {id: row.job_id}), (d:Dataset {id: row.dataset_id})
OPTIONAL MATCH (j)-[old:JOB_READS]->(d)
WITH j, d, row WHERE old IS NULL
CREATE (j)-[:JOB_READS]->(d)
RETURN count(*) AS created
"""
IMPORT_JOB_WRITES = """
UNWIND $rows AS row
MATCH (j:Job {id: row.job_id}), (d:Dataset {id: row.dataset_id})
OPTIONAL MATCH (j)-[old:JOB_WRITES]->(d)
WITH j, d, row WHERE old IS NULL
CREATE (j)-[:JOB_WRITES]->(d)
RETURN count(*) AS created
"""
IMPORT_DERIVED_FROM = """
UNWIND $rows AS row
MATCH (down:Dataset {id: row.downstream_id}), (up:Dataset {id: row.upstream_id})
OPTIONAL MATCH (down)-[old:DERIVED_FROM]->(up)
WITH down, up, row WHERE old IS NULL
CREATE (down)-[:DERIVED_FROM {transformation: row.transformation, job: row.job,
                              created_at: row.created_at, job_id: row.job_id,
                              run_id: row.run_id}]->(up)
RETURN count(*) AS created
"""
# the OPTIONAL MATCH's WHERE is part of its pattern: old is NULL when no record has the
# identity (at most one has)
IMPORT_COLUMN_LINEAGE = """
UNWIND $rows AS row
MATCH (down:Dataset {id: row.downstream_id}), (up:Dataset {id: row.upstream_id})
OPTIONAL MATCH (down)-[old:FIELD_DERIVED_FROM]->(up)
WHERE old.downstream_field = row.downstream_field AND old.upstream_field = row.upstream_field
  AND old.transformation_type = row.transformation_type
  AND old.transformation_subtype = row.transformation_subtype
WITH down, up, row WHERE old IS NULL
CREATE (down)-[:FIELD_DERIVED_FROM {downstream_field: row.downstream_field,
                                    upstream_field: row.upstream_field,
                                    transformation_type: row.transformation_type,
                                    transformation_subtype: row.transformation_subtype,
                                    description: row.description, masking: row.masking,
                                    job_id: row.job_id, run_id: row.run_id,
                                    created_at: row.created_at}]->(up)
RETURN count(*) AS created
"""
IMPORT_DATASET_FACETS = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.dataset_id}) WHERE d.ol_facets IS NULL
SET d.ol_facets = row.facets, d.ol_facets_updated_at = row.updated_at
RETURN count(d) AS created
"""
IMPORT_EVENTS = """
UNWIND $rows AS row
OPTIONAL MATCH (old:OpenLineageEvent {key: row.event_key})
WITH row WHERE old IS NULL
CREATE (e:OpenLineageEvent {key: row.event_key, kind: row.kind, event_type: row.event_type,
                            event_time: row.event_time, job_id: row.job_id,
                            run_id: row.run_id, producer: row.producer,
                            received_at: row.received_at, payload: row.payload})
RETURN count(e) AS created
"""
