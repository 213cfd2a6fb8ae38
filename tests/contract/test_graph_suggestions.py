"""Contract: enrichers' suggestions (put, list by dataset/status, accept, reject, supersede)
and the field edit an accepted semantic type makes, on every graph backend."""

from __future__ import annotations

import pytest

from server.errors import ConflictError, NotFoundError
from server.models import FieldSpec
from server.models_suggestions import NewSuggestion, SuggestionKind, SuggestionStatus
from server.storage.graph import GraphStore
from tests.contract.helpers import ACTOR, actions, audit_mark, audit_since, new_version


def proposal(dataset_id: str, version_id: str, version: int, *, target: str = "email",
             semantic: str = "email", confidence: float = 0.9) -> NewSuggestion:
    return NewSuggestion(dataset_id=dataset_id, version_id=version_id, version=version,
                         kind=SuggestionKind.SEMANTIC_TYPE, target=target,
                         value={"semantic_type": semantic, "pii": True},
                         confidence=confidence,
                         evidence={"sample_size": 100, "matched": 97},
                         enricher="test", enricher_version="1")


async def registered(graph: GraphStore, name: str = "people", content: str = "h1"
                     ) -> tuple[str, str, int]:
    fields = [FieldSpec("email", "string"), FieldSpec("age", "int64")]
    [reg] = await graph.register_versions([new_version("mk", name, content, fields=fields)],
                                          actor=ACTOR)
    return reg.dataset.id, reg.version.id, reg.version.version


async def test_put_list_and_skip_the_same_proposal(graph: GraphStore) -> None:
    ds, ver, n = await registered(graph)
    other, over, on = await registered(graph, "other")
    mark = await audit_mark(graph)
    first = await graph.put_suggestions(
        [proposal(ds, ver, n), proposal(ds, ver, n, target="age", semantic="age"),
         proposal(other, over, on)], actor=ACTOR)
    assert len(first.created) == 3
    assert first.skipped == 0
    assert actions(await audit_since(graph, mark)) == ["suggestion.proposed"] * 3
    made = first.created[0]
    assert made.status is SuggestionStatus.PENDING
    assert made.confidence == pytest.approx(0.9)
    assert made.evidence == {"sample_size": 100, "matched": 97}
    assert made.value == {"semantic_type": "email", "pii": True}
    # the same proposal (another confidence) is the same suggestion: skipped
    again = await graph.put_suggestions([proposal(ds, ver, n, confidence=0.5)], actor=ACTOR)
    assert again.created == []
    assert again.skipped == 1

    page = await graph.list_suggestions(dataset_id=ds, first=10)
    assert page.total == 2
    assert {s.target for s in page.items} == {"email", "age"}
    assert all(s.dataset_id == ds for s in page.items)
    one = await graph.list_suggestions(dataset_id=ds, first=1)
    assert one.has_next
    assert len(one.items) == 1
    rest = await graph.list_suggestions(dataset_id=ds, first=5, after=one.cursors[-1])
    assert [s.id for s in rest.items] != [s.id for s in one.items]
    assert len(rest.items) == 1
    assert (await graph.list_suggestions(first=10)).total == 3
    assert await graph.get_suggestions([made.id, "nope"]) == [made, None]


async def test_reject_is_not_proposed_again_for_that_version(graph: GraphStore) -> None:
    ds, ver, n = await registered(graph)
    [made] = (await graph.put_suggestions([proposal(ds, ver, n)], actor=ACTOR)).created
    mark = await audit_mark(graph)
    rejected = await graph.decide_suggestion(made.id, status=SuggestionStatus.REJECTED,
                                             actor="alice", note="not an email")
    assert rejected.status is SuggestionStatus.REJECTED
    assert rejected.decided_by == "alice"
    assert rejected.decided_at is not None
    assert rejected.note == "not an email"
    [event] = await audit_since(graph, mark)
    assert event.action == "suggestion.rejected"
    assert event.actor == "alice"
    assert event.target_id == made.id
    assert event.detail["kind"] == "semantic_type"
    assert (await graph.put_suggestions([proposal(ds, ver, n)], actor=ACTOR)).skipped == 1
    pending = await graph.list_suggestions(dataset_id=ds, status=SuggestionStatus.PENDING,
                                           first=10)
    assert pending.items == []
    assert (await graph.list_suggestions(status=SuggestionStatus.REJECTED, first=5)).total == 1
    with pytest.raises(ConflictError, match="not pending"):
        await graph.decide_suggestion(made.id, status=SuggestionStatus.ACCEPTED, actor="bob")
    with pytest.raises(NotFoundError):
        await graph.decide_suggestion("missing", status=SuggestionStatus.ACCEPTED,
                                      actor="bob")


