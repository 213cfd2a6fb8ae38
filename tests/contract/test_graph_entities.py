"""Contract: entities and their links to datasets, tags, owners."""

from __future__ import annotations

from typing import Any

import pytest

from server.errors import NotFoundError
from server.ids import normalize_tag
from server.models import HUMAN_KINDS, Entity, EntityKind, OwnerKind, Tag
from server.storage.graph import GraphStore
from tests.contract.helpers import (
    ACTOR,
    actions,
    audit_mark,
    audit_since,
    dataset,
    is_aware,
    key,
)

# --- entities ----------------------------------------------------------------------------


async def test_entity_put_then_get(graph: GraphStore) -> None:
    mark = await audit_mark(graph)
    e = await graph.upsert_entity(kind=EntityKind.AI_AGENT, name="Support bot v2",
                                  description="LLM agent", actor="curator",
                                  identifiers={"crm": "AG-7", "email": "bot@example.com"})
    assert (e.kind, e.name, e.description) == (EntityKind.AI_AGENT, "Support bot v2",
                                               "LLM agent")
    assert e.identifiers == {"crm": "AG-7", "email": "bot@example.com"}
    assert e.is_human is False
    assert is_aware(e.created_at)
    assert await graph.get_entities([e.id]) == [e]
    events = await audit_since(graph, mark)
    assert [(ev.action, ev.actor, ev.target_kind, ev.target_id) for ev in events] == [
        ("entity.created", "curator", "Entity", e.id)]


async def test_entity_upsert_is_keyed_by_kind_and_name(graph: GraphStore) -> None:
    first = await graph.upsert_entity(kind=EntityKind.BRAND, name="Peso", actor=ACTOR)
    mark = await audit_mark(graph)
    assert await graph.upsert_entity(kind=EntityKind.BRAND, name="Peso", actor=ACTOR) == first
    assert await audit_since(graph, mark) == []

    updated = await graph.upsert_entity(kind=EntityKind.BRAND, name="Peso",
                                        description="the brand", identifiers={"ticker": "PSO"},
                                        actor=ACTOR)
    assert updated.id == first.id
    assert (updated.description, updated.identifiers) == ("the brand", {"ticker": "PSO"})
    assert updated.created_at == first.created_at
    assert await graph.get_entities([first.id]) == [updated]
    assert actions(await audit_since(graph, mark)) == ["entity.updated"]

    other_kind = await graph.upsert_entity(kind=EntityKind.PRODUCT, name="Peso", actor=ACTOR)
    assert other_kind.id != first.id


async def test_get_entities_keeps_input_order(graph: GraphStore) -> None:
    a = await graph.upsert_entity(kind=EntityKind.PERSON, name="Ada", actor=ACTOR)
    b = await graph.upsert_entity(kind=EntityKind.DEVICE, name="Phone", actor=ACTOR)
    assert await graph.get_entities([b.id, "missing", a.id, b.id]) == [b, None, a, b]
    assert await graph.get_entities([]) == []


@pytest.mark.parametrize("kind", list(EntityKind))
async def test_every_entity_kind_knows_whether_it_is_human(graph: GraphStore,
                                                           kind: EntityKind) -> None:
    e = await graph.upsert_entity(kind=kind, name=f"one {kind.value}", actor=ACTOR)
    assert e.kind is kind
    assert e.is_human is (kind in HUMAN_KINDS)
    page = await graph.list_entities(is_human=kind in HUMAN_KINDS, first=10)
    assert [x.id for x in page.items] == [e.id]
    page = await graph.list_entities(is_human=kind not in HUMAN_KINDS, first=10)
    assert page.items == []
    assert page.total == 0


async def _walk(graph: GraphStore, *, first: int, **flt: Any) -> tuple[list[Entity], int]:
    items: list[Entity] = []
    after = None
    totals = set()
    while True:
        page = await graph.list_entities(first=first, after=after, **flt)
        assert len(page.items) <= first
        assert len(page.cursors) == len(page.items)
        totals.add(page.total)
        items += page.items
        if not page.has_next:
            break
        after = page.cursors[-1]
    assert len(totals) == 1
    return items, totals.pop()


