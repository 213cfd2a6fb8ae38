"""Enrichers' suggestions on SQLite (table ``suggestions``, migration 0006), and the one field
edit an accepted semantic-type suggestion needs; mixed into ``SQLiteGraphStore``. Each change
writes its audit event in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from server.errors import ConflictError, NotFoundError
from server.ids import new_id
from server.models import Page, SchemaField
from server.models_suggestions import (
    NewSuggestion,
    PutSuggestionsResult,
    Suggestion,
    SuggestionKind,
    SuggestionStatus,
)
from server.storage.batching import first_pages
from server.storage.sqlite import rows
from server.storage.sqlite.db import Database
from server.storage.sqlite.helpers import _audit

COLS = ("id, key, dataset_id, version_id, version, kind, target, value, confidence, evidence, "
        "enricher, enricher_version, status, created_at, decided_at, decided_by, note")
INSERT = (f"INSERT INTO suggestions ({COLS}) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, NULL, NULL, NULL)")
BY_KEY = "SELECT id FROM suggestions WHERE key = ?"
BY_ID = f"SELECT {COLS} FROM suggestions WHERE id = ?"
# the same kind for the same target proposed by a newer version replaces an older pending one
OLDER_PENDING = ("SELECT id FROM suggestions WHERE dataset_id = ? AND kind = ? AND target = ? "
                 "AND version < ? AND status = 'pending'")
SUPERSEDE = "UPDATE suggestions SET status = 'superseded', decided_at = ? WHERE id = ?"
DECIDE = ("UPDATE suggestions SET status = ?, decided_at = ?, decided_by = ?, note = ? "
          "WHERE id = ? AND status = 'pending'")
NOTE = "UPDATE suggestions SET note = ? WHERE id = ?"
FIELD = ("SELECT id, version_id, position, name, arrow_type, nullable, description, metadata, "
         "semantic_type, pii, stats FROM fields WHERE version_id = ? AND name = ?")
SET_FIELD = "UPDATE fields SET semantic_type = ?, pii = ? WHERE id = ?"
# the first page of several datasets' lists at once (Dataset.suggestions through a DataLoader)
OF_DATASETS = (f"SELECT * FROM (SELECT {COLS}, row_number() OVER (PARTITION BY dataset_id "
               "ORDER BY created_at DESC, id) AS rank FROM suggestions "
               "WHERE dataset_id IN (SELECT value FROM json_each(?1)) "
               "AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR kind = ?3)) "
               "WHERE rank <= ?4 ORDER BY dataset_id, rank")
COUNTS_OF_DATASETS = ("SELECT dataset_id, count(*) AS n FROM suggestions "
                      "WHERE dataset_id IN (SELECT value FROM json_each(?1)) "
                      "AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR kind = ?3) "
                      "GROUP BY dataset_id")


def suggestion(r: sqlite3.Row) -> Suggestion:
    return Suggestion(
        id=r["id"], key=r["key"], dataset_id=r["dataset_id"], version_id=r["version_id"],
        version=r["version"], kind=SuggestionKind(r["kind"]), target=r["target"],
        value=json.loads(r["value"]), confidence=float(r["confidence"]),
        evidence=json.loads(r["evidence"]), enricher=r["enricher"],
        enricher_version=r["enricher_version"], status=SuggestionStatus(r["status"]),
        created_at=rows.ts(r["created_at"]),
        decided_at=rows.ts(r["decided_at"]) if r["decided_at"] else None,
        decided_by=r["decided_by"], note=r["note"])


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class SuggestionsMixin:
    db: Database

    async def put_suggestions(self, items: Sequence[NewSuggestion], *,
                              actor: str) -> PutSuggestionsResult:
        def run(c: sqlite3.Connection) -> PutSuggestionsResult:
            created: list[Suggestion] = []
            skipped = superseded = 0
            for item in items:
                if c.execute(BY_KEY, (item.key,)).fetchone() is not None:
                    skipped += 1   # proposed before for this version: pending or decided
                    continue
                at = rows.now()
                older = [r[0] for r in c.execute(OLDER_PENDING, (
                    item.dataset_id, item.kind.value, item.target, item.version))]
                for old in older:
                    c.execute(SUPERSEDE, (at, old))
                superseded += len(older)
                sid = new_id()
                c.execute(INSERT, (sid, item.key, item.dataset_id, item.version_id,
                                   item.version, item.kind.value, item.target,
                                   _dump(item.value), float(item.confidence),
                                   _dump(item.evidence), item.enricher,
                                   item.enricher_version, at))
                _audit(c, actor, "suggestion.proposed", "Suggestion", sid,
                       {"dataset_id": item.dataset_id, "version": item.version,
                        "kind": item.kind.value, "target": item.target,
                        "enricher": item.enricher, "superseded": older})
                created.append(suggestion(c.execute(BY_ID, (sid,)).fetchone()))
            return PutSuggestionsResult(created, skipped, superseded)
        return await self.db.write(run)

    async def get_suggestions(self, ids: Sequence[str]) -> list[Suggestion | None]:
        def run(c: sqlite3.Connection) -> list[Suggestion | None]:
            found = []
            for sid in ids:
                row = c.execute(BY_ID, (sid,)).fetchone()
                found.append(suggestion(row) if row else None)
            return found
        return await self.db.read(run)

    async def list_suggestions(self, *, dataset_id: str | None = None,
                               status: SuggestionStatus | None = None,
                               kind: SuggestionKind | None = None, first: int,
                               after: list[Any] | None = None) -> Page[Suggestion]:
        clauses: list[str] = []
        params: list[Any] = []
        if dataset_id is not None:
            clauses.append("dataset_id = ?")
            params.append(dataset_id)
        if status is not None:
            clauses.append("status = ?")
            params.append(status.value)
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind.value)
        where = " AND ".join(clauses) or "1"
        cursor, cursor_params = "", []
        if after is not None:
            cursor = " AND (created_at < ? OR (created_at = ? AND id > ?))"
            cursor_params = [str(after[0]), str(after[0]), str(after[1])]
        page_sql = (f"SELECT {COLS} FROM suggestions WHERE {where}{cursor} "
                    "ORDER BY created_at DESC, id LIMIT ?")

        def run(c: sqlite3.Connection) -> Page[Suggestion]:
            found = list(c.execute(page_sql, [*params, *cursor_params, first + 1]))
            total = c.execute(f"SELECT count(*) FROM suggestions WHERE {where}",
                              params).fetchone()[0]
            items = [suggestion(r) for r in found[:first]]
            cursors = [[r["created_at"], r["id"]] for r in found[:first]]
            return Page(items, cursors, len(found) > first, total)
        return await self.db.read(run)

    async def list_dataset_suggestions(self, dataset_ids: Sequence[str], *,
                                       status: SuggestionStatus | None = None,
                                       kind: SuggestionKind | None = None,
                                       first: int) -> list[Page[Suggestion]]:
        if not dataset_ids:
            return []
        ids = json.dumps(list(dict.fromkeys(dataset_ids)))
        params = (ids, status.value if status else None, kind.value if kind else None)

        def run(c: sqlite3.Connection) -> list[Page[Suggestion]]:
            found = list(c.execute(OF_DATASETS, (*params, first + 1)))
            totals = {r["dataset_id"]: r["n"] for r in c.execute(COUNTS_OF_DATASETS, params)}
            stamps = {r["id"]: r["created_at"] for r in found}
            return first_pages(dataset_ids, [suggestion(r) for r in found],
                               lambda s: s.dataset_id, totals, first,
                               lambda s: [stamps[s.id], s.id])
        return await self.db.read(run)

    async def decide_suggestion(self, suggestion_id: str, *, status: SuggestionStatus,
                                actor: str, note: str | None = None) -> Suggestion:
        if status not in (SuggestionStatus.ACCEPTED, SuggestionStatus.REJECTED):
            raise ValueError(f"a decision is accepted or rejected, not {status.value}")

        def run(c: sqlite3.Connection) -> Suggestion:
            row = c.execute(BY_ID, (suggestion_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no suggestion with id {suggestion_id!r}",
                                    field="suggestion")
            if row["status"] != SuggestionStatus.PENDING.value:
                raise ConflictError(f"suggestion {suggestion_id} is {row['status']}, not "
                                    "pending: it was decided already", field="suggestion")
            c.execute(DECIDE, (status.value, rows.now(), actor, note, suggestion_id))
            _audit(c, actor, f"suggestion.{status.value}", "Suggestion", suggestion_id,
                   {"dataset_id": row["dataset_id"], "version": row["version"],
                    "kind": row["kind"], "target": row["target"],
                    "value": json.loads(row["value"]), "note": note})
            return suggestion(c.execute(BY_ID, (suggestion_id,)).fetchone())
        return await self.db.write(run)

    async def note_suggestion(self, suggestion_id: str, note: str, *,
                              actor: str) -> Suggestion:
        def run(c: sqlite3.Connection) -> Suggestion:
            row = c.execute(BY_ID, (suggestion_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no suggestion with id {suggestion_id!r}",
                                    field="suggestion")
            c.execute(NOTE, (note, suggestion_id))
            _audit(c, actor, "suggestion.kept_pending", "Suggestion", suggestion_id,
                   {"dataset_id": row["dataset_id"], "kind": row["kind"], "note": note})
            return suggestion(c.execute(BY_ID, (suggestion_id,)).fetchone())
        return await self.db.write(run)

    async def set_field_semantics(self, version_id: str, field_name: str, *,
                                  semantic_type: str | None, pii: bool,
                                  actor: str) -> SchemaField:
        def run(c: sqlite3.Connection) -> SchemaField:
            row = c.execute(FIELD, (version_id, field_name)).fetchone()
            if row is None:
                raise NotFoundError(f"version {version_id} has no column {field_name!r}",
                                    field="column")
            before = (row["semantic_type"], bool(row["pii"]))
            if before != (semantic_type, pii):
                c.execute(SET_FIELD, (semantic_type, int(pii), row["id"]))
                _audit(c, actor, "field.semantics_set", "Field", row["id"],
                       {"version_id": version_id, "field": field_name,
                        "semantic_type": semantic_type, "pii": pii,
                        "before": {"semantic_type": before[0], "pii": before[1]}})
            return rows.field(c.execute(FIELD, (version_id, field_name)).fetchone())
        return await self.db.write(run)
