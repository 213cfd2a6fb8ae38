"""``peso migrate``: SQLite → SQLite and local folder → S3 (moto), checked through the real
GraphQL app on each side (identical answers, previews read from S3 included, OpenLineage jobs,
runs, column lineage and impact too), plus re-runs and the refusal of a target that holds
something else."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from loaders.demo import load_demo
from loaders.pipeline import LoadRequest, load_file
from server.app import create_app
from server.cli import main
from server.errors import ConflictError
from server.migrate import MigrationReport, migrate
from server.models import DatasetKey, SourceKind
from server.openlineage.peso_jobs import LoadLineage
from server.storage.graph import GraphStore
from server.storage.local import LocalObjectStore
from server.storage.objects import ObjectStore
from server.storage.sqlite.store import SQLiteGraphStore
from server.storage.transfer import RECORD_KINDS
from tests.conftest import BANK_CSV, make_settings
from tests.lineage_catalog import LINEAGE_QUERIES, add_lineage
from tests.s3server import S3Endpoint, drop_bucket, fresh_bucket, s3_server

__all__ = ["s3_server"]  # a fixture used by name below

DATASET_FIELDS = """
  id namespace name layer description createdAt updatedAt deletedAt
  source { id name kind url license description createdAt updatedAt }
  tags { name }
  owners { name kind email }
  entities { role entity { id kind name isHuman description identifiers createdAt } }
  latestVersion { id version contentHash rowCount byteSize rawKey curatedKey format createdAt
                  createdBy fields { name position arrowType nullable description metadata } }
  versions(first: 10) { totalCount edges { cursor node { id version contentHash } } }
