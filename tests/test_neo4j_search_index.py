"""Neo4j search: a deleted dataset leaves the full-text index (so counting the matches reads no
property), a catalog from before that rule is put right at open, and a query matching more
than SEARCH_WINDOW ranks a window of the best-scoring matches while ``total`` still counts
every one. Needs PESO_TEST_NEO4J_URI (skipped otherwise)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from server.storage import graph as graph_module
from server.storage.neo4j import base, cypher
from server.storage.neo4j.store import Neo4jGraphStore
from tests.contract.conftest import neo4j_from_env, wiped_neo4j
from tests.contract.helpers import ACTOR, dataset

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
