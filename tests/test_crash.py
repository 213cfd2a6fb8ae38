"""Crash safety: a `peso load` killed like `kill -9` at named points (PESO_TEST_CRASH_AT, see
server/crashpoints.py) leaves no registered half-version; `peso gc` finds what it wrote and a
re-run ends with exactly one correct version and no orphaned object. Concurrent loads into one
dataset, from separate processes, get consecutive versions and none is lost."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from tests.helpers import write_csv
from tests.serverproc import REPO, peso_command, peso_env, run_peso

pytestmark = pytest.mark.slow


def objects_on_disk(data: Path) -> list[str]:
    root = data / "objects"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def versions(data: Path, name: str) -> list[tuple[int, str, str | None]]:
    with sqlite3.connect(data / "catalog.db") as db:
        return db.execute(
            "SELECT v.version, v.content_hash, v.curated_key FROM versions v JOIN datasets d "
            "ON d.id = v.dataset_id WHERE d.namespace = 'crm' AND d.name = ? "
            "ORDER BY v.version", (name,)).fetchall()


def gc(data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
       *args: str) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("PESO_DATA_DIR", str(data))
    code = main(["gc", "--json", "--grace", "0", *args])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("point", ["after-objects", "in-register"])
def test_a_load_killed_mid_write_leaves_nothing_half_done(
        point: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "peso-data"
    csv = write_csv(tmp_path / "leads.csv", ["id", "email", "spend"],
                    [[i, f"u{i}@example.com", i * 1.5] for i in range(200)])
    killed = run_peso("load", str(csv), "--dataset", "crm/leads", data_dir=data,
                      env=peso_env(data, PESO_TEST_CRASH_AT=point), timeout=60)
    assert killed.returncode == 137, killed.stderr
    assert f"crashing at {point}" in killed.stderr

    # nothing registered: no version, no half-version (the transaction never committed)
    assert versions(data, "leads") == []
    assert versions(data, "leads.raw") == []
    with sqlite3.connect(data / "catalog.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM versions").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM fields").fetchone() == (0,)
    written = objects_on_disk(data)
    assert [k.split("/")[0] for k in written] == ["curated", "raw"]
    assert list((data / "tmp").iterdir())            # the killed load's scratch folder

    # gc: a dry run lists them; deleting all (100% > PESO_GC_MAX_SHARE) needs --force
    code, report = gc(data, monkeypatch, capsys)
    assert code == 0
    assert sorted(report["orphans"]) == written
    assert report["dry_run"]
    assert report["over_share"]
    assert report["deleted"] == 0
    code, report = gc(data, monkeypatch, capsys, "--delete")
    assert code == 1
    assert report["refused"]
    assert objects_on_disk(data) == written
    code, report = gc(data, monkeypatch, capsys, "--delete", "--force")
    assert code == 0
    assert report["deleted"] == 2
    assert objects_on_disk(data) == []
    assert list((data / "tmp").iterdir()) == []

    # the re-run: exactly one correct version, every object referenced
    monkeypatch.delenv("PESO_TEST_CRASH_AT", raising=False)
    assert main(["load", str(csv), "--dataset", "crm/leads"]) == 0
    capsys.readouterr()
    sha = hashlib.sha256(csv.read_bytes()).hexdigest()
    [(number, content_hash, curated)] = versions(data, "leads")
    assert (number, content_hash) == (1, sha)
    assert [v[:2] for v in versions(data, "leads.raw")] == [(1, sha)]
    assert curated in objects_on_disk(data)
    assert len(objects_on_disk(data)) == 2
    code, report = gc(data, monkeypatch, capsys)
    assert code == 0
    assert report["orphans"] == []
    assert report["referenced"] == 2


def test_gc_leaves_objects_of_loads_in_flight_alone(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "peso-data"
    csv = write_csv(tmp_path / "a.csv", ["id"], [[1], [2]])
    killed = run_peso("load", str(csv), "--dataset", "crm/a", data_dir=data,
                      env=peso_env(data, PESO_TEST_CRASH_AT="after-objects"), timeout=60)
    assert killed.returncode == 137
    monkeypatch.setenv("PESO_DATA_DIR", str(data))
    assert main(["gc", "--json", "--delete", "--force"]) == 0   # default grace: an hour
    report = json.loads(capsys.readouterr().out)
    assert report["orphans"] == []
    assert report["young_unreferenced"] == 2
    assert len(objects_on_disk(data)) == 2


def test_concurrent_loads_into_one_dataset_get_consecutive_versions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "peso-data"
    files = [write_csv(tmp_path / f"batch{i}.csv", ["id", "batch"],
                       [[j, i] for j in range(50 + i)]) for i in range(4)]
    env = peso_env(data)
    procs = [subprocess.Popen(peso_command("load", str(f), "--dataset", "crm/events"),
                              env=env, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in files]
    try:
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0] * 4, results
    got = versions(data, "events")
    assert [v[0] for v in got] == [1, 2, 3, 4]                   # consecutive, none lost
    assert {v[1] for v in got} == {hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    assert [v[0] for v in versions(data, "events.raw")] == [1, 2, 3, 4]
    on_disk = objects_on_disk(data)
    assert all(v[2] in on_disk for v in got)
    assert len(on_disk) == 8
    code, report = gc(data, monkeypatch, capsys)
    assert code == 0
    assert report["orphans"] == []