"""
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("query { datasets(first: 100) { totalCount pageInfo { hasNextPage endCursor } "
     "edges { cursor node { " + DATASET_FIELDS + " } } } }", {}),
    ("query($after: String) { datasets(first: 3, after: $after, orderBy: {field: CREATED_AT, "
     "direction: DESC}) { totalCount pageInfo { hasNextPage endCursor } "
     "edges { cursor node { id name createdAt } } } }", {}),
    ("query { datasets(first: 50, filter: {text: \"customer\"}) { totalCount "
     "edges { node { id } } } }", {}),
    ("query { datasets(first: 50, filter: {layer: RAW}, orderBy: {field: UPDATED_AT}) { "
     "totalCount edges { cursor node { id updatedAt } } } }", {}),
    ("query { sources(first: 50) { totalCount edges { cursor node { id name kind url license "
     "description createdAt updatedAt } } } }", {}),
    ("query { entities(first: 50) { totalCount edges { cursor node { id kind name isHuman "
     "description identifiers createdAt } } } }", {}),
    ("query { entities(first: 50, isHuman: true) { totalCount edges { node { id } } } }", {}),
    ("query { search(query: \"campaign\", first: 20) { totalCount edges { cursor score "
     "node { id namespace name } } } }", {}),
    ("query { search(query: \"age job balance\", first: 20) { totalCount edges { score "
     "node { id } } } }", {}),
    ("query { lineage(namespace: \"corpus\", name: \"bank\", depth: 5) { "
     "nodes { depth dataset { id name } } edges { transformation job createdAt "
     "downstream { id } upstream { id } viaJob { id name } viaRun { id runId state } } } }",
     {}),
    ("query { dataset(namespace: \"corpus\", name: \"bank\") { latestVersion { "
     "all: preview(limit: 20) "
     "window: preview(columns: [\"job\", \"age\"], limit: 7, offset: 4000) } } }", {}),
    ("query { dataset(namespace: \"scratch\", name: \"old\") { id } }", {}),
]
# OpenLineage: the events of tests/lineage_catalog.py, and the bank's load as a peso.load run
LINEAGE: list[str] = [*LINEAGE_QUERIES, """{ columnLineage(namespace: "corpus", name: "bank",
    field: "age", direction: BOTH, depth: 2) { nodesTotal nodes { id depth } edges {
    downstreamField upstreamField transformationType transformationSubtype description
    viaJob { name } viaRun { id state } } } }"""]


def _build_source(root: Path) -> None:
    """The demo catalog, the UCI bank file (loaded as a peso.load run, with its lineage),
    OpenLineage events, and a tagged-then-deleted dataset."""
    async def run() -> None:
        graph, objects = SQLiteGraphStore(str(root / "catalog.db")), LocalObjectStore(
            root / "objects")
        await graph.open()
        objects.open()
        try:
            await load_demo(graph, objects, tmp_dir=root / "tmp")
            await graph.upsert_source(name="UCI", kind=SourceKind.PUBLIC_PORTAL,
                                      url="https://archive.ics.uci.edu", actor="test")
            await load_file(LoadRequest(path=BANK_CSV, namespace="corpus", name="bank",
                                        source="UCI", description="UCI bank marketing"),
                            graph=graph, objects=objects, actor="test", tmp_dir=root / "tmp",
                            lineage=LoadLineage(graph, make_settings(root), actor="test"))
            await add_lineage(graph)
            await graph.upsert_dataset(namespace="scratch", name="old", description="gone",
                                       actor="test")
            await graph.add_tag(DatasetKey("scratch", "old"), "obsolete", actor="test")
            await graph.delete_dataset("scratch", "old", actor="test")
        finally:
            objects.close()
            await graph.close()
    (root / "tmp").mkdir(parents=True)
    asyncio.run(run())


@pytest.fixture(scope="module")
def source_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not BANK_CSV.is_file():
        pytest.skip(f"corpus file {BANK_CSV} not found")
    root = tmp_path_factory.mktemp("source")
    _build_source(root)
    return root


@pytest.fixture
def source(source_root: Path, tmp_path: Path) -> Path:
    """A private copy of the source catalog (so that no test can change another's)."""
    copy = tmp_path / "source"
    shutil.copytree(source_root, copy)
    return copy


async def _migrate(src: Path, graph: GraphStore, objects: ObjectStore, **kw: Any
                   ) -> MigrationReport:
    sg, so = SQLiteGraphStore(str(src / "catalog.db")), LocalObjectStore(src / "objects")
    stores: list[Any] = [sg, graph]
    for g in stores:
        await g.open()
    so.open()
    objects.open()
    try:
        return await migrate(sg, graph, so, objects, **kw)
    finally:
        so.close()
        objects.close()
        for g in stores:
            await g.close()


def _answers(tmp_path: Path, graph: GraphStore, objects: ObjectStore) -> list[Any]:
    app = create_app(make_settings(tmp_path), graph=graph, objects=objects)
    out = []
    with TestClient(app) as client:
        for query, variables in QUERIES:
            body = client.post("/graphql", json={"query": query, "variables": variables}).json()
            assert "errors" not in body, body["errors"]
            out.append(body["data"])
        # the second page of the CREATED_AT walk, by the cursor the first page gave
        cursor = out[1]["datasets"]["pageInfo"]["endCursor"]
        body = client.post("/graphql", json={"query": QUERIES[1][0],
                                             "variables": {"after": cursor}}).json()
        out.append(body["data"])
        for query in LINEAGE:
            body = client.post("/graphql", json={"query": query}).json()
            assert "errors" not in body, body["errors"]
            out.append(body["data"])
    return out


def _assert_lineage_answers(answers: list[Any]) -> None:
    """The compared answers are not vacuous: jobs, runs and lineage are there."""
    jobs, report, load, _, lineage, columns, impact, bank = answers[-len(LINEAGE):]
    assert {"nightly_spend", "report", "peso.load"} <= {
        e["node"]["name"] for e in jobs["jobs"]["edges"]}
    states = {e["node"]["runId"]: e["node"]["state"] for e in report["job"]["runs"]["edges"]}
    assert sorted(states.values()) == ["COMPLETE", "FAIL"]
    assert load["job"]["runs"]["edges"][0]["node"]["state"] == "COMPLETE"
    assert {e["viaJob"]["name"] for e in lineage["lineage"]["edges"]} == {
        "nightly_spend", "report"}
    assert all(e["viaRun"] for e in lineage["lineage"]["edges"])
    assert columns["columnLineage"]["edges"]
    assert [e["distance"] for e in impact["impact"]["entries"]] == [1, 2]
    assert bank["columnLineage"]["edges"][0]["viaJob"]["name"] == "peso.load"


def _audit(graph: GraphStore) -> list[Any]:
    async def run() -> list[Any]:
        await graph.open()
        try:
            return await graph.list_audit(limit=100_000)
        finally:
            await graph.close()
    return asyncio.run(run())


def _assert_complete(report: MigrationReport, *, copied: bool) -> None:
    assert report.ok, report.lines()
    assert report.verified == report.records
    assert all(report.records[kind] > 0 for kind in RECORD_KINDS), report.records
    assert report.objects_verified == report.objects > 0
    if copied:
        assert report.copied == report.records
        assert report.objects_copied == report.objects
    else:  # a re-run: nothing new to copy, everything verified again
        assert sum(report.copied.values()) == 0
        assert report.objects_copied == 0


def test_sqlite_to_sqlite_gives_identical_answers_and_reruns_as_a_noop(
        source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    first = asyncio.run(_migrate(source, SQLiteGraphStore(str(target / "catalog.db")),
                                 LocalObjectStore(target / "objects")))
    _assert_complete(first, copied=True)
    again = asyncio.run(_migrate(source, SQLiteGraphStore(str(target / "catalog.db")),
                                 LocalObjectStore(target / "objects")))
    _assert_complete(again, copied=False)

    before = _answers(tmp_path / "a", SQLiteGraphStore(str(source / "catalog.db")),
                      LocalObjectStore(source / "objects"))
    after = _answers(tmp_path / "b", SQLiteGraphStore(str(target / "catalog.db")),
                     LocalObjectStore(target / "objects"))
    assert after == before
    assert before[0]["datasets"]["totalCount"] >= 8
    assert before[len(QUERIES) - 1]["dataset"] is None  # soft-deleted: hidden on both sides
    _assert_lineage_answers(before)
    assert [e["viaJob"]["name"] for e in before[9]["lineage"]["edges"]] == ["peso.load"]
    assert _audit(SQLiteGraphStore(str(target / "catalog.db"))) == _audit(
        SQLiteGraphStore(str(source / "catalog.db")))


def test_local_to_s3_through_the_cli(source: Path, tmp_path: Path, s3_server: S3Endpoint,
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    bucket = fresh_bucket()
    for name, value in {"PESO_DATA_DIR": str(tmp_path / "data"),
                        "PESO_S3_ENDPOINT": s3_server.endpoint,
                        "PESO_S3_ACCESS_KEY": s3_server.access_key,
                        "PESO_S3_SECRET_KEY": s3_server.secret_key}.items():
        monkeypatch.setenv(name, value)
    args = ["migrate", "--from-graph", f"sqlite://{source / 'catalog.db'}",
            "--to-graph", f"sqlite://{tmp_path / 'target.db'}",
            "--from-objects", f"file://{source / 'objects'}",
            "--to-objects", f"s3://{bucket}/peso"]
    s3 = s3_server.store(bucket, prefix="peso")
    try:
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "verified objects (sha256):" in out
        assert "problem" not in out
        assert main(args) == 0  # the re-run
        assert "copied 0 records and 0 objects" in capsys.readouterr().out

        before = _answers(tmp_path / "a", SQLiteGraphStore(str(source / "catalog.db")),
                          LocalObjectStore(source / "objects"))
        after = _answers(tmp_path / "b", SQLiteGraphStore(str(tmp_path / "target.db")), s3)
        assert after == before  # previews included: read from S3 through pyarrow
        assert before[10]["dataset"]["latestVersion"]["window"]["rows"]
        _assert_lineage_answers(before)
        keys = [o.key for o in LocalObjectStore(source / "objects").list()]
        assert [o.key for o in s3.list()] == sorted(keys)
    finally:
        s3.open()
        drop_bucket(s3)
        s3.close()


def test_a_target_holding_other_data_is_refused_unless_forced(source: Path,
                                                              tmp_path: Path) -> None:
    target = tmp_path / "target"

    async def other_data() -> None:
        graph = SQLiteGraphStore(str(target / "catalog.db"))
        await graph.open()
        await graph.upsert_dataset(namespace="other", name="thing", actor="someone")
        await graph.close()
    asyncio.run(other_data())

    def stores() -> tuple[SQLiteGraphStore, LocalObjectStore]:
        return (SQLiteGraphStore(str(target / "catalog.db")),
                LocalObjectStore(target / "objects"))

    with pytest.raises(ConflictError, match=r"not a copy of this source.*--force"):
        asyncio.run(_migrate(source, *stores()))
    assert list(LocalObjectStore(target / "objects").list()) == []  # nothing was written
    assert len(_audit(stores()[0])) == 1

    forced = asyncio.run(_migrate(source, *stores(), force=True))
    _assert_complete(forced, copied=True)
    kept = _audit(stores()[0])
    assert [e.target_kind for e in kept].count("Dataset") > 1
    assert any(e.actor == "someone" for e in kept)  # the target's own data stays

    # a plain re-run now sees data that is not in the source, and says so again
    with pytest.raises(ConflictError, match=r"2 records not in the source: dataset \w+, audit"):
        asyncio.run(_migrate(source, *stores()))


def test_a_target_with_a_changed_object_is_refused(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    first = asyncio.run(_migrate(source, SQLiteGraphStore(str(target / "catalog.db")),
                                 LocalObjectStore(target / "objects")))
    assert first.ok
    victim = next(iter(LocalObjectStore(target / "objects").list()))
    (target / "objects" / victim.key).write_bytes(b"tampered")
    report = asyncio.run(_migrate(source, SQLiteGraphStore(str(target / "catalog.db")),
                                  LocalObjectStore(target / "objects")))
    assert not report.ok
    assert any(victim.key in p for p in report.problems), report.problems

