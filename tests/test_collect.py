"""POST /api/v1/collect/{namespace}/{name} through the real app: tokens and namespaces, the
frozen schema, refused records with their reasons, idempotency, the flush to Parquet parts
and the version that counts every stored event, 429 when the buffer is full, and recovery
of what a killed process left in the WAL."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from starlette.testclient import TestClient

from loaders.pipeline import LoadRequest, load_file
from server.app import create_app
from server.auth import create_token
from server.collect.wal import Wal
from server.models import Role
from server.settings import Settings
from tests.conftest import app_client, gql, make_settings

ROUTE = "/api/v1/collect/web/clicks"


def events(n: int, start: int = 0) -> bytes:
    return b"\n".join(json.dumps({
        "event_id": i, "ts": f"2026-12-07T01:{i % 60:02d}:00Z", "campaign": f"c{i % 7}",
        "cost": i / 10, "clicked": i % 2 == 0}).encode() for i in range(start, start + n))


def collector_token(client: TestClient, *namespaces: str, name: str = "pixel") -> str:
    graph = client.app.state.graph  # type: ignore[attr-defined]
    assert client.portal is not None
    token, _ = client.portal.call(lambda: create_token(
        graph, name=name, role=Role.COLLECTOR, pii=False, actor="cli",
        namespaces=list(namespaces)))
    return token


def flush(client: TestClient) -> None:
    collector = client.app.state.collector  # type: ignore[attr-defined]
    assert client.portal is not None
    client.portal.call(lambda: collector.flush_all(reason="test"))


def parquet_rows(settings: Settings, namespace: str = "web", name: str = "clicks"
                 ) -> list[dict[str, Any]]:
    folder = settings.data_dir / "objects" / "collected" / namespace / name
    table = ds.dataset(str(folder), format="parquet").to_table()
    return sorted(table.to_pylist(), key=lambda r: r["event_id"])


LATEST = """query($ns: String!, $n: String!) { dataset(namespace: $ns, name: $n) {
  latestVersion { version rowCount format curatedKey
                  fields { name arrowType } preview(limit: 3) } } }"""


def latest(client: TestClient, namespace: str = "web", name: str = "clicks") -> Any:
    body = gql(client, LATEST, {"ns": namespace, "n": name})
    assert "errors" not in body, body
    return body["data"]["dataset"]["latestVersion"]


@pytest.fixture
def collecting(tmp_path: Path) -> Any:
    settings = make_settings(tmp_path, PESO_COLLECT_FLUSH_SECONDS="3600")
    with app_client(create_app(settings)) as client:
        yield client, settings


def test_events_are_stored_as_parquet_and_counted_by_the_latest_version(
        collecting: Any) -> None:
    client, settings = collecting
    answer = client.post(ROUTE, content=events(1000),
                         headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1000
    assert answer.json()["rejected"] == 0
    array = json.dumps([json.loads(line) for line in events(500, 1000).split(b"\n")])
    assert client.post(ROUTE, content=array).json()["accepted"] == 500
    flush(client)
    first = latest(client)
    assert (first["version"], first["rowCount"], first["format"]) == (1, 1500, "jsonl")
    assert first["curatedKey"] == "collected/web/clicks"
    assert {f["name"]: f["arrowType"] for f in first["fields"]} == {
        "event_id": "int64", "ts": "timestamp[us, tz=UTC]", "campaign": "string",
        "cost": "double", "clicked": "bool"}
    assert len(first["preview"]["rows"]) == 3
    assert first["preview"]["totalRows"] == 1500

    client.post(ROUTE, content=events(250, 1500))
    flush(client)
    second = latest(client)
    assert (second["version"], second["rowCount"]) == (2, 1750)
    rows = parquet_rows(settings)
    assert [r["event_id"] for r in rows] == list(range(1750))
    parts = list((settings.data_dir / "objects" / "collected" / "web" / "clicks").rglob(
        "*.parquet"))
    assert len(parts) == 2
    assert all("dt=2" in str(p) and "hour=" in str(p) for p in parts)


def test_bad_records_are_refused_with_their_reasons_and_kept(collecting: Any) -> None:
    client, settings = collecting
    client.post(ROUTE, content=events(10))
    mixed = b"\n".join([
        b'{"event_id": 10, "ts": "2026-12-07T02:00:00Z", "campaign": "c1", "cost": 1.5}',
        b'{"event_id": "eleven"}',
        b'{"event_id": 12, "colour": "red"}',
        b'{"event_id": 13',
        b'[13]',
        b'{"event_id": 14, "ts": "not a time"}',
    ])
    answer = client.post(ROUTE, content=mixed).json()
    assert (answer["accepted"], answer["rejected"]) == (1, 5)
    reasons = {r["record"]: r["reason"] for r in answer["reasons"]}
    assert "field 'event_id': expected int64, got a string" in reasons[2]
    assert "unknown field(s) 'colour'" in reasons[3]
    assert reasons[4].startswith("invalid JSON")
    assert "must be a JSON object" in reasons[5]
    assert "field 'ts'" in reasons[6]
    kept = settings.data_dir / "objects" / answer["rejectedKey"]
    stored = [json.loads(line) for line in kept.read_text().splitlines()]
    assert [s["record"] for s in stored] == [2, 3, 4, 5, 6]
    assert stored[0]["text"] == '{"event_id": "eleven"}'
    flush(client)
    assert latest(client)["rowCount"] == 11


def test_a_body_that_is_not_records_is_refused_whole_and_kept(collecting: Any) -> None:
    client, settings = collecting
    answer = client.post(ROUTE, content=b'[{"event_id": 1}, {"event_id": ')
    assert answer.status_code == 400
    message = answer.json()["errors"][0]["message"]
    assert "not a valid JSON array" in message
    assert "the body is kept" in message
    bodies = list((settings.data_dir / "objects" / "rejected" / "collect").rglob("*.body"))
    assert [b.read_bytes() for b in bodies] == [b'[{"event_id": 1}, {"event_id": ']


def test_line_endings_a_byte_order_mark_and_an_empty_body(collecting: Any) -> None:
    client, _ = collecting
    crlf = b"\xef\xbb\xbf" + events(3).replace(b"\n", b"\r\n") + b"\r\n\r\n"
    answer = client.post(ROUTE, content=crlf)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["accepted"], answer.json()["rejected"]) == (3, 0)
    deep = b'{"event_id": 4, "campaign": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    nested = client.post(ROUTE, content=events(1) + b"\n" + deep)
    assert nested.status_code == 200, nested.text
    assert (nested.json()["accepted"], nested.json()["rejected"]) == (1, 1)
    pretty = json.dumps({"event_id": 5, "campaign": "c5", "cost": 1.0}, indent=2).encode()
    one = client.post(ROUTE, content=pretty, headers={"Content-Type": "application/json"})
    assert one.json()["accepted"] == 1
    empty = client.post(ROUTE, content=b"  \n ")
    assert empty.status_code == 400
    assert "holds no records" in empty.json()["errors"][0]["message"]


def test_a_replayed_batch_is_not_stored_twice(collecting: Any) -> None:
    client, settings = collecting
    headers = {"Idempotency-Key": "batch-0001"}
    first = client.post(ROUTE, content=events(100), headers=headers).json()
    again = client.post(ROUTE, content=events(100), headers=headers).json()
    assert again["replayed"] is True
    assert not first["replayed"]
    assert (again["accepted"], again["batch"]) == (100, first["batch"])
    flush(client)
    after_flush = client.post(ROUTE, content=events(100), headers=headers).json()
    assert after_flush["replayed"] is True
    flush(client)
    assert latest(client)["rowCount"] == 100
    assert len(parquet_rows(settings)) == 100


def test_tokens_and_namespaces(collecting: Any) -> None:
    client, _ = collecting
    token = collector_token(client, "web", "ads")
    as_collector = TestClient(client.app, headers={"Authorization": f"Bearer {token}"})
    assert as_collector.post(ROUTE, content=events(3)).status_code == 200
    refused = as_collector.post("/api/v1/collect/crm/leads", content=events(3))
    assert refused.status_code == 403
    assert "may not post events to namespace 'crm'" in refused.json()["errors"][0]["message"]
    assert TestClient(client.app).post(ROUTE, content=events(3)).status_code == 401
    # a collector token reads nothing an anonymous caller could not
    reads = as_collector.post("/graphql", json={"query": "{ apiTokens { name } }"})
    assert "errors" in reads.json()
    reader = client_with_role(client, Role.READER)
    assert reader.post(ROUTE, content=events(3)).status_code == 403


def client_with_role(client: TestClient, role: Role) -> TestClient:
    graph = client.app.state.graph  # type: ignore[attr-defined]
    assert client.portal is not None
    token, _ = client.portal.call(lambda: create_token(graph, name=f"t-{role.value}",
                                                       role=role, pii=False, actor="cli"))
    return TestClient(client.app, headers={"Authorization": f"Bearer {token}"})


SET_CONTRACT = """mutation($c: JSON) { setDatasetContract(input: {namespace: "web",
  name: "signups", contract: $c}) { dataset { contract } errors { message } } }"""
REGISTER = """mutation { registerDataset(input: {namespace: "web", name: "signups"})
  { errors { message } } }"""


def test_a_contract_decides_the_schema_and_refuses_rows(collecting: Any) -> None:
    client, _settings = collecting
    contract = {"columns": {"user_id": {"type": "integer", "required": True, "min": 1},
                            "email": {"type": "string", "regex": ".+@.+"},
                            "signed_up": {"type": "timestamp"}}}
    assert gql(client, REGISTER)["data"]["registerDataset"]["errors"] == []
    body = gql(client, SET_CONTRACT, {"c": contract})
    assert body["data"]["setDatasetContract"]["errors"] == []
    batch = b"\n".join([
        b'{"user_id": 1, "email": "a@example.com", "signed_up": "2026-12-07T01:00:00Z"}',
        b'{"user_id": 0, "email": "b@example.com"}',
        b'{"email": "nobody@example.com"}',
        b'{"user_id": 4, "email": "not-an-email", "plan": "pro"}',
        b'{"user_id": 5, "email": "e@example.com", "plan": "free"}',
    ])
    answer = client.post("/api/v1/collect/web/signups", content=batch).json()
    assert (answer["accepted"], answer["rejected"]) == (2, 3), answer
    reasons = {r["record"]: r["reason"] for r in answer["reasons"]}
    assert reasons == {2: "breaks the contract: user_id.min",
                       3: "breaks the contract: user_id.required",
                       4: "breaks the contract: email.regex"}
    flush(client)
    version = latest(client, "web", "signups")
    assert version["rowCount"] == 2
    assert {f["name"]: f["arrowType"] for f in version["fields"]} == {
        "user_id": "int64", "email": "string", "signed_up": "timestamp[us, tz=UTC]",
        "plan": "string"}   # the contract's typed columns, then the first batch's others
    # a contract changed later applies from the next batch on
    stricter = {"columns": {**contract["columns"], "plan": {"allowed": ["pro"]}}}
    gql(client, SET_CONTRACT, {"c": stricter})
    later = client.post("/api/v1/collect/web/signups",
                        content=b'{"user_id": 9, "email": "z@example.com", "plan": "free"}')
    assert later.json()["reasons"][0]["reason"] == "breaks the contract: plan.allowed"


def test_a_bad_contract_is_refused_with_its_reason(collecting: Any) -> None:
    client, _ = collecting
    gql(client, REGISTER)
    body = gql(client, SET_CONTRACT, {"c": {"columns": {"x": {"type": "colour"}}}})
    payload = body["data"]["setDatasetContract"]
    assert payload["dataset"] is None
    assert "colour" in payload["errors"][0]["message"]


def test_a_loaded_dataset_is_not_collected_into(collecting: Any, tmp_path: Path) -> None:
    client, _ = collecting
    csv = tmp_path / "leads.csv"
    csv.write_text("id,name\n1,a\n")
    graph = client.app.state.graph
    objects = client.app.state.objects
    assert client.portal is not None
    client.portal.call(lambda: load_file(LoadRequest(csv, "web", "leads"), graph=graph,
                                         objects=objects, actor="cli"))
    answer = client.post("/api/v1/collect/web/leads", content=events(1))
    assert answer.status_code == 409
    assert "was loaded, not collected" in answer.json()["errors"][0]["message"]
    assert latest(client, "web", "leads")["rowCount"] == 1


def test_429_when_too_many_events_wait(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PESO_COLLECT_FLUSH_SECONDS="3600",
                             PESO_COLLECT_BUFFER_ROWS="150", PESO_COLLECT_FLUSH_ROWS="100000")
    with app_client(create_app(settings)) as client:
        assert client.post(ROUTE, content=events(100)).status_code == 200
        assert client.post(ROUTE, content=events(100, 100)).status_code == 200
        full = client.post(ROUTE, content=events(100, 200))
        assert full.status_code == 429
        assert int(full.headers["Retry-After"]) >= 1
        assert "PESO_COLLECT_BUFFER_ROWS" in full.json()["errors"][0]["message"]
        flush(client)
        assert client.post(ROUTE, content=events(100, 200)).status_code == 200


def test_limits_on_records_and_keys(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PESO_COLLECT_MAX_RECORDS="10")
    with app_client(create_app(settings)) as client:
        many = client.post(ROUTE, content=events(11))
        assert many.status_code == 400
        assert "PESO_COLLECT_MAX_RECORDS" in many.text
        long_key = client.post(ROUTE, content=events(1), headers={"Idempotency-Key": "k" * 201})
        assert long_key.status_code == 400
        bad_name = client.post("/api/v1/collect/web/..%2Fx", content=events(1))
        assert bad_name.status_code in (400, 404)
        gz = client.post(ROUTE, content=events(1), headers={"Content-Encoding": "gzip"})
        assert gz.status_code == 415


def test_what_a_killed_process_left_is_flushed_at_the_next_start(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PESO_COLLECT_FLUSH_SECONDS="3600")
    app = create_app(settings)
    with app_client(app) as client:
        assert client.post(ROUTE, content=events(40)).json()["accepted"] == 40
        client.post(ROUTE, content=events(60, 40), headers={"Idempotency-Key": "k1"})
        # what kill -9 leaves: the WAL as it is; stop the collector without flushing
        collector = app.state.collector
        collector._task.cancel()
        collector.started = False
        collector.wal.close()
    assert not (settings.data_dir / "objects" / "collected").exists()
    with app_client(create_app(settings)) as client:
        assert latest(client)["rowCount"] == 100
        replay = client.post(ROUTE, content=events(60, 40), headers={"Idempotency-Key": "k1"})
        assert replay.json()["replayed"] is True
        flush(client)
        assert latest(client)["rowCount"] == 100
    assert [r["event_id"] for r in parquet_rows(settings)] == list(range(100))


def test_two_processes_on_one_data_folder_use_their_own_wal(tmp_path: Path) -> None:
    one, two = Wal(tmp_path), Wal(tmp_path)
    assert one.open() != two.open()
    one.close()
    three = Wal(tmp_path)
    assert three.open() == tmp_path / "wal-0"
    two.close()
    three.close()


def test_settings_are_in_the_dataclass() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert {"collect_flush_rows", "collect_buffer_rows"} <= fields


def test_a_shutdown_during_a_flush_waits_for_it_and_then_flushes_the_rest(
        tmp_path: Path) -> None:
    """SIGTERM while the flush loop is half-way through a flush: the loop's flush finishes
    (it is not cancelled under its threads), the shutdown flush writes what came after, and
    every acknowledged event is stored once with nothing left in the WAL. A cancel here once
    left the loop's threads deleting batch files under the shutdown flush (FileNotFoundError,
    events left unflushed until the next start)."""
    import threading
    import time

    settings = make_settings(tmp_path, PESO_COLLECT_FLUSH_SECONDS="0.2")
    app = create_app(settings)
    in_flush, later = threading.Event(), 0
    busy, most, lock = 0, 0, threading.Lock()
    with app_client(app) as client:
        collector = app.state.collector
        write_parts = collector._write_parts

        def slow_write_parts(*args: Any) -> Any:   # holds the loop's flush half-way
            nonlocal busy, most
            with lock:
                busy += 1
                most = max(most, busy)
            in_flush.set()
            try:
                time.sleep(0.5)
                return write_parts(*args)
            finally:
                with lock:
                    busy -= 1

        collector._write_parts = slow_write_parts
        assert client.post(ROUTE, content=events(50)).json()["accepted"] == 50
        assert in_flush.wait(10), "the flush loop did not start a flush"
        later = client.post(ROUTE, content=events(30, 50)).json()["accepted"]
    # leaving the block ran the lifespan's shutdown: collector.stop() raised nothing
    assert later == 30
    assert most == 1, "the shutdown flush ran beside the loop's unfinished one"
    assert [r["event_id"] for r in parquet_rows(settings)] == list(range(80))
    assert not list((settings.data_dir / "collect").glob("*/*/pending/*.batch"))


def test_a_process_killed_mid_flush_does_not_stall_the_next_start_on_its_lease(
        tmp_path: Path) -> None:
    """kill -9 while a flush holds the dataset's lease: the process that takes over the WAL
    folder (its flock proves the old owner is gone) frees that lease and recovers at once,
    instead of waiting ~40 s and leaving the events unflushed (seen in CI as a server that
    did not answer /healthz within 30 s after the kill)."""
    settings = make_settings(tmp_path, PESO_COLLECT_FLUSH_SECONDS="3600")
    app = create_app(settings)
    with app_client(app) as client:
        assert client.post(ROUTE, content=events(40)).json()["accepted"] == 40
        collector = app.state.collector
        assert client.portal is not None
        held = client.portal.call(lambda: collector.graph.acquire_lease(
            "collect:web/clicks", collector.holder, 120.0))
        assert held   # what a flush holds while it registers its version
        collector._task.cancel()   # what kill -9 leaves: the WAL and the lease as they are
        collector.started = False
        collector.wal.close()
    with app_client(create_app(settings)) as client:
        assert latest(client)["rowCount"] == 40
        lease = client.portal.call(lambda: client.app.state.graph.get_lease(  # type: ignore
            "collect:web/clicks"))
        assert lease is None or lease.holder != collector.holder
    assert [r["event_id"] for r in parquet_rows(settings)] == list(range(40))
