"""OpenLineage events applied on Neo4j (set-wise, few round trips: neo4j/lineage_apply.py)
give what the SQLite store gives for the same events: the same audit trail, in the same
order with the same details, and the same catalog (every record ``export_records`` yields,
ids and timestamps aside). Needs PESO_TEST_NEO4J_URI (skipped otherwise)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from server.storage.graph import GraphStore
from server.storage.neo4j.store import Neo4jGraphStore
from server.storage.sqlite.store import SQLiteGraphStore
from tests.contract.conftest import wipe_neo4j
from tests.lineage_catalog import built_events, corpus_events
from tests.lineage_events import ds, event, run_event

ACTOR = "equivalence"
RUN_A = "6b1c1f6e-3c52-4a57-9a53-1f0a4c1c2d0a"
RUN_B = "6b1c1f6e-3c52-4a57-9a53-1f0a4c1c2d0b"
RUN_C = "6b1c1f6e-3c52-4a57-9a53-1f0a4c1c2d0c"
STAMPS = {"at", "created_at", "updated_at", "received_at", "deleted_at",
          "ol_facets_updated_at", "acquired_at", "expires_at"}


def _extra() -> list[list[dict[str, Any]]]:
    """Batches (each one ingest_lineage_events call) beyond the catalog's own events: a
    dataset read and written by one run with io facets, a replay inside a batch, an edge
    re-derived by another job, a description that changes, a run updated twice."""
    both = ds("both", fields=["x"])
    one = run_event("loop", RUN_A, "START", inputs=[{**both, "inputFacets": {"a": {"v": 1}}}],
                    outputs=[{**both, "outputFacets": {"b": {"v": 2}}}, ds("made")])
    two = run_event("loop", RUN_A, "RUNNING", minute=1, inputs=[
        {**both, "inputFacets": {"c": {"v": 3}}}, {**both, "inputFacets": {"a": {"v": 4}}}],
        outputs=[ds("made", documentation={"description": "now described"})])
    other = run_event("other", RUN_B, "COMPLETE", minute=2, inputs=[ds("both")],
                      outputs=[ds("made")])
    again = run_event("loop", RUN_C, "COMPLETE", minute=3, inputs=[ds("both")],
                      outputs=[ds("made")])
    return [[one, two, one], [other], [again, other]]


async def _apply(graph: GraphStore) -> None:
    for raw in [*corpus_events(), *built_events()]:
        await graph.ingest_lineage_event(event(raw), actor=ACTOR)
    await graph.delete_dataset("warehouse", "spend_report", actor=ACTOR)
    for batch in _extra():
        await graph.ingest_lineage_events([event(raw) for raw in batch], actor=ACTOR)
    # a deleted dataset named again is restored
    await graph.ingest_lineage_event(event(run_event(
        "report", RUN_C.replace("c", "d"), "START", inputs=[ds("spend")],
        outputs=[ds("spend_report")])), actor=ACTOR)


async def _picture(graph: GraphStore) -> dict[str, Any]:
    """The catalog with every generated id replaced by what it names."""
    names: dict[str, str] = {}
    records = [r async for r in graph.export_records()]
    for r in records:
        if r["record"] in ("dataset", "job"):
            names[r["id"]] = f"{r['record']}:{r['namespace']}/{r['name']}"
        elif r["record"] in ("source", "version", "field"):
            names[r["id"]] = f"{r['record']}:{r.get('name') or r.get('version')}"

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()
                    if k not in STAMPS and (k != "id" or value.get("record") == "run")}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, str):
            for generated, name in names.items():
                value = value.replace(generated, name)
        return value

    by_kind: dict[str, list[Any]] = {}
    for r in records:
        body = plain(r)
        if r["record"] == "audit":
            body.pop("request_id", None)
        by_kind.setdefault(r["record"], []).append(body)
    audit = by_kind.pop("audit", [])
    return {"audit": audit, **{k: sorted(v, key=repr) for k, v in by_kind.items()}}


async def test_neo4j_applies_events_as_sqlite_does(tmp_path: Path) -> None:
    uri = os.environ.get("PESO_TEST_NEO4J_URI")
    if not uri:
        pytest.skip("needs PESO_TEST_NEO4J_URI")
    sqlite = SQLiteGraphStore(str(tmp_path / "catalog.db"))
    neo4j = Neo4jGraphStore(uri, user=os.environ.get("PESO_TEST_NEO4J_USER", "neo4j"),
                            password=os.environ.get("PESO_TEST_NEO4J_PASSWORD", "neo4j"),
                            database=os.environ.get("PESO_TEST_NEO4J_DATABASE", "neo4j"))
    await sqlite.open()
    await neo4j.open()
    try:
        await wipe_neo4j(neo4j)
        pictures = []
        for graph in (sqlite, neo4j):
            await _apply(graph)
            pictures.append(await _picture(graph))
            assert await graph.get_dataset("warehouse", "spend_report") is not None
        want, got = pictures
        assert [a["action"] for a in got["audit"]] == [a["action"] for a in want["audit"]]
        assert got == want
    finally:
        await sqlite.close()
        await neo4j.close()
