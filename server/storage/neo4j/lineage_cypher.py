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
    COUNTER = "Counter"   # the audit id sequence (BATCH_WRITE appends the audit trail)
    SOURCE = "Source"   # read only: a walk's datasets name their source


class Rel(enum.StrEnum):
    HAS_FIELD = "HAS_FIELD"
    DERIVED_FROM = "DERIVED_FROM"
    FIELD_DERIVED_FROM = "FIELD_DERIVED_FROM"
    HAS_RUN = "HAS_RUN"
    READ = "READ"
    WROTE = "WROTE"
    JOB_READS = "JOB_READS"
    JOB_WRITES = "JOB_WRITES"
    FROM_SOURCE = "FROM_SOURCE"


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
# a job's known inputs and outputs (union over its runs and job events; written by
# JOB_IO_SET); type(r) tells inputs (JOB_READS) from outputs (JOB_WRITES); inputs sort first
JOB_DATASETS_OF = """
MATCH (j:Job)-[r:JOB_READS|JOB_WRITES]->(d:Dataset) WHERE j.id IN $ids
RETURN j.id AS job_id, d.id AS dataset_id, type(r) AS rel
ORDER BY job_id, rel, d.namespace, d.name
"""

# --- runs ----------------------------------------------------------------------------------
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
# a run's inputs and outputs (written by RUN_IO_SET)
RUN_DATASETS_OF = """
MATCH (r:Run)-[x:READ|WROTE]->(d:Dataset) WHERE r.id IN $ids
RETURN r.id AS run_id, d.id AS dataset_id, type(x) AS rel, x.facets AS facets
ORDER BY run_id, rel, d.namespace, d.name
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
# The edge and dataset lists of a walk (LC.WALK, EDGES_BETWEEN, WALK_DATASETS), one text each.
# An edge (r from down to up): [downstream_id, upstream_id, transformation, job, created_at
# epochSeconds, its nanosecond, job_id, run_id] (lineage.edge_row reads it). A dataset d with
# its source src: [id, namespace, name, layer, description, contract, source id, created_at,
# updated_at, deleted_at] (lineage.dataset_row reads it), each timestamp as [epochSeconds,
# nanosecond] (records.epoch reads it) or NULL. Lists, not maps, in ONE row: a walk reads
# thousands of edges, and the async driver spends ~100 µs on each row, as much on each
# DateTime it hydrates, and more on map keys than on values.
# Each row is made from the properties read in one go first (_EDGE_READ, _DATASET_READ: a
# map projection, properties(r)) rather than one property lookup per field: most fields are
# absent (contract, deleted_at, transformation, job_id, run_id) and each absent one looked
# up alone walks the whole property chain; ~10% less server time for a walk of 1,000 nodes.
_EDGE_READ = "WITH down.id AS down_id, up.id AS up_id, properties(r) AS r"
_EDGE_ROW = """[down_id, up_id, r.transformation, r.job, r.created_at.epochSeconds,
                r.created_at.nanosecond, r.job_id, r.run_id]"""
_DATASET_READ = """d {.id, .namespace, .name, .layer, .description, .contract, .created_at,
                   .updated_at, .deleted_at} AS d"""
_DATASET_ROW = """[d.id, d.namespace, d.name, d.layer, d.description, d.contract, src.id,
                [d.created_at.epochSeconds, d.created_at.nanosecond],
                [d.updated_at.epochSeconds, d.updated_at.nanosecond],
                CASE WHEN d.deleted_at IS NULL THEN NULL
                     ELSE [d.deleted_at.epochSeconds, d.deleted_at.nanosecond] END]"""
# The whole bounded walk of ``lineage_walk.BoundedWalk`` in ONE statement (what the expands
# above would do one hop per round trip, with the same answer), with its datasets and the
# edges among them: no row when $start is missing or deleted. $ways: -1 UPSTREAM, 1
# DOWNSTREAM, [-1, 1] BOTH (upstream first in each level).
# The state st: nodes (admitted in walk order) and their signed depths; per way its frontier
# (fu, fd) and visited set (su, sd); tr: truncated; dr: found but not admitted. Each step
# (level lvl, way w) is skipped once truncated or when its frontier is empty, else:
# found = the live datasets one hop from the frontier, not yet visited that way, the first
# lim by (namespace, name), lim = room + free + 1 (free: nodes reached the other way only,
# which cost nothing); the newcomers of found (not reached the other way) are admitted in
# that order while there is room. After a truncation nothing but nodes, depths, tr and dr is
# read (the walk stops), so frontier and visited set are then found as is.
# The state holds the nodes themselves, not their ids: a frontier is expanded from the nodes
# it holds (no index seek per node), a visited test compares nodes (no id read), and the
# datasets and edges are read from the admitted nodes in the same statement — a third of
# the server time of the walk, then EDGES_BETWEEN and WALK_DATASETS each seeking the ~1,000
# ids again, and two round trips less.
# datasets: [signed depth] + _DATASET_ROW per node (lineage.walk_row); edges: at most $limit
# _EDGE_ROWs, every DERIVED_FROM between two of the nodes.
WALK = """
MATCH (s:Dataset {id: $start}) WHERE s.deleted_at IS NULL
WITH reduce(st = {nodes: [s], depths: [0], fu: [s], fd: [s], su: [s], sd: [s], tr: false,
                  dr: 0},
            step IN [i IN range(0, $depth * size($ways) - 1)
                     | [i / size($ways) + 1, $ways[i % size($ways)]]] |
       CASE WHEN st.tr OR size(CASE step[1] WHEN -1 THEN st.fu ELSE st.fd END) = 0 THEN st
       ELSE COLLECT {
         WITH step[0] AS lvl, step[1] AS w,
              CASE step[1] WHEN -1 THEN st.su ELSE st.sd END AS seen,
              CASE step[1] WHEN -1 THEN st.sd ELSE st.su END AS other,
              CASE WHEN $max_nodes > size(st.nodes) THEN $max_nodes - size(st.nodes)
                   ELSE 0 END AS room
         WITH lvl, w, seen, other, room,
              room + size([x IN other WHERE NOT x IN seen]) + 1 AS lim
         WITH lvl, w, seen, other, room, lim,
              CASE w WHEN -1 THEN COLLECT {
                UNWIND st.fu AS f
                MATCH (f)-[:DERIVED_FROM]->(d:Dataset)
                WHERE d.deleted_at IS NULL AND NOT d IN seen
                WITH DISTINCT d ORDER BY d.namespace, d.name
                RETURN d
              } ELSE COLLECT {
                UNWIND st.fd AS f
                MATCH (f)<-[:DERIVED_FROM]-(d:Dataset)
                WHERE d.deleted_at IS NULL AND NOT d IN seen
                WITH DISTINCT d ORDER BY d.namespace, d.name
                RETURN d
              } END AS level
         WITH lvl, w, seen, room, lim, level[..lim] AS found, other
         WITH lvl, w, seen, room, lim, found, [x IN found WHERE NOT x IN other] AS new
         WITH lvl, w, seen, room, lim, found, new, new[..room] AS admitted
         RETURN {nodes: st.nodes + admitted, depths: st.depths + [x IN admitted | w * lvl],
                 fu: CASE w WHEN -1 THEN found ELSE st.fu END,
                 fd: CASE w WHEN 1 THEN found ELSE st.fd END,
                 su: CASE w WHEN -1 THEN st.su + found ELSE st.su END,
                 sd: CASE w WHEN 1 THEN st.sd + found ELSE st.sd END,
                 tr: size(new) > room OR size(found) >= lim,
                 dr: st.dr + size(new) - size(admitted)}
       }[0] END) AS st
