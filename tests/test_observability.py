"""Observability: Prometheus metrics at /metrics (requests and latencies by route and GraphQL
operation, loads, store errors) and structured logs (JSON lines off a terminal, text on one)
carrying the request id."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server import logs, metrics
from tests.helpers import write_csv


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return response.text


def test_metrics_count_requests_operations_and_loads(client: TestClient, tmp_path: Path
                                                     ) -> None:
    before = scrape(client)
    for _ in range(3):
        client.post("/graphql", json={"query": "query Ping { __typename }"})
    client.post("/graphql", json={"query": "query Broken { nope }"})
    client.get("/no/such/path")
    csv = write_csv(tmp_path / "a.csv", ["id", "v"], [[1, 2], [3, 4]])
    upload = client.post("/graphql", headers={"X-Peso-Upload": "1"}, data={
        "operations": json.dumps({"query": 'mutation Up($f: Upload!) { loadFile(input: '
                                           '{namespace: "m", name: "a"}, file: $f) '
                                           '{ created } }', "variables": {"f": None}}),
        "map": json.dumps({"0": ["variables.f"]})}, files={"0": ("a.csv", csv.read_bytes())})
    assert upload.json()["data"]["loadFile"]["created"] is True
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("peso_graphql_operations_total", operation="Ping", type="query",
                 outcome="ok") == 3
    assert delta("peso_graphql_operations_total", operation="Broken", outcome="error") == 1
    assert delta("peso_graphql_operation_duration_seconds_count", operation="Ping") == 3
    assert delta("peso_http_requests_total", method="POST", route="/graphql",
                 status="200") >= 5
    assert delta("peso_http_requests_total", route="unmatched", status="404") == 1
    assert delta("peso_http_request_duration_seconds_count", route="/graphql") >= 5
    assert delta("peso_loads_total", outcome="created") == 1
    assert delta("peso_load_rows_total") == 2
    assert "process_resident_memory_bytes" in after

    # collected events, by outcome, and what waits for a flush
    lines = b'{"n": 1}\n{"n": 2}\n{"n": "three"}'
    key = {"Idempotency-Key": "obs-1"}
    assert client.post("/api/v1/collect/m/events", content=lines, headers=key).status_code == 200
    assert client.post("/api/v1/collect/m/events", content=lines, headers=key).status_code == 200
    collected = scrape(client)
    assert sample(collected, "peso_collected_events_total", outcome="accepted") \
        - sample(after, "peso_collected_events_total", outcome="accepted") == 2
    assert sample(collected, "peso_collected_events_total", outcome="rejected") \
        - sample(after, "peso_collected_events_total", outcome="rejected") == 1
    assert sample(collected, "peso_collected_events_total", outcome="replayed") \
        - sample(after, "peso_collected_events_total", outcome="replayed") == 3
    assert sample(collected, "peso_collect_buffered_events") >= 2
    assert "peso_store_errors_total" in after or "peso_store_errors" in after


def test_operation_names_cannot_grow_the_label_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_seen_names", set())  # the process-wide set, restored after
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("Fine_Name1") == "Fine_Name1"
    assert metrics.operation_label("bad name; drop") == "other"
    assert metrics.operation_label("x" * 100) == "other"
    for i in range(metrics.MAX_OPERATION_NAMES + 10):
        metrics.operation_label(f"Op{i}")
    assert metrics.operation_label("BrandNewAfterTheCap") == "other"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    logs.setup("info", "json", stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "_peso", False):
                root.removeHandler(handler)
        root.setLevel(level)


def test_json_log_lines_carry_the_request_id(client: TestClient, captured: io.StringIO
                                             ) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": "trace-42-abcdef"})
    assert response.headers["x-request-id"] == "trace-42-abcdef"
    lines = [json.loads(line) for line in captured.getvalue().splitlines() if line.strip()]
    [access] = [entry for entry in lines if entry.get("path") == "/healthz"]
    assert access["request_id"] == "trace-42-abcdef"
    assert (access["level"], access["logger"], access["status"]) == ("info", "peso.http", 200)
    assert access["method"] == "GET"
    assert access["duration_ms"] >= 0
    assert access["time"].endswith("+00:00")


def test_formats_follow_the_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logs.use_json("auto", io.StringIO()) is True
    assert logs.use_json("auto", Tty()) is False
    assert logs.use_json("json", Tty()) is True
    assert logs.use_json("text", io.StringIO()) is False
    record = logging.LogRecord("peso.x", logging.WARNING, __file__, 1, "hello %s", ("you",),
                               None)
    record.request_id = "abc123"
    text = logs.TextFormatter().format(record)
    assert text.endswith("WARNING peso.x [abc123]: hello you")
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["message"] == "hello you"
    assert entry["request_id"] == "abc123"


def test_an_exception_is_logged_with_its_traceback_as_one_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("peso.x", logging.ERROR, __file__, 1, "failed", (),
                                   __import__("sys").exc_info())
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]
