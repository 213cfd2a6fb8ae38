"""Authentication and authorization: API tokens over HTTP, each role against each protected
operation (every mutation, found by walking the schema; the upload; the admin fields; the
OpenLineage endpoint; subscriptions), PESO_AUTH=required, the CLI's token commands."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.auth import hash_token
from server.cli import main
from server.models import Role
from server.settings import Settings
from tests.conftest import app_client, client_as, make_settings, mint
from tests.helpers import GRAPHQL_RESPONSE, q, register, write_csv
from tests.schema_walk import Operation, operations

ROLES: list[str | None] = [None, "reader", "writer", "admin"]
ADMIN_ONLY = {"createApiToken", "revokeApiToken",
              "addHarvestSource", "runHarvest", "removeHarvestSource"}  # schema/harvest.py
AUTH_CODES = {"UNAUTHENTICATED", "FORBIDDEN"}


def codes(body: dict[str, Any]) -> set[str]:
    return {(e.get("extensions") or {}).get("code", "") for e in body.get("errors") or []}


def needed(op: Operation) -> str:
    return "admin" if op.name in ADMIN_ONLY else "writer"


def rank(role: str | None) -> int:
    return -1 if role is None else Role(role).rank


@pytest.fixture
def role_clients(client: TestClient) -> dict[str | None, TestClient]:
    return {role: client_as(client, role) for role in ROLES}


# --- every mutation, every role ---------------------------------------------------------------

MUTATIONS = operations("mutation")


def test_the_schema_has_the_mutations_we_expect_to_guard() -> None:
    names = {op.name for op in MUTATIONS}
    assert {"registerDataset", "loadFile", "addLineage", "createApiToken"} <= names


@pytest.mark.parametrize("op", MUTATIONS, ids=lambda o: o.name)
def test_each_role_against_each_mutation(role_clients: dict[str | None, TestClient],
                                         op: Operation) -> None:
    for role, c in role_clients.items():
        response = c.post("/graphql", json={"query": op.document(),
                                            "variables": op.variables()})
        assert response.status_code == 200, (role, response.text)
        body = response.json()
        got = codes(body)
        if rank(role) >= Role(needed(op)).rank:
            assert not got & AUTH_CODES, (op.name, role, body)
            assert "Unexpected error." not in response.text, (op.name, role, body)
        else:
            expected = "UNAUTHENTICATED" if role is None else "FORBIDDEN"
            assert got == {expected}, (op.name, role, body)
            assert body["data"] is None
            [error] = body["errors"]
            assert op.name in error["message"]
            assert needed(op) in error["message"]


def test_a_refused_mutation_changes_nothing(role_clients: dict[str | None, TestClient],
                                            client: TestClient) -> None:
    for role in (None, "reader"):
        role_clients[role].post("/graphql", json={"query": 'mutation { registerDataset(input: '
                                                  '{namespace: "crm", name: "x"}) '
                                                  '{ errors { message } } }'})
    assert q(client, "{ datasets { totalCount } }")["datasets"]["totalCount"] == 0
    log = q(client, "{ auditLog(first: 50) { edges { node { action } } } }")["auditLog"]
    assert not [e for e in log["edges"] if e["node"]["action"].startswith("dataset.")]


def test_the_actor_is_the_tokens_name_and_the_request_id_is_recorded(
        client: TestClient) -> None:
    writer = client_as(client, "writer")
    token_name = q(client, "{ apiTokens { name role } }")["apiTokens"][-1]["name"]
    response = writer.post("/graphql", headers={"X-Request-Id": "trace-0001-abcd"}, json={
        "query": 'mutation { registerDataset(input: {namespace: "crm", name: "people"}) '
                 '{ dataset { id } errors { message } } }'})
    assert response.headers["x-request-id"] == "trace-0001-abcd"
    dataset_id = response.json()["data"]["registerDataset"]["dataset"]["id"]
    log = q(client, """query($t: String) { auditLog(target: $t) { totalCount
              edges { node { actor action requestId target } } } }""", t=dataset_id)
    [event] = [e["node"] for e in log["auditLog"]["edges"]]
    assert event == {"actor": token_name, "action": "dataset.registered",
                     "requestId": "trace-0001-abcd", "target": dataset_id}


# --- uploads, admin fields, OpenLineage, subscriptions ---------------------------------------

LOAD = """mutation($input: LoadFileInput!, $file: Upload!) {
  loadFile(input: $input, file: $file) { created version { version } errors { message } } }"""


def upload(c: TestClient, path: Path) -> Any:
    import json

    return c.post("/graphql", headers={"X-Peso-Upload": "1"}, data={
        "operations": json.dumps({"query": LOAD, "variables": {
            "input": {"namespace": "crm", "name": "leads"}, "file": None}}),
        "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("leads.csv", path.read_bytes(), "text/csv")})


def test_each_role_against_the_upload(role_clients: dict[str | None, TestClient],
                                      tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "leads.csv", ["id", "city"], [[1, "Oslo"], [2, "Lima"]])
    for role, c in role_clients.items():
        response = upload(c, csv)
        body = response.json()
        if rank(role) >= Role.WRITER.rank:
            assert not codes(body) & AUTH_CODES, (role, body)
            assert body["data"]["loadFile"]["errors"] == []
            assert body["data"]["loadFile"]["version"]["version"] == 1
        else:
            # refused before the body is read (tests/test_security_uploads.py): HTTP 401/403
            assert codes(body) == {"UNAUTHENTICATED" if role is None else "FORBIDDEN"}
            assert response.status_code == (401 if role is None else 403)
            assert "data" not in body


ADMIN_QUERIES = ["{ auditLog { totalCount } }", "{ apiTokens { name } }"]


@pytest.mark.parametrize("query", ADMIN_QUERIES)
def test_admin_queries(role_clients: dict[str | None, TestClient], query: str) -> None:
    for role, c in role_clients.items():
        body = c.post("/graphql", json={"query": query}).json()
        if role == "admin":
            assert "errors" not in body, body
        else:
            assert codes(body) == {"UNAUTHENTICATED" if role is None else "FORBIDDEN"}, body


def test_admins_manage_tokens_over_graphql(client: TestClient) -> None:
    made = q(client, """mutation { createApiToken(input: {name: "bi-tool", role: READER,
             pii: true}) { secret apiToken { id name role pii revokedAt } errors { message } }
             }""")["createApiToken"]
    assert made["errors"] == []
    assert made["secret"].startswith("peso_")
    assert made["apiToken"]["role"] == "READER"
    assert made["apiToken"]["pii"] is True
    bi = TestClient(client.app, headers={"Authorization": f"Bearer {made['secret']}"})
    assert bi.post("/graphql", json={"query": "{ datasets { totalCount } }"}).status_code == 200
    again = q(client, 'mutation { createApiToken(input: {name: "bi-tool"}) '
                      '{ secret errors { code field } } }')["createApiToken"]
    assert again == {"secret": None, "errors": [{"code": "CONFLICT", "field": "name"}]}
    bad = q(client, 'mutation { createApiToken(input: {name: "anonymous"}) '
                    '{ errors { code } } }')["createApiToken"]
    assert bad["errors"] == [{"code": "INVALID_INPUT"}]
    revoked = q(client, 'mutation { revokeApiToken(input: {token: "bi-tool"}) '
                        '{ apiToken { revokedAt } errors { message } } }')["revokeApiToken"]
    assert revoked["errors"] == []
    assert revoked["apiToken"]["revokedAt"]
    refused = bi.post("/graphql", json={"query": "{ datasets { totalCount } }"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")


def test_the_openlineage_endpoint_needs_a_writer(role_clients: dict[str | None, TestClient]
                                                 ) -> None:
    routes = {getattr(r, "path", "") for r in role_clients[None].app.routes}  # type: ignore[attr-defined]
    if "/api/v1/lineage" not in routes:
        pytest.skip("POST /api/v1/lineage is not mounted in this build")
    for role, c in role_clients.items():
        response = c.post("/api/v1/lineage", json={})
        if role is None:
            assert response.status_code == 401
        elif role == "reader":
            assert response.status_code == 403
            assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        else:
            assert response.status_code not in (401, 403), response.text


SUBSCRIPTIONS = operations("subscription")


@pytest.mark.skipif(not SUBSCRIPTIONS, reason="the schema has no subscriptions yet")
@pytest.mark.parametrize("op", SUBSCRIPTIONS, ids=lambda o: o.name)
def test_each_role_against_each_subscription(client: TestClient, op: Operation) -> None:
    from starlette.routing import WebSocketRoute

    if not any(isinstance(r, WebSocketRoute) for r in client.app.routes):  # type: ignore[attr-defined]
        pytest.skip("no websocket route is mounted for /graphql yet")
    bare = client_as(client, None)   # no token on the handshake: only in connection_init
    for role in ROLES:
        token = mint(client, role) if role else None
        with bare.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init",
                          "payload": {"Authorization": f"Bearer {token}"} if token else {}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe",
                          "payload": {"query": op.document(), "variables": op.variables()}})
            if role is None:
                message = ws.receive_json()
                assert message["type"] in ("error", "next"), message
                text = str(message)
                assert "UNAUTHENTICATED" in text or "needs an API token" in text, message
            ws.send_json({"id": "1", "type": "complete"})


def test_a_bad_token_on_the_websocket_handshake_is_refused(client: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    # (refused whether or not a websocket route is mounted: never accepted)
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"],
            headers={"Authorization": "Bearer peso_nope"}) as ws:
        ws.receive_json()


# --- bad credentials and PESO_AUTH=required ----------------------------------------------------

@pytest.mark.parametrize("header", [
    "Bearer peso_0123456789abcdef_not-a-real-secret-at-all", "Bearer", "Bearer    ",
    "Basic dXNlcjpwYXNz", "peso_0123456789abcdef_x", "Bearer " + "a" * 300,
])
def test_bad_credentials_are_401_on_every_route(client: TestClient, header: str) -> None:
    c = TestClient(client.app, headers={"Authorization": header})
    for method, path in (("POST", "/graphql"), ("GET", "/graphql?query={__typename}"),
                         ("GET", "/metrics")):
        response = c.request(method, path, json={"query": "{ __typename }"})
        assert response.status_code == 401, (path, response.text)
        assert response.headers["www-authenticate"] == 'Bearer realm="peso"'
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "peso_" not in response.text
    assert c.get("/healthz").status_code == 200


def test_reads_are_open_by_default_and_writes_are_not(anon_client: TestClient) -> None:
    assert anon_client.post("/graphql", json={"query": "{ datasets { totalCount } }"}
                            ).json() == {"data": {"datasets": {"totalCount": 0}}}
    assert anon_client.get("/metrics").status_code == 200


@pytest.fixture
def required(tmp_path: Path) -> Any:
    with app_client(create_app(make_settings(tmp_path, PESO_AUTH="required"))) as c:
        yield c


def test_peso_auth_required_needs_a_token_for_reads(required: TestClient) -> None:
    anon = TestClient(required.app)
    for accept in ("application/json", GRAPHQL_RESPONSE):
        refused = anon.post("/graphql", json={"query": "{ datasets { totalCount } }"},
                            headers={"Accept": accept})
        assert refused.status_code == 401
        assert "PESO_AUTH=required" in refused.json()["errors"][0]["message"]
    assert anon.get("/graphql", params={"query": "{ __typename }"}).status_code == 401
    assert anon.get("/metrics").status_code == 401
    assert anon.get("/healthz").status_code == 200
    assert anon.get("/readyz").status_code == 200
    page = anon.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    reader = client_as(required, "reader")
    assert reader.post("/graphql", json={"query": "{ datasets { totalCount } }"}).json() == {
        "data": {"datasets": {"totalCount": 0}}}
    assert reader.get("/metrics").status_code == 200


def test_peso_auth_off_is_not_offered(tmp_path: Path) -> None:
    from server.errors import ConfigError

    with pytest.raises(ConfigError, match="PESO_AUTH"):
        Settings.from_env({"PESO_DATA_DIR": str(tmp_path), "PESO_AUTH": "off"})


# --- the command line ----------------------------------------------------------------------

def test_cli_token_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "peso-data"
    monkeypatch.setenv("PESO_DATA_DIR", str(data))
    assert main(["token", "create", "--name", "etl", "--role", "writer", "--pii"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("peso_")
    assert "shown only this once" in err
    assert main(["token", "list"]) == 0
    listed = capsys.readouterr().out
    assert "etl" in listed
    assert "writer+pii" in listed
    assert token not in listed
    # only the hash is in the database, never the token
    with sqlite3.connect(data / "catalog.db") as db:
        rows = db.execute("SELECT * FROM api_tokens").fetchall()
        dump = "\n".join(db.iterdump())
    assert len(rows) == 1
    assert hash_token(token) in rows[0]
    assert token not in dump
    assert main(["token", "create", "--name", "etl", "--role", "reader"]) == 1
    assert "already exists" in capsys.readouterr().err

    with app_client(create_app(Settings.from_env({"PESO_DATA_DIR": str(data)})),
                    role=None) as anon:
        etl = TestClient(anon.app, headers={"Authorization": f"Bearer {token}"})
        assert register(etl, "crm", "contacts")["name"] == "contacts"
        assert main(["token", "revoke", "etl"]) == 0
        assert "revoked token 'etl'" in capsys.readouterr().out
        assert etl.post("/graphql", json={"query": "{ __typename }"}).status_code == 401
    assert main(["token", "list", "--json"]) == 0
    assert '"revoked_at": "' in capsys.readouterr().out
    assert main(["token", "revoke", "nobody"]) == 1
    with pytest.raises(SystemExit) as usage:
        main(["token", "create", "--name", "x", "--role", "root"])
    assert usage.value.code == 2


def test_websockets_under_peso_auth_required(required: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    bare = client_as(required, None)
    with bare.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4403
    token = mint(required, "reader")
    with bare.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init",
                      "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
    with bare.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"],
                                headers={"Authorization": f"Bearer {token}"}) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        assert ws.receive_json()["type"] == "connection_ack"
