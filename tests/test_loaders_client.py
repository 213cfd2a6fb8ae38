"""PesoClient (loaders.client) against a real ``peso serve`` subprocess on a socket: upload a
corpus CSV through the multipart request, read it back, and get the server's refusals as
PesoClientError with its message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loaders.client import PesoClient, PesoClientError
from tests.conftest import BANK_CSV, needs_corpus
from tests.serverproc import ServerProcess, run_peso, running_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    data_dir = tmp_path_factory.mktemp("client") / "peso-data"
    data_dir.mkdir()
    made = run_peso("token", "create", "--name", "loader-script", "--role", "writer",
                    data_dir=data_dir)
    assert made.returncode == 0, made.stderr
    token = made.stdout.split()[0]
    with running_server(data_dir) as proc:
        yield proc, token


@pytest.fixture
def peso(server: tuple[ServerProcess, str]) -> Iterator[PesoClient]:
    proc, token = server
    with PesoClient(proc.graphql_url, token=token, timeout=60) as client:
        yield client


@needs_corpus
def test_upload_a_corpus_csv_and_read_it_back(peso: PesoClient) -> None:
    result = peso.load(BANK_CSV, dataset="uci/bank", description="UCI bank marketing")
    assert result["errors"] == []
    assert result["created"] is True
    assert result["dataset"]["namespace"] == "uci"
    assert (result["version"]["version"], result["version"]["rowCount"]) == (1, 4521)
    assert result["report"]["file"] == BANK_CSV.name
    assert result["version"]["curatedKey"].startswith("curated/uci/bank/")

    dataset = peso.dataset("uci", "bank")
    assert dataset is not None
    assert dataset["description"] == "UCI bank marketing"
    latest = dataset["latestVersion"]
    assert latest["rowCount"] == 4521
    types = {f["name"]: f["arrowType"] for f in latest["fields"]}
    assert len(types) == 17
    assert (types["age"], types["balance"], types["y"]) == ("int64", "int64", "string")

    again = peso.load(BANK_CSV, dataset="uci/bank")
    assert (again["created"], again["version"]["version"]) == (False, 1)


def test_options_in_snake_case(peso: PesoClient, tmp_path: Path) -> None:
    path = tmp_path / "days.csv"
    path.write_text("day;visits\n01/02/2024;3\n03/04/2024;unknown\n")
    result = peso.load(path, dataset="web/days", delimiter=";", date_order="dmy",
                       sentinels=["unknown"])
    assert result["version"]["rowCount"] == 2
    fields = peso.dataset("web", "days")["latestVersion"]["fields"]  # type: ignore[index]
    assert [(f["name"], f["arrowType"]) for f in fields] == [("day", "date32[day]"),
                                                             ("visits", "int64")]
    rows = peso.query('{ dataset(namespace: "web", name: "days") { latestVersion { '
                      'preview(limit: 5) } } }')["dataset"]["latestVersion"]["preview"]
    assert rows["rows"] == [["2024-02-01", 3], ["2024-04-03", None]]


def test_a_refused_file_raises_with_the_server_message(peso: PesoClient,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "OnlineRetail.csv"
    path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n")
    with pytest.raises(PesoClientError) as err:
        peso.load(path, dataset="uci/retail")
    message = str(err.value)
    assert "OnlineRetail.csv: this is a Git LFS pointer, not the data" in message
    assert "(the upload is kept at rejected/uci/retail/" in message
    assert peso.dataset("uci", "retail") is None


def test_a_dataset_reference_without_a_namespace(peso: PesoClient, tmp_path: Path) -> None:
    with pytest.raises(PesoClientError, match="must be written NAMESPACE/NAME"):
        peso.load(tmp_path / "x.csv", dataset="nonamespace")


def test_graphql_errors_raise(peso: PesoClient) -> None:
    with pytest.raises(PesoClientError, match="Cannot query field"):
        peso.query("{ nope }")
