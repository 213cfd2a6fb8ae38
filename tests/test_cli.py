"""The `peso` command line, run in-process through ``server.cli.main`` (and once for real as a
subprocess): help, version, load, demo, and one-line errors with exit code 1."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server import __version__
from server.app import create_app
from server.cli import build_parser, main
from server.settings import SETTINGS, Settings
from tests.conftest import MARKETING, REPO, needs_corpus
from tests.helpers import after_location, q, write_csv


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean PESO_* environment whose data folder is in tmp."""
    for name in list(os.environ):
        if name.startswith("PESO_"):
            monkeypatch.delenv(name)
    folder = tmp_path / "peso-data"
    monkeypatch.setenv("PESO_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def customers(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "customers.csv", ["customer_id", "country", "ltv"],
                     [["C1", "GB", 10.5], ["C2", "DE", 99.0], ["C3", "FR", 0.5]])


def one_error_line(err: str) -> str:
    lines = after_location(err, required=False).splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("peso: error: "), err
    assert "Traceback" not in err
    return lines[0]


def objects_on_disk(data_dir: Path) -> list[str]:
    root = data_dir / "objects"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def catalog(data_dir: Path) -> TestClient:
    return TestClient(create_app(Settings.from_env({"PESO_DATA_DIR": str(data_dir)})))


# --- help and version -------------------------------------------------------------------------

def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"peso {__version__}\n"


def test_top_level_help_lists_commands_and_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: peso ")
    for command in ("serve", "load", "demo"):
        assert command in out
    for setting in SETTINGS:
        assert setting.env in " ".join(out.split())   # the epilog may wrap lines


@pytest.mark.parametrize(("command", "expected"), [
    ("serve", ["--host", "--port", "--demo"]),
    ("load", ["file", "--dataset NAMESPACE/NAME", "--source NAME", "--description", "--json"]),
    ("demo", ["Safe to run again."]),
])
def test_subcommand_help(capsys: pytest.CaptureFixture[str], command: str,
                         expected: list[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith(f"usage: peso {command}")
    for text in expected:
        assert text in out


def subcommands() -> list[str]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(sub.choices)


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = subcommands()
    assert {"serve", "load", "demo"} <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0, command
        out = capsys.readouterr().out
        assert out.startswith(f"usage: peso {command}"), out
        assert "-h, --help" in out


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["load"], ["load", "x.csv"],
                                  ["serve", "--port", "eighty"]])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: peso")
    assert "error:" in err
    assert "Traceback" not in err


# --- load -------------------------------------------------------------------------------------

def test_load_then_rerun_is_a_no_op(data_dir: Path, customers: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", str(customers), "--dataset", "crm/customers",
                 "--description", "Customers"]) == 0
    out, err = capsys.readouterr()
    assert after_location(err) == ""
    assert out.startswith(f"loaded {customers} into crm/customers as version 1: 3 rows in ")
    assert "; curated Parquet at curated/crm/customers/" in out
    assert out.rstrip().endswith("/part-0.parquet")
    stored = objects_on_disk(data_dir)
    assert len(stored) == 2

    assert main(["load", str(customers), "--dataset", "crm/customers"]) == 0
    out, err = capsys.readouterr()
    assert (out, after_location(err)) == (
        f"unchanged: {customers} is identical to crm/customers version 1; nothing written\n", "")
    assert objects_on_disk(data_dir) == stored

    with catalog(data_dir) as client:
        ds = q(client, """{ dataset(namespace: "crm", name: "customers") {
            description versions { totalCount } latestVersion { rowCount createdBy } } }""")
    assert ds["dataset"] == {"description": "Customers", "versions": {"totalCount": 1},
                             "latestVersion": {"rowCount": 3, "createdBy": "cli"}}


