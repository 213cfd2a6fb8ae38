"""A real ``peso serve`` in a subprocess, for the tests that need a real socket.

Most tests use the in-process ASGI client (``tests/conftest.py``); the smoke test and the
GraphQL-over-HTTP audit start the actual command instead, on a free port on 127.0.0.1,
with a temporary PESO_DATA_DIR. Everything is bounded in time and the process is always
stopped: use ``running_server`` (a context manager) or call ``stop``/``kill`` in a finally.

Only the standard library is used for HTTP, so these helpers depend on nothing but Peso.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def peso_command(*args: str) -> list[str]:
    """The installed ``peso`` console script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("peso")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script), *args]
    return [sys.executable, "-m", "server.cli", *args]


def peso_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a Peso subprocess: this one without any PESO_* or AWS_* variables
    (so a developer's shell cannot leak into the test), plus a private data dir."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PESO_", "AWS_"))}
    env.update({"PESO_DATA_DIR": str(data_dir), "PESO_LOG_LEVEL": "warning",
                "PESO_SEMANTIC_SEARCH": "off",  # opted into by the tests of semantic search
                # the worker's enrich job: opted into by tests/test_worker_enrich.py
                "PESO_ENRICH_NEW_VERSIONS": "false",
                "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def run_peso(*args: str, data_dir: Path, timeout: float = 120.0,
             env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one ``peso`` command to completion (bounded by ``timeout``) against ``data_dir``."""
    return subprocess.run(peso_command(*args), env=dict(env or peso_env(data_dir)), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)


def create_token(data_dir: Path, name: str, role: str = "writer", *, pii: bool = False,
                 env: Mapping[str, str] | None = None) -> str:
    """Mint an API token in the catalog at ``data_dir`` with ``peso token create`` (writes over
    HTTP need one); return it."""
    made = run_peso("token", "create", "--name", name, "--role", role,
                    *(["--pii"] if pii else []), data_dir=data_dir, env=env)
    if made.returncode != 0:
        raise RuntimeError(f"peso token create failed: {made.stderr}")
    return made.stdout.strip()


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, *, body: bytes | None = None,
         headers: Mapping[str, str] | None = None,
         timeout: float = HTTP_TIMEOUT) -> HttpResponse:
    """One HTTP request; 4xx/5xx come back as responses, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method,
                                     headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return HttpResponse(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                                resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return HttpResponse(err.code, {k.lower(): v for k, v in err.headers.items()},
                                err.read())


@dataclass
class ServerProcess:
    """A running ``peso serve``; its output goes to ``log_path`` (no pipe can fill up)."""

    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def get(self, path: str, **headers: str) -> HttpResponse:
        return http("GET", self.base_url + path, headers=headers)

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None,
                **headers: str) -> HttpResponse:
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        return http("POST", self.graphql_url, body=body,
                    headers={"Content-Type": "application/json",
                             "Accept": "application/json", **headers})

    def wait_ready(self, path: str = "/healthz", timeout: float = START_TIMEOUT) -> None:
        """Poll ``path`` until it answers 200; fail with the server's log if it never does."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise RuntimeError(f"peso serve exited with {code} before it was ready:\n"
                                   + self.log())
            try:
                if self.get(path).status == 200:
                    return
            except OSError as exc:  # not listening yet
                last = str(exc)
            time.sleep(0.1)
        raise RuntimeError(f"peso serve did not answer {path} within {timeout}s ({last}):\n"
                           + self.log())

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait; return the exit code. Kills it if it overstays ``timeout``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL to the server and every process it started (``--workers N``), so none
        outlives the test and keeps working on a catalog the next test shares."""
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_TIMEOUT)


def start_server(data_dir: Path, *args: str, **env: str) -> ServerProcess:
    """Start ``peso serve ARGS`` on a free port and wait for /healthz."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):  # a free port can be taken between probe and bind: try again
        port = free_port()
        full_env = peso_env(data_dir, PESO_HOST="127.0.0.1", PESO_PORT=str(port), **env)
        log_path = data_dir.parent / f"peso-serve-{port}.log"
        with log_path.open("wb") as log_file:
            # its own process group: kill() reaches uvicorn's worker processes too
            proc = subprocess.Popen(peso_command("serve", *args), env=full_env, cwd=REPO,
                                    stdout=log_file, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        server = ServerProcess(proc, port, data_dir, log_path, full_env)
        try:
            server.wait_ready()
            return server
        except RuntimeError:
            server.kill()
            if attempt == 2 or "address already in use" not in server.log().lower():
                raise
        except BaseException:
            server.kill()
            raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_server(data_dir: Path, *args: str, **env: str) -> Iterator[ServerProcess]:
    """``peso serve`` for the length of a ``with`` block; always killed afterwards."""
    server = start_server(data_dir, *args, **env)
    try:
        yield server
    finally:
        server.kill()
