"""Lineage (addLineage, lineage(direction, depth)) and full-text search over GraphQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from tests.conftest import app_client, gql, make_settings
from tests.helpers import add_lineage, load, messages, q, register, write_csv

# the end-to-end tests run once per object store: local folder and S3 (moto)
OBJECT_BACKENDS = ("local", "s3")

LINEAGE = """
query($ns: String!, $name: String!, $direction: LineageDirection, $depth: Int) {
  lineage(namespace: $ns, name: $name, direction: $direction, depth: $depth) {
    nodes { depth dataset { namespace name } }
    edges { downstream { namespace name } upstream { namespace name } transformation job }
  }
}"""


def walk(client: TestClient, start: str, direction: str = "BOTH",
         depth: int | None = None) -> tuple[list[tuple[str, int]], list[tuple[str, str]]]:
    ns, _, name = start.partition("/")
    variables: dict[str, Any] = {"ns": ns, "name": name, "direction": direction}
    if depth is not None:
        variables["depth"] = depth
    graph = q(client, LINEAGE, **variables)["lineage"]
    nodes = [(f"{n['dataset']['namespace']}/{n['dataset']['name']}", n["depth"])
             for n in graph["nodes"]]
    edges = [(f"{e['downstream']['namespace']}/{e['downstream']['name']}",
              f"{e['upstream']['namespace']}/{e['upstream']['name']}") for e in graph["edges"]]
    return nodes, edges


@pytest.fixture
def chain(client: TestClient) -> TestClient:
    """raw/events ← stage/events ← mart/daily ← mart/weekly, and crm/customers ← mart/daily."""
    for key in ["raw/events", "stage/events", "mart/daily", "mart/weekly", "crm/customers"]:
        ns, _, name = key.partition("/")
        register(client, ns, name)
    for down, up in [("stage/events", "raw/events"), ("mart/daily", "stage/events"),
                     ("mart/weekly", "mart/daily"), ("mart/daily", "crm/customers")]:
        assert add_lineage(client, down, up, transformation=f"{up} → {down}",
                           job="nightly")["errors"] == []
    return client


def test_add_lineage_returns_the_edge(client: TestClient) -> None:
    register(client, "crm", "customers")
    register(client, "marketing", "audience")
    payload = add_lineage(client, "marketing/audience", "crm/customers",
                          transformation="RFM scoring", job="demo.pipeline")
    assert payload["errors"] == []
    edge = payload["edge"]
    assert edge["downstream"] == {"namespace": "marketing", "name": "audience"}
    assert edge["upstream"] == {"namespace": "crm", "name": "customers"}
    assert (edge["transformation"], edge["job"]) == ("RFM scoring", "demo.pipeline")
    assert edge["createdAt"]
    again = add_lineage(client, "marketing/audience", "crm/customers",
                        transformation="RFM v2", job="demo.pipeline")
    assert again["edge"]["transformation"] == "RFM v2"     # an upsert, not a second edge
    _, edges = walk(client, "crm/customers")
    assert edges == [("marketing/audience", "crm/customers")]


def test_lineage_upstream_by_depth(chain: TestClient) -> None:
    assert walk(chain, "mart/weekly", "UPSTREAM", 1) == (
        [("mart/daily", -1), ("mart/weekly", 0)], [("mart/weekly", "mart/daily")])
    nodes, edges = walk(chain, "mart/weekly", "UPSTREAM", 2)
    assert nodes == [("crm/customers", -2), ("stage/events", -2), ("mart/daily", -1),
                     ("mart/weekly", 0)]
    assert edges == [("mart/daily", "crm/customers"), ("mart/daily", "stage/events"),
                     ("mart/weekly", "mart/daily")]
    nodes, edges = walk(chain, "mart/weekly", "UPSTREAM", 20)
    assert nodes[0] == ("raw/events", -3)
    assert len(nodes) == 5
    assert len(edges) == 4


def test_lineage_downstream_and_both(chain: TestClient) -> None:
    assert walk(chain, "raw/events", "DOWNSTREAM", 2) == (
        [("raw/events", 0), ("stage/events", 1), ("mart/daily", 2)],
        [("mart/daily", "stage/events"), ("stage/events", "raw/events")])
    assert walk(chain, "raw/events", "UPSTREAM", 5) == ([("raw/events", 0)], [])
    nodes, edges = walk(chain, "mart/daily", "BOTH", 1)
    assert nodes == [("crm/customers", -1), ("stage/events", -1), ("mart/daily", 0),
                     ("mart/weekly", 1)]
    assert ("mart/daily", "stage/events") in edges
    assert ("stage/events", "raw/events") not in edges   # raw/events was not reached
    # the default is BOTH, depth 3
    assert walk(chain, "mart/daily") == walk(chain, "mart/daily", "BOTH", 3)


def test_lineage_survives_a_cycle(client: TestClient) -> None:
    for name in "abc":
        register(client, "cyc", name)
    add_lineage(client, "cyc/b", "cyc/a")
    add_lineage(client, "cyc/c", "cyc/b")
    add_lineage(client, "cyc/a", "cyc/c")
    nodes, edges = walk(client, "cyc/a", "UPSTREAM", 20)
    assert nodes == [("cyc/b", -2), ("cyc/c", -1), ("cyc/a", 0)]
    assert len(edges) == 3


def test_lineage_hides_deleted_datasets(chain: TestClient) -> None:
    q(chain, 'mutation { deleteDataset(input: {namespace: "stage", name: "events"}) '
             '{ errors { message } } }')
    nodes, edges = walk(chain, "mart/weekly", "UPSTREAM", 5)
    assert [n for n, _ in nodes] == ["crm/customers", "mart/daily", "mart/weekly"]
    assert all("stage/events" not in e for e in edges)
    assert q(chain, LINEAGE, ns="stage", name="events") == {"lineage": None}


def test_lineage_of_an_unknown_dataset_is_null(client: TestClient) -> None:
    assert q(client, LINEAGE, ns="nope", name="nothing") == {"lineage": None}


def test_load_records_raw_to_curated_lineage(client: TestClient, tmp_path: Path) -> None:
    load(client, write_csv(tmp_path / "c.csv", ["id"], [[1]]), "crm", "customers")
    graph = q(client, LINEAGE, ns="crm", name="customers")["lineage"]
    assert [(n["dataset"]["name"], n["depth"]) for n in graph["nodes"]] == [
        ("customers.raw", -1), ("customers", 0)]
    [edge] = graph["edges"]
    assert edge["upstream"]["name"] == "customers.raw"
    assert edge["job"] == "peso.load"
    assert edge["transformation"].startswith("peso load: csv →")


@pytest.mark.parametrize("depth", [0, -1, 21, 1000])
def test_lineage_depth_out_of_range_is_a_clear_error(chain: TestClient, depth: int) -> None:
    body = gql(chain, LINEAGE, {"ns": "mart", "name": "daily", "depth": depth})
    assert body["data"] == {"lineage": None}
    assert messages(body) == [f"depth must be between 1 and 20, got {depth}"]
    assert body["errors"][0]["path"] == ["lineage"]


def test_lineage_depth_cap_follows_the_setting(tmp_path: Path) -> None:
    with app_client(create_app(make_settings(tmp_path, PESO_MAX_LINEAGE_DEPTH="2"))) as c:
        register(c, "a", "b")
        assert q(c, LINEAGE, ns="a", name="b", depth=2)["lineage"]["nodes"]
        body = gql(c, LINEAGE, {"ns": "a", "name": "b", "depth": 3})
        assert messages(body) == ["depth must be between 1 and 2, got 3"]


@pytest.mark.parametrize(("down", "up", "field", "code", "message"), [
    ("mart/daily", "mart/daily", None, "CONFLICT",
     "dataset mart/daily cannot be derived from itself"),
    ("mart/daily", "crm/ghost", None, "NOT_FOUND", "dataset crm/ghost does not exist"),
    ("mart/ghost", "mart/daily", None, "NOT_FOUND", "dataset mart/ghost does not exist"),
    # addLineage may name datasets that arrived from OpenLineage: the lineage grammar applies
    ("mart/daily", "crm/a/../x", "name", "INVALID_INPUT", "name 'a/../x' has a '..' path segment"),
    ("mart/daily", "../crm/x", "namespace", "INVALID_INPUT",
     "namespace '..' is not valid: use a URI such as postgres://host:5432 or s3://bucket "
     "(letters, digits and URI punctuation, starting with a letter or digit)"),
])
def test_add_lineage_rejects_bad_edges(chain: TestClient, down: str, up: str,
                                       field: str | None, code: str, message: str) -> None:
    before = walk(chain, "mart/daily", "BOTH", 20)
    payload = add_lineage(chain, down, up)
    assert payload["edge"] is None
    assert payload["errors"] == [{"message": message, "field": field, "code": code}]
    assert walk(chain, "mart/daily", "BOTH", 20) == before


def test_add_lineage_rejects_bad_text(chain: TestClient) -> None:
    for extra, field in [({"transformation": "t" * 2001}, "transformation"),
                         ({"job": "bad\x00job"}, "job")]:
        payload = add_lineage(chain, "mart/weekly", "crm/customers", **extra)
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [
            (field, "INVALID_INPUT")]


# --- search -----------------------------------------------------------------------------------

SEARCH = """
query($query: String!, $first: Int, $after: String) {
  search(query: $query, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor score node { namespace name } }
  }
}"""


def found(client: TestClient, text: str) -> list[str]:
    conn = q(client, SEARCH, query=text, first=100)["search"]
    assert conn["totalCount"] == len(conn["edges"])
    return [f"{e['node']['namespace']}/{e['node']['name']}" for e in conn["edges"]]


@pytest.fixture
def searchable(client: TestClient, tmp_path: Path) -> TestClient:
    register(client, "crm", "customers", description="Lifetime value per shopper",
             tags=["gold"])
    register(client, "ads", "meta_daily", description="Spend for customers reached by ads")
    register(client, "web", "sessions", tags=["clickstream"])
    load(client, write_csv(tmp_path / "orders.csv", ["order_id", "basket_value"], [[1, 9.5]]),
         "shop", "orders", description="Orders")
    return client


@pytest.mark.parametrize(("text", "expected"), [
    ("customers", {"crm/customers", "ads/meta_daily"}),   # a name, and a description word
    ("lifetime", {"crm/customers"}),                      # description
    ("shop", {"crm/customers", "shop/orders", "shop/orders.raw"}),  # prefix: shop, shopper
    ("gold", {"crm/customers"}),                          # tag
    ("clickstream", {"web/sessions"}),                    # tag
    ("basket_value", {"shop/orders", "shop/orders.raw"}),  # a field name of the loaded file
    ("spend ads", {"ads/meta_daily"}),                    # every word must match
    ("spend gold", set()),
    ("zebra", set()),
    ('"); DROP TABLE datasets; --', set()),               # only words reach FTS5
    ("   ", set()),
])
def test_search_matches_names_descriptions_tags_and_fields(searchable: TestClient, text: str,
                                                           expected: set[str]) -> None:
    assert set(found(searchable, text)) == expected


def test_search_ranks_a_name_match_first(searchable: TestClient) -> None:
    conn = q(searchable, SEARCH, query="customers")["search"]
    assert [e["node"]["name"] for e in conn["edges"]] == ["customers", "meta_daily"]
    scores = [e["score"] for e in conn["edges"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[1]


def test_search_pages_by_cursor(client: TestClient) -> None:
    for i in range(7):
        register(client, "camp", f"campaign_{i}", description="campaign performance")
    whole = found(client, "campaign")
    assert len(whole) == 7
    seen: list[str] = []
    after = None
    while True:
        conn = q(client, SEARCH, query="campaign", first=3, after=after)["search"]
        assert conn["totalCount"] == 7
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
        seen += [f"{e['node']['namespace']}/{e['node']['name']}" for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == whole
    assert len(set(seen)) == 7


def test_search_rejects_a_foreign_cursor_and_long_queries(searchable: TestClient) -> None:
    dataset_cursor = q(searchable, "{ datasets(first: 1) { pageInfo { endCursor } } }")[
        "datasets"]["pageInfo"]["endCursor"]
    body = gql(searchable, SEARCH, {"query": "customers", "after": dataset_cursor})
    [message] = messages(body)
    assert "does not belong to this list" in message
    body = gql(searchable, SEARCH, {"query": "x" * 501})
    assert messages(body) == ["query is 501 characters; the limit is 500"]
