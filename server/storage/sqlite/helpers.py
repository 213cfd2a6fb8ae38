"""Helpers shared by the SQLite store's domain mixins (``catalog.py``, ``datasets.py``,
``versions.py``) and ``store.py``: the audit writer, the full-text reindex, the live-dataset
lookup, and the small list shapers behind the batch getters. Each helper works inside the
caller's read snapshot or write transaction.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
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


def _reindex(conn: sqlite3.Connection, dataset_id: str) -> None:
    """Refresh the dataset's full-text row (names, description, tags, latest field names)."""
    row = conn.execute(f"SELECT d.rid, {sql.DATASET_COLS} FROM datasets d WHERE d.id = ?",
                       (dataset_id,)).fetchone()
    conn.execute(sql.FTS_DELETE, (row["rid"],))
    if row["deleted_at"] is not None:
        conn.execute(sql.EMBEDDING_UNQUEUE, (row["rid"],))
        return
    conn.execute(sql.EMBEDDING_QUEUE, (row["rid"], uuid.uuid4().hex))  # semantic search
    tags = " ".join(r[0] for r in conn.execute(sql.TAG_NAMES_OF, (dataset_id,)))
    fields = " ".join(r[0] for r in conn.execute(sql.LATEST_FIELD_NAMES, (dataset_id,)))
    conn.execute(sql.FTS_INSERT, (row["rid"], row["namespace"], row["name"],
                                  row["description"] or "", tags, fields))


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)
