"""The Neo4j schema: the closed label and relationship-type enums, the constraints and indexes
created at open, and the health check. Re-exported by ``cypher.py``, whose rules apply.
"""

from __future__ import annotations

import enum


class Label(enum.StrEnum):
    SOURCE = "Source"
    DATASET = "Dataset"
    VERSION = "DatasetVersion"
    FIELD = "Field"
    ENTITY = "Entity"
    TAG = "Tag"
    OWNER = "Owner"
    AUDIT = "AuditEvent"
    API_TOKEN = "ApiToken"  # noqa: S105 - a node label, not a secret
    COUNTER = "Counter"
    LEASE = "Lease"   # server/storage/neo4j/leases.py
    EMBEDDING = "DatasetEmbedding"    # semantic search (embeddings.py)
    EMBEDDING_MODEL = "EmbeddingModel"
    SUGGESTION = "Suggestion"   # enrichment suggestions (suggestions.py)


class Rel(enum.StrEnum):
    HAS_VERSION = "HAS_VERSION"
    HAS_FIELD = "HAS_FIELD"
    FROM_SOURCE = "FROM_SOURCE"
    DESCRIBES = "DESCRIBES"
    TAGGED = "TAGGED"
    OWNED_BY = "OWNED_BY"
    DERIVED_FROM = "DERIVED_FROM"


SEARCH_INDEX = "peso_dataset_search"

# --- schema: run once per open(); every statement is idempotent ----------------------------
SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT peso_source_id IF NOT EXISTS FOR (s:Source) REQUIRE s.id IS UNIQUE",
    "CREATE CONSTRAINT peso_source_name IF NOT EXISTS FOR (s:Source) REQUIRE s.name IS UNIQUE",
    "CREATE CONSTRAINT peso_dataset_id IF NOT EXISTS FOR (d:Dataset) REQUIRE d.id IS UNIQUE",
    "CREATE CONSTRAINT peso_dataset_key IF NOT EXISTS "
    "FOR (d:Dataset) REQUIRE d.natural_key IS UNIQUE",
    "CREATE CONSTRAINT peso_version_id IF NOT EXISTS "
    "FOR (v:DatasetVersion) REQUIRE v.id IS UNIQUE",
    "CREATE CONSTRAINT peso_field_id IF NOT EXISTS FOR (f:Field) REQUIRE f.id IS UNIQUE",
    "CREATE CONSTRAINT peso_entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE",
    "CREATE CONSTRAINT peso_entity_key IF NOT EXISTS "
    "FOR (e:Entity) REQUIRE e.natural_key IS UNIQUE",
    "CREATE CONSTRAINT peso_tag_name IF NOT EXISTS FOR (t:Tag) REQUIRE t.name IS UNIQUE",
    "CREATE CONSTRAINT peso_owner_name IF NOT EXISTS FOR (o:Owner) REQUIRE o.name IS UNIQUE",
    "CREATE CONSTRAINT peso_audit_id IF NOT EXISTS FOR (a:AuditEvent) REQUIRE a.id IS UNIQUE",
    "CREATE CONSTRAINT peso_counter_name IF NOT EXISTS FOR (c:Counter) REQUIRE c.name IS UNIQUE",
    # sort orders of list_datasets / list_entities, and the audit trail of one target
    "CREATE INDEX peso_dataset_name IF NOT EXISTS FOR (d:Dataset) ON (d.namespace, d.name)",
    "CREATE INDEX peso_dataset_created IF NOT EXISTS FOR (d:Dataset) ON (d.created_at)",
    "CREATE INDEX peso_dataset_updated IF NOT EXISTS FOR (d:Dataset) ON (d.updated_at)",
    "CREATE INDEX peso_entity_name IF NOT EXISTS FOR (e:Entity) ON (e.name)",
    "CREATE INDEX peso_audit_target IF NOT EXISTS FOR (a:AuditEvent) ON (a.target_id)",
    # API tokens and the admin's audit-log filters (server/storage/neo4j/security.py)
    "CREATE CONSTRAINT peso_token_id IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.id IS UNIQUE",
    "CREATE CONSTRAINT peso_token_name IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.name IS UNIQUE",
    "CREATE INDEX peso_audit_actor IF NOT EXISTS FOR (a:AuditEvent) ON (a.actor)",
    "CREATE INDEX peso_audit_action IF NOT EXISTS FOR (a:AuditEvent) ON (a.action)",
    "CREATE CONSTRAINT peso_lease_name IF NOT EXISTS FOR (l:Lease) REQUIRE l.name IS UNIQUE",
    # enrichers' suggestions (server/storage/neo4j/suggestions.py)
    "CREATE CONSTRAINT peso_suggestion_id IF NOT EXISTS FOR (s:Suggestion) REQUIRE s.id IS UNIQUE",
    "CREATE CONSTRAINT peso_suggestion_key IF NOT EXISTS "
    "FOR (s:Suggestion) REQUIRE s.key IS UNIQUE",
    "CREATE INDEX peso_suggestion_dataset IF NOT EXISTS FOR (s:Suggestion) ON (s.dataset_id)",
    # deleted datasets (few): found without a scan at open (cypher_datasets.DELETED_OUT_OF_SEARCH)
    "CREATE INDEX peso_dataset_deleted IF NOT EXISTS FOR (d:Dataset) ON (d.deleted_at)",
    # full-text search over the denormalised search_* properties (words split on anything
    # that is not a letter or digit, so 'ads_spend' finds 'spend'); updated at commit
    "CREATE FULLTEXT INDEX peso_dataset_search IF NOT EXISTS FOR (d:Dataset) ON EACH "
    "[d.search_namespace, d.search_name, d.search_description, d.search_tags, d.search_fields] "
    "OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words', "
    "`fulltext.eventually_consistent`: false}}",
    # semantic search (embeddings.py): the embedding queue, one vector node per dataset; the
    # vector index itself is created by prepare_embeddings, which knows the model's width
    "CREATE INDEX peso_dataset_embedding_ticket IF NOT EXISTS "
    "FOR (d:Dataset) ON (d.embedding_ticket)",
    "CREATE CONSTRAINT peso_embedding_dataset IF NOT EXISTS "
    "FOR (e:DatasetEmbedding) REQUIRE e.dataset_id IS UNIQUE",
)
# wait until the indexes above are online (a new full-text index is populated in the background)
AWAIT_INDEXES = "CALL db.awaitIndexes($seconds)"
PING = "RETURN 1 AS ok"

# Tests only (the contract suite's fixture): remove every node and edge.
WIPE = "MATCH (n) DETACH DELETE n"
