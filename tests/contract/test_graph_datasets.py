"""Contract: sources and datasets (upsert, get, describe, soft delete, undelete)."""

from __future__ import annotations

import pytest

from server.errors import NotFoundError
from server.models import DatasetFilter, DatasetLayer, Direction, PageRequest, SourceKind
from server.storage.graph import GraphStore
from tests.contract.helpers import (
    ACTOR,
    actions,
    audit_mark,
    audit_since,
    dataset,
    is_aware,
    key,
    new_version,
)

# --- lifecycle ---------------------------------------------------------------------------


async def test_health_answers(graph: GraphStore) -> None:
    assert await graph.health() is None


# --- sources -----------------------------------------------------------------------------


async def test_source_put_then_get(graph: GraphStore) -> None:
    created = await graph.upsert_source(name="Acme Data", kind=SourceKind.VENDOR,
                                        url="https://acme.example", license="CC-BY-4.0",
                                        description="Panel data", actor=ACTOR)
    assert created.name == "Acme Data"
    assert created.kind is SourceKind.VENDOR
    assert (created.url, created.license, created.description) == (
        "https://acme.example", "CC-BY-4.0", "Panel data")
    assert is_aware(created.created_at)
    assert is_aware(created.updated_at)
    assert await graph.get_source_by_name("Acme Data") == created
    assert await graph.get_source_by_name("acme data") is None  # names are exact
    assert await graph.get_sources([created.id]) == [created]


async def test_source_upsert_updates_in_place(graph: GraphStore) -> None:
    first = await graph.upsert_source(name="gov", kind=SourceKind.PUBLIC_PORTAL, actor=ACTOR)
    mark = await audit_mark(graph)
    again = await graph.upsert_source(name="gov", kind=SourceKind.PUBLIC_PORTAL, actor=ACTOR)
    assert again == first
    assert await audit_since(graph, mark) == []  # no change, no event

    changed = await graph.upsert_source(name="gov", kind=SourceKind.PUBLISHER,
                                        url="https://data.gov.example", actor="editor")
    assert changed.id == first.id
    assert changed.kind is SourceKind.PUBLISHER
    assert changed.url == "https://data.gov.example"
    assert changed.created_at == first.created_at
    assert changed.updated_at >= first.updated_at
    events = await audit_since(graph, mark)
    assert [(e.action, e.actor, e.target_kind, e.target_id) for e in events] == [
        ("source.updated", "editor", "Source", first.id)]


async def test_get_sources_keeps_input_order(graph: GraphStore) -> None:
    a = await graph.upsert_source(name="a", kind=SourceKind.OTHER, actor=ACTOR)
    b = await graph.upsert_source(name="b", kind=SourceKind.INTERNAL, actor=ACTOR)
    assert await graph.get_sources([b.id, "missing", a.id, b.id]) == [b, None, a, b]
    assert await graph.get_sources([]) == []


async def test_list_sources_pages_by_name(graph: GraphStore) -> None:
    names = ["delta", "alpha", "echo", "charlie", "bravo"]
    for n in names:
        await graph.upsert_source(name=n, kind=SourceKind.OTHER, actor=ACTOR)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await graph.list_sources(first=2, after=after)
        pages += 1
        assert page.total == 5
        assert len(page.cursors) == len(page.items)
        seen += [s.name for s in page.items]
        if not page.has_next:
            break
        after = page.cursors[-1]
    assert seen == sorted(names)
    assert pages == 3
    empty = await graph.list_sources(first=10, after=page.cursors[-1])
    assert (empty.items, empty.has_next, empty.total) == ([], False, 5)


# --- datasets: create, get, update -------------------------------------------------------


async def test_dataset_put_then_get(graph: GraphStore) -> None:
    src = await graph.upsert_source(name="acme", kind=SourceKind.VENDOR, actor=ACTOR)
    mark = await audit_mark(graph)
    ds = await dataset(graph, "mkt", "ads/spend", description="Daily ad spend",
                       source_name="acme", layer=DatasetLayer.RAW)
    assert (ds.namespace, ds.name, ds.layer) == ("mkt", "ads/spend", DatasetLayer.RAW)
    assert ds.description == "Daily ad spend"
    assert ds.source_id == src.id
    assert ds.deleted_at is None
    assert is_aware(ds.created_at)
    assert is_aware(ds.updated_at)
    assert ds.key == key("mkt", "ads/spend")
    assert await graph.get_dataset("mkt", "ads/spend") == ds
    assert await graph.get_datasets([ds.id]) == [ds]
    events = await audit_since(graph, mark)
    assert [(e.action, e.actor, e.target_kind, e.target_id) for e in events] == [
        ("dataset.registered", ACTOR, "Dataset", ds.id)]


