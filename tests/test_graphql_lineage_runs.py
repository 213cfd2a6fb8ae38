"""GraphQL: lineage (maxNodes, truncation, typed ids, jobs and runs on edges), impact,
lineagePath, columnLineage, jobs / job / runs, Job and Run as nodes, and the limits."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import gql
from tests.helpers import call, messages, q, stores
from tests.lineage_events import PRODUCER, column_lineage, ds, event, new_run_id, run_event

W = "warehouse"


def ingest(client: TestClient, raw: dict[str, Any]) -> None:
    graph, _ = stores(client)
    call(client, graph.ingest_lineage_event, event(raw), actor="test")


OWNERS = {"ownership": {"_producer": PRODUCER, "_schemaURL": "x",
                        "owners": [{"name": "team:audiences"}]}}


@pytest.fixture
def crm(client: TestClient) -> TestClient:
    """crm_export -> crm_clean -> {audience, scores}; audience -> ads_upload (by jobs)."""
    ingest(client, run_event("clean", new_run_id(), inputs=[ds("crm_export", fields=["id"])],
                             outputs=[ds("crm_clean", fields=["id"], columnLineage=column_lineage(
                                 {"id": [(W, "crm_export", "id")]}))]))
    ingest(client, run_event("segment", new_run_id(), inputs=[ds("crm_clean")],
                             outputs=[ds("audience", **OWNERS), ds("scores")]))
    ingest(client, run_event("sync", new_run_id(), inputs=[ds("audience")],
                             outputs=[ds("ads_upload")]))
    return client


LINEAGE = """query($name: String!, $direction: LineageDirection!, $depth: Int!, $max: Int) {
  lineage(namespace: "warehouse", name: $name, direction: $direction, depth: $depth,
          maxNodes: $max) {
    truncated nodesTotal nodesReturned
    nodes { id depth dataset { id name layer } }
    edges { job downstream { name } upstream { name }
            viaJob { namespace name } viaRun { runId state job { name } } }
  }
}"""


def test_lineage_with_jobs_runs_and_typed_ids(crm: TestClient) -> None:
    got = q(crm, LINEAGE, name="ads_upload", direction="UPSTREAM", depth=5)["lineage"]
    assert [(n["dataset"]["name"], n["depth"]) for n in got["nodes"]] == [
        ("crm_export", -3), ("crm_clean", -2), ("audience", -1), ("ads_upload", 0)]
    assert all(n["id"] == n["dataset"]["id"] for n in got["nodes"])
    assert {n["dataset"]["layer"] for n in got["nodes"]} == {"EXTERNAL"}
    assert (got["truncated"], got["nodesTotal"], got["nodesReturned"]) == (False, 4, 4)
    edge = got["edges"][0]
    assert (edge["downstream"]["name"], edge["job"], edge["viaJob"]["name"]) == (
        "ads_upload", "sync", "sync")
    assert edge["viaRun"]["state"] == "COMPLETE"
    assert edge["viaRun"]["job"]["name"] == "sync"


def test_lineage_stops_at_max_nodes(crm: TestClient) -> None:
    got = q(crm, LINEAGE, name="crm_clean", direction="BOTH", depth=5, max=2)["lineage"]
    assert [(n["dataset"]["name"], n["depth"]) for n in got["nodes"]] == [
        ("crm_export", -1), ("crm_clean", 0)]
    assert got["truncated"] is True
    assert got["nodesTotal"] >= 3


@pytest.mark.parametrize(("variables", "says"), [
    ({"depth": 21}, "depth must be between 1 and 20, got 21"),
    ({"depth": 0}, "depth must be between 1 and 20, got 0"),
    ({"depth": 3, "max": 1001}, "maxNodes must be between 1 and 1000 (PESO_MAX_LINEAGE_NODES), "
                                "got 1001"),
    ({"depth": 3, "max": 0}, "maxNodes must be between 1 and 1000 (PESO_MAX_LINEAGE_NODES), "
                             "got 0"),
])
def test_walk_limits_are_clear_errors(client: TestClient, variables: dict[str, int],
                                      says: str) -> None:
    body = gql(client, LINEAGE, {"name": "x", "direction": "BOTH", **variables})
    assert messages(body) == [says]
    for field in ("impact", "columnLineage"):
        extra = ', field: "f"' if field == "columnLineage" else ""
        depth = variables["depth"]
        text = (f'{{ {field}(namespace: "w", name: "x"{extra}, depth: {depth}, '
                f'maxNodes: {variables.get("max", 5)}) {{ truncated }} }}')
        assert messages(gql(client, text)) == [says]
    body = gql(client, '{ lineagePath(from: {namespace: "a", name: "b"}, to: {namespace: "a", '
                       'name: "c"}, maxDepth: 25) { length } }')
    assert messages(body) == ["maxDepth must be between 1 and 20, got 25"]


def test_impact_is_the_who_to_warn_list(crm: TestClient) -> None:
    got = q(crm, """{ impact(namespace: "warehouse", name: "crm_export") {
        truncated nodesTotal dataset { name }
        entries { distance dataset { name } owners { name kind } jobs { name } jobNames
                  via { upstream { name } } } } }""")["impact"]
    assert (got["dataset"]["name"], got["truncated"], got["nodesTotal"]) == ("crm_export",
                                                                           False, 5)
    assert [(e["dataset"]["name"], e["distance"], e["jobNames"]) for e in got["entries"]] == [
        ("crm_clean", 1, ["clean"]), ("audience", 2, ["segment"]), ("scores", 2, ["segment"]),
        ("ads_upload", 3, ["sync"])]
    audience = got["entries"][1]
    assert audience["owners"] == [{"name": "team:audiences", "kind": "TEAM"}]
    assert audience["jobs"] == [{"name": "segment"}]
    assert audience["via"] == [{"upstream": {"name": "crm_clean"}}]
    assert q(crm, '{ impact(namespace: "warehouse", name: "nope") { truncated } }') == {
        "impact": None}


PATH = """query($from: DatasetRef!, $to: DatasetRef!) {
  lineagePath(from: $from, to: $to) {
    direction length truncated from { name } to { name }
    paths { datasets { name } edges { job downstream { name } upstream { name } } }
  }
}"""


def test_lineage_path_both_ways(crm: TestClient) -> None:
    def ref(name: str) -> dict[str, str]:
        return {"namespace": W, "name": name}
    got = q(crm, PATH, **{"from": ref("crm_export"), "to": ref("ads_upload")})["lineagePath"]
    assert (got["direction"], got["length"], got["truncated"]) == ("DOWNSTREAM", 3, False)
    [path] = got["paths"]
    assert [d["name"] for d in path["datasets"]] == ["crm_export", "crm_clean", "audience",
                                                      "ads_upload"]
    assert [e["job"] for e in path["edges"]] == ["clean", "segment", "sync"]
    back = q(crm, PATH, **{"from": ref("ads_upload"), "to": ref("crm_clean")})["lineagePath"]
    assert (back["direction"], back["length"]) == ("UPSTREAM", 2)
    none = q(crm, PATH, **{"from": ref("scores"), "to": ref("ads_upload")})["lineagePath"]
    assert (none["paths"], none["length"]) == ([], None)
    assert q(crm, PATH, **{"from": ref("scores"), "to": ref("missing")}) == {
        "lineagePath": None}


def test_column_lineage(crm: TestClient) -> None:
    got = q(crm, """{ columnLineage(namespace: "warehouse", name: "crm_clean", field: "id",
                                    direction: UPSTREAM) {
        truncated nodesTotal nodes { id depth field dataset { name } }
        edges { downstream { name } downstreamField upstream { name } upstreamField
                transformationType transformationSubtype description masking
                viaJob { name } viaRun { state } } } }""")["columnLineage"]
    assert [(n["dataset"]["name"], n["field"], n["depth"]) for n in got["nodes"]] == [
        ("crm_export", "id", -1), ("crm_clean", "id", 0)]
    assert len({n["id"] for n in got["nodes"]}) == 2
    [edge] = got["edges"]
    assert (edge["transformationType"], edge["transformationSubtype"], edge["masking"]) == (
        "DIRECT", "IDENTITY", False)
    assert (edge["viaJob"]["name"], edge["viaRun"]["state"]) == ("clean", "COMPLETE")


def test_jobs_job_and_runs(crm: TestClient) -> None:
    run_ids = [new_run_id() for _ in range(3)]
    for i, run_id in enumerate(run_ids):
        ingest(crm, run_event("sync", run_id, "START", minute=10 + i,
                              inputs=[{**ds("audience"), "inputFacets": {
                                  "dataQualityMetrics": {"_producer": PRODUCER,
                                                         "_schemaURL": "x", "rowCount": i,
                                                         "columnMetrics": {}}}}]))
    page = q(crm, "{ jobs(first: 2) { totalCount edges { cursor node { name } } "
                  "pageInfo { hasNextPage endCursor } } }")["jobs"]
    assert page["totalCount"] == 3
    assert [e["node"]["name"] for e in page["edges"]] == ["clean", "segment"]
    rest = q(crm, "query($after: String) { jobs(first: 2, after: $after) { edges { node "
                  "{ name } } pageInfo { hasNextPage } } }",
             after=page["pageInfo"]["endCursor"])["jobs"]
    assert ([e["node"]["name"] for e in rest["edges"]], rest["pageInfo"]["hasNextPage"]) == (
        ["sync"], False)
    job = q(crm, """{ job(namespace: "scheduler", name: "sync") {
        id name inputs { name } outputs { name } latestRun { runId state }
        runs(first: 2) { totalCount edges { node { runId } } pageInfo { endCursor } } } }""")[
        "job"]
    assert ([d["name"] for d in job["inputs"]], [d["name"] for d in job["outputs"]]) == (
        ["audience"], ["ads_upload"])
    assert job["latestRun"] == {"runId": run_ids[-1], "state": "START"}
    assert job["runs"]["totalCount"] == 4
    assert [e["node"]["runId"] for e in job["runs"]["edges"]] == run_ids[::-1][:2]
    runs = q(crm, """query($after: String) { runs(job: {namespace: "scheduler", name: "sync"},
        first: 2, after: $after) { edges { node { id runId state startedAt job { name }
        inputs { role dataset { name } dataQualityMetrics } } } } }""",
             after=job["runs"]["pageInfo"]["endCursor"])["runs"]
    assert runs["edges"][0]["node"]["runId"] == run_ids[0]
    first_run = runs["edges"][0]["node"]
    assert first_run["inputs"] == [{"role": "INPUT", "dataset": {"name": "audience"},
                                    "dataQualityMetrics": first_run["inputs"][0][
                                        "dataQualityMetrics"]}]
    assert first_run["inputs"][0]["dataQualityMetrics"]["rowCount"] == 0
    nodes = q(crm, """query($job: ID!, $run: ID!) {
        j: node(id: $job) { ... on Job { name } }
        r: node(id: $run) { ... on Run { runId job { name } } } }""",
              job=job["id"], run=first_run["id"])
    assert nodes == {"j": {"name": "sync"}, "r": {"runId": run_ids[0], "job": {"name": "sync"}}}
    assert q(crm, '{ runs(job: {namespace: "scheduler", name: "nope"}) { totalCount } }') == {
        "runs": {"totalCount": 0}}
    assert q(crm, "{ runs { totalCount } }")["runs"]["totalCount"] == 6
    assert q(crm, '{ job(namespace: "scheduler", name: "nope") { id } }') == {"job": None}


def test_dataset_lineage_facets(crm: TestClient) -> None:
    got = q(crm, '{ dataset(namespace: "warehouse", name: "audience") { lineageFacets '
                 "owners { name } } }")["dataset"]
    assert got["lineageFacets"]["ownership"]["owners"] == [{"name": "team:audiences"}]
    assert got["owners"] == [{"name": "team:audiences"}]
