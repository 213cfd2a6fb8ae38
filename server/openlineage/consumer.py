"""The OpenLineage consumer: ``POST /api/v1/lineage`` (what the OpenLineage HTTP transport
sends), and ``ingest`` — the one code path every event takes into the catalog, whether it
came over HTTP, from ``peso lineage ingest`` or from Peso's own producer.

One event per request (a JSON object), or a batch (a JSON array of at most ``MAX_BATCH``):
every event of a batch is checked before any is applied, so a bad one refuses the whole batch,
and a batch is applied in ONE store transaction (``ingest_lineage_events``); when the store
refuses one of its events, the batch is applied again event by event, so the events before
the refused one are kept and the answer names it (as when each had its own transaction).
Answers: 201 for a new event, 200 for a replay of one already applied (nothing written), 200
with one result per event for a batch; 400 with ``{"errors": [{"path", "message"}]}`` (plus
``index`` in a batch) for an event that is not valid; 409 for one that contradicts the
catalog (a runId already used by another job); 401/403 without a writer token.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.errors import PesoError, ValidationError
from server.guard import guarded
from server.json_body import BadJson
from server.json_body import load as load_json
from server.lineage_event import IngestResult, LineageEvent
from server.models import Role
from server.openlineage.facets import to_lineage_event
from server.openlineage.validate import Checked, Problem, check
from server.storage.graph import GraphStore

log = logging.getLogger("peso.openlineage")

ROUTE = "/api/v1/lineage"
MAX_BATCH = 500
GZIP_FACTOR = 20   # a gzip body may inflate to this many times PESO_MAX_BODY_BYTES


class EventRefused(PesoError):
    """An event that is not valid OpenLineage (or not valid for Peso): HTTP 400."""

    code = "INVALID_EVENT"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems[:5]))
        self.problems = problems


@dataclass
class Prepared:
    checked: Checked
    event: LineageEvent


@dataclass
class Outcome:
    result: IngestResult
    defaulted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {"status": "created" if r.created else "skipped", "key": r.key,
                "runId": r.run_id, "jobId": r.job_id, "datasets": len(r.dataset_ids),
                "defaulted": self.defaulted}


def prepare(raw: Any, *, owned: bool = False) -> Prepared:
    """Check and map one event; EventRefused with every problem found. ``owned``: the
    caller parsed ``raw`` for this alone, so the defaults may go on it (``validate.check``)."""
    checked = check(raw, owned=owned)
    if checked.problems:
        raise EventRefused(checked.problems)
    try:
        return Prepared(checked, to_lineage_event(checked))
    except ValidationError as exc:
        raise EventRefused([Problem(exc.field or "(event)", exc.message)]) from exc


async def ingest(graph: GraphStore, raw: Any, *, actor: str) -> Outcome:
    """Check, map and apply one event (idempotent: a replay writes nothing)."""
    ready = prepare(raw)
    result = await graph.ingest_lineage_event(ready.event, actor=actor)
    return Outcome(result, ready.checked.defaulted)


def _body_json(body: bytes, encoding: str, limit: int, max_depth: int) -> Any:
    if encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, limit * GZIP_FACTOR)
        except zlib.error as exc:
            raise EventRefused([Problem("(body)", f"not valid gzip: {exc}")]) from exc
        if inflater.unconsumed_tail:
            raise EventRefused([Problem("(body)", "the gzip body inflates past "
                                                  f"{limit * GZIP_FACTOR} bytes")])
    elif encoding not in ("", "identity"):
        raise EventRefused([Problem("(body)", f"Content-Encoding {encoding!r} is not "
                                              "supported (use gzip or none)")])
    try:
        return load_json(body, max_depth=max_depth)
    except (BadJson, UnicodeDecodeError) as exc:
        raise EventRefused([Problem("(body)", str(exc))]) from exc


def _refusal(problems: list[Problem], index: int | None = None, status: int = 400,
             **extra: Any) -> Response:
    errors = [{**p.as_dict(), **({"index": index} if index is not None else {})}
              for p in problems]
    return JSONResponse({"errors": errors, **extra}, status_code=status)


@guarded(Role.WRITER)
async def lineage_endpoint(request: Request) -> Response:
    """POST /api/v1/lineage: one OpenLineage event, or a JSON array of them."""
    graph: GraphStore = request.app.state.graph
    principal = getattr(request.state, "principal", None)
    actor = getattr(principal, "name", None) or "anonymous"
    limit = request.app.state.settings.max_body_bytes
    try:
        payload = _body_json(await request.body(),
                             request.headers.get("content-encoding", "").strip().lower(), limit,
                             request.app.state.settings.max_json_depth)
    except EventRefused as exc:
        return _refusal(exc.problems)
    batch = isinstance(payload, list)
    events = payload if batch else [payload]
    if batch and not 1 <= len(events) <= MAX_BATCH:
        return _refusal([Problem("(body)", f"a batch holds 1 to {MAX_BATCH} events, not "
                                           f"{len(events)}")])
    ready: list[Prepared] = []
    for i, raw in enumerate(events):
        try:
            ready.append(prepare(raw, owned=True))   # parsed from this request's body
        except EventRefused as exc:
            return _refusal(exc.problems, i if batch else None)
    if batch and len(ready) > 1:
        try:   # the whole batch in one transaction (one commit, not one per event)
            results = await graph.ingest_lineage_events([r.event for r in ready], actor=actor)
        except PesoError as exc:
            # one event was refused and none was written: applied one by one below, the
            # events before it are kept and the answer names it, as for any batch
            log.info("OpenLineage batch of %d refused as a whole (%s); applying it event by "
                     "event", len(ready), exc.code)
        else:
            return JSONResponse({"results": [Outcome(r, item.checked.defaulted).as_dict()
                                             for r, item in zip(results, ready, strict=True)]},
                                status_code=200)
    outcomes: list[Outcome] = []
    for i, item in enumerate(ready):
        try:
            result = await graph.ingest_lineage_event(item.event, actor=actor)
        except PesoError as exc:
            status = 400 if isinstance(exc, ValidationError) else 409
            return _refusal([Problem(exc.field or "(event)", exc.message)],
                            i if batch else None, status,
                            applied=[o.as_dict() for o in outcomes])
        outcomes.append(Outcome(result, item.checked.defaulted))
    if batch:
        return JSONResponse({"results": [o.as_dict() for o in outcomes]}, status_code=200)
    [only] = outcomes
    return JSONResponse(only.as_dict(), status_code=201 if only.result.created else 200)


def read_events(text: str, *, ndjson: bool) -> list[Any]:
    """The events of a file: JSON (one event or an array) or NDJSON (one per line)."""
    if ndjson:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    loaded = json.loads(text)
    return loaded if isinstance(loaded, list) else [loaded]

