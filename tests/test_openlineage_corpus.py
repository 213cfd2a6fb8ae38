"""The OpenLineage corpus through ``POST /api/v1/lineage``: every valid event ingests and
produces the jobs, runs, datasets, edges and column lineage it describes; every invalid one
is answered 400 with the reason; the templated expectations are templates, not events.

Corpus: ``../shared/corpus/openlineage/openlineage_repo`` (skipped when absent). Each valid
event goes into its own fresh catalog: two of them (the Python client's full example and
fluentd's event_full) share a runId, eventType and eventTime, which makes the second a replay
of the first when both go into one catalog (see test_two_events_with_one_key_are_one_event).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.models import Direction, RunState
from tests.conftest import CORPUS
from tests.helpers import call, stores
from tests.openlineage_http import post_event, writer_headers

REPO = CORPUS / "openlineage" / "openlineage_repo"
pytestmark = pytest.mark.skipif(not REPO.is_dir(), reason=f"corpus not found at {REPO}")

# file -> (job "ns/name" or None, run state or None, datasets, edges (down <- up), columns)
VALID: dict[str, tuple[str | None, str | None, set[str], set[tuple[str, str]], int]] = {
    "client__python__tests__example_full_event.json": (
        "my-scheduler-namespace/myjob.mytask", "complete",
        {"my-datasource-namespace/instance.schema.table"}, set(), 0),
    "client__python__tests__serde_example_dataset_event.json": (
        None, None, {"openlineage/name"}, set(), 0),
    "client__python__tests__serde_example_job_event.json": (
        "openlineage/name", None, {"openlineage/dataset_a", "openlineage/dataset_b"},
        {("openlineage/dataset_b", "openlineage/dataset_a")}, 0),
    "client__python__tests__serde_example_run_event.json": (
        "openlineage/name", "start", set(), set(), 0),
    "integration__spark__app__src__test__resources__test_data__serde__openlineage-event.json": (
        "namespace/jobName", "start", {"ins/input", "ons/output"},
        {("ons/output", "ins/input")}, 0),
    "proxy__fluentd__docker__test-complete.json": (
        "my-namespace/my-job", "complete", {"my-namespace/my-input", "my-namespace/my-output"},
        {("my-namespace/my-output", "my-namespace/my-input")}, 0),
    "proxy__fluentd__docker__test-start.json": (
        "my-namespace/my-job", "start", {"my-namespace/my-input", "my-namespace/my-output"},
        {("my-namespace/my-output", "my-namespace/my-input")}, 0),
    "proxy__fluentd__events__event_full.json": (
        "my-scheduler-namespace/myjob.mytask", "complete",
        {"my-datasource-namespace/instance.schema.table"}, set(), 0),
    "proxy__fluentd__events__event_simple.json": (
        "my-scheduler-namespace/myjob", "complete",
        {f"my-datasource-namespace/instance.schema.{n}"
         for n in ("input-1", "input-2", "output-1")},
        {("my-datasource-namespace/instance.schema.output-1",
          "my-datasource-namespace/instance.schema.input-1"),
         ("my-datasource-namespace/instance.schema.output-1",
          "my-datasource-namespace/instance.schema.input-2")}, 0),
}
INVALID: dict[str, tuple[str, str]] = {
    "event_invalid_dataset_facet.json": ("outputs[0].facets.ownership.owners[0]",
                                         "'name' is a required property"),
    "event_invalid_input_dataset_facet.json": ("inputs[0].inputFacets.dataQualityMetrics",
                                               "'columnMetrics' is a required property"),
    "event_invalid_job_facet.json": ("job.facets.ownership.owners[0]",
                                     "'name' is a required property"),
    "event_invalid_output_dataset_facet.json": (
        "outputs[0].outputFacets.outputStatistics.rowCount", "'wrong' is not of type 'integer'"),
    "event_invalid_run_facet.json": ("run.facets.parent.run", "'runId' is a required property"),
    "event_no_run_id.json": ("run", "'runId' is a required property"),
}
DBT = ("integration__common__tests__dbt__structured_logs__postgres__seed__results__"
       "seed_ol_events.json")
SPARK_TEMPLATE = "integration__spark__cli__tests__test_simple__example_expected_event_complete.json"


def _load(folder: str, name: str) -> Any:
    return json.loads((REPO / folder / name).read_text(encoding="utf-8"))


def test_the_corpus_lists_what_this_test_expects() -> None:
    assert {p.name for p in (REPO / "events").glob("*.json")} == set(VALID)
    assert {p.name for p in (REPO / "invalid_events").glob("*.json")} == set(INVALID)


def _graph_state(client: TestClient) -> tuple[set[str], set[str], set[tuple[str, str]],
                                               list[Any], int]:
    graph, _ = stores(client)

    async def read() -> tuple[set[str], set[str], set[tuple[str, str]], list[Any], int]:
        from server.models import DatasetFilter, PageRequest

        jobs = {f"{j.namespace}/{j.name}" for j in (await graph.list_jobs(first=50)).items}
        page = await graph.list_datasets(DatasetFilter(), PageRequest(first=50))
        datasets = {f"{d.namespace}/{d.name}" for d in page.items}
        names = {d.id: f"{d.namespace}/{d.name}" for d in page.items}
        edges, columns = set(), 0
        for d in page.items:
            g = await graph.walk_lineage(d.id, direction=Direction.UPSTREAM, depth=1,
                                         max_nodes=50)
            edges |= {(names[e.downstream_id], names[e.upstream_id]) for e in g.edges}
            for f in (await graph.get_dataset_facets([d.id]))[0].get("schema", {}).get(
                    "fields", []):
                c = await graph.walk_column_lineage(d.id, f["name"], direction=Direction.BOTH,
                                                    depth=1, max_nodes=50)
                columns += len(c.edges)
        runs = (await graph.list_runs(first=50)).items
        return jobs, datasets, edges, runs, columns
    result: tuple[set[str], set[str], set[tuple[str, str]], list[Any], int] = call(client, read)
    return result


@pytest.mark.parametrize("name", sorted(VALID))
def test_every_valid_event_ingests(client: TestClient, name: str) -> None:
    job, state, datasets, edges, columns = VALID[name]
    headers = writer_headers(client)
    event = _load("events", name)
    answer = post_event(client, event, headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "created"
    replay = post_event(client, event, headers)
    assert (replay.status_code, replay.json()["status"]) == (200, "skipped")
    jobs, found, found_edges, runs, found_columns = _graph_state(client)
    assert jobs == ({job} if job else set())
    assert found == datasets
    assert found_edges == edges
    assert found_columns == columns
    assert [r.state for r in runs] == ([RunState(state)] if state else [])


def test_what_the_facets_of_the_full_events_become(client: TestClient) -> None:
    headers = writer_headers(client)
    assert post_event(client, _load("events", "proxy__fluentd__events__event_full.json"),
                      headers).status_code == 201
    graph, _ = stores(client)
    table = call(client, graph.get_dataset, "my-datasource-namespace", "instance.schema.table")
    assert table.description == "canonical representation of entity Foo"
    [source] = call(client, graph.get_sources, [table.source_id])
    assert source.name == "string"
    [facets] = call(client, graph.get_dataset_facets, [table.id])
    assert {"additionalProp1", "additionalProp2", "additionalProp3"} <= set(facets)  # kept
    [[version]] = call(client, graph.list_versions, [table.id])
    [fields] = call(client, graph.get_fields, [version.id])
    assert [(f.name, f.arrow_type, f.description, f.metadata) for f in fields] == [
        ("column1", "string", "string", {"source_type": "VARCHAR"})]  # mapped, declared kept
    [run] = call(client, graph.get_runs, ["ea041791-68bc-4ae1-bd89-4c8106a157e4"])
    assert run.parent_run_id == "3f5e83fa-3480-44ff-99c5-ff943904e5e8"
    assert run.nominal_start is not None
    [io] = call(client, graph.get_run_datasets, [run.id])
    assert io[0].facets["dataQualityMetrics"]["rowCount"] == 1000
    assert io[0].facets["dataQualityAssertions"]["assertions"][1]["column"] == "id"


def test_the_spark_event_keeps_its_error_and_quality_metrics(client: TestClient) -> None:
    name = "integration__spark__app__src__test__resources__test_data__serde__openlineage-event.json"
    answer = post_event(client, _load("events", name), writer_headers(client))
    assert answer.status_code == 201, answer.text
    assert set(answer.json()["defaulted"]) >= {"producer", "schemaURL", "facet _producer"}
    graph, _ = stores(client)
    [run] = call(client, graph.get_runs, ["5f24c93c-2ce9-49dc-82e7-95ab4915242f"])
    assert (run.state, run.error_message, run.parent_run_id) == (RunState.START, "failed", None)
    assert run.facets["parent"]["job"]["name"] == "jobName"   # a job-only parent, kept
    [io] = call(client, graph.get_run_datasets, [run.id])
    metrics = {d.role.value: d.facets for d in io}
    assert metrics["input"]["dataQualityMetrics"]["columnMetrics"]["mycol"]["nullCount"] == 1
    assert metrics["output"]["outputStatistics"]["rowCount"] == 10


def test_two_events_with_one_key_are_one_event(client: TestClient) -> None:
    headers = writer_headers(client)
    first = post_event(client, _load("events",
                                     "client__python__tests__example_full_event.json"), headers)
    second = post_event(client, _load("events", "proxy__fluentd__events__event_full.json"),
                        headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["key"] == second.json()["key"]


@pytest.mark.parametrize("name", sorted(INVALID))
def test_every_invalid_event_is_refused_with_the_reason(client: TestClient, name: str) -> None:
    answer = post_event(client, _load("invalid_events", name), writer_headers(client))
    assert answer.status_code == 400, answer.text
    errors = answer.json()["errors"]
    assert {"path": INVALID[name][0], "message": INVALID[name][1]} in errors
    jobs, datasets, _, runs, _ = _graph_state(client)
    assert (jobs, datasets, runs) == (set(), set(), [])


def test_templated_expectations_are_templates_not_events(client: TestClient) -> None:
    headers = writer_headers(client)
    for event in _load("templated_expected", DBT):
        answer = post_event(client, event, headers)
        assert answer.status_code == 400
        assert {"path": "run.runId",
                "message": "'{{ any(result) }}' is not a 'uuid'"} in answer.json()["errors"]
    answer = post_event(client, _load("templated_expected", SPARK_TEMPLATE), headers)
    assert answer.status_code == 400
    assert {e["message"] for e in answer.json()["errors"]} >= {
        "'eventTime' is a required property", "'runId' is a required property"}


def _filled(event: dict[str, Any]) -> dict[str, Any]:
    """A dbt template made an event: runIds from the job names, other matchers a string."""
    def run_id(job: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, job))
    text = json.dumps(event).replace('"{{ any(result) }}"', '"1.0"')
    filled: dict[str, Any] = json.loads(text)
    filled["run"]["runId"] = run_id(filled["job"]["name"])
    parent = filled["run"].get("facets", {}).get("parent")
    if parent:
        parent["run"]["runId"] = run_id(parent["job"]["name"])
    return filled


def test_the_dbt_template_filled_in_ingests_with_tolerant_defaults(client: TestClient) -> None:
    headers = writer_headers(client)
    events = [_filled(e) for e in _load("templated_expected", DBT)]
    answer = client.post("/api/v1/lineage", json=events, headers=headers)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["created"] * 12
    assert "producer" in results[0]["defaulted"]
    jobs, datasets, _, runs, _ = _graph_state(client)
    assert "dbt-test-namespace/dbt-run-jaffle_shop" in jobs
    assert datasets == {"postgres://postgres:5432/postgres.public.raw_customers"}
    assert len(runs) == 6
    assert all(r.state is RunState.COMPLETE for r in runs)
    graph, _ = stores(client)
    seed = call(client, graph.get_job, "dbt-test-namespace", "seed.jaffle_shop.raw_customers")
    [run] = call(client, graph.get_runs, [str(uuid.uuid5(uuid.NAMESPACE_URL, seed.name))])
    assert run.parent_run_id == str(uuid.uuid5(uuid.NAMESPACE_URL, "dbt-run-jaffle_shop"))
    [source] = call(client, graph.get_sources, [call(
        client, graph.get_dataset, "postgres://postgres:5432",
        "postgres.public.raw_customers").source_id])
    assert source.url == "postgres://postgres:5432"

