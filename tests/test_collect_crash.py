"""Collection against a real ``peso serve`` process: 100,000 events in 1,000-event batches
from four concurrent clients, one replayed batch, one batch with malformed records, one body
that is no records at all, and a ``kill -9`` of the server mid-stream. Every acknowledged
event must be in the Parquet exactly once; every refused one in the rejected files with its
reason."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
from http.client import HTTPException
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from tests.serverproc import ServerProcess, http, run_peso, start_server

CLIENTS = 4
BATCHES_PER_CLIENT = 25
BATCH = 1000
MALFORMED = {(1, 3): [5, 17, 900]}   # (client, batch) → positions of broken records
ROUTE = "/api/v1/collect/web/events"


def batch_body(client: int, batch: int) -> bytes:
    first = (client * BATCHES_PER_CLIENT + batch) * BATCH
    lines = []
    for i in range(BATCH):
        event_id = first + i
        record = {"event_id": event_id, "ts": f"2026-12-07T0{client}:{batch:02d}:{i % 60:02d}Z",
                  "device": f"d{event_id % 97}", "kind": "click" if i % 3 else "view",
                  "value": event_id * 0.5, "bot": i % 11 == 0}
        line = json.dumps(record)
        if i in MALFORMED.get((client, batch), ()):
            line = line[:-5]   # cut off: not JSON any more
        lines.append(line)
    return "\n".join(lines).encode()


class Cluster:
    """The server the clients talk to; replaced after the kill."""

    def __init__(self, server: ServerProcess) -> None:
        self.server, self.up = server, threading.Event()
        self.up.set()
        self.acknowledged = 0
        self.lock = threading.Lock()

    def post(self, body: bytes, key: str, token: str) -> dict[str, Any]:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            self.up.wait(60)
            url = self.server.base_url + ROUTE
            try:
                answer = http("POST", url, body=body, timeout=15, headers={
                    "Authorization": f"Bearer {token}", "Idempotency-Key": key,
                    "Content-Type": "application/x-ndjson"})
            except (urllib.error.URLError, HTTPException, ConnectionError,
                    TimeoutError, OSError):
                # the server is gone, perhaps half-way through its answer (IncompleteRead):
                # send the same batch again, with the same key
                time.sleep(0.2)
                continue
            if answer.status == 429:
                time.sleep(float(answer.headers.get("retry-after", "1")))
                continue
            assert answer.status == 200, answer.text
            with self.lock:
                self.acknowledged += 1
            reply: dict[str, Any] = answer.json()
            return reply
        raise AssertionError(f"batch {key} was never acknowledged")


def test_every_acknowledged_event_is_stored_once_through_a_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "peso-data"
    data.mkdir()
    made = run_peso("token", "create", "--name", "fleet", "--role", "collector",
                    "--namespace", "web", data_dir=data)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    env = {"PESO_COLLECT_FLUSH_SECONDS": "0.5", "PESO_WORKER_IN_SERVE": "false"}
    cluster = Cluster(start_server(data, **env))
    replies: dict[str, dict[str, Any]] = {}

    def client(n: int) -> None:
        for b in range(BATCHES_PER_CLIENT):
            key = f"c{n}-b{b}"
            replies[key] = cluster.post(batch_body(n, b), key, token)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        while cluster.acknowledged < CLIENTS * BATCHES_PER_CLIENT * 0.4:
            time.sleep(0.01)
        cluster.up.clear()
        cluster.server.proc.kill()          # kill -9, requests in flight
        cluster.server.proc.wait(10)
        cluster.server = start_server(data, **env)
        cluster.up.set()
        for t in threads:
            t.join(180)
        assert not any(t.is_alive() for t in threads)

        # a replay of an acknowledged batch is answered as before and not stored
        again = cluster.post(batch_body(0, 0), "c0-b0", token)
        assert again["replayed"] is True
        assert again["accepted"] == BATCH
        # a body that is no records: refused whole, kept
        broken = http("POST", cluster.server.base_url + ROUTE, body=b'[{"event_id": 1}, {',
                      headers={"Authorization": f"Bearer {token}"})
        assert broken.status == 400
        assert "the body is kept" in broken.text
        assert cluster.server.stop() == 0   # SIGTERM: flush what waits, then exit
    finally:
        cluster.server.kill()

    assert len(replies) == CLIENTS * BATCHES_PER_CLIENT   # every batch was acknowledged
    refused = {(1, 3)}
    bad_ids = {(1 * BATCHES_PER_CLIENT + 3) * BATCH + i for i in MALFORMED[(1, 3)]}
    for key, reply in replies.items():
        n, b = (int(part[1:]) for part in key.split("-"))
        expected = len(MALFORMED[(n, b)]) if (n, b) in refused else 0
        assert (reply["accepted"], reply["rejected"]) == (BATCH - expected, expected), key

    table = ds.dataset(str(data / "objects" / "collected" / "web" / "events"),
                       format="parquet").to_table(columns=["event_id"])
    stored = table.column("event_id").to_pylist()
    everything = set(range(CLIENTS * BATCHES_PER_CLIENT * BATCH))
    assert len(stored) == len(set(stored)), "an event was stored twice"
    assert set(stored) == everything - bad_ids

    reasons = []
    for path in (data / "objects" / "rejected" / "collect" / "web" / "events").rglob("*.jsonl"):
        reasons += [json.loads(line) for line in path.read_text().splitlines()]
    by_record = {r["record"]: r for r in reasons if r.get("record")}
    assert sorted(by_record) == [i + 1 for i in MALFORMED[(1, 3)]]
    assert all(r["reason"].startswith("invalid JSON") for r in by_record.values())
    assert any(r.get("record") is None and r.get("body_key") for r in reasons)

    with_server = start_server(data, **env)
    try:
        answer = with_server.graphql('{ dataset(namespace: "web", name: "events") '
                                     "{ latestVersion { rowCount } } }")
        version = answer.json()["data"]["dataset"]["latestVersion"]
        assert version["rowCount"] == len(stored)
    finally:
        with_server.kill()
