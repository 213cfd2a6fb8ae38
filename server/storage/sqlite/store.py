"""SQLiteGraphStore: the graph-store protocol on one SQLite file.

Each public method is one read snapshot or one write transaction (see ``db.Database``);
each change writes its audit event inside that same transaction. The class is assembled from
one mixin per domain, each a module beside this one: ``catalog.py`` (sources, entities, tags,
owners), ``datasets.py`` (datasets, search, audit), ``versions.py`` (versions, fields, lineage
edges), ``security.py`` (API tokens, the audit-log page), ``lineage.py`` (walks,
OpenLineage) and ``embeddings.py`` (vectors for semantic search); ``helpers.py`` holds what
they share.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

from server import metrics
from server.errors import StoreUnavailableError
from server.storage.sqlite import sql, transfer
from server.storage.sqlite.catalog import CatalogMixin
from server.storage.sqlite.datasets import AUDIT_AFTER, DatasetsMixin
from server.storage.sqlite.db import Database
from server.storage.sqlite.embeddings import EmbeddingsMixin, _Matrix
from server.storage.sqlite.helpers import _reindex, fts_query
from server.storage.sqlite.leases import LeasesMixin
from server.storage.sqlite.lineage import LineageMixin
from server.storage.sqlite.security import SecurityMixin
from server.storage.sqlite.suggestions import SuggestionsMixin
from server.storage.sqlite.versions import VersionsMixin

__all__ = ["AUDIT_AFTER", "SQLiteGraphStore", "fts_query"]


class SQLiteGraphStore(CatalogMixin, DatasetsMixin, VersionsMixin, SecurityMixin, LineageMixin,
                       LeasesMixin, EmbeddingsMixin, SuggestionsMixin):
    def __init__(self, path: str) -> None:
        self.path = path
        self.db = Database(path, on_lock=lambda: metrics.store_error("sqlite", "lock_retry"))
        self._matrix = _Matrix()  # embeddings.py: vectors held for semantic search

    # --- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        self.db.open()

    async def close(self) -> None:
        self.db.close()

    async def health(self) -> None:
        try:
            await self.db.read(lambda c: c.execute("SELECT 1").fetchone())
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"SQLite catalog {self.path}: {exc}") from exc

    # --- whole-catalog transfer (peso migrate) ---------------------------------------------
    async def is_empty(self) -> bool:
        return await self.db.read(transfer.is_empty)

    async def export_records(self) -> AsyncIterator[dict[str, Any]]:
        for record in await self.db.read(transfer.export_all):  # one consistent snapshot
            yield record

    async def import_records(self, records: Sequence[dict[str, Any]]) -> dict[str, int]:
        def run(c: sqlite3.Connection) -> dict[str, int]:
            created, touched = transfer.import_batch(c, list(records))
            for dataset_id in sorted(touched):
                _reindex(c, dataset_id)
            return created
        return await self.db.write(run)

    async def compact_search_index(self) -> None:
        await self.db.write(lambda c: c.execute(sql.FTS_OPTIMIZE))