WITH st, st.nodes AS nodes
RETURN st.tr AS truncated, st.dr AS dropped,
       COLLECT {
         UNWIND range(0, size(nodes) - 1) AS i
         WITH nodes[i] AS d, st.depths[i] AS depth
         OPTIONAL MATCH (d)-[:FROM_SOURCE]->(src:Source)
         WITH depth, src, """ + _DATASET_READ + """
         RETURN [depth] + """ + _DATASET_ROW + """
       } AS datasets,
       COLLECT {
         UNWIND nodes AS down
         MATCH (down)-[r:DERIVED_FROM]->(up:Dataset) WHERE up IN nodes
         WITH down, up, r LIMIT $limit
         """ + _EDGE_READ + """
         RETURN """ + _EDGE_ROW + """
       } AS edges
"""
# every DERIVED_FROM with a downstream end in $down and an upstream end in $up, at most $limit,
# in ONE row of _EDGE_ROWs (a path search's edges between two levels)
# Seeking the downstream ends and expanding upstream (USING INDEX): a dataset is derived from
# a few, while a source hub feeds thousands, which the planner's other choice expands.
EDGES_BETWEEN = """
MATCH (down:Dataset)-[r:DERIVED_FROM]->(up:Dataset) USING INDEX down:Dataset(id)
WHERE down.id IN $down AND up.id IN $up
WITH down, up, r LIMIT $limit
""" + _EDGE_READ + """
RETURN collect(""" + _EDGE_ROW + """) AS edges
"""
# the datasets of $ids in ONE row of _DATASET_ROWs (the nodes of a column walk or path search)
WALK_DATASETS = """
MATCH (d:Dataset) WHERE d.id IN $ids
OPTIONAL MATCH (d)-[:FROM_SOURCE]->(src:Source)
WITH src, """ + _DATASET_READ + """
RETURN collect(""" + _DATASET_ROW + """) AS datasets
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
                                    job_id: $job_id, run_id: $run_id,
                                    created_at: datetime($now)}]->(up)
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


