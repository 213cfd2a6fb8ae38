"""Suggestions: what an enricher proposes for a dataset version, waiting for a person.

An enricher (``server/enrich/``) never edits the catalog: it writes ``NewSuggestion``s, the
graph store keeps them (``Suggestion``), and a writer accepts or rejects each one. A
suggestion's ``key`` names what it proposes (dataset, version, kind, target and the proposed
value's identity, not its confidence or wording): the store keeps one suggestion per key, so
a rejected one is never proposed again for the same version.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class SuggestionKind(enum.StrEnum):
    SEMANTIC_TYPE = "semantic_type"   # target: a column; value: {semantic_type, pii}
    ENTITY = "entity"                 # target: ""; value: {kind, name, role}
    JOIN_KEY = "join_key"             # target: a column; value: {dataset_id, dataset, column}
    DESCRIPTION = "description"       # target: ""; value: {description}
    TAG = "tag"                       # target: ""; value: {tag}


class SuggestionStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"   # a newer version proposed the same kind for the same target


def value_identity(kind: SuggestionKind, value: dict[str, Any]) -> str:
    """The part of a value that says *what* is proposed (a description's wording is not)."""
    if kind is SuggestionKind.SEMANTIC_TYPE:
        return f"{value.get('semantic_type')}|{bool(value.get('pii'))}"
    if kind is SuggestionKind.ENTITY:
        return f"{value.get('kind')}|{value.get('name')}"
    if kind is SuggestionKind.JOIN_KEY:
        return f"{value.get('dataset_id')}|{value.get('column')}"
    if kind is SuggestionKind.TAG:
        return str(value.get("tag"))
    return ""   # one description draft per version


def suggestion_key(dataset_id: str, version: int, kind: SuggestionKind, target: str,
                   value: dict[str, Any]) -> str:
    text = json.dumps([dataset_id, version, kind.value, target, value_identity(kind, value)])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class NewSuggestion:
    dataset_id: str
    version_id: str
    version: int
    kind: SuggestionKind
    target: str                      # the column it is about, "" for the whole dataset
    value: dict[str, Any]
    confidence: float                # 0..1
    evidence: dict[str, Any]         # what the guess rests on (sample size when sampled)
    enricher: str
    enricher_version: str

    @property
    def key(self) -> str:
        return suggestion_key(self.dataset_id, self.version, self.kind, self.target,
                              self.value)


@dataclass(frozen=True)
class Suggestion:
    id: str
    key: str
    dataset_id: str
    version_id: str
    version: int
    kind: SuggestionKind
    target: str
    value: dict[str, Any]
    confidence: float
    evidence: dict[str, Any]
    enricher: str
    enricher_version: str
    status: SuggestionStatus
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str | None = None          # why it was decided so, or why it could not apply


@dataclass(frozen=True)
class PutSuggestionsResult:
    created: list[Suggestion]
    skipped: int                     # already proposed (any status) for that version
    superseded: int                  # older pending ones replaced by a newer version's
