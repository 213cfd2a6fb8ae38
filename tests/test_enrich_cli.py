"""`peso enrich` and `peso suggestions list|accept|reject` on a temp data dir, through the real
`main()` (and once as a subprocess): a real marketing file loaded with `peso load`, its
suggestions listed, one accepted (the column's semantic type changes), one rejected (not
proposed again), the audit log's actor `cli`, and clear errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.cli import main
from server.ids import to_global_id
from server.settings import Settings
from tests.conftest import MARKETING, app_client, needs_corpus
from tests.helpers import after_location, q
from tests.serverproc import REPO, peso_command, peso_env

RETAIL = MARKETING / "uci_online_retail__OnlineRetail_first999rows.csv"
AD_CLICK = MARKETING / "ad_click__advertising.csv"


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("PESO_"):
            monkeypatch.delenv(name)
    folder = tmp_path / "peso-data"
    monkeypatch.setenv("PESO_DATA_DIR", str(folder))
    monkeypatch.setenv("PESO_SEMANTIC_SEARCH", "off")
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    capsys.readouterr()   # drop what the app of field_types() logged
    got = main(list(argv))
    out, err = capsys.readouterr()
    assert got == code, (argv, out, err)
    return out if code == 0 else after_location(err)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    return json.loads(run(capsys, *argv, "--json"))


def field_types(data_dir: Path) -> dict[str, tuple[str | None, bool]]:
    with app_client(create_app(Settings.from_env({"PESO_DATA_DIR": str(data_dir),
                                                  "PESO_SEMANTIC_SEARCH": "off"}))) as c:
        ds = q(c, 'query { dataset(namespace: "corpus", name: "retail") { latestVersion { '
                  "fields { name semanticType pii } } } }")
    return {f["name"]: (f["semanticType"], f["pii"])
            for f in ds["dataset"]["latestVersion"]["fields"]}


def audit_actions(data_dir: Path, target: str) -> list[tuple[str, str]]:
    with app_client(create_app(Settings.from_env({"PESO_DATA_DIR": str(data_dir),
                                                  "PESO_SEMANTIC_SEARCH": "off"}))) as c:
        log = q(c, "query($t: String) { auditLog(first: 20, target: $t) { edges { node { "
                   "action actor } } } }", t=target)
    return [(e["node"]["action"], e["node"]["actor"]) for e in log["auditLog"]["edges"]]


@needs_corpus
def test_enrich_list_accept_reject(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "load", str(RETAIL), "--dataset", "corpus/retail")
    report = run_json(capsys, "enrich", "corpus/retail")
    assert (report["dataset"], report["version"], report["errors"]) == ("corpus/retail", 1, {})
    assert report["created"] == len(report["suggestions"]) > 3

    listed = run_json(capsys, "suggestions", "list", "corpus/retail", "--kind",
                      "semantic_type")
    assert {s["status"] for s in listed} == {"pending"}
    assert {s["dataset"] for s in listed} == {"corpus/retail"}
    by_target = {s["target"]: s for s in listed}
    customer, stock = by_target["customer_id"], by_target["stock_code"]
    assert customer["value"] == {"semantic_type": "customer_id", "pii": True}
    text = run(capsys, "suggestions", "list", "corpus/retail")
    assert customer["id"] in text
    assert "customer_id" in text

    # accept by the listed id: the column changes
    assert field_types(data_dir)["customer_id"] != ("customer_id", True)
    accepted = run_json(capsys, "suggestions", "accept", customer["id"])
    assert accepted["applied"] is True
    assert accepted["suggestion"]["status"] == "accepted"
    assert accepted["suggestion"]["decided_by"] == "cli"
    assert field_types(data_dir)["customer_id"] == ("customer_id", True)
    err = run(capsys, "suggestions", "accept", customer["id"], code=1)
    assert "not pending" in err

    # reject by the GraphQL id, with a reason: not proposed again
    out = run(capsys, "suggestions", "reject", to_global_id("Suggestion", stock["id"]),
              "--reason", "stock codes")
    assert "not proposed again" in out
    again = run_json(capsys, "enrich", "corpus/retail")
    assert again["created"] == 0
    assert again["skipped"] == report["created"] - 1   # the accepted type is in place now
    [rejected] = run_json(capsys, "suggestions", "list", "--status", "rejected")
    assert (rejected["id"], rejected["note"], rejected["decided_by"]) == (
        stock["id"], "stock codes", "cli")
    assert len(run_json(capsys, "suggestions", "list", "--status", "all")) == report["created"]
    assert audit_actions(data_dir, stock["id"]) == [("suggestion.rejected", "cli"),
                                                    ("suggestion.proposed", "cli")]
    assert len(run_json(capsys, "suggestions", "list", "--limit", "2")) == 2


@needs_corpus
def test_enrich_all_and_errors(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "enrich", "--all") == "no datasets with versions\n"
    run(capsys, "load", str(RETAIL), "--dataset", "corpus/retail")
    run(capsys, "load", str(AD_CLICK), "--dataset", "corpus/ad_click")
    reports = run_json(capsys, "enrich", "--all")
    assert sorted(r["dataset"] for r in reports) == ["corpus/ad_click", "corpus/retail"]
    assert all(r["created"] > 0 and r["errors"] == {} for r in reports)
    text = run(capsys, "enrich", "--all")
    assert "corpus/retail v1: 0 new suggestions" in text
    assert "no dataset corpus/nope" in run(capsys, "enrich", "corpus/nope", code=1)
    assert "NAMESPACE/NAME" in run(capsys, "enrich", "nope", code=1)
    assert "no version 7" in run(capsys, "enrich", "corpus/retail", "--version", "7", code=1)
    assert "--version is for one dataset" in run(capsys, "enrich", "--all", "--version", "1",
                                                 code=1)
    assert "no suggestion with id" in run(capsys, "suggestions", "reject", "missing", code=1)
    assert "--limit" in run(capsys, "suggestions", "list", "--limit", "0", code=1)
    assert run(capsys, "suggestions", "list", "--status", "accepted") == "no suggestions\n"


@needs_corpus
def test_the_installed_command(tmp_path: Path) -> None:
    env = peso_env(tmp_path / "peso-data")
    for argv in (("load", str(RETAIL), "--dataset", "corpus/retail"),
                 ("enrich", "corpus/retail")):
        done = subprocess.run(peso_command(*argv), env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert "new suggestions" in done.stdout
    listed = subprocess.run(peso_command("suggestions", "list", "--json"), env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) > 3
