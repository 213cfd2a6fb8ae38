"""Contract: whole-catalog ``export_records`` / ``import_records`` / ``is_empty`` (what
``peso migrate`` is built on). Each backend is checked against the SQLite reference in both
directions: what it exports imports into SQLite unchanged, and what SQLite exports imports
into it unchanged, with every read working on the imported catalog — OpenLineage jobs, runs,
their datasets, column lineage, dataset facets and received events included (a replayed event
stays a no-op, a late one cannot move a restored run backwards)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.errors import ConflictError
from server.models import (
    DatasetFilter,
    Direction,
    EntityKind,
    FieldSpec,
    OwnerKind,
    PageRequest,
    RunState,
    SourceKind,
)
from server.storage.graph import GraphStore
from server.storage.sqlite.store import SQLiteGraphStore
from server.storage.transfer import RECORD_KINDS, by_kind, identity
from tests.contract.helpers import ACTOR, dataset, key, new_version
from tests.lineage_catalog import REPORT_RUN, SPEND_RUN, built_events
from tests.lineage_events import event, run_event


@pytest.fixture
async def reference(tmp_path: Path) -> AsyncIterator[SQLiteGraphStore]:
    store = SQLiteGraphStore(str(tmp_path / "reference.db"))
    await store.open()
    yield store
    await store.close()


async def populate(graph: GraphStore) -> None:
    """At least one record of every kind, a soft-deleted dataset and a two-hop lineage."""
    await graph.upsert_source(name="acme", kind=SourceKind.VENDOR, url="https://acme.example",
                              license="commercial", description="ads", actor=ACTOR)
    person = await graph.upsert_entity(kind=EntityKind.AUDIENCE, name="buyers",
                                       identifiers={"segment": "b1"}, actor=ACTOR)
    await graph.register_versions(
        [new_version("mkt", "raw_spend", "r1", fields=[FieldSpec("spend_eur", "double")]),
         new_version("mkt", "spend", "c1", source_name="acme", description="Daily spend",
                     fields=[FieldSpec("customer_email", "string", semantic_type="email",
                                       pii=True, stats={"distinct": 3}, metadata={"u": "x"}),
                             FieldSpec("spend_eur", "double", nullable=False)])],
        lineage=[(key("mkt", "spend"), key("mkt", "raw_spend"), "clean")], actor=ACTOR)
    await graph.register_versions([new_version("mkt", "spend", "c2")], actor=ACTOR)
    await dataset(graph, "mkt", "report")
    await graph.put_lineage(key("mkt", "report"), key("mkt", "spend"), job="nightly", actor=ACTOR)
    await graph.add_tag(key("mkt", "spend"), "finance", actor=ACTOR)
    await graph.add_owner(key("mkt", "spend"), name="growth", kind=OwnerKind.TEAM,
                          email="growth@acme.example", actor=ACTOR)
    await graph.link_entity(key("mkt", "spend"), person.id, role="subject", actor=ACTOR)
    await dataset(graph, "old", "gone", description="zebra")
    await graph.delete_dataset("old", "gone", actor=ACTOR)
    for raw in built_events():   # jobs, runs, their datasets, column lineage, facets, events
        await graph.ingest_lineage_event(event(raw), actor=ACTOR)
    await graph.put_column_lineage(key("mkt", "report"), "id", key("mkt", "spend"), "spend_eur",
                                   transformation_type="INDIRECT", description="by hand",
                                   actor=ACTOR)


async def export(graph: GraphStore) -> list[dict[str, Any]]:
    return [r async for r in graph.export_records()]


def _canonical(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: (RECORD_KINDS.index(r["record"]), str(identity(r))))


async def test_is_empty(graph: GraphStore) -> None:
    assert await graph.is_empty() is True
    assert await export(graph) == []
    await graph.upsert_source(name="s", kind=SourceKind.OTHER, actor=ACTOR)
    assert await graph.is_empty() is False


async def test_export_covers_every_kind_in_dependency_order(graph: GraphStore) -> None:
    await populate(graph)
    records = await export(graph)
    kinds = [r["record"] for r in records]
    assert set(kinds) == set(RECORD_KINDS)
    assert kinds == sorted(kinds, key=RECORD_KINDS.index)
    datasets = {r["name"]: r for r in records if r["record"] == "dataset"}
    assert datasets["gone"]["deleted_at"] is not None
    (spend_v2,) = [r for r in records if r["record"] == "version" and r["content_hash"] == "c1"]
    assert [f["name"] for f in spend_v2["fields"]] == ["customer_email", "spend_eur"]
    assert spend_v2["fields"][0]["pii"] is True
    audit = [r for r in records if r["record"] == "audit"]
    assert [r["id"] for r in audit] == sorted(r["id"] for r in audit)
    assert len(audit) == len(await graph.list_audit(limit=1000))


async def test_round_trip_through_the_reference(graph: GraphStore,
                                                reference: SQLiteGraphStore) -> None:
    await populate(graph)
    exported = await export(graph)
    created = await reference.import_records(exported)
    assert sum(created.values()) == len(exported)
    assert _canonical(await export(reference)) == _canonical(exported)


async def test_import_keeps_ids_and_timestamps_and_reads_work(
        graph: GraphStore, reference: SQLiteGraphStore) -> None:
    await populate(reference)
    exported = await export(reference)
    created = await graph.import_records(exported)
    assert created == {kind: sum(r["record"] == kind for r in exported)
                       for kind in RECORD_KINDS}
    assert _canonical(await export(graph)) == _canonical(exported)
    assert await graph.list_audit(limit=1000) == await reference.list_audit(limit=1000)

    spend = await graph.get_dataset("mkt", "spend")
    assert spend == await reference.get_dataset("mkt", "spend")
    assert spend is not None
    assert await graph.get_latest_versions([spend.id]) == \
        await reference.get_latest_versions([spend.id])
    assert await graph.get_dataset("old", "gone") is None
    for text in ("finance", "daily spend"):  # a tag; description words
        hits, total = await graph.search(text, first=10)
        assert [h.dataset.id for h in hits] == [spend.id], text
        assert total == 1
    assert (await graph.search("zebra", first=10)) == ([], 0)  # soft-deleted
    assert (await graph.search("customer", first=10)) == ([], 0)  # a field of an old version
    page = await graph.list_datasets(DatasetFilter(tag="finance"), PageRequest(first=10))
    assert [d.id for d in page.items] == [spend.id]
    lineage = await graph.get_lineage(spend.id, direction=Direction.BOTH, depth=2)
    assert lineage == await reference.get_lineage(spend.id, direction=Direction.BOTH, depth=2)
    assert len(lineage.nodes) == 3

    # the store keeps working: new writes continue the audit sequence after the imported one
    top = max(e.id for e in await graph.list_audit(limit=1000))
    await graph.add_tag(key("mkt", "spend"), "more", actor=ACTOR)
    assert (await graph.list_audit(limit=1))[0].id > top


async def test_search_follows_an_import_made_kind_by_kind(
        graph: GraphStore, reference: SQLiteGraphStore) -> None:
    """Callers import in batches, one kind after another (``peso migrate``, ``peso import``,
    bench/backends_scale.py's build): after every call search sees what is in so far — a
    dataset by its own words once its record is, a field once its dataset's latest version
    is, a tag once it is — and a version older than the latest leaves the latest's fields."""
    await populate(reference)
    kinds = by_kind(await export(reference))
    spend = await reference.get_dataset("mkt", "spend")
    raw = await reference.get_dataset("mkt", "raw_spend")
    assert spend is not None
    assert raw is not None
    gone = next(r["id"] for r in kinds["dataset"] if r["deleted_at"] is not None)

    async def found(text: str) -> set[str]:
        hits, total = await graph.search(text, first=50)
        assert total == len(hits), text
        return {h.dataset.id for h in hits}

    await graph.import_records(kinds["source"])
    for record in kinds["dataset"]:   # one dataset a call
        await graph.import_records([record])
    assert await found("daily spend") == {spend.id}   # its description, from its record alone
    assert await found("zebra") == set()              # soft-deleted: out of the index
    assert await found("finance") == set()            # no tag yet
    assert spend.id in await found("spend")           # its name
    for record in sorted(kinds["version"], key=lambda r: -r["version"]):   # newest first
        await graph.import_records([record])
    assert await found("customer") == set()           # a field of spend's older version only
    assert raw.id in await found("eur")                # raw_spend's field spend_eur
    assert spend.id not in await found("eur")          # spend's latest has only `id`
    latest = await graph.get_latest_versions([spend.id])
    assert latest == await reference.get_latest_versions([spend.id])
    await graph.import_records(kinds["tag"])
    assert await found("finance") == {spend.id}
    later = [{"record": "tag", "dataset_id": spend.id, "tag": "weekly_digest",
              "created_at": "2025-01-02T00:00:00.000000+00:00"},
             {"record": "tag", "dataset_id": gone, "tag": "zebra_crossing",
              "created_at": "2025-01-02T00:00:00.000000+00:00"}]
    await graph.import_records(later)                  # a dataset's second tag, a later call
    await reference.import_records(later)
    assert await found("digest") == {spend.id}
    assert await found("finance") == {spend.id}        # its first tag stays found
    assert await found("crossing") == set()            # a tag of a deleted dataset
    for rest in RECORD_KINDS[RECORD_KINDS.index("tag") + 1:]:
        await graph.import_records(kinds[rest])
    for text in ("spend", "finance", "weekly", "eur", "id", "daily", "zebra", "report"):
        hits, total = await reference.search(text, first=50)
        assert await found(text) == {h.dataset.id for h in hits}, text
        assert total == len(hits)


async def _lineage_reads(graph: GraphStore) -> dict[str, Any]:
    """Every lineage read of the protocol, over the lineage of ``populate``."""
    jobs = (await graph.list_jobs(first=50)).items
    runs = (await graph.list_runs(first=50)).items
    found = {name: await graph.get_dataset("warehouse", name)
             for name in ("orders", "spend", "spend_report")}
    ids = {name: d.id for name, d in found.items() if d is not None}
    return {
        "jobs": jobs, "runs": runs, "get_jobs": await graph.get_jobs([j.id for j in jobs]),
        "get_runs": await graph.get_runs([r.id for r in runs]),
        "run_datasets": await graph.get_run_datasets([r.id for r in runs]),
        "job_datasets": await graph.get_job_datasets([j.id for j in jobs]),
        "facets": await graph.get_dataset_facets(list(ids.values())),
        "walk": await graph.walk_lineage(ids["spend"], direction=Direction.BOTH, depth=3,
                                         max_nodes=50),
        "columns": await graph.walk_column_lineage(ids["spend"], "amount_eur",
                                                   direction=Direction.BOTH, depth=3,
                                                   max_nodes=50),
        "paths": await graph.lineage_paths(ids["orders"], ids["spend_report"], max_depth=5,
                                           max_nodes=50, max_paths=5),
    }


async def test_lineage_is_imported_and_reads_alike(graph: GraphStore,
                                                   reference: SQLiteGraphStore) -> None:
    await populate(reference)
    await graph.import_records(await export(reference))
    got, want = await _lineage_reads(graph), await _lineage_reads(reference)
    assert got == want
    assert {j.name for j in got["jobs"]} == {"nightly_spend", "report"}
    assert {r.state for r in got["runs"]} == {RunState.COMPLETE, RunState.FAIL}
    assert {(e.job, e.run_id) for e in got["walk"].edges} == {
        ("nightly_spend", SPEND_RUN), ("report", REPORT_RUN)}   # a failed run derives nothing
    assert len(got["columns"].edges) == 2
    assert len(got["paths"].paths) == 1
    assert all(got["facets"])
    assert all(got["run_datasets"])

    # the events came along: a replay is still a no-op, nothing written or audited
    audit = await graph.list_audit(limit=1000)
    replay = await graph.ingest_lineage_event(event(built_events()[1]), actor=ACTOR)
    assert replay.created is False
    assert await graph.list_audit(limit=1000) == audit
    # and the run's state time came along: a late START does not move it back
    late = await graph.ingest_lineage_event(event(run_event(
        "nightly_spend", SPEND_RUN, "START", minute=1)), actor=ACTOR)
    assert late.created is True
    [run] = await graph.get_runs([SPEND_RUN])
    assert run is not None
    assert run.state is RunState.COMPLETE


async def test_import_twice_is_a_noop(graph: GraphStore, reference: SQLiteGraphStore) -> None:
    await populate(reference)
    exported = await export(reference)
    await graph.import_records(exported[:7])   # batches may split anywhere kinds allow
    await graph.import_records(exported[7:])
    again = await graph.import_records(exported)
    assert sum(again.values()) == 0
    assert _canonical(await export(graph)) == _canonical(exported)


async def test_an_audit_id_in_use_is_renumbered_not_lost(graph: GraphStore,
                                                         reference: SQLiteGraphStore) -> None:
    await graph.upsert_source(name="local", kind=SourceKind.OTHER, actor="here")
    await reference.upsert_source(name="remote", kind=SourceKind.OTHER, actor="there")
    exported = await export(reference)
    created = await graph.import_records(exported)
    assert created["audit"] == 1
    events = await graph.list_audit(limit=10)
    assert sorted((e.id, e.actor) for e in events) == [(1, "here"), (2, "there")]
    assert sum((await graph.import_records(exported)).values()) == 0


async def test_a_clash_on_a_natural_key_is_a_conflict(graph: GraphStore,
                                                      reference: SQLiteGraphStore) -> None:
    await graph.upsert_source(name="acme", kind=SourceKind.OTHER, actor=ACTOR)
    await reference.upsert_source(name="acme", kind=SourceKind.VENDOR, actor=ACTOR)
    sources = [r for r in await export(reference) if r["record"] == "source"]
    with pytest.raises(ConflictError):
        await graph.import_records(sources)
