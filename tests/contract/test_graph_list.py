"""Contract: ``list_datasets`` filters, sort orders and keyset pagination."""

from __future__ import annotations

from typing import Any

import pytest

from server.models import (
    Dataset,
    DatasetFilter,
    DatasetLayer,
    DatasetSort,
    EntityKind,
    FieldSpec,
    PageRequest,
    SourceKind,
)
from server.storage.graph import GraphStore
from tests.contract.helpers import ACTOR, dataset, key, new_version


async def _all(graph: GraphStore, flt: DatasetFilter, *, first: int,
               sort: DatasetSort = DatasetSort.NAME, descending: bool = False
               ) -> tuple[list[Dataset], int, int]:
    """Walk every page; return the items, the total each page reported, the page count."""
    items: list[Dataset] = []
    totals: set[int] = set()
    after: list[Any] | None = None
    pages = 0
    while True:
        page = await graph.list_datasets(flt, PageRequest(first=first, after=after, sort=sort,
                                                          descending=descending))
        pages += 1
        assert len(page.items) <= first
        assert len(page.cursors) == len(page.items)
        totals.add(page.total)
        items += page.items
        if not page.has_next:
            break
        assert page.items, "has_next on an empty page"
        after = page.cursors[-1]
        assert pages < 100, "pagination does not terminate"
    assert len(totals) == 1, f"total changed between pages: {totals}"
    return items, totals.pop(), pages


async def _names(graph: GraphStore, flt: DatasetFilter) -> set[str]:
    items, total, _ = await _all(graph, flt, first=100)
    assert total == len(items)
    return {str(d.key) for d in items}


# --- filters -----------------------------------------------------------------------------


@pytest.fixture
async def catalog(graph: GraphStore) -> GraphStore:
    """A small catalog exercising every filter dimension."""
    await graph.upsert_source(name="acme", kind=SourceKind.VENDOR, actor=ACTOR)
    await graph.upsert_source(name="gov", kind=SourceKind.PUBLIC_PORTAL, actor=ACTOR)
    campaign = await graph.upsert_entity(kind=EntityKind.CAMPAIGN, name="spring-sale",
                                         actor=ACTOR)
    customer = await graph.upsert_entity(kind=EntityKind.CUSTOMER, name="retail customers",
                                         actor=ACTOR)
    bot = await graph.upsert_entity(kind=EntityKind.BOT, name="crawlers", actor=ACTOR)

    await dataset(graph, "mkt", "ads_spend", source_name="acme",
                  description="Daily advertising spend per channel")
    await graph.add_tag(key("mkt", "ads_spend"), "paid", actor=ACTOR)
    await graph.link_entity(key("mkt", "ads_spend"), campaign.id, actor=ACTOR)

    await graph.register_versions([new_version(
        "mkt", "crm_customers", fields=[FieldSpec("customer_id", "string"),
                                        FieldSpec("lifetime_value", "double")])], actor=ACTOR)
    await graph.add_tag(key("mkt", "crm_customers"), "pii", actor=ACTOR)
    await graph.link_entity(key("mkt", "crm_customers"), customer.id, actor=ACTOR)

    await dataset(graph, "web", "sessions", source_name="gov", layer=DatasetLayer.RAW,
                  description="Raw web sessions")
    await graph.add_tag(key("web", "sessions"), "paid", actor=ACTOR)

    await dataset(graph, "web", "bots_traffic", description="Crawler hits on landing pages")
    await graph.link_entity(key("web", "bots_traffic"), bot.id, actor=ACTOR)

    # a deleted dataset that matches several filters must never show up
    await dataset(graph, "mkt", "old_spend", source_name="acme", description="advertising")
    await graph.add_tag(key("mkt", "old_spend"), "paid", actor=ACTOR)
    await graph.link_entity(key("mkt", "old_spend"), campaign.id, actor=ACTOR)
    await graph.delete_dataset("mkt", "old_spend", actor=ACTOR)
    return graph


ALL_LIVE = {"mkt/ads_spend", "mkt/crm_customers", "web/sessions", "web/bots_traffic"}


@pytest.mark.parametrize(("flt", "expected"), [
    (DatasetFilter(), ALL_LIVE),
    (DatasetFilter(namespace="mkt"), {"mkt/ads_spend", "mkt/crm_customers"}),
    (DatasetFilter(namespace="web"), {"web/sessions", "web/bots_traffic"}),
    (DatasetFilter(namespace="nope"), set()),
    (DatasetFilter(source="acme"), {"mkt/ads_spend"}),
    (DatasetFilter(source="gov"), {"web/sessions"}),
    (DatasetFilter(source="unknown source"), set()),
    (DatasetFilter(tag="paid"), {"mkt/ads_spend", "web/sessions"}),
    (DatasetFilter(tag="pii"), {"mkt/crm_customers"}),
    (DatasetFilter(tag="none"), set()),
    (DatasetFilter(entity_kind=EntityKind.CAMPAIGN), {"mkt/ads_spend"}),
    (DatasetFilter(entity_kind=EntityKind.CUSTOMER), {"mkt/crm_customers"}),
    (DatasetFilter(entity_kind=EntityKind.BOT), {"web/bots_traffic"}),
    (DatasetFilter(entity_kind=EntityKind.PERSON), set()),
    (DatasetFilter(layer=DatasetLayer.RAW), {"web/sessions"}),
    (DatasetFilter(layer=DatasetLayer.CURATED),
     {"mkt/ads_spend", "mkt/crm_customers", "web/bots_traffic"}),
    (DatasetFilter(text="advertising"), {"mkt/ads_spend"}),          # description
    (DatasetFilter(text="advert"), {"mkt/ads_spend"}),               # prefix
    (DatasetFilter(text="crawler"), {"web/bots_traffic"}),
    (DatasetFilter(text="sessions"), {"web/sessions"}),              # name
    (DatasetFilter(text="lifetime_value"), {"mkt/crm_customers"}),   # field name
    (DatasetFilter(text="pii"), {"mkt/crm_customers"}),              # tag
    (DatasetFilter(text="daily channel"), {"mkt/ads_spend"}),        # every word required
    (DatasetFilter(text="daily crawler"), set()),
    (DatasetFilter(text="zzzz"), set()),
    # combinations: every given field must match
    (DatasetFilter(namespace="web", tag="paid"), {"web/sessions"}),
    (DatasetFilter(namespace="mkt", layer=DatasetLayer.RAW), set()),
    (DatasetFilter(tag="paid", source="acme", entity_kind=EntityKind.CAMPAIGN,
                   layer=DatasetLayer.CURATED, namespace="mkt", text="spend"),
     {"mkt/ads_spend"}),
], ids=repr)
async def test_list_datasets_filters(catalog: GraphStore, flt: DatasetFilter,
                                     expected: set[str]) -> None:
    assert await _names(catalog, flt) == expected


