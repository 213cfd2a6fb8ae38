"""Contract: full-text search over names, descriptions, tags and field names."""

from __future__ import annotations

import pytest

from server.models import DatasetLayer, FieldSpec
from server.storage.graph import GraphStore
from tests.contract.helpers import ACTOR, dataset, key, new_version


async def _found(graph: GraphStore, query: str) -> set[str]:
    hits, total = await graph.search(query, first=100)
    assert total == len(hits)
    return {str(h.dataset.key) for h in hits}


@pytest.fixture
async def catalog(graph: GraphStore) -> GraphStore:
    await dataset(graph, "mkt", "campaign_performance",
                  description="Clicks and impressions per campaign")
    await dataset(graph, "crm", "customers", description="Loyalty members with churn scores")
    await graph.add_tag(key("crm", "customers"), "gdpr", actor=ACTOR)
    await graph.register_versions([new_version(
        "web", "sessions", fields=[FieldSpec("session_id", "string"),
                                   FieldSpec("conversion_rate", "double")])], actor=ACTOR)
    await dataset(graph, "old", "campaign_archive", description="Retired campaigns")
    await graph.delete_dataset("old", "campaign_archive", actor=ACTOR)
    return graph


@pytest.mark.parametrize(("query", "expected"), [
    ("campaign_performance", {"mkt/campaign_performance"}),    # name
    ("customers", {"crm/customers"}),                          # name
    ("impressions", {"mkt/campaign_performance"}),             # description
    ("churn", {"crm/customers"}),                              # description
    ("gdpr", {"crm/customers"}),                               # tag
    ("conversion_rate", {"web/sessions"}),                     # field name
    ("session_id", {"web/sessions"}),
    ("impr", {"mkt/campaign_performance"}),                    # prefix
    ("loyal", {"crm/customers"}),
    ("CHURN", {"crm/customers"}),                              # case-insensitive
    ("churn loyalty", {"crm/customers"}),                      # all words, any order
    ("churn impressions", set()),
    ("retired", set()),                                        # deleted: excluded
    ("archive", set()),
    ("nothing-like-this", set()),
])
async def test_search_matches(catalog: GraphStore, query: str, expected: set[str]) -> None:
    assert await _found(catalog, query) == expected


async def test_search_follows_changes(catalog: GraphStore) -> None:
    await catalog.set_description("crm", "customers", "Members and their points", actor=ACTOR)
    assert await _found(catalog, "churn") == set()
    assert await _found(catalog, "points") == {"crm/customers"}
    await catalog.remove_tag(key("crm", "customers"), "gdpr", actor=ACTOR)
    assert await _found(catalog, "gdpr") == set()
    await catalog.add_tag(key("mkt", "campaign_performance"), "gdpr", actor=ACTOR)
    assert await _found(catalog, "gdpr") == {"mkt/campaign_performance"}
    await catalog.delete_dataset("web", "sessions", actor=ACTOR)
    assert await _found(catalog, "conversion_rate") == set()
    await dataset(catalog, "old", "campaign_archive")  # restored
    assert await _found(catalog, "retired") == {"old/campaign_archive"}


async def test_search_ranks_and_pages(graph: GraphStore) -> None:
    await dataset(graph, "a", "churn")  # the word is the whole name
    for i in range(6):
        await dataset(graph, "b", f"other{i}",
                      description=f"a long text about many things, among them churn {i}")
    hits, total = await graph.search("churn", first=100)
    assert total == 7
    assert str(hits[0].dataset.key) == "a/churn"
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True), "best first"

    paged = []
    for offset in range(0, 7, 3):
        page, page_total = await graph.search("churn", first=3, offset=offset)
        assert page_total == 7
        assert len(page) == min(3, 7 - offset)
        paged += page
    assert [h.dataset.id for h in paged] == [h.dataset.id for h in hits]
    assert await graph.search("churn", first=3, offset=50) == ([], 7)


HOSTILE = ['"', '""', "*", "NEAR(", "NEAR(a b, 3)", "OR", "AND", "NOT", "-", "-churn", ":",
           "name:churn", "^churn", "churn*", "(", ")", "{a}", "[", "\\", "'", "%", "_",
           "'; DROP TABLE datasets; --", "\" OR 1=1 --", "1; DELETE FROM audit", "\x00",
           "churn\x00", "   ", "", "日本語", "émoji 🎉", "x" * 20_000, "a " * 5000,
           "MATCH (n) DETACH DELETE n", "}) RETURN 1 //"]


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: repr(q[:24]))
async def test_hostile_queries_return_normally(catalog: GraphStore, query: str) -> None:
    hits, total = await catalog.search(query, first=10)
    assert total >= len(hits)
    assert all(h.dataset.deleted_at is None for h in hits)
    # nothing was harmed
    assert await _found(catalog, "customers") == {"crm/customers"}
    assert len(await catalog.list_audit(limit=1000)) > 0


async def test_search_empty_catalog(graph: GraphStore) -> None:
    assert await graph.search("anything", first=10) == ([], 0)


async def test_a_raw_dataset_ranks_below_its_curated_one(graph: GraphStore) -> None:
    """Issue 10: the raw copy, whose text repeats the curated one's (and here says more about
    the query), used to rank first."""
    await dataset(graph, "crm", "customers", description="Customers")
    await dataset(graph, "crm", "customers.raw", layer=DatasetLayer.RAW,
                  description="Customers: customers as uploaded, customers file")
    hits, total = await graph.search("customers", first=10)
    assert total == 2
    assert [str(h.dataset.key) for h in hits] == ["crm/customers", "crm/customers.raw"]
    assert hits[0].score > hits[1].score
    page, _ = await graph.search("customers", first=1, offset=1)  # the cut-off sees it too
    assert [str(h.dataset.key) for h in page] == ["crm/customers.raw"]


async def test_compacting_the_index_keeps_every_answer(catalog: GraphStore) -> None:
    queries = ["campaign", "churn", "gdpr", "session_id", "impr", "nothing_matches_this"]
    before = [await catalog.search(q, first=10) for q in queries]
    await catalog.compact_search_index()
    await catalog.compact_search_index()   # twice: nothing left to merge is fine
    assert [await catalog.search(q, first=10) for q in queries] == before
    await dataset(catalog, "mkt", "campaign_costs", description="Spend per campaign")
    assert "mkt/campaign_costs" in await _found(catalog, "campaign")   # writes still indexed
