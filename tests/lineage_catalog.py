"""OpenLineage data for the whole-catalog transfer tests (``peso migrate``, ``peso export`` /
``peso import``, the transfer contract): a few corpus events when the corpus is there
(``../shared/corpus/openlineage/openlineage_repo/events``), and events built here that give at
least one record of every lineage kind whatever the corpus — jobs with facets, runs that
complete and fail (state times, nominal times, error messages, facets), the datasets they read
and wrote with input/output facets, DERIVED_FROM edges carrying job and run, column lineage,
dataset facets and owners, every event received — plus the GraphQL queries that read all of
it back, compared before and after a transfer."""

from __future__ import annotations

import json
from typing import Any

from server.openlineage.consumer import ingest
from server.storage.graph import GraphStore
from tests.conftest import CORPUS
from tests.lineage_events import PRODUCER, at, column_lineage, ds, run_event

OL_EVENTS = CORPUS / "openlineage" / "openlineage_repo" / "events"
# a run that starts and completes (an edge my-output <- my-input), and a JobEvent (static
# lineage without a run); none shares an event key with another
CORPUS_EVENTS = ("proxy__fluentd__docker__test-start.json",
                 "proxy__fluentd__docker__test-complete.json",
                 "client__python__tests__serde_example_job_event.json")
W = "warehouse"
SPEND_RUN = "0b6c1f6e-3c52-4a57-9a53-1f0a4c1c2d01"
REPORT_RUN = "0b6c1f6e-3c52-4a57-9a53-1f0a4c1c2d02"
FAILED_RUN = "0b6c1f6e-3c52-4a57-9a53-1f0a4c1c2d03"


def _facet(**body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": "https://example.org/facet", **body}


def built_events() -> list[dict[str, Any]]:
    """orders -> spend (job nightly_spend: START, then COMPLETE with column lineage and
    statistics), spend -> spend_report (job report: COMPLETE), and a FAILed run of report."""
    orders = ds("orders", fields=["id", "amount"],
                documentation=_facet(description="Orders as the shop exports them"))
    quality = {"dataQualityMetrics": _facet(rowCount=40, columnMetrics={
        "amount": {"nullCount": 0, "min": 1.5, "max": 99.0}})}
    spend = ds("spend", fields=["id", "amount_eur"],
               ownership=_facet(owners=[{"name": "team:finance", "type": "TEAM"}]),
               columnLineage=column_lineage({"id": [(W, "orders", "id")],
                                             "amount_eur": [(W, "orders", "amount")]},
                                            subtype="TRANSFORMATION"))
    report = ds("spend_report", fields=["day", "total"],
                columnLineage=column_lineage({"total": [(W, "spend", "amount_eur")]}))
    nominal = {"nominalTime": _facet(nominalStartTime=at(0), nominalEndTime=at(60))}
    job_facets = {"documentation": _facet(description="Spend in euros, every night")}
    start = run_event("nightly_spend", SPEND_RUN, "START", minute=0, run_facets=nominal,
                      job_facets=job_facets, inputs=[{**orders, "inputFacets": quality}],
                      outputs=[spend])
    complete = run_event("nightly_spend", SPEND_RUN, "COMPLETE", minute=5, run_facets=nominal,
                         job_facets=job_facets, inputs=[orders], outputs=[{
                             **spend, "outputFacets": {"outputStatistics": _facet(
                                 rowCount=40, size=2048)}}])
    reported = run_event("report", REPORT_RUN, "COMPLETE", minute=10, inputs=[spend],
                         outputs=[report])
    failed = run_event("report", FAILED_RUN, "FAIL", minute=20, inputs=[spend],
                       outputs=[report], run_facets={"errorMessage": _facet(
                           message="disk full", programmingLanguage="PYTHON")})
    return [start, complete, reported, failed]


def corpus_events() -> list[dict[str, Any]]:
    """The corpus events above, or none when the corpus is absent."""
    if not OL_EVENTS.is_dir():
        return []
    return [json.loads((OL_EVENTS / name).read_text(encoding="utf-8"))
            for name in CORPUS_EVENTS]


async def add_lineage(graph: GraphStore, *, actor: str = "test") -> None:
    """Every event above into ``graph`` (the consumer's path: checked, mapped, applied)."""
    for raw in [*corpus_events(), *built_events()]:
        outcome = await ingest(graph, raw, actor=actor)
        assert outcome.result.created, raw.get("eventType")


RUN_FIELDS = """id runId state startedAt endedAt errorMessage nominalStartTime nominalEndTime
  parentRunId facets createdAt updatedAt job { id }
  inputs { role facets dataQualityMetrics dataset { id } }
  outputs { role facets outputStatistics dataset { id } }"""
# the lineage part of the catalog, read back through GraphQL: jobs and their runs, runs,
# lineage whose edges name job and run, column lineage, impact, the dataset facets
LINEAGE_QUERIES: list[str] = [
    """{ jobs(first: 50) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
         id namespace name description facets createdAt updatedAt owners { name }
         inputs { id } outputs { id } latestRun { id state } } } } }""",
    """{ job(namespace: "scheduler", name: "report") { id runs(first: 10) { totalCount
         edges { cursor node { """ + RUN_FIELDS + """ } } } } }""",
    """{ job(namespace: "peso", name: "peso.load") { id description runs(first: 10) {
         totalCount edges { node { """ + RUN_FIELDS + """ } } } } }""",
    """{ runs(first: 50) { totalCount edges { cursor node { id runId state job { name } } } } }""",
    """{ lineage(namespace: "warehouse", name: "spend", direction: BOTH, depth: 3) {
         truncated nodesTotal nodes { id depth dataset { id name layer lineageFacets
         owners { name kind } } }
         edges { transformation job createdAt downstream { id } upstream { id }
                 viaJob { id name } viaRun { id runId state } } } }""",
    """{ columnLineage(namespace: "warehouse", name: "spend", field: "amount_eur",
         direction: BOTH, depth: 3) { truncated nodesTotal nodes { id field depth
         dataset { id } } edges { downstreamField upstreamField transformationType
         transformationSubtype description masking downstream { id } upstream { id }
         viaJob { id } viaRun { id } } } }""",
    """{ impact(namespace: "warehouse", name: "orders", depth: 5) { truncated nodesTotal
         entries { distance dataset { id name } jobNames owners { name } jobs { id name }
         via { job viaJob { id } viaRun { id state } downstream { id } upstream { id } } } } }""",
]
