"""Neo4j's OpenLineage batches (``neo4j/lineage_apply.Batch``: one lookup, the writes queued
and written by one statement, new bare datasets created in it) leave what applying the same
events one by one leaves: every record and every audit event, in order. The stream is the
SQLite batch test's (stale shared reads), plus datasets that no event named before, bare or
described, named twice in a batch and described after being created in it. Needs
PESO_TEST_NEO4J_URI (skipped otherwise)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from server.lineage_event import LineageEvent
from server.storage.graph import GraphStore
from server.storage.sqlite.store import SQLiteGraphStore
from tests.contract.conftest import wiped_neo4j
from tests.lineage_events import ds, event, new_run_id, run_event
from tests.test_neo4j_lineage_apply import _picture
from tests.test_sqlite_lineage_batch import ACTOR, NS, SEED_RUN, stream

pytestmark = pytest.mark.skipif(not os.environ.get("PESO_TEST_NEO4J_URI"),
                                reason="needs PESO_TEST_NEO4J_URI")


def fresh() -> list[dict[str, Any]]:
    """Events naming datasets the catalog does not hold."""
    r1, r2 = new_run_id(), new_run_id()
    doc = {"documentation": {"_producer": "x", "_schemaURL": "x", "description": "new"}}
    return [
        run_event("mint", r1, "START", inputs=[ds("raw_a"), ds("raw_b")],
                  outputs=[ds("made_a")]),
        run_event("mint", r1, "COMPLETE", minute=1, inputs=[ds("raw_a"), ds("raw_c")],
                  outputs=[ds("made_a"), ds("made_b", **doc)]),
        run_event("mint", r2, "START", minute=2, inputs=[ds("made_b")],
                  outputs=[ds("raw_a", **doc), ds("made_c")]),
        run_event("mint", r2, "COMPLETE", minute=3, inputs=[ds("crm"), ds("raw_d")],
                  outputs=[ds("made_c")]),
    ]


async def _apply(store: GraphStore, events: list[LineageEvent], size: int) -> dict[str, Any]:
    await store.ingest_lineage_event(event(run_event("seed", SEED_RUN, outputs=[
        ds("gone", fields=["x", "y"])])), actor=ACTOR)
    await store.delete_dataset(NS, "gone", actor=ACTOR)
    for i in range(0, len(events), size):
        if size == 1:
            await store.ingest_lineage_event(events[i], actor=ACTOR)
        else:
            await store.ingest_lineage_events(events[i:i + size], actor=ACTOR)
    return await _picture(store)


@pytest.mark.parametrize("size", [1, 3, 100])
async def test_a_batch_leaves_what_sqlite_one_event_at_a_time_leaves(tmp_path: Path,
                                                                     size: int) -> None:
    """One event per call goes through the same Batch on Neo4j, so the reference is the
    SQLite store's, whose equivalence to Neo4j tests/test_neo4j_lineage_apply.py holds."""
    events = [event(raw) for raw in [*stream(), *fresh()]]
    sqlite = SQLiteGraphStore(str(tmp_path / "alone.db"))
    await sqlite.open()
    try:
        alone = await _apply(sqlite, events, 1)
    finally:
        await sqlite.close()
    async with wiped_neo4j() as store:
        together = await _apply(store, events, size)
    assert together == alone
    assert {f"dataset:warehouse/{n}" for n in ("raw_a", "raw_b", "raw_c", "raw_d", "made_a",
                                               "made_b", "made_c")} <= {
        r["target_id"] for r in alone["audit"] if r["action"] == "dataset.registered"}


async def test_new_datasets_of_a_batch_are_searchable() -> None:
    async with wiped_neo4j() as store:
        await store.ingest_lineage_events([event(raw) for raw in fresh()], actor=ACTOR)
        hits, total = await store.search("made", first=10)
        assert sorted(h.dataset.name for h in hits) == ["made_a", "made_b", "made_c"]
        assert total == 3
        hits, _ = await store.search("new", first=10)   # made_b's description, then raw_a's
        assert sorted(h.dataset.name for h in hits) == ["made_b", "raw_a"]
