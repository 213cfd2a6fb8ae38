"""DatasetVersion.preview(where: …): row filters pushed down to the Parquet reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import client_as, gql
from tests.helpers import load, messages, q, write_csv

# the end-to-end tests run once per object store: local folder and S3 (moto)
OBJECT_BACKENDS = ("local", "s3")

PREVIEW = """query($where: [PreviewCondition!], $columns: [String!], $offset: Int! = 0) {
  dataset(namespace: "crm", name: "people") { latestVersion {
    preview(columns: $columns, limit: 5, offset: $offset, where: $where) } } }"""


@pytest.fixture
def people(client: TestClient, tmp_path: Path) -> TestClient:
    rows = [[i, f"p{i}@example.com", ["GB", "DE", "FR"][i % 3], i * 10 if i % 7 else ""]
            for i in range(1, 301)]
    load(client, write_csv(tmp_path / "people.csv", ["id", "email", "country", "score"], rows),
         "crm", "people")
    return client


def rows(client: TestClient, **variables: object) -> list[list[object]]:
    block = q(client, PREVIEW, **variables)["dataset"]["latestVersion"]["preview"]
    result: list[list[object]] = block["rows"]
    return result


def test_comparisons_and_lists_filter_rows(people: TestClient) -> None:
    assert rows(people, columns=["id"], where=[{"column": "id", "op": "GT", "value": 295}]) == [
        [296], [297], [298], [299], [300]]
    assert rows(people, columns=["id", "country"],
                where=[{"column": "country", "op": "EQ", "value": "DE"},
                       {"column": "id", "op": "LE", "value": 10}]) == [
        [1, "DE"], [4, "DE"], [7, "DE"], [10, "DE"]]
    assert rows(people, columns=["id"], where=[{"column": "id", "op": "IN",
                                                "value": [3, 150, 999]}]) == [[3], [150]]
    assert rows(people, columns=["id"], offset=2,
                where=[{"column": "score", "op": "IS_NULL"}]) == [[21], [28], [35], [42], [49]]
    assert rows(people, columns=["id"], where=[{"column": "id", "op": "GT", "value": 1000}]) == []


@pytest.mark.parametrize(("where", "message"), [
    ([{"column": "nope", "op": "EQ", "value": 1}], "where[0]: unknown column 'nope'"),
    ([{"column": "id", "op": "GT", "value": "many"}],
     "where[0]: 'many' does not fit the column's type int64"),
    ([{"column": "id", "op": "EQ"}], "where[0]: a comparison needs a single non-null value"),
    ([{"column": "id", "op": "IN", "value": 3}], "where[0]: `in` takes a list of 1 to 1000"),
    ([{"column": "id", "op": "GT", "value": 1}] * 11, "at most 10 conditions in `where`"),
])
def test_bad_conditions_get_a_precise_error(people: TestClient, where: list[object],
                                            message: str) -> None:
    [got] = messages(gql(people, PREVIEW, {"where": where}))
    assert got.startswith(message), got


def test_filtering_on_personal_data_needs_the_pii_permission(people: TestClient) -> None:
    where = [{"column": "email", "op": "EQ", "value": "p3@example.com"}]
    reader = client_as(people, "reader")
    [got] = messages(gql(reader, PREVIEW, {"where": where, "columns": ["id"]}))
    assert got == ("filtering on personal-data column(s) email needs a token with the pii "
                   "permission")
    assert rows(people, columns=["id"], where=where) == [[3]]
