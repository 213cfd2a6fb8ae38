"""Contract: OpenLineage events applied to the graph (ingest_lineage_event) — jobs, runs and
their states, datasets and what facets say about them, edges from runs, replay idempotence —
and the jobs/runs lists, on every backend."""

from __future__ import annotations

import pytest

from server.errors import ConflictError
from server.models import DatasetLayer, Direction, OwnerKind, RunRole, RunState
from server.storage.graph import GraphStore
from tests.contract.helpers import ACTOR, actions, audit_mark, audit_since, dataset
from tests.lineage_events import PRODUCER, ds, event, new_run_id, run_event


async def test_a_run_creates_its_job_datasets_and_edges(graph: GraphStore) -> None:
    run_id = new_run_id()
    mark = await audit_mark(graph)
    result = await graph.ingest_lineage_event(event(run_event(
        "nightly", run_id, "START", inputs=[ds("crm")], outputs=[ds("audience")])),
        actor=ACTOR)
    assert result.created
    assert result.run_id == run_id
    [job] = await graph.get_jobs([result.job_id or ""])
    assert job is not None
    assert (job.namespace, job.name) == ("scheduler", "nightly")
    assert await graph.get_job("scheduler", "nightly") == job
    [run] = await graph.get_runs([run_id])
    assert run is not None
    assert (run.job_id, run.state, run.ended_at) == (job.id, RunState.START, None)
    assert run.started_at is not None
    audience = await graph.get_dataset("warehouse", "audience")
    assert audience is not None
    assert audience.layer is DatasetLayer.EXTERNAL
    [io] = await graph.get_run_datasets([run_id])
    assert [(d.role, d.dataset_id) for d in io][1] == (RunRole.OUTPUT, audience.id)
    [job_io] = await graph.get_job_datasets([job.id])
    assert [r for _, r in job_io] == [RunRole.INPUT, RunRole.OUTPUT]
    g = await graph.walk_lineage(audience.id, direction=Direction.UPSTREAM, depth=1,
                                 max_nodes=10)
    assert [(n.dataset.name, n.depth) for n in g.nodes] == [("crm", -1), ("audience", 0)]
    assert sorted(actions(await audit_since(graph, mark))) == sorted([
        "job.created", "run.created", "dataset.registered", "dataset.registered",
        "lineage.added", "openlineage.event"])


async def test_replaying_an_event_changes_nothing(graph: GraphStore) -> None:
    raw = run_event("nightly", new_run_id(), "COMPLETE", inputs=[ds("a", fields=["x"])],
                    outputs=[ds("b", fields=["x"])])
    assert (await graph.ingest_lineage_event(event(raw), actor=ACTOR)).created
    mark = await audit_mark(graph)
    again = await graph.ingest_lineage_event(event(raw), actor=ACTOR)
    assert (again.created, again.run_id) == (False, None)
    assert await audit_since(graph, mark) == []
    assert (await graph.list_runs(first=10)).total == 1


async def test_run_state_follows_event_time_in_any_order(graph: GraphStore) -> None:
    run_id = new_run_id()
    for event_type, minute in (("COMPLETE", 10), ("START", 0), ("RUNNING", 5),
                               ("OTHER", 20)):
        await graph.ingest_lineage_event(event(run_event("job", run_id, event_type,
                                                         minute=minute)), actor=ACTOR)
    [run] = await graph.get_runs([run_id])
    assert run is not None
    assert run.state is RunState.COMPLETE
    assert run.started_at is not None
    assert run.ended_at is not None
    assert (run.ended_at - run.started_at).total_seconds() == 600


async def test_a_failed_run_keeps_its_error_and_derives_nothing(graph: GraphStore) -> None:
    run_id = new_run_id()
    failure = {"errorMessage": {"_producer": PRODUCER, "_schemaURL": "x", "message": "boom",
                                "programmingLanguage": "PYTHON"}}
    await graph.ingest_lineage_event(event(run_event(
        "job", run_id, "FAIL", inputs=[ds("in")], outputs=[ds("out")],
        run_facets=failure)), actor=ACTOR)
    [run] = await graph.get_runs([run_id])
    assert run is not None
    assert (run.state, run.error_message) == (RunState.FAIL, "boom")
    assert run.facets["errorMessage"]["message"] == "boom"
    out = await graph.get_dataset("warehouse", "out")
    assert out is not None
    g = await graph.walk_lineage(out.id, direction=Direction.UPSTREAM, depth=1, max_nodes=5)
    assert g.edges == []
    [io] = await graph.get_run_datasets([run_id])
    assert len(io) == 2


