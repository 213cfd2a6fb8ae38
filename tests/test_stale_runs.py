"""Issue 10 item 7: a `peso load` killed mid-load no longer leaves its run in START forever
(`peso worker`, `peso serve` and `peso gc --delete` close it as ABORT with the reason); a run
started on another host is closed once older than PESO_STALE_RUN_SECONDS; other producers'
runs are never touched; `rejected/` has a retention honoured by `peso gc --delete`; and a
reload of identical content records no run that could pass for a new load."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loaders.pipeline import LoadRequest, load_file
from server.cli import main
from server.models import RunState
from server.openlineage.consumer import ingest
from server.openlineage.peso_jobs import LOAD_JOB, LoadLineage
from server.settings import Settings
from server.stale_runs import close_stale_runs
from server.storage.local import LocalObjectStore
from server.storage.sqlite.store import SQLiteGraphStore
from tests.helpers import write_csv
from tests.serverproc import peso_env, run_peso, running_server


def _with_graph(data: Path, work: Any) -> Any:
    async def run() -> Any:
        graph = SQLiteGraphStore(str(data / "catalog.db"))
        await graph.open()
        try:
            return await work(graph)
        finally:
            await graph.close()
    return asyncio.run(run())


async def _runs(graph: SQLiteGraphStore, job: str = LOAD_JOB, namespace: str = "peso"
                ) -> list[Any]:
    found = await graph.get_job(namespace, job)
    return [] if found is None else (await graph.list_runs(job_id=found.id, first=50)).items


def _killed_load(tmp_path: Path, data: Path) -> str:
    """A `peso load` that dies like kill -9 after writing its objects; its run's id."""
    csv = write_csv(tmp_path / "leads.csv", ["id", "spend"], [[i, i * 1.5] for i in range(20)])
    killed = run_peso("load", str(csv), "--dataset", "crm/leads", data_dir=data,
                      env=peso_env(data, PESO_TEST_CRASH_AT="after-objects"), timeout=60)
    assert killed.returncode == 137, killed.stderr
    [run] = _with_graph(data, _runs)
    assert run.state is RunState.START   # what main left behind forever
    assert run.facets["pesoProcess"]["pid"] > 0
    return str(run.id)


