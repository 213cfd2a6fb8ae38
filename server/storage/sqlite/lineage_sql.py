"""The SQL of lineage on SQLite: jobs, runs, walks, column lineage, OpenLineage events.

Values are always ``?`` parameters. Sets of ids travel as ONE parameter, a JSON array read
with ``json_each`` (no placeholder lists to format, no variable-count limit); pairs of
(dataset id, field) as a JSON array of two-element arrays. Nothing is ever formatted in.
"""

from __future__ import annotations

JOB_COLS = "j.id, j.namespace, j.name, j.description, j.facets, j.created_at, j.updated_at"
RUN_COLS = ("r.id, r.job_id, r.state, r.state_time, r.started_at, r.ended_at, r.error_message, "
            "r.nominal_start, r.nominal_end, r.parent_run_id, r.facets, r.created_at, "
            "r.updated_at")
EDGE_COLS = ("l.downstream_id, l.upstream_id, l.transformation, l.job, l.created_at, "
             "l.job_id, l.run_id")
COLUMN_COLS = ("c.downstream_id, c.downstream_field, c.upstream_id, c.upstream_field, "
               "c.transformation_type, c.transformation_subtype, c.description, c.masking, "
               "c.job_id, c.run_id, c.created_at")
IDS = "(SELECT value FROM json_each(?))"
PAIRS = "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))"

