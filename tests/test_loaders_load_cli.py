"""`peso load` (loaders.batch behind server.cli): the progress line on a terminal, the --json
report, folders with --namespace, every reading and cleaning switch, and --contract."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from loaders import batch
from loaders.batch import ProgressLine
from server.app import create_app
from server.cli import main
from server.settings import Settings
from tests.conftest import app_client
from tests.helpers import after_location, q, write_csv
from tests.serverproc import REPO, peso_command, peso_env


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("PESO_"):
            monkeypatch.delenv(name)
    folder = tmp_path / "peso-data"
    monkeypatch.setenv("PESO_DATA_DIR", str(folder))
    return folder


def fields(data_dir: Path, namespace: str, name: str) -> list[tuple[str, str]]:
    with app_client(create_app(Settings.from_env({"PESO_DATA_DIR": str(data_dir)}))) as c:
        found = fields_of(c, namespace, name)
    return found


def fields_of(client: TestClient, namespace: str, name: str) -> list[tuple[str, str]]:
    ds = q(client, "query($ns: String!, $n: String!) { dataset(namespace: $ns, name: $n) { "
                   "latestVersion { fields { name arrowType } } } }", ns=namespace, n=name)
    return [(f["name"], f["arrowType"]) for f in ds["dataset"]["latestVersion"]["fields"]]


# --- the progress line -----------------------------------------------------------------------

class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_draws_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    err = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", err)
    clock = iter([100.0, 100.1, 100.5, 101.0])
    monkeypatch.setattr(batch.time, "monotonic", lambda: next(clock))
    bar = ProgressLine("crm/customers", enabled=True)          # starts at t=100.0
    bar(1_000, 1_000_000)                                       # t=100.1: too soon, skipped
    bar(250_000, 25_000_000)                                    # t=100.5: drawn
    bar.done()
    assert err.getvalue() == ("\rcrm/customers: rows 250,000 · 25.0 MB · 50.0 MB/s "
                              "\r\x1b[K")


def test_progress_line_disabled_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    err = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", err)
    bar = ProgressLine("x/y", enabled=False)
    bar(10, 10)
    bar.done()
    assert err.getvalue() == ""


def test_peso_load_on_a_terminal_shows_progress(data_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "visits.csv", ["day", "visits"],
                     [[f"2024-01-{1 + i % 28:02d}", i] for i in range(5_000)])
    monkeypatch.setattr(batch, "_REFRESH", 0.0)
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    assert main(["load", str(path), "--dataset", "web/visits"]) == 0
    drawn = after_location(sys.stderr.getvalue())  # type: ignore[attr-defined]
    assert drawn.startswith("\rweb/visits: rows 5,000 · 0.")
    assert drawn.endswith(" MB/s \r\x1b[K")
    assert capsys.readouterr().out.startswith(f"loaded {path} into web/visits as version 1")


@pytest.mark.slow
def test_progress_through_a_real_pseudo_terminal(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "big.csv", ["id", "name", "spend"],
                     [[i, f"customer {i}", f"{i * 1.5:.2f}"] for i in range(400_000)])
    leader, follower = pty.openpty()
    env = peso_env(tmp_path / "peso-data")
    proc = subprocess.Popen(peso_command("load", str(path), "--dataset", "crm/big"), env=env,
                            cwd=REPO, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:        # the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    assert out.decode().startswith(f"loaded {path} into crm/big as version 1: 400,000 rows")
    if b"rows" in drawn:       # the load may beat the first redraw (0.2 s) on a fast machine
        assert b"\rcrm/big: rows " in drawn
        assert drawn.endswith(b"\r\x1b[K")


# --- --json, folders, options ----------------------------------------------------------------

def test_json_report(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "c.csv", ["id", "city"], [[1, " Köln "], [2, "NA"]])
    assert main(["load", str(path), "--dataset", "crm/c", "--json"]) == 0
    out, err = capsys.readouterr()
    assert after_location(err) == ""
    report = json.loads(out)
    assert (report["rows_read"], report["rows_written"], report["created"]) == (2, 2, True)
    assert report["cleaning"]["trimmed_values"] == 1
    assert report["cleaning"]["null_tokens"] == 1
    assert [s["step"] for s in report["steps"]] == [
        "hash", "check-unchanged", "read+clean+validate+profile", "store-objects", "register"]


def make_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    write_csv(folder / "Web Visits.csv", ["day", "visits"], [["2024-01-01", 3]])
    (folder / "orders.jsonl").write_text('{"order": 1, "total": "$5.00"}\n')
    (folder / "broken.csv").write_text("<!DOCTYPE html><html></html>")
    (folder / "README.md").write_text("not data")
    (folder / "sub").mkdir()
    return folder


def test_folder_load(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_folder(tmp_path)
    assert main(["load", str(folder), "--namespace", "exports", "--json"]) == 1
    out, err = capsys.readouterr()
    reports = json.loads(out)
    # files in name order ("W" before "b"); each named by its snake_cased stem
    assert [r["dataset"] for r in reports] == ["exports/web_visits", "exports/broken",
                                               "exports/orders"]
    assert reports[1]["error"].startswith(f"[read+clean+validate+profile] {folder}/broken.csv: "
                                          "this is an HTML page")
    assert [r.get("rows_written") for r in reports] == [1, None, 1]
    assert after_location(err).splitlines() == [f"peso: error: {reports[1]['error']}"]
    assert fields(data_dir, "exports", "orders") == [("order", "int64"), ("total", "double")]


def test_folder_load_without_json_prints_one_line_per_file(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_folder(tmp_path)
    (folder / "broken.csv").unlink()
    assert main(["load", str(folder), "--namespace", "exports"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" into ")[1].split(" ")[0] for line in lines] == [
        "exports/web_visits", "exports/orders"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--dataset", "a/b"], "is a folder: give --namespace NAMESPACE"),
])
def test_folder_needs_a_namespace(data_dir: Path, tmp_path: Path, argv: list[str], message: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_folder(tmp_path)
    assert main(["load", str(folder), *argv]) == 1
    assert message in capsys.readouterr().err


def test_namespace_is_for_folders(data_dir: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "a.csv", ["x"], [[1]])
    assert main(["load", str(path), "--namespace", "ns"]) == 1
    assert "--namespace is for folders" in capsys.readouterr().err


def test_a_folder_with_nothing_to_load(data_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["load", str(tmp_path / "empty"), "--namespace", "ns"]) == 1
    assert "no loadable files" in capsys.readouterr().err


def test_every_switch(data_dir: Path, tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "weird.txt"
    path.write_bytes("Day|Amount |Note\n01/02/2024|5|caf\xe9\n01/02/2024|5|caf\xe9\n"
                     "03/04/2024|?|x \n".encode("latin-1"))
    argv = ["load", str(path), "--dataset", "t/w", "--format", "csv", "--delimiter", "|",
            "--encoding", "latin-1", "--date-order", "dmy", "--null-token", "?",
            "--drop-duplicates", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows_read"], report["rows_written"], report["rows_skipped"]) == (3, 2, 1)
    assert fields(data_dir, "t", "w") == [("day", "date32[day]"), ("amount", "int64"),
                                         ("note", "string")]
    assert main([*argv[:3], "t/raw", *argv[4:], "--no-infer-types", "--no-trim",
                 "--no-normalize-names"]) == 0
    capsys.readouterr()
    assert fields(data_dir, "t", "raw") == [("Day", "string"), ("Amount", "string"),
                                           ("Note", "string")]


def test_contract_file_then_stored(data_dir: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text("on_violation: quarantine\ncolumns:\n  age: {type: integer, min: 18}\n")
    v1 = write_csv(tmp_path / "v1.csv", ["id", "age"], [[1, 30], [2, 12]])
    assert main(["load", str(v1), "--dataset", "crm/people", "--contract", str(contract)]) == 0
    out = capsys.readouterr().out
    assert "1 rows quarantined at quarantine/crm/people/" in out
    assert f"  warning: {v1}: 1 row quarantined" in out
    v2 = write_csv(tmp_path / "v2.csv", ["id", "age"], [[1, 30], [2, 12], [3, 15]])
    assert main(["load", str(v2), "--dataset", "crm/people", "--json"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert (report["rows_written"], report["rows_quarantined"]) == (1, 2)


def test_a_bad_contract_file_is_one_error_line(data_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    contract = tmp_path / "c.yaml"
    contract.write_text("on_violation: maybe\ncolumns: {}\n")
    path = write_csv(tmp_path / "a.csv", ["x"], [[1]])
    assert main(["load", str(path), "--dataset", "a/b", "--contract", str(contract)]) == 1
    err = after_location(capsys.readouterr().err)
    assert err.startswith(f"peso: error: {contract}: on_violation: ")
    assert len(err.splitlines()) == 1