def test_worker_closes_the_run_of_a_killed_load(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_id = _killed_load(tmp_path, data)
    done = run_peso("worker", "--once", "--json", data_dir=data, timeout=60)
    assert done.returncode == 0, done.stderr
    [closed] = json.loads(done.stdout)["closed_runs"]
    assert (closed["job"], closed["run_id"]) == (LOAD_JOB, run_id)
    assert "is gone" in closed["reason"]
    [run] = _with_graph(data, _runs)
    assert run.state is RunState.ABORT
    assert run.error_message is not None
    assert "pid" in run.error_message
    assert "is gone" in run.error_message
    assert run.ended_at is not None


def test_serve_closes_it_at_start_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_id = _killed_load(tmp_path, data)
    with running_server(data, "--no-worker"):
        [run] = _with_graph(data, _runs)
    assert run.id == run_id
    assert run.state is RunState.ABORT


def test_gc_reports_it_in_a_dry_run_and_closes_it_with_delete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    run_id = _killed_load(tmp_path, data)
    monkeypatch.setenv("PESO_DATA_DIR", str(data))
    assert main(["gc", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)["stale_runs"]
    assert listed["run_id"] == run_id
    assert [r.state for r in _with_graph(data, _runs)] == [RunState.START]  # a dry run
    assert main(["gc", "--delete", "--force", "--grace", "0"]) == 0
    out = capsys.readouterr().out
    assert "closed 1 runs whose process is gone as ABORT" in out
    assert [r.state for r in _with_graph(data, _runs)] == [RunState.ABORT]


def _event(run_id: str, *, namespace: str, job: str, host: str, pid: int,
           at: datetime) -> dict[str, Any]:
    return {"eventType": "START", "eventTime": at.isoformat(),
            "run": {"runId": run_id, "facets": {"pesoProcess": {
                "_producer": "urn:test", "_schemaURL": "https://openlineage.io/spec/2-0-2/"
                "OpenLineage.json#/$defs/BaseFacet", "host": host, "pid": pid}}},
            "job": {"namespace": namespace, "name": job}, "inputs": [], "outputs": [],
            "producer": "urn:test",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}


async def test_runs_of_other_hosts_close_after_the_timeout_and_others_runs_never(
        tmp_path: Path) -> None:
    graph = SQLiteGraphStore(str(tmp_path / "catalog.db"))
    await graph.open()
    try:
        now = datetime.now(UTC)
        old, recent, foreign, alive = (str(uuid.uuid4()) for _ in range(4))
        for run_id, ns, host, pid, age in (
                (old, "peso", "elsewhere", 4242, timedelta(hours=3)),
                (recent, "peso", "elsewhere", 4243, timedelta(minutes=5)),
                (foreign, "airflow", "elsewhere", 1, timedelta(days=30)),
                (alive, "peso", os.uname().nodename, os.getpid(), timedelta(minutes=5))):
            await ingest(graph, _event(run_id, namespace=ns, job=f"{ns}.job", host=host,
                                       pid=pid, at=now - age), actor="test")
        closed = await close_stale_runs(graph, max_age_seconds=3600)
        assert [c.run_id for c in closed] == [old]
        assert "3600 s (PESO_STALE_RUN_SECONDS)" in closed[0].reason
        assert "pid 4242 on elsewhere" in closed[0].reason
        states = {r.id: r.state for r in await graph.get_runs([old, recent, foreign, alive])
                  if r is not None}
        assert states == {old: RunState.ABORT, recent: RunState.START,
                          foreign: RunState.START, alive: RunState.START}
        assert await close_stale_runs(graph, max_age_seconds=3600) == []  # nothing left
    finally:
        await graph.close()


def test_gc_removes_rejected_uploads_past_their_retention(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    objects = LocalObjectStore(data / "objects")
    objects.open()
    keys = {"old": "rejected/crm/leads/01old/leads.csv",
            "new": "rejected/crm/leads/02new/leads.csv"}
    for key in keys.values():
        objects.put_stream(key, io.BytesIO(b"id,spend\nx,y\n"), size=13)
    forty_days_ago = time.time() - 40 * 86400
    os.utime(data / "objects" / keys["old"], (forty_days_ago, forty_days_ago))
    objects.close()
    monkeypatch.setenv("PESO_DATA_DIR", str(data))

    monkeypatch.setenv("PESO_REJECTED_RETENTION_DAYS", "0")   # kept forever
    assert main(["gc", "--delete", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rejected_expired"] == []
    assert (data / "objects" / keys["old"]).is_file()

    monkeypatch.setenv("PESO_REJECTED_RETENTION_DAYS", "30")
    assert main(["gc", "--json"]) == 0   # a dry run names it, deletes nothing
    assert json.loads(capsys.readouterr().out)["rejected_expired"] == [keys["old"]]
    assert (data / "objects" / keys["old"]).is_file()
    assert main(["gc", "--delete", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rejected_expired"] == [keys["old"]]
    assert report["deleted"] == 1
    assert not (data / "objects" / keys["old"]).exists()
    assert (data / "objects" / keys["new"]).is_file()


def test_an_identical_reload_records_no_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("PESO_DATA_DIR", str(data))
    csv = write_csv(tmp_path / "leads.csv", ["id", "spend"], [[1, 2.5], [2, 3.5]])
    assert main(["load", str(csv), "--dataset", "crm/leads"]) == 0
    assert main(["load", str(csv), "--dataset", "crm/leads"]) == 0   # a no-op
    runs = _with_graph(data, _runs)
    assert [r.state for r in runs] == [RunState.COMPLETE]


async def test_a_concurrent_identical_load_completes_without_outputs(tmp_path: Path) -> None:
    """Two loads of one content at once: one registers it; the other may have started its run
    already: it completes marked unchanged, with no output, never as a second load."""
    settings = Settings.from_env({"PESO_DATA_DIR": str(tmp_path)})
    graph = SQLiteGraphStore(str(tmp_path / "catalog.db"))
    objects = LocalObjectStore(tmp_path / "objects")
    await graph.open()
    objects.open()
    try:
        csv = write_csv(tmp_path / "leads.csv", ["id", "spend"],
                        [[i, i * 0.5] for i in range(2000)])
        req = LoadRequest(path=csv, namespace="crm", name="leads")
        results = await asyncio.gather(*(load_file(
            req, graph=graph, objects=objects, actor="test",
            lineage=LoadLineage(graph, settings, actor="test")) for _ in range(3)))
        assert sorted(r.curated.created for r in results) == [False, False, True]
        runs = await _runs(graph)
        assert all(r.state is RunState.COMPLETE for r in runs)
        wrote = [r for r in runs if any(
            d.role.value == "output" for d in (await graph.get_run_datasets([r.id]))[0])]
        assert len(wrote) == 1
        for r in runs:
            if r is not wrote[0]:
                assert r.facets["pesoLoad"]["unchanged"] is True
                assert (await graph.get_run_datasets([r.id]))[0] == []
    finally:
        objects.close()
        await graph.close()
