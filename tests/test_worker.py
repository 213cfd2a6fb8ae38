"""`peso worker` and the scheduler (server/scheduler.py, server/jobs.py): due jobs run under a
lease and each run is recorded as a run of `peso.worker.<name>`; the health report is stored
as a daily edition; a failing job is a FAIL run; a job whose lease another holder has is
left alone; two worker processes on one catalog (SQLite here, Neo4j when PESO_TEST_NEO4J_* is
set) run a due job once; `peso serve` runs the loop unless --no-worker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.health import edition_key
from server.models import RunState
from server.scheduler import Job, JobContext, Scheduler
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.local import LocalObjectStore
from server.storage.neo4j.store import Neo4jGraphStore
from server.storage.sqlite.store import SQLiteGraphStore
from tests.contract.conftest import wipe_neo4j
from tests.serverproc import REPO, peso_command, peso_env, run_peso, running_server

HEALTH_JOB = "peso.worker.health-report"


async def _runs(graph: GraphStore, job: str = HEALTH_JOB) -> list[Any]:
    found = await graph.get_job("peso", job)
    return [] if found is None else (await graph.list_runs(job_id=found.id, first=50)).items


def _sqlite_runs(data: Path, job: str = HEALTH_JOB) -> list[Any]:
    async def run() -> list[Any]:
        graph = SQLiteGraphStore(str(data / "catalog.db"))
        await graph.open()
        try:
            return await _runs(graph, job)
        finally:
            await graph.close()
    return asyncio.run(run())


def _once(data: Path, **env: str) -> dict[str, Any]:
    done = run_peso("worker", "--once", "--json", data_dir=data, env=peso_env(data, **env),
                    timeout=60)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_worker_once_stores_the_health_report_and_records_its_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = _once(data)
    [ran] = first["jobs"]
    assert (ran["job"], ran["status"]) == ("health-report", "ran")
    assert "stored the health report of" in ran["summary"]
    stored = data / "objects" / edition_key(datetime.now(UTC).date())
    assert json.loads(stored.read_text())["counts"]["datasets"] == 0
    [run] = _sqlite_runs(data)
    assert run.id == ran["run_id"]
    assert run.state is RunState.COMPLETE
    assert run.facets["pesoWorker"]["summary"] == ran["summary"]
    # due again only after PESO_HEALTH_REPORT_EVERY_SECONDS (a day by default)
    assert [j["status"] for j in _once(data)["jobs"]] == ["not-due"]
    time.sleep(1.1)
    assert [j["status"] for j in _once(data, PESO_HEALTH_REPORT_EVERY_SECONDS="1")["jobs"]] == [
        "ran"]
    assert len(_sqlite_runs(data)) == 2


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[GraphStore, LocalObjectStore]]:
    graph = SQLiteGraphStore(str(tmp_path / "catalog.db"))
    objects = LocalObjectStore(tmp_path / "objects")
    await graph.open()
    objects.open()
    try:
        yield graph, objects
    finally:
        objects.close()
        await graph.close()


async def test_a_failing_job_is_a_failed_run_and_a_held_lease_is_left_alone(
        tmp_path: Path, stores: tuple[GraphStore, LocalObjectStore]) -> None:
    graph, objects = stores
    settings = Settings.from_env({"PESO_DATA_DIR": str(tmp_path)})
    calls: list[str] = []

    async def broken(ctx: JobContext) -> str:
        calls.append("broken")
        raise RuntimeError("the portal answered 500")

    async def fine(ctx: JobContext) -> str:
        calls.append("fine")
        return "did it"

    async def source(ctx: JobContext) -> Sequence[Job]:
        return [Job("broken", broken, "fails", every=3600),
                Job("fine", fine, "works", every=3600)]

    scheduler = Scheduler(graph, objects, settings, [source], holder="me")
    assert await graph.acquire_lease("job:fine", "somebody-else", 60)
    outcomes = await scheduler.tick()
    assert [(o.job, o.status) for o in outcomes] == [("broken", "failed"), ("fine", "busy")]
    assert calls == ["broken"]
    [run] = await _runs(graph, "peso.worker.broken")
    assert run.state is RunState.FAIL
    assert run.error_message is not None
    assert "the portal answered 500" in run.error_message
    assert await graph.get_lease("job:broken") is None   # given back after the run
    assert await graph.release_lease("job:fine", "somebody-else")
    outcomes = await scheduler.tick()
    assert [(o.job, o.status) for o in outcomes] == [("broken", "not-due"), ("fine", "ran")]


async def test_is_due_is_asked_again_under_the_lease(
        tmp_path: Path, stores: tuple[GraphStore, LocalObjectStore]) -> None:
    """A job whose own schedule says it is due (a harvest) runs only while it still is."""
    graph, objects = stores
    settings = Settings.from_env({"PESO_DATA_DIR": str(tmp_path)})
    pending = ["portal-a"]

    async def due(ctx: JobContext) -> bool:
        return bool(pending)

    async def harvest(ctx: JobContext) -> str:
        return f"harvested {pending.pop()}"

    async def source(ctx: JobContext) -> Sequence[Job]:
        return [Job("harvest.portal-a", harvest, "harvest", is_due=due)]

    a = Scheduler(graph, objects, settings, [source], holder="a")
    b = Scheduler(graph, objects, settings, [source], holder="b")
    first, second = await asyncio.gather(a.tick(), b.tick())
    assert sorted(o.status for o in [*first, *second]) in (["not-due", "ran"],
                                                           ["busy", "ran"])
    assert len(await _runs(graph, "peso.worker.harvest.portal-a")) == 1


def test_job_definitions_are_checked() -> None:
    async def noop(ctx: JobContext) -> str:
        return ""
    with pytest.raises(ValueError, match="exactly one"):
        Job("x", noop, "x")
    with pytest.raises(ValueError, match="letters"):
        Job("x y", noop, "x", every=1)
    with pytest.raises(ValueError, match="positive"):
        Job("x", noop, "x", every=0)


def _two_workers(data: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    procs = [subprocess.Popen(peso_command("worker", "--once", "--json"), env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    return [json.loads(out) for out, _ in outs]


def test_two_worker_processes_on_sqlite_run_the_job_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    answers = _two_workers(data, peso_env(data))
    statuses = sorted(j["status"] for a in answers for j in a["jobs"])
    assert statuses.count("ran") == 1, answers
    assert len(_sqlite_runs(data)) == 1


def _neo4j_env() -> dict[str, str]:
    uri = os.environ.get("PESO_TEST_NEO4J_URI")
    if not uri:
        pytest.skip("needs a live Neo4j: PESO_TEST_NEO4J_URI (tools/neo4j/neo4j-local start)")
    return {"PESO_GRAPH_URL": uri,
            "PESO_NEO4J_USER": os.environ.get("PESO_TEST_NEO4J_USER", "neo4j"),
            "PESO_NEO4J_PASSWORD": os.environ.get("PESO_TEST_NEO4J_PASSWORD", "neo4j")}


def _neo4j(env: dict[str, str], work: Any) -> Any:
    async def run() -> Any:
        store = Neo4jGraphStore(env["PESO_GRAPH_URL"], user=env["PESO_NEO4J_USER"],
                                password=env["PESO_NEO4J_PASSWORD"], database="neo4j")
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()
    return asyncio.run(run())


def test_two_worker_processes_on_neo4j_run_the_job_once(tmp_path: Path) -> None:
    neo = _neo4j_env()
    _neo4j(neo, wipe_neo4j)
    data = tmp_path / "data"   # objects only: the catalog is the shared Neo4j
    # The job is due every 6 s: long enough that two workers started together (each a Python
    # process that may take seconds to start on a busy machine) see the same due run.
    for _ in range(2):  # twice: once on an empty catalog, once when it is due again
        answers = _two_workers(data, peso_env(data, PESO_HEALTH_REPORT_EVERY_SECONDS="6",
                                              **neo))
        statuses = [j["status"] for a in answers for j in a["jobs"]]
        assert statuses.count("ran") == 1, answers
        time.sleep(6.1)
    runs = _neo4j(neo, _runs)
    assert [r.state for r in runs] == [RunState.COMPLETE, RunState.COMPLETE]
    _neo4j(neo, wipe_neo4j)


def test_serve_runs_the_jobs_unless_told_not_to(tmp_path: Path) -> None:
    fast = {"PESO_WORKER_POLL_SECONDS": "0.1"}
    quiet = tmp_path / "quiet"
    with running_server(quiet, "--no-worker", **fast):
        time.sleep(1.0)
        assert _sqlite_runs(quiet) == []
    off = tmp_path / "off"
    with running_server(off, PESO_WORKER_IN_SERVE="false", **fast):
        time.sleep(1.0)
        assert _sqlite_runs(off) == []
    busy = tmp_path / "busy"
    with running_server(busy, **fast):
        deadline = time.monotonic() + 20   # until the job's run has ended, not just begun
        while (not (runs := _sqlite_runs(busy)) or runs[0].state is RunState.START) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        [run] = _sqlite_runs(busy)
    assert run.state is RunState.COMPLETE
    assert (busy / "objects" / edition_key(datetime.now(UTC).date())).is_file()


def test_worker_loop_runs_due_jobs_and_stops_on_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = peso_env(data, PESO_WORKER_POLL_SECONDS="0.1", PESO_HEALTH_REPORT_EVERY_SECONDS="1")
    proc = subprocess.Popen(peso_command("worker"), env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while len(_sqlite_runs(data)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)   # due again every second: a second run proves it loops
        assert len(_sqlite_runs(data)) >= 2
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err
    assert "peso worker: running background jobs" in err
    assert all(r.state is RunState.COMPLETE for r in _sqlite_runs(data))


async def test_a_broken_job_source_does_not_stop_the_others(
        tmp_path: Path, stores: tuple[GraphStore, LocalObjectStore],
        caplog: pytest.LogCaptureFixture) -> None:
    graph, objects = stores
    settings = Settings.from_env({"PESO_DATA_DIR": str(tmp_path)})

    async def broken_source(ctx: JobContext) -> Sequence[Job]:
        raise KeyError("harvest table missing")

    async def fine(ctx: JobContext) -> str:
        return "ok"

    async def source(ctx: JobContext) -> Sequence[Job]:
        return [Job("fine", fine, "works", every=60)]

    outcomes = await Scheduler(graph, objects, settings, [broken_source, source]).tick()
    assert [(o.job, o.status) for o in outcomes] == [("fine", "ran")]
    assert "broken_source failed" in caplog.text


async def test_a_job_that_loses_its_lease_is_stopped(
        tmp_path: Path, stores: tuple[GraphStore, LocalObjectStore]) -> None:
    graph, objects = stores
    settings = Settings.from_env({"PESO_DATA_DIR": str(tmp_path),
                                  "PESO_WORKER_LEASE_SECONDS": "1"})
    stopped = asyncio.Event()

    async def slow(ctx: JobContext) -> str:
        # another worker takes the lease over (as after a long pause of this one)
        await graph.release_lease("job:slow", "me")
        assert await graph.acquire_lease("job:slow", "thief", 60)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            stopped.set()
            raise
        return "never"

    async def source(ctx: JobContext) -> Sequence[Job]:
        return [Job("slow", slow, "slow", every=60)]

    [outcome] = await Scheduler(graph, objects, settings, [source], holder="me").tick()
    assert outcome.status == "failed"
    assert "taken over" in outcome.summary
    assert stopped.is_set()
    [run] = await _runs(graph, "peso.worker.slow")
    assert run.state is RunState.FAIL
    lease = await graph.get_lease("job:slow")
    assert lease is not None
    assert lease.holder == "thief"   # ours was not released over theirs
