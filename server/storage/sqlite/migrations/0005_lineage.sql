-- 0005: lineage. OpenLineage jobs and runs, the datasets runs read and wrote, column lineage
-- (FIELD_DERIVED_FROM) as first-class rows, the OpenLineage facets of each dataset, and every
-- event received (its key makes a replay a no-op). DERIVED_FROM edges learn their job and run.

CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    facets      TEXT NOT NULL DEFAULT '{}',     -- latest of each job facet (JSON object)
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (namespace, name)
);

CREATE TABLE runs (                             -- (:Job)-[:HAS_RUN]->(:Run)
    id            TEXT PRIMARY KEY,             -- the OpenLineage runId (lower-case UUID)
    job_id        TEXT NOT NULL REFERENCES jobs(id),
    state         TEXT NOT NULL,                -- start|running|complete|fail|abort|other
    state_time    TEXT NOT NULL,                -- eventTime of the event that set the state
    started_at    TEXT,
    ended_at      TEXT,
    error_message TEXT,
    nominal_start TEXT,
    nominal_end   TEXT,
    parent_run_id TEXT,
    facets        TEXT NOT NULL DEFAULT '{}',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX runs_job ON runs (job_id, created_at, id);
CREATE INDEX runs_created ON runs (created_at, id);

CREATE TABLE run_datasets (                     -- (:Run)-[:READ|WROTE {facets}]->(:Dataset)
    run_id     TEXT NOT NULL REFERENCES runs(id),
    dataset_id TEXT NOT NULL REFERENCES datasets(id),
    role       TEXT NOT NULL,                   -- input | output
    facets     TEXT NOT NULL DEFAULT '{}',      -- inputFacets / outputFacets (quality, stats)
    PRIMARY KEY (run_id, role, dataset_id)
);
CREATE INDEX run_datasets_dataset ON run_datasets (dataset_id, run_id);

CREATE TABLE job_datasets (                     -- a job's known inputs and outputs
    job_id     TEXT NOT NULL REFERENCES jobs(id),
    dataset_id TEXT NOT NULL REFERENCES datasets(id),
    role       TEXT NOT NULL,
    PRIMARY KEY (job_id, role, dataset_id)
);

ALTER TABLE lineage ADD COLUMN job_id TEXT REFERENCES jobs(id);
ALTER TABLE lineage ADD COLUMN run_id TEXT;

CREATE TABLE column_lineage (                   -- FIELD_DERIVED_FROM (downstream <- upstream)
    downstream_id          TEXT NOT NULL REFERENCES datasets(id),
    downstream_field       TEXT NOT NULL,
    upstream_id            TEXT NOT NULL REFERENCES datasets(id),
    upstream_field         TEXT NOT NULL,
    transformation_type    TEXT NOT NULL DEFAULT '',   -- DIRECT | INDIRECT | '' (unknown)
    transformation_subtype TEXT NOT NULL DEFAULT '',   -- IDENTITY, TRANSFORMATION, FILTER, …
    description            TEXT,
    masking                INTEGER NOT NULL DEFAULT 0,
    job_id                 TEXT,
    run_id                 TEXT,
    created_at             TEXT NOT NULL,
    PRIMARY KEY (downstream_id, downstream_field, upstream_id, upstream_field,
                 transformation_type, transformation_subtype)
);
CREATE INDEX column_lineage_upstream ON column_lineage (upstream_id, upstream_field);

CREATE TABLE dataset_facets (                   -- the latest of each OpenLineage dataset facet
    dataset_id TEXT PRIMARY KEY REFERENCES datasets(id),
    facets     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE lineage_events (                   -- every OpenLineage event applied, as received
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_key   TEXT NOT NULL UNIQUE,           -- run|<runId>|<eventType>|<eventTime>, …
    kind        TEXT NOT NULL,                  -- run | job | dataset
    event_type  TEXT,
    event_time  TEXT NOT NULL,
    job_id      TEXT,
    run_id      TEXT,
    producer    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX lineage_events_run ON lineage_events (run_id, id);
