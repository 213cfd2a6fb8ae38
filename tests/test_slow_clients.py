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


def _read_all(sock: socket.socket) -> bytes:
    answer = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        answer += chunk
    return answer


def test_trickled_headers_get_408_and_the_server_stays_up(tmp_path: Path) -> None:
    """Slowloris: a header line every 0.3 s would hold the connection for ever (uvicorn's
    keep-alive timer restarts on every byte); PESO_HEADER_TIMEOUT_SECONDS ends it."""
    server = start_server(tmp_path / "data", PESO_HEADER_TIMEOUT_SECONDS="1.5")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            started = time.monotonic()
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            closed = False
            for i in range(40):  # up to 12 s of trickling, far past the 1.5 s deadline
                time.sleep(0.3)
                try:
                    sock.sendall(f"X-Slow-{i}: {'a' * 10}\r\n".encode())
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
            answer = _read_all(sock)
            waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"PESO_HEADER_TIMEOUT_SECONDS" in answer
        assert closed or waited < 15
        # a silent connection is closed as well, and a normal client is served meanwhile
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as idle:
            assert server.get("/healthz").status == 200
            assert _read_all(idle).startswith(b"HTTP/1.1 408")
    finally:
        server.stop()


def test_a_kept_alive_connection_times_each_requests_headers(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", PESO_HEADER_TIMEOUT_SECONDS="1.5")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            for _ in range(3):  # prompt requests on one connection, spread over > 1.5 s
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                answer = b""
                while b'"status":"ok"' not in answer:  # the whole response, body included
                    chunk = sock.recv(4096)
                    assert chunk, answer
                    answer += chunk
                assert answer.startswith(b"HTTP/1.1 200"), answer
                time.sleep(0.8)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # then it stalls
            assert _read_all(sock).startswith(b"HTTP/1.1 408")
    finally:
        server.stop()
