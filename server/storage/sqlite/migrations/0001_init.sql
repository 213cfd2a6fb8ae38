-- 0001: the catalog graph mapped to tables. Node tables carry text ids; edge tables are
-- stored in one direction only, as in the property graph (see docs/ARCHITECTURE.md).

CREATE TABLE sources (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    url         TEXT,
    license     TEXT,
    description TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE datasets (
    rid         INTEGER PRIMARY KEY,          -- rowid alias: links dataset_fts rows
    id          TEXT NOT NULL UNIQUE,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    layer       TEXT NOT NULL,
    description TEXT,
    source_id   TEXT REFERENCES sources(id),  -- FROM_SOURCE
    latest_version_id TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT,
    UNIQUE (namespace, name)
);
CREATE INDEX datasets_live_created ON datasets (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX datasets_live_updated ON datasets (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX datasets_source ON datasets (source_id);

CREATE TABLE versions (                       -- HAS_VERSION
    id           TEXT PRIMARY KEY,
    dataset_id   TEXT NOT NULL REFERENCES datasets(id),
    version      INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    row_count    INTEGER NOT NULL,
    byte_size    INTEGER NOT NULL,
    raw_key      TEXT,
    curated_key  TEXT,
    format       TEXT,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    UNIQUE (dataset_id, version)
);

CREATE TABLE fields (                         -- HAS_FIELD
    id          TEXT PRIMARY KEY,
    version_id  TEXT NOT NULL REFERENCES versions(id),
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    arrow_type  TEXT NOT NULL,
    nullable    INTEGER NOT NULL,
    description TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}',
    UNIQUE (version_id, position)
);

CREATE TABLE entities (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    is_human    INTEGER NOT NULL,
    description TEXT,
    identifiers TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    UNIQUE (kind, name)
);
CREATE INDEX entities_name ON entities (name, id);

CREATE TABLE dataset_entities (               -- DESCRIBES (dataset -> entity)
    dataset_id TEXT NOT NULL REFERENCES datasets(id),
    entity_id  TEXT NOT NULL REFERENCES entities(id),
    role       TEXT,
    PRIMARY KEY (dataset_id, entity_id)
);
CREATE INDEX dataset_entities_entity ON dataset_entities (entity_id);

CREATE TABLE tags (                           -- TAGGED
    dataset_id TEXT NOT NULL REFERENCES datasets(id),
    tag        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (dataset_id, tag)
);
CREATE INDEX tags_tag ON tags (tag, dataset_id);

CREATE TABLE owners (                         -- OWNED_BY
    dataset_id TEXT NOT NULL REFERENCES datasets(id),
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    email      TEXT,
    PRIMARY KEY (dataset_id, name)
);

CREATE TABLE lineage (                        -- DERIVED_FROM (downstream -> upstream)
    downstream_id  TEXT NOT NULL REFERENCES datasets(id),
    upstream_id    TEXT NOT NULL REFERENCES datasets(id),
    transformation TEXT,
    job            TEXT,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (downstream_id, upstream_id)
);
CREATE INDEX lineage_upstream ON lineage (upstream_id, downstream_id);

CREATE TABLE audit (                          -- append-only: no UPDATE or DELETE anywhere
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_target ON audit (target_id, id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Full-text index: one row per live dataset, rowid = datasets.rid.
CREATE VIRTUAL TABLE dataset_fts USING fts5(
    namespace, name, description, tags, fields,
    tokenize = 'unicode61 remove_diacritics 2'
);
