"""Contract: ``register_versions`` (numbering, no-op re-runs, fields, atomicity) and reads."""

from __future__ import annotations

import pytest

from server.errors import ConflictError, NotFoundError
from server.models import (
    DatasetFilter,
    DatasetLayer,
    Direction,
    FieldSpec,
    PageRequest,
    SourceKind,
)
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

FIELDS = [
    FieldSpec("customer_id", "string", nullable=False, description="CRM id",
              metadata={"semantic_type": "identifier", "pii": "true"}),
    FieldSpec("age", "int64"),
    FieldSpec("balance", "decimal128(12, 2)", nullable=True, metadata={"unit": "EUR"}),
    FieldSpec("signed_up", "timestamp[us, tz=UTC]", nullable=False),
    FieldSpec("tags", "list<item: string>"),
]


async def test_register_new_dataset_and_first_version(graph: GraphStore) -> None:
    src = await graph.upsert_source(name="uci", kind=SourceKind.PUBLIC_PORTAL, actor=ACTOR)
    mark = await audit_mark(graph)
    (reg,) = await graph.register_versions(
        [new_version("bank", "marketing", "sha-1", fields=FIELDS, rows=4521,
                     source_name="uci", description="Bank campaign calls",
                     version_id="v-chosen-by-caller")],
        actor="loader")
    assert reg.created is True
    ds, v = reg.dataset, reg.version
    assert (ds.namespace, ds.name, ds.layer) == ("bank", "marketing", DatasetLayer.CURATED)
    assert (ds.description, ds.source_id, ds.deleted_at) == ("Bank campaign calls", src.id, None)
    assert v.id == "v-chosen-by-caller"
    assert (v.dataset_id, v.version, v.content_hash) == (ds.id, 1, "sha-1")
    assert (v.row_count, v.byte_size, v.format) == (4521, 452100, "csv")
    assert v.raw_key == "raw/bank/marketing/sha-1/data.csv"
    assert v.curated_key == "curated/bank/marketing/sha-1/part-0.parquet"
    assert v.created_by == "loader"
    assert is_aware(v.created_at)

    assert await graph.get_dataset("bank", "marketing") == ds
    assert await graph.get_versions([v.id]) == [v]
    assert await graph.get_latest_versions([ds.id]) == [v]
    events = await audit_since(graph, mark)
    assert [(e.action, e.actor, e.target_kind, e.target_id) for e in events] == [
        ("dataset.registered", "loader", "Dataset", ds.id),
        ("version.added", "loader", "DatasetVersion", v.id),
    ]


async def test_fields_are_stored_in_order_with_their_types(graph: GraphStore) -> None:
    (reg,) = await graph.register_versions([new_version("bank", "m", fields=FIELDS)],
                                           actor=ACTOR)
    (fields,) = await graph.get_fields([reg.version.id])
    assert [f.position for f in fields] == list(range(len(FIELDS)))
    assert [(f.name, f.arrow_type, f.nullable, f.description, f.metadata) for f in fields] == [
        (s.name, s.arrow_type, s.nullable, s.description, s.metadata) for s in FIELDS]
    assert all(f.version_id == reg.version.id for f in fields)
    assert len({f.id for f in fields}) == len(FIELDS)


async def test_each_version_owns_its_fields(graph: GraphStore) -> None:
    (v1,) = await graph.register_versions([new_version("ns", "d", "h1", fields=FIELDS)],
                                          actor=ACTOR)
    (v2,) = await graph.register_versions(
        [new_version("ns", "d", "h2", fields=[FieldSpec("only", "bool", nullable=False)])],
        actor=ACTOR)
    (v0,) = await graph.register_versions([new_version("ns", "empty", fields=[])], actor=ACTOR)
    got = await graph.get_fields([v2.version.id, "missing", v1.version.id, v0.version.id])
    assert [[f.name for f in group] for group in got] == [
        ["only"], [], [f.name for f in FIELDS], []]
    assert got[0][0].nullable is False
    assert await graph.get_fields([]) == []


async def test_versions_number_up_and_list_newest_first(graph: GraphStore) -> None:
    regs = []
    for h in ["h1", "h2", "h3"]:
        (reg,) = await graph.register_versions([new_version("ns", "d", h)], actor=ACTOR)
        assert reg.created is True
        regs.append(reg)
    assert [r.version.version for r in regs] == [1, 2, 3]
    assert len({r.dataset.id for r in regs}) == 1
    ds_id = regs[0].dataset.id
    (listed,) = await graph.list_versions([ds_id])
    assert [v.version for v in listed] == [3, 2, 1]
    assert [v.id for v in listed] == [r.version.id for r in reversed(regs)]
    assert await graph.get_latest_versions([ds_id]) == [regs[-1].version]


async def test_identical_content_is_a_noop(graph: GraphStore) -> None:
    (first,) = await graph.register_versions([new_version("ns", "d", "same")], actor=ACTOR)
    mark = await audit_mark(graph)
    (again,) = await graph.register_versions([new_version("ns", "d", "same")], actor="rerun")
    assert again.created is False
    assert again.version == first.version
    assert again.dataset.id == first.dataset.id
    assert await audit_since(graph, mark) == []
    (listed,) = await graph.list_versions([first.dataset.id])
    assert [v.id for v in listed] == [first.version.id]


async def test_returning_to_older_content_is_a_new_version(graph: GraphStore) -> None:
    for h in ["a", "b"]:
        await graph.register_versions([new_version("ns", "d", h)], actor=ACTOR)
    (back,) = await graph.register_versions([new_version("ns", "d", "a")], actor=ACTOR)
    assert back.created is True
    assert back.version.version == 3


