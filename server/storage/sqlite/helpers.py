"""Helpers shared by the SQLite store's domain mixins (``catalog.py``, ``datasets.py``,
``versions.py``) and ``store.py``: the audit writer, the full-text reindex, the live-dataset
lookup, and the small list shapers behind the batch getters. Each helper works inside the
caller's read snapshot or write transaction.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

from server.errors import NotFoundError
from server.models import Dataset, DatasetKey
from server.requestctx import current_request_id
from server.storage.sqlite import rows, sql

_MAX_SEARCH_TOKENS = 16


def fts_query(text: str) -> str | None:
    """User text → a safe FTS5 query: every word quoted, prefix-matched, all required."""
    tokens = re.findall(r"\w+", text)[:_MAX_SEARCH_TOKENS]
    if not tokens:
        return None
    return " ".join('"' + t.replace('"', "") + '"*' for t in tokens)


def _audit(conn: sqlite3.Connection, actor: str, action: str, kind: str, target: str,
           detail: dict[str, Any] | None = None, request_id: str | None = None) -> int:
    """Append one audit event in the caller's transaction, stamped with the request id
    (explicit, else the current one: ``server.requestctx``)."""
    cur = conn.execute(sql.AUDIT_INSERT, (rows.now(), actor, action, kind, target,
                                          json.dumps(detail or {}, sort_keys=True, default=str),
                                          request_id or current_request_id()))
    return int(cur.lastrowid or 0)


def _live_dataset(conn: sqlite3.Connection, key: DatasetKey) -> Dataset:
    row = conn.execute(sql.DATASET_BY_KEY, (key.namespace, key.name)).fetchone()
    if row is None or row["deleted_at"] is not None:
        raise NotFoundError(f"dataset {key} does not exist")
    return rows.dataset(row)


# datasets whose full-text row a deferred_reindex block still owes (None: reindex at once)
_pending: contextvars.ContextVar[dict[str, None] | None] = contextvars.ContextVar(
    "peso_sqlite_pending_reindex", default=None)


def _reindex(conn: sqlite3.Connection, dataset_id: str) -> None:
    """Refresh the dataset's full-text row (names, description, tags, latest field names);
    inside ``deferred_reindex``, only note it (the block reindexes it once, at its end)."""
    pending = _pending.get()
    if pending is not None:
        pending[dataset_id] = None
        return
    _reindex_rows(conn, conn.execute(sql.DATASET_FOR_REINDEX, (dataset_id,)).fetchall())


@contextlib.contextmanager
def deferred_reindex(conn: sqlite3.Connection) -> Iterator[None]:
    """Within the block (one write transaction), ``_reindex`` notes datasets instead of
    reindexing them; when the block ends without an error, each noted dataset is reindexed
    ONCE, from its final state, in ``rowid`` order (see ``_reindex_rows``). A new dataset
    was reindexed when registered and again when its first version landed, and FTS5 writes
    a segment to disk whenever a rowid comes again or goes down within its pending rows:
    merging those segments was most of an OpenLineage batch's search-index cost. Nothing
    in the block may read ``dataset_fts`` expecting its own changes (no write path does)."""
    if _pending.get() is not None:   # an enclosing block reindexes
        yield
        return
    pending: dict[str, None] = {}
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    if pending:
        _reindex_rows(conn, conn.execute(sql.DATASETS_FOR_REINDEX,
                                         (json.dumps(list(pending)),)).fetchall())


def _reindex_rows(conn: sqlite3.Connection, found: list[sqlite3.Row]) -> None:
    """Rewrite the full-text rows of these datasets (rows of ``DATASET_FOR_REINDEX``, in
    rowid order) and queue them for semantic search (dropped from the queue when deleted).
    The search rows are written first, the queue after: a write to ``embedding_queue`` opens
    a statement journal (REPLACE on a table with a foreign key), which makes FTS5 flush its
    pending rows as a segment of their own, once per dataset when interleaved."""
    for row in found:
        conn.execute(sql.FTS_DELETE, (row["rid"],))
        if row["deleted_at"] is None:
            tags = " ".join(r[0] for r in conn.execute(sql.TAG_NAMES_OF, (row["id"],)))
            fields = " ".join(r[0] for r in conn.execute(sql.LATEST_FIELD_NAMES, (row["id"],)))
            conn.execute(sql.FTS_INSERT, (row["rid"], row["namespace"], row["name"],
                                          row["description"] or "", tags, fields))
    conn.executemany(sql.EMBEDDING_UNQUEUE,
                     [(row["rid"],) for row in found if row["deleted_at"] is not None])
    conn.executemany(sql.EMBEDDING_QUEUE,   # a fresh ticket: semantic search re-embeds it
                     [(row["rid"], uuid.uuid4().hex) for row in found
                      if row["deleted_at"] is None])


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)
