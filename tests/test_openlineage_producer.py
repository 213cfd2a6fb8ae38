"""Peso as an OpenLineage producer: ``peso load`` and ``peso migrate`` are runs of jobs
``peso.load`` / ``peso.migrate`` in Peso's own lineage, and reach PESO_OPENLINEAGE_URL too."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.cli import main
from server.models import Direction, RunRole, RunState
from server.openlineage.validate import check
from server.storage.sqlite.store import SQLiteGraphStore
from tests.helpers import call, q, stores, write_csv


class _Sink(BaseHTTPRequestHandler):
    received: list[Any] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Sink.received.append(json.loads(body))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sink() -> Iterator[str]:
    """An OpenLineage consumer on 127.0.0.1 that keeps what it is sent."""
    _Sink.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/lineage"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _read(data_dir: Path, work: Any) -> Any:
    async def run() -> Any:
        graph = SQLiteGraphStore(str(data_dir / "catalog.db"))
        await graph.open()
        try:
            return await work(graph)
        finally:
            await graph.close()
    return asyncio.run(run())


def test_peso_load_is_a_run_in_its_own_lineage_and_is_forwarded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sink: str) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("PESO_DATA_DIR", str(data))
    monkeypatch.setenv("PESO_OPENLINEAGE_URL", sink)
    csv = write_csv(tmp_path / "contacts.csv", ["id", "email"], [[1, "a@x.org"]])
    assert main(["load", str(csv), "--dataset", "crm/contacts"]) == 0

    async def look(graph: SQLiteGraphStore) -> dict[str, Any]:
        job = await graph.get_job("peso", "peso.load")
        assert job is not None
        [run] = (await graph.list_runs(job_id=job.id, first=5)).items
        [io] = await graph.get_run_datasets([run.id])
        curated = await graph.get_dataset("crm", "contacts")
        assert curated is not None
        g = await graph.walk_lineage(curated.id, direction=Direction.UPSTREAM, depth=1,
                                     max_nodes=5)
        cols = await graph.walk_column_lineage(curated.id, "email",
                                               direction=Direction.UPSTREAM, depth=1,
                                               max_nodes=5)
        versions = await graph.list_versions([curated.id])
        return {"run": run, "io": io, "ids": {d.id: d.name for d in
                                              (n.dataset for n in g.nodes)},
                "edges": g.edges, "cols": cols, "versions": versions, "job": job}
    got = _read(data, look)
    assert got["run"].state is RunState.COMPLETE
    assert got["run"].started_at is not None
    assert [(got["ids"][d.dataset_id], d.role) for d in got["io"]] == [
        ("contacts.raw", RunRole.INPUT), ("contacts", RunRole.OUTPUT)]
    [edge] = got["edges"]
    assert (edge.job, edge.job_id, edge.run_id) == ("peso.load", got["job"].id, got["run"].id)
    assert edge.transformation is not None
    assert edge.transformation.startswith("peso load")
    assert [(n.dataset.name, n.field) for n in got["cols"].nodes] == [("contacts.raw", "email"),
                                                                      ("contacts", "email")]
    assert [len(v) for v in got["versions"]] == [1]   # no extra version for its own schema
    assert got["job"].description is not None
    # the same events went to the external consumer, valid OpenLineage
    assert [e["eventType"] for e in _Sink.received] == ["START", "COMPLETE"]
    assert all(not check(e).problems and not check(e).defaulted for e in _Sink.received)
    complete = _Sink.received[1]
    assert complete["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 1
    assert {f["name"] for f in complete["outputs"][0]["facets"]["schema"]["fields"]} == {
        "id", "email"}


def test_a_failed_load_is_a_failed_run_and_registers_no_dataset(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("PESO_DATA_DIR", str(data))
    monkeypatch.setenv("PESO_OPENLINEAGE_URL", "http://127.0.0.1:9/unreachable")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    assert main(["load", str(bad), "--dataset", "crm/bad"]) == 1

    async def look(graph: SQLiteGraphStore) -> tuple[Any, Any]:
        job = await graph.get_job("peso", "peso.load")
        assert job is not None
        [run] = (await graph.list_runs(job_id=job.id, first=5)).items
        return run, await graph.get_dataset("crm", "bad")
    run, dataset = _read(data, look)
    assert run.state is RunState.FAIL
    assert run.error_message
    assert run.facets["errorMessage"]["programmingLanguage"] == "PYTHON"
    assert dataset is None


def test_peso_migrate_is_a_run_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "source"
    monkeypatch.setenv("PESO_DATA_DIR", str(source))
    csv = write_csv(tmp_path / "t.csv", ["a"], [[1]])
    assert main(["load", str(csv), "--dataset", "m/t"]) == 0
    own = tmp_path / "own"
    monkeypatch.setenv("PESO_DATA_DIR", str(own))
    args = ["migrate", "--from-graph", f"sqlite://{source / 'catalog.db'}",
            "--to-graph", f"sqlite://{tmp_path / 'target.db'}",
            "--from-objects", f"file://{source / 'objects'}",
            "--to-objects", f"file://{tmp_path / 'target-objects'}"]
    assert main(args) == 0
    capsys.readouterr()

    async def look(graph: SQLiteGraphStore) -> tuple[Any, list[Any]]:
        job = await graph.get_job("peso", "peso.migrate")
        assert job is not None
        [run] = (await graph.list_runs(job_id=job.id, first=5)).items
        [io] = await graph.get_run_datasets([run.id])
        names = await graph.get_datasets([d.dataset_id for d in io])
        return run, [(d.role.value, f"{n.namespace}|{n.name}") for d, n in zip(io, names,
                                                                               strict=True)]
    run, io = _read(own, look)
    assert run.state is RunState.COMPLETE
    assert ("input", f"sqlite://{source / 'catalog.db'}|catalog") in io
    assert ("output", f"file://{tmp_path / 'target-objects'}|objects") in io
    # the source was only read and the target is a pure copy: a re-run copies nothing
    assert main(args) == 0
    assert "copied 0 records and 0 objects" in capsys.readouterr().out


def test_load_file_over_graphql_is_a_run_by_its_caller(client: TestClient) -> None:
    from tests.test_loaders_uploads import payload, upload

    answer = payload(upload(client, "contacts.csv", b"id,email\n1,a@x.org\n"))
    assert answer["created"] is True
    got = q(client, """{ job(namespace: "peso", name: "peso.load") {
        runs { edges { node { state inputs { dataset { name } } outputs { dataset { name }
        outputStatistics } } } } } }""")["job"]
    [run] = got["runs"]["edges"]
    assert run["node"]["state"] == "COMPLETE"
    assert [d["dataset"]["name"] for d in run["node"]["inputs"]] == ["upload.raw"]
    assert run["node"]["outputs"][0]["outputStatistics"]["rowCount"] == 1
    graph, _ = stores(client)
    [newest] = call(client, graph.list_audit, limit=1)
    assert (newest.action, newest.actor) == ("openlineage.event", client_actor(client))


def client_actor(client: TestClient) -> str:
    """The name of the token the client sends (the actor its changes are audited under)."""
    graph, _ = stores(client)
    token = client.headers["Authorization"].split()[1]
    from server.auth import verify_token

    principal = call(client, verify_token, graph, token)
    return str(principal.name)


def test_migrating_peso_s_own_catalog_records_no_run_in_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """README's example: the source is PESO_GRAPH_URL itself. The run is not written into the
    catalogs being copied (it would move the source on under the copy), so a re-run copies
    nothing and verifies again."""
    source = tmp_path / "source"
    monkeypatch.setenv("PESO_DATA_DIR", str(source))
    csv = write_csv(tmp_path / "t.csv", ["a"], [[1]])
    assert main(["load", str(csv), "--dataset", "m/t"]) == 0
    args = ["migrate", "--from-graph", f"sqlite://{source / 'catalog.db'}",
            "--to-graph", f"sqlite://{tmp_path / 'target.db'}",
            "--from-objects", f"file://{source / 'objects'}",
            "--to-objects", f"file://{tmp_path / 'target-objects'}"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    assert "copied 0 records and 0 objects" in capsys.readouterr().out

    async def look(graph: SQLiteGraphStore) -> Any:
        return await graph.get_job("peso", "peso.migrate")
    assert _read(source, look) is None
