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


@pytest.mark.parametrize(("text", "refused"), [
    ("[" * 12 + "]" * 12, False),                       # at the limit
    ("[" * 13 + "]" * 13, True),                        # one past it
    (json.dumps({"q": "[{" * 50}), False),              # brackets inside a string do not nest
    (json.dumps([[1], [2], [3], [4], [5], [6], [7], [8], [9], [10], [11], [12], [13]]), False),
    (json.dumps({"a": [{"b": "{"}]}), False),
])
def test_json_depth_is_judged_as_before(text: str, refused: bool) -> None:
    from server.json_body import BadJson, _text_depth, load

    assert (_text_depth(text) > 12) is refused   # the scan's verdict, which load keeps
    if refused:
        with pytest.raises(BadJson, match="PESO_MAX_JSON_DEPTH"):
            load(text.encode(), max_depth=12)
    else:
        assert load(text.encode(), max_depth=12) == json.loads(text)


def test_the_view_reuses_the_shape_checks_parse_of_the_same_body_only() -> None:
    from server.graphql_http import _PARSED_BODY, PesoGraphQL

    view = PesoGraphQL.__new__(PesoGraphQL)   # decode_json reads no state of the view
    body = b'{"query": "{ a }"}'
    token = _PARSED_BODY.set((body, {"query": "parsed once"}))
    try:
        assert view.decode_json(body) == {"query": "parsed once"}
        assert view.decode_json(bytes(bytearray(body))) == {"query": "{ a }"}   # another body
    finally:
        _PARSED_BODY.reset(token)
    assert view.decode_json(body) == {"query": "{ a }"}
