"""The admin's audit log over GraphQL: every change with its actor, action, target, time and
request id; filters, cursors; and the command line's runs under their own request id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.cli import main
from server.settings import Settings
from tests.conftest import app_client, client_as
from tests.helpers import q, register, write_csv

LOG = """query($first: Int, $after: String, $actor: String, $action: String, $target: String) {
  auditLog(first: $first, after: $after, actor: $actor, action: $action, target: $target) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id at actor action targetKind targetId target detail requestId } } } }"""


def log(client: TestClient, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = q(client, LOG, **variables)["auditLog"]
    return found


def test_changes_are_logged_with_actor_target_time_and_request_id(client: TestClient) -> None:
    writer = client_as(client, "writer")
    name = q(client, "{ apiTokens { name } }")["apiTokens"][-1]["name"]
    rids = []
    for tag in ("gold", "pii"):
        response = writer.post("/graphql", json={"query": """mutation($t: String!) {
            registerDataset(input: {namespace: "crm", name: "people", tags: [$t]}) {
              dataset { id } } }""", "variables": {"t": tag}})
        rids.append(response.headers["x-request-id"])
    dataset_id = response.json()["data"]["registerDataset"]["dataset"]["id"]
    mine = log(client, actor=name)
    assert mine["totalCount"] == 3          # registered, tag gold, tag pii
    events = [e["node"] for e in mine["edges"]]
    assert [e["action"] for e in events] == ["tag.added", "tag.added", "dataset.registered"]
    assert [e["requestId"] for e in events] == [rids[1], rids[0], rids[0]]
    assert {e["target"] for e in events} == {dataset_id}
    assert events[0]["detail"] == {"tag": "pii"}
    assert events[0]["targetKind"] == "Dataset"
    assert events[0]["at"] > events[2]["at"]
    assert int(events[0]["id"]) > int(events[2]["id"])


def test_filters_and_pages(client: TestClient) -> None:
    for i in range(5):
        register(client, "crm", f"d{i}")
    everything = log(client, first=100)
    registered = log(client, action="dataset.registered", first=2)
    assert registered["totalCount"] == 5
    assert len(registered["edges"]) == 2
    assert registered["pageInfo"]["hasNextPage"]
    seen = [e["node"]["id"] for e in registered["edges"]]
    cursor = registered["pageInfo"]["endCursor"]
    while cursor:
        page = log(client, action="dataset.registered", first=2, after=cursor)
        seen += [e["node"]["id"] for e in page["edges"]]
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert len(seen) == len(set(seen)) == 5
    target = registered["edges"][0]["node"]
    by_global = log(client, target=target["target"])
    by_raw = log(client, target=target["targetId"])
    assert by_global == by_raw
    assert by_global["totalCount"] == 1
    assert log(client, actor="nobody")["totalCount"] == 0
    assert everything["totalCount"] >= 6     # the token's own creation is logged too
    bad = client.post("/graphql", json={"query": LOG, "variables": {"after": "bm9wZQ=="}})
    assert bad.json()["errors"][0]["message"].startswith("cursor")


def test_command_line_changes_carry_the_runs_request_id(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    data = tmp_path / "peso-data"
    monkeypatch.setenv("PESO_DATA_DIR", str(data))
    csv = write_csv(tmp_path / "a.csv", ["id"], [[1], [2]])
    assert main(["load", str(csv), "--dataset", "crm/a"]) == 0
    capsys.readouterr()
    with app_client(create_app(Settings.from_env({"PESO_DATA_DIR": str(data)}))) as c:
        events = [e["node"] for e in log(c, actor="cli", first=50)["edges"]]
    assert {e["action"] for e in events} >= {"version.added", "dataset.registered"}
    [rid] = {e["requestId"] for e in events if not e["action"].startswith("token.")}
    assert rid.startswith("cli-")
