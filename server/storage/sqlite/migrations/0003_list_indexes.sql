-- 0003: indexes for the datasets list on large catalogs (see bench/catalog_100k.py).
-- Live-only (partial) like datasets_live_created/updated, so counts of live datasets are
-- answered from the index alone.

-- filter by namespace: count(*) reads the index instead of every dataset row of the namespace
CREATE INDEX datasets_live_name ON datasets (namespace, name) WHERE deleted_at IS NULL;
-- filter by source, ordered by (namespace, name): the first page stops after `first` rows
-- instead of sorting every dataset of the source
CREATE INDEX datasets_live_source ON datasets (source_id, namespace, name)
    WHERE deleted_at IS NULL;
