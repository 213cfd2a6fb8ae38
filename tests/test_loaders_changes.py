"""Versions that say what changed: loading a new version of a dataset records the columns
added, removed and retyped and the row-count change (``DatasetVersion.changes``)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from loaders.changes import diff
from server.models import FieldSpec
from tests.helpers import load, q, write_csv

CHANGES = """
query {
  dataset(namespace: "ads", name: "spend") {
    versions(first: 10) {
      edges { node { version rowCount
        changes { previousVersion firstVersion addedFields removedFields
                  retypedFields { name fromType toType } rowCountChange } } }
    }
  }
}"""


def versions(client: TestClient) -> dict[int, dict[str, object]]:
    edges = q(client, CHANGES)["dataset"]["versions"]["edges"]
    return {e["node"]["version"]: e["node"] for e in edges}


def test_version_2_says_what_changed(client: TestClient, tmp_path: Path) -> None:
    v1 = write_csv(tmp_path / "v1.csv", ["Campaign", "Clicks", "Spend", "Legacy Code"],
                   [["a", 1, 10, "x"], ["b", 2, 20, "y"], ["c", 3, 30, "z"]])
    load(client, v1, "ads", "spend")
    v2 = write_csv(tmp_path / "v2.csv", ["Campaign", "Clicks", "Spend", "Channel"],
                   [["a", 1, "n/a", "search"], ["b", 2, "10.5", "social"],
                    ["c", 3, "7", "email"], ["d", 4, "1", "search"], ["e", 5, "2", "email"]])
    load(client, v2, "ads", "spend")

    found = versions(client)
    assert found[1]["changes"] == {
        "previousVersion": None, "firstVersion": True,
        "addedFields": ["campaign", "clicks", "spend", "legacy_code"], "removedFields": [],
        "retypedFields": [], "rowCountChange": 3}
    assert found[2]["rowCount"] == 5
    assert found[2]["changes"] == {
        "previousVersion": 1, "firstVersion": False,
        "addedFields": ["channel"], "removedFields": ["legacy_code"],
        "retypedFields": [{"name": "spend", "fromType": "int64", "toType": "double"}],
        "rowCountChange": 2}


def test_an_identical_reload_adds_no_version(client: TestClient, tmp_path: Path) -> None:
    v1 = write_csv(tmp_path / "v1.csv", ["a"], [[1], [2]])
    load(client, v1, "ads", "spend")
    again = load(client, v1, "ads", "spend")
    assert again.report.created is False
    assert list(versions(client)) == [1]


def test_fewer_rows_same_columns(client: TestClient, tmp_path: Path) -> None:
    load(client, write_csv(tmp_path / "v1.csv", ["a"], [[1], [2], [3]]), "ads", "spend")
    load(client, write_csv(tmp_path / "v2.csv", ["a"], [[1]]), "ads", "spend")
    assert versions(client)[2]["changes"] == {
        "previousVersion": 1, "firstVersion": False, "addedFields": [], "removedFields": [],
        "retypedFields": [], "rowCountChange": -2}


def test_diff_orders_columns_as_the_files_do() -> None:
    fields = [FieldSpec("z", "int64"), FieldSpec("a", "string")]
    assert diff(None, [], fields, 7) == {
        "previous_version": None, "added": ["z", "a"], "removed": [], "retyped": [],
        "row_count_change": 7, "first_version": True}
