"""Malformed requests get a 400 with a clear message, never a 500 (issue 10, item 6): on
/graphql and on the OpenLineage endpoint, through the real app over HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

OL = "/api/v1/lineage"


def _event(**over: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z",
        "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "ns", "name": "job"},
        "inputs": [], "outputs": [],
        "producer": "urn:test", "schemaURL":
            "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}
    event.update(over)
    return event


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _deep_facet_event(depth: int) -> str:
    """An event whose one run facet nests ``depth`` objects (built as text: json.dumps
    itself recurses)."""
    text = json.dumps(_event(run={"runId": str(uuid.uuid4()), "facets": {"deep": "@"}}))
    return text.replace('"@"', '{"x":' * depth + "{}" + "}" * depth)


GRAPHQL_BODIES = {
    "null": "null",
    "bare string": json.dumps("{ __typename }"),
    "number": "42",
    "deep nesting": _nested(100_000),
    "deep variables": json.dumps({"query": "{ __typename }"})[:-1] + ', "variables": '
                      + '{"a":' * 5000 + "1" + "}" * 5000 + "}",
}


@pytest.mark.parametrize("body", list(GRAPHQL_BODIES.values()), ids=list(GRAPHQL_BODIES))
def test_graphql_malformed_body_is_400(client: TestClient, body: str) -> None:
    r = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.json()["errors"][0]["message"]
    # the server is still up
    ok = client.post("/graphql", json={"query": "{ __typename }"})
    assert ok.status_code == 200


OL_BODIES = {
    "null": "null",
    "bare string": json.dumps("hello"),
    "deep nesting": _nested(100_000),
    "eventTime max": json.dumps(_event(eventTime="9999-12-31T23:59:59-23:59")),
    "eventTime min": json.dumps(_event(eventTime="0001-01-01T00:00:00+23:59")),
    "deep facet": _deep_facet_event(950),
}


@pytest.mark.parametrize("body", list(OL_BODIES.values()), ids=list(OL_BODIES))
def test_openlineage_malformed_body_is_400(client: TestClient, body: str) -> None:
    r = client.post(OL, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, (r.status_code, r.text[:300])
    errors = r.json()["errors"]
    assert errors
    assert errors[0]["message"]