# every property of a new Run but its two stamps, read from ``row`` (BATCH_WRITE stamps both
# with row.now, IMPORT_RUNS keeps the record's created_at and updated_at): one text for both
_RUN_PROPERTIES = """id: row.id, job_id: row.job_id, state: row.state,
    state_time: datetime(row.state_time), started_at: datetime(row.started_at),
    ended_at: datetime(row.ended_at), error_message: row.error_message,
    nominal_start: datetime(row.nominal_start), nominal_end: datetime(row.nominal_end),
    parent_run_id: row.parent_run_id, facets: row.facets"""


# --- applying a batch of events in few round trips (lineage_apply.py) ---------------------
# Both statements take their lists in ONE map parameter, $batch: Neo4j (5.26) keys its plan
# cache on each parameter's type and, for a list, its size in buckets, so lists of 0, 1, 5 or
# 100 rows would each be planned anew (0.5-1 s for BATCH_WRITE, ~0.4 s for BATCH_LOOKUP,
# measured), for every combination of sizes a batch brings; a map's entries are not part of
# the key, and one plan serves every batch.
# What a batch needs to know first, in one read: the event keys already applied, the jobs
# (job_keys: natural keys) and runs it names, the datasets it names (keys: natural keys),
# those runs' inputs and outputs among those datasets ([run id, is input, dataset id,
# facets]) and the DERIVED_FROM among those datasets ([down id, up id, job, job_id, run_id]).
# Only what the batch decides on, and timestamps as [epochSeconds, nanosecond] (records.ts
# reads them): the driver spends ~100 µs hydrating each DateTime, and a batch of 100 events
# names ~300 datasets and ~50 runs and jobs.
BATCH_LOOKUP = """
RETURN COLLECT {
         MATCH (e:OpenLineageEvent) WHERE e.key IN $batch.event_keys RETURN e.key
       } AS seen,
       COLLECT {
         MATCH (j:Job) WHERE j.natural_key IN $batch.job_keys
         RETURN j {.id, .natural_key, .description, .facets}
       } AS jobs,
       COLLECT {
         MATCH (r:Run) WHERE r.id IN $batch.run_ids
         RETURN r {.id, .job_id, .state, .error_message, .parent_run_id, .facets,
                   state_time: [r.state_time.epochSeconds, r.state_time.nanosecond],
                   started_at: CASE WHEN r.started_at IS NOT NULL
                     THEN [r.started_at.epochSeconds, r.started_at.nanosecond] END,
                   ended_at: CASE WHEN r.ended_at IS NOT NULL
                     THEN [r.ended_at.epochSeconds, r.ended_at.nanosecond] END,
                   nominal_start: CASE WHEN r.nominal_start IS NOT NULL
                     THEN [r.nominal_start.epochSeconds, r.nominal_start.nanosecond] END,
                   nominal_end: CASE WHEN r.nominal_end IS NOT NULL
                     THEN [r.nominal_end.epochSeconds, r.nominal_end.nanosecond] END}
       } AS runs,
       COLLECT {
         MATCH (d:Dataset) WHERE d.natural_key IN $batch.keys
         RETURN [d.namespace, d.name, d.id, d.description, d.deleted_at IS NOT NULL]
       } AS datasets,
       COLLECT {
         MATCH (r:Run)-[x:READ|WROTE]->(d:Dataset)
         WHERE r.id IN $batch.run_ids AND d.natural_key IN $batch.keys
         RETURN [r.id, type(x) = $read, d.id, x.facets]
       } AS io,
       COLLECT {
         MATCH (a:Dataset)-[x:DERIVED_FROM]->(b:Dataset)
         WHERE a.natural_key IN $batch.keys AND b.natural_key IN $batch.keys
         RETURN [a.id, b.id, x.job, x.job_id, x.run_id]
       } AS edges
"""
# The writes of a batch in ONE statement (a round trip per kind cost more than the writes):
# each list of $batch holds the rows of one kind, written by its own subquery, in this order
# (a run needs its job, an input its run and its dataset). datasets_new: datasets no event
# named before, created as ensure_dataset and reindex do (DATASET_CREATE, the search_* properties,
# an embedding ticket). Timestamps come as ISO text (base.iso), stored as
# DateTimes by datetime() (the driver packs a Python datetime through ~100 µs of Python).
# replan=skip: every node it writes is found by a unique-constraint seek and every pattern
# has both ends bound, so no plan of it depends on the statistics; replanning it (~300 ms,
# as Neo4j does once label counts move, e.g. after the first jobs and runs of a catalog)
# would only stall an ingest.
# audits, last: the audit trail of the changes above, in the order they were made, with
# consecutive ids from the audit counter (cypher.AUDIT_APPEND_MANY's writes, $audit_counter
# naming its counter; nothing, not even the counter, when there are none): in the same
# statement, a round trip less per batch.
BATCH_WRITE = """
CYPHER replan=skip
CALL () {
  UNWIND $batch.datasets_new AS row
  CREATE (:Dataset {id: row.id, natural_key: row.natural_key, namespace: row.namespace,
                    name: row.name, layer: row.layer, description: row.description,
                    created_at: datetime(row.now), updated_at: datetime(row.now),
                    search_namespace: row.search_namespace, search_name: row.search_name,
                    search_description: row.search_description, search_tags: row.search_tags,
                    search_fields: row.search_fields,
                    search_key: [row.layer, row.namespace, row.name],
                    embedding_ticket: randomUUID()})
}
CALL () {
  UNWIND $batch.jobs_new AS row
  CREATE (j:Job {id: row.id, natural_key: row.natural_key, namespace: row.namespace,
                 name: row.name, description: row.description, facets: row.facets,
                 created_at: datetime(row.now), updated_at: datetime(row.now)})
}
CALL () {
  UNWIND $batch.jobs_set AS row
  MATCH (j:Job {id: row.id})
  SET j.description = row.description, j.facets = row.facets, j.updated_at = datetime(row.now)
}
CALL () {
  UNWIND $batch.runs_new AS row
  MATCH (j:Job {id: row.job_id})
  CREATE (j)-[:HAS_RUN]->(r:Run {""" + _RUN_PROPERTIES + """,
      created_at: datetime(row.now), updated_at: datetime(row.now)})
}
CALL () {
  UNWIND $batch.runs_set AS row
  MATCH (r:Run {id: row.id})
  SET r.state = row.state, r.state_time = datetime(row.state_time),
      r.started_at = datetime(row.started_at), r.ended_at = datetime(row.ended_at),
      r.error_message = row.error_message, r.nominal_start = datetime(row.nominal_start),
      r.nominal_end = datetime(row.nominal_end), r.parent_run_id = row.parent_run_id,
      r.facets = row.facets, r.updated_at = datetime(row.now)
}
CALL () {
  UNWIND $batch.io AS row
  MATCH (r:Run {id: row.run_id}), (d:Dataset {id: row.dataset_id})
  FOREACH (x IN CASE WHEN row.input THEN [r] ELSE [] END |
    MERGE (x)-[e:READ]->(d) SET e.facets = row.facets)
  FOREACH (x IN CASE WHEN row.input THEN [] ELSE [r] END |
    MERGE (x)-[e:WROTE]->(d) SET e.facets = row.facets)
}
CALL () {
  UNWIND $batch.job_io AS row
  MATCH (j:Job {id: row.job_id}), (d:Dataset {id: row.dataset_id})
  FOREACH (x IN CASE WHEN row.input THEN [j] ELSE [] END | MERGE (x)-[:JOB_READS]->(d))
  FOREACH (x IN CASE WHEN row.input THEN [] ELSE [j] END | MERGE (x)-[:JOB_WRITES]->(d))
}
CALL () {
  UNWIND $batch.edges_new AS row
  MATCH (down:Dataset {id: row.down}), (up:Dataset {id: row.up})
  CREATE (down)-[:DERIVED_FROM {job: row.job, job_id: row.job_id, run_id: row.run_id,
                                created_at: datetime(row.now)}]->(up)
}
CALL () {
  UNWIND $batch.edges_set AS row
  MATCH (:Dataset {id: row.down})-[r:DERIVED_FROM]->(:Dataset {id: row.up})
  SET r.job = row.job, r.job_id = row.job_id, r.run_id = row.run_id
}
CALL () {
  UNWIND $batch.events AS row
  CREATE (:OpenLineageEvent {key: row.key, kind: row.kind, event_type: row.event_type,
                             event_time: datetime(row.event_time), job_id: row.job_id,
                             run_id: row.run_id, producer: row.producer,
                             received_at: datetime(row.now), payload: row.payload})
}
CALL () {
  WITH $batch.audits AS audits WHERE size(audits) > 0
  MERGE (c:Counter {name: $audit_counter})
  ON CREATE SET c.value = 0
  SET c.value = c.value + size(audits)
  WITH c.value - size(audits) AS base, audits
  UNWIND range(0, size(audits) - 1) AS i
  WITH base + i + 1 AS id, audits[i] AS a
  CREATE (:AuditEvent {id: id, at: datetime(a.at), actor: a.actor, action: a.action,
                       target_kind: a.target_kind, target_id: a.target_id, detail: a.detail,
                       request_id: a.request_id})
}
"""

