"""Cypher of the embeddings behind semantic search (``embeddings.py``, and the reindex hook
in ``base.py``). Re-exported by ``cypher.py``, whose rules apply: every value is a
parameter; the one exception, the vector index's width in ``create_vector_index``, is an int.
The model of the stored vectors is the one ``EmbeddingModel`` node."""

from __future__ import annotations

VECTOR_INDEX = "peso_dataset_embedding"

DATASET_DELETED = "MATCH (d:Dataset {id: $id}) RETURN d.deleted_at IS NOT NULL AS deleted"
# a dataset queued for (re-)embedding carries d.embedding_ticket (indexed in SCHEMA)
EMBEDDING_QUEUE = "MATCH (d:Dataset {id: $id}) SET d.embedding_ticket = randomUUID()"
EMBEDDING_FORGET = """
MATCH (d:Dataset {id: $id}) REMOVE d.embedding_ticket
WITH d OPTIONAL MATCH (e:DatasetEmbedding {dataset_id: d.id}) DELETE e
"""
EMBEDDING_MODEL = ("MATCH (m:EmbeddingModel) "
                   "RETURN m.model AS model, m.dimensions AS dimensions LIMIT 1")
EMBEDDING_SET_MODEL = ("MERGE (m:EmbeddingModel) "
                       "SET m.model = $model, m.dimensions = $dimensions")
EMBEDDING_DROP_ALL = "MATCH (e:DatasetEmbedding) DETACH DELETE e"
EMBEDDING_QUEUE_ALL = ("MATCH (d:Dataset) WHERE d.deleted_at IS NULL "
                       "SET d.embedding_ticket = randomUUID()")
DROP_VECTOR_INDEX = "DROP INDEX peso_dataset_embedding IF EXISTS"  # VECTOR_INDEX


def create_vector_index(dimensions: int) -> str:
    width = int(dimensions)  # an int, never text from outside
    return (f"CREATE VECTOR INDEX {VECTOR_INDEX} IF NOT EXISTS "
            "FOR (e:DatasetEmbedding) ON (e.vector) OPTIONS {indexConfig: {"
            f"`vector.dimensions`: {width}, `vector.similarity_function`: 'cosine'}}}}")


EMBEDDING_PENDING = """
MATCH (d:Dataset) WHERE d.embedding_ticket IS NOT NULL AND d.deleted_at IS NULL
WITH d LIMIT $limit
OPTIONAL MATCH (d)-[:TAGGED]->(t:Tag)
WITH d, t.name AS tag ORDER BY tag
WITH d, collect(tag) AS tags
OPTIONAL MATCH (:DatasetVersion {id: d.latest_version_id})-[:HAS_FIELD]->(f:Field)
WITH d, tags, f ORDER BY f.position
RETURN d.id AS id, d.embedding_ticket AS ticket, d.namespace AS namespace, d.name AS name,
       d.description AS description, tags, collect(f.name) AS fields
"""
# one row per stored item: only where the ticket is still the dataset's current one
EMBEDDING_STORE = """
UNWIND $items AS item
MATCH (d:Dataset {id: item.id})
WHERE d.embedding_ticket = item.ticket AND d.deleted_at IS NULL
MERGE (e:DatasetEmbedding {dataset_id: d.id})
SET e.vector = item.vector
REMOVE d.embedding_ticket
RETURN count(d) AS n
"""
# the index's cosine score is (1 + cos) / 2; the caller maps it back to cos
EMBEDDING_NEAREST = """
CALL db.index.vector.queryNodes('peso_dataset_embedding', $k, $vector) YIELD node, score
MATCH (d:Dataset {id: node.dataset_id}) WHERE d.deleted_at IS NULL
WITH d, score ORDER BY score DESC, d.namespace, d.name LIMIT $limit
OPTIONAL MATCH (d)-[:FROM_SOURCE]->(s:Source)
RETURN d {.*, source_id: s.id} AS d, score ORDER BY score DESC, d.namespace, d.name
"""
