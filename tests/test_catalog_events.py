"""``catalogEvents``: catalog changes over graphql-transport-ws, from the audit log — changes
made through the API, and a ``peso load`` run by another process against the same catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.testclient import WebSocketTestSession as Socket

from server.models import Role
from tests.conftest import client_as, mint
from tests.helpers import add_lineage, register, write_csv
from tests.serverproc import peso_env, run_peso

pytestmark = pytest.mark.timeout(60)

SUBSCRIBE = """subscription($kinds: [CatalogEventKind!], $after: Int) {
  catalogEvents(kinds: $kinds, afterId: $after) {
    id kind actor targetKind detail dataset { namespace name }
  }
}"""


def _subscribe(ws: Socket, token: str, **variables: Any) -> None:
    ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert ws.receive_json()["type"] == "connection_ack"
    ws.send_json({"id": "1", "type": "subscribe",
                  "payload": {"query": SUBSCRIBE, "variables": variables}})


def _next(ws: Socket) -> dict[str, Any]:
    message = ws.receive_json()
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    event: dict[str, Any] = message["payload"]["data"]["catalogEvents"]
    return event


def test_changes_arrive_in_order_and_filtered_by_kind(client: TestClient) -> None:
    bare = client_as(client, None)
    with bare.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _subscribe(ws, mint(client, Role.READER),
                   kinds=["DATASET_REGISTERED", "LINEAGE_ADDED", "DATASET_DELETED"])
        register(client, "crm", "export")
        client.post("/graphql", json={"query": 'mutation { tagDataset(input: {namespace: "crm",'
                                               ' name: "export", tag: "pii"}) { errors '
                                               "{ message } } }"})   # not a wanted kind
        register(client, "mkt", "audience")
        add_lineage(client, "mkt/audience", "crm/export", job="segment")
        client.post("/graphql", json={"query": 'mutation { deleteDataset(input: {namespace: '
                                               '"crm", name: "export"}) { errors { message } } }'})
        got = [_next(ws) for _ in range(4)]
        assert [(e["kind"], e["dataset"]["name"] if e["dataset"] else None) for e in got[:3]] \
            == [("DATASET_REGISTERED", "export"), ("DATASET_REGISTERED", "audience"),
                ("LINEAGE_ADDED", "audience")]
        assert got[3]["kind"] == "DATASET_DELETED"
        assert got[2]["detail"]["upstream"] == "crm/export"
        assert got[0]["actor"].startswith("test-admin")
        assert [e["id"] for e in got] == sorted(e["id"] for e in got)
        first_id = got[0]["id"]
        ws.send_json({"id": "1", "type": "complete"})

    # a follower that reconnects with afterId misses nothing
    with bare.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _subscribe(ws, mint(client, Role.READER), kinds=["DATASET_REGISTERED"],
                   after=first_id)
        assert _next(ws)["dataset"]["name"] == "audience"
        ws.send_json({"id": "1", "type": "complete"})


def test_a_load_in_another_process_shows_up(client: TestClient, tmp_path: Path) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    csv = write_csv(tmp_path / "contacts.csv", ["id", "email"], [[1, "a@x.org"], [2, "b@y.org"]])
    bare = client_as(client, None)
    with bare.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _subscribe(ws, mint(client, Role.READER), kinds=["VERSION_ADDED", "OPENLINEAGE_EVENT"])
        done = run_peso("load", str(csv), "--dataset", "crm/contacts",
                        data_dir=settings.data_dir,
                        env=peso_env(settings.data_dir, PESO_GRAPH_URL=settings.graph_url,
                                     PESO_OBJECTS_URL=settings.objects_url))
        assert done.returncode == 0, done.stderr
        got = [_next(ws) for _ in range(4)]
        kinds = [e["kind"] for e in got]
        # START of peso.load, the raw and curated versions, COMPLETE of peso.load
        assert kinds == ["OPENLINEAGE_EVENT", "VERSION_ADDED", "VERSION_ADDED",
                         "OPENLINEAGE_EVENT"]
        assert {got[1]["dataset"]["name"], got[2]["dataset"]["name"]} == {"contacts",
                                                                           "contacts.raw"}
        assert (got[0]["detail"]["eventType"], got[3]["detail"]["eventType"]) == ("START",
                                                                                 "COMPLETE")
        assert all(e["actor"] == "cli" for e in got)
        ws.send_json({"id": "1", "type": "complete"})


def test_a_token_holds_at_most_the_configured_subscriptions(tmp_path: Path) -> None:
    from server.app import create_app
    from tests.conftest import app_client, make_settings

    settings = make_settings(tmp_path, PESO_MAX_SUBSCRIPTIONS_PER_TOKEN="2")
    with app_client(create_app(settings)) as client:
        bare, token = client_as(client, None), mint(client, Role.READER)
        other = mint(client, Role.READER)
        with bare.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            _subscribe(ws, token)
            ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            ws.send_json({"id": "3", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            refused = ws.receive_json()  # the first two are open and silent; the third is not
            assert (refused["id"], refused["type"]) == ("3", "next"), refused
            [error] = refused["payload"]["errors"]
            assert "PESO_MAX_SUBSCRIPTIONS_PER_TOKEN=2" in error["message"]
            with bare.websocket_connect("/graphql",
                                        subprotocols=["graphql-transport-ws"]) as ws2:
                _subscribe(ws2, other)  # another token has its own slots
                register(client, "crm", "export")
                assert _next(ws2)["kind"] == "DATASET_REGISTERED"
            ws.send_json({"id": "2", "type": "complete"})  # closing one frees its slot
            ws.send_json({"id": "4", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            register(client, "crm", "export2")
            fourth: dict[str, Any] | None = None
            for _ in range(10):  # events for 1 and 2 from the first registration come first
                message = ws.receive_json()
                if message["type"] == "next" and message["id"] == "4":
                    fourth = message
                    break
            assert fourth is not None  # the freed slot took a new subscription
            assert "errors" not in fourth["payload"], fourth
