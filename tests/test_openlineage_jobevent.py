"""A JobEvent (a job's static definition: ``job`` but no ``run``) that carries an
``eventType`` key, as some producers send, is taken as a JobEvent, not refused as a RunEvent
missing its ``run`` (issue 10)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.helpers import call, stores
from tests.lineage_events import ds, run_event
from tests.openlineage_http import post_event, writer_headers


def test_a_job_event_with_an_event_type_is_accepted(client: TestClient) -> None:
    headers = writer_headers(client)
    event = run_event("static-job", "unused", "COMPLETE", inputs=[ds("jin")],
                      outputs=[ds("jout")])
    del event["run"]
    event["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"
    answer = post_event(client, event, headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["key"].startswith("job|scheduler|static-job|")
    graph, _ = stores(client)
    assert call(client, graph.get_dataset, "warehouse", "jout") is not None


def test_an_event_with_neither_run_nor_job_is_still_refused(client: TestClient) -> None:
    event = run_event("nothing", "unused")
    del event["run"], event["job"]
    answer = post_event(client, event, writer_headers(client))
    assert answer.status_code == 400
    assert any(e["path"] == "(event)" and "'run'" in e["message"]
               for e in answer.json()["errors"]), answer.text
