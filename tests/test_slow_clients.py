"""A client that stalls its request body is answered 408 within PESO_BODY_TIMEOUT_SECONDS by a
real `peso serve`, and the server keeps answering others (issue 10: slow bodies)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.serverproc import start_server


def test_a_stalled_body_gets_408_and_the_server_stays_up(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", PESO_BODY_TIMEOUT_SECONDS="1")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                         b'{"query": "{')  # ... and then nothing more
            started = time.monotonic()
            answer = b""
            while b"\r\n\r\n" not in answer or b"PESO_BODY_TIMEOUT_SECONDS" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
            waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"PESO_BODY_TIMEOUT_SECONDS" in answer
        assert waited < 15  # the 1 s budget, not the client's patience, ended the request
        ok = server.graphql("{ datasets { totalCount } }")
        assert ok.status == 200
    finally:
        server.stop()