async def test_a_new_version_proposes_again_and_supersedes(graph: GraphStore) -> None:
    ds, v1, n1 = await registered(graph, content="h1")
    [old] = (await graph.put_suggestions([proposal(ds, v1, n1)], actor=ACTOR)).created
    _, v2, n2 = await registered(graph, content="h2")
    assert n2 == n1 + 1
    result = await graph.put_suggestions([proposal(ds, v2, n2)], actor=ACTOR)
    assert len(result.created) == 1
    assert result.superseded == 1
    [before] = await graph.get_suggestions([old.id])
    assert before is not None
    assert before.status is SuggestionStatus.SUPERSEDED
    pending = await graph.list_suggestions(dataset_id=ds, status=SuggestionStatus.PENDING,
                                           first=10)
    assert [s.version for s in pending.items] == [n2]


async def test_accept_and_field_semantics(graph: GraphStore) -> None:
    ds, ver, n = await registered(graph)
    [made] = (await graph.put_suggestions([proposal(ds, ver, n)], actor=ACTOR)).created
    mark = await audit_mark(graph)
    changed = await graph.set_field_semantics(ver, "email", semantic_type="email", pii=True,
                                              actor="alice")
    assert changed.semantic_type == "email"
    assert changed.pii
    [fields] = await graph.get_fields([ver])
    assert {f.name: (f.semantic_type, f.pii) for f in fields}["email"] == ("email", True)
    # unchanged: no second audit event
    await graph.set_field_semantics(ver, "email", semantic_type="email", pii=True,
                                    actor="alice")
    accepted = await graph.decide_suggestion(made.id, status=SuggestionStatus.ACCEPTED,
                                             actor="alice")
    assert accepted.status is SuggestionStatus.ACCEPTED
    assert actions(await audit_since(graph, mark)) == ["field.semantics_set",
                                                       "suggestion.accepted"]
    with pytest.raises(NotFoundError, match="no column"):
        await graph.set_field_semantics(ver, "nope", semantic_type=None, pii=False,
                                        actor="alice")
    noted = await graph.note_suggestion(made.id, "kept", actor="alice")
    assert noted.note == "kept"


async def test_list_by_kind_and_first_pages_of_several_datasets(graph: GraphStore) -> None:
    ds, ver, n = await registered(graph)
    other, over, on = await registered(graph, "other")
    empty, _, _ = await registered(graph, "empty")
    tag = NewSuggestion(dataset_id=ds, version_id=ver, version=n, kind=SuggestionKind.TAG,
                        target="", value={"tag": "crm"}, confidence=0.6, evidence={},
                        enricher="test", enricher_version="1")
    made = await graph.put_suggestions(
        [proposal(ds, ver, n), proposal(ds, ver, n, target="age", semantic="age"), tag,
         proposal(other, over, on)], actor=ACTOR)
    assert len(made.created) == 4
    tags = await graph.list_suggestions(kind=SuggestionKind.TAG, first=10)
    assert [s.value for s in tags.items] == [{"tag": "crm"}]
    assert tags.total == 1
    typed = await graph.list_suggestions(dataset_id=ds, kind=SuggestionKind.SEMANTIC_TYPE,
                                         status=SuggestionStatus.PENDING, first=10)
    assert {s.target for s in typed.items} == {"email", "age"}

    pages = await graph.list_dataset_suggestions([ds, empty, other, ds], first=2)
    assert [p.total for p in pages] == [3, 0, 1, 3]
    assert [len(p.items) for p in pages] == [2, 0, 1, 2]
    assert [p.has_next for p in pages] == [True, False, False, True]
    # the same order and cursors as the dataset's own list
    alone = await graph.list_suggestions(dataset_id=ds, first=2)
    assert [s.id for s in pages[0].items] == [s.id for s in alone.items]
    assert pages[0].cursors == alone.cursors
    rest = await graph.list_suggestions(dataset_id=ds, first=5, after=pages[0].cursors[-1])
    assert len(rest.items) == 1
    [only] = await graph.list_dataset_suggestions([ds], kind=SuggestionKind.TAG,
                                                  status=SuggestionStatus.PENDING, first=5)
    assert (only.total, [s.kind for s in only.items]) == (1, [SuggestionKind.TAG])
    assert await graph.list_dataset_suggestions([], first=5) == []
