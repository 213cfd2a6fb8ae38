"""Bad input over HTTP: every kind gets a precise GraphQL error, with status and body checked,
in both response media types. Unexpected errors are masked."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.ids import encode_cursor, to_global_id
from server.settings import Settings
from tests.conftest import app_client, make_settings
from tests.helpers import GRAPHQL_RESPONSE, register

JSON = "application/json"
UNKNOWN = to_global_id("DatasetVersion", "0" * 32)


def post(client: TestClient, query: str, variables: dict[str, Any] | None = None,
         accept: str = JSON) -> httpx2.Response:
    return client.post("/graphql", json={"query": query, "variables": variables or {}},
                       headers={"Accept": accept})


def request_error(response: httpx2.Response, message: str) -> dict[str, Any]:
    """A request error in plain JSON: 200, ``data: null``, one error, no path."""
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(JSON)
    body: dict[str, Any] = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == message
    assert "path" not in error
    return body


def spec_request_error(response: httpx2.Response, message: str) -> None:
    """The same request error as graphql-response+json: 400 and no ``data`` entry at all."""
    assert response.status_code == 400
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    body = response.json()
    assert "data" not in body
    assert [e["message"] for e in body["errors"]] == [message]


def field_error(response: httpx2.Response, message: str, path: list[str]) -> None:
    """A field (execution) error: 200 in both media types, ``data`` present, a path."""
    assert response.status_code == 200
    body = response.json()
    assert "data" in body
    [error] = body["errors"]
    assert (error["message"], error["path"]) == (message, path)


# --- documents that do not parse or validate --------------------------------------------------

@pytest.mark.parametrize(("query", "message"), [
    ("{ datasets(first: 1 { totalCount } }", "Syntax Error: Expected Name, found '{'."),
    ("{ datasets { totalCount }", "Syntax Error: Expected Name, found <EOF>."),
    ("query {", "Syntax Error: Expected Name, found <EOF>."),
    ("{ nope }", "Cannot query field 'nope' on type 'Query'. Did you mean 'node'?"),
    ("{ datasets { nope } }", "Cannot query field 'nope' on type 'DatasetConnection'."),
    ("{ datasets }", "Field 'datasets' of type 'DatasetConnection!' must have a selection of "
                     "subfields. Did you mean 'datasets { ... }'?"),
    ('{ datasets(first: "ten") { totalCount } }', 'Int cannot represent non-integer value: '
                                                  '"ten"'),
    ("{ datasets(orderBy: {field: SIZE}) { totalCount } }",
     "Value 'SIZE' does not exist in 'DatasetOrderField' enum."),
    ("mutation { registerDataset(input: {namespace: \"a\"}) { errors { message } } }",
     "Expected value of type 'RegisterDatasetInput' to include required field 'name', "
     'found: { namespace: "a" }.'),
])
def test_documents_that_do_not_parse_or_validate(client: TestClient, query: str,
                                                 message: str) -> None:
    body = request_error(post(client, query), message)
    assert body["errors"][0]["locations"]
    spec_request_error(post(client, query, accept=GRAPHQL_RESPONSE), message)


def test_syntax_error_status_follows_the_accept_header(client: TestClient) -> None:
    query = "{ datasets(first: 1 { totalCount } }"
    assert post(client, query, accept=JSON).status_code == 200
    assert post(client, query, accept=GRAPHQL_RESPONSE).status_code == 400
    prefers_json = f"{GRAPHQL_RESPONSE};q=0.5, {JSON}"
    response = post(client, query, accept=prefers_json)
    assert (response.status_code, response.headers["content-type"]) == (200, JSON)
    response = post(client, query, accept=f"{GRAPHQL_RESPONSE}, {JSON};q=0.9")
    assert response.status_code == 400


def test_a_variable_of_the_wrong_type(client: TestClient) -> None:
    query = "query($f: Int) { datasets(first: $f) { totalCount } }"
    message = "Variable '$f' has invalid value: Int cannot represent non-integer value: 'x'"
    request_error(post(client, query, {"f": "x"}), message)
    spec_request_error(post(client, query, {"f": "x"}, accept=GRAPHQL_RESPONSE), message)


@pytest.mark.parametrize(("kwargs", "status", "text"), [
    ({"content": b"{not json", "headers": {"content-type": JSON}}, 400,
     "the request body is not JSON"),
    ({"json": {"variables": {}}}, 400, "No GraphQL query found in the request"),
])
def test_requests_that_are_not_graphql(client: TestClient, kwargs: dict[str, Any],
                                       status: int, text: str) -> None:
    response = client.post("/graphql", **kwargs)
    assert response.status_code == status
    assert text in response.text


def test_get_runs_queries_but_not_mutations(client: TestClient) -> None:
    ok = client.get("/graphql", params={"query": "{ datasets { totalCount } }"})
    assert ok.json() == {"data": {"datasets": {"totalCount": 0}}}
    refused = client.get("/graphql", params={
        "query": 'mutation { upsertSource(input: {name: "x"}) { errors { message } } }'})
    assert (refused.status_code, refused.text) == (400, "mutations are not allowed when using GET")


# --- page sizes and cursors -------------------------------------------------------------------

CONNECTIONS = {
    "datasets": "{ datasets(first: %s) { totalCount } }",
    "sources": "{ sources(first: %s) { totalCount } }",
    "entities": "{ entities(first: %s) { totalCount } }",
    "search": '{ search(query: "x", first: %s) { totalCount } }',
}


@pytest.mark.parametrize("first", [0, -1, 101, 2**31 - 1])
@pytest.mark.parametrize("connection", sorted(CONNECTIONS))
def test_first_out_of_range(client: TestClient, connection: str, first: int) -> None:
    query = CONNECTIONS[connection] % first
    message = f"first must be between 1 and 100, got {first}"
    field_error(post(client, query), message, [connection])
    response = post(client, query, accept=GRAPHQL_RESPONSE)
    field_error(response, message, [connection])      # an execution error: still 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)


def test_first_out_of_range_on_versions(client: TestClient) -> None:
    register(client, "crm", "customers")
    response = post(client, '{ dataset(namespace: "crm", name: "customers") '
                            '{ versions(first: 101) { totalCount } } }')
    field_error(response, "first must be between 1 and 100, got 101", ["dataset", "versions"])


def test_first_over_the_int_range_is_a_validation_error(client: TestClient) -> None:
    request_error(post(client, "{ datasets(first: 2147483648) { totalCount } }"),
                  "Int cannot represent non 32-bit signed integer value: 2147483648")


def test_page_size_cap_follows_the_setting(tmp_path: Path) -> None:
    with app_client(create_app(make_settings(tmp_path, PESO_MAX_PAGE_SIZE="5"))) as c:
        assert post(c, "{ datasets(first: 5) { totalCount } }").json() == {
            "data": {"datasets": {"totalCount": 0}}}
        field_error(post(c, "{ datasets(first: 6) { totalCount } }"),
                    "first must be between 1 and 5, got 6", ["datasets"])


@pytest.mark.parametrize(("cursor", "message"), [
    ("not a cursor!", "cursor 'not a cursor!' is not valid"),
    ("e30=", "cursor 'e30=' does not belong to this list or sort order"),          # {}
    (encode_cursor(["only-one"]), None),
    (encode_cursor(["a", "b", "c"]), None),
    (encode_cursor([{"a": 1}, []]), None),          # forged: values that are not keys
    (encode_cursor([None, None]), None),
    (encode_cursor([1.5, True]), None),
    (encode_cursor([10**30, "x"]), None),
    ("x" * 5000, None),
])
@pytest.mark.parametrize("connection", ["datasets", "sources", "entities"])
def test_bad_cursors(client: TestClient, connection: str, cursor: str,
                     message: str | None) -> None:
    response = post(client, f"query($a: String) {{ {connection}(after: $a) {{ totalCount }} }}",
                    {"a": cursor})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["path"] == [connection]
    assert error["message"] != "Unexpected error."
    assert error["message"].startswith("cursor ")
    assert len(error["message"]) < 200
    if message is not None:
        assert error["message"] == message


@pytest.mark.parametrize("cursor", [encode_cursor(["o", -1]), encode_cursor(["x", 1]),
                                    encode_cursor(["o", 10**30]), encode_cursor(["o", "1"])])
def test_bad_search_cursors(client: TestClient, cursor: str) -> None:
    response = post(client, 'query($a: String) { search(query: "x", after: $a) { totalCount } }',
                    {"a": cursor})
    [error] = response.json()["errors"]
    assert error["message"].startswith("cursor ")
    assert error["path"] == ["search"]


# --- depth, token and alias limits ------------------------------------------------------------

@pytest.fixture
def tight(tmp_path: Path) -> Iterator[TestClient]:
    settings: Settings = make_settings(tmp_path, PESO_MAX_QUERY_DEPTH="4",
                                       PESO_MAX_QUERY_TOKENS="60", PESO_MAX_ALIASES="3")
    with app_client(create_app(settings)) as c:
        yield c


def chain(levels: int) -> str:
    """A query whose deepest field sits ``levels`` below the root field (the limiter's depth:
    the root field is depth 0)."""
    inner, hops = "id", ["dataset", "latestVersion"]
    for i in reversed(range(levels - 1)):     # outermost hop: DatasetVersion.dataset
        inner = f"{hops[i % 2]} {{ {inner} }}"
    return f'{{ node(id: "{UNKNOWN}") {{ ... on DatasetVersion {{ {inner} }} }} }}'


def test_depth_limit(tight: TestClient) -> None:
    ok = "{ datasets { edges { node { latestVersion { version } } } } }"           # depth 4
    assert post(tight, ok).json() == {"data": {"datasets": {"edges": []}}}
    deep = "{ datasets { edges { node { latestVersion { fields { name } } } } } }"  # depth 5
    message = "'anonymous' exceeds maximum operation depth of 4"
    request_error(post(tight, deep), message)
    spec_request_error(post(tight, deep, accept=GRAPHQL_RESPONSE), message)
    named = "query Deep { datasets { edges { node { source { license } } } } }"
    assert post(tight, named).json()["data"] == {"datasets": {"edges": []}}
    named = "query Deep { datasets { edges { node { owners { email } } } } }"
    assert "errors" not in post(tight, named).json()
    named = "query Deep { datasets { edges { node { entities { entity { name } } } } } }"
    request_error(post(tight, named), "'Deep' exceeds maximum operation depth of 4")


def test_depth_limit_sees_through_fragments(tight: TestClient) -> None:
    query = ("query F { datasets { ...E } } fragment E on DatasetConnection "
             "{ edges { node { latestVersion { fields { name } } } } }")
    request_error(post(tight, query), "'F' exceeds maximum operation depth of 4")


def test_default_depth_limit_is_12(client: TestClient) -> None:
    assert post(client, chain(12)).json() == {"data": {"node": None}}
    request_error(post(client, chain(13)), "'anonymous' exceeds maximum operation depth of 12")


def test_token_limit(tight: TestClient) -> None:
    query = "{ " + " ".join(["__typename"] * 70) + " }"
    message = "Syntax Error: Document contains more than 60 tokens. Parsing aborted."
    request_error(post(tight, query), message)
    spec_request_error(post(tight, query, accept=GRAPHQL_RESPONSE), message)
    assert post(tight, "{ " + " ".join(["__typename"] * 50) + " }").status_code == 200


def test_alias_limit(tight: TestClient) -> None:
    three = "{ a: __typename b: __typename c: __typename }"
    assert post(tight, three).json() == {"data": {"a": "Query", "b": "Query", "c": "Query"}}
    four = "{ a: __typename b: __typename c: __typename d: __typename }"
    request_error(post(tight, four), "4 aliases found. Allowed: 3")
    spec_request_error(post(tight, four, accept=GRAPHQL_RESPONSE), "4 aliases found. Allowed: 3")


def test_default_alias_limit_is_30(client: TestClient) -> None:
    query = "{ " + " ".join(f"a{i}: datasets {{ totalCount }}" for i in range(31)) + " }"
    request_error(post(client, query), "31 aliases found. Allowed: 30")


# --- unexpected errors are masked -------------------------------------------------------------

def test_unexpected_errors_are_masked_and_logged(client: TestClient, settings: Settings,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    register(client, "crm", "customers")
    # a real fault, not a mock: the catalog database loses a table behind the server's back
    with sqlite3.connect(settings.data_dir / "catalog.db") as db:
        db.execute("DROP TABLE owners")
    query = '{ dataset(namespace: "crm", name: "customers") { name owners { name } } }'
    with caplog.at_level(logging.ERROR, logger="peso.graphql"):
        response = post(client, query)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"dataset": None}
    assert body["errors"] == [{"message": "Unexpected error.",
                               "locations": [{"line": 1, "column": 55}],
                               "path": ["dataset", "owners"],
                               # the id the server log has the traceback under
                               "extensions": {"code": "INTERNAL",
                                              "requestId": response.headers["x-request-id"]}}]
    assert "owners" not in response.text.replace('"owners"]', "")   # no SQL detail leaks
    assert "sqlite" not in response.text.lower()
    assert any(getattr(r, "request_id", None) == response.headers["x-request-id"]
               for r in caplog.records)
    assert any("no such table: owners" in (r.exc_text or "") or
               "no such table: owners" in str(r.exc_info[1] if r.exc_info else "")
               for r in caplog.records)
    # the rest of the API still answers
    assert post(client, '{ datasets { totalCount } }').json() == {
        "data": {"datasets": {"totalCount": 1}}}


def test_the_validation_cache_answers_as_validation_does(client: TestClient) -> None:
    from graphql import parse
    from strawberry.schema.schema import validate_document

    from schema import guards
    from tests.schema_walk import graphql_schema

    schema = graphql_schema()
    bad = "{ datasets { nope } }"
    for text in (bad, "{ datasets { totalCount } }"):
        doc = parse(text)
        fresh = [e.formatted for e in validate_document(schema, doc, ())]
        assert [e.formatted for e in guards.validate_cached(schema, doc, ())] == fresh
        assert [e.formatted for e in guards.validate_cached(schema, doc, ())] == fresh
        again = parse(text)   # another object for the same text: validated on its own
        assert [e.formatted for e in guards.validate_cached(schema, again, ())] == fresh
    for _ in range(guards.VALIDATED_DOCUMENTS + 10):
        guards.validate_cached(schema, parse("{ health { status } }"), ())
    assert len(guards._validated) == guards.VALIDATED_DOCUMENTS
    for _ in range(2):   # through the server: a cached verdict refuses the same way
        request_error(post(client, bad), "Cannot query field 'nope' on type "
                                         "'DatasetConnection'.")