# --- dataset facets, events, datasets ---------------------------------------------------------
DATASET_FACETS_GET = "MATCH (d:Dataset {id: $id}) RETURN d.ol_facets AS facets"
DATASET_FACETS_SET = """
MATCH (d:Dataset {id: $id}) SET d.ol_facets = $facets, d.ol_facets_updated_at = datetime($now)
"""
DATASET_FACETS_OF = """
MATCH (d:Dataset) WHERE d.id IN $ids AND d.ol_facets IS NOT NULL
RETURN d.id AS dataset_id, d.ol_facets AS facets
"""
EVENT_EXISTS = "MATCH (e:OpenLineageEvent {key: $key}) RETURN e.key AS key"
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

# Imports: $rows is a list of maps prepared by neo4j/transfer.py (timestamps as UTC ISO text,
# made DateTimes by datetime(); facets and payloads as JSON text). Each creates only the rows
# whose identity is absent and returns how many it created; a clash on another unique
# property (a job's natural key under another id) raises. A row whose job, run or dataset is
# missing is left out (and the verification that follows every import reports it).
IMPORT_JOBS = """
UNWIND $rows AS row
OPTIONAL MATCH (old:Job {id: row.id})
WITH row WHERE old IS NULL
CREATE (j:Job {id: row.id, natural_key: row.natural_key, namespace: row.namespace,
               name: row.name, description: row.description, facets: row.facets,
               created_at: datetime(row.created_at), updated_at: datetime(row.updated_at)})
RETURN count(j) AS created
"""
IMPORT_RUNS = """
UNWIND $rows AS row
OPTIONAL MATCH (old:Run {id: row.id})
WITH row WHERE old IS NULL
MATCH (j:Job {id: row.job_id})
CREATE (j)-[:HAS_RUN]->(r:Run {""" + _RUN_PROPERTIES + """,
    created_at: datetime(row.created_at), updated_at: datetime(row.updated_at)})
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
                              created_at: datetime(row.created_at), job_id: row.job_id,
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
                                    created_at: datetime(row.created_at)}]->(up)
RETURN count(*) AS created
"""
IMPORT_DATASET_FACETS = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.dataset_id}) WHERE d.ol_facets IS NULL
SET d.ol_facets = row.facets, d.ol_facets_updated_at = datetime(row.updated_at)
RETURN count(d) AS created
"""
IMPORT_EVENTS = """
UNWIND $rows AS row
OPTIONAL MATCH (old:OpenLineageEvent {key: row.event_key})
WITH row WHERE old IS NULL
CREATE (e:OpenLineageEvent {key: row.event_key, kind: row.kind, event_type: row.event_type,
                            event_time: datetime(row.event_time), job_id: row.job_id,
                            run_id: row.run_id, producer: row.producer,
                            received_at: datetime(row.received_at), payload: row.payload})
RETURN count(e) AS created
"""
