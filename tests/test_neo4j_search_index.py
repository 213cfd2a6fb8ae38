"""Neo4j search: a deleted dataset leaves the full-text index (so counting the matches reads no
property), a catalog from before that rule is put right at open, and a query matching more
than SEARCH_WINDOW ranks a window of the best-scoring matches while ``total`` still counts
every one. Each indexed dataset carries its sort key (search_key), whoever wrote it, and open
gives a catalog from before its keys. Needs PESO_TEST_NEO4J_URI (skipped otherwise)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from server.models import DatasetLayer
from server.storage import graph as graph_module
from server.storage.neo4j import base, cypher
from server.storage.neo4j.store import Neo4jGraphStore
from tests.contract.conftest import neo4j_from_env, wipe_neo4j, wiped_neo4j
from tests.contract.helpers import ACTOR, dataset
from tests.lineage_events import ds, event, new_run_id, run_event

pytestmark = pytest.mark.skipif(not os.environ.get("PESO_TEST_NEO4J_URI"),
                                reason="needs PESO_TEST_NEO4J_URI")


@pytest.fixture
async def store() -> AsyncIterator[Neo4jGraphStore]:
    async with wiped_neo4j() as s:
        yield s


async def _indexed(store: Neo4jGraphStore) -> int:
    async def work(tx: base.Tx) -> int:
        found = await base.one(tx, "MATCH (d:Dataset) WHERE d.search_name IS NOT NULL "
                                   "RETURN count(d) AS n")
        return int(found["n"]) if found else 0
    return await store._read(work)


async def test_a_deleted_dataset_leaves_the_index_and_comes_back(
        store: Neo4jGraphStore) -> None:
    await dataset(store, "mkt", "campaign_a")
    await dataset(store, "mkt", "campaign_b")
    await store.delete_dataset("mkt", "campaign_b", actor=ACTOR)
    assert await _indexed(store) == 1
    hits, total = await store.search("campaign", first=10)
    assert (total, [h.dataset.name for h in hits]) == (1, ["campaign_a"])
    await dataset(store, "mkt", "campaign_b")   # restored: searchable again
    assert (await store.search("campaign", first=10))[1] == 2


async def test_open_takes_deleted_datasets_of_an_older_catalog_out(
        store: Neo4jGraphStore) -> None:
    await dataset(store, "mkt", "campaign_a")
    await dataset(store, "mkt", "campaign_b")
    await store.delete_dataset("mkt", "campaign_b", actor=ACTOR)

    async def as_before(tx: base.Tx) -> None:   # what an older Peso left behind
        await base.run(tx, cypher.DATASET_SET_SEARCH, id=await _id(tx), namespace="mkt",
                       name="campaign b", description="", tags="", fields="")
    await store._write(as_before)
    assert await _indexed(store) == 2
    again = neo4j_from_env()
    await again.open()
    try:
        assert await _indexed(again) == 1
        assert (await again.search("campaign", first=10))[1] == 1
    finally:
        await again.close()


async def _id(tx: base.Tx) -> str:
    found = await base.one(tx, "MATCH (d:Dataset {name: 'campaign_b'}) RETURN d.id AS id")
    assert found is not None
    return str(found["id"])


async def test_a_broad_query_ranks_a_window_and_counts_every_match(
        store: Neo4jGraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.storage.neo4j import datasets as neo4j_datasets

    monkeypatch.setattr(neo4j_datasets, "SEARCH_WINDOW", 3)
    assert graph_module.SEARCH_WINDOW > 3
    for i in range(5):
        await dataset(store, "mkt", f"campaign_{i}")
    hits, total = await store.search("campaign", first=10)
    assert total == 5
    names = [h.dataset.name for h in hits]
    assert len(names) == 3
    assert names == sorted(names)   # equal scores: by name


async def _keys(store: Neo4jGraphStore) -> dict[str, list[str] | None]:
    """Each dataset's search_key (SEARCH's sort key), by name."""
    async def work(tx: base.Tx) -> dict[str, list[str] | None]:
        return {r["name"]: r["key"] for r in await base.rows(
            tx, "MATCH (d:Dataset) RETURN d.name AS name, d.search_key AS key")}
    return await store._read(work)


async def test_every_writer_gives_an_indexed_dataset_its_sort_key(
        store: Neo4jGraphStore) -> None:
    await dataset(store, "mkt", "campaign_a")                          # upsert
    await dataset(store, "mkt", "campaign_raw", layer=DatasetLayer.RAW)
    await store.ingest_lineage_events([event(run_event(                # an OpenLineage batch
        "nightly", new_run_id(), inputs=[ds("campaign_src")], outputs=[ds("campaign_out")]))],
        actor=ACTOR)
    await dataset(store, "mkt", "campaign_gone")
    await store.delete_dataset("mkt", "campaign_gone", actor=ACTOR)   # leaves the index
    expected = {"campaign_a": ["curated", "mkt", "campaign_a"],
                "campaign_raw": ["raw", "mkt", "campaign_raw"],
                "campaign_src": ["external", "warehouse", "campaign_src"],
                "campaign_out": ["external", "warehouse", "campaign_out"],
                "campaign_gone": None}
    assert await _keys(store) == expected
    exported = [r async for r in store.export_records()]              # a whole-catalog import
    await wipe_neo4j(store)
    await store.import_records(exported)
    assert await _keys(store) == expected


async def _forget_keys(store: Neo4jGraphStore, names: list[str]) -> None:
    """What a catalog written before search_key holds: no key, and no backfill marker."""
    async def work(tx: base.Tx) -> None:
        await base.run(tx, "MATCH (d:Dataset) WHERE d.name IN $names REMOVE d.search_key",
                       names=names)
        await base.run(tx, "MATCH (c:Counter {name: 'search-key'}) DELETE c")
    await store._write(work)


async def test_open_gives_an_older_catalog_its_sort_keys(store: Neo4jGraphStore) -> None:
    names = ["campaign_c", "campaign_a", "campaign_d", "campaign_b"]
    for name in names:
        await dataset(store, "mkt", name)
    await dataset(store, "ads", "campaign_e", layer=DatasetLayer.RAW)
    before = [(h.dataset.namespace, h.dataset.name) for h in
              (await store.search("campaign", first=10))[0]]
    assert before[-1] == ("ads", "campaign_e")   # raw: weighted down, whatever its name
    await _forget_keys(store, ["campaign_b", "campaign_e"])
    hits, total = await store.search("campaign", first=10)   # found and counted all the same
    assert (sorted((h.dataset.namespace, h.dataset.name) for h in hits), total) == (
        sorted(before), 5)
    again = neo4j_from_env()
    await again.open()   # gives them their keys back, once
    try:
        assert (await _keys(again))["campaign_e"] == ["raw", "ads", "campaign_e"]
        assert None not in (await _keys(again)).values()
        assert [(h.dataset.namespace, h.dataset.name) for h in
                (await again.search("campaign", first=10))[0]] == before
    finally:
        await again.close()
