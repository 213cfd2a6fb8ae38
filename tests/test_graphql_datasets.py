"""Datasets over GraphQL: look-ups, versions, the filtered/sorted/paginated list, node(id:)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.ids import to_global_id
from tests.conftest import BANK_CSV, app_client, gql, make_settings, needs_corpus
from tests.helpers import (
    keys,
    link,
    load,
    messages,
    q,
    register,
    upsert_entity,
    upsert_source,
    write_csv,
)

# the end-to-end tests run once per object store: local folder and S3 (moto)
OBJECT_BACKENDS = ("local", "s3")

DATASET = """
query($ns: String!, $name: String!) {
  dataset(namespace: $ns, name: $name) {
    id namespace name layer description
    latestVersion {
      id version rowCount byteSize contentHash format rawKey curatedKey createdBy
      fields { name position arrowType nullable }
      dataset { namespace name }
    }
    versions { totalCount edges { cursor node { version rowCount } } }
    first: version(number: 1) { version rowCount fields { name } }
    missing: version(number: 99) { version }
  }
}"""

LIST = """
query($first: Int, $after: String, $filter: DatasetFilter, $order: DatasetOrder) {
  datasets(first: $first, after: $after, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id namespace name layer createdAt updatedAt } }
  }
}"""


# --- dataset(namespace, name) and its versions ------------------------------------------------

def test_dataset_shows_latest_version_fields_and_version_history(
        client: TestClient, tmp_path: Path) -> None:
    v1 = write_csv(tmp_path / "v1" / "customers.csv", ["id", "email", "ltv"],
                   [[1, "a@x.com", 10.5], [2, "b@x.com", 20.0], [3, "c@x.com", 7.25]])
    v2 = write_csv(tmp_path / "v2" / "customers.csv", ["id", "email", "ltv", "country"],
                   [[i, f"{i}@x.com", i * 1.5, "GB"] for i in range(1, 5)])
    assert load(client, v1, "crm", "customers").report.version == 1
    assert load(client, v2, "crm", "customers").report.version == 2

    ds = q(client, DATASET, ns="crm", name="customers")["dataset"]
    assert (ds["namespace"], ds["name"], ds["layer"]) == ("crm", "customers", "CURATED")
    latest = ds["latestVersion"]
    assert latest["version"] == 2
    assert latest["rowCount"] == 4
    assert latest["contentHash"] == hashlib.sha256(v2.read_bytes()).hexdigest()
    assert latest["format"] == "csv"
    assert latest["createdBy"] == "test"
    assert latest["byteSize"] > 0
    assert latest["rawKey"].startswith("raw/crm/customers/")
    assert latest["rawKey"].endswith("/customers.csv")
    assert latest["curatedKey"].startswith("curated/crm/customers/")
    assert latest["curatedKey"].endswith("/part-0.parquet")
    assert latest["dataset"] == {"namespace": "crm", "name": "customers"}
    assert [(f["name"], f["position"], f["arrowType"]) for f in latest["fields"]] == [
        ("id", 0, "int64"), ("email", 1, "string"), ("ltv", 2, "double"),
        ("country", 3, "string")]
    assert all(f["nullable"] for f in latest["fields"])

    assert ds["versions"]["totalCount"] == 2
    assert [e["node"]["version"] for e in ds["versions"]["edges"]] == [2, 1]  # newest first
    assert [e["node"]["rowCount"] for e in ds["versions"]["edges"]] == [4, 3]
    assert ds["first"]["version"] == 1
    assert ds["first"]["rowCount"] == 3
    assert [f["name"] for f in ds["first"]["fields"]] == ["id", "email", "ltv"]
    assert ds["missing"] is None


def test_versions_connection_pages_by_cursor(client: TestClient, tmp_path: Path) -> None:
    for n in range(1, 4):
        load(client, write_csv(tmp_path / f"v{n}.csv", ["n"], [[i] for i in range(n)]),
             "ops", "counts")
    page_q = """query($after: String) { dataset(namespace: "ops", name: "counts") {
        versions(first: 2, after: $after) {
          totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
          edges { cursor node { version rowCount } } } } }"""
    one = q(client, page_q)["dataset"]["versions"]
    assert [e["node"]["version"] for e in one["edges"]] == [3, 2]
    assert one["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False,
                               "endCursor": one["edges"][-1]["cursor"]}
    two = q(client, page_q, after=one["pageInfo"]["endCursor"])["dataset"]["versions"]
    assert [e["node"] for e in two["edges"]] == [{"version": 1, "rowCount": 1}]
    assert two["pageInfo"]["hasNextPage"] is False
    assert two["pageInfo"]["hasPreviousPage"] is True
    assert one["totalCount"] == two["totalCount"] == 3


@needs_corpus
def test_dataset_of_bank_csv_has_4521_rows_and_17_fields(client: TestClient) -> None:
    load(client, BANK_CSV, "uci", "bank")
    latest = q(client, DATASET, ns="uci", name="bank")["dataset"]["latestVersion"]
    assert latest["rowCount"] == 4521
    names = [f["name"] for f in latest["fields"]]
    assert len(names) == 17
    assert names[:3] == ["age", "job", "marital"]
    assert names[-1] == "y"
    assert {f["name"]: f["arrowType"] for f in latest["fields"]}["balance"] == "int64"


def test_dataset_absent_or_invalid_key_is_null(client: TestClient) -> None:
    register(client, "crm", "customers")
    for ns, name in [("crm", "nope"), ("nope", "customers"), ("../crm", "customers"),
                     ("crm", "customers\x00")]:
        assert q(client, DATASET, ns=ns, name=name) == {"dataset": None}


# --- datasets(): a catalog shared by the read-only list tests -------------------------------

BULK = 20


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Sources, entities, tagged/described/linked datasets, one loaded file (so a RAW dataset
    exists) and BULK filler datasets. crm/leads is described last (latest updatedAt)."""
    tmp = tmp_path_factory.mktemp("catalog")
    with app_client(create_app(make_settings(tmp))) as c:
        upsert_source(c, "Acme CRM", "INTERNAL")
        upsert_source(c, "Meta Ads", "PLATFORM")
        shoppers = upsert_entity(c, "CUSTOMER", "Shoppers")["id"]
        brand = upsert_entity(c, "BRAND", "Acme Running")["id"]
        register(c, "crm", "customers", source="Acme CRM", tags=["gold", "pii"],
                 description="Customers with lifetime value")
        register(c, "crm", "leads", source="Acme CRM", tags=["pii"],
                 description="Prospects from web forms")
        register(c, "ads", "meta_daily", source="Meta Ads", tags=["ads", "gold"],
                 description="Daily delivery per campaign")
        sessions = write_csv(tmp / "sessions.csv", ["session_id", "pageviews", "device"],
                             [["S1", 3, "mobile"], ["S2", 9, "desktop"]])
        load(c, sessions, "web", "sessions", description="Site sessions")
        register(c, "public", "eurostat", description="Household spending per capita")
        for i in range(BULK):
            register(c, "bulk", f"ds_{i:02d}")
        assert link(c, "crm", "customers", shoppers, "subject")["errors"] == []
        assert link(c, "ads", "meta_daily", brand, "advertised brand")["errors"] == []
        q(c, """mutation { describeDataset(input: {namespace: "crm", name: "leads",
                description: "Prospects from web forms and events"}) { errors { message } } }""")
        yield c


