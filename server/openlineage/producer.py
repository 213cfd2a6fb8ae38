"""Peso as an OpenLineage producer: ``peso load`` / ``loadFile`` and ``peso migrate`` report
themselves as runs (START, then COMPLETE or FAIL with an ``errorMessage`` facet) of jobs in
namespace ``peso`` (``peso.load``, ``peso.migrate``).

Every event goes into the catalog's own lineage through the consumer's code path
(``consumer.ingest``: checked against the same schemas as anyone's), and, when
PESO_OPENLINEAGE_URL is set, is POSTed to that consumer too (``FORWARD_TIMEOUT`` seconds at
most). Reporting never fails the work it reports on: a refused or failed event is logged.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from server import __version__
from server.errors import PesoError
from server.openlineage.consumer import ingest
from server.openlineage.validate import SPEC_2_0_2, facet_id
from server.public_text import strip_paths
from server.storage.graph import GraphStore

log = logging.getLogger("peso.openlineage")

NAMESPACE = "peso"
PRODUCER = f"urn:peso:{__version__}"
FORWARD_TIMEOUT = 5.0


def _facet(name: str, **body: Any) -> dict[str, Any]:
    """A facet of a schema Peso bundles, with its _producer and _schemaURL."""
    return {"_producer": PRODUCER, "_schemaURL": f"{facet_id(name)}#/$defs/{name}", **body}


def _custom(**body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{SPEC_2_0_2}#/$defs/BaseFacet", **body}


# the run facet naming the process a Peso run runs in: how `server/stale_runs.py` tells a run
# whose process is gone (killed mid-load) from one still at work
PROCESS_FACET = "pesoProcess"


def process_facet() -> dict[str, Any]:
    return _custom(host=socket.gethostname(), pid=os.getpid())


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str
    description: str | None = None


@dataclass
class DatasetRef:
    """A dataset as a Peso event names it, with the facets Peso knows for it."""

    namespace: str
    name: str
    fields: Sequence[Field] | None = None
    rows: int | None = None          # outputs: outputStatistics
    size: int | None = None
    derived: Sequence[tuple[str, DatasetRef, str]] = ()  # (field, from dataset, from field)
    facets: dict[str, Any] = field(default_factory=dict)

    def as_json(self, *, output: bool) -> dict[str, Any]:
        facets = dict(self.facets)
        if self.fields is not None:
            facets["schema"] = _facet("SchemaDatasetFacet", fields=[
                {"name": f.name, "type": f.type,
                 **({"description": f.description} if f.description else {})}
                for f in self.fields])
        if self.derived:
            by_field: dict[str, list[dict[str, Any]]] = {}
            for out_field, src, src_field in self.derived:
                by_field.setdefault(out_field, []).append({
                    "namespace": src.namespace, "name": src.name, "field": src_field,
                    "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION",
                                         "description": "cleaned and typed by peso load",
                                         "masking": False}]})
            facets["columnLineage"] = _facet("ColumnLineageDatasetFacet", fields={
                name: {"inputFields": inputs} for name, inputs in by_field.items()})
        out: dict[str, Any] = {"namespace": self.namespace, "name": self.name,
                               "facets": facets}
        if output and self.rows is not None:
            stats = {"rowCount": self.rows, **({"size": self.size} if self.size else {})}
            out["outputFacets"] = {"outputStatistics": _facet(
                "OutputStatisticsOutputDatasetFacet", **stats)}
        return out


class Emitter:
    """Where Peso's own events go: the catalog (unless ``graph`` is None) and
    PESO_OPENLINEAGE_URL (if set)."""

    def __init__(self, graph: GraphStore | None, *, forward_url: str = "", actor: str = "peso",
                 timeout: float = FORWARD_TIMEOUT) -> None:
        self.graph, self.forward_url, self.actor, self.timeout = (graph, forward_url, actor,
                                                                  timeout)

    def run(self, job: str, description: str) -> ProducedRun:
        return ProducedRun(self, job, description)

    async def emit(self, event: dict[str, Any]) -> None:
        if self.graph is not None:  # None: only forward (see migrate_run)
            try:
                await ingest(self.graph, event, actor=self.actor)
            except PesoError as exc:
                log.warning("OpenLineage event of %s not recorded: %s", event["job"]["name"],
                            exc.message)
        if self.forward_url:
            await self.forward(event)

    async def forward(self, event: dict[str, Any]) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.post(self.forward_url, json=event)
            if answer.status_code >= 300:
                log.warning("OpenLineage consumer %s answered %s: %s", self.forward_url,
                            answer.status_code, answer.text[:200])
        except httpx.HTTPError as exc:
            log.warning("OpenLineage consumer %s unreachable: %s", self.forward_url, exc)


class ProducedRun:
    """One run of a Peso job: ``start()``, then ``complete(…)`` or ``fail(…)``."""

    def __init__(self, emitter: Emitter, job: str, description: str) -> None:
        self.emitter, self.job, self.description = emitter, job, description
        self.run_id = str(uuid.uuid4())

    def event(self, event_type: str, *, inputs: Sequence[DatasetRef] = (),
              outputs: Sequence[DatasetRef] = (),
              run_facets: dict[str, Any] | None = None,
              process: bool = True) -> dict[str, Any]:
        """One event; ``process``: name this process in it (not when closing another's run)."""
        return {
            "eventType": event_type,
            "eventTime": datetime.now(UTC).isoformat(timespec="microseconds"),
            "run": {"runId": self.run_id, "facets": {
                "processing_engine": _custom(name="peso", version=__version__),
                **({PROCESS_FACET: process_facet()} if process else {}),
                **(run_facets or {})}},
            "job": {"namespace": NAMESPACE, "name": self.job, "facets": {
                "documentation": _facet("DocumentationJobFacet", description=self.description),
                "jobType": _custom(processingType="BATCH", integration="PESO",
                                   jobType=self.job.rsplit(".", 1)[-1].upper())}},
            "inputs": [d.as_json(output=False) for d in inputs],
            "outputs": [d.as_json(output=True) for d in outputs],
            "producer": PRODUCER,
            "schemaURL": f"{SPEC_2_0_2}#/$defs/RunEvent",
        }

    async def start(self, inputs: Sequence[DatasetRef] = (),
                    outputs: Sequence[DatasetRef] = ()) -> None:
        await self.emitter.emit(self.event("START", inputs=inputs, outputs=outputs))

    async def complete(self, inputs: Sequence[DatasetRef] = (),
                       outputs: Sequence[DatasetRef] = (),
                       run_facets: dict[str, Any] | None = None) -> None:
        await self.emitter.emit(self.event("COMPLETE", inputs=inputs, outputs=outputs,
                                           run_facets=run_facets))

    async def abort(self, reason: str) -> None:
        """Close the run as ABORT, saying why (``errorMessage``): its process is gone."""
        facet = _facet("ErrorMessageRunFacet", message=strip_paths(reason)[:10_000],
                       programmingLanguage="PYTHON")
        await self.emitter.emit(self.event("ABORT", run_facets={"errorMessage": facet},
                                           process=False))

    async def fail(self, error: BaseException | str, inputs: Sequence[DatasetRef] = (),
                   outputs: Sequence[DatasetRef] = ()) -> None:
        message = error if isinstance(error, str) else (
            error.message if isinstance(error, PesoError) else f"{type(error).__name__}: "
                                                               f"{error}")
        stack = "" if isinstance(error, str) else "".join(
            traceback.format_exception(type(error), error, error.__traceback__))[-20_000:]
        # stored and sent: never a server path (server.public_text; samples are masked
        # when a reader without the pii permission reads the run)
        message, stack = strip_paths(message), strip_paths(stack)
        facet = _facet("ErrorMessageRunFacet", message=message[:10_000],
                       programmingLanguage="PYTHON", **({"stackTrace": stack} if stack else {}))
        await self.emitter.emit(self.event("FAIL", inputs=inputs, outputs=outputs,
                                           run_facets={"errorMessage": facet}))
