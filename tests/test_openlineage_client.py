"""A real OpenLineage producer: ``openlineage-python`` with its HTTP transport, pointed at a
real ``peso serve``, emits START and COMPLETE for a job with inputs, outputs and a
column-lineage facet; Peso's GraphQL then shows the graph and the column lineage."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.auth import create_token
from server.models import Role
from server.storage.sqlite.store import SQLiteGraphStore
from tests.serverproc import running_server

openlineage = pytest.importorskip("openlineage.client")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

CRM = "postgres://crm-db:5432"
MART = "s3://marketing-mart"

QUERY = """{
  lineage(namespace: "s3://marketing-mart", name: "audiences/weekly", direction: UPSTREAM,
          depth: 3) {
    nodes { depth dataset { namespace name layer } }
    edges { job viaRun { runId state } }
  }
  impact(namespace: "postgres://crm-db:5432", name: "crm.public.contacts") {
    entries { distance dataset { name } jobs { namespace name } }
  }
  columnLineage(namespace: "s3://marketing-mart", name: "audiences/weekly",
                field: "member_id", direction: UPSTREAM) {
    nodes { depth field dataset { name } }
    edges { upstreamField transformationType transformationSubtype }
  }
  job(namespace: "crm-sync", name: "weekly_audience") {
    runs { totalCount edges { node { state startedAt endedAt
           outputs { dataset { name } outputStatistics } } } }
  }
}"""


def _writer_token(data_dir: Path) -> str:
    async def make() -> str:
        graph = SQLiteGraphStore(str(data_dir / "catalog.db"))
        await graph.open()
        try:
            token, _ = await create_token(graph, name="airflow", role=Role.WRITER, pii=False,
                                          actor="cli")
            return token
        finally:
            await graph.close()
    return asyncio.run(make())


def _events(run_id: str) -> list[Any]:
    from openlineage.client.event_v2 import (
        InputDataset,
        Job,
        OutputDataset,
        Run,
        RunEvent,
        RunState,
    )
    from openlineage.client.facet_v2 import (
        column_lineage_dataset as cl,
    )
    from openlineage.client.facet_v2 import (
        output_statistics_output_dataset as stats,
    )
    from openlineage.client.facet_v2 import (
        schema_dataset as schema,
    )

    def fields(*names: str) -> schema.SchemaDatasetFacet:
        return schema.SchemaDatasetFacet(fields=[schema.SchemaDatasetFacetFields(
            name=n, type="varchar") for n in names])

    contacts = InputDataset(namespace=CRM, name="crm.public.contacts",
                            facets={"schema": fields("id", "email", "segment")})
    lineage = cl.ColumnLineageDatasetFacet(fields={
        "member_id": cl.Fields(inputFields=[cl.InputField(
            namespace=CRM, name="crm.public.contacts", field="id",
            transformations=[cl.Transformation(type="DIRECT", subtype="IDENTITY")])]),
        "segment": cl.Fields(inputFields=[cl.InputField(
            namespace=CRM, name="crm.public.contacts", field="segment",
            transformations=[cl.Transformation(type="INDIRECT", subtype="FILTER")])])})
    weekly = OutputDataset(
        namespace=MART, name="audiences/weekly",
        facets={"schema": fields("member_id", "segment"), "columnLineage": lineage},
        outputFacets={"outputStatistics": stats.OutputStatisticsOutputDatasetFacet(
            rowCount=1234, size=56789)})
    job = Job(namespace="crm-sync", name="weekly_audience")
    return [RunEvent(eventType=state, eventTime=datetime.now(UTC).isoformat(), run=Run(
        runId=run_id), job=job, producer="https://example.org/airflow", inputs=[contacts],
        outputs=[weekly]) for state in (RunState.START, RunState.COMPLETE)]


def test_openlineage_python_over_http(tmp_path: Path) -> None:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

    data_dir = tmp_path / "peso-data"
    data_dir.mkdir()
    token = _writer_token(data_dir)
    with running_server(data_dir) as server:
        transport = HttpTransport(HttpConfig(url=server.base_url, timeout=10,
                                             auth=ApiKeyTokenProvider({"apiKey": token}),
                                             retry={"total": 0}))
        client = OpenLineageClient(transport=transport)
        run_id = str(uuid.uuid4())
        for event in _events(run_id):
            client.emit(event)
        answer = server.graphql(QUERY)
        assert answer.status == 200, answer.text
        body = answer.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]

    assert [(n["dataset"]["name"], n["depth"], n["dataset"]["layer"])
            for n in data["lineage"]["nodes"]] == [
        ("crm.public.contacts", -1, "EXTERNAL"), ("audiences/weekly", 0, "EXTERNAL")]
    assert data["lineage"]["edges"] == [{"job": "weekly_audience",
                                         "viaRun": {"runId": run_id, "state": "COMPLETE"}}]
    assert data["impact"]["entries"] == [{"distance": 1, "dataset": {"name": "audiences/weekly"},
                                          "jobs": [{"namespace": "crm-sync",
                                                    "name": "weekly_audience"}]}]
    columns = data["columnLineage"]
    assert [(n["dataset"]["name"], n["field"], n["depth"]) for n in columns["nodes"]] == [
        ("crm.public.contacts", "id", -1), ("audiences/weekly", "member_id", 0)]
    assert columns["edges"] == [{"upstreamField": "id", "transformationType": "DIRECT",
                                 "transformationSubtype": "IDENTITY"}]
    [run] = data["job"]["runs"]["edges"]
    assert run["node"]["state"] == "COMPLETE"
    assert run["node"]["startedAt"] <= run["node"]["endedAt"]
    [output] = run["node"]["outputs"]
    assert output["outputStatistics"]["rowCount"] == 1234