ALL_SPECIFIC = {"crm/customers", "crm/leads", "ads/meta_daily", "web/sessions",
                "web/sessions.raw", "public/eurostat"}
EVERYTHING = ALL_SPECIFIC | {f"bulk/ds_{i:02d}" for i in range(BULK)}


def everything(client: TestClient, order: dict[str, str] | None = None) -> list[dict[str, Any]]:
    conn = q(client, LIST, first=100, order=order)["datasets"]
    assert conn["totalCount"] == len(conn["edges"])
    assert conn["pageInfo"]["hasNextPage"] is False
    edges: list[dict[str, Any]] = conn["edges"]
    return edges


@pytest.mark.parametrize(("flt", "expected"), [
    ({}, EVERYTHING),
    ({"namespace": "crm"}, {"crm/customers", "crm/leads"}),
    ({"namespace": "web"}, {"web/sessions", "web/sessions.raw"}),
    ({"namespace": "nope"}, set()),
    ({"source": "Acme CRM"}, {"crm/customers", "crm/leads"}),
    ({"source": "Meta Ads"}, {"ads/meta_daily"}),
    ({"source": "No Such Source"}, set()),
    ({"tag": "gold"}, {"crm/customers", "ads/meta_daily"}),
    ({"tag": "  GOLD "}, {"crm/customers", "ads/meta_daily"}),   # normalized like tagDataset
    ({"tag": "pii"}, {"crm/customers", "crm/leads"}),
    ({"tag": "unused"}, set()),
    ({"entityKind": "CUSTOMER"}, {"crm/customers"}),
    ({"entityKind": "BRAND"}, {"ads/meta_daily"}),
    ({"entityKind": "BOT"}, set()),
    ({"text": "lifetime"}, {"crm/customers"}),                     # description
    ({"text": "lifeti"}, {"crm/customers"}),                       # prefix match
    ({"text": "eurostat"}, {"public/eurostat"}),                   # name
    ({"text": "pageviews"}, {"web/sessions", "web/sessions.raw"}),  # field name
    ({"text": "gold"}, {"crm/customers", "ads/meta_daily"}),       # tag
    ({"text": "web forms"}, {"crm/leads"}),                        # every word must match
    ({"text": "!!!"}, set()),                                      # no words: nothing
    ({"layer": "RAW"}, {"web/sessions.raw"}),
    ({"layer": "CURATED"}, EVERYTHING - {"web/sessions.raw"}),
    ({"namespace": "crm", "tag": "gold"}, {"crm/customers"}),
    ({"source": "Acme CRM", "text": "prospects"}, {"crm/leads"}),
    ({"namespace": "ads", "entityKind": "CUSTOMER"}, set()),
])
def test_datasets_filter(catalog: TestClient, flt: dict[str, Any], expected: set[str]) -> None:
    conn = q(catalog, LIST, first=100, filter=flt)["datasets"]
    found = keys(conn["edges"])
    assert set(found) == expected
    assert len(found) == len(set(found)) == conn["totalCount"]
    if not expected:
        assert conn["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": False,
                                    "startCursor": None, "endCursor": None}