async def test_a_run_id_belongs_to_one_job(graph: GraphStore) -> None:
    run_id = new_run_id()
    await graph.ingest_lineage_event(event(run_event("one", run_id, "START")), actor=ACTOR)
    mark = await audit_mark(graph)
    with pytest.raises(ConflictError):
        await graph.ingest_lineage_event(event(run_event("two", run_id, "COMPLETE",
                                                         minute=1)), actor=ACTOR)
    assert await audit_since(graph, mark) == []
    assert await graph.get_job("scheduler", "two") is None


async def test_facets_become_schema_owners_source_and_description(graph: GraphStore) -> None:
    facets = {
        "documentation": {"_producer": PRODUCER, "_schemaURL": "x",
                          "description": "Customers as exported by the CRM"},
        "ownership": {"_producer": PRODUCER, "_schemaURL": "x",
                      "owners": [{"name": "team:crm"}, {"name": "user:ana", "type": "MAINT"}]},
        "dataSource": {"_producer": PRODUCER, "_schemaURL": "x", "name": "crm-db",
                       "uri": "postgres://crm:5432"},
        "custom_thing": {"_producer": PRODUCER, "_schemaURL": "x", "kept": [1, 2]},
    }
    stats = {"outputStatistics": {"_producer": PRODUCER, "_schemaURL": "x", "rowCount": 42,
                                  "size": 4096}}
    raw = run_event("export", new_run_id(), outputs=[{
        **ds("customers", "postgres://crm:5432", fields=["id", "email"], **facets),
        "outputFacets": stats}])
    await graph.ingest_lineage_event(event(raw), actor=ACTOR)
    found = await graph.get_dataset("postgres://crm:5432", "customers")
    assert found is not None
    assert found.description == "Customers as exported by the CRM"
    [source] = await graph.get_sources([found.source_id or ""])
    assert source is not None
    assert (source.name, source.url) == ("crm-db", "postgres://crm:5432")
    owners = await graph.get_owners([found.id])
    assert [(o.name, o.kind) for o in owners[0]] == [("team:crm", OwnerKind.TEAM),
                                                     ("user:ana", OwnerKind.USER)]
    [[version]] = await graph.list_versions([found.id])
    assert (version.row_count, version.byte_size, version.format) == (42, 4096, "openlineage")
    assert (version.raw_key, version.curated_key) == (None, None)
    [fields] = await graph.get_fields([version.id])
    assert [(f.name, f.arrow_type) for f in fields] == [("id", "string"), ("email", "string")]
    [kept] = await graph.get_dataset_facets([found.id])
    assert kept["custom_thing"]["kept"] == [1, 2]
    assert set(kept) >= {"schema", "documentation", "ownership", "dataSource"}
    # the same schema again: no new version; a changed one: a new version
    await graph.ingest_lineage_event(event(run_event("export", new_run_id(), outputs=[
        ds("customers", "postgres://crm:5432", fields=["id", "email"])])), actor=ACTOR)
    assert len((await graph.list_versions([found.id]))[0]) == 1
    await graph.ingest_lineage_event(event(run_event("export", new_run_id(), outputs=[
        ds("customers", "postgres://crm:5432", fields=["id", "email", "phone"])])),
        actor=ACTOR)
    versions = (await graph.list_versions([found.id]))[0]
    assert [v.version for v in versions] == [2, 1]


async def test_a_loaded_dataset_gets_no_extra_version_for_its_own_schema(
        graph: GraphStore) -> None:
    from server.models import FieldSpec
    from tests.contract.helpers import new_version

    await graph.register_versions([new_version("demo", "bank", fields=[
        FieldSpec("age", "int64"), FieldSpec("job", "string")])], actor=ACTOR)
    raw = run_event("peso.load", new_run_id(), outputs=[{
        "namespace": "demo", "name": "bank", "facets": {"schema": {
            "_producer": PRODUCER, "_schemaURL": "x",
            "fields": [{"name": "age", "type": "int64"}, {"name": "job", "type": "string"}]}}}])
    await graph.ingest_lineage_event(event(raw), actor=ACTOR)
    bank = await graph.get_dataset("demo", "bank")
    assert bank is not None
    assert bank.layer is DatasetLayer.CURATED   # an existing dataset keeps its layer
    assert len((await graph.list_versions([bank.id]))[0]) == 1


