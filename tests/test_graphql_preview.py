"""DatasetVersion.preview: column projection, limit/offset windows (across row groups),
clear errors, JSON-safe values. Files are loaded with the real `peso load` CLI."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.cli import main
from server.preview import read_preview
from server.storage.local import LocalObjectStore
from tests.conftest import app_client, gql, make_settings
from tests.helpers import messages, q

# the end-to-end tests run once per object store: local folder and S3 (moto)
OBJECT_BACKENDS = ("local", "s3")

BIG_ROWS = 150_000          # more than one curated row group
SMALL_GROUP = 5_000         # the source file's row groups

PREVIEW = """
query($name: String!, $columns: [String!], $limit: Int!, $offset: Int!) {
  dataset(namespace: "pv", name: $name) {
    latestVersion { preview(columns: $columns, limit: $limit, offset: $offset) }
  }
}"""


def big_table() -> pa.Table:
    return pa.table({"n": pa.array(range(BIG_ROWS), pa.int64()),
                     "label": pa.array([f"row-{i}" for i in range(BIG_ROWS)]),
                     "half": pa.array([i / 2 for i in range(BIG_ROWS)], pa.float64())})


def typed_table() -> pa.Table:
    return pa.table({
        "day": pa.array([dt.date(2026, 1, 1), dt.date(2026, 2, 28), None]),
        "at": pa.array([dt.datetime(2026, 1, 1, 12, 30, tzinfo=dt.UTC), None,
                        dt.datetime(2026, 3, 1, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")),
        "price": pa.array([decimal.Decimal("19.99"), decimal.Decimal("-0.50"), None],
                          pa.decimal128(10, 2)),
        "ratio": pa.array([math.nan, math.inf, -math.inf]),
        "ok": pa.array([1.5, None, 0.0]),
        "blob": pa.array([b"\x00\xff", b"", None], pa.binary()),
        "tags": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
        "flag": pa.array([True, False, None]),
        "text": pa.array(["naïve ☕", "", None]),
    })


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    tmp = tmp_path_factory.mktemp("preview")
    pq.write_table(big_table(), tmp / "big.parquet", row_group_size=SMALL_GROUP)
    pq.write_table(typed_table(), tmp / "typed.parquet")
    settings = make_settings(tmp)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PESO_DATA_DIR", str(settings.data_dir))
        for var in ("PESO_GRAPH_URL", "PESO_OBJECTS_URL"):
            mp.delenv(var, raising=False)
        assert main(["load", str(tmp / "big.parquet"), "--dataset", "pv/big"]) == 0
        assert main(["load", str(tmp / "typed.parquet"), "--dataset", "pv/typed"]) == 0
    with app_client(create_app(settings)) as c:
        yield c, tmp


def preview(client: TestClient, name: str, *, limit: int, offset: int = 0,
            columns: list[str] | None = None) -> dict[str, Any]:
    ds = q(client, PREVIEW, name=name, columns=columns, limit=limit, offset=offset)["dataset"]
    block: dict[str, Any] = ds["latestVersion"]["preview"]
    return block


def preview_error(client: TestClient, name: str, **variables: Any) -> str:
    body = gql(client, PREVIEW, {"name": name, "limit": 20, "offset": 0, **variables})
    assert body["data"] == {"dataset": {"latestVersion": None}}
    [message] = messages(body)
    assert body["errors"][0]["path"] == ["dataset", "latestVersion", "preview"]
    return message


def curated_groups(client: TestClient, tmp: Path, name: str) -> list[int]:
    key = q(client, f'{{ dataset(namespace: "pv", name: "{name}") '
                    '{ latestVersion { curatedKey } } }')["dataset"]["latestVersion"]["curatedKey"]
    meta = pq.read_metadata(tmp / "peso-data" / "objects" / key)
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def test_preview_defaults_to_the_first_20_rows_of_every_column(
        loaded: tuple[TestClient, Path]) -> None:
    client, _ = loaded
    ds = q(client, '{ dataset(namespace: "pv", name: "big") { latestVersion { preview } } }')
    block = ds["dataset"]["latestVersion"]["preview"]
    assert block["columns"] == ["n", "label", "half"]
    assert (block["offset"], block["limit"], block["totalRows"]) == (0, 20, BIG_ROWS)
    assert block["rows"] == [[i, f"row-{i}", i / 2] for i in range(20)]


def test_preview_projects_columns_in_the_asked_order(loaded: tuple[TestClient, Path]) -> None:
    client, _ = loaded
    block = preview(client, "big", columns=["half", "n"], limit=3, offset=10)
    assert block["columns"] == ["half", "n"]
    assert block["rows"] == [[5.0, 10], [5.5, 11], [6.0, 12]]
    deduped = preview(client, "big", columns=["n", "n"], limit=1)
    assert (deduped["columns"], deduped["rows"]) == (["n"], [[0]])


def test_preview_windows_across_curated_row_groups(loaded: tuple[TestClient, Path]) -> None:
    client, tmp = loaded
    groups = curated_groups(client, tmp, "big")
    assert sum(groups) == BIG_ROWS
    assert len(groups) >= 2, "the test needs a curated file with several row groups"
    boundaries = [sum(groups[:i + 1]) for i in range(len(groups) - 1)]
    for edge in boundaries:
        for offset, limit in [(edge - 5, 10), (edge - 1, 2), (edge, 7), (edge - 1000, 1000)]:
            block = preview(client, "big", columns=["n"], limit=limit, offset=offset)
            assert block["rows"] == [[i] for i in range(offset, offset + limit)], (offset, limit)
    # a window wholly inside the last row group, and one running off the end
    last = preview(client, "big", columns=["n", "label"], limit=4, offset=BIG_ROWS - 2)
    assert last["rows"] == [[BIG_ROWS - 2, f"row-{BIG_ROWS - 2}"],
                            [BIG_ROWS - 1, f"row-{BIG_ROWS - 1}"]]
    assert preview(client, "big", limit=5, offset=BIG_ROWS)["rows"] == []
    assert preview(client, "big", limit=5, offset=10**9)["rows"] == []
    assert preview(client, "big", limit=0, offset=3)["rows"] == []


def test_read_preview_over_many_small_row_groups(loaded: tuple[TestClient, Path]) -> None:
    """The reader itself, on the source file with its 5,000-row groups, against pyarrow."""
    _, tmp = loaded
    store = LocalObjectStore(tmp)
    store.open()
    expected = pq.read_table(tmp / "big.parquet", columns=["n", "label"])
    assert pq.ParquetFile(tmp / "big.parquet").num_row_groups == BIG_ROWS // SMALL_GROUP
    for offset, limit in [(0, 1), (4_999, 2), (5_000, 1), (9_990, 1_000), (12_345, 17),
                          (BIG_ROWS - 3, 10), (74_999, 5_002)]:
        block = read_preview(store, "big.parquet", columns=["label", "n"], limit=limit,
                             offset=offset)
        window = expected.slice(offset, limit)
        assert block["rows"] == [[label, n] for n, label in
                                 zip(window["n"].to_pylist(), window["label"].to_pylist(),
                                     strict=True)]
        assert block["totalRows"] == BIG_ROWS


def test_preview_values_are_json_safe(loaded: tuple[TestClient, Path]) -> None:
    client, _ = loaded
    block = preview(client, "typed", limit=10)
    assert block["totalRows"] == 3
    cols = block["columns"]
    rows = [dict(zip(cols, row, strict=True)) for row in block["rows"]]
    assert [r["day"] for r in rows] == ["2026-01-01", "2026-02-28", None]
    assert rows[0]["at"] == "2026-01-01T12:30:00+00:00"
    assert rows[1]["at"] is None
    assert [r["price"] for r in rows] == ["19.99", "-0.50", None]     # decimals: exact strings
    assert [r["ratio"] for r in rows] == [None, None, None]           # NaN and ±inf → null
    assert [r["ok"] for r in rows] == [1.5, None, 0.0]
    assert [r["blob"] for r in rows] == ["AP8=", "", None]            # bytes → base64
    assert [r["tags"] for r in rows] == [["a", "b"], [], None]
    assert [r["flag"] for r in rows] == [True, False, None]
    assert [r["text"] for r in rows] == ["naïve ☕", "", None]


def test_unknown_column_is_a_clear_error(loaded: tuple[TestClient, Path]) -> None:
    client, _ = loaded
    assert preview_error(client, "big", columns=["n", "nope", "gone"]) == (
        "unknown column(s) 'nope', 'gone'; this version has: n, label, half")


@pytest.mark.parametrize(("variables", "message"), [
    ({"limit": 1001}, "limit must be between 0 and 1000 (PESO_MAX_PREVIEW_ROWS), got 1001"),
    ({"limit": -1}, "limit must be between 0 and 1000 (PESO_MAX_PREVIEW_ROWS), got -1"),
    ({"offset": -5}, "offset must not be negative, got -5"),
])
def test_limit_and_offset_out_of_range(loaded: tuple[TestClient, Path],
                                       variables: dict[str, Any], message: str) -> None:
    client, _ = loaded
    assert preview_error(client, "big", **variables) == message
    assert len(preview(client, "big", limit=1000)["rows"]) == 1000


def test_preview_cap_follows_the_setting(loaded: tuple[TestClient, Path]) -> None:
    _, tmp = loaded
    settings = make_settings(tmp, PESO_MAX_PREVIEW_ROWS="50")
    with app_client(create_app(settings)) as capped:
        assert len(preview(capped, "big", limit=50)["rows"]) == 50
        assert preview_error(capped, "big", limit=51) == (
            "limit must be between 0 and 50 (PESO_MAX_PREVIEW_ROWS), got 51")


def test_a_raw_version_has_no_preview(loaded: tuple[TestClient, Path]) -> None:
    client, _ = loaded
    assert preview_error(client, "big.raw") == (
        "this version has no curated Parquet to preview (a RAW upload)")
