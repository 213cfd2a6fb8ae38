"""`peso export` / `peso import`: the demo catalog — with OpenLineage jobs, runs, column
lineage and events, and a `peso load` reported as a run — round-trips through a folder of
JSON Lines and objects, and the restored catalog answers a fixed set of GraphQL queries exactly
as the original did (an event replayed into it stays a no-op). Exports of format version 1
still import. Non-empty targets, damaged exports and reused folders are refused."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.cli import main
from server.openlineage.consumer import ingest
from server.settings import Settings
from server.storage.sqlite.store import SQLiteGraphStore
from server.storage.transfer import ADDED_KEYS, RECORD_KINDS
from tests.conftest import app_client
from tests.helpers import write_csv
from tests.lineage_catalog import LINEAGE_QUERIES, add_lineage, built_events

QUERIES = [
    """{ datasets(first: 100) { totalCount edges { cursor node { id namespace name layer
         description createdAt updatedAt source { id name kind license } tags { name }
         owners { name kind email } entities { role entity { id kind name isHuman } }
         latestVersion { id version contentHash rowCount byteSize rawKey curatedKey createdBy
           fields { name position arrowType pii semanticType profile { count nullCount min max
           topValues { value count } } } }
         versions(first: 10) { totalCount edges { node { id version } } } } } } }""",
    """{ sources(first: 50) { totalCount edges { node { id name kind url license } } } }""",
    """{ entities(first: 50) { totalCount edges { node { id kind name isHuman identifiers }
         } } }""",
    """{ search(query: "campaign", first: 20) { totalCount edges { score node { id } } } }""",
    """{ lineage(namespace: "marketing", name: "campaign_performance", direction: UPSTREAM,
         depth: 5) { nodes { depth dataset { id name } } edges { transformation job createdAt
         downstream { id } upstream { id } } } }""",
    """{ dataset(namespace: "crm", name: "customers") { latestVersion {
         preview(limit: 15) } } }""",
    """{ auditLog(first: 100, action: "version.added") { totalCount edges { node { id at actor
         action targetKind targetId detail requestId } } } }""",
    """{ lineage(namespace: "crm", name: "contacts", direction: UPSTREAM, depth: 2) {
         edges { transformation job viaJob { id name } viaRun { id state } } } }""",
    *LINEAGE_QUERIES,
]
AUDIT, CONTACTS, LINEAGE = 6, 7, 8   # where those answers are in QUERIES


def _with_lineage(data: Path, csv: Path) -> None:
    """A `peso load` (a peso.load run with its lineage) and the OpenLineage events."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PESO_DATA_DIR", str(data))
        assert main(["load", str(csv), "--dataset", "crm/contacts"]) == 0

    async def events() -> None:
        graph = SQLiteGraphStore(str(data / "catalog.db"))
        await graph.open()
        try:
            await add_lineage(graph)
        finally:
            await graph.close()
    asyncio.run(events())


def answers(data: Path) -> list[Any]:
    with app_client(create_app(Settings.from_env({"PESO_DATA_DIR": str(data)}))) as client:
        out = []
        for query in QUERIES:
            body = client.post("/graphql", json={"query": query}).json()
            assert "errors" not in body, body["errors"]
            out.append(body["data"])
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("demo") / "peso-data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PESO_DATA_DIR", str(data))
        assert main(["demo"]) == 0
    csv = write_csv(data.parent / "contacts.csv", ["id", "email"], [[1, "a@x.org"]])
    _with_lineage(data, csv)
    return data


def _replay(data: Path) -> bool:
    """Whether replaying an event the catalog received creates anything."""
    async def work() -> bool:
        graph = SQLiteGraphStore(str(data / "catalog.db"))
        await graph.open()
        try:
            return (await ingest(graph, built_events()[1], actor="test")).result.created
        finally:
            await graph.close()
    return asyncio.run(work())


def run(data: Path, *args: str) -> int:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PESO_DATA_DIR", str(data))
        return main(list(args))


