"""SQLite's OpenLineage batches: the events of one transaction share what it already read
(jobs, runs, datasets, latest schemas, facets) and write each dataset's search row once, at
the end (``lineage_apply.Batch``, ``helpers.deferred_reindex``). What they leave must be what
applying the same events one by one leaves: every record and every audit event, in order.
The stream below makes the shared reads go stale if they are not kept current: a schema that
changes and changes back within a batch, a version facet without a schema, descriptions,
sources, owners, job and run facets that change (and change back), a facet deleted, a run's
events out of order, a record named twice, a replay, a dataset read and written by one run,
and one revived from a soft delete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from server.errors import ConflictError
from server.lineage_event import LineageEvent
from server.storage.sqlite.store import SQLiteGraphStore
from tests.lineage_events import PRODUCER, column_lineage, ds, event, new_run_id, run_event

ACTOR = "batch-test"
NS = "warehouse"
# stamps of the moment of writing (they differ between any two runs); the rest must match
NOW_KEYS = {"created_at", "updated_at", "received_at", "at"}
SEED_RUN = "0b0e7a52-2f4e-4c3a-9d55-6a1c1f7b8e01"


def _facet(**body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": "x", **body}


def stream() -> list[dict[str, Any]]:
    """Raw events that revisit the same jobs, runs and datasets."""
    r1, r2, r3, r4 = (new_run_id() for _ in range(4))
    doc = {"documentation": _facet(description="Customers, from the CRM")}
    source = {"dataSource": _facet(name="crm-db", uri="postgres://crm:5432")}
    owners = {"ownership": _facet(owners=[{"name": "team:crm"}])}
    lineage = column_lineage({"id": [(NS, "crm", "id")], "email": [  # one record twice
        (NS, "crm", "email"), (NS, "leads", "email"), (NS, "crm", "email")]})
    changed = column_lineage({"id": [(NS, "crm", "id")]}, subtype="TRANSFORMATION")
    return [
        run_event("load", r1, "START", inputs=[ds("crm", fields=["id", "email"], **doc)],
                  outputs=[ds("aud", fields=["id"])], job_facets={"documentation": _facet(
                      description="nightly")}),
        run_event("load", r1, "COMPLETE", minute=5,
                  inputs=[ds("crm", fields=["id", "email"], **doc, **source)],
                  outputs=[ds("aud", fields=["id", "email"], columnLineage=lineage,
                              **owners)]),
        run_event("load", r1, "COMPLETE", minute=5,   # a replay within the batch
                  inputs=[ds("crm", fields=["id", "email"], **doc, **source)],
                  outputs=[ds("aud", fields=["id", "email"], columnLineage=lineage,
                              **owners)]),
        run_event("load", r2, "COMPLETE", minute=10,
                  inputs=[ds("crm", fields=["id", "email", "phone"],
                             documentation=_facet(description="Customers v2"))],
                  outputs=[ds("aud", fields=["id", "email"], columnLineage=changed)],
                  job_facets={"documentation": _facet(description="nightly, v2")}),
        run_event("load", r2, "START", minute=8,   # a late START after its COMPLETE
                  inputs=[ds("crm", fields=["id", "email"])],   # and the schema back again
                  run_facets={"nominalTime": _facet(nominalStartTime="2025-01-01T00:08:00Z")},
                  job_facets={"documentation": _facet(description="nightly")}),   # back too
        run_event("load", r2, "RUNNING", minute=9, inputs=[ds("crm")]),
        run_event("tidy", r3, "COMPLETE", minute=12,
                  inputs=[ds("aud", fields=["id", "email"])],   # read and written by one run
                  outputs=[ds("aud", version=_facet(datasetVersion="v7"),
                              ownership=_facet(owners=[{"name": "user:ana"}]),
                              columnLineage={"_deleted": True}),
                           ds("gone", fields=["x"])]),
        run_event("tidy", r4, "RUNNING", minute=13, inputs=[ds("crm", **source)],
                  outputs=[ds("aud", version=_facet(datasetVersion="v7"))],
                  run_facets={"nominalTime": _facet(nominalStartTime="2025-01-01T00:13:00Z")}),
        run_event("tidy", r4, "FAIL", minute=14, inputs=[ds("crm", fields=["id"])],
                  run_facets={"errorMessage": _facet(message="boom",
                                                     programmingLanguage="python")}),
    ]


async def _store(path: Path) -> SQLiteGraphStore:
    store = SQLiteGraphStore(str(path))
    await store.open()
    # the same start for each store: "gone" exists, soft-deleted (an event revives it)
    await store.ingest_lineage_event(event(run_event("seed", SEED_RUN, outputs=[
        ds("gone", fields=["x", "y"])])), actor=ACTOR)
    await store.delete_dataset(NS, "gone", actor=ACTOR)
    return store


async def _snapshot(store: SQLiteGraphStore) -> list[dict[str, Any]]:
    """Every record, with ids by their meaning and no write stamps, in a stable order (audit
    records keep their number, so their sequence counts)."""
    records = [r async for r in store.export_records()]
    names: dict[str, str] = {}
    for r in records:
        if r["record"] in ("dataset", "job", "source"):
            names[r["id"]] = f"{r['record']}:{r.get('namespace', '')}/{r['name']}"
    for r in records:
        if r["record"] == "version":
            names[r["id"]] = f"version:{names[r['dataset_id']]}#{r['version']}"

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if k not in NOW_KEYS}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value
    out = [plain(r) for r in records]
    for r in out:
        if r["record"] == "version":
            for f in r.get("fields", []):
                f.pop("id", None)   # a field's own id: random, named by nothing else
    return sorted(out, key=lambda r: json.dumps(r, sort_keys=True, default=str))


async def _apply(tmp_path: Path, name: str, events: list[LineageEvent],
                 size: int) -> list[dict[str, Any]]:
    store = await _store(tmp_path / f"{name}.db")
    try:
        for i in range(0, len(events), size):
            if size == 1:
                await store.ingest_lineage_event(events[i], actor=ACTOR)
            else:
                await store.ingest_lineage_events(events[i:i + size], actor=ACTOR)
        return await _snapshot(store)
    finally:
        await store.close()


@pytest.mark.parametrize("size", [2, 3, 100])
async def test_a_batch_leaves_what_one_event_at_a_time_leaves(tmp_path: Path,
                                                              size: int) -> None:
    events = [event(raw) for raw in stream()]
    alone = await _apply(tmp_path, "alone", events, 1)
    together = await _apply(tmp_path, "together", events, size)
    assert together == alone
    kinds = {r["record"] for r in alone}
    assert {"version", "column_lineage", "dataset_facets", "owner", "source"} <= kinds
    assert len([r for r in alone if r["record"] == "version"]) >= 6   # the schema moved


async def _found(store: SQLiteGraphStore, text: str) -> list[str]:
    hits, total = await store.search(text, first=10)
    assert total == len(hits)
    return [h.dataset.name for h in hits]


async def test_the_search_index_follows_a_batch(tmp_path: Path) -> None:
    store = await _store(tmp_path / "search.db")
    try:
        events = [event(raw) for raw in stream()]
        await store.ingest_lineage_events(events, actor=ACTOR)
        # one row per live dataset, from its final state: its latest fields and description
        assert await _found(store, "phone") == []   # crm's schema went back
        assert await _found(store, "Customers v2") == ["crm"]
        assert await _found(store, "gone") == ["gone"]   # revived: indexed again
        assert await _found(store, "aud") == ["aud"]
    finally:
        await store.close()


async def test_a_refused_batch_leaves_nothing_and_its_reads_go_with_it(tmp_path: Path
                                                                       ) -> None:
    store = await _store(tmp_path / "refused.db")
    try:
        run_id = new_run_id()
        await store.ingest_lineage_event(event(run_event("one", run_id, "START")),
                                         actor=ACTOR)
        before = await _snapshot(store)
        fine = run_event("other", new_run_id(), outputs=[ds("fresh", fields=["a"])])
        clash = run_event("two", run_id, "COMPLETE", minute=1)   # a runId of another job
        with pytest.raises(ConflictError):
            await store.ingest_lineage_events([event(fine), event(clash)], actor=ACTOR)
        assert await _snapshot(store) == before
        assert await _found(store, "fresh") == []
        [again] = await store.ingest_lineage_events([event(fine)], actor=ACTOR)
        assert again.created
        assert await store.get_dataset(NS, "fresh") is not None
        assert await _found(store, "fresh") == ["fresh"]
    finally:
        await store.close()