# --- jobs --------------------------------------------------------------------------------
JOB_BY_KEY = f"SELECT {JOB_COLS} FROM jobs j WHERE j.namespace = ? AND j.name = ?"
JOB_INSERT = ("INSERT INTO jobs (id, namespace, name, description, facets, created_at, "
              "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
JOB_UPDATE = "UPDATE jobs SET description = ?, facets = ?, updated_at = ? WHERE id = ?"
JOBS_BY_IDS = f"SELECT {JOB_COLS} FROM jobs j WHERE j.id IN {IDS}"
# (namespace, name) pairs as one JSON array of two-element arrays
JOBS_BY_KEYS = f"SELECT {JOB_COLS} FROM jobs j WHERE (j.namespace, j.name) IN {PAIRS}"
# keyset page by (namespace, name); ?1 NULL on the first page; ?4 NULL: every namespace
JOB_PAGE = (f"SELECT {JOB_COLS} FROM jobs j WHERE (?4 IS NULL OR j.namespace = ?4) "
            "AND (?1 IS NULL OR (j.namespace, j.name) > (?1, ?2)) "
            "ORDER BY j.namespace, j.name LIMIT ?3")
JOB_COUNT = "SELECT count(*) FROM jobs WHERE ?1 IS NULL OR namespace = ?1"
JOB_DATASET_ADD = "INSERT OR IGNORE INTO job_datasets (job_id, dataset_id, role) VALUES (?, ?, ?)"
JOB_DATASETS_OF = ("SELECT jd.job_id, jd.dataset_id, jd.role FROM job_datasets jd "
                   f"JOIN datasets d ON d.id = jd.dataset_id WHERE jd.job_id IN {IDS} "
                   "ORDER BY jd.job_id, jd.role, d.namespace, d.name")

# --- runs --------------------------------------------------------------------------------
RUN_BY_ID = f"SELECT {RUN_COLS} FROM runs r WHERE r.id = ?"
RUN_INSERT = ("INSERT INTO runs (id, job_id, state, state_time, started_at, ended_at, "
              "error_message, nominal_start, nominal_end, parent_run_id, facets, created_at, "
              "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
RUN_UPDATE = ("UPDATE runs SET state = ?, state_time = ?, started_at = ?, ended_at = ?, "
              "error_message = ?, nominal_start = ?, nominal_end = ?, parent_run_id = ?, "
              "facets = ?, updated_at = ? WHERE id = ?")
RUNS_BY_IDS = f"SELECT {RUN_COLS} FROM runs r WHERE r.id IN {IDS}"
# newest first by (created_at, id); ?1 the job (NULL: every job), ?2/?3 the keyset cursor
RUN_PAGE = (f"SELECT {RUN_COLS} FROM runs r WHERE (?1 IS NULL OR r.job_id = ?1) "
            "AND (?2 IS NULL OR (r.created_at, r.id) < (?2, ?3)) "
            "ORDER BY r.created_at DESC, r.id DESC LIMIT ?4")
RUN_COUNT = "SELECT count(*) FROM runs r WHERE (?1 IS NULL OR r.job_id = ?1)"
# the first ?2 runs of each job in ?1 (a JSON list), newest first: one read for a list of jobs
RUNS_OF_JOBS = (f"SELECT * FROM (SELECT {RUN_COLS}, row_number() OVER (PARTITION BY r.job_id "
                "ORDER BY r.created_at DESC, r.id DESC) AS rank FROM runs r "
                f"WHERE r.job_id IN {IDS}) WHERE rank <= ?2 ORDER BY job_id, rank")
RUN_COUNTS_OF_JOBS = (f"SELECT r.job_id, count(*) AS n FROM runs r WHERE r.job_id IN {IDS} "
                      "GROUP BY r.job_id")
# a run's input/output facets accumulate over its events (json_patch: later keys win)
RUN_DATASET_UPSERT = ("INSERT INTO run_datasets (run_id, dataset_id, role, facets) "
                      "VALUES (?, ?, ?, ?) ON CONFLICT (run_id, role, dataset_id) DO UPDATE "
                      "SET facets = json_patch(run_datasets.facets, excluded.facets)")
RUN_DATASETS_OF = ("SELECT rd.run_id, rd.dataset_id, rd.role, rd.facets FROM run_datasets rd "
                   f"JOIN datasets d ON d.id = rd.dataset_id WHERE rd.run_id IN {IDS} "
                   "ORDER BY rd.run_id, rd.role, d.namespace, d.name")

# --- DERIVED_FROM with job and run ---------------------------------------------------------
EDGE_GET = f"SELECT {EDGE_COLS} FROM lineage l WHERE l.downstream_id = ? AND l.upstream_id = ?"
EDGE_INSERT = ("INSERT INTO lineage (downstream_id, upstream_id, transformation, job, "
               "created_at, job_id, run_id) VALUES (?, ?, NULL, ?, ?, ?, ?)")
EDGE_SET_JOB = ("UPDATE lineage SET job = ?, job_id = ?, run_id = ? "
                "WHERE downstream_id = ? AND upstream_id = ?")

# --- bounded walks (server/storage/lineage_walk.py) --------------------------------------
# One hop from a frontier (?1), not into the excluded (?2), the first ?3 by (namespace, name).
# The IN/NOT IN sets are materialised once as indexed ephemeral tables.
EXPAND_UPSTREAM = f"""
SELECT DISTINCT d.id, d.namespace, d.name
FROM lineage l JOIN datasets d ON d.id = l.upstream_id AND d.deleted_at IS NULL
WHERE l.downstream_id IN {IDS} AND l.upstream_id NOT IN {IDS}
ORDER BY d.namespace, d.name LIMIT ?
"""
EXPAND_DOWNSTREAM = f"""
SELECT DISTINCT d.id, d.namespace, d.name
FROM lineage l JOIN datasets d ON d.id = l.downstream_id AND d.deleted_at IS NULL
WHERE l.upstream_id IN {IDS} AND l.downstream_id NOT IN {IDS}
ORDER BY d.namespace, d.name LIMIT ?
"""
# Edges with a downstream end in ?1 and an upstream end in ?2, at most ?3: every edge among
# the nodes reached (?1 = ?2), or a shortest-path back step. One primary-key seek per
# downstream id, its few rows checked against ?2 (the unary + keeps SQLite from probing
# (downstream, upstream) once per PAIR of ids: 1,000 nodes were a million probes, ~185 ms
# of a 1,000-node walk on a 100k catalog; now ~4 ms).
EDGES_BETWEEN = (f"SELECT {EDGE_COLS} FROM json_each(?1) AS j "
                 "CROSS JOIN lineage l ON l.downstream_id = j.value "
                 "WHERE +l.upstream_id IN (SELECT value FROM json_each(?2)) LIMIT ?3")
EDGES_AMONG = EDGES_BETWEEN
DATASETS_BY_JSON_IDS = ("SELECT d.id, d.namespace, d.name, d.layer, d.description, "
                        "d.source_id, d.created_at, d.updated_at, d.deleted_at, d.contract "
                        f"FROM datasets d WHERE d.id IN {IDS}")

# --- column lineage ----------------------------------------------------------------------
COLUMN_GET = (f"SELECT {COLUMN_COLS} FROM column_lineage c WHERE c.downstream_id = ? "
              "AND c.downstream_field = ? AND c.upstream_id = ? AND c.upstream_field = ? "
              "AND c.transformation_type = ? AND c.transformation_subtype = ?")
# the records of these identities (?: a JSON array of [downstream id, downstream field,
# upstream id, upstream field, type, subtype]): one primary-key seek each
COLUMNS_BY_IDENTS = (f"SELECT {COLUMN_COLS} FROM json_each(?) AS j CROSS JOIN column_lineage c "
                     "ON c.downstream_id = json_extract(j.value, '$[0]') "
                     "AND c.downstream_field = json_extract(j.value, '$[1]') "
                     "AND c.upstream_id = json_extract(j.value, '$[2]') "
                     "AND c.upstream_field = json_extract(j.value, '$[3]') "
                     "AND c.transformation_type = json_extract(j.value, '$[4]') "
                     "AND c.transformation_subtype = json_extract(j.value, '$[5]')")
COLUMN_INSERT = ("INSERT INTO column_lineage (downstream_id, downstream_field, upstream_id, "
                 "upstream_field, transformation_type, transformation_subtype, description, "
                 "masking, job_id, run_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
COLUMN_UPDATE = ("UPDATE column_lineage SET description = ?, masking = ?, job_id = ?, "
                 "run_id = ? WHERE downstream_id = ? AND downstream_field = ? "
                 "AND upstream_id = ? AND upstream_field = ? AND transformation_type = ? "
                 "AND transformation_subtype = ?")
COLUMN_EXPAND_UPSTREAM = f"""
SELECT DISTINCT c.upstream_id AS id, c.upstream_field AS field, d.namespace, d.name
FROM column_lineage c JOIN datasets d ON d.id = c.upstream_id AND d.deleted_at IS NULL
WHERE (c.downstream_id, c.downstream_field) IN {PAIRS}
  AND (c.upstream_id, c.upstream_field) NOT IN {PAIRS}
ORDER BY d.namespace, d.name, c.upstream_field LIMIT ?
"""
COLUMN_EXPAND_DOWNSTREAM = f"""
SELECT DISTINCT c.downstream_id AS id, c.downstream_field AS field, d.namespace, d.name
FROM column_lineage c JOIN datasets d ON d.id = c.downstream_id AND d.deleted_at IS NULL
WHERE (c.upstream_id, c.upstream_field) IN {PAIRS}
  AND (c.downstream_id, c.downstream_field) NOT IN {PAIRS}
ORDER BY d.namespace, d.name, c.downstream_field LIMIT ?
"""
# every edge among the columns reached (?1 = ?2), at most ?3: one seek per downstream column,
# like EDGES_BETWEEN (not one probe per pair of columns)
COLUMN_EDGES_AMONG = (f"SELECT {COLUMN_COLS} FROM (SELECT json_extract(value, '$[0]') AS id, "
                      "json_extract(value, '$[1]') AS field FROM json_each(?1)) AS j "
                      "CROSS JOIN column_lineage c "
                      "ON c.downstream_id = j.id AND c.downstream_field = j.field "
                      "WHERE (+c.upstream_id, +c.upstream_field) IN (SELECT json_extract("
                      "value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2)) LIMIT ?3")

# --- dataset facets and events -----------------------------------------------------------
DATASET_FACETS_GET = "SELECT facets FROM dataset_facets WHERE dataset_id = ?"
DATASET_FACETS_PUT = ("INSERT INTO dataset_facets (dataset_id, facets, updated_at) "
                      "VALUES (?, ?, ?) ON CONFLICT (dataset_id) DO UPDATE "
                      "SET facets = excluded.facets, updated_at = excluded.updated_at")
DATASET_FACETS_OF = f"SELECT dataset_id, facets FROM dataset_facets WHERE dataset_id IN {IDS}"
EVENT_EXISTS = "SELECT 1 FROM lineage_events WHERE event_key = ?"
EVENT_INSERT = ("INSERT INTO lineage_events (event_key, kind, event_type, event_time, job_id, "
                "run_id, producer, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")

# --- whole-catalog export/import (peso migrate, peso export; storage/transfer.py) ----------
# Exports in identity order; imports keep ids and timestamps and skip what is already there
# (by identity: a clash on another unique column, a job's namespace and name under another
# id, raises). A lineage event's local id is not exported: the target numbers them in order.
EXPORT_JOBS = f"SELECT {JOB_COLS} FROM jobs j ORDER BY j.id"
EXPORT_RUNS = f"SELECT {RUN_COLS} FROM runs r ORDER BY r.id"
EXPORT_RUN_DATASETS = ("SELECT run_id, dataset_id, role, facets FROM run_datasets "
                       "ORDER BY run_id, role, dataset_id")
EXPORT_JOB_DATASETS = ("SELECT job_id, dataset_id, role FROM job_datasets "
                       "ORDER BY job_id, role, dataset_id")
EXPORT_COLUMN_LINEAGE = (f"SELECT {COLUMN_COLS} FROM column_lineage c "
                         "ORDER BY c.downstream_id, c.downstream_field, c.upstream_id, "
                         "c.upstream_field, c.transformation_type, c.transformation_subtype")
EXPORT_DATASET_FACETS = ("SELECT dataset_id, facets, updated_at FROM dataset_facets "
                         "ORDER BY dataset_id")
EXPORT_EVENTS = ("SELECT event_key, kind, event_type, event_time, job_id, run_id, producer, "
                 "received_at, payload FROM lineage_events ORDER BY id")
IMPORT_JOB = ("INSERT INTO jobs (id, namespace, name, description, facets, created_at, "
              "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")
IMPORT_RUN = ("INSERT INTO runs (id, job_id, state, state_time, started_at, ended_at, "
              "error_message, nominal_start, nominal_end, parent_run_id, facets, created_at, "
              "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (id) DO NOTHING")
IMPORT_RUN_DATASET = ("INSERT INTO run_datasets (run_id, dataset_id, role, facets) "
                      "VALUES (?, ?, ?, ?) ON CONFLICT (run_id, role, dataset_id) DO NOTHING")
IMPORT_JOB_DATASET = ("INSERT INTO job_datasets (job_id, dataset_id, role) VALUES (?, ?, ?) "
                      "ON CONFLICT (job_id, role, dataset_id) DO NOTHING")
IMPORT_COLUMN_LINEAGE = ("INSERT INTO column_lineage (downstream_id, downstream_field, "
                         "upstream_id, upstream_field, transformation_type, "
                         "transformation_subtype, description, masking, job_id, run_id, "
                         "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                         "ON CONFLICT (downstream_id, downstream_field, upstream_id, "
                         "upstream_field, transformation_type, transformation_subtype) "
                         "DO NOTHING")
IMPORT_DATASET_FACETS = ("INSERT INTO dataset_facets (dataset_id, facets, updated_at) "
                         "VALUES (?, ?, ?) ON CONFLICT (dataset_id) DO NOTHING")
IMPORT_EVENT = ("INSERT INTO lineage_events (event_key, kind, event_type, event_time, job_id, "
                "run_id, producer, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (event_key) DO NOTHING")