async def test_list_entities_filters_and_pages(graph: GraphStore) -> None:
    people = ["Zoe", "Ada", "Mia", "Bob"]
    for n in people:
        await graph.upsert_entity(kind=EntityKind.PERSON, name=n, actor=ACTOR)
    await graph.upsert_entity(kind=EntityKind.AUDIENCE, name="Lapsed buyers", actor=ACTOR)
    for n in ["Web", "Email", "TV"]:
        await graph.upsert_entity(kind=EntityKind.CHANNEL, name=n, actor=ACTOR)
    await graph.upsert_entity(kind=EntityKind.BOT, name="Ada", actor=ACTOR)  # same name

    for first in (1, 2, 3, 50):
        items, total = await _walk(graph, first=first, kind=EntityKind.PERSON)
        assert [e.name for e in items] == sorted(people)
        assert total == 4
        items, total = await _walk(graph, first=first, is_human=True)
        assert sorted(e.name for e in items) == sorted([*people, "Lapsed buyers"])
        assert [e.name for e in items] == sorted(e.name for e in items)
        assert total == 5
        items, total = await _walk(graph, first=first, is_human=False)
        assert sorted(e.name for e in items) == ["Ada", "Email", "TV", "Web"]
        assert all(not e.is_human for e in items)
        assert total == 4
        items, total = await _walk(graph, first=first)
        assert total == 9
        assert len({e.id for e in items}) == 9
    items, total = await _walk(graph, first=5, kind=EntityKind.PERSON, is_human=False)
    assert (items, total) == ([], 0)
    items, total = await _walk(graph, first=5, kind=EntityKind.CAMPAIGN)
    assert (items, total) == ([], 0)


async def test_link_entity_and_read_back(graph: GraphStore) -> None:
    ds = await dataset(graph, "crm", "customers")
    other = await dataset(graph, "crm", "other")
    cust = await graph.upsert_entity(kind=EntityKind.CUSTOMER, name="Retail", actor=ACTOR)
    brand = await graph.upsert_entity(kind=EntityKind.BRAND, name="Acme", actor=ACTOR)
    mark = await audit_mark(graph)

    link = await graph.link_entity(key("crm", "customers"), cust.id, role="subject",
                                   actor="curator")
    assert (link.dataset_id, link.entity_id, link.role) == (ds.id, cust.id, "subject")
    await graph.link_entity(key("crm", "customers"), brand.id, actor="curator")
    got = await graph.get_dataset_entities([ds.id, "missing", other.id])
    assert len(got) == 3
    assert sorted((e.id, role) for e, role in got[0]) == sorted(
        [(cust.id, "subject"), (brand.id, None)])
    assert got[1] == []
    assert got[2] == []
    assert {e.id: e for e, _ in got[0]}[cust.id] == cust
    events = await audit_since(graph, mark)
    assert [(e.action, e.actor, e.target_kind, e.target_id) for e in events] == [
        ("entity.linked", "curator", "Dataset", ds.id)] * 2
    assert await graph.get_dataset_entities([]) == []


async def test_relinking_updates_the_role_and_noop_writes_nothing(graph: GraphStore) -> None:
    ds = await dataset(graph, "crm", "customers")
    cust = await graph.upsert_entity(kind=EntityKind.CUSTOMER, name="Retail", actor=ACTOR)
    await graph.link_entity(key("crm", "customers"), cust.id, role="subject", actor=ACTOR)
    mark = await audit_mark(graph)
    await graph.link_entity(key("crm", "customers"), cust.id, role="subject", actor=ACTOR)
    assert await audit_since(graph, mark) == []
    await graph.link_entity(key("crm", "customers"), cust.id, role="buyer", actor=ACTOR)
    (pairs,) = await graph.get_dataset_entities([ds.id])
    assert [(e.id, role) for e, role in pairs] == [(cust.id, "buyer")]
    assert actions(await audit_since(graph, mark)) == ["entity.linked"]


async def test_link_entity_refuses_unknown_parts(graph: GraphStore) -> None:
    await dataset(graph, "crm", "customers")
    await dataset(graph, "crm", "gone")
    await graph.delete_dataset("crm", "gone", actor=ACTOR)
    cust = await graph.upsert_entity(kind=EntityKind.CUSTOMER, name="Retail", actor=ACTOR)
    mark = await audit_mark(graph)
    with pytest.raises(NotFoundError):
        await graph.link_entity(key("crm", "customers"), "no-such-entity", actor=ACTOR)
    with pytest.raises(NotFoundError):
        await graph.link_entity(key("crm", "missing"), cust.id, actor=ACTOR)
    with pytest.raises(NotFoundError):
        await graph.link_entity(key("crm", "gone"), cust.id, actor=ACTOR)
    assert await audit_since(graph, mark) == []


# --- tags --------------------------------------------------------------------------------


