"""Contracts through the whole load: ``quarantine`` loads the good rows and sets the bad ones
aside (with ``_row`` and ``_violations``), ``fail`` registers nothing, ``warn`` keeps every
row; the quality report is readable over GraphQL; the contract is stored with the dataset
and applied to its next load."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from loaders.pipeline import LoadRequest, LoadResult, load_file
from server.errors import LoadError
from tests.helpers import call, q, stores, write_csv
from tests.loaders_support import Stores, open_stores

HEADER = ["Id", "Age", "Email", "Country"]
ROWS = [[1, 34, "a@x.io", "GB"], [2, 17, "b@x.io", "FR"], [3, "", "c@x.io", "XX"],
        [4, 40, "not-an-email", "DE"], [5, 50, "e@x.io", "GB"]]


def contract(mode: str) -> dict[str, Any]:
    return {"on_violation": mode, "columns": {
        "age": {"type": "integer", "required": True, "min": 18},
        "Email": {"regex": "^[^@]+@[^@]+$"},            # an original name works too
        "country": {"allowed": ["GB", "FR", "DE"]}}}


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[Stores]:
    async with open_stores(tmp_path / "stores") as s:
        yield s


def load(client: TestClient, path: Path, name: str,
         contract: dict[str, Any] | None = None) -> LoadResult:
    graph, objects = stores(client)
    tmp = client.app.state.settings.data_dir / "tmp"  # type: ignore[attr-defined]
    tmp.mkdir(parents=True, exist_ok=True)
    result: LoadResult = call(client, load_file,
                              LoadRequest(path=path, namespace="crm", name=name,
                                          contract=contract),
                              graph=graph, objects=objects, actor="test", tmp_dir=tmp)
    return result


QUALITY = """
query($name: String!) {
  dataset(namespace: "crm", name: $name) {
    contract
    latestVersion {
      version rowCount quarantineKey
      quality { passed onViolation rowsChecked rowsFailed
                checks { name column rule expected passed failed samples } }
    }
  }
}"""


def test_quarantine_loads_the_good_rows_and_sets_the_bad_ones_aside(
        client: TestClient, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", HEADER, ROWS)
    result = load(client, path, "people", contract("quarantine"))
    report = result.report
    assert (report.rows_read, report.rows_written, report.rows_quarantined) == (5, 2, 3)
    assert report.warnings[0] == f"{path}: 3 rows quarantined"

    _, objects = stores(client)
    assert report.curated_key is not None
    assert report.quarantine_key is not None
    assert report.quarantine_key.startswith("quarantine/crm/people/")
    with objects.open_read(report.curated_key) as fh:
        assert pq.read_table(fh).column("id").to_pylist() == [1, 5]
    with objects.open_read(report.quarantine_key) as fh:
        bad = pq.read_table(fh)
    assert bad.schema.names == ["id", "age", "email", "country", "_row", "_violations"]
    assert bad.select(["id", "_row", "_violations"]).to_pylist() == [
        {"id": 2, "_row": 2, "_violations": "age.min"},
        {"id": 3, "_row": 3, "_violations": "age.required,country.allowed"},
        {"id": 4, "_row": 4, "_violations": "email.regex"}]

    version = q(client, QUALITY, name="people")["dataset"]["latestVersion"]
    assert (version["rowCount"], version["quarantineKey"]) == (2, report.quarantine_key)
    quality = version["quality"]
    assert {k: quality[k] for k in ("passed", "onViolation", "rowsChecked", "rowsFailed")} == {
        "passed": False, "onViolation": "quarantine", "rowsChecked": 5, "rowsFailed": 3}
    checks = {c["name"]: c for c in quality["checks"]}
    assert {n: (c["passed"], c["failed"]) for n, c in checks.items() if c["rule"] in (
        "required", "min", "regex", "allowed")} == {
        "age.required": (4, 1), "age.min": (4, 1), "email.regex": (4, 1),
        "country.allowed": (4, 1)}
    assert checks["age.min"]["samples"] == [{"row": 2, "value": 17}]
    assert checks["email.regex"]["samples"] == [{"row": 4, "value": "not-an-email"}]
    assert checks["country.allowed"]["expected"] == ["GB", "FR", "DE"]
    assert checks["age.type"]["passed"] == 1   # schema checks are listed too


def test_fail_registers_nothing(client: TestClient, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", HEADER, ROWS)
    with pytest.raises(LoadError) as err:
        load(client, path, "people", contract("fail"))
    message = err.value.message
    assert message.startswith(f"[read+clean+validate+profile] {path}: 3 rows of 5 fail the "
                              "contract: age.required (a value): 1 row, e.g. row 3: null; ")
    assert q(client, QUALITY, name="people")["dataset"] is None
    _, objects = stores(client)
    assert list(objects.list()) == []


def test_warn_keeps_every_row_and_reports(client: TestClient, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", HEADER, ROWS)
    result = load(client, path, "people", contract("warn"))
    assert (result.report.rows_written, result.report.rows_quarantined) == (5, 0)
    assert result.report.quarantine_key is None
    version = q(client, QUALITY, name="people")["dataset"]["latestVersion"]
    assert version["rowCount"] == 5
    assert version["quarantineKey"] is None
    assert (version["quality"]["passed"], version["quality"]["rowsFailed"]) == (False, 3)
    assert any("age.min (≥ 18): 1 row, e.g. row 2: 17" in w for w in result.report.warnings)


def test_a_clean_file_passes(client: TestClient, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", HEADER, [ROWS[0], ROWS[4]])
    result = load(client, path, "people", contract("fail"))
    assert result.report.rows_written == 2
    quality = q(client, QUALITY, name="people")["dataset"]["latestVersion"]["quality"]
    assert (quality["passed"], quality["rowsFailed"]) == (True, 0)


def test_the_contract_is_stored_and_applied_to_the_next_load(client: TestClient,
                                                              tmp_path: Path) -> None:
    first = write_csv(tmp_path / "v1.csv", HEADER, [ROWS[0], ROWS[4]])
    load(client, first, "people", contract("quarantine"))
    stored = q(client, QUALITY, name="people")["dataset"]["contract"]
    assert stored["on_violation"] == "quarantine"
    assert stored["columns"]["age"] == {"type": "integer", "required": True, "min": 18}

    second = write_csv(tmp_path / "v2.csv", HEADER, ROWS)
    result = load(client, second, "people")            # no contract given this time
    assert (result.report.rows_written, result.report.rows_quarantined) == (2, 3)
    version = q(client, QUALITY, name="people")["dataset"]["latestVersion"]
    assert version["version"] == 2
    assert version["quality"]["rowsFailed"] == 3


def test_a_contract_whose_column_is_missing_fails_before_reading_rows(
        client: TestClient, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", HEADER, ROWS)
    bad = {"on_violation": "quarantine", "columns": {"signup": {"type": "date"}}}
    with pytest.raises(LoadError, match="the data does not match the contract"):
        load(client, path, "people", bad)
    assert q(client, QUALITY, name="people")["dataset"] is None


async def test_a_malformed_contract_is_refused_naming_the_key(local: Stores,
                                                              tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", HEADER, ROWS)
    with pytest.raises(LoadError) as err:
        await local.load(path, contract={"columns": {"age": {"mni": 3}}})
    assert err.value.message == ("[contract] contract: columns.age.mni: unknown key; did you "
                                 "mean 'min'?")
    await local.assert_nothing_left()


async def test_quarantine_across_many_batches(local: Stores, tmp_path: Path) -> None:
    from loaders.options import LoadOptions, ReadOptions

    rows = [[i, 10 if i % 1000 == 0 else 30, f"u{i}@x.io", "GB"] for i in range(1, 20_001)]
    path = write_csv(tmp_path / "many.csv", HEADER, rows)
    result = await local.load(path, contract=contract("quarantine"),
                              options=LoadOptions(read=ReadOptions(block_bytes=16_384)))
    assert (result.report.rows_written, result.report.rows_quarantined) == (19_980, 20)
    assert result.report.quarantine_key is not None
    with local.objects.open_read(result.report.quarantine_key) as fh:
        assert pq.read_table(fh).column("_row").to_pylist() == list(range(1000, 20_001, 1000))
