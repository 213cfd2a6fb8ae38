"""Enrichers' suggestions on Neo4j, and the one field edit an accepted semantic-type
suggestion needs:

    (:Suggestion {id, key, dataset_id, version_id, version, kind, target, value, confidence,
                  evidence, enricher, enricher_version, status, created_at, decided_at,
                  decided_by, note})

``value`` and ``evidence`` are JSON text; ``created_at``/``decided_at`` ISO-8601 text (so the
list's keyset cursor compares the same way as on SQLite). Constraints (unique id and key) and
the dataset index are in ``cypher.SCHEMA``. The Cypher lives here; values are parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
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
from server.storage.neo4j import records
from server.storage.neo4j.base import Neo4jBase, Tx, audit, now, one, rows, run

BY_KEY = "MATCH (s:Suggestion {key: $key}) RETURN s.id AS id"
BY_ID = "MATCH (s:Suggestion {id: $id}) RETURN s {.*} AS s"
BY_IDS = "MATCH (s:Suggestion) WHERE s.id IN $ids RETURN s {.*} AS s"
CREATE = """
CREATE (s:Suggestion {id: $id, key: $key, dataset_id: $dataset_id, version_id: $version_id,
                      version: $version, kind: $kind, target: $target, value: $value,
                      confidence: $confidence, evidence: $evidence, enricher: $enricher,
                      enricher_version: $enricher_version, status: 'pending',
                      created_at: $at})
"""
SUPERSEDE = """
MATCH (s:Suggestion {dataset_id: $dataset_id, kind: $kind, target: $target, status: 'pending'})
WHERE s.version < $version
SET s.status = 'superseded', s.decided_at = $at
RETURN s.id AS id ORDER BY s.id
"""
LIST = """
MATCH (s:Suggestion)
WHERE ($dataset_id IS NULL OR s.dataset_id = $dataset_id)
  AND ($status IS NULL OR s.status = $status)
  AND ($kind IS NULL OR s.kind = $kind)
  AND ($after_at IS NULL OR s.created_at < $after_at
       OR (s.created_at = $after_at AND s.id > $after_id))
RETURN s {.*} AS s ORDER BY s.created_at DESC, s.id LIMIT $limit
"""
COUNT = """
MATCH (s:Suggestion)
WHERE ($dataset_id IS NULL OR s.dataset_id = $dataset_id)
  AND ($status IS NULL OR s.status = $status)
  AND ($kind IS NULL OR s.kind = $kind)
