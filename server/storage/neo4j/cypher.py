"""All Cypher of the Neo4j graph store, each statement commented.

The statements live in one module per domain and this module re-exports every name, so
callers write ``cypher.X``: ``cypher_schema`` (labels, relationship types, constraints and
indexes), ``cypher_catalog`` (sources, entities, tags, owners), ``cypher_datasets`` (datasets,
listing builders, search, audit), ``cypher_versions`` (versions, fields, lineage edges, the
walk builder), ``cypher_transfer`` (whole-catalog export/import). A name added to one of them
must be re-exported below (``import X as X``: an explicit re-export); tests/test_neo4j_cypher.py
fails otherwise.

Rules (checked by tests/test_neo4j_cypher.py without a server):
- values only ever travel as ``$parameters``; the text below is constant;
- labels and relationship types are members of the closed enums ``Label`` and ``Rel``;
- the only text ever formatted in comes from the closed maps in the builders
  (``cypher_datasets``: sort columns and directions keyed by ``DatasetSort``) or is a lineage
  depth that ``validate_depth`` (``cypher_versions``) has proved to be an int in 1..max.

A timestamp a statement writes comes as ISO text (``base.iso``) and is stored as a DateTime
by ``datetime($now)``: the same value the driver would store for a Python datetime, without
its ~100 µs of pure-Python packing per value.

The graph (relationships stored in one direction only):

    (:Dataset)-[:HAS_VERSION]->(:DatasetVersion)-[:HAS_FIELD]->(:Field)
    (:Dataset)-[:FROM_SOURCE]->(:Source)
    (:Dataset)-[:DESCRIBES {role}]->(:Entity)
    (:Dataset)-[:TAGGED {created_at}]->(:Tag)
    (:Dataset)-[:OWNED_BY {kind, email}]->(:Owner)
    (downstream:Dataset)-[:DERIVED_FROM {transformation, job, created_at}]->(upstream:Dataset)
    (:AuditEvent {id, at, actor, action, target_kind, target_id, detail, request_id})
    (:Counter {name: 'audit', value})                                       audit id sequence

Natural keys are stored as one property so that a single-property uniqueness constraint
(available in every edition) guards them: ``Dataset.natural_key = namespace + '/' + name``
(or ``["namespace","name"]`` for an OpenLineage namespace holding '/': records.dataset_key),
``Entity.natural_key = kind + ':' + name`` (kinds contain no ':').
Maps (identifiers, field metadata and stats, contracts, quality reports, audit detail) are
stored as JSON text. Timestamps are native DateTime (UTC).
"""

from __future__ import annotations