async def test_list_datasets_tag_filter_follows_tag_removal(catalog: GraphStore) -> None:
    await catalog.remove_tag(key("web", "sessions"), "paid", actor=ACTOR)
    assert await _names(catalog, DatasetFilter(tag="paid")) == {"mkt/ads_spend"}


@pytest.mark.parametrize("text", ['"', "*", "NEAR(", "OR", "-", ":", "'; DROP TABLE x; --",
                                  '" OR 1=1 --', "(", "name:spend", "\x00", "日本語", "",
                                  "x" * 5000], ids=lambda t: repr(t[:20]))
async def test_list_datasets_hostile_text_is_harmless(catalog: GraphStore, text: str) -> None:
    page = await catalog.list_datasets(DatasetFilter(text=text), PageRequest(first=10))
    assert page.total == len(page.items) <= 1
    # and the catalog is intact afterwards
    assert await _names(catalog, DatasetFilter()) == ALL_LIVE


# --- sort orders and keyset pagination ---------------------------------------------------


def _sort_key(d: Dataset, sort: DatasetSort) -> tuple[Any, ...]:
    if sort is DatasetSort.NAME:
        return (d.namespace, d.name)
    if sort is DatasetSort.CREATED_AT:
        return (d.created_at, d.id)
    return (d.updated_at, d.id)


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort", list(DatasetSort))
@pytest.mark.parametrize("first", [1, 3, 8, 20])
async def test_list_datasets_sort_and_pages(graph: GraphStore, sort: DatasetSort,
                                            descending: bool, first: int) -> None:
    # namespace order differs from name order, and creation order from both
    specs = [("b", "zeta"), ("a", "omega"), ("c", "alpha"), ("a", "Beta"), ("b", "b/nested"),
             ("a", "alpha"), ("c", "mu"), ("b", "alpha")]
    for ns, name in specs:
        await dataset(graph, ns, name)
    # updates in another order so that updated_at order differs from created_at order
    for ns, name in [("c", "alpha"), ("a", "omega"), ("b", "zeta")]:
        await graph.set_description(ns, name, f"touched {name}", actor=ACTOR)
    await dataset(graph, "a", "deleted")
    await graph.delete_dataset("a", "deleted", actor=ACTOR)

    items, total, pages = await _all(graph, DatasetFilter(), first=first, sort=sort,
                                     descending=descending)
    assert total == len(specs)
    assert len(items) == len(specs)
    assert len({d.id for d in items}) == len(specs), "duplicates across pages"
    assert {(d.namespace, d.name) for d in items} == set(specs), "gaps across pages"
    assert pages == max(1, -(-len(specs) // first))
    assert [_sort_key(d, sort) for d in items] == sorted(
        (_sort_key(d, sort) for d in items), reverse=descending)
    if sort is DatasetSort.NAME and not descending:
        assert [str(d.key) for d in items][:4] == ["a/Beta", "a/alpha", "a/omega", "b/alpha"]


async def test_list_datasets_created_at_follows_creation_order(graph: GraphStore) -> None:
    made = [await dataset(graph, "ns", name) for name in ["z", "y", "x", "w"]]
    page = await graph.list_datasets(DatasetFilter(), PageRequest(
        first=10, sort=DatasetSort.CREATED_AT))
    assert [d.id for d in page.items] == [d.id for d in made]
    page = await graph.list_datasets(DatasetFilter(), PageRequest(
        first=10, sort=DatasetSort.UPDATED_AT, descending=True))
    assert [d.id for d in page.items] == [d.id for d in reversed(made)]


async def test_list_datasets_pages_a_filtered_list(catalog: GraphStore) -> None:
    items, total, pages = await _all(catalog, DatasetFilter(tag="paid"), first=1)
    assert [str(d.key) for d in items] == ["mkt/ads_spend", "web/sessions"]
    assert (total, pages) == (2, 2)


async def test_list_datasets_empty_catalog(graph: GraphStore) -> None:
    page = await graph.list_datasets(DatasetFilter(), PageRequest(first=5))
    assert (page.items, page.cursors, page.has_next, page.total) == ([], [], False, 0)
