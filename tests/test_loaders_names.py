"""loaders.names: column names to trimmed, ASCII snake_case, unique and non-empty — with the
original kept in the field's metadata of the curated Parquet and the catalog."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from loaders.build import build_curated
from loaders.names import MAX_NAME, normalize_names, snake_case
from loaders.options import CleaningOptions, LoadOptions


@pytest.mark.parametrize(("raw", "expected"), [
    ("Ad Topic Line", "ad_topic_line"),
    ("InvoiceDate", "invoice_date"),
    ("CustomerID", "customer_id"),
    ("emp.var.rate", "emp_var_rate"),
    ("Daily_Time_Spent_on_Site", "daily_time_spent_on_site"),
    ("  Clicked on Ad  ", "clicked_on_ad"),
    ("Überpreis (€)", "uberpreis"),
    ("café", "cafe"),
    ("HTTPResponseCode", "http_response_code"),
    ("% of spend", "of_spend"),
    ("2024 budget", "c_2024_budget"),
    ("a--b__c", "a_b_c"),
    ("日本語", ""),
    ("", ""),
])
def test_snake_case(raw: str, expected: str) -> None:
    assert snake_case(raw) == expected


def test_long_names_are_cut() -> None:
    name = snake_case("x" * 500)
    assert len(name) == MAX_NAME
    assert not snake_case("a" * 119 + " b").endswith("_")


def test_blank_and_duplicate_names() -> None:
    assert normalize_names(["A", "a", "", "A ", "日本", "a_2"]) == [
        "a", "a_2", "column_3", "a_3", "column_5", "a_2_2"]


def test_normalisation_switched_off_still_makes_names_unique_and_non_empty() -> None:
    assert normalize_names(["Ad Topic", " Ad Topic ", "", "x"], enabled=False) == [
        "Ad Topic", "Ad Topic_2", "column_3", "x"]


def test_originals_are_kept_in_the_curated_field_metadata(tmp_path: Path) -> None:
    src = tmp_path / "ads.csv"
    src.write_text("Ad Topic Line,InvoiceDate,clicks,,clicks\nx,2024-01-01,1,2,3\n")
    out = tmp_path / "out.parquet"
    result = build_curated(src, out, tmp_path / "q.parquet", opts=LoadOptions())
    schema = pq.read_schema(out)
    assert schema.names == ["ad_topic_line", "invoice_date", "clicks", "column_4", "clicks_2"]
    originals = [(f.metadata or {}).get(b"original_name") for f in schema]
    assert originals == [b"Ad Topic Line", b"InvoiceDate", None, b"", b"clicks"]
    assert [f.metadata.get("original_name") for f in result.fields] == [
        "Ad Topic Line", "InvoiceDate", None, "", "clicks"]
    assert result.cleaning["names_normalized"] is True


def test_names_kept_as_they_are_when_switched_off(tmp_path: Path) -> None:
    src = tmp_path / "ads.csv"
    src.write_text("Ad Topic Line,Clicks\nx,1\n")
    out = tmp_path / "out.parquet"
    opts = LoadOptions(clean=CleaningOptions(normalize_names=False))
    result = build_curated(src, out, tmp_path / "q.parquet", opts=opts)
    assert pq.read_schema(out).names == ["Ad Topic Line", "Clicks"]
    assert all("original_name" not in f.metadata for f in result.fields)
    assert result.cleaning["names_normalized"] is False


def test_parquet_column_names_are_normalised_too(tmp_path: Path) -> None:
    import pyarrow as pa

    src = tmp_path / "t.parquet"
    pq.write_table(pa.table({"Customer ID": [1], "customer_id": [2]}), src)
    out = tmp_path / "out.parquet"
    build_curated(src, out, tmp_path / "q.parquet", opts=LoadOptions())
    schema = pq.read_schema(out)
    assert schema.names == ["customer_id", "customer_id_2"]
    assert schema.field(0).metadata == {b"original_name": b"Customer ID"}
