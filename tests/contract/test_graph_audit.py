"""Contract: the audit log. One event per change, none for a no-op, newest first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from server.models import DatasetLayer, EntityKind, OwnerKind, SourceKind
from server.storage.graph import GraphStore
from tests.contract.helpers import (
    ACTOR,
    audit_mark,
    audit_since,
    dataset,
    is_aware,
    key,
    new_version,
)


async def test_append_then_list(graph: GraphStore) -> None:
    event = await graph.append_audit(actor="ops", action="object.uploaded", target_kind="Object",
                                     target_id="raw/a/b/1/f.csv",
                                     detail={"bytes": 123, "note": "ok", "flag": True})
    assert (event.actor, event.action, event.target_kind, event.target_id) == (
        "ops", "object.uploaded", "Object", "raw/a/b/1/f.csv")
    assert event.detail == {"bytes": 123, "note": "ok", "flag": True}
    assert is_aware(event.at)
    assert await graph.list_audit(limit=10) == [event]
    bare = await graph.append_audit(actor="ops", action="x.y", target_kind="T", target_id="t")
    assert bare.detail == {}
    assert bare.id > event.id


async def test_list_audit_newest_first_with_limit_and_target(graph: GraphStore) -> None:
    written = []
    for i in range(6):
        written.append(await graph.append_audit(
            actor=f"a{i}", action="test.step", target_kind="T",
            target_id="even" if i % 2 == 0 else "odd", detail={"i": i}))
    everything = await graph.list_audit(limit=100)
    assert [e.id for e in everything] == [e.id for e in reversed(written)]
    assert [e.at for e in everything] == sorted((e.at for e in everything), reverse=True)
    assert len({e.id for e in everything}) == 6
    assert await graph.list_audit(limit=2) == everything[:2]
    even = await graph.list_audit(limit=100, target_id="even")
    assert [e.detail["i"] for e in even] == [4, 2, 0]
    assert [e.detail["i"] for e in await graph.list_audit(limit=1, target_id="odd")] == [5]
    assert await graph.list_audit(limit=10, target_id="nobody") == []


Step = Callable[[GraphStore], Awaitable[Any]]


async def _link(g: GraphStore) -> Any:
    vip = await g.upsert_entity(kind=EntityKind.AUDIENCE, name="vip", description="top 1%",
                                actor=ACTOR)  # exists already: a no-op
    return await g.link_entity(key("ns", "d"), vip.id, role="subject", actor=ACTOR)


def _steps() -> list[tuple[str, Step, list[tuple[str, str]]]]:
    """(label, mutation, expected (action, target_kind) events) — run in this order."""
    k = key("ns", "d")
    return [
        ("source created", lambda g: g.upsert_source(name="src", kind=SourceKind.VENDOR,
                                                     actor=ACTOR),
         [("source.created", "Source")]),
        ("source updated", lambda g: g.upsert_source(name="src", kind=SourceKind.VENDOR,
                                                     url="https://x.example", actor=ACTOR),
         [("source.updated", "Source")]),
        ("dataset registered", lambda g: dataset(g, "ns", "d"),
         [("dataset.registered", "Dataset")]),
        ("upstream registered", lambda g: dataset(g, "ns", "up", layer=DatasetLayer.RAW),
         [("dataset.registered", "Dataset")]),
        ("dataset updated", lambda g: dataset(g, "ns", "d", source_name="src"),
         [("dataset.updated", "Dataset")]),
        ("described", lambda g: g.set_description("ns", "d", "text", actor=ACTOR),
         [("dataset.described", "Dataset")]),
        ("version added", lambda g: g.register_versions([new_version("ns", "d", "h1")],
                                                        actor=ACTOR),
         [("version.added", "DatasetVersion")]),
        ("entity created", lambda g: g.upsert_entity(kind=EntityKind.AUDIENCE, name="vip",
                                                     actor=ACTOR),
         [("entity.created", "Entity")]),
        ("entity updated", lambda g: g.upsert_entity(kind=EntityKind.AUDIENCE, name="vip",
                                                     description="top 1%", actor=ACTOR),
         [("entity.updated", "Entity")]),
        ("entity linked", _link, [("entity.linked", "Dataset")]),
        ("tag added", lambda g: g.add_tag(k, "pii", actor=ACTOR), [("tag.added", "Dataset")]),
        ("tag removed", lambda g: g.remove_tag(k, "pii", actor=ACTOR),
         [("tag.removed", "Dataset")]),
        ("owner added", lambda g: g.add_owner(k, name="team", kind=OwnerKind.TEAM, actor=ACTOR),
         [("owner.added", "Dataset")]),
        ("lineage added", lambda g: g.put_lineage(k, key("ns", "up"), actor=ACTOR),
         [("lineage.added", "Dataset")]),
        ("deleted", lambda g: g.delete_dataset("ns", "d", actor=ACTOR),
         [("dataset.deleted", "Dataset")]),
        ("restored", lambda g: dataset(g, "ns", "d"), [("dataset.updated", "Dataset")]),
    ]


# every step but a delete changes nothing when run a second time right away
NOT_REPEATABLE = {"deleted"}


async def test_every_mutation_writes_one_event_and_noops_none(graph: GraphStore) -> None:
    for label, step, expected in _steps():
        mark = await audit_mark(graph)
        await step(graph)
        events = await audit_since(graph, mark)
        assert [(e.action, e.target_kind) for e in events] == expected, label
        assert all(e.actor == ACTOR and e.target_id and is_aware(e.at) for e in events), label
        if label not in NOT_REPEATABLE:
            mark = await audit_mark(graph)
            await step(graph)
            assert await audit_since(graph, mark) == [], f"{label}: a no-op wrote an event"


async def test_audit_targets_name_the_changed_thing(graph: GraphStore) -> None:
    src = await graph.upsert_source(name="src", kind=SourceKind.VENDOR, actor=ACTOR)
    ent = await graph.upsert_entity(kind=EntityKind.PERSON, name="Ada", actor=ACTOR)
    (reg,) = await graph.register_versions([new_version("ns", "d")], actor=ACTOR)
    await graph.link_entity(key("ns", "d"), ent.id, actor=ACTOR)
    assert [e.action for e in await graph.list_audit(limit=10, target_id=src.id)] == [
        "source.created"]
    assert [e.action for e in await graph.list_audit(limit=10, target_id=ent.id)] == [
        "entity.created"]
    assert [e.action for e in await graph.list_audit(limit=10, target_id=reg.version.id)] == [
        "version.added"]
    assert [e.action for e in await graph.list_audit(limit=10, target_id=reg.dataset.id)] == [
        "entity.linked", "dataset.registered"]


@pytest.mark.parametrize("actor", ["alice", "token:ci-bot", "Ünïcode Üser"])
async def test_actor_is_recorded_verbatim(graph: GraphStore, actor: str) -> None:
    ds = await graph.upsert_dataset(namespace="ns", name="d", actor=actor)
    (event,) = await graph.list_audit(limit=10, target_id=ds.id)
    assert event.actor == actor
