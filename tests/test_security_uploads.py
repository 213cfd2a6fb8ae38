"""Issue 10 item 4: a multipart upload is authenticated and authorized before its body is
read — an anonymous caller gets 401 and a reader 403 with not one body byte received, so
nothing is spooled to disk — and multipart bodies received at once are capped
(PESO_MAX_UPLOAD_SPOOL_BYTES)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from server.app import create_app
from server.models import Role
from tests.conftest import app_client, make_settings, mint

BOUNDARY = "peso-boundary"
QUERY = ('mutation($file: Upload!) { loadFile(input: {namespace: "up", name: "f"}, '
         'file: $file) { created errors { message } } }')


def _body(payload: bytes) -> bytes:
    ops = json.dumps({"query": QUERY, "variables": {"file": None}})
    parts = [("operations", None, ops.encode()), ("map", None, b'{"0": ["variables.file"]}'),
             ("0", "f.csv", payload)]
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"'
                                                      if filename else "")
        out += (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n").encode()
        out += content + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def _send_raw(client: TestClient, token: str | None, payload: bytes,
              chunk: int = 65536) -> tuple[int, int, dict[str, Any]]:
    """POST a multipart body straight to the ASGI app; return (status, body bytes the app
    received, response JSON). The body arrives in chunks, as from a socket."""
    body = _body(payload)
    headers = [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
               (b"x-peso-upload", b"1")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/graphql", "raw_path": b"/graphql",
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "state": {}}
    chunks = [body[i:i + chunk] for i in range(0, len(body), chunk)]
    received = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not chunks:
            return {"type": "http.disconnect"}
        piece = chunks.pop(0)
        received += len(piece)
        return {"type": "http.request", "body": piece, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        await client.app(scope, receive, send)  # type: ignore[arg-type]

    assert client.portal is not None
    client.portal.call(run)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    text = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, received, json.loads(text)


def test_anonymous_and_reader_uploads_are_refused_unread(client: TestClient) -> None:
    payload = b"id,x\n" + b"1,2\n" * 200_000   # 800 KB in 13 chunks
    status, received, body = _send_raw(client, None, payload)
    assert status == 401, body
    assert received == 0
    assert "writer role" in body["errors"][0]["message"]
    status, received, body = _send_raw(client, mint(client, Role.READER), payload)
    assert status == 403, body
    assert received == 0
    assert "needs the writer role" in body["errors"][0]["message"]
    status, received, body = _send_raw(client, mint(client, Role.WRITER), payload)
    assert status == 200, body
    assert received == len(_body(payload))
    assert body["data"]["loadFile"]["errors"] == []


def test_uploads_received_together_are_capped(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PESO_MAX_UPLOAD_SPOOL_BYTES="4096")
    with app_client(create_app(settings)) as c:
        writer = mint(c, Role.WRITER)
        status, _, body = _send_raw(c, writer, b"id\n" + b"1\n" * 4000, chunk=1024)
        assert status == 503, body
        assert body["errors"][0]["message"] == (
            "uploads being received together exceed 4096 bytes (PESO_MAX_UPLOAD_SPOOL_BYTES)")
        # the refused request's bytes are released: a small upload passes afterwards
        status, _, body = _send_raw(c, writer, b"id\n1\n", chunk=1024)
        assert status == 200, body