from server.storage.neo4j.cypher_catalog import ENTITIES_BY_IDS as ENTITIES_BY_IDS
from server.storage.neo4j.cypher_catalog import ENTITIES_OF_DATASETS as ENTITIES_OF_DATASETS
from server.storage.neo4j.cypher_catalog import ENTITY_BY_KEY as ENTITY_BY_KEY
from server.storage.neo4j.cypher_catalog import ENTITY_COUNT as ENTITY_COUNT
from server.storage.neo4j.cypher_catalog import ENTITY_CREATE as ENTITY_CREATE
from server.storage.neo4j.cypher_catalog import ENTITY_PAGE as ENTITY_PAGE
from server.storage.neo4j.cypher_catalog import ENTITY_UPDATE as ENTITY_UPDATE
from server.storage.neo4j.cypher_catalog import LINK_GET as LINK_GET
from server.storage.neo4j.cypher_catalog import LINK_UPSERT as LINK_UPSERT
from server.storage.neo4j.cypher_catalog import OWNER_GET as OWNER_GET
from server.storage.neo4j.cypher_catalog import OWNER_UPSERT as OWNER_UPSERT
from server.storage.neo4j.cypher_catalog import OWNERS_OF_DATASETS as OWNERS_OF_DATASETS
from server.storage.neo4j.cypher_catalog import SOURCE_BY_NAME as SOURCE_BY_NAME
from server.storage.neo4j.cypher_catalog import SOURCE_COUNT as SOURCE_COUNT
from server.storage.neo4j.cypher_catalog import SOURCE_CREATE as SOURCE_CREATE
from server.storage.neo4j.cypher_catalog import SOURCE_PAGE as SOURCE_PAGE
from server.storage.neo4j.cypher_catalog import SOURCE_UPDATE as SOURCE_UPDATE
from server.storage.neo4j.cypher_catalog import SOURCES_BY_IDS as SOURCES_BY_IDS
from server.storage.neo4j.cypher_catalog import TAG_ADD as TAG_ADD
from server.storage.neo4j.cypher_catalog import TAG_REMOVE as TAG_REMOVE
from server.storage.neo4j.cypher_catalog import TAGS_OF_DATASETS as TAGS_OF_DATASETS
from server.storage.neo4j.cypher_datasets import AUDIT_AFTER as AUDIT_AFTER
from server.storage.neo4j.cypher_datasets import AUDIT_APPEND as AUDIT_APPEND
from server.storage.neo4j.cypher_datasets import AUDIT_APPEND_MANY as AUDIT_APPEND_MANY
from server.storage.neo4j.cypher_datasets import AUDIT_LIST as AUDIT_LIST
from server.storage.neo4j.cypher_datasets import DATASET_BY_KEY as DATASET_BY_KEY
from server.storage.neo4j.cypher_datasets import DATASET_CLEAR_SEARCH as DATASET_CLEAR_SEARCH
from server.storage.neo4j.cypher_datasets import DATASET_CREATE as DATASET_CREATE
from server.storage.neo4j.cypher_datasets import DATASET_DELETE as DATASET_DELETE
from server.storage.neo4j.cypher_datasets import DATASET_FILTERS as DATASET_FILTERS
from server.storage.neo4j.cypher_datasets import DATASET_LOCK as DATASET_LOCK
from server.storage.neo4j.cypher_datasets import DATASET_MAP as DATASET_MAP
from server.storage.neo4j.cypher_datasets import DATASET_SEARCH_INPUTS as DATASET_SEARCH_INPUTS
from server.storage.neo4j.cypher_datasets import DATASET_SET_CONTRACT as DATASET_SET_CONTRACT
from server.storage.neo4j.cypher_datasets import DATASET_SET_DESCRIPTION as DATASET_SET_DESCRIPTION
from server.storage.neo4j.cypher_datasets import DATASET_SET_LATEST as DATASET_SET_LATEST
from server.storage.neo4j.cypher_datasets import DATASET_SET_SEARCH as DATASET_SET_SEARCH
from server.storage.neo4j.cypher_datasets import DATASET_SET_SOURCE as DATASET_SET_SOURCE
from server.storage.neo4j.cypher_datasets import DATASET_UNDELETE as DATASET_UNDELETE
from server.storage.neo4j.cypher_datasets import DATASETS_ALL as DATASETS_ALL
from server.storage.neo4j.cypher_datasets import DATASETS_BY_IDS as DATASETS_BY_IDS
from server.storage.neo4j.cypher_datasets import DATASETS_BY_TEXT as DATASETS_BY_TEXT
from server.storage.neo4j.cypher_datasets import DATASETS_LIVE_COUNT as DATASETS_LIVE_COUNT
from server.storage.neo4j.cypher_datasets import DELETED_OUT_OF_SEARCH as DELETED_OUT_OF_SEARCH
from server.storage.neo4j.cypher_datasets import INDEX_ORDER as INDEX_ORDER
from server.storage.neo4j.cypher_datasets import SEARCH as SEARCH
from server.storage.neo4j.cypher_datasets import SEARCH_KEY_BACKFILL as SEARCH_KEY_BACKFILL
from server.storage.neo4j.cypher_datasets import SEARCH_KEY_DONE as SEARCH_KEY_DONE
from server.storage.neo4j.cypher_datasets import SEARCH_KEY_MARK as SEARCH_KEY_MARK
from server.storage.neo4j.cypher_datasets import SORT_COLUMNS as SORT_COLUMNS
from server.storage.neo4j.cypher_datasets import dataset_count as dataset_count
from server.storage.neo4j.cypher_datasets import dataset_page as dataset_page
from server.storage.neo4j.cypher_embeddings import DATASET_DELETED as DATASET_DELETED
from server.storage.neo4j.cypher_embeddings import DROP_VECTOR_INDEX as DROP_VECTOR_INDEX
from server.storage.neo4j.cypher_embeddings import EMBEDDING_DROP_ALL as EMBEDDING_DROP_ALL
from server.storage.neo4j.cypher_embeddings import EMBEDDING_FORGET as EMBEDDING_FORGET
from server.storage.neo4j.cypher_embeddings import EMBEDDING_MODEL as EMBEDDING_MODEL
from server.storage.neo4j.cypher_embeddings import EMBEDDING_NEAREST as EMBEDDING_NEAREST
from server.storage.neo4j.cypher_embeddings import EMBEDDING_PENDING as EMBEDDING_PENDING
from server.storage.neo4j.cypher_embeddings import EMBEDDING_QUEUE as EMBEDDING_QUEUE
from server.storage.neo4j.cypher_embeddings import EMBEDDING_QUEUE_ALL as EMBEDDING_QUEUE_ALL
from server.storage.neo4j.cypher_embeddings import EMBEDDING_SET_MODEL as EMBEDDING_SET_MODEL
from server.storage.neo4j.cypher_embeddings import EMBEDDING_STORE as EMBEDDING_STORE
from server.storage.neo4j.cypher_embeddings import VECTOR_INDEX as VECTOR_INDEX
from server.storage.neo4j.cypher_embeddings import create_vector_index as create_vector_index
from server.storage.neo4j.cypher_leases import LEASE_ACQUIRE as LEASE_ACQUIRE
from server.storage.neo4j.cypher_leases import LEASE_GET as LEASE_GET
from server.storage.neo4j.cypher_leases import LEASE_RELEASE as LEASE_RELEASE
from server.storage.neo4j.cypher_leases import LEASE_RENEW as LEASE_RENEW
from server.storage.neo4j.cypher_schema import AWAIT_INDEXES as AWAIT_INDEXES
from server.storage.neo4j.cypher_schema import PING as PING
from server.storage.neo4j.cypher_schema import SCHEMA as SCHEMA
from server.storage.neo4j.cypher_schema import SEARCH_INDEX as SEARCH_INDEX
from server.storage.neo4j.cypher_schema import WIPE as WIPE
from server.storage.neo4j.cypher_schema import Label as Label
from server.storage.neo4j.cypher_schema import Rel as Rel
from server.storage.neo4j.cypher_transfer import AUDIT_COUNTER_CATCH_UP as AUDIT_COUNTER_CATCH_UP
from server.storage.neo4j.cypher_transfer import AUDIT_IMPORT_PLAN as AUDIT_IMPORT_PLAN
from server.storage.neo4j.cypher_transfer import EXPORT_AUDIT as EXPORT_AUDIT
from server.storage.neo4j.cypher_transfer import EXPORT_DATASETS as EXPORT_DATASETS
from server.storage.neo4j.cypher_transfer import EXPORT_ENTITIES as EXPORT_ENTITIES
from server.storage.neo4j.cypher_transfer import EXPORT_FIELDS as EXPORT_FIELDS
from server.storage.neo4j.cypher_transfer import EXPORT_LINEAGE as EXPORT_LINEAGE
from server.storage.neo4j.cypher_transfer import EXPORT_LINKS as EXPORT_LINKS
from server.storage.neo4j.cypher_transfer import EXPORT_OWNERS as EXPORT_OWNERS
from server.storage.neo4j.cypher_transfer import EXPORT_SOURCES as EXPORT_SOURCES
from server.storage.neo4j.cypher_transfer import EXPORT_TAGS as EXPORT_TAGS
from server.storage.neo4j.cypher_transfer import EXPORT_VERSIONS as EXPORT_VERSIONS
from server.storage.neo4j.cypher_transfer import IMPORT_AUDIT as IMPORT_AUDIT
from server.storage.neo4j.cypher_transfer import IMPORT_AUDIT_APPENDED as IMPORT_AUDIT_APPENDED
from server.storage.neo4j.cypher_transfer import IMPORT_DATASETS as IMPORT_DATASETS
from server.storage.neo4j.cypher_transfer import IMPORT_ENTITIES as IMPORT_ENTITIES
from server.storage.neo4j.cypher_transfer import IMPORT_LINEAGE as IMPORT_LINEAGE
from server.storage.neo4j.cypher_transfer import IMPORT_LINKS as IMPORT_LINKS
from server.storage.neo4j.cypher_transfer import IMPORT_OWNERS as IMPORT_OWNERS
from server.storage.neo4j.cypher_transfer import IMPORT_SEARCH_TAGS as IMPORT_SEARCH_TAGS
from server.storage.neo4j.cypher_transfer import IMPORT_SOURCES as IMPORT_SOURCES
from server.storage.neo4j.cypher_transfer import IMPORT_TAGS as IMPORT_TAGS
from server.storage.neo4j.cypher_transfer import IMPORT_VERSIONS as IMPORT_VERSIONS
from server.storage.neo4j.cypher_transfer import IS_EMPTY as IS_EMPTY
from server.storage.neo4j.cypher_transfer import VERSIONS_SET_LATEST as VERSIONS_SET_LATEST
from server.storage.neo4j.cypher_versions import FIELDS_CREATE as FIELDS_CREATE
from server.storage.neo4j.cypher_versions import FIELDS_OF_VERSIONS as FIELDS_OF_VERSIONS
from server.storage.neo4j.cypher_versions import (
    LATEST_VERSIONS_OF_DATASETS as LATEST_VERSIONS_OF_DATASETS,
)
from server.storage.neo4j.cypher_versions import LINEAGE_EDGES_AMONG as LINEAGE_EDGES_AMONG
from server.storage.neo4j.cypher_versions import LINEAGE_GET as LINEAGE_GET
from server.storage.neo4j.cypher_versions import LINEAGE_UPSERT as LINEAGE_UPSERT
from server.storage.neo4j.cypher_versions import VERSION_CREATE as VERSION_CREATE
from server.storage.neo4j.cypher_versions import VERSION_LATEST_OF as VERSION_LATEST_OF
from server.storage.neo4j.cypher_versions import VERSIONS_BY_IDS as VERSIONS_BY_IDS
from server.storage.neo4j.cypher_versions import VERSIONS_OF_DATASETS as VERSIONS_OF_DATASETS
from server.storage.neo4j.cypher_versions import lineage_walk as lineage_walk
from server.storage.neo4j.cypher_versions import validate_depth as validate_depth
