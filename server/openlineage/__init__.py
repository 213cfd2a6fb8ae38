"""OpenLineage in Peso: the consumer (POST /api/v1/lineage, `peso lineage ingest`), event
checks against the bundled spec (validate.py), facets onto the graph (facets.py), and Peso's
own runs as a producer (producer.py, peso_jobs.py). See README.md, section Lineage."""