def test_datasets_filter_with_invalid_tag_is_a_clear_error(catalog: TestClient) -> None:
    body = gql(catalog, LIST, {"filter": {"tag": "Not a tag!"}})
    assert body["data"] is None
    assert messages(body) == ["tag 'Not a tag!' is not valid: use 1-100 lowercase letters, "
                              "digits, '.', '_', ':' or '-'"]


def test_datasets_filter_text_is_bounded(catalog: TestClient) -> None:
    body = gql(catalog, LIST, {"filter": {"text": "x" * 501}})
    assert messages(body) == ["filter.text is 501 characters; the limit is 500"]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_datasets_order_by_name(catalog: TestClient, direction: str) -> None:
    found = keys(everything(catalog, {"field": "NAME", "direction": direction}))
    expected = sorted(EVERYTHING, key=lambda k: tuple(k.split("/", 1)),
                      reverse=direction == "DESC")
    assert found == expected


def test_datasets_default_order_is_name_ascending(catalog: TestClient) -> None:
    assert keys(everything(catalog)) == keys(everything(catalog, {"field": "NAME"}))
    assert keys(everything(catalog))[0] == "ads/meta_daily"


@pytest.mark.parametrize("field", ["CREATED_AT", "UPDATED_AT"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_datasets_order_by_timestamps(catalog: TestClient, field: str, direction: str) -> None:
    edges = everything(catalog, {"field": field, "direction": direction})
    stamp = "createdAt" if field == "CREATED_AT" else "updatedAt"
    found = [(e["node"][stamp], e["node"]["id"]) for e in edges]
    assert found == sorted(found, reverse=direction == "DESC")
    order = keys(edges) if direction == "ASC" else keys(edges)[::-1]
    if field == "CREATED_AT":  # registration order, oldest first
        registered = ["crm/customers", "crm/leads", "ads/meta_daily", "public/eurostat",
                      *(f"bulk/ds_{i:02d}" for i in range(BULK))]
        assert [k for k in order if k in registered] == registered
    else:  # crm/leads was described last
        assert order[-1] == "crm/leads"


@pytest.mark.parametrize("order", [
    {"field": "NAME", "direction": "ASC"}, {"field": "NAME", "direction": "DESC"},
    {"field": "CREATED_AT", "direction": "ASC"}, {"field": "CREATED_AT", "direction": "DESC"},
    {"field": "UPDATED_AT", "direction": "ASC"}, {"field": "UPDATED_AT", "direction": "DESC"},
])
def test_datasets_pages_by_cursor_without_dupes_or_gaps(catalog: TestClient,
                                                        order: dict[str, str]) -> None:
    whole = [e["node"]["id"] for e in everything(catalog, order)]
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        conn = q(catalog, LIST, first=7, after=after, order=order)["datasets"]
        pages += 1
        edges, info = conn["edges"], conn["pageInfo"]
        assert conn["totalCount"] == len(EVERYTHING)
        assert info["hasPreviousPage"] is (after is not None)
        assert info["startCursor"] == edges[0]["cursor"]
        assert info["endCursor"] == edges[-1]["cursor"]
        seen += [e["node"]["id"] for e in edges]
        if not info["hasNextPage"]:
            break
        assert len(edges) == 7
        after = info["endCursor"]
    assert seen == whole
    assert len(set(seen)) == len(EVERYTHING)
    assert pages == -(-len(EVERYTHING) // 7)


def test_datasets_pagination_with_a_filter(catalog: TestClient) -> None:
    flt = {"namespace": "bulk"}
    first = q(catalog, LIST, first=15, filter=flt)["datasets"]
    rest = q(catalog, LIST, first=15, filter=flt,
             after=first["pageInfo"]["endCursor"])["datasets"]
    assert keys(first["edges"]) + keys(rest["edges"]) == [f"bulk/ds_{i:02d}"
                                                         for i in range(BULK)]
    assert first["totalCount"] == rest["totalCount"] == BULK
    assert rest["pageInfo"]["hasNextPage"] is False


def test_keyset_pagination_is_stable_while_datasets_are_added(client: TestClient) -> None:
    for name in "bcdefg":
        register(client, "k", name)
    one = q(client, LIST, first=3)["datasets"]
    assert keys(one["edges"]) == ["k/b", "k/c", "k/d"]
    register(client, "k", "a")   # sorts before the cursor: must not shift the next page
    register(client, "k", "z")
    two = q(client, LIST, first=10, after=one["pageInfo"]["endCursor"])["datasets"]
    assert keys(two["edges"]) == ["k/e", "k/f", "k/g", "k/z"]
    assert two["totalCount"] == 8


# --- node(id:) --------------------------------------------------------------------------------

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Dataset { namespace name }
    ... on DatasetVersion { version rowCount dataset { name } }
    ... on Source { name sourceKind: kind }
    ... on Entity { name entityKind: kind isHuman }
  }
}"""


def test_node_round_trips_every_node_type(client: TestClient, tmp_path: Path) -> None:
    source = upsert_source(client, "Acme CRM", "INTERNAL")
    entity = upsert_entity(client, "AUDIENCE", "High-value buyers")
    load(client, write_csv(tmp_path / "a.csv", ["id"], [[1], [2]]), "crm", "customers",
         source="Acme CRM")
    ds = q(client, DATASET, ns="crm", name="customers")["dataset"]
    expected = {
        ds["id"]: {"__typename": "Dataset", "namespace": "crm", "name": "customers"},
        ds["latestVersion"]["id"]: {"__typename": "DatasetVersion", "version": 1,
                                    "rowCount": 2, "dataset": {"name": "customers"}},
        source["id"]: {"__typename": "Source", "name": "Acme CRM", "sourceKind": "INTERNAL"},
        entity["id"]: {"__typename": "Entity", "name": "High-value buyers",
                       "entityKind": "AUDIENCE", "isHuman": True},
    }
    assert len(expected) == 4  # four distinct ids
    for node_id, fields in expected.items():
        assert q(client, NODE, id=node_id)["node"] == {"id": node_id, **fields}


@pytest.mark.parametrize("node_id", [
    to_global_id("Dataset", "0" * 32),
    to_global_id("DatasetVersion", "0" * 32),
    to_global_id("Source", "nope"),
    to_global_id("Entity", "nope"),
    to_global_id("Tag", "gold"),        # not a node type
])
def test_node_with_unknown_id_is_null(client: TestClient, node_id: str) -> None:
    register(client, "crm", "customers")
    assert gql(client, NODE, {"id": node_id}) == {"data": {"node": None}}


@pytest.mark.parametrize("node_id", ["not an id", "bm9wZQ", "", "%%%"])
def test_node_with_malformed_id_is_a_clear_error(client: TestClient, node_id: str) -> None:
    body = gql(client, NODE, {"id": node_id})
    assert body["data"] == {"node": None}
    assert messages(body) == [f"id {node_id!r} is not a valid Peso id"]
    assert body["errors"][0]["path"] == ["node"]


# --- preloaded relations: a page and a look-up are answered by one compiled tree -----------------

NESTED_PAGE = """{ datasets(first: 50) { edges { node { namespace name source { name kind }
  tags { name } latestVersion { version rowCount fields { name arrowType } } } } } }"""
NESTED_ONE = """{ dataset(namespace: "web", name: "sessions") { name source { name }
  tags { name } latestVersion { version rowCount fields { name arrowType } } } }"""


def test_nested_page_and_lookup_skip_graphql_cores_field_execution(
        catalog: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from schema.execution import PesoExecutionContext

    ordinary: list[str] = []
    real = PesoExecutionContext.execute_fields

    def counted(self: Any, parent_type: Any, *args: Any, **kwargs: Any) -> Any:
        ordinary.append(parent_type.name)
        return real(self, parent_type, *args, **kwargs)

    page = q(catalog, NESTED_PAGE)["datasets"]["edges"]
    one = q(catalog, NESTED_ONE)["dataset"]
    monkeypatch.setattr(PesoExecutionContext, "execute_fields", counted)
    assert q(catalog, NESTED_PAGE)["datasets"]["edges"] == page
    assert ordinary == ["Query"]      # the root only: every node, source, tag, version, field
    ordinary.clear()
    assert q(catalog, NESTED_ONE)["dataset"] == one
    assert ordinary == ["Query"]
    by_key = {(e["node"]["namespace"], e["node"]["name"]): e["node"] for e in page}
    assert by_key[("crm", "customers")]["source"] == {"name": "Acme CRM", "kind": "INTERNAL"}
    assert {t["name"] for t in by_key[("crm", "customers")]["tags"]} == {"gold", "pii"}
    sessions = by_key[("web", "sessions")]["latestVersion"]
    assert sessions["rowCount"] == 2
    assert [f["name"] for f in sessions["fields"]] == ["session_id", "pageviews", "device"]
    assert [f["name"] for f in one["latestVersion"]["fields"]] == ["session_id", "pageviews",
                                                                   "device"]
