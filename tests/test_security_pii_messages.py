"""Issue 10 item 1: a failed load's message, readable by any reader, quotes no cell value and
names no server path. ``Run.errorMessage`` and the ``errorMessage`` run facet go through
``server.public_text``: paths stripped when stored, samples masked for callers without the
pii permission."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

from server.models import Role
from server.public_text import mask_samples, public_message, strip_paths
from tests.conftest import client_as

LOAD = """mutation($input: LoadFileInput!, $file: Upload!) {
  loadFile(input: $input, file: $file) { created errors { message } } }"""
RUNS = """{ job(namespace: "peso", name: "peso.load") { runs(first: 5) { edges { node {
  state errorMessage facets } } } } }"""
CSV = (b"id,email,age\n1,ok@example.com,40\n2,jane@example.com,abc\n"
       b"3,bob.smith@example.org,51\n")


def _upload(c: TestClient, contract: dict[str, Any]) -> dict[str, Any]:
    response = c.post("/graphql", headers={"X-Peso-Upload": "1"}, data={
        "operations": json.dumps({"query": LOAD, "variables": {
            "input": {"namespace": "crm", "name": "people", "contract": contract},
            "file": None}}),
        "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("people.csv", CSV, "text/csv")})
    body: dict[str, Any] = response.json()
    return body


def _failed_run(c: TestClient) -> dict[str, Any]:
    body = c.post("/graphql", json={"query": RUNS}).json()
    assert "errors" not in body, body
    [run] = [e["node"] for e in body["data"]["job"]["runs"]["edges"]]
    assert run["state"] == "FAIL"
    result: dict[str, Any] = run
    return result


def test_a_failed_load_shows_readers_no_values_and_no_paths(client: TestClient) -> None:
    contract = {"on_violation": "fail", "columns": {
        "email": {"regex": r"ok@example\.com"}}}
    writer = client_as(client, Role.WRITER)
    payload = _upload(writer, contract)
    assert payload["data"]["loadFile"]["errors"], payload
    data_dir = str(client.app.state.settings.data_dir)  # type: ignore[attr-defined]
    secrets = ("jane@example.com", "bob.smith@example.org", data_dir, "/tmp")
    for who in (None, Role.READER, Role.WRITER):
        seen = _failed_run(client_as(client, who))
        text = seen["errorMessage"] + json.dumps(seen["facets"])
        assert seen["errorMessage"], seen
        assert "email.regex" in seen["errorMessage"]   # still says what failed, and where
        assert "***" in seen["errorMessage"]
        for secret in secrets:
            assert secret not in text, (who, secret, text)
    full = _failed_run(client)  # the admin fixture holds the pii permission
    assert "jane@example.com" in full["errorMessage"]
    assert data_dir not in full["errorMessage"] + json.dumps(full["facets"])


def test_public_message_rules() -> None:
    assert strip_paths("/srv/peso/tmp/peso-upload-1x2: bad") == "peso-upload-1x2: bad"
    assert strip_paths('File "/usr/lib/python3/x.py", line 3') == 'File "x.py", line 3'
    assert strip_paths("regex /a+/ and http://host:5000/api/v1") == (
        "regex /a+/ and http://host:5000/api/v1")
    assert mask_samples("e.g. row 12: jane@x.org, row 13: 'bob'; 2 more") == (
        "e.g. row 12: ***, row 13: ***; 2 more")
    assert mask_samples("invalid value 'jane@x.org' in column \"age\"") == (
        "invalid value *** in column ***")
    assert mask_samples("line 4: jane,doe,555-0100") == "line 4: ***"
    assert public_message(None, pii=False) is None
    assert public_message("/a/b/c.csv: row 1: x", pii=True) == "c.csv: row 1: x"