async def test_tags_add_remove_idempotent(graph: GraphStore) -> None:
    ds = await dataset(graph, "mkt", "a")
    mark = await audit_mark(graph)
    returned = await graph.add_tag(key("mkt", "a"), "pii", actor="tagger")
    assert returned.id == ds.id
    await graph.add_tag(key("mkt", "a"), "pii", actor="tagger")
    await graph.add_tag(key("mkt", "a"), "gdpr:eu", actor="tagger")
    assert await graph.get_tags([ds.id]) == [[Tag("gdpr:eu"), Tag("pii")]]
    await graph.remove_tag(key("mkt", "a"), "pii", actor="tagger")
    await graph.remove_tag(key("mkt", "a"), "pii", actor="tagger")
    await graph.remove_tag(key("mkt", "a"), "never-there", actor="tagger")
    assert await graph.get_tags([ds.id]) == [[Tag("gdpr:eu")]]
    events = await audit_since(graph, mark)
    assert [(e.action, e.actor, e.target_kind, e.target_id, e.detail.get("tag"))
            for e in events] == [
        ("tag.added", "tagger", "Dataset", ds.id, "pii"),
        ("tag.added", "tagger", "Dataset", ds.id, "gdpr:eu"),
        ("tag.removed", "tagger", "Dataset", ds.id, "pii"),
    ]


async def test_normalised_tags_are_one_tag(graph: GraphStore) -> None:
    ds = await dataset(graph, "mkt", "a")
    for raw in ["  PII ", "pii", "Pii"]:
        await graph.add_tag(key("mkt", "a"), normalize_tag(raw), actor=ACTOR)
    assert await graph.get_tags([ds.id]) == [[Tag("pii")]]
    await graph.remove_tag(key("mkt", "a"), normalize_tag(" PII"), actor=ACTOR)
    assert await graph.get_tags([ds.id]) == [[]]


async def test_get_tags_keeps_input_order(graph: GraphStore) -> None:
    a = await dataset(graph, "mkt", "a")
    b = await dataset(graph, "mkt", "b")
    for t in ["zeta", "alpha", "mid"]:
        await graph.add_tag(key("mkt", "a"), t, actor=ACTOR)
    await graph.add_tag(key("mkt", "b"), "beta", actor=ACTOR)
    got = await graph.get_tags([b.id, "missing", a.id])
    assert got == [[Tag("beta")], [], [Tag("alpha"), Tag("mid"), Tag("zeta")]]
    assert await graph.get_tags([]) == []


async def test_tags_on_missing_dataset(graph: GraphStore) -> None:
    with pytest.raises(NotFoundError):
        await graph.add_tag(key("mkt", "missing"), "pii", actor=ACTOR)
    with pytest.raises(NotFoundError):
        await graph.remove_tag(key("mkt", "missing"), "pii", actor=ACTOR)


# --- owners ------------------------------------------------------------------------------


async def test_owners_put_then_get(graph: GraphStore) -> None:
    a = await dataset(graph, "mkt", "a")
    b = await dataset(graph, "mkt", "b")
    mark = await audit_mark(graph)
    owner = await graph.add_owner(key("mkt", "a"), name="growth-team", kind=OwnerKind.TEAM,
                                  actor="admin")
    assert (owner.name, owner.kind, owner.email) == ("growth-team", OwnerKind.TEAM, None)
    await graph.add_owner(key("mkt", "a"), name="Ada", kind=OwnerKind.USER,
                          email="ada@example.com", actor="admin")
    got = await graph.get_owners([a.id, "missing", b.id])
    assert [[(o.name, o.kind, o.email) for o in group] for group in got] == [
        [("Ada", OwnerKind.USER, "ada@example.com"), ("growth-team", OwnerKind.TEAM, None)],
        [], []]
    events = await audit_since(graph, mark)
    assert [(e.action, e.actor, e.target_kind, e.target_id) for e in events] == [
        ("owner.added", "admin", "Dataset", a.id)] * 2
    assert await graph.get_owners([]) == []


async def test_owner_readded_updates_and_noop_writes_nothing(graph: GraphStore) -> None:
    a = await dataset(graph, "mkt", "a")
    await graph.add_owner(key("mkt", "a"), name="Ada", kind=OwnerKind.USER, actor=ACTOR)
    mark = await audit_mark(graph)
    await graph.add_owner(key("mkt", "a"), name="Ada", kind=OwnerKind.USER, actor=ACTOR)
    assert await audit_since(graph, mark) == []
    await graph.add_owner(key("mkt", "a"), name="Ada", kind=OwnerKind.USER,
                          email="ada@example.com", actor=ACTOR)
    (owners,) = await graph.get_owners([a.id])
    assert [(o.name, o.email) for o in owners] == [("Ada", "ada@example.com")]
    assert actions(await audit_since(graph, mark)) == ["owner.added"]


async def test_owner_on_missing_dataset(graph: GraphStore) -> None:
    with pytest.raises(NotFoundError):
        await graph.add_owner(key("mkt", "missing"), name="x", kind=OwnerKind.TEAM, actor=ACTOR)
