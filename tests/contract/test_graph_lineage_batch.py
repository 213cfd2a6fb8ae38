"""Contract: ingest_lineage_events — a batch of OpenLineage events in one transaction gives
what applying them one by one gives, and a refused event leaves nothing of its batch."""

from __future__ import annotations

import pytest

from server.errors import ConflictError
from server.models import Direction, RunState
from server.storage.graph import GraphStore
from tests.contract.helpers import ACTOR, actions, audit_mark, audit_since
from tests.lineage_events import ds, event, new_run_id, run_event


async def test_a_batch_applies_in_order_and_sees_itself(graph: GraphStore) -> None:
    run_id = new_run_id()
    start = run_event("nightly", run_id, "START", inputs=[ds("crm")], outputs=[ds("aud")])
    done = run_event("nightly", run_id, "COMPLETE", inputs=[ds("crm")], outputs=[ds("aud")],
                     minute=5)
    mark = await audit_mark(graph)
    results = await graph.ingest_lineage_events([event(start), event(done), event(start)],
                                                actor=ACTOR)
    assert [r.created for r in results] == [True, True, False]   # the third is a replay
    assert results[0].job_id == results[1].job_id
    assert (results[0].run_id, results[1].run_id, results[2].run_id) == (run_id, run_id, None)
    assert results[0].dataset_ids == results[1].dataset_ids
    [run] = await graph.get_runs([run_id])
    assert run is not None
    assert (run.state, run.started_at is not None, run.ended_at is not None) == (
        RunState.COMPLETE, True, True)
    assert (await graph.list_runs(first=10)).total == 1
    aud = await graph.get_dataset("warehouse", "aud")
    assert aud is not None
    g = await graph.walk_lineage(aud.id, direction=Direction.UPSTREAM, depth=1, max_nodes=5)
    assert [(n.dataset.name, n.depth) for n in g.nodes] == [("crm", -1), ("aud", 0)]
    assert actions(await audit_since(graph, mark)) == [
        "job.created", "run.created", "dataset.registered", "dataset.registered",
        "lineage.added", "openlineage.event", "run.updated", "openlineage.event"]


async def test_a_refused_event_leaves_nothing_of_its_batch(graph: GraphStore) -> None:
    run_id = new_run_id()
    await graph.ingest_lineage_event(event(run_event("one", run_id, "START")), actor=ACTOR)
    mark = await audit_mark(graph)
    fine = run_event("other", new_run_id(), "START", outputs=[ds("fresh")])
    clash = run_event("two", run_id, "COMPLETE", minute=1)   # a runId of another job
    with pytest.raises(ConflictError):
        await graph.ingest_lineage_events([event(fine), event(clash)], actor=ACTOR)
    assert await audit_since(graph, mark) == []
    assert await graph.get_job("scheduler", "other") is None
    assert await graph.get_dataset("warehouse", "fresh") is None
    # and the events that were fine still apply
    [again] = await graph.ingest_lineage_events([event(fine)], actor=ACTOR)
    assert again.created


async def test_an_empty_batch_is_nothing(graph: GraphStore) -> None:
    assert await graph.ingest_lineage_events([], actor=ACTOR) == []