async def test_dataset_default_layer_is_curated(graph: GraphStore) -> None:
    ds = await dataset(graph, "mkt", "plain")
    assert ds.layer is DatasetLayer.CURATED
    assert ds.description is None
    assert ds.source_id is None


async def test_get_dataset_missing_is_none(graph: GraphStore) -> None:
    await dataset(graph, "mkt", "a")
    assert await graph.get_dataset("mkt", "b") is None
    assert await graph.get_dataset("other", "a") is None
    assert await graph.get_dataset("MKT", "a") is None  # keys are case-sensitive


async def test_get_datasets_input_order_none_and_duplicates(graph: GraphStore) -> None:
    a = await dataset(graph, "ns", "a")
    b = await dataset(graph, "ns", "b")
    c = await dataset(graph, "ns", "c")
    got = await graph.get_datasets([c.id, "nope", a.id, b.id, a.id])
    assert got == [c, None, a, b, a]
    assert await graph.get_datasets([]) == []
    assert await graph.get_datasets(["x", "y"]) == [None, None]


async def test_same_name_in_two_namespaces_are_two_datasets(graph: GraphStore) -> None:
    a = await dataset(graph, "one", "shared")
    b = await dataset(graph, "two", "shared")
    assert a.id != b.id
    assert (await graph.get_dataset("two", "shared")) == b


async def test_upsert_dataset_is_idempotent(graph: GraphStore) -> None:
    first = await dataset(graph, "mkt", "a", description="d")
    mark = await audit_mark(graph)
    again = await dataset(graph, "mkt", "a", description="d")
    assert again == first
    again_no_desc = await dataset(graph, "mkt", "a")  # None leaves the description alone
    assert again_no_desc == first
    assert await audit_since(graph, mark) == []


async def test_upsert_dataset_updates_description_and_source(graph: GraphStore) -> None:
    await graph.upsert_source(name="s1", kind=SourceKind.VENDOR, actor=ACTOR)
    s2 = await graph.upsert_source(name="s2", kind=SourceKind.VENDOR, actor=ACTOR)
    first = await dataset(graph, "mkt", "a", description="old", source_name="s1")
    mark = await audit_mark(graph)
    updated = await dataset(graph, "mkt", "a", description="new", source_name="s2",
                            actor="editor")
    assert updated.id == first.id
    assert (updated.description, updated.source_id) == ("new", s2.id)
    assert updated.created_at == first.created_at
    assert updated.updated_at >= first.updated_at
    assert await graph.get_dataset("mkt", "a") == updated
    events = await audit_since(graph, mark)
    assert [(e.action, e.actor, e.target_id) for e in events] == [
        ("dataset.updated", "editor", first.id)]


async def test_upsert_dataset_unknown_source_creates_nothing(graph: GraphStore) -> None:
    mark = await audit_mark(graph)
    with pytest.raises(NotFoundError):
        await dataset(graph, "mkt", "a", source_name="nobody")
    assert await graph.get_dataset("mkt", "a") is None
    assert await audit_since(graph, mark) == []


async def test_set_contract(graph: GraphStore) -> None:
    ds = await dataset(graph, "mkt", "events")
    assert ds.contract is None
    mark = await audit_mark(graph)
    contract = {"columns": {"user_id": {"type": "integer", "required": True}},
                "on_violation": "quarantine"}
    changed = await graph.set_contract("mkt", "events", contract, actor="editor")
    assert (changed.id, changed.contract) == (ds.id, contract)
    assert (await graph.get_dataset("mkt", "events")) == changed
    await graph.set_contract("mkt", "events", contract, actor="editor")   # same: no event
    cleared = await graph.set_contract("mkt", "events", None, actor="editor")
    assert cleared.contract is None
    events = await audit_since(graph, mark)
    assert [(e.action, e.actor) for e in events] == [("dataset.contract_set", "editor")] * 2
    with pytest.raises(NotFoundError):
        await graph.set_contract("mkt", "nobody", contract, actor="editor")


async def test_set_description(graph: GraphStore) -> None:
    ds = await dataset(graph, "mkt", "a", description="one")
    mark = await audit_mark(graph)
    changed = await graph.set_description("mkt", "a", "two", actor="editor")
    assert changed.id == ds.id
    assert changed.description == "two"
    assert changed.updated_at >= ds.updated_at
    same = await graph.set_description("mkt", "a", "two", actor="editor")
    assert same.description == "two"
    cleared = await graph.set_description("mkt", "a", None, actor="editor")
    assert cleared.description is None
    assert await graph.get_dataset("mkt", "a") == cleared
    events = await audit_since(graph, mark)
    assert [(e.action, e.actor, e.target_id) for e in events] == [
        ("dataset.described", "editor", ds.id), ("dataset.described", "editor", ds.id)]
    with pytest.raises(NotFoundError):
        await graph.set_description("mkt", "missing", "x", actor=ACTOR)


