"""README's examples run as written (issue 10, item 10), against a real ``peso serve --demo``:
the tour's shell commands (``peso load``, the curl lines), every GraphQL block in README, and
the PesoClient script. Each GraphQL answer must be free of errors and must show something:
every root field non-null and every list of results (edges, nodes, entries, paths) non-empty
— a documented query that answers nothing is a broken example.

Only the host, the port and the sample file's path are substituted; the text is README's.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.serverproc import REPO, ServerProcess, create_token, peso_env, running_server

README = (REPO / "README.md").read_text(encoding="utf-8")
RESULT_LISTS = {"edges", "nodes", "entries", "paths", "datasets", "fields", "jobs"}
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)


@dataclass
class Tour:
    server: ServerProcess
    data: Path
    bank: Path
    load_output: str


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README) if lang == language]


def block_containing(language: str, text: str) -> str:
    [found] = [b for b in blocks(language) if text in b]
    return found


def bank_like_csv(path: Path) -> Path:
    """The tour loads the UCI bank marketing file; the same columns, generated."""
    header = ["age", "job", "marital", "balance", "y"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(header)
        for i in range(200):
            writer.writerow([20 + i % 50, ["admin.", "services", "technician"][i % 3],
                             "married", (i * 37) % 5000 - 200, "yes" if i % 7 == 0 else "no"])
    return path


def json_documents(text: str) -> Iterator[Any]:
    """The JSON bodies curl printed one after another (no separator)."""
    decoder, at = json.JSONDecoder(), 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return
        doc, at = decoder.raw_decode(text, at)
        yield doc


def shows_something(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "errors":
                assert inner in ([], None), f"{where}.errors: {inner}"
                continue
            if key in RESULT_LISTS and isinstance(inner, list):
                assert inner, f"{where}.{key} is empty"
            shows_something(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            shows_something(inner, f"{where}[{i}]")


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tour]:
    """``peso serve --demo``, then the tour's ``peso load`` of a bank marketing file."""
    root = tmp_path_factory.mktemp("readme")
    data = root / "peso-data"
    with running_server(data, "--demo") as server:
        command = block_containing("sh", "peso load /path/to/bank.csv")
        bank = bank_like_csv(root / "bank.csv")
        out = run_shell(command.replace("/path/to/bank.csv", str(bank)), shell_env(data), root)
        yield Tour(server, data, bank, out)


def substituted(text: str, server: ServerProcess) -> str:
    return (text.replace("http://127.0.0.1:8000", server.base_url)
                .replace("http://peso.internal:8000", server.base_url))


def run_shell(script: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def shell_env(data: Path) -> dict[str, str]:
    env = peso_env(data)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_tour_load_command(tour: Tour) -> None:
    assert tour.load_output.startswith(
        f"loaded {tour.bank} into demo/bank as version 1: 200 rows")


@pytest.mark.parametrize("index", range(len(blocks("graphql"))))
def test_every_graphql_example(tour: Tour, index: int) -> None:
    server, data = tour.server, tour.data
    query = blocks("graphql")[index]
    headers: dict[str, str] = {}
    if "mutation" in query.split("{")[0]:  # writes need a token, as README says
        headers["Authorization"] = f"Bearer {create_token(data, f'readme-{index}')}"
    answer = server.graphql(query, **headers)
    assert answer.status == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body["errors"]
    for field, value in body["data"].items():
        assert value is not None, f"{field} answered null"
        shows_something(value, field)


def test_the_curl_examples(tour: Tour, tmp_path: Path) -> None:
    server, data = tour.server, tour.data
    script = substituted(block_containing("sh", "curl -s http://127.0.0.1:8000/graphql"), server)
    docs = list(json_documents(run_shell(script, shell_env(data), tmp_path)))
    assert len(docs) == 4                          # three GraphQL answers and /readyz
    *answers, ready = docs
    for doc in answers:
        assert "errors" not in doc, doc
        shows_something(doc["data"], "curl")
    assert answers[0]["data"]["dataset"]["latestVersion"]["rowCount"] == 200
    assert answers[1]["data"]["search"]["totalCount"] > 0
    assert answers[2]["data"]["describeDataset"]["errors"] == []
    assert ready["status"] == "ready"


def test_the_peso_client_script(tour: Tour, tmp_path: Path) -> None:
    server, data = tour.server, tour.data
    script = substituted(block_containing("python", "PesoClient"), server)
    exports = tmp_path / "exports"
    exports.mkdir()
    with (exports / "crm.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["contact_id", "email", "signed_up", "region"])
        for i in range(1, 31):
            writer.writerow([i, f"c{i}@example.com", f"{1 + i % 28:02d}/03/2026",
                             "unknown" if i % 5 == 0 else "north"])
    env = shell_env(data)
    env["PESO_TOKEN"] = create_token(data, "readme-loader")
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "30"]      # version 1, 30 rows written
    fields = server.graphql('{ dataset(namespace: "crm", name: "contacts") { latestVersion {'
                            ' fields { name arrowType } } } }').json()["data"]
    types = {f["name"]: f["arrowType"] for f in fields["dataset"]["latestVersion"]["fields"]}
    assert types["signed_up"].startswith("date32")   # date_order="dmy" was applied
