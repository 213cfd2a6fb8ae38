"""The demo catalog's lineage, as the OpenLineage events a scheduler would send.

Two jobs of a made-up Airflow (namespace ``acme.airflow``) derive the gold datasets from the
loaded ones; each has one run (START, then COMPLETE five minutes later) whose outputs carry a
``columnLineage`` facet, so every lineage query in README has something to show: ``impact``
lists jobs, ``lineagePath`` edges have a ``viaRun``, ``columnLineage`` walks fields. Run ids
and event times are fixed, so a second ``peso demo`` replays the same events: a no-op.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from server.openlineage.consumer import ingest
from server.openlineage.validate import SPEC_2_0_2
from server.storage.graph import GraphStore

NAMESPACE = "acme.airflow"
PRODUCER = "https://github.com/peso/demo"
FACETS = "https://openlineage.io/spec/facets/1-0-1"
STARTED = datetime(2026, 10, 31, 6, 0, tzinfo=UTC)
RUN_IDS = uuid.UUID("6f0c7a52-53f4-4d0c-9b59-1c9a0de1e0aa")  # uuid5 namespace for the runs

Column = tuple[str, str, str, str, str]  # input namespace, name, field, type, subtype


def _mapping(**fields: list[Column]) -> dict[str, list[Column]]:
    return fields


CUSTOMERS, SESSIONS = ("crm", "customers"), ("web", "sessions")
META, GOOGLE = ("ads", "meta_campaign_daily"), ("ads", "google_campaign_daily")
AUDIENCE = ("marketing", "audience_segments")
PERFORMANCE = ("marketing", "campaign_performance")

# (job, description, inputs, output, output field -> its input fields)
JOBS: list[tuple[str, str, list[tuple[str, str]], tuple[str, str], dict[str, list[Column]]]] = [
    ("marketing.build_audience_segments",
     "RFM scoring of customers with engagement features from web sessions.",
     [CUSTOMERS, SESSIONS], AUDIENCE, _mapping(
         customer_id=[(*CUSTOMERS, "customer_id", "DIRECT", "IDENTITY"),
                      (*SESSIONS, "customer_id", "INDIRECT", "JOIN")],
         segment=[(*CUSTOMERS, "orders", "DIRECT", "TRANSFORMATION"),
                  (*CUSTOMERS, "lifetime_value", "DIRECT", "TRANSFORMATION")],
         score=[(*CUSTOMERS, "lifetime_value", "DIRECT", "AGGREGATION"),
                (*CUSTOMERS, "orders", "DIRECT", "AGGREGATION"),
                (*SESSIONS, "pages", "DIRECT", "AGGREGATION")])),
    ("marketing.build_campaign_performance",
     "Daily rollup of Meta and Google delivery, with audience attribution.",
     [META, GOOGLE, AUDIENCE], PERFORMANCE, _mapping(
         date=[(*META, "date", "DIRECT", "IDENTITY"), (*GOOGLE, "date", "DIRECT", "IDENTITY")],
         channel=[(*META, "campaign_id", "DIRECT", "TRANSFORMATION"),
                  (*GOOGLE, "campaign_id", "DIRECT", "TRANSFORMATION")],
         spend_eur=[(*META, "spend_eur", "DIRECT", "AGGREGATION"),
                    (*GOOGLE, "spend_eur", "DIRECT", "AGGREGATION")],
         attributed_revenue_eur=[(*META, "conversions", "DIRECT", "AGGREGATION"),
                                 (*GOOGLE, "conversions", "DIRECT", "AGGREGATION"),
                                 (*AUDIENCE, "score", "INDIRECT", "GROUP_BY")],
         roas=[(*META, "spend_eur", "DIRECT", "TRANSFORMATION"),
               (*GOOGLE, "spend_eur", "DIRECT", "TRANSFORMATION")])),
]


def _facet(schema: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACETS}/{schema}.json", **body}


def _column_lineage(mapping: dict[str, list[Column]]) -> dict[str, Any]:
    return _facet("ColumnLineageDatasetFacet", fields={
        out: {"inputFields": [{"namespace": ns, "name": name, "field": field,
                               "transformations": [{"type": kind, "subtype": subtype,
                                                    "masking": False}]}
                              for ns, name, field, kind, subtype in inputs]}
        for out, inputs in mapping.items()})


def events() -> list[dict[str, Any]]:
    """Every demo event, in the order a scheduler would send them."""
    out: list[dict[str, Any]] = []
    for i, (job, description, inputs, output, mapping) in enumerate(JOBS):
        run_id = str(uuid.uuid5(RUN_IDS, job))
        start = STARTED + timedelta(minutes=30 * i)
        for event_type, at in (("START", start), ("COMPLETE", start + timedelta(minutes=5))):
            outputs: list[dict[str, Any]] = [{"namespace": output[0], "name": output[1],
                                             "facets": {}}]
            if event_type == "COMPLETE":
                outputs[0]["facets"]["columnLineage"] = _column_lineage(mapping)
            out.append({
                "eventType": event_type, "eventTime": at.isoformat(),
                "run": {"runId": run_id, "facets": {}},
                "job": {"namespace": NAMESPACE, "name": job, "facets": {
                    "documentation": _facet("DocumentationJobFacet", description=description)}},
                "inputs": [{"namespace": ns, "name": name, "facets": {}} for ns, name in inputs],
                "outputs": outputs,
                "producer": PRODUCER, "schemaURL": f"{SPEC_2_0_2}#/$defs/RunEvent"})
    return out


async def record_demo_lineage(graph: GraphStore, *, actor: str) -> int:
    """Ingest the demo's events; return how many were new (0 on a second run)."""
    new = 0
    for event in events():
        outcome = await ingest(graph, event, actor=actor)
        new += outcome.result.created
    return new
