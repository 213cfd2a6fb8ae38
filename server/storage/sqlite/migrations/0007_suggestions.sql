-- 0006: enrichers' suggestions (server/enrich/), one row per proposed change; `key` names
-- what is proposed for one dataset version, so a rejected one is never proposed again.

CREATE TABLE suggestions (
    id               TEXT PRIMARY KEY,
    key              TEXT NOT NULL UNIQUE,
    dataset_id       TEXT NOT NULL REFERENCES datasets(id),
    version_id       TEXT NOT NULL REFERENCES versions(id),
    version          INTEGER NOT NULL,
    kind             TEXT NOT NULL,       -- semantic_type | entity | join_key | description | tag
    target           TEXT NOT NULL,       -- a column name, '' for the whole dataset
    value            TEXT NOT NULL,       -- JSON
    confidence       REAL NOT NULL,
    evidence         TEXT NOT NULL,       -- JSON
    enricher         TEXT NOT NULL,
    enricher_version TEXT NOT NULL,
    status           TEXT NOT NULL,       -- pending | accepted | rejected | superseded
    created_at       TEXT NOT NULL,
    decided_at       TEXT,
    decided_by       TEXT,
    note             TEXT
);
CREATE INDEX suggestions_dataset ON suggestions (dataset_id, status, created_at);
CREATE INDEX suggestions_status ON suggestions (status, created_at);