async def test_input_facets_accumulate_on_the_run(graph: GraphStore) -> None:
    run_id = new_run_id()
    metrics = {"dataQualityMetrics": {"_producer": PRODUCER, "_schemaURL": "x", "rowCount": 9,
                                      "columnMetrics": {"id": {"nullCount": 0}}}}
    assertions = {"dataQualityAssertions": {"_producer": PRODUCER, "_schemaURL": "x",
                                            "assertions": [{"assertion": "not_null",
                                                            "success": True,
                                                            "column": "id"}]}}
    await graph.ingest_lineage_event(event(run_event(
        "check", run_id, "START", inputs=[{**ds("t"), "inputFacets": metrics}])), actor=ACTOR)
    await graph.ingest_lineage_event(event(run_event(
        "check", run_id, "COMPLETE", inputs=[{**ds("t"), "inputFacets": assertions}],
        minute=1)), actor=ACTOR)
    [[io]] = await graph.get_run_datasets([run_id])
    assert io.role is RunRole.INPUT
    assert io.facets["dataQualityMetrics"]["rowCount"] == 9
    assert io.facets["dataQualityAssertions"]["assertions"][0]["success"] is True


async def test_job_and_dataset_events(graph: GraphStore) -> None:
    job_event = {"eventTime": "2025-01-01T00:00:00Z", "producer": PRODUCER,
                 "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
                 "job": {"namespace": "static", "name": "view_def", "facets": {
                     "documentation": {"_producer": PRODUCER, "_schemaURL": "x",
                                       "description": "a view"}}},
                 "inputs": [ds("base")], "outputs": [ds("view")]}
    result = await graph.ingest_lineage_event(event(job_event), actor=ACTOR)
    assert (result.created, result.run_id) == (True, None)
    job = await graph.get_job("static", "view_def")
    assert job is not None
    assert job.description == "a view"
    view = await graph.get_dataset("warehouse", "view")
    assert view is not None
    g = await graph.walk_lineage(view.id, direction=Direction.UPSTREAM, depth=1, max_nodes=5)
    assert [(e.job, e.run_id) for e in g.edges] == [("view_def", None)]
    dataset_event = {"eventTime": "2025-01-01T00:00:00Z", "producer": PRODUCER,
                     "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
                     "dataset": ds("lonely", fields=["a"])}
    result = await graph.ingest_lineage_event(event(dataset_event), actor=ACTOR)
    assert (result.created, result.job_id, len(result.dataset_ids)) == (True, None, 1)
    assert not (await graph.ingest_lineage_event(event(dataset_event), actor=ACTOR)).created


async def test_jobs_and_runs_in_pages(graph: GraphStore) -> None:
    for name in ("c", "a", "b"):
        await graph.ingest_lineage_event(event(run_event(name, new_run_id(), "START")),
                                         actor=ACTOR)
    run_ids = []
    for i in range(5):
        run_ids.append(new_run_id())
        await graph.ingest_lineage_event(event(run_event("a", run_ids[-1], "START",
                                                         minute=i)), actor=ACTOR)
    first = await graph.list_jobs(first=2)
    assert ([j.name for j in first.items], first.has_next, first.total) == (["a", "b"], True, 3)
    rest = await graph.list_jobs(first=2, after=first.cursors[-1])
    assert ([j.name for j in rest.items], rest.has_next) == (["c"], False)
    job = await graph.get_job("scheduler", "a")
    assert job is not None
    seen = []
    page = await graph.list_runs(job_id=job.id, first=2)
    assert page.total == 6
    while True:
        seen += [r.id for r in page.items]
        if not page.has_next:
            break
        page = await graph.list_runs(job_id=job.id, first=2, after=page.cursors[-1])
    assert seen[:5] == run_ids[::-1]   # newest first
    assert len(seen) == len(set(seen)) == 6
    assert (await graph.list_runs(first=100)).total == 8
    assert await graph.get_runs(["nope"]) == [None]
    assert await graph.get_jobs([]) == []


