"""DataLoaders: a list query costs a constant number of graph-store calls, whatever its length
(no N+1). Counted on the way to the real SQLite store by ``counting_client``."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from starlette.testclient import TestClient

from loaders.demo import load_demo
from tests.conftest import CountingGraphStore, gql
from tests.helpers import call, data, link, register, stores, upsert_entity, upsert_source

LIST = """{ datasets(first: %d) { edges { node {
  source { name } tags { name }
  latestVersion { rowCount fields { name } }
  owners { name } entities { role }
} } } }"""

EXPECTED_CALLS = Counter({"list_datasets": 1, "get_sources": 1, "get_tags": 1,
                          "get_latest_versions": 1, "get_fields": 1, "get_owners": 1,
                          "get_dataset_entities": 1})

Counting = tuple[TestClient, CountingGraphStore]


def run(client: TestClient, graph: CountingGraphStore, query: str,
        variables: dict[str, Any] | None = None) -> tuple[dict[str, Any], Counter[str]]:
    graph.calls.clear()
    result = data(gql(client, query, variables))
    calls = Counter(graph.calls)
    graph.calls.clear()
    return result, calls


@pytest.fixture
def thirty(counting_client: Counting) -> Counting:
    """The demo catalog (7 loaded datasets + their 7 RAW twins) plus 16 registered ones, some
    with a source, tags, owners and entities: 30 datasets."""
    client, graph = counting_client
    _, objects = stores(client)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    call(client, load_demo, graph, objects, tmp_dir=settings.data_dir / "tmp")
    upsert_source(client, "Partner feed", "VENDOR")
    entity = upsert_entity(client, "AUDIENCE", "Lookalikes")["id"]
    for i in range(16):
        register(client, "extra", f"set_{i:02d}", tags=[f"t{i % 3}"],
                 source="Partner feed" if i % 2 else None)
        if i % 4 == 0:
            assert link(client, "extra", f"set_{i:02d}", entity, "audience")["errors"] == []
            owner = data(gql(client, """mutation($name: String!) { addOwner(input: {
                namespace: "extra", name: $name, owner: "growth-team"}) { errors { message } } }""",
                             {"name": f"set_{i:02d}"}))
            assert owner["addOwner"]["errors"] == []
    return client, graph


def test_thirty_datasets_cost_the_same_store_calls_as_ten(thirty: Counting) -> None:
    client, graph = thirty
    ten, ten_calls = run(client, graph, LIST % 10)
    every, all_calls = run(client, graph, LIST % 100)
    assert len(ten["datasets"]["edges"]) == 10
    nodes = [e["node"] for e in every["datasets"]["edges"]]
    assert len(nodes) == 30
    # the query really resolved each kind of related object somewhere in the list
    assert any(n["source"] for n in nodes)
    assert any(n["tags"] for n in nodes)
    assert any(n["owners"] for n in nodes)
    assert any(n["entities"] for n in nodes)
    assert any(n["latestVersion"] and n["latestVersion"]["fields"] for n in nodes)
    assert sum(1 for n in nodes if n["latestVersion"]) == 14

    assert all_calls == ten_calls == EXPECTED_CALLS
    assert sum(all_calls.values()) == 7


def test_a_page_of_one_costs_the_same_as_a_page_of_thirty(thirty: Counting) -> None:
    client, graph = thirty
    _, one = run(client, graph, LIST % 1)
    _, many = run(client, graph, LIST % 30)
    # a one-dataset page may skip loaders it has nothing for, never add calls
    assert set(one) <= set(many)
    assert all(count == 1 for count in one.values())
    assert many == EXPECTED_CALLS


def test_versions_and_their_fields_batch_across_datasets(thirty: Counting) -> None:
    client, graph = thirty
    query = """{ datasets(first: 100) { edges { node {
        versions { totalCount edges { node { version fields { name } dataset { name } } } }
    } } } }"""
    result, calls = run(client, graph, query)
    versions = [v for e in result["datasets"]["edges"]
                for v in e["node"]["versions"]["edges"]]
    assert len(versions) == 14
    assert all(v["node"]["fields"] for v in versions)
    # DatasetVersion.dataset is served from the loader the list primed: no get_datasets call
    assert calls == Counter({"list_datasets": 1, "list_versions": 1, "get_fields": 1})


def test_search_results_batch_their_relations(thirty: Counting) -> None:
    client, graph = thirty
    query = """{ search(query: "set", first: 100) { totalCount edges { node {
        name tags { name } source { name } latestVersion { rowCount } } } } }"""
    result, calls = run(client, graph, query)
    assert result["search"]["totalCount"] == 16
    assert calls == Counter({"search": 1, "get_tags": 1, "get_sources": 1,
                             "get_latest_versions": 1})


def test_node_lookups_in_one_document_batch(thirty: Counting) -> None:
    client, graph = thirty
    ids = [e["node"]["id"] for e in data(gql(client, "{ datasets(first: 12) { edges { node "
                                                     "{ id } } } }"))["datasets"]["edges"]]
    query = "{ " + " ".join(f'n{i}: node(id: "{node_id}") {{ id ... on Dataset {{ name }} }}'
                            for i, node_id in enumerate(ids)) + " }"
    result, calls = run(client, graph, query)
    assert [result[f"n{i}"]["id"] for i in range(len(ids))] == ids
    assert calls == Counter({"get_datasets": 1})


# --- a page's nodes read what its resolver preloaded (schema/dataloaders ``preload``) ---------

FRAGMENTS = """fragment Bits on Dataset { tags { name } ... on Dataset { source { name } } }
{ datasets(first: 30) { ... on DatasetConnection { edges { node {
  name latestVersion { rowCount } ...Bits } } } } }"""
PLAIN = """{ datasets(first: 30) { edges { node { name latestVersion { rowCount }
  tags { name } source { name } } } } }"""


def test_fragments_preload_the_same_and_answer_the_same(thirty: Counting) -> None:
    plain, plain_calls = run(*thirty, PLAIN)
    fragmented, calls = run(*thirty, FRAGMENTS)
    assert fragmented == plain
    assert calls == plain_calls == Counter({"list_datasets": 1, "get_sources": 1,
                                            "get_tags": 1, "get_latest_versions": 1})
    nodes = [e["node"] for e in plain["datasets"]["edges"]]
    assert any(n["tags"] for n in nodes)
    assert any(n["source"] for n in nodes)


def test_latest_schemas_preload_in_one_read_fragments_or_not(thirty: Counting) -> None:
    plain, plain_calls = run(*thirty, """{ datasets(first: 30) { edges { node {
        name latestVersion { fields { name arrowType } } } } } }""")
    fragmented, calls = run(*thirty, """fragment Cols on DatasetVersion { fields { name
        ... on Field { arrowType } } }
        { datasets(first: 30) { edges { node { name latestVersion { ...Cols } } } } }""")
    assert fragmented == plain
    assert calls == plain_calls == Counter({"list_datasets": 1, "get_latest_versions": 1,
                                            "get_fields": 1})
    assert any(e["node"]["latestVersion"] and e["node"]["latestVersion"]["fields"]
               for e in plain["datasets"]["edges"])


def test_nothing_is_preloaded_that_the_query_does_not_ask(thirty: Counting) -> None:
    _, calls = run(*thirty, "{ datasets(first: 30) { edges { node { name } } } }")
    assert calls == Counter({"list_datasets": 1})


async def test_then_is_plain_once_loaded_and_reports_a_failed_load() -> None:
    from strawberry.dataloader import DataLoader

    from schema.dataloaders import preload, then

    async def load(keys: list[str]) -> list[str]:
        if "bad" in keys:
            raise RuntimeError("the store is down")
        return [k.upper() for k in keys]

    loader: DataLoader[str, str] = DataLoader(load)
    pending = then(loader, "a", len)
    assert not isinstance(pending, int)
    assert await pending == 1   # type: ignore[misc]
    await preload((loader, ["b", "c"]))
    assert then(loader, "b", str.lower) == "b"   # loaded: a plain value, no await
    failing: DataLoader[str, str] = DataLoader(load)
    await preload((failing, ["bad"]))   # the failure stays in the loader, for the field
    with pytest.raises(RuntimeError, match="the store is down"):
        await then(failing, "bad", str.lower)   # type: ignore[misc]


async def test_preload_loads_once_per_loader_and_keeps_errors_per_key() -> None:
    from strawberry.dataloader import DataLoader
    from strawberry.exceptions import WrongNumberOfResultsReturned

    from schema.dataloaders import preload, then

    calls: list[list[str]] = []

    async def load(keys: list[str]) -> list[Any]:
        calls.append(keys)
        return [ValueError(f"no {k}") if k.startswith("x") else k.upper() for k in keys]

    loader: DataLoader[str, Any] = DataLoader(load)
    loader.prime("p", "primed")
    await preload((loader, ["a", "a", "p", "xb", "c"]))
    assert calls == [["a", "xb", "c"]]   # one call, no duplicate, no already-cached key
    assert [then(loader, k, str) for k in ("a", "c", "p")] == ["A", "C", "primed"]
    with pytest.raises(ValueError, match="no xb"):
        await then(loader, "xb", str)   # type: ignore[misc]
    assert await loader.load("a") == "A"
    assert len(calls) == 1

    async def short(keys: list[str]) -> list[str]:
        return keys[:1]

    wrong: DataLoader[str, str] = DataLoader(short)
    await preload((wrong, ["a", "b"]))
    with pytest.raises(WrongNumberOfResultsReturned):
        await then(wrong, "b", str)   # type: ignore[misc]
