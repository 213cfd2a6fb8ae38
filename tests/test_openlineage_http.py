"""``POST /api/v1/lineage`` (who may post, replays, batches, gzip, what is refused and how)
and ``peso lineage ingest``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.cli import main
from server.models import Role
from tests.conftest import client_as
from tests.helpers import call, stores
from tests.lineage_events import ds, new_run_id, run_event
from tests.openlineage_http import ROUTE, post_event, writer_headers


def test_posting_needs_a_writer_token(client: TestClient, anon_client: TestClient) -> None:
    event = run_event("job", new_run_id(), outputs=[ds("out")])
    assert anon_client.post(ROUTE, json=event).status_code == 401
    assert client_as(client, Role.READER).post(ROUTE, json=event).status_code == 403
    assert client.get(ROUTE, headers=writer_headers(client)).status_code == 405
    answer = post_event(client, event, writer_headers(client))
    assert answer.status_code == 201
    graph, _ = stores(client)
    [newest] = call(client, graph.list_audit, limit=1)
    assert (newest.action, newest.actor) == ("openlineage.event", "ol-writer")


def test_a_batch_is_checked_whole_before_anything_is_applied(client: TestClient) -> None:
    headers = writer_headers(client)
    good = run_event("job", new_run_id(), outputs=[ds("out")])
    bad = run_event("job", "not-a-uuid", outputs=[ds("other")])
    answer = client.post(ROUTE, json=[good, bad], headers=headers)
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"path": "run.runId", "index": 1,
                                        "message": "'not-a-uuid' is not a 'uuid'"}]
    graph, _ = stores(client)
    assert call(client, graph.get_dataset, "warehouse", "out") is None
    answer = client.post(ROUTE, json=[good, good], headers=headers)
    assert answer.status_code == 200
    assert [r["status"] for r in answer.json()["results"]] == ["created", "skipped"]
    too_many = client.post(ROUTE, json=[good] * 501, headers=headers)
    assert too_many.status_code == 400
    assert "1 to 500" in too_many.json()["errors"][0]["message"]


def test_a_refused_event_keeps_the_ones_before_it(client: TestClient) -> None:
    # the batch is one transaction; when the store refuses an event of it, it is applied
    # event by event instead, so the answer is what it was with one transaction per event
    headers = writer_headers(client)
    run_id = new_run_id()
    assert post_event(client, run_event("one", run_id, "START"), headers).status_code == 201
    fine = run_event("other", new_run_id(), outputs=[ds("kept")])
    clash = run_event("two", run_id, "COMPLETE", minute=1)   # a runId of another job
    answer = client.post(ROUTE, json=[fine, clash], headers=headers)
    assert answer.status_code == 409
    body = answer.json()
    assert [e["index"] for e in body["errors"]] == [1]
    assert [a["status"] for a in body["applied"]] == ["created"]
    graph, _ = stores(client)
    assert call(client, graph.get_dataset, "warehouse", "kept") is not None
    assert call(client, graph.get_job, "scheduler", "two") is None


def test_a_refused_event_in_the_middle_of_a_batch(client: TestClient) -> None:
    # the events before it are kept whole (their versions, search rows, audit events), it
    # is named, and those after it are not applied (as with one transaction per event)
    headers = writer_headers(client)
    run_id = new_run_id()
    assert post_event(client, run_event("one", run_id, "START"), headers).status_code == 201
    before = [run_event("other", new_run_id(), "START", inputs=[ds("kept_in", fields=["a"])]),
              run_event("other", new_run_id(), outputs=[ds("kept_out", fields=["a", "b"])])]
    clash = run_event("two", run_id, "COMPLETE", minute=1)   # a runId of another job
    after = run_event("three", new_run_id(), outputs=[ds("never", fields=["c"])])
    answer = client.post(ROUTE, json=[*before, clash, after], headers=headers)
    assert answer.status_code == 409
    body = answer.json()
    assert [e["index"] for e in body["errors"]] == [2]
    assert [a["status"] for a in body["applied"]] == ["created", "created"]
    graph, _ = stores(client)
    for name, fields in (("kept_in", ["a"]), ("kept_out", ["a", "b"])):
        found = call(client, graph.get_dataset, "warehouse", name)
        assert found is not None
        [[version]] = call(client, graph.list_versions, [found.id])
        [held] = call(client, graph.get_fields, [version.id])
        assert [f.name for f in held] == fields
        hits, _ = call(client, graph.search, name, first=5)
        assert [h.dataset.name for h in hits] == [name]
    assert call(client, graph.get_dataset, "warehouse", "never") is None
    assert call(client, graph.search, "never", first=5) == ([], 0)
    assert call(client, graph.get_job, "scheduler", "two") is None
    audit = call(client, graph.list_audit, limit=20)
    assert [a.action for a in audit].count("openlineage.event") == 3   # one, and the two kept


def test_gzip_bodies_and_what_is_not_json(client: TestClient) -> None:
    headers = writer_headers(client)
    event = run_event("zipped", new_run_id(), outputs=[ds("z")])
    answer = client.post(ROUTE, content=gzip.compress(json.dumps(event).encode()),
                         headers={**headers, "Content-Type": "application/json",
                                  "Content-Encoding": "gzip"})
    assert answer.status_code == 201, answer.text
    for body, encoding, says in ((b"{not json", "", "not JSON"),
                                 (b"\x1f\x8b broken", "gzip", "not valid gzip"),
                                 (b"{}", "br", "not supported")):
        answer = client.post(ROUTE, content=body, headers={
            **headers, "Content-Type": "application/json",
            **({"Content-Encoding": encoding} if encoding else {})})
        assert answer.status_code == 400
        assert says in answer.json()["errors"][0]["message"]
    answer = post_event(client, ["not an event"], headers)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["message"] == "an OpenLineage event is a JSON object"


def test_strict_where_it_matters_tolerant_elsewhere(client: TestClient) -> None:
    headers = writer_headers(client)
    sloppy = run_event("sloppy", new_run_id(), outputs=[ds("s")])
    del sloppy["producer"], sloppy["schemaURL"]
    sloppy["eventTime"] = "2025-03-01T10:00:00"
    answer = post_event(client, sloppy, headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["defaulted"] == ["producer", "schemaURL", "eventTime timezone (UTC)"]
    assert answer.json()["key"].endswith("2025-03-01T10:00:00+00:00")
    for change, path in ((lambda e: e["run"].pop("runId"), "run"),
                         (lambda e: e.pop("eventTime"), "(event)"),
                         (lambda e: e["job"].pop("name"), "job"),
                         (lambda e: e.update(eventTime="yesterday"), "eventTime"),
                         (lambda e: e["outputs"][0].update(namespace="http://a b"),
                          "outputs[0].namespace"),
                         (lambda e: e["outputs"][0].update(name="a/../b"), "outputs[0].name")):
        event = run_event("strict", new_run_id(), outputs=[ds("x")])
        change(event)
        answer = post_event(client, event, headers)
        assert answer.status_code == 400, event
        assert path in [e["path"] for e in answer.json()["errors"]]


def test_a_run_id_of_another_job_is_a_conflict(client: TestClient) -> None:
    headers = writer_headers(client)
    run_id = new_run_id()
    assert post_event(client, run_event("one", run_id, "START"), headers).status_code == 201
    answer = post_event(client, run_event("two", run_id, "COMPLETE", minute=1), headers)
    assert answer.status_code == 409
    assert "belongs to another job" in answer.json()["errors"][0]["message"]


def test_a_body_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from server.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, PESO_MAX_BODY_BYTES="2048")
    with TestClient(create_app(settings)) as small:
        event = run_event("big", new_run_id(), outputs=[ds("b", description="x" * 5000)])
        assert post_event(small, event, writer_headers(small)).status_code == 413


# --- peso lineage ingest -------------------------------------------------------------------

def test_peso_lineage_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PESO_DATA_DIR", str(tmp_path / "data"))
    run_id = new_run_id()
    batch = tmp_path / "events.json"
    batch.write_text(json.dumps([run_event("cli", run_id, "START", outputs=[ds("c")]),
                                 run_event("cli", run_id, "COMPLETE", outputs=[ds("c")],
                                           minute=1)]))
    lines = tmp_path / "more.ndjson"
    lines.write_text("\n".join(json.dumps(e) for e in (
        run_event("cli", run_id, "START", outputs=[ds("c")]),          # a replay
        run_event("cli", "nope", "START"),                             # refused
        run_event("other", new_run_id(), inputs=[ds("c")], outputs=[ds("d")]))) + "\n")
    assert main(["lineage", "ingest", str(batch)]) == 0
    assert f"{batch}: ingested 2, skipped 0, failed 0" in capsys.readouterr().out
    assert main(["lineage", "ingest", str(lines), "--json"]) == 1
    out = capsys.readouterr().out
    [report] = json.loads(out)
    assert (report["ingested"], report["skipped"], report["failed"]) == (1, 1, 1)
    assert "run.runId" in report["errors"][0]
    assert main(["lineage", "ingest", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err
