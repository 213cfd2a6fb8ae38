"""Dataset mutations over GraphQL: register, delete (soft), tag, untag, describe, addOwner.

Bad input comes back as typed user errors in the payload (HTTP 200, no GraphQL ``errors``),
never as a 500 — including path tricks, NUL bytes and megabyte strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.ids import from_global_id
from tests.conftest import gql
from tests.helpers import (
    REGISTER,
    call,
    data,
    load,
    q,
    register,
    stores,
    upsert_source,
    write_csv,
)

ONE_MB = 1_000_000          # a "1 MB" string: fits the default 1 MiB body limit

PAYLOAD = "dataset { id namespace name description deletedAt tags { name } " \
          "owners { name kind email } } errors { message field code }"


def mutate(client: TestClient, mutation: str, input_type: str,
           **fields: Any) -> dict[str, Any]:
    """Run ``mutation(input: {...})`` and return its payload; no GraphQL errors allowed."""
    doc = (f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {PAYLOAD} }} }}")
    payload: dict[str, Any] = data(gql(client, doc, {"input": fields}))[mutation]
    return payload


def one_error(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["dataset"] is None
    assert len(payload["errors"]) == 1, payload["errors"]
    error: dict[str, Any] = payload["errors"][0]
    return error


def count(client: TestClient) -> int:
    total: int = q(client, "{ datasets { totalCount } }")["datasets"]["totalCount"]
    return total


# --- registerDataset --------------------------------------------------------------------------

def test_register_creates_then_updates_the_same_dataset(client: TestClient) -> None:
    upsert_source(client, "Acme CRM")
    made = register(client, "crm", "customers", description="first", tags=["Gold", "pii"])
    assert made["layer"] == "CURATED"
    assert made["description"] == "first"
    assert [t["name"] for t in made["tags"]] == ["gold", "pii"]   # normalized, sorted
    again = register(client, "crm", "customers", description="second", source="Acme CRM",
                     tags=["kpi"])
    assert again["id"] == made["id"]
    assert again["description"] == "second"
    assert [t["name"] for t in again["tags"]] == ["gold", "kpi", "pii"]
    ds = q(client, '{ dataset(namespace: "crm", name: "customers") { source { name } } }')
    assert ds["dataset"]["source"] == {"name": "Acme CRM"}
    assert count(client) == 1


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"namespace": "../etc", "name": "x"}, "namespace",
     "namespace '../etc' is not valid: use letters, digits, '.', '_' or '-', starting with a "
     "letter or digit"),
    ({"namespace": "crm", "name": "a/../b"}, "name",
     "name 'a/../b' has an empty, '.' or '..' path segment"),
    ({"namespace": "crm", "name": "../../etc/passwd"}, "name", None),
    ({"namespace": "crm", "name": "/abs"}, "name", None),
    ({"namespace": "crm", "name": "a//b"}, "name", None),
    ({"namespace": "crm", "name": "a\x00b"}, "name", None),
    ({"namespace": "crm\x00", "name": "a"}, "namespace", None),
    ({"namespace": "", "name": "a"}, "namespace", "namespace must be a non-empty string"),
    ({"namespace": "crm", "name": ""}, "name", "name must be a non-empty string"),
    ({"namespace": "crm", "name": "n" * 201}, "name",
     "name is 201 characters long; the limit is 200"),
    ({"namespace": "crm", "name": "n" * ONE_MB}, "name",
     f"name is {ONE_MB} characters long; the limit is 200"),
    ({"namespace": "crm", "name": "a", "description": "d" * ONE_MB}, "description",
     f"description is {ONE_MB} characters; the limit is 10000"),
    ({"namespace": "crm", "name": "a", "description": "bad\x00byte"}, "description",
     "description contains a NUL character"),
    ({"namespace": "crm", "name": "a", "tags": ["Not a tag!"]}, "tag", None),
    ({"namespace": "crm", "name": "a", "tags": ["t" * ONE_MB]}, "tag", None),
    ({"namespace": "crm", "name": "a", "source": "No Such Source"}, "source",
     "source 'No Such Source' does not exist; create it first with upsertSource"),
    ({"namespace": "crm", "name": "a", "source": "bad\x00source"}, "source",
     "source contains control characters"),
])
def test_register_rejects_bad_input_as_user_errors(client: TestClient, fields: dict[str, Any],
                                                   field: str, message: str | None) -> None:
    response = client.post("/graphql", json={"query": REGISTER, "variables": {"input": fields}})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    error = one_error(body["data"]["registerDataset"])
    assert error["field"] == field
    assert error["code"] == ("NOT_FOUND" if field == "source" and "exist" in error["message"]
                             else "INVALID_INPUT")
    if message is not None:
        assert error["message"] == message
    assert len(error["message"]) < 300   # a megabyte of input is not echoed back
    assert count(client) == 0            # nothing half-registered


def test_request_over_the_body_limit_is_413_not_500(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": REGISTER, "variables": {"input": {
        "namespace": "crm", "name": "a", "description": "d" * (1 << 20)}}})
    assert response.status_code == 413
    assert response.json() == {"errors": [{"message": "request body exceeds 1048576 bytes "
                                                      "(PESO_MAX_BODY_BYTES)"}]}
    assert count(client) == 0


# --- deleteDataset ----------------------------------------------------------------------------

def test_delete_hides_the_dataset_but_keeps_its_history(client: TestClient,
                                                        tmp_path: Path) -> None:
    load(client, write_csv(tmp_path / "c.csv", ["customer_id", "ltv"], [[1, 2.5]]),
         "crm", "customers")
    register(client, "crm", "customers", tags=["gold"])
    register(client, "crm", "leads", tags=["gold"])
    before = q(client, """{ dataset(namespace: "crm", name: "customers") {
        id latestVersion { id } } }""")["dataset"]
    assert [e["node"]["name"] for e in q(client, '{ search(query: "customers") '
                                                 '{ edges { node { name } } } }')
            ["search"]["edges"]] == ["customers", "customers.raw"]

    payload = mutate(client, "deleteDataset", "DatasetRef", namespace="crm", name="customers")
    assert payload["errors"] == []
    assert payload["dataset"]["id"] == before["id"]
    assert payload["dataset"]["deletedAt"] is not None

    assert q(client, '{ dataset(namespace: "crm", name: "customers") { id } }') == {
        "dataset": None}
    names = q(client, '{ datasets { edges { node { name } } } }')["datasets"]["edges"]
    assert sorted(e["node"]["name"] for e in names) == ["customers.raw", "leads"]
    tagged = q(client, '{ datasets(filter: {tag: "gold"}) { totalCount } }')
    assert tagged["datasets"]["totalCount"] == 1
    found = q(client, '{ search(query: "customers") { totalCount edges { node { name } } } }')
    assert found["search"]["totalCount"] == 1
    assert found["search"]["edges"][0]["node"]["name"] == "customers.raw"
    assert q(client, "query($id: ID!) { node(id: $id) { id } }", id=before["id"]) == {
        "node": None}

    # history: the version is still there and still knows its (deleted) dataset
    version = q(client, """query($id: ID!) { node(id: $id) { ... on DatasetVersion {
        version rowCount dataset { name deletedAt } } } }""", id=before["latestVersion"]["id"])
    assert version["node"]["version"] == 1
    assert version["node"]["rowCount"] == 1
    assert version["node"]["dataset"]["name"] == "customers"
    assert version["node"]["dataset"]["deletedAt"] is not None
    graph, _ = stores(client)
    raw_id = from_global_id(before["id"])[1]
    actions = [e.action for e in call(client, graph.list_audit, limit=100, target_id=raw_id)]
    assert actions[0] == "dataset.deleted"   # newest first, in the audit log

    # deleting again, or changing a deleted dataset, is NOT_FOUND
    again = one_error(mutate(client, "deleteDataset", "DatasetRef",
                             namespace="crm", name="customers"))
    assert (again["code"], again["message"]) == ("NOT_FOUND",
                                                 "dataset crm/customers does not exist")
    tag = one_error(mutate(client, "tagDataset", "TagInput", namespace="crm",
                           name="customers", tag="x"))
    assert tag["code"] == "NOT_FOUND"

    # registering it again restores it, versions intact
    restored = register(client, "crm", "customers")
    assert restored["id"] == before["id"]
    again_ds = q(client, """{ dataset(namespace: "crm", name: "customers") {
        deletedAt versions { totalCount } } }""")["dataset"]
    assert again_ds == {"deletedAt": None, "versions": {"totalCount": 1}}


# --- tag / untag / describe / addOwner --------------------------------------------------------

def test_tag_and_untag(client: TestClient) -> None:
    register(client, "crm", "customers")
    one = mutate(client, "tagDataset", "TagInput", namespace="crm", name="customers",
                 tag=" PII ")
    assert one["errors"] == []
    mutate(client, "tagDataset", "TagInput", namespace="crm", name="customers", tag="gold")
    twice = mutate(client, "tagDataset", "TagInput", namespace="crm", name="customers",
                   tag="gold")   # idempotent
    assert [t["name"] for t in twice["dataset"]["tags"]] == ["gold", "pii"]
    assert q(client, '{ datasets(filter: {tag: "pii"}) { totalCount } }')[
        "datasets"]["totalCount"] == 1

    untag = mutate(client, "untagDataset", "TagInput", namespace="crm", name="customers",
                   tag="PII")
    assert [t["name"] for t in untag["dataset"]["tags"]] == ["gold"]
    absent = mutate(client, "untagDataset", "TagInput", namespace="crm", name="customers",
                    tag="never-there")
    assert absent["errors"] == []
    assert [t["name"] for t in absent["dataset"]["tags"]] == ["gold"]
    assert q(client, '{ datasets(filter: {tag: "pii"}) { totalCount } }')[
        "datasets"]["totalCount"] == 0


@pytest.mark.parametrize("mutation", ["tagDataset", "untagDataset"])
@pytest.mark.parametrize("tag", ["", "   ", "has space", "UPPER!", "t" * 101, "a\x00b", "é"])
def test_tag_rejects_invalid_tags(client: TestClient, mutation: str, tag: str) -> None:
    register(client, "crm", "customers")
    error = one_error(mutate(client, mutation, "TagInput", namespace="crm", name="customers",
                             tag=tag))
    assert (error["field"], error["code"]) == ("tag", "INVALID_INPUT")
    assert error["message"].startswith("tag ")


def test_describe_sets_clears_and_reindexes(client: TestClient) -> None:
    register(client, "crm", "customers")
    set_ = mutate(client, "describeDataset", "DescribeDatasetInput", namespace="crm",
                  name="customers", description="Lifetime value per shopper")
    assert set_["dataset"]["description"] == "Lifetime value per shopper"
    assert q(client, '{ search(query: "shopper") { totalCount } }')["search"]["totalCount"] == 1
    cleared = mutate(client, "describeDataset", "DescribeDatasetInput", namespace="crm",
                     name="customers", description=None)
    assert cleared["dataset"]["description"] is None
    assert q(client, '{ search(query: "shopper") { totalCount } }')["search"]["totalCount"] == 0

    for bad, message in [("x" * 10_001, "description is 10001 characters; the limit is 10000"),
                         ("nul\x00", "description contains a NUL character")]:
        error = one_error(mutate(client, "describeDataset", "DescribeDatasetInput",
                                 namespace="crm", name="customers", description=bad))
        assert (error["field"], error["message"]) == ("description", message)


def test_add_owner(client: TestClient) -> None:
    register(client, "crm", "customers")
    team = mutate(client, "addOwner", "AddOwnerInput", namespace="crm", name="customers",
                  owner="crm-team")
    assert team["dataset"]["owners"] == [{"name": "crm-team", "kind": "TEAM", "email": None}]
    mutate(client, "addOwner", "AddOwnerInput", namespace="crm", name="customers",
           owner="ada", kind="USER", email="ada@acme.example")
    updated = mutate(client, "addOwner", "AddOwnerInput", namespace="crm", name="customers",
                     owner="crm-team", kind="TEAM", email="crm@acme.example")   # upsert
    assert updated["dataset"]["owners"] == [
        {"name": "ada", "kind": "USER", "email": "ada@acme.example"},
        {"name": "crm-team", "kind": "TEAM", "email": "crm@acme.example"}]

    for fields, field in [({"owner": "   "}, "owner"), ({"owner": "a\x01b"}, "owner"),
                          ({"owner": "o" * 201}, "owner"),
                          ({"owner": "x", "email": "e" * 321}, "email")]:
        error = one_error(mutate(client, "addOwner", "AddOwnerInput", namespace="crm",
                                 name="customers", **fields))
        assert (error["field"], error["code"]) == (field, "INVALID_INPUT")


@pytest.mark.parametrize(("mutation", "input_type", "extra"), [
    ("deleteDataset", "DatasetRef", {}),
    ("tagDataset", "TagInput", {"tag": "gold"}),
    ("untagDataset", "TagInput", {"tag": "gold"}),
    ("describeDataset", "DescribeDatasetInput", {"description": "x"}),
    ("addOwner", "AddOwnerInput", {"owner": "crm-team"}),
])
def test_mutations_on_a_missing_dataset_are_not_found(client: TestClient, mutation: str,
                                                      input_type: str,
                                                      extra: dict[str, Any]) -> None:
    error = one_error(mutate(client, mutation, input_type, namespace="crm", name="ghost",
                             **extra))
    assert error == {"message": "dataset crm/ghost does not exist", "field": None,
                     "code": "NOT_FOUND"}
    bad = one_error(mutate(client, mutation, input_type, namespace="crm", name="../ghost",
                           **extra))
    assert (bad["field"], bad["code"]) == ("name", "INVALID_INPUT")
    assert count(client) == 0