async def test_jobs_by_key_and_by_namespace(graph: GraphStore) -> None:
    """``get_jobs_by_key`` is ``get_job`` for many (input order, None for an unknown key,
    a repeated key answered twice); ``list_jobs(namespace=…)`` pages and counts only that
    namespace's jobs."""
    for namespace, name in (("scheduler", "b"), ("scheduler", "a"), ("other", "a"),
                            ("s3://bucket", "a/b"), ("zeta", "z")):
        await graph.ingest_lineage_event(event(run_event(name, new_run_id(), "START",
                                                         namespace=namespace)), actor=ACTOR)
    keys = [("scheduler", "a"), ("nope", "a"), ("other", "a"), ("s3://bucket", "a/b"),
            ("scheduler", "a"), ("scheduler", "b/a")]
    found = await graph.get_jobs_by_key(keys)
    assert [(j.namespace, j.name) if j else None for j in found] == [
        ("scheduler", "a"), None, ("other", "a"), ("s3://bucket", "a/b"), ("scheduler", "a"),
        None]
    one_by_one = [await graph.get_job(ns, name) for ns, name in keys]
    assert [j.id if j else None for j in found] == [j.id if j else None for j in one_by_one]
    assert await graph.get_jobs_by_key([]) == []

    first = await graph.list_jobs(namespace="scheduler", first=1)
    assert ([j.name for j in first.items], first.has_next, first.total) == (["a"], True, 2)
    rest = await graph.list_jobs(namespace="scheduler", first=1, after=first.cursors[-1])
    assert ([j.name for j in rest.items], rest.has_next, rest.total) == (["b"], False, 2)
    # a cursor from another namespace's page: only this namespace's jobs after it
    after_other = await graph.list_jobs(namespace="zeta", first=5, after=["other", "a"])
    assert [(j.namespace, j.name) for j in after_other.items] == [("zeta", "z")]
    none = await graph.list_jobs(namespace="nope", first=5)
    assert (none.items, none.has_next, none.total) == ([], False, 0)
    assert (await graph.list_jobs(first=10)).total == 5


async def test_the_audit_log_can_be_followed(graph: GraphStore) -> None:
    start = await audit_mark(graph)
    for name in ("a", "b", "c"):
        await dataset(graph, "follow", name)
    events = await graph.list_audit(limit=2, after_id=start)
    assert [e.detail["name"] for e in events] == ["a", "b"]  # oldest first
    more = await graph.list_audit(limit=10, after_id=events[-1].id)
    assert [e.detail["name"] for e in more] == ["c"]
    assert await graph.list_audit(limit=10, after_id=more[-1].id) == []
    target = more[0].target_id
    assert [e.id for e in await graph.list_audit(limit=10, after_id=start,
                                                 target_id=target)] == [more[0].id]


async def test_first_pages_of_runs_for_many_jobs_in_one_read(graph: GraphStore) -> None:
    """list_job_runs gives, per job and in the order asked, what list_runs gives for it."""
    for name, count in (("a", 3), ("b", 1)):
        for i in range(count):
            await graph.ingest_lineage_event(event(run_event(name, new_run_id(), "START",
                                                             minute=i)), actor=ACTOR)
    jobs = [await graph.get_job("scheduler", n) for n in ("b", "a")]
    ids = [j.id for j in jobs if j is not None] + ["no-such-job"]
    for first in (1, 2, 5):
        pages = await graph.list_job_runs(ids, first=first)
        assert len(pages) == 3
        for job_id, page in zip(ids, pages, strict=True):
            alone = await graph.list_runs(job_id=job_id, first=first)
            assert [r.id for r in page.items] == [r.id for r in alone.items]
            assert (page.has_next, page.total) == (alone.has_next, alone.total)
            assert page.cursors == alone.cursors
            if page.has_next:   # the cursor continues where list_runs would
                more = await graph.list_runs(job_id=job_id, first=10, after=page.cursors[-1])
                assert len(page.items) + len(more.items) == page.total
    [a_page] = await graph.list_job_runs([ids[1]], first=2)
    assert (len(a_page.items), a_page.has_next, a_page.total) == (2, True, 3)
    assert await graph.list_job_runs([], first=3) == []
    # a job asked twice gets its page twice
    twice = await graph.list_job_runs([ids[0], ids[0]], first=3)
    assert [len(p.items) for p in twice] == [1, 1]