RETURN count(s) AS n
"""
# the first page of several datasets' lists at once (Dataset.suggestions through a DataLoader)
OF_DATASETS = """
UNWIND $ids AS dataset_id
CALL {
  WITH dataset_id
  MATCH (s:Suggestion) WHERE s.dataset_id = dataset_id
    AND ($status IS NULL OR s.status = $status) AND ($kind IS NULL OR s.kind = $kind)
  WITH s ORDER BY s.created_at DESC, s.id LIMIT $limit
  RETURN collect(s {.*}) AS found
}
CALL {
  WITH dataset_id
  MATCH (s:Suggestion) WHERE s.dataset_id = dataset_id
    AND ($status IS NULL OR s.status = $status) AND ($kind IS NULL OR s.kind = $kind)
  RETURN count(s) AS n
}
RETURN dataset_id, found, n
"""
DECIDE = """
MATCH (s:Suggestion {id: $id}) WHERE s.status = 'pending'
SET s.status = $status, s.decided_at = $at, s.decided_by = $actor, s.note = $note
"""
NOTE = "MATCH (s:Suggestion {id: $id}) SET s.note = $note"
FIELD = """
MATCH (v:DatasetVersion {id: $version_id})-[:HAS_FIELD]->(f:Field {name: $name})
RETURN f {.*, version_id: v.id} AS f
"""
SET_FIELD = "MATCH (f:Field {id: $id}) SET f.semantic_type = $semantic_type, f.pii = $pii"


def _iso() -> str:
    return now().isoformat(timespec="microseconds")


def suggestion(m: dict[str, Any]) -> Suggestion:
    decided = m.get("decided_at")
    return Suggestion(
        id=m["id"], key=m["key"], dataset_id=m["dataset_id"], version_id=m["version_id"],
        version=int(m["version"]), kind=SuggestionKind(m["kind"]), target=m["target"],
        value=json.loads(m["value"]), confidence=float(m["confidence"]),
        evidence=json.loads(m["evidence"]), enricher=m["enricher"],
        enricher_version=m["enricher_version"], status=SuggestionStatus(m["status"]),
        created_at=datetime.fromisoformat(m["created_at"]),
        decided_at=datetime.fromisoformat(decided) if decided else None,
        decided_by=m.get("decided_by"), note=m.get("note"))


async def _get(tx: Tx, suggestion_id: str) -> dict[str, Any]:
    found = await one(tx, BY_ID, id=suggestion_id)
    if found is None:
        raise NotFoundError(f"no suggestion with id {suggestion_id!r}", field="suggestion")
    return dict(found["s"])


class SuggestionsMixin(Neo4jBase):
    async def put_suggestions(self, items: Sequence[NewSuggestion], *,
                              actor: str) -> PutSuggestionsResult:
        async def work(tx: Tx) -> PutSuggestionsResult:
            created: list[Suggestion] = []
            skipped = superseded = 0
            for item in items:
                if await one(tx, BY_KEY, key=item.key) is not None:
                    skipped += 1   # proposed before for this version: pending or decided
                    continue
                at = _iso()
                older = [r["id"] for r in await rows(
                    tx, SUPERSEDE, dataset_id=item.dataset_id, kind=item.kind.value,
                    target=item.target, version=item.version, at=at)]
                superseded += len(older)
                sid = new_id()
                await run(tx, CREATE, id=sid, key=item.key, dataset_id=item.dataset_id,
                          version_id=item.version_id, version=item.version,
                          kind=item.kind.value, target=item.target,
                          value=records.to_json(item.value),
                          confidence=float(item.confidence),
                          evidence=records.to_json(item.evidence), enricher=item.enricher,
                          enricher_version=item.enricher_version, at=at)
                await audit(tx, actor, "suggestion.proposed", "Suggestion", sid,
                            {"dataset_id": item.dataset_id, "version": item.version,
                             "kind": item.kind.value, "target": item.target,
                             "enricher": item.enricher, "superseded": older})
                created.append(suggestion(await _get(tx, sid)))
            return PutSuggestionsResult(created, skipped, superseded)
        return await self._write(work)

    async def get_suggestions(self, ids: Sequence[str]) -> list[Suggestion | None]:
        async def work(tx: Tx) -> list[Suggestion | None]:
            found = {r["s"]["id"]: suggestion(r["s"])
                     for r in await rows(tx, BY_IDS, ids=list(ids))}
            return [found.get(i) for i in ids]
        return await self._read(work)

    async def list_suggestions(self, *, dataset_id: str | None = None,
                               status: SuggestionStatus | None = None,
                               kind: SuggestionKind | None = None, first: int,
                               after: list[Any] | None = None) -> Page[Suggestion]:
        async def work(tx: Tx) -> Page[Suggestion]:
            filters = {"dataset_id": dataset_id,
                       "status": status.value if status is not None else None,
                       "kind": kind.value if kind is not None else None}
            found = [r["s"] for r in await rows(
                tx, LIST, **filters, after_at=str(after[0]) if after else None,
                after_id=str(after[1]) if after else None, limit=first + 1)]
            counted = await one(tx, COUNT, **filters)
            items = found[:first]
            return Page([suggestion(m) for m in items],
                        [[m["created_at"], m["id"]] for m in items], len(found) > first,
                        int(counted["n"]) if counted else 0)
        return await self._read(work)

    async def list_dataset_suggestions(self, dataset_ids: Sequence[str], *,
                                       status: SuggestionStatus | None = None,
                                       kind: SuggestionKind | None = None,
                                       first: int) -> list[Page[Suggestion]]:
        if not dataset_ids:
            return []

        async def work(tx: Tx) -> list[Page[Suggestion]]:
            found = await rows(tx, OF_DATASETS, ids=list(dict.fromkeys(dataset_ids)),
                               status=status.value if status else None,
                               kind=kind.value if kind else None, limit=first + 1)
            items = [m for r in found for m in r["found"]]
            totals = {r["dataset_id"]: int(r["n"]) for r in found}
            stamps = {m["id"]: m["created_at"] for m in items}
            return first_pages(dataset_ids, [suggestion(m) for m in items],
                               lambda s: s.dataset_id, totals, first,
                               lambda s: [stamps[s.id], s.id])
        return await self._read(work)

    async def decide_suggestion(self, suggestion_id: str, *, status: SuggestionStatus,
                                actor: str, note: str | None = None) -> Suggestion:
        if status not in (SuggestionStatus.ACCEPTED, SuggestionStatus.REJECTED):
            raise ValueError(f"a decision is accepted or rejected, not {status.value}")

        async def work(tx: Tx) -> Suggestion:
            m = await _get(tx, suggestion_id)
            if m["status"] != SuggestionStatus.PENDING.value:
                raise ConflictError(f"suggestion {suggestion_id} is {m['status']}, not "
                                    "pending: it was decided already", field="suggestion")
            await run(tx, DECIDE, id=suggestion_id, status=status.value, at=_iso(),
                      actor=actor, note=note)
            await audit(tx, actor, f"suggestion.{status.value}", "Suggestion", suggestion_id,
                        {"dataset_id": m["dataset_id"], "version": m["version"],
                         "kind": m["kind"], "target": m["target"],
                         "value": json.loads(m["value"]), "note": note})
            return suggestion(await _get(tx, suggestion_id))
        return await self._write(work)

    async def note_suggestion(self, suggestion_id: str, note: str, *,
                              actor: str) -> Suggestion:
        async def work(tx: Tx) -> Suggestion:
            m = await _get(tx, suggestion_id)
            await run(tx, NOTE, id=suggestion_id, note=note)
            await audit(tx, actor, "suggestion.kept_pending", "Suggestion", suggestion_id,
                        {"dataset_id": m["dataset_id"], "kind": m["kind"], "note": note})
            return suggestion(await _get(tx, suggestion_id))
        return await self._write(work)

    async def set_field_semantics(self, version_id: str, field_name: str, *,
                                  semantic_type: str | None, pii: bool,
                                  actor: str) -> SchemaField:
        async def work(tx: Tx) -> SchemaField:
            found = await one(tx, FIELD, version_id=version_id, name=field_name)
            if found is None:
                raise NotFoundError(f"version {version_id} has no column {field_name!r}",
                                    field="column")
            m = found["f"]
            before = (m.get("semantic_type"), bool(m.get("pii")))
            if before != (semantic_type, pii):
                await run(tx, SET_FIELD, id=m["id"], semantic_type=semantic_type, pii=pii)
                await audit(tx, actor, "field.semantics_set", "Field", m["id"],
                            {"version_id": version_id, "field": field_name,
                             "semantic_type": semantic_type, "pii": pii,
                             "before": {"semantic_type": before[0], "pii": before[1]}})
            again = await one(tx, FIELD, version_id=version_id, name=field_name)
            assert again is not None
            return records.field(again["f"])
        return await self._write(work)
