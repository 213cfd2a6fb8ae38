"""Issue 11 item 4: two `peso serve` processes (real uvicorn subprocesses) on ONE Neo4j
(PESO_TEST_NEO4J_*) and ONE S3 bucket (moto's S3 server, tests/s3server.py), each with its
own private data folder, are one catalog: a load through one is read, previewed and
downloaded (its Parquet) through the other at once; an OpenLineage event posted to one is
answered by the other; a `catalogEvents` subscriber on one hears writes made through the
other; concurrent writers of one dataset through both end with versions 1..N, no gap, no
duplicate; the background job (health report) runs once across both."""

from __future__ import annotations

import asyncio
import io
import json
import os
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow.parquet as pq
import pytest

from server.health import edition_key
from server.storage.neo4j.store import Neo4jGraphStore
from tests.contract.conftest import wipe_neo4j
from tests.s3server import S3Endpoint, drop_bucket, fresh_bucket
from tests.serverproc import ServerProcess, create_token, http, peso_env, start_server

pytestmark = pytest.mark.slow

BOUNDARY = "peso-scale-boundary"
LOAD = ('mutation($file: Upload!) { loadFile(input: {namespace: "scale", name: "shared"}, '
        'file: $file) { created version { version } errors { message } } }')
READ = """query { dataset(namespace: "scale", name: "shared") {
  versions(first: 50) { edges { node { version rowCount } } }
  latestVersion { version rowCount downloadUrl preview(limit: 3) } } }"""


def _neo4j_env() -> dict[str, str]:
    uri = os.environ.get("PESO_TEST_NEO4J_URI")
    if not uri:
        pytest.skip("needs a live Neo4j: PESO_TEST_NEO4J_URI (tools/neo4j/neo4j-local start)")
    return {"PESO_GRAPH_URL": uri,
            "PESO_NEO4J_USER": os.environ.get("PESO_TEST_NEO4J_USER", "neo4j"),
            "PESO_NEO4J_PASSWORD": os.environ.get("PESO_TEST_NEO4J_PASSWORD", "neo4j")}


def _neo4j(env: dict[str, str], work: Any) -> Any:
    async def run() -> Any:
        store = Neo4jGraphStore(env["PESO_GRAPH_URL"], user=env["PESO_NEO4J_USER"],
                                password=env["PESO_NEO4J_PASSWORD"], database="neo4j")
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()
    return asyncio.run(run())


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess
    token: str
    neo: dict[str, str]
    s3: S3Endpoint
    bucket: str

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def pair(s3_server: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    neo = _neo4j_env()
    _neo4j(neo, wipe_neo4j)
    bucket = fresh_bucket()
    shared = {**neo, "PESO_OBJECTS_URL": f"s3://{bucket}/catalog",
              "PESO_S3_ENDPOINT": s3_server.endpoint,
              "PESO_S3_ACCESS_KEY": s3_server.access_key,
              "PESO_S3_SECRET_KEY": s3_server.secret_key,
              "PESO_WORKER_POLL_SECONDS": "0.2", "PESO_COLLECT_FLUSH_SECONDS": "0.3"}
    root = tmp_path_factory.mktemp("scale")
    token = create_token(root / "cli", "scale-writer", env=peso_env(root / "cli", **shared))
    a = start_server(root / "a", **shared)   # separate data folders: nothing shared on disk
    try:
        b = start_server(root / "b", **shared)
        try:
            yield Pair(a, b, token, neo, s3_server, bucket)
        finally:
            b.kill()
    finally:
        a.kill()
        _neo4j(neo, wipe_neo4j)
        drop_bucket(s3_server.store(bucket))


def _upload(server: ServerProcess, csv: bytes, headers: dict[str, str]) -> dict[str, Any]:
    ops = json.dumps({"query": LOAD, "variables": {"file": None}}).encode()
    body = b""
    for name, filename, content in (("operations", None, ops),
                                    ("map", None, b'{"0": ["variables.file"]}'),
                                    ("0", "shared.csv", csv)):
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"'
                                                      if filename else "")
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += content + b"\r\n"
    body += f"--{BOUNDARY}--\r\n".encode()
    answer = http("POST", server.graphql_url, body=body, timeout=60, headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "X-Peso-Upload": "1",
        **headers})
    assert answer.status == 200, answer.text
    payload: dict[str, Any] = answer.json()["data"]["loadFile"]
    assert payload["errors"] == [], payload
    return payload


def _csv(rows: int, salt: int) -> bytes:
    return ("id,spend\n" + "".join(f"{i},{i * 1.5 + salt}\n" for i in range(rows))).encode()


def _read(server: ServerProcess) -> dict[str, Any]:
    body = server.graphql(READ).json()
    assert "errors" not in body, body
    dataset: dict[str, Any] = body["data"]["dataset"]
    return dataset


def test_a_load_through_one_is_read_previewed_and_downloaded_through_the_other(
        pair: Pair) -> None:
    made = _upload(pair.a, _csv(5, 0), pair.auth())
    assert made["created"] is True
    seen = _read(pair.b)   # at once: no wait, no retry
    latest = seen["latestVersion"]
    assert (latest["version"], latest["rowCount"]) == (made["version"]["version"], 5)
    preview = latest["preview"]
    at = preview["columns"].index("id")
    assert [row[at] for row in preview["rows"]] == [0, 1, 2]
    # the Parquet itself, from the bucket, through B's download URL
    with urllib.request.urlopen(latest["downloadUrl"], timeout=30) as resp:
        table = pq.read_table(io.BytesIO(resp.read()))
    assert table.num_rows == 5
    assert table.column("spend").to_pylist()[:2] == [0.0, 1.5]


