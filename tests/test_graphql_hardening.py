"""GraphQL hardening: every limit triggered with its documented error (cost, run time,
introspection, body and upload size, a huge document), request ids on every response and in
masked errors, GET never mutating, multipart only with the CSRF-safe header."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.storage.graph import GraphStore
from server.storage.local import LocalObjectStore
from server.storage.sqlite.store import SQLiteGraphStore
from tests.conftest import app_client, make_settings
from tests.helpers import GRAPHQL_RESPONSE, register


def post(c: TestClient, query: str, variables: dict[str, Any] | None = None,
         **headers: str) -> Any:
    return c.post("/graphql", json={"query": query, "variables": variables or {}},
                  headers=headers)


def only_error(response: Any) -> dict[str, Any]:
    body = response.json()
    [error] = body["errors"]
    result: dict[str, Any] = error
    return result


# --- query cost ------------------------------------------------------------------------------

NESTED = """query Nested($n: Int) { datasets(first: 100) { edges { node {
  versions(first: $n) { edges { node { version fields { name } } } } } } } }"""


def test_cost_limit_refuses_nested_pages_before_running(client: TestClient) -> None:
    # datasets: 1 + 100 * (edges: 1 + (node: 1 + (versions: 1 + n * (edges: 1 + (node: 1 +
    # (version: 1 + fields: 1 + 1 * (name: 1)))))))
    refused = post(client, NESTED, {"n": 100})
    error = only_error(refused)
    assert error["message"] == (
        "'Nested' costs 50301, more than the limit of 50000 (PESO_MAX_QUERY_COST): ask for "
        "smaller pages (first, limit, maxNodes) or fewer nested lists")
    assert refused.json()["data"] is None
    assert "path" not in error
    spec = post(client, NESTED, {"n": 100}, Accept=GRAPHQL_RESPONSE)
    assert spec.status_code == 400
    assert "data" not in spec.json()
    assert "errors" not in post(client, NESTED, {"n": 10}).json()


@pytest.mark.parametrize(("query", "variables", "refused"), [
    # the variable's default counts when the request gives none
    ("query($n: Int = 100) { datasets(first: 100) { edges { node { versions(first: $n) "
     "{ edges { node { fields { name arrowType pii } } } } } } } }", {}, True),
    ("query($n: Int = 100) { datasets(first: 100) { edges { node { versions(first: $n) "
     "{ edges { node { fields { name arrowType pii } } } } } } } }", {"n": 5}, False),
    # without `first`, a connection counts its default page (20)
    ("{ datasets(first: 100) { edges { node { versions { edges { node { fields { name } } } "
     "} } } } }", {}, False),
    # fragments count where they are spread, each time
    ("query { ...A } fragment A on Query { datasets(first: 100) { edges { node { ...V } } } } "
     "fragment V on Dataset { versions(first: 100) { edges { node { version rowCount "
     "byteSize contentHash } } } }", {}, True),
    # preview rows count like a page
    ("{ datasets(first: 100) { edges { node { latestVersion { preview(limit: 1000) } } } } }",
     {}, True),
    # a value over the page cap counts as the cap (the resolver refuses it anyway)
    ("{ datasets(first: 5000) { totalCount } }", {}, False),
    # aliases multiply
    ("{ " + " ".join(f"a{i}: datasets(first: 100) {{ edges {{ node {{ versions(first: 20) "
                     f"{{ totalCount }} }} }} }}" for i in range(25)) + " }", {}, True),
])
def test_cost_rule_cases(client: TestClient, query: str, variables: dict[str, Any],
                         refused: bool) -> None:
    body = post(client, query, variables).json()
    costly = [e for e in body.get("errors", []) if "PESO_MAX_QUERY_COST" in e["message"]]
    assert bool(costly) == refused, body


def test_cost_limit_follows_the_setting(tmp_path: Path) -> None:
    with app_client(create_app(make_settings(tmp_path, PESO_MAX_QUERY_COST="10"))) as c:
        assert "errors" not in post(c, "{ datasets(first: 2) { totalCount } }").json()
        message = only_error(post(c, "{ datasets(first: 10) { edges { node { name } } } }"))[
            "message"]
        assert message.startswith("the operation costs 31, more than the limit of 10 ")


def test_cost_rule_is_a_plain_graphql_core_validation_rule() -> None:
    from graphql import parse, validate

    from schema.cost import CostModel, cost_rule
    from tests.schema_walk import graphql_schema

    model = CostModel(max_cost=100, caps={"first": 100})
    doc = parse("query Q($n: Int) { datasets(first: $n) { edges { node { name } } } }")
    assert validate(graphql_schema(), doc, [cost_rule(model, {"n": 10})]) == []
    [error] = validate(graphql_schema(), doc, [cost_rule(model, {"n": 50})])
    assert error.message.startswith("'Q' costs 151")


# --- execution timeout -----------------------------------------------------------------------

class SlowGraph:
    """A real SQLite store whose dataset listing and upserts take a while (a slow disk)."""

    def __init__(self, inner: GraphStore, delay: float) -> None:
        self._inner, self.delay = inner, delay

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in ("list_datasets", "upsert_dataset"):
            return attr

        async def slow(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(self.delay)
            return await attr(*args, **kwargs)
        return slow


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, PESO_QUERY_TIMEOUT_SECONDS="0.2")
    graph = SlowGraph(SQLiteGraphStore(str(settings.data_dir / "catalog.db")), delay=1.0)
    app = create_app(settings, graph=graph,  # type: ignore[arg-type]
                     objects=LocalObjectStore(settings.data_dir / "objects"))
    with app_client(app) as c:
        yield c


def test_a_slow_query_is_stopped_with_a_clean_error(slow: TestClient) -> None:
    begun = time.monotonic()
    response = post(slow, "query Slow { datasets { totalCount } }")
    assert time.monotonic() - begun < 0.9
    assert response.status_code == 200
    assert response.json() == {"data": None, "errors": [{
        "message": "the query ran longer than 0.2 seconds and was stopped "
                   "(PESO_QUERY_TIMEOUT_SECONDS): ask for less, e.g. smaller pages",
        "extensions": {"code": "TIMEOUT"}}]}
    assert post(slow, "{ __typename }").json() == {"data": {"__typename": "Query"}}


def test_mutations_are_not_timed_out(slow: TestClient) -> None:
    assert register(slow, "crm", "slowly")["name"] == "slowly"   # 1 s > 0.2 s: finished


# --- introspection ---------------------------------------------------------------------------

def test_introspection_can_be_switched_off(tmp_path: Path, client: TestClient) -> None:
    query = "{ __schema { queryType { name } } }"
    assert post(client, query).json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    with app_client(create_app(make_settings(tmp_path, PESO_INTROSPECTION="false"))) as c:
        assert post(c, query).json()["errors"][0]["message"] == (
            "GraphQL introspection has been disabled, but the requested query contained the "
            "field '__schema'.")
        assert only_error(post(c, '{ __type(name: "Dataset") { name } }'))["message"].endswith(
            "the field '__type'.")
        assert post(c, "{ __typename }").json() == {"data": {"__typename": "Query"}}


# --- request ids and masked errors -----------------------------------------------------------

def test_every_response_has_a_request_id(client: TestClient) -> None:
    ids = {client.get(path).headers["x-request-id"]
           for path in ("/healthz", "/graphql?query={__typename}", "/nowhere", "/metrics")}
    assert len(ids) == 4
    assert all(len(i) == 16 for i in ids)
    assert client.get("/healthz", headers={"X-Request-Id": "lb-1234-abcd"}).headers[
        "x-request-id"] == "lb-1234-abcd"
    for forged in ("short", "x" * 65, "bad id with spaces", "new\\nline-0123"):
        got = client.get("/healthz", headers={"X-Request-Id": forged}).headers["x-request-id"]
        assert got != forged
        assert len(got) == 16


def test_an_escaped_exception_is_a_masked_500_with_the_request_id(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    from starlette.routing import Route

    async def broken(request: Any) -> Any:
        raise RuntimeError("secret internals: /etc/peso/db password=hunter2")
    client.app.router.routes.append(Route("/broken", broken))  # type: ignore[attr-defined]
    response = client.get("/broken")
    assert response.status_code == 500
    rid = response.headers["x-request-id"]
    assert response.json() == {"errors": [{"message": "Unexpected error.", "extensions": {
        "code": "INTERNAL", "requestId": rid}}]}
    assert "hunter2" not in response.text
    assert any(getattr(r, "request_id", None) == rid and r.exc_info for r in caplog.records)


# --- GET, CSRF, sizes ------------------------------------------------------------------------

def test_get_never_runs_a_mutation(client: TestClient) -> None:
    mutation = ('mutation M { registerDataset(input: {namespace: "a", name: "b"}) '
                '{ errors { message } } }')
    both = "query Q { __typename } " + mutation
    for params in ({"query": mutation}, {"query": both, "operationName": "M"}):
        response = client.get("/graphql", params=params)
        assert response.status_code in (400, 405), response.text
        assert "mutations are not allowed when using GET" in response.text
    assert client.get("/graphql", params={"query": both, "operationName": "Q"}).json() == {
        "data": {"__typename": "Query"}}
    assert post(client, "{ datasets { totalCount } }").json()["data"]["datasets"][
        "totalCount"] == 0  # nothing was registered


def _multipart(csrf: dict[str, str]) -> dict[str, Any]:
    query = ('mutation($file: Upload!) { loadFile(input: {namespace: "up", name: "f"}, '
             'file: $file) { created errors { message } } }')
    return {"headers": csrf, "data": {
        "operations": json.dumps({"query": query, "variables": {"file": None}}),
        "map": json.dumps({"0": ["variables.file"]})},
        "files": {"0": ("f.csv", b"id,x\n1,2\n", "text/csv")}}


def test_multipart_needs_the_csrf_safe_header(client: TestClient) -> None:
    refused = client.post("/graphql", **_multipart({}))
    assert refused.status_code == 400
    assert "X-Peso-Upload: 1" in refused.json()["errors"][0]["message"]
    for header in ("X-Peso-Upload", "Apollo-Require-Preflight"):
        ok = client.post("/graphql", **_multipart({header: "1"}))
        assert ok.status_code == 200, ok.text
        assert ok.json()["data"]["loadFile"]["errors"] == [], ok.text


def test_body_and_upload_limits(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PESO_MAX_BODY_BYTES="2048", PESO_MAX_UPLOAD_BYTES="4096")
    with app_client(create_app(settings)) as c:
        big = {"query": "{ __typename }", "variables": {"pad": "x" * 3000}}
        declared = c.post("/graphql", json=big)
        assert declared.status_code == 413
        assert declared.json() == {"errors": [{
            "message": "request body exceeds 2048 bytes (PESO_MAX_BODY_BYTES)"}]}

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            yield json.dumps(big).encode()
        streamed = c.post("/graphql", content=chunks(),
                          headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413
        form = _multipart({"X-Peso-Upload": "1"})
        form["files"] = {"0": ("f.csv", b"id\n" + b"1\n" * 3000, "text/csv")}
        upload = c.post("/graphql", **form)
        assert upload.status_code == 413
        assert "PESO_MAX_UPLOAD_BYTES" in upload.text
        assert c.post("/graphql", json={"query": "{ __typename }"}).status_code == 200


def test_a_huge_alias_document_is_refused_cheaply(client: TestClient) -> None:
    """400,000 aliases took 99 s and 2.1 GB on Strawberry's defaults. Here: a 5 MB body is
    refused unread (413), and a document just under the body limit stops parsing at the
    token limit."""
    huge = "{ " + " ".join(f"a{i}: __typename" for i in range(400_000)) + " }"
    begun = time.monotonic()
    assert post(client, huge).status_code == 413
    under = "{ " + "a:__typename " * 80_000 + "}"           # ~1 MB, 240,000 tokens
    assert len(under) < 1_048_576 - 100
    response = post(client, under)
    assert only_error(response)["message"] == (
        "Syntax Error: Document contains more than 2000 tokens. Parsing aborted.")
    by_get = client.get("/graphql", params={"query": "{" + "a:b " * 1000 + "}"})
    assert "more than 2000 tokens" in by_get.text
    assert time.monotonic() - begun < 5