# --- soft delete and undelete ------------------------------------------------------------


async def test_soft_delete_hides_but_keeps_history(graph: GraphStore) -> None:
    upstream = await dataset(graph, "mkt", "upstream")
    (reg,) = await graph.register_versions([new_version("mkt", "gone", description="zebra")],
                                           actor=ACTOR)
    gone = reg.dataset
    await graph.put_lineage(key("mkt", "gone"), key("mkt", "upstream"), actor=ACTOR)
    assert len((await graph.search("zebra", first=10))[0]) == 1
    mark = await audit_mark(graph)

    deleted = await graph.delete_dataset("mkt", "gone", actor="remover")
    assert deleted.id == gone.id
    assert deleted.deleted_at is not None
    assert is_aware(deleted.deleted_at)

    # hidden: get_dataset, lists, search, lineage
    assert await graph.get_dataset("mkt", "gone") is None
    page = await graph.list_datasets(DatasetFilter(), PageRequest(first=50))
    assert [d.id for d in page.items] == [upstream.id]
    assert page.total == 1
    assert await graph.search("zebra", first=10) == ([], 0)
    lineage = await graph.get_lineage(upstream.id, direction=Direction.DOWNSTREAM, depth=3)
    assert [n.dataset.id for n in lineage.nodes] == [upstream.id]
    assert lineage.edges == []

    # kept: batch get by id (with deleted_at), versions, audit trail
    (by_id,) = await graph.get_datasets([gone.id])
    assert by_id is not None
    assert by_id.deleted_at is not None
    assert [v.id for v in (await graph.list_versions([gone.id]))[0]] == [reg.version.id]
    trail = await graph.list_audit(limit=100, target_id=gone.id)
    assert {"dataset.registered", "dataset.deleted"} <= set(actions(trail))
    events = await audit_since(graph, mark)
    assert [(e.action, e.actor, e.target_kind, e.target_id) for e in events] == [
        ("dataset.deleted", "remover", "Dataset", gone.id)]


async def test_deleted_dataset_refuses_changes(graph: GraphStore) -> None:
    await dataset(graph, "mkt", "gone")
    await dataset(graph, "mkt", "other")
    await graph.delete_dataset("mkt", "gone", actor=ACTOR)
    mark = await audit_mark(graph)
    with pytest.raises(NotFoundError):
        await graph.delete_dataset("mkt", "gone", actor=ACTOR)
    with pytest.raises(NotFoundError):
        await graph.set_description("mkt", "gone", "x", actor=ACTOR)
    with pytest.raises(NotFoundError):
        await graph.add_tag(key("mkt", "gone"), "pii", actor=ACTOR)
    with pytest.raises(NotFoundError):
        await graph.put_lineage(key("mkt", "other"), key("mkt", "gone"), actor=ACTOR)
    with pytest.raises(NotFoundError):
        await graph.put_lineage(key("mkt", "gone"), key("mkt", "other"), actor=ACTOR)
    assert await audit_since(graph, mark) == []


async def test_delete_missing_dataset_is_not_found(graph: GraphStore) -> None:
    with pytest.raises(NotFoundError):
        await graph.delete_dataset("mkt", "never", actor=ACTOR)


async def test_reregistering_a_deleted_dataset_restores_it(graph: GraphStore) -> None:
    (reg,) = await graph.register_versions([new_version("mkt", "phoenix")], actor=ACTOR)
    await graph.delete_dataset("mkt", "phoenix", actor=ACTOR)
    mark = await audit_mark(graph)
    back = await dataset(graph, "mkt", "phoenix")
    assert back.id == reg.dataset.id
    assert back.deleted_at is None
    assert await graph.get_dataset("mkt", "phoenix") == back
    assert [d.id for d in (await graph.list_datasets(
        DatasetFilter(), PageRequest(first=10))).items] == [back.id]
    assert len((await graph.search("phoenix", first=10))[0]) == 1
    # its history came back with it
    assert [v.id for v in (await graph.list_versions([back.id]))[0]] == [reg.version.id]
    assert actions(await audit_since(graph, mark)) == ["dataset.updated"]


async def test_registering_a_version_restores_a_deleted_dataset(graph: GraphStore) -> None:
    (first,) = await graph.register_versions([new_version("mkt", "phoenix", "h1")], actor=ACTOR)
    await graph.delete_dataset("mkt", "phoenix", actor=ACTOR)
    (second,) = await graph.register_versions([new_version("mkt", "phoenix", "h2")],
                                              actor=ACTOR)
    assert second.dataset.id == first.dataset.id
    assert second.dataset.deleted_at is None
    assert second.version.version == 2
    assert await graph.get_dataset("mkt", "phoenix") is not None
