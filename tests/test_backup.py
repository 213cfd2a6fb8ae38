"""`peso export` / `peso import`: the demo catalog round-trips through a folder of JSON Lines
and objects, and the restored catalog answers a fixed set of GraphQL queries exactly as the
original did. Non-empty targets, damaged exports and reused folders are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.cli import main
from server.settings import Settings
from tests.conftest import app_client

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
]


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
    return data


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

    restored = tmp_path / "restored"
    assert run(restored, "import", str(backup)) == 0
    assert "verified" in capsys.readouterr().out
    before, after = answers(demo), answers(restored)
    for query, a, b in zip(QUERIES, before, after, strict=True):
        assert a == b, query
    assert after[0]["datasets"]["totalCount"] >= 7
    assert after[-1]["auditLog"]["totalCount"] > 0

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