def test_load_json_report(data_dir: Path, customers: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", str(customers), "--dataset", "crm/customers", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["file"] == str(customers)
    assert report["dataset"] == "crm/customers"
    assert (report["created"], report["version"], report["rows_written"]) == (True, 1, 3)
    assert report["curated_key"].startswith("curated/crm/customers/")
    assert [s["step"] for s in report["steps"]][:2] == ["hash", "check-unchanged"]
    assert all(s["status"] == "ok" for s in report["steps"])

    assert main(["load", str(customers), "--dataset", "crm/customers", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["created"], again["version"]) == (False, 1)
    assert again["version_id"] == report["version_id"]


def test_load_a_bad_file_is_one_error_line(data_dir: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 16)
    assert main(["load", str(garbage), "--dataset", "crm/garbage"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    line = one_error_line(err)
    assert str(garbage) in line
    assert objects_on_disk(data_dir) == []


@needs_corpus
def test_load_a_git_lfs_pointer_says_what_it_is(data_dir: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    pointer = MARKETING / "negative" / "git_lfs_pointer__OnlineRetail.csv"
    assert main(["load", str(pointer), "--dataset", "retail/online"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert str(pointer) in line
    assert "Git LFS pointer" in line
    assert objects_on_disk(data_dir) == []


@pytest.mark.parametrize(("argv", "message"), [
    (["load", "{missing}", "--dataset", "crm/x"], "no such file"),
    (["load", "{csv}", "--dataset", "crm/x", "--source", "Nowhere"],
     "source 'Nowhere' does not exist; create it first with upsertSource"),
])
def test_load_errors(data_dir: Path, customers: Path, capsys: pytest.CaptureFixture[str],
                     argv: list[str], message: str) -> None:
    argv = [a.format(missing=customers.with_name("absent.csv"), csv=customers) for a in argv]
    assert main(argv) == 1
    assert message in one_error_line(capsys.readouterr().err)
    assert objects_on_disk(data_dir) == []


@pytest.mark.parametrize(("ref", "message"), [
    ("customers", "dataset 'customers' must be written NAMESPACE/NAME"),
    ("crm/", "name must be a non-empty string"),
    ("/customers", "namespace must be a non-empty string"),
    ("../crm/customers", "namespace '..' is not valid"),
    ("crm/a/../b", "name 'a/../b' has an empty, '.' or '..' path segment"),
    ("crm/a b", "name 'a b' is not valid"),
])
def test_load_with_bad_dataset_syntax(data_dir: Path, customers: Path,
                                      capsys: pytest.CaptureFixture[str], ref: str,
                                      message: str) -> None:
    assert main(["load", str(customers), "--dataset", ref]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert message in one_error_line(err)
    assert not (data_dir / "objects").exists() or objects_on_disk(data_dir) == []


# --- demo -------------------------------------------------------------------------------------

def test_demo_twice_creates_no_new_versions(data_dir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    assert first == ("demo catalog ready: 6 sources, 12 entities, 7 datasets (7 new versions), "
                     "5 lineage edges from 2 jobs\n")
    stored = objects_on_disk(data_dir)
    assert len(stored) == 14

    assert main(["demo"]) == 0
    assert "(0 new versions)" in capsys.readouterr().out
    assert objects_on_disk(data_dir) == stored
    with catalog(data_dir) as client:
        listed = q(client, """{ datasets(first: 100) { totalCount edges { node {
            versions { totalCount } } } } }""")["datasets"]
        runs = q(client, """{ jobs(first: 10) { edges { node { namespace name
            runs(first: 50) { totalCount } } } } }""")["jobs"]["edges"]
    assert listed["totalCount"] == 14
    assert {e["node"]["versions"]["totalCount"] for e in listed["edges"]} == {1}
    # the demo's lineage is replayed, not repeated: one run per scheduler job
    counts = {(e["node"]["namespace"], e["node"]["name"]): e["node"]["runs"]["totalCount"]
              for e in runs}
    assert counts[("acme.airflow", "marketing.build_audience_segments")] == 1
    assert counts[("acme.airflow", "marketing.build_campaign_performance")] == 1


# --- settings errors --------------------------------------------------------------------------

@pytest.mark.parametrize(("env", "value", "message"), [
    ("PESO_GRAPH_URL", "mysql://db/peso",
     "PESO_GRAPH_URL 'mysql://db/peso' has unknown scheme 'mysql' (expected one of: sqlite, "
     "neo4j, neo4j+s, neo4j+ssc, bolt, bolt+s, bolt+ssc)"),
    ("PESO_GRAPH_URL", "catalog.db",
     "PESO_GRAPH_URL 'catalog.db' is not a URL"),
    ("PESO_OBJECTS_URL", "ftp://files", "PESO_OBJECTS_URL 'ftp://files' has unknown scheme"),
    ("PESO_PORT", "eighty", "PESO_PORT='eighty' is not an integer"),
])
@pytest.mark.parametrize("command", [["demo"], ["serve"], ["load", "x.csv", "--dataset", "a/b"]])
def test_bad_settings_are_a_clear_startup_error(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str],
                                                command: list[str], env: str, value: str,
                                                message: str) -> None:
    monkeypatch.setenv(env, value)
    assert main(command) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert message in one_error_line(err)
    assert not data_dir.exists()          # nothing was created before the check


# --- a real process ---------------------------------------------------------------------------

def run_peso(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PESO_")}
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=REPO,
                          env={**clean, **env}, capture_output=True, text=True, timeout=60,
                          check=False)


def test_as_a_subprocess(tmp_path: Path, customers: Path) -> None:
    data = str(tmp_path / "peso-data")
    version = run_peso("--version", env={"PESO_DATA_DIR": data})
    assert (version.returncode, version.stdout) == (0, f"peso {__version__}\n")

    loaded = run_peso("load", str(customers), "--dataset", "crm/customers",
                      env={"PESO_DATA_DIR": data})
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith("loaded ")

    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\x00\x01\x02" * 100)
    bad = run_peso("load", str(garbage), "--dataset", "crm/garbage",
                   env={"PESO_DATA_DIR": data})
    assert (bad.returncode, bad.stdout) == (1, "")
    assert str(garbage) in one_error_line(bad.stderr)

    scheme = run_peso("demo", env={"PESO_DATA_DIR": data, "PESO_GRAPH_URL": "mysql://x/y"})
    assert scheme.returncode == 1
    assert "unknown scheme 'mysql'" in one_error_line(scheme.stderr)


def test_load_of_a_header_only_csv_needs_allow_empty(data_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("id,email\n")
    assert main(["load", str(empty), "--dataset", "crm/empty"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"{empty}: the file holds no data rows" in line
    assert "--allow-empty" in line
    assert objects_on_disk(data_dir) == []
    assert main(["load", str(empty), "--dataset", "crm/empty", "--allow-empty"]) == 0
    assert "as version 1: 0 rows in " in capsys.readouterr().out