def test_an_openlineage_event_posted_to_one_is_answered_by_the_other(pair: Pair) -> None:
    run_id = str(uuid.uuid4())
    event = {"eventType": "COMPLETE", "eventTime": datetime.now(UTC).isoformat(),
             "run": {"runId": run_id, "facets": {}},
             "job": {"namespace": "airflow", "name": "nightly_spend", "facets": {}},
             "inputs": [{"namespace": "warehouse", "name": "raw_spend", "facets": {}}],
             "outputs": [{"namespace": "warehouse", "name": "spend", "facets": {}}],
             "producer": "urn:test",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}
    posted = http("POST", pair.b.base_url + "/api/v1/lineage",
                  body=json.dumps(event).encode(),
                  headers={"Content-Type": "application/json", **pair.auth()})
    assert posted.status == 201, posted.text
    body = pair.a.graphql('{ job(namespace: "airflow", name: "nightly_spend") '
                          '{ runs(first: 5) { edges { node { runId state } } } } }').json()
    assert body["data"]["job"]["runs"]["edges"] == [
        {"node": {"runId": run_id, "state": "COMPLETE"}}], body


def test_a_subscriber_on_one_hears_writes_made_through_the_other(pair: Pair) -> None:
    websockets = pytest.importorskip("websockets.asyncio.client")
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": (
        "subscription { catalogEvents(kinds: [VERSION_ADDED]) "
        "{ kind dataset { namespace name } } }")}}

    async def watch() -> dict[str, Any]:
        async with websockets.connect(f"ws://127.0.0.1:{pair.a.port}/graphql",
                                      subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": pair.auth()}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps(subscribe))
            await asyncio.sleep(1.0)  # the subscription has read the log's head by now
            await asyncio.to_thread(_upload, pair.b, _csv(7, 99), pair.auth())
            message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
            return message

    message = asyncio.run(watch())
    assert message["type"] == "next", message
    assert message["payload"]["data"]["catalogEvents"]["kind"] == "VERSION_ADDED"
    assert message["payload"]["data"]["catalogEvents"]["dataset"]["namespace"] == "scale"


def test_concurrent_writers_through_both_get_versions_without_gaps(pair: Pair) -> None:
    before = len(_read(pair.a)["versions"]["edges"])
    outcomes: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            outcomes.append(_upload((pair.a, pair.b)[n % 2], _csv(10 + n, 1000 + n),
                                    pair.auth()))
        except BaseException as exc:  # reported below with the others
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    assert all(o["created"] for o in outcomes)
    total = before + 6
    assert sorted(o["version"]["version"] for o in outcomes) == list(range(before + 1,
                                                                           total + 1))
    for server in (pair.a, pair.b):
        edges = _read(server)["versions"]["edges"]
        assert sorted(e["node"]["version"] for e in edges) == list(range(1, total + 1))


COLLECTED = """query { dataset(namespace: "scale", name: "events") {
  versions(first: 100) { edges { node { version rowCount } } }
  latestVersion { rowCount preview(limit: 2) } } }"""


def test_events_collected_through_both_are_all_counted_once(pair: Pair) -> None:
    def post(n: int) -> None:
        lines = [json.dumps({"event_id": n * 200 + i, "kind": "click", "cost": i / 4})
                 for i in range(200)]
        answer = http("POST", (pair.a, pair.b)[n % 2].base_url + "/api/v1/collect/scale/events",
                      body="\n".join(lines).encode(), timeout=30, headers=pair.auth())
        assert answer.status == 200, answer.text
        assert answer.json()["accepted"] == 200

    post(0)   # the first batch freezes the schema; the others race through both servers
    threads = [threading.Thread(target=post, args=(n,)) for n in range(1, 10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen = [s.graphql(COLLECTED).json()["data"]["dataset"] for s in (pair.a, pair.b)]
        if all(d and d["latestVersion"]["rowCount"] == 2000 for d in seen):
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"not every event was counted: {seen}")
    for dataset in seen:   # each flush added its own rows to the running total, in turn
        versions = sorted((e["node"]["version"], e["node"]["rowCount"])
                          for e in dataset["versions"]["edges"])
        assert [v for v, _ in versions] == list(range(1, len(versions) + 1))
        counts = [c for _, c in versions]
        assert counts == sorted(counts)
        assert dataset["latestVersion"]["preview"]["totalRows"] == 2000   # parts on S3


def test_the_background_job_ran_once_across_both(pair: Pair) -> None:
    query = ('{ job(namespace: "peso", name: "peso.worker.health-report") '
             '{ runs(first: 10) { edges { node { state } } } } }')
    deadline = time.monotonic() + 20
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = pair.b.graphql(query).json()
        if body["data"]["job"] and body["data"]["job"]["runs"]["edges"]:
            break
        time.sleep(0.2)
    time.sleep(1.0)   # both servers have polled several times more by now
    body = pair.a.graphql(query).json()
    assert body["data"]["job"]["runs"]["edges"] == [{"node": {"state": "COMPLETE"}}], body
    store = pair.s3.store(pair.bucket, prefix="catalog")
    store.open()
    try:
        assert store.stat(edition_key(datetime.now(UTC).date())) is not None
    finally:
        store.close()
