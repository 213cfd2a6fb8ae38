"""OpenLineage events for tests, built as the JSON a producer sends (no corpus needed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from server.lineage_event import LineageEvent
from server.openlineage.consumer import prepare

PRODUCER = "https://example.org/tests"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_URL = "https://openlineage.io/spec/facets/1-0-0/SchemaDatasetFacet.json"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def new_run_id() -> str:
    return str(uuid.uuid4())


def ds(name: str, namespace: str = "warehouse", *, fields: list[str] | None = None,
       **facets: Any) -> dict[str, Any]:
    """A dataset, optionally with a schema facet (string fields) and more facets."""
    out: dict[str, Any] = {"namespace": namespace, "name": name, "facets": dict(facets)}
    if fields is not None:
        out["facets"]["schema"] = {"_producer": PRODUCER, "_schemaURL": FACET_URL,
                                   "fields": [{"name": f, "type": "string"} for f in fields]}
    return out


def column_lineage(mapping: dict[str, list[tuple[str, str, str]]],
                   subtype: str = "IDENTITY") -> dict[str, Any]:
    """A columnLineage facet: output field -> [(input namespace, input name, input field)]."""
    return {"_producer": PRODUCER, "_schemaURL": FACET_URL, "fields": {
        out: {"inputFields": [{"namespace": ns, "name": name, "field": field,
                               "transformations": [{"type": "DIRECT", "subtype": subtype,
                                                    "description": f"{field} as {out}",
                                                    "masking": False}]}
                              for ns, name, field in inputs]}
        for out, inputs in mapping.items()}}


def run_event(job: str, run_id: str, event_type: str = "COMPLETE", *,
              inputs: list[dict[str, Any]] | None = None,
              outputs: list[dict[str, Any]] | None = None, minute: float = 0,
              namespace: str = "scheduler", run_facets: dict[str, Any] | None = None,
              job_facets: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"eventType": event_type, "eventTime": at(minute),
            "run": {"runId": run_id, "facets": run_facets or {}},
            "job": {"namespace": namespace, "name": job, "facets": job_facets or {}},
            "inputs": inputs or [], "outputs": outputs or [],
            "producer": PRODUCER, "schemaURL": SCHEMA_URL}


def event(raw: dict[str, Any]) -> LineageEvent:
    """The LineageEvent a store is given for ``raw`` (checked and mapped)."""
    return prepare(raw).event


def derive(job: str, outputs: list[str], inputs: list[str], *, minute: float = 0,
           event_type: str = "COMPLETE", run_id: str | None = None) -> LineageEvent:
    """A run of ``job`` that read ``inputs`` and wrote ``outputs`` (warehouse datasets)."""
    return event(run_event(job, run_id or new_run_id(), event_type,
                           inputs=[ds(n) for n in inputs], outputs=[ds(n) for n in outputs],
                           minute=minute))
