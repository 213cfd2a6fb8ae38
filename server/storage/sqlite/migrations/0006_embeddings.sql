-- 0006: embeddings for semantic search (server/storage/sqlite/embeddings.py). A derived index
-- like dataset_fts: helpers._reindex queues a dataset whenever its text changes, and the
-- semantic indexer (server/semantic.py) drains the queue into dataset_embeddings.

CREATE TABLE embedding_model (
    id         INTEGER PRIMARY KEY CHECK (id = 1),  -- one row: the model of every vector
    model      TEXT NOT NULL,
    dimensions INTEGER NOT NULL,
    generation INTEGER NOT NULL                     -- bumped when the model changes
);

CREATE TABLE dataset_embeddings (
    rid    INTEGER PRIMARY KEY REFERENCES datasets(rid),
    seq    INTEGER NOT NULL,   -- increases with every store: readers load only what is new
    vector BLOB NOT NULL       -- little-endian float32, unit length
);
CREATE INDEX dataset_embeddings_seq ON dataset_embeddings (seq);

-- datasets whose vector is missing or stale; ticket changes with every re-queue
CREATE TABLE embedding_queue (
    rid    INTEGER PRIMARY KEY REFERENCES datasets(rid),
    ticket TEXT NOT NULL
);
INSERT INTO embedding_queue (rid, ticket)
    SELECT rid, lower(hex(randomblob(16))) FROM datasets WHERE deleted_at IS NULL;