@pytest.mark.slow
def test_the_demo_catalog_round_trips(demo: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    backup = tmp_path / "backup"
    assert run(demo, "export", str(backup), "--with-objects") == 0
    out = capsys.readouterr().out
    assert "exported" in out
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["format"] == "peso-export"
    assert manifest["with_objects"] is True
    listed = [json.loads(line) for line in (backup / "objects.jsonl").read_text().splitlines()]
    assert listed
    assert all(len(e["sha256"]) == 64 for e in listed)
    assert all((backup / "objects" / e["key"]).is_file() for e in listed)
    lines = (backup / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == sum(manifest["records"].values())
    assert manifest["version"] == 2
    assert all(manifest["records"][kind] > 0 for kind in RECORD_KINDS), manifest["records"]

    restored = tmp_path / "restored"
    assert run(restored, "import", str(backup)) == 0
    assert "verified" in capsys.readouterr().out
    before, after = answers(demo), answers(restored)
    for query, a, b in zip(QUERIES, before, after, strict=True):
        assert a == b, query
    assert after[0]["datasets"]["totalCount"] >= 7
    assert after[AUDIT]["auditLog"]["totalCount"] > 0
    [edge] = after[CONTACTS]["lineage"]["edges"]
    assert edge["viaJob"]["name"] == "peso.load"
    assert edge["viaRun"]["state"] == "COMPLETE"
    assert {e["node"]["name"] for e in after[LINEAGE]["jobs"]["edges"]} >= {
        "nightly_spend", "report", "peso.load"}
    assert _replay(restored) is False   # the received events came along: still a replay

    assert run(restored, "import", str(backup)) == 1                # not empty any more
    assert "not empty" in capsys.readouterr().err
    assert run(demo, "export", str(backup)) == 1                    # not a new folder
    assert "not an empty folder" in capsys.readouterr().err


def test_an_export_without_objects_restores_over_the_same_object_store(
        demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backup = tmp_path / "manifest-only"
    assert run(demo, "export", str(backup)) == 0
    assert not (backup / "objects").exists()
    fresh = tmp_path / "fresh"
    shutil.copytree(demo / "objects", fresh / "objects")
    assert run(fresh, "import", str(backup)) == 0
    capsys.readouterr()
    assert answers(fresh)[5] == answers(demo)[5]                     # the preview reads


def test_a_damaged_or_incomplete_export_is_refused(demo: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    backup = tmp_path / "backup"
    assert run(demo, "export", str(backup), "--with-objects") == 0
    capsys.readouterr()
    victim = next((backup / "objects").rglob("*.parquet"))
    victim.write_bytes(victim.read_bytes()[:-1] + b"\x00")
    target = tmp_path / "target"
    assert run(target, "import", str(backup)) == 1
    assert "sha256 differs" in capsys.readouterr().err
    with TestClient(create_app(Settings.from_env({"PESO_DATA_DIR": str(target)}))) as c:
        assert c.post("/graphql", json={"query": "{ datasets { totalCount } }"}).json()[
            "data"]["datasets"]["totalCount"] == 0                    # no record imported
    (backup / "manifest.json").unlink()
    assert run(tmp_path / "other", "import", str(backup)) == 1
    assert "not a (complete) Peso export" in capsys.readouterr().err


def test_a_manifest_cannot_point_outside_the_export(demo: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    backup = tmp_path / "backup"
    assert run(demo, "export", str(backup)) == 0
    (backup / "objects.jsonl").write_text(json.dumps(
        {"key": "../../etc/passwd", "size": 1, "sha256": "0" * 64}) + "\n")
    assert run(tmp_path / "target", "import", str(backup)) == 1
    assert "object key" in capsys.readouterr().err


def test_an_export_of_format_version_1_still_imports(demo: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Version 1 knew no lineage kinds and no job/run on edges: such an export restores the
    catalog it describes (edges without a job or run), verified record by record."""
    backup = tmp_path / "backup"
    assert run(demo, "export", str(backup), "--with-objects") == 0
    capsys.readouterr()
    v1_kinds = ("source", "entity", "dataset", "version", "link", "tag", "owner", "lineage",
                "audit")
    kept = []
    for line in (backup / "catalog.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["record"] in v1_kinds:
            for added in ADDED_KEYS.get(record["record"], {}):
                record.pop(added)
            kept.append(json.dumps(record))
    (backup / "catalog.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    manifest = json.loads((backup / "manifest.json").read_text())
    (backup / "manifest.json").write_text(json.dumps({**manifest, "version": 1}))
    restored = tmp_path / "restored"
    assert run(restored, "import", str(backup)) == 0
    out = capsys.readouterr().out
    assert f"{len(kept)}/{len(kept)} verified" in out
    got = answers(restored)
    assert got[0] == answers(demo)[0]
    assert got[CONTACTS]["lineage"]["edges"][0]["viaJob"] is None
    assert got[LINEAGE]["jobs"]["totalCount"] == 0
