"""Accept or reject a suggestion: the one place an enricher's guess becomes a catalog change,
always by a person's decision (GraphQL ``acceptSuggestion``, ``peso suggestions accept``, the
MCP ``accept_suggestion`` tool).

Accepting applies the change through the ordinary store calls, each with its own audit event,
then records the decision (``suggestion.accepted``):

- ``tag``: the tag is added;
- ``description``: written only when the dataset has none, or when its description is one
  an earlier accepted suggestion wrote. A description a person wrote is kept: the suggestion
  stays pending with a note saying so (audit ``suggestion.kept_pending``) and ``applied`` is
  False;
- ``semantic_type``: the column of that version gets the type and PII flag (a PII flag is
  never cleared by a suggestion);
- ``entity``: the entity is created if needed and linked to the dataset;
- ``join_key``: nothing to change; the accepted suggestion is the record of the join.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import NotFoundError, ValidationError
from server.models import DatasetKey, EntityKind
from server.models_suggestions import Suggestion, SuggestionKind, SuggestionStatus
from server.storage.graph import GraphStore

KEPT_NOTE = ("kept the description a person wrote; accept again after clearing it, or "
             "reject this draft")


@dataclass(frozen=True)
class Decision:
    suggestion: Suggestion
    applied: bool
    message: str


async def _get(graph: GraphStore, suggestion_id: str) -> Suggestion:
    [found] = await graph.get_suggestions([suggestion_id])
    if found is None:
        raise NotFoundError(f"no suggestion with id {suggestion_id!r}", field="suggestion")
    return found


async def _machine_written(graph: GraphStore, dataset_id: str, text: str) -> bool:
    """True when ``text`` is a description an accepted suggestion wrote."""
    after = None
    while True:
        page = await graph.list_suggestions(dataset_id=dataset_id,
                                            status=SuggestionStatus.ACCEPTED, first=100,
                                            after=after)
        if any(s.kind is SuggestionKind.DESCRIPTION and s.value.get("description") == text
               for s in page.items):
            return True
        if not page.has_next:
            return False
        after = page.cursors[-1]


async def accept(graph: GraphStore, suggestion_id: str, *, actor: str) -> Decision:
    s = await _get(graph, suggestion_id)
    if s.status is not SuggestionStatus.PENDING:
        # decide_suggestion raises the ConflictError with the status in it
        await graph.decide_suggestion(s.id, status=SuggestionStatus.ACCEPTED, actor=actor)
    [dataset] = await graph.get_datasets([s.dataset_id])
    if dataset is None or dataset.deleted_at is not None:
        raise NotFoundError(f"the dataset of suggestion {s.id} no longer exists",
                            field="suggestion")
    key = DatasetKey(dataset.namespace, dataset.name)
    message = "applied"
    if s.kind is SuggestionKind.TAG:
        await graph.add_tag(key, str(s.value["tag"]), actor=actor)
    elif s.kind is SuggestionKind.DESCRIPTION:
        current = dataset.description
        if current and not await _machine_written(graph, dataset.id, current):
            kept = await graph.note_suggestion(s.id, KEPT_NOTE, actor=actor)
            return Decision(kept, False, KEPT_NOTE)
        await graph.set_description(dataset.namespace, dataset.name,
                                    str(s.value["description"]), actor=actor)
    elif s.kind is SuggestionKind.SEMANTIC_TYPE:
        [fields] = await graph.get_fields([s.version_id])
        column = next((f for f in fields if f.name == s.target), None)
        if column is None:
            raise NotFoundError(f"version {s.version} has no column {s.target!r}",
                                field="suggestion")
        await graph.set_field_semantics(
            s.version_id, s.target, semantic_type=str(s.value["semantic_type"]),
            pii=column.pii or bool(s.value.get("pii")), actor=actor)
    elif s.kind is SuggestionKind.ENTITY:
        try:
            kind = EntityKind(str(s.value["kind"]))
        except ValueError as exc:
            raise ValidationError(f"suggestion {s.id} names an unknown entity kind "
                                  f"{s.value.get('kind')!r}", field="suggestion") from exc
        entity = await graph.upsert_entity(kind=kind, name=str(s.value["name"]), actor=actor)
        await graph.link_entity(key, entity.id, role=s.value.get("role"), actor=actor)
    else:
        message = "recorded (a join key changes nothing in the catalog)"
    decided = await graph.decide_suggestion(s.id, status=SuggestionStatus.ACCEPTED,
                                            actor=actor)
    return Decision(decided, True, message)


async def reject(graph: GraphStore, suggestion_id: str, *, actor: str,
                 reason: str | None = None) -> Decision:
    decided = await graph.decide_suggestion(suggestion_id, status=SuggestionStatus.REJECTED,
                                            actor=actor, note=reason)
    return Decision(decided, False, "rejected: it is not proposed again for this version")
