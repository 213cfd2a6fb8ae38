"""Neo4jGraphStore: the graph-store protocol on Neo4j 5.x / 2025.x community or enterprise.

The class is assembled from one mixin per domain (each one a module beside this one) on top
of ``base.Neo4jBase`` (driver, managed transactions, schema, error mapping). All Cypher text
is reached through ``cypher.py`` (one ``cypher_*.py`` module per domain, re-exported there)
and ``lineage_cypher.py``; result maps become ``server.models`` dataclasses in ``records.py``.
"""

from __future__ import annotations

from server.storage.neo4j.catalog import CatalogMixin
from server.storage.neo4j.datasets import DatasetsMixin
from server.storage.neo4j.embeddings import EmbeddingsMixin
from server.storage.neo4j.leases import LeasesMixin
from server.storage.neo4j.lineage import LineageMixin
from server.storage.neo4j.security import SecurityMixin
from server.storage.neo4j.suggestions import SuggestionsMixin
from server.storage.neo4j.transfer import TransferMixin
from server.storage.neo4j.versions import VersionsMixin


class Neo4jGraphStore(CatalogMixin, DatasetsMixin, VersionsMixin, TransferMixin,
                      SecurityMixin, LineageMixin, LeasesMixin, EmbeddingsMixin,
                      SuggestionsMixin):
    """``Neo4jGraphStore(uri, user=..., password=..., database=..., max_lineage_depth=...)``:
    one driver per process, opened by ``open()`` (which also creates constraints and indexes,
    idempotently) and closed by ``close()``."""

    async def compact_search_index(self) -> None:
        """Nothing to do: Lucene merges the full-text index's segments itself."""
