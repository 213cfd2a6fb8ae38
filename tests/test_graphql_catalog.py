"""Sources and entities over GraphQL: upserts, connections, humanness, links to datasets."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from server.ids import to_global_id
from tests.conftest import gql
from tests.helpers import data, link, messages, q, register, upsert_entity, upsert_source

# the end-to-end tests run once per object store: local folder and S3 (moto)
OBJECT_BACKENDS = ("local", "s3")

HUMAN = {"PERSON", "CUSTOMER", "AUDIENCE"}
NON_HUMAN = {"ORGANIZATION", "BRAND", "PRODUCT", "DEVICE", "BOT", "AI_AGENT", "CHANNEL",
             "CAMPAIGN"}

SOURCE = """
mutation($input: UpsertSourceInput!) {
  upsertSource(input: $input) {
    source { id name kind url license description createdAt updatedAt }
    errors { message field code }
  }
}"""

ENTITY = """
mutation($input: UpsertEntityInput!) {
  upsertEntity(input: $input) {
    entity { id kind name isHuman description identifiers }
    errors { message field code }
  }
}"""

SOURCES = """
query($first: Int, $after: String) {
  sources(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { name kind } }
  }
}"""

ENTITIES = """
query($kind: EntityKind, $isHuman: Boolean, $first: Int, $after: String) {
  entities(kind: $kind, isHuman: $isHuman, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { node { kind name isHuman } }
  }
}"""


def source_payload(client: TestClient, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = data(gql(client, SOURCE, {"input": fields}))["upsertSource"]
    return payload


def entity_payload(client: TestClient, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = data(gql(client, ENTITY, {"input": fields}))["upsertEntity"]
    return payload


# --- sources ----------------------------------------------------------------------------------

def test_upsert_source_creates_then_updates_by_name(client: TestClient) -> None:
    made = source_payload(client, name="Eurostat", kind="PUBLIC_PORTAL",
                          url="https://ec.europa.eu/eurostat", license="CC-BY-4.0",
                          description="Official EU statistics.")
    assert made["errors"] == []
    src = made["source"]
    assert (src["name"], src["kind"], src["url"], src["license"], src["description"]) == (
        "Eurostat", "PUBLIC_PORTAL", "https://ec.europa.eu/eurostat", "CC-BY-4.0",
        "Official EU statistics.")
    again = source_payload(client, name="  Eurostat ", kind="VENDOR")["source"]
    assert again["id"] == src["id"]             # keyed by the (trimmed) name
    assert (again["kind"], again["url"], again["license"]) == ("VENDOR", None, None)
    assert again["createdAt"] == src["createdAt"]
    assert again["updatedAt"] > src["updatedAt"]
    assert q(client, SOURCES)["sources"]["totalCount"] == 1


def test_upsert_source_kind_defaults_to_other(client: TestClient) -> None:
    assert source_payload(client, name="Somebody")["source"]["kind"] == "OTHER"


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"name": ""}, "name", "name must not be empty"),
    ({"name": "   "}, "name", "name must not be empty"),
    ({"name": "a\x00b"}, "name", "name contains control characters"),
    ({"name": "line\nbreak"}, "name", "name contains control characters"),
    ({"name": "n" * 201}, "name", "name is 201 characters; the limit is 200"),
    ({"name": "x", "url": "u" * 2001}, "url", "url is 2001 characters; the limit is 2000"),
    ({"name": "x", "license": "l" * 201}, "license",
     "license is 201 characters; the limit is 200"),
    ({"name": "x", "description": "d\x00"}, "description",
     "description contains a NUL character"),
    ({"name": "x", "description": "d" * 1_000_000}, "description",
     "description is 1000000 characters; the limit is 10000"),
])
def test_upsert_source_rejects_bad_input(client: TestClient, fields: dict[str, Any],
                                         field: str, message: str) -> None:
    payload = source_payload(client, **fields)
    assert payload["source"] is None
    assert payload["errors"] == [{"message": message, "field": field, "code": "INVALID_INPUT"}]
    assert q(client, SOURCES)["sources"]["totalCount"] == 0


def test_upsert_source_with_unknown_kind_is_a_graphql_error(client: TestClient) -> None:
    body = gql(client, SOURCE, {"input": {"name": "x", "kind": "MAGAZINE"}})
    assert body["data"] is None
    [message] = messages(body)
    assert "MAGAZINE" in message
    assert "SourceKind" in message


def test_sources_connection_pages_by_name(client: TestClient) -> None:
    names = ["Zeta", "Acme CRM", "Meta Ads", "Google Ads", "Eurostat", "Nielsen", "Bing"]
    for name in names:
        upsert_source(client, name)
    seen: list[str] = []
    after = None
    while True:
        conn = q(client, SOURCES, first=3, after=after)["sources"]
        assert conn["totalCount"] == len(names)
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [e["node"]["name"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
        assert after == conn["edges"][-1]["cursor"]
    assert seen == sorted(names)


# --- entities ---------------------------------------------------------------------------------

def test_entity_kinds_cover_the_schema_enum(client: TestClient) -> None:
    enum = q(client, '{ __type(name: "EntityKind") { enumValues { name } } }')["__type"]
    assert {v["name"] for v in enum["enumValues"]} == HUMAN | NON_HUMAN


@pytest.mark.parametrize("kind", sorted(HUMAN | NON_HUMAN))
def test_upsert_entity_of_each_kind_knows_if_it_is_human(client: TestClient, kind: str) -> None:
    payload = entity_payload(client, kind=kind, name=f"The {kind.lower()}",
                             identifiers={"ref": kind})
    assert payload["errors"] == []
    entity = payload["entity"]
    assert entity["kind"] == kind
    assert entity["isHuman"] is (kind in HUMAN)
    assert entity["identifiers"] == {"ref": kind}
    node = q(client, "query($id: ID!) { node(id: $id) { ... on Entity { kind isHuman } } }",
             id=entity["id"])["node"]
    assert node == {"kind": kind, "isHuman": kind in HUMAN}


def test_upsert_entity_is_keyed_by_kind_and_name(client: TestClient) -> None:
    a = upsert_entity(client, "BRAND", "Acme")
    again = entity_payload(client, kind="BRAND", name="Acme", description="Shoes",
                           identifiers={"domain": "acme.example"})["entity"]
    assert again["id"] == a["id"]
    assert (again["description"], again["identifiers"]) == ("Shoes", {"domain": "acme.example"})
    org = upsert_entity(client, "ORGANIZATION", "Acme")
    assert org["id"] != a["id"]
    assert q(client, ENTITIES)["entities"]["totalCount"] == 2


@pytest.mark.parametrize(("fields", "field"), [
    ({"name": ""}, "name"),
    ({"name": "a\x00b"}, "name"),
    ({"name": "n" * 201}, "name"),
    ({"name": "x", "description": "d" * 10_001}, "description"),
    ({"name": "x", "identifiers": ["not", "an", "object"]}, "identifiers"),
    ({"name": "x", "identifiers": {"n": 1}}, "identifiers"),
    ({"name": "x", "identifiers": {"nested": {"a": "b"}}}, "identifiers"),
    ({"name": "x", "identifiers": {f"k{i}": "v" for i in range(51)}}, "identifiers"),
    ({"name": "x", "identifiers": {"k" * 101: "v"}}, "identifiers"),
    ({"name": "x", "identifiers": "a string"}, "identifiers"),
])
def test_upsert_entity_rejects_bad_input(client: TestClient, fields: dict[str, Any],
                                         field: str) -> None:
    payload = entity_payload(client, kind="PERSON", **fields)
    assert payload["entity"] is None
    [error] = payload["errors"]
    assert (error["field"], error["code"]) == (field, "INVALID_INPUT")
    assert q(client, ENTITIES)["entities"]["totalCount"] == 0


@pytest.fixture
def people_and_things(client: TestClient) -> TestClient:
    for kind, name in [("PERSON", "Ada"), ("CUSTOMER", "Shoppers"), ("AUDIENCE", "Lookalikes"),
                       ("BOT", "Crawler"), ("AI_AGENT", "Budget agent"), ("BRAND", "Acme"),
                       ("CHANNEL", "Paid search"), ("CHANNEL", "Paid social")]:
        upsert_entity(client, kind, name)
    return client


@pytest.mark.parametrize(("args", "expected"), [
    ({}, ["Acme", "Ada", "Budget agent", "Crawler", "Lookalikes", "Paid search",
          "Paid social", "Shoppers"]),
    ({"kind": "CHANNEL"}, ["Paid search", "Paid social"]),
    ({"kind": "PERSON"}, ["Ada"]),
    ({"kind": "DEVICE"}, []),
    ({"isHuman": True}, ["Ada", "Lookalikes", "Shoppers"]),
    ({"isHuman": False}, ["Acme", "Budget agent", "Crawler", "Paid search", "Paid social"]),
    ({"kind": "BOT", "isHuman": False}, ["Crawler"]),
    ({"kind": "BOT", "isHuman": True}, []),
])
def test_entities_filter_by_kind_and_humanness(people_and_things: TestClient,
                                               args: dict[str, Any],
                                               expected: list[str]) -> None:
    conn = q(people_and_things, ENTITIES, first=100, **args)["entities"]
    assert [e["node"]["name"] for e in conn["edges"]] == expected
    assert conn["totalCount"] == len(expected)
    for edge in conn["edges"]:
        assert edge["node"]["isHuman"] is (edge["node"]["kind"] in HUMAN)


def test_entities_pages_by_cursor(people_and_things: TestClient) -> None:
    one = q(people_and_things, ENTITIES, isHuman=False, first=2)["entities"]
    two = q(people_and_things, ENTITIES, isHuman=False, first=2,
            after=one["pageInfo"]["endCursor"])["entities"]
    three = q(people_and_things, ENTITIES, isHuman=False, first=2,
              after=two["pageInfo"]["endCursor"])["entities"]
    names = [e["node"]["name"] for page in (one, two, three) for e in page["edges"]]
    assert names == ["Acme", "Budget agent", "Crawler", "Paid search", "Paid social"]
    assert [p["pageInfo"]["hasNextPage"] for p in (one, two, three)] == [True, True, False]
    assert {p["totalCount"] for p in (one, two, three)} == {5}


# --- linkEntity and Dataset.entities ----------------------------------------------------------

def test_link_entity_shows_on_the_dataset_and_in_filters(client: TestClient) -> None:
    register(client, "crm", "customers")
    register(client, "web", "sessions")
    shoppers = upsert_entity(client, "CUSTOMER", "Shoppers")["id"]
    bots = upsert_entity(client, "BOT", "Crawlers")["id"]
    first = link(client, "crm", "customers", shoppers, "subject")
    assert first["errors"] == []
    assert first["dataset"]["entities"] == [
        {"role": "subject", "entity": {"id": shoppers, "kind": "CUSTOMER", "name": "Shoppers"}}]
    relinked = link(client, "crm", "customers", shoppers, "buyers")   # same link: new role
    assert [e["role"] for e in relinked["dataset"]["entities"]] == ["buyers"]
    assert link(client, "web", "sessions", bots, None)["errors"] == []
    assert link(client, "web", "sessions", shoppers, "visitor")["errors"] == []

    sessions = q(client, """{ dataset(namespace: "web", name: "sessions") {
        entities { role entity { name isHuman } } } }""")["dataset"]["entities"]
    assert sessions == [{"role": None, "entity": {"name": "Crawlers", "isHuman": False}},
                        {"role": "visitor", "entity": {"name": "Shoppers", "isHuman": True}}]
    humans = q(client, """{ datasets(filter: {entityKind: CUSTOMER}) {
        edges { node { name } } } }""")["datasets"]["edges"]
    assert sorted(e["node"]["name"] for e in humans) == ["customers", "sessions"]
    bots_only = q(client, """{ datasets(filter: {entityKind: BOT}) {
        edges { node { name } } } }""")["datasets"]["edges"]
    assert [e["node"]["name"] for e in bots_only] == ["sessions"]


def test_link_entity_with_the_wrong_id_type_is_a_user_error(client: TestClient) -> None:
    dataset_id = register(client, "crm", "customers")["id"]
    source_id = upsert_source(client, "Acme CRM")["id"]
    for wrong, type_name in [(dataset_id, "Dataset"), (source_id, "Source")]:
        payload = link(client, "crm", "customers", wrong, "subject")
        assert payload["dataset"] is None
        assert payload["errors"] == [{
            "message": f"id {wrong!r} is a {type_name}, not an Entity",
            "field": "entityId", "code": "INVALID_INPUT"}]


@pytest.mark.parametrize(("entity_id", "field", "code", "message"), [
    ("garbage", "id", "INVALID_INPUT", "id 'garbage' is not a valid Peso id"),
    (to_global_id("Entity", "f" * 32), "entityId", "NOT_FOUND",
     f"entity {'f' * 32!r} does not exist"),
])
def test_link_entity_with_a_bad_or_unknown_id(client: TestClient, entity_id: str, field: str,
                                              code: str, message: str) -> None:
    register(client, "crm", "customers")
    payload = link(client, "crm", "customers", entity_id)
    assert payload["errors"] == [{"message": message, "field": field, "code": code}]
    entities = q(client, '{ dataset(namespace: "crm", name: "customers") { entities { role } } }')
    assert entities["dataset"]["entities"] == []


def test_link_entity_to_a_missing_dataset_or_with_a_bad_role(client: TestClient) -> None:
    entity = upsert_entity(client, "BRAND", "Acme")["id"]
    missing = link(client, "crm", "ghost", entity)
    assert missing["errors"] == [{"message": "dataset crm/ghost does not exist", "field": None,
                                  "code": "NOT_FOUND"}]
    register(client, "crm", "customers")
    for role in ["r" * 101, "bad\x00role"]:
        bad = link(client, "crm", "customers", entity, role)
        assert [(e["field"], e["code"]) for e in bad["errors"]] == [("role", "INVALID_INPUT")]
