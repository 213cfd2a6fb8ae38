"""Several Peso processes on one Neo4j catalog: ``peso serve --workers 2`` and a second
``peso serve`` (real uvicorn subprocesses) on the live Neo4j of PESO_TEST_NEO4J_*, answering
for writes made elsewhere, and concurrent ``peso load`` writers of one dataset ending with a
gapless, duplicate-free version sequence. On SQLite, ``--workers 2`` is refused."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from server.storage.neo4j.store import Neo4jGraphStore
from tests.contract.conftest import wipe_neo4j
from tests.helpers import after_location
from tests.serverproc import (
    REPO,
    create_token,
    peso_command,
    peso_env,
    run_peso,
    running_server,
)

VERSIONS = """query { dataset(namespace: "scale", name: "shared") {
  versions(first: 50) { totalCount edges { node { version rowCount } } } } }"""


def test_several_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    done = run_peso("serve", "--workers", "2", data_dir=tmp_path, timeout=60)
    assert done.returncode == 2
    lines = after_location(done.stderr).strip().splitlines()
    assert len(lines) == 1
    assert "single writer" in lines[0]
    assert "PESO_GRAPH_URL=neo4j://" in lines[0]


def _neo4j_env() -> dict[str, str]:
    uri = os.environ.get("PESO_TEST_NEO4J_URI")
    if not uri:
        pytest.skip("needs a live Neo4j: PESO_TEST_NEO4J_URI (tools/neo4j/neo4j-local start)")
    return {"PESO_GRAPH_URL": uri,
            "PESO_NEO4J_USER": os.environ.get("PESO_TEST_NEO4J_USER", "neo4j"),
            "PESO_NEO4J_PASSWORD": os.environ.get("PESO_TEST_NEO4J_PASSWORD", "neo4j")}


async def _wipe(env: dict[str, str]) -> None:
    store = Neo4jGraphStore(env["PESO_GRAPH_URL"], user=env["PESO_NEO4J_USER"],
                            password=env["PESO_NEO4J_PASSWORD"], database="neo4j")
    await store.open()
    try:
        await wipe_neo4j(store)
    finally:
        await store.close()


def _csv(path: Path, rows: int) -> Path:
    path.write_text("id,spend\n" + "".join(f"{i},{i * 1.5}\n" for i in range(rows)))
    return path


def _versions(answer: Any) -> list[int]:
    body = answer.json()
    assert "errors" not in body, body
    return sorted(e["node"]["version"] for e in body["data"]["dataset"]["versions"]["edges"])


def test_two_servers_on_one_neo4j_are_one_catalog(tmp_path: Path) -> None:
    neo = _neo4j_env()
    asyncio.run(_wipe(neo))
    data = tmp_path / "data"  # one objects folder, as one S3 bucket would be
    env = peso_env(data, **neo)
    first = run_peso("load", str(_csv(tmp_path / "v1.csv", 3)), "--dataset", "scale/shared",
                     data_dir=data, env=env)
    assert first.returncode == 0, first.stderr
    with running_server(data, "--workers", "2", **neo) as a, running_server(data, **neo) as b:
        assert _versions(a.graphql(VERSIONS)) == [1]
        assert _versions(b.graphql(VERSIONS)) == [1]
        # four writers of the same dataset at once, each with different content
        procs = [subprocess.Popen(
            peso_command("load", str(_csv(tmp_path / f"w{n}.csv", 10 + n)), "--dataset",
                         "scale/shared"), env=env, cwd=REPO, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True) for n in range(4)]
        outcomes = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, outcomes
        for server in (a, b, a):  # a twice: its two workers may answer in turn
            assert _versions(server.graphql(VERSIONS)) == [1, 2, 3, 4, 5]
    asyncio.run(_wipe(neo))


def test_catalog_events_reach_subscribers_of_another_server(tmp_path: Path) -> None:
    """A dataset registered through server B arrives on a `catalogEvents` subscription held on
    server A: events come from the catalog's audit log in the shared Neo4j, not process memory."""
    websockets = pytest.importorskip("websockets.asyncio.client")
    neo = _neo4j_env()
    asyncio.run(_wipe(neo))
    data = tmp_path / "data"
    token = create_token(data, "events", "writer", env=peso_env(data, **neo))
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": (
        "subscription { catalogEvents(kinds: [DATASET_REGISTERED]) "
        "{ kind dataset { namespace name } } }")}}

    async def watch(a_port: int, register: Any) -> dict[str, Any]:
        async with websockets.connect(f"ws://127.0.0.1:{a_port}/graphql",
                                      subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {token}"}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps(subscribe))
            await asyncio.sleep(1.0)  # the subscription has read the log's head by now
            await asyncio.to_thread(register)
            message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
            return message

    with running_server(data, **neo) as a, running_server(data, **neo) as b:
        def register() -> None:
            answer = b.graphql('mutation { registerDataset(input: {namespace: "scale", '
                               'name: "elsewhere"}) { errors { message } } }',
                               Authorization=f"Bearer {token}").json()
            assert answer["data"]["registerDataset"]["errors"] == [], answer

        message = asyncio.run(watch(a.port, register))
    assert message["type"] == "next", message
    assert message["payload"]["data"]["catalogEvents"] == {
        "kind": "DATASET_REGISTERED", "dataset": {"namespace": "scale", "name": "elsewhere"}}
    asyncio.run(_wipe(neo))


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, …), None once gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, from /proc (Linux)."""
    return [int(p.name) for p in Path("/proc").glob("[0-9]*")
            if (fields := _stat(p.name)) is not None and int(fields[1]) == pid]


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for its new parent to reap it."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def test_workers_stop_when_their_peso_serve_is_killed(tmp_path: Path) -> None:
    """kill -9 of `peso serve --workers 2` cannot stop its worker processes: each notices that
    its supervisor is gone and shuts down gracefully, instead of serving on as an orphan and
    running the background jobs against the shared catalog."""
    if not Path("/proc/self/stat").is_file():
        pytest.skip("reads the process table from /proc (Linux)")
    neo = _neo4j_env()
    asyncio.run(_wipe(neo))
    data = tmp_path / "data"
    with running_server(data, "--workers", "2", **neo) as server:
        workers = [pid for pid in _children(server.proc.pid)
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2, workers
        server.proc.kill()   # the supervisor only: running_server would kill its whole group
        server.proc.wait(timeout=10)
        deadline = time.monotonic() + 30
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid in workers if _running(pid)]
        assert left == [], server.log()
        assert server.log().count("this worker") == 2, server.log()
    asyncio.run(_wipe(neo))