async def test_version_reads_keep_input_order(graph: GraphStore) -> None:
    (a,) = await graph.register_versions([new_version("ns", "a")], actor=ACTOR)
    (b,) = await graph.register_versions([new_version("ns", "b")], actor=ACTOR)
    (b2,) = await graph.register_versions([new_version("ns", "b", "h2")], actor=ACTOR)
    bare = await dataset(graph, "ns", "bare")
    assert await graph.get_versions([b.version.id, "nope", a.version.id]) == [
        b.version, None, a.version]
    listed = await graph.list_versions([b.dataset.id, bare.id, "nope", a.dataset.id])
    assert [[v.version for v in group] for group in listed] == [[2, 1], [], [], [1]]
    latest = await graph.get_latest_versions([bare.id, b.dataset.id, "nope", a.dataset.id])
    assert latest == [None, b2.version, None, a.version]
    assert await graph.get_versions([]) == []
    assert await graph.list_versions([]) == []
    assert await graph.get_latest_versions([]) == []


async def test_several_items_and_lineage_in_one_call(graph: GraphStore) -> None:
    mark = await audit_mark(graph)
    raw, curated = await graph.register_versions(
        [new_version("bank", "m.raw", "r1", layer=DatasetLayer.RAW),
         new_version("bank", "m", "c1")],
        lineage=[(key("bank", "m"), key("bank", "m.raw"), "clean")], actor="loader")
    assert raw.created
    assert curated.created
    assert raw.dataset.layer is DatasetLayer.RAW
    graph_ = await graph.get_lineage(curated.dataset.id, direction=Direction.UPSTREAM, depth=1)
    assert [(n.dataset.id, n.depth) for n in graph_.nodes] == [
        (raw.dataset.id, -1), (curated.dataset.id, 0)]
    (edge,) = graph_.edges
    assert (edge.downstream_id, edge.upstream_id, edge.transformation) == (
        curated.dataset.id, raw.dataset.id, "clean")
    assert actions(await audit_since(graph, mark)) == [
        "dataset.registered", "version.added", "dataset.registered", "version.added",
        "lineage.added"]

    # the same call again is a no-op all the way through
    mark = await audit_mark(graph)
    again = await graph.register_versions(
        [new_version("bank", "m.raw", "r1", layer=DatasetLayer.RAW),
         new_version("bank", "m", "c1")],
        lineage=[(key("bank", "m"), key("bank", "m.raw"), "clean")], actor="loader")
    assert [r.created for r in again] == [False, False]
    assert await audit_since(graph, mark) == []


async def test_lineage_may_name_datasets_registered_earlier(graph: GraphStore) -> None:
    up = await dataset(graph, "ns", "upstream")
    (down,) = await graph.register_versions(
        [new_version("ns", "down")], lineage=[(key("ns", "down"), key("ns", "upstream"), None)],
        actor=ACTOR)
    lineage = await graph.get_lineage(up.id, direction=Direction.DOWNSTREAM, depth=1)
    assert [n.dataset.id for n in lineage.nodes] == [up.id, down.dataset.id]


# --- atomicity: a call that fails midway registers nothing -------------------------------


async def _snapshot(graph: GraphStore) -> tuple[object, ...]:
    page = await graph.list_datasets(DatasetFilter(), PageRequest(first=100))
    ids = [d.id for d in page.items]
    return (page.items, await graph.list_versions(ids), await graph.list_audit(limit=1000),
            await graph.search("atomic", first=100))


@pytest.mark.parametrize("case", ["missing_lineage_dataset", "missing_source",
                                  "self_lineage", "deleted_lineage_dataset"])
async def test_failing_call_registers_nothing(graph: GraphStore, case: str) -> None:
    await graph.upsert_source(name="known", kind=SourceKind.OTHER, actor=ACTOR)
    (existing,) = await graph.register_versions(
        [new_version("ns", "existing", "old", description="atomic one")], actor=ACTOR)
    await dataset(graph, "ns", "gone")
    await graph.delete_dataset("ns", "gone", actor=ACTOR)
    before = await _snapshot(graph)

    items = [new_version("ns", "existing", "new"),   # would be version 2
             new_version("ns", "fresh", "f1", description="atomic two", source_name="known")]
    lineage = [(key("ns", "fresh"), key("ns", "existing"), "ok")]
    if case == "missing_lineage_dataset":
        lineage.append((key("ns", "fresh"), key("ns", "does-not-exist"), None))
        expected: type[Exception] = NotFoundError
    elif case == "missing_source":
        items.append(new_version("ns", "third", source_name="no such source"))
        expected = NotFoundError
    elif case == "self_lineage":
        lineage.append((key("ns", "fresh"), key("ns", "fresh"), None))
        expected = ConflictError
    else:
        lineage.append((key("ns", "fresh"), key("ns", "gone"), None))
        expected = NotFoundError

    with pytest.raises(expected):
        await graph.register_versions(items, lineage=lineage, actor=ACTOR)

    assert await _snapshot(graph) == before
    assert await graph.get_dataset("ns", "fresh") is None
    assert await graph.get_dataset("ns", "third") is None
    assert await graph.get_latest_versions([existing.dataset.id]) == [existing.version]
    lineage_now = await graph.get_lineage(existing.dataset.id, direction=Direction.BOTH,
                                          depth=3)
    assert [n.dataset.id for n in lineage_now.nodes] == [existing.dataset.id]
    # and the store still works: the same call without the bad part succeeds
    regs = await graph.register_versions(items[:2], lineage=lineage[:1], actor=ACTOR)
    assert [r.version.version for r in regs] == [2, 1]
