"""The ``Suggestion`` type (an enricher's proposal waiting for a person, server/enrich/) and
the page of them ``Query.suggestions`` and ``Dataset.suggestions`` return."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from schema.enums import SuggestionKind, SuggestionStatus
from schema.relay import Node, check_first, decode_after, global_id, tagged_cursor
from server.errors import ValidationError
from server.ids import from_global_id
from server.models_suggestions import Suggestion as SuggestionModel
from server.models_suggestions import SuggestionKind as KindModel
from server.models_suggestions import SuggestionStatus as StatusModel

if TYPE_CHECKING:
    from schema.types import Connection, Dataset

CURSOR = "suggestions"


@strawberry.type(description="What an enricher proposes for one dataset version; nothing "
                             "changes in the catalog until a writer accepts it.")
class Suggestion(Node):
    id: strawberry.ID
    kind: SuggestionKind
    status: SuggestionStatus
    version: int = strawberry.field(description="The dataset version it was proposed for.")
    target: str = strawberry.field(description="The column it is about; empty for the "
                                               "whole dataset.")
    value: JSON = strawberry.field(description="What it proposes: {semantic_type, pii}, "
                                               "{kind, name, role}, {dataset, column}, "
                                               "{description} or {tag}.")
    confidence: float = strawberry.field(description="0 to 1.")
    evidence: JSON = strawberry.field(description="What the guess rests on, with the sample "
                                                  "size when the version was sampled.")
    enricher: str
    enricher_version: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    note: str | None = strawberry.field(description="Why it was decided so, or why an "
                                                    "accepted change could not apply.")
    model: strawberry.Private[SuggestionModel]

    @classmethod
    def from_model(cls, m: SuggestionModel) -> Suggestion:
        return cls(id=global_id("Suggestion", m.id), kind=SuggestionKind(m.kind.value),
                   status=SuggestionStatus(m.status.value), version=m.version,
                   target=m.target, value=cast(JSON, m.value), confidence=m.confidence,
                   evidence=cast(JSON, m.evidence), enricher=m.enricher,
                   enricher_version=m.enricher_version, created_at=m.created_at,
                   decided_at=m.decided_at, decided_by=m.decided_by, note=m.note, model=m)

    @strawberry.field(description="The dataset it is about (null once the dataset is "
                                  "deleted).")
    async def dataset(self, info: Info
                      ) -> Annotated[Dataset, strawberry.lazy("schema.types")] | None:
        from schema.types import Dataset

        found = await info.context.loaders.dataset.load(self.model.dataset_id)
        return Dataset.from_model(found) if found and found.deleted_at is None else None


def status_model(status: SuggestionStatus | None) -> StatusModel | None:
    return StatusModel(status.value) if status is not None else None


def kind_model(kind: SuggestionKind | None) -> KindModel | None:
    return KindModel(kind.value) if kind is not None else None


def raw_suggestion_id(value: str) -> str:
    """The store id inside a Suggestion's global id."""
    type_name, raw = from_global_id(value)
    if type_name != "Suggestion":
        raise ValidationError(f"id {value[:80]!r} is a {type_name}'s, not a suggestion's",
                              field="id")
    return raw


async def suggestions_page(info: Info, dataset_id: str | None,
                           status: SuggestionStatus | None, kind: SuggestionKind | None,
                           first: int | None, after: str | None) -> Connection[Suggestion]:
    """One page of suggestions, newest first. A dataset's first page comes through the
    request's DataLoader (one read for every dataset in the response)."""
    from schema.types import connection

    size = check_first(first, info.context.settings.max_page_size)
    cursor = decode_after(after, 2, CURSOR)
    if dataset_id is not None and cursor is None:
        page = await info.context.loaders.suggestions.load(
            (dataset_id, status_model(status), kind_model(kind), size))
    else:
        page = await info.context.graph.list_suggestions(
            dataset_id=dataset_id, status=status_model(status), kind=kind_model(kind),
            first=size, after=cursor)
    return connection([Suggestion.from_model(s) for s in page.items],
                      [tagged_cursor(CURSOR, c) for c in page.cursors], has_next=page.has_next,
                      has_previous=after is not None, total=page.total)
