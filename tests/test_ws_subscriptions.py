"""``catalogEvents`` over a real WebSocket to a real ``peso serve`` (uvicorn[standard]'s
websockets implementation), with both subprotocols Strawberry speaks: graphql-transport-ws
(connection_init/ack, subscribe, next) and the legacy graphql-ws (connection_init/ack, start,
data). The event is a ``peso load`` run by another process against the same catalog."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.serverproc import ServerProcess, create_token, run_peso, start_server

pytestmark = pytest.mark.timeout(90)

SUBSCRIBE = """subscription($kinds: [CatalogEventKind!]) {
  catalogEvents(kinds: $kinds) { id kind actor dataset { namespace name } }
}"""

# subprotocol -> (subscribe message type, result message type)
PROTOCOLS = {"graphql-transport-ws": ("subscribe", "next"), "graphql-ws": ("start", "data")}


async def _receive(ws: ClientConnection) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if message["type"] not in ("ka", "ping", "pong"):   # keep-alives of either protocol
            return message


async def _one_load_seen(server: ServerProcess, protocol: str, token: str,
                         csv: Path, name: str) -> list[dict[str, Any]]:
    subscribe, result = PROTOCOLS[protocol]
    url = f"ws://127.0.0.1:{server.port}/graphql"
    async with connect(url, subprotocols=[protocol]) as ws:   # type: ignore[list-item]
        assert ws.subprotocol == protocol
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {token}"}}))
        assert (await _receive(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": subscribe, "payload": {
            "query": SUBSCRIBE, "variables": {"kinds": ["VERSION_ADDED"]}}}))
        await asyncio.sleep(0.5)   # the subscription is running before the load starts
        done = await asyncio.to_thread(run_peso, "load", str(csv), "--dataset", name,
                                       data_dir=server.data_dir, env=server.env)
        assert done.returncode == 0, done.stderr
        got = []
        for _ in range(2):   # the raw and the curated version
            message = await _receive(ws)
            assert message["type"] == result, message
            assert message["id"] == "1"
            assert "errors" not in message["payload"], message
            got.append(message["payload"]["data"]["catalogEvents"])
        return got


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_catalog_events_over_a_real_websocket(tmp_path: Path, protocol: str) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    try:
        token = create_token(data_dir, "ws-reader", "reader", env=server.env)
        csv = tmp_path / "contacts.csv"
        csv.write_text("id,email\n1,a@x.org\n2,b@y.org\n")
        got = asyncio.run(_one_load_seen(server, protocol, token, csv, "crm/contacts"))
    finally:
        server.stop()
    assert [e["kind"] for e in got] == ["VERSION_ADDED", "VERSION_ADDED"]
    assert {e["dataset"]["name"] for e in got} == {"contacts", "contacts.raw"}
    assert all(e["actor"] == "cli" for e in got)
