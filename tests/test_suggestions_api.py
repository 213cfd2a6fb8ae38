"""Enrichment over GraphQL, over HTTP against the real ASGI app on SQLite: a real marketing
file loaded through the loader, `enrichDataset`, `suggestions` (root and on the dataset),
`acceptSuggestion` changing the column's semantic type, `rejectSuggestion` that is not proposed
again, the audit log, and the roles."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import MARKETING, client_as, needs_corpus
from tests.helpers import gql, load, q

RETAIL = MARKETING / "uci_online_retail__OnlineRetail_first999rows.csv"

ENRICH = """mutation($n: String!, $m: String!) { enrichDataset(namespace: $n, name: $m) {
  report { dataset version sampleRows totalRows created skipped superseded seconds
           errors { enricher message } suggestions { id kind target value } }
  errors { message field code } } }"""
LIST = """query($d: DatasetRef, $s: SuggestionStatus, $k: SuggestionKind, $f: Int, $a: String) {
  suggestions(dataset: $d, status: $s, kind: $k, first: $f, after: $a) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id kind status version target value confidence evidence enricher
                          decidedBy note dataset { namespace name } } } } }"""
ACCEPT = """mutation($id: ID!) { acceptSuggestion(id: $id) {
  applied message suggestion { id status decidedBy } errors { message field code } } }"""
REJECT = """mutation($id: ID!, $r: String) { rejectSuggestion(id: $id, reason: $r) {
  applied message suggestion { id status decidedBy note } errors { message field code } } }"""
FIELDS = """query { dataset(namespace: "corpus", name: "retail") {
  latestVersion { fields { name semanticType pii } }
  suggestions(kind: SEMANTIC_TYPE, first: 50) { totalCount edges { node { target } } } } }"""
REF = {"namespace": "corpus", "name": "retail"}


def enrich(client: TestClient) -> dict[str, Any]:
    payload: dict[str, Any] = q(client, ENRICH, n="corpus", m="retail")["enrichDataset"]
    assert payload["errors"] == []
    report: dict[str, Any] = payload["report"]
    assert report["errors"] == []
    return report


def pending(client: TestClient, **variables: Any) -> list[dict[str, Any]]:
    found = q(client, LIST, d=REF, f=100, **variables)["suggestions"]
    assert not found["pageInfo"]["hasNextPage"]
    return [e["node"] for e in found["edges"]]


def semantic_of(client: TestClient, target: str) -> dict[str, Any]:
    found = [s for s in pending(client, k="SEMANTIC_TYPE") if s["target"] == target]
    assert len(found) == 1, found
    return found[0]


def fields(client: TestClient) -> dict[str, tuple[str | None, bool]]:
    version = q(client, FIELDS)["dataset"]["latestVersion"]
    return {f["name"]: (f["semanticType"], f["pii"]) for f in version["fields"]}


@needs_corpus
def test_enrich_accept_and_reject_over_graphql(client: TestClient) -> None:
    load(client, RETAIL, "corpus", "retail")
    report = enrich(client)
    assert report["dataset"] == "corpus/retail"
    assert (report["version"], report["sampleRows"], report["totalRows"]) == (1, 999, 999)
    assert report["created"] == len(report["suggestions"]) > 3
    assert {s["kind"] for s in report["suggestions"]} >= {"SEMANTIC_TYPE", "ENTITY",
                                                          "DESCRIPTION", "TAG"}
    every = pending(client)
    assert len(every) == report["created"]
    assert all(s["status"] == "PENDING" and s["dataset"] == REF for s in every)

    # accept: the column's semantic type and PII flag change
    customer = semantic_of(client, "customer_id")
    assert customer["value"] == {"semantic_type": "customer_id", "pii": True}
    assert customer["evidence"]["sample_rows"] == 999
    assert fields(client)["customer_id"] != ("customer_id", True)
    accepted = q(client, ACCEPT, id=customer["id"])["acceptSuggestion"]
    assert accepted["errors"] == []
    assert accepted["applied"] is True
    assert accepted["suggestion"]["status"] == "ACCEPTED"
    assert fields(client)["customer_id"] == ("customer_id", True)
    # decided once: a second decision is a user error, not a change
    again = q(client, ACCEPT, id=customer["id"])["acceptSuggestion"]
    assert again["suggestion"] is None
    assert [e["code"] for e in again["errors"]] == ["CONFLICT"]

    # reject with a reason: never proposed again for this version
    stock = semantic_of(client, "stock_code")
    rejected = q(client, REJECT, id=stock["id"], r="stock codes are not product ids here")
    rejected = rejected["rejectSuggestion"]
    assert rejected["errors"] == []
    assert rejected["applied"] is False
    assert rejected["suggestion"]["note"] == "stock codes are not product ids here"
    again_report = enrich(client)
    assert again_report["created"] == 0
    # everything is skipped as proposed before, but the accepted type: the column has it now
    assert again_report["skipped"] == report["created"] - 1
    assert "stock_code" not in {s["target"] for s in pending(client, k="SEMANTIC_TYPE")}
    [gone] = pending(client, s="REJECTED")
    assert (gone["id"], gone["target"], gone["note"]) == (
        stock["id"], "stock_code", "stock codes are not product ids here")
    every_status = pending(client, s=None)
    assert len(every_status) == report["created"]
    assert {s["id"]: s["status"] for s in every_status}[customer["id"]] == "ACCEPTED"

    # the audit log names the decider (the admin token of the fixture)
    audit = q(client, """query($t: String) { auditLog(first: 50, target: $t) {
        edges { node { action actor } } } }""", t=stock["id"])["auditLog"]
    assert [e["node"]["action"] for e in audit["edges"]] == ["suggestion.rejected",
                                                            "suggestion.proposed"]
    assert audit["edges"][0]["node"]["actor"] == rejected["suggestion"]["decidedBy"]

    # Dataset.suggestions: the same pending list; node(id:) finds a suggestion
    on_dataset = q(client, FIELDS)["dataset"]["suggestions"]
    assert on_dataset["totalCount"] == len(pending(client, k="SEMANTIC_TYPE"))
    node = q(client, "query($id: ID!) { node(id: $id) { ... on Suggestion { status target } } }",
             id=customer["id"])["node"]
    assert node == {"status": "ACCEPTED", "target": "customer_id"}


@needs_corpus
def test_pages_filters_and_bad_ids(client: TestClient) -> None:
    load(client, RETAIL, "corpus", "retail")
    made = enrich(client)["created"]
    first = q(client, LIST, d=REF, f=2)["suggestions"]
    assert first["totalCount"] == made
    assert first["pageInfo"]["hasNextPage"]
    seen = [e["node"]["id"] for e in first["edges"]]
    cursor = first["pageInfo"]["endCursor"]
    while cursor is not None:
        page = q(client, LIST, d=REF, f=2, a=cursor)["suggestions"]
        seen += [e["node"]["id"] for e in page["edges"]]
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert len(seen) == len(set(seen)) == made
    # every dataset's list, one kind; a dataset that does not exist has none
    tags = q(client, LIST, k="TAG", f=50)["suggestions"]
    assert tags["totalCount"] >= 1
    assert {e["node"]["kind"] for e in tags["edges"]} == {"TAG"}
    absent = q(client, LIST, d={"namespace": "corpus", "name": "nope"})["suggestions"]
    assert (absent["totalCount"], absent["edges"]) == (0, [])
    # a wrong id or a foreign cursor is the caller's mistake, said clearly
    dataset_id = q(client, 'query { dataset(namespace: "corpus", name: "retail") { id } }')
    wrong = q(client, ACCEPT, id=dataset_id["dataset"]["id"])["acceptSuggestion"]
    assert "not a suggestion" in wrong["errors"][0]["message"]
    missing = q(client, REJECT, id="U3VnZ2VzdGlvbjpub3BlOw")["rejectSuggestion"]
    assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"]
    absent_ds = q(client, ENRICH, n="corpus", m="nope")["enrichDataset"]
    assert [e["code"] for e in absent_ds["errors"]] == ["NOT_FOUND"]
    body = gql(client, LIST, {"a": first["pageInfo"]["endCursor"].replace("s", "t", 1)})
    assert body.get("errors")


@needs_corpus
def test_a_reader_lists_but_may_not_decide_or_enrich(client: TestClient) -> None:
    load(client, RETAIL, "corpus", "retail")
    enrich(client)
    reader = client_as(client, "reader")
    [one, *_] = pending(reader)
    for document, variables in ((ACCEPT, {"id": one["id"]}),
                                (REJECT, {"id": one["id"], "r": "no"}),
                                (ENRICH, {"n": "corpus", "m": "retail"})):
        body = gql(reader, document, variables)
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
        assert "writer" in body["errors"][0]["message"]
    assert [s["status"] for s in pending(client) if s["id"] == one["id"]] == ["PENDING"]
    writer = client_as(client, "writer")
    decided = q(writer, ACCEPT, id=one["id"])["acceptSuggestion"]
    assert decided["errors"] == []
    assert decided["suggestion"]["decidedBy"] != "anonymous"
