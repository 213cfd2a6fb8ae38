"""Property-based fuzzing of the whole schema with hypothesis-graphql: random valid queries and
mutations (with NUL bytes, odd numbers, deep selections) against a seeded catalog, sent as an
admin. However odd the document: never a 5xx, never an unmasked or unexpected error, and the
server still answers afterwards. Bounded: 100 examples."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from hypothesis_graphql import strategies as gql_st
from starlette.testclient import TestClient

from server.app import create_app
from tests.conftest import app_client, make_settings
from tests.helpers import load, register, upsert_entity, write_csv

SDL = (Path(__file__).resolve().parent.parent / "schema" / "schema.graphql").read_text(
    encoding="utf-8")
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "BigInt": st.integers(-(2**62), 2**62).map(nodes.Int),
    "JSON": st.one_of(st.text(max_size=20).map(nodes.String),
                      st.integers(-1000, 1000).map(nodes.Int), st.just(nodes.Object([]))),
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())),
    "Upload": st.text(max_size=8).map(nodes.String),
}
DOCUMENTS = st.one_of(gql_st.queries(SDL, custom_scalars=SCALARS),
                      gql_st.mutations(SDL, custom_scalars=SCALARS))


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    base = tmp_path_factory.mktemp("fuzz")
    with app_client(create_app(make_settings(base))) as client:
        register(client, "crm", "contacts", description="seed", tags=["gold"])
        upsert_entity(client, "CUSTOMER", "members")
        csv = write_csv(base / "leads.csv", ["id", "email", "spend"],
                        [[1, "a@example.com", 1.5], [2, "b@example.com", 2.5]])
        load(client, csv, "crm", "leads")
        yield client


@pytest.mark.slow
@hsettings(max_examples=100, deadline=None, database=None,
           suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                  HealthCheck.filter_too_much])
@given(document=DOCUMENTS)
def test_no_document_breaks_the_server(fuzzed: TestClient, document: str) -> None:
    response = fuzzed.post("/graphql", json={"query": document})
    assert response.status_code < 500, (document, response.text[:500])
    assert response.status_code in (200, 400, 413), (document, response.status_code)
    body = response.json()
    for error in body.get("errors") or []:
        assert error["message"] != "Unexpected error.", (document, body)
        assert "Traceback" not in error["message"]
    assert fuzzed.get("/healthz").status_code == 200


def test_the_server_is_alive_after_the_fuzzing(fuzzed: TestClient) -> None:
    assert fuzzed.post("/graphql", json={"query": "{ datasets { totalCount } }"}).json()[
        "data"]["datasets"]["totalCount"] >= 2
    assert fuzzed.get("/readyz").status_code == 200
