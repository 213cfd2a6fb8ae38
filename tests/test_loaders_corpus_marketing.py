"""Every real marketing CSV of the shared corpus loads with the right row count and sensible
types; the negative examples are refused with a message that names the file, says what was
found and what was expected — and leave nothing behind."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from server.errors import LoadError
from tests.conftest import BANK_CSV, MARKETING, needs_corpus
from tests.loaders_support import Stores, open_stores

pytestmark = needs_corpus

ADDITIONAL = MARKETING / "uci_bank_additional__bank-additional_unquoted.csv"
RETAIL = MARKETING / "uci_online_retail__OnlineRetail_first999rows.csv"
FB_ADS = MARKETING / "fb_ads_conversion__KAG_conversion_data_with_date.csv"
AD_CLICK = MARKETING / "ad_click__advertising.csv"
NEGATIVE = MARKETING / "negative"


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    async with open_stores(tmp_path) as s:
        yield s


def csv_rows(path: Path, delimiter: str) -> int:
    """Data rows as Python's csv module counts them (an independent reader)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return sum(1 for row in csv.reader(fh, delimiter=delimiter) if row) - 1


# (file, rows, columns, delimiter, some expected types)
EXPECTED = {
    "bank": (BANK_CSV, 4521, 17, ";", {
        "age": "int64", "balance": "int64", "y": "string", "job": "string", "day": "int64",
        "pdays": "int64"}),
    "bank-additional": (ADDITIONAL, 4119, 21, ";", {
        "emp_var_rate": "double", "cons_price_idx": "double", "nr_employed": "double",
        "age": "int64", "y": "string"}),
    "online retail": (RETAIL, 999, 8, ",", {
        "invoice_date": "timestamp[us]", "unit_price": "double", "quantity": "int64",
        "stock_code": "string", "customer_id": "int64"}),
    "fb ads": (FB_ADS, 1143, 12, ",", {
        "date": "date32[day]", "ad_id": "int64", "spent": "double", "age": "string"}),
    "ad click": (AD_CLICK, 1000, 10, ",", {
        "timestamp": "timestamp[us]", "ad_topic_line": "string", "area_income": "double",
        "clicked_on_ad": "int64"}),
}


def test_every_marketing_csv_is_covered() -> None:
    assert sorted(p.name for p in MARKETING.glob("*.csv")) == sorted(
        v[0].name for v in EXPECTED.values())


@pytest.mark.parametrize("case", sorted(EXPECTED))
async def test_marketing_csv_loads(stores: Stores, case: str) -> None:
    path, rows, columns, delimiter, some_types = EXPECTED[case]
    assert csv_rows(path, delimiter) == rows
    result = await stores.load(path, "corpus", case.replace(" ", "_"))
    report = result.report
    assert (report.created, report.rows_read, report.rows_written) == (True, rows, rows)
    assert result.curated.version.row_count == rows
    types = await stores.types(result)
    assert len(types) == columns
    assert {name: types[name] for name in some_types} == some_types
    key = result.curated.version.curated_key
    assert key is not None
    with stores.objects.open_read(key) as fh:
        table = pq.read_table(fh)
    assert table.num_rows == rows
    assert {f.name: str(f.type) for f in table.schema} == types


async def test_bank_values(stores: Stores) -> None:
    result = await stores.load(BANK_CSV, "uci", "bank")
    fields = {f.name: f for f in await stores.fields(result)}
    assert fields["age"].stats["min"] == 19
    assert fields["age"].stats["max"] == 87
    assert fields["y"].stats["top_values"] == [{"value": "no", "count": 4000},
                                               {"value": "yes", "count": 521}]
    assert fields["balance"].stats["null_count"] == 0


async def test_bank_additional_excel_overflow_cells_are_null_with_a_warning(
        stores: Stores) -> None:
    result = await stores.load(ADDITIONAL, "uci", "bank_additional")
    fields = {f.name: f for f in await stores.fields(result)}
    assert fields["emp_var_rate"].stats["null_count"] == 21
    assert result.report.cleaning["excel_overflow_cells"] == 21
    assert ("21 Excel overflow cell(s) ('####': the value was lost on export) read as null in "
            "emp_var_rate") in result.report.warnings
    assert fields["emp_var_rate"].metadata["original_name"] == "emp.var.rate"
    # the file is CRLF with ';': no carriage return left in the last column
    assert fields["y"].stats["top_values"][0]["value"] in ("no", "yes")
    assert all("\r" not in str(t["value"]) for t in fields["y"].stats["top_values"])


async def test_online_retail_invoice_date(stores: Stores) -> None:
    result = await stores.load(RETAIL, "uci", "online_retail")
    fields = {f.name: f for f in await stores.fields(result)}
    invoice = fields["invoice_date"]
    assert invoice.metadata["original_name"] == "InvoiceDate"
    assert invoice.metadata["parsed_format"] == "%m/%d/%y %H:%M"
    assert invoice.stats["min"] == "2010-12-01T08:26:00"
    # all 999 rows are from 1-2 December 2010 (12/1/10, 12/2/10): either order reads them,
    # so month-first is assumed, and said so
    assert invoice.metadata["date_order"] == "assumed month-first"
    assert any(w.startswith("column 'invoice_date': ASSUMED month-first")
               for w in result.report.warnings)
    assert fields["stock_code"].arrow_type == "string"   # 85123A beside 71053


async def test_fb_ads_day_first_date(stores: Stores) -> None:
    result = await stores.load(FB_ADS, "kaggle", "fb_ads")
    date = {f.name: f for f in await stores.fields(result)}["date"]
    assert date.arrow_type == "date32[day]"
    assert date.metadata["parsed_format"] == "%d-%m-%Y"
    assert date.metadata["note"] == "day-first (a first part is over 12)"
    assert date.stats["min"] == "2023-08-01"
    assert date.stats["max"] == "2023-08-31"


async def test_ad_click_timestamp(stores: Stores) -> None:
    result = await stores.load(AD_CLICK, "kaggle", "ad_click")
    stamp = {f.name: f for f in await stores.fields(result)}["timestamp"]
    assert stamp.arrow_type == "timestamp[us]"
    assert stamp.metadata["parsed_format"] == "%m/%d/%Y %H:%M"
    assert stamp.stats["min"] == "2016-01-01T02:52:00"


# --- the negative examples ----------------------------------------------------------------------

NEGATIVES = {
    "html_page_saved_as__bank-additional-full.csv": (
        "this is an HTML page (a web page saved under a data file's name), not CSV; download "
        "the raw file instead"),
    "git_lfs_pointer__OnlineRetail.csv": (
        "this is a Git LFS pointer, not the data; run `git lfs pull` or download the real file"),
    "row_quoted_mangled__bank.csv": (
        "mangled quoting: each row is ONE quoted field holding 17 ';'-separated values (line "
        "2: '30;\"unemployed\";\"married\";"),
}


def test_every_negative_example_is_covered() -> None:
    assert sorted(p.name for p in NEGATIVE.iterdir()) == sorted(NEGATIVES)


@pytest.mark.parametrize("name", sorted(NEGATIVES))
async def test_negative_examples_are_refused_leaving_nothing(stores: Stores, name: str) -> None:
    path = NEGATIVE / name
    with pytest.raises(LoadError) as err:
        await stores.load(path, "corpus", "bad")
    message = err.value.message
    assert message.startswith(f"[read+clean+validate+profile] {path}: ")
    assert NEGATIVES[name] in message
    assert "\n" not in message
    await stores.assert_nothing_left()


async def test_mangled_quoting_says_what_was_expected(stores: Stores) -> None:
    with pytest.raises(LoadError) as err:
        await stores.load(NEGATIVE / "row_quoted_mangled__bank.csv", "corpus", "bad")
    assert err.value.message.endswith(
        "the file was quoted as a whole on export. Expected one field per column: re-export "
        "it, or strip the outer quotes")


async def test_an_upload_that_is_refused_is_kept_under_rejected(stores: Stores) -> None:
    path = NEGATIVE / "html_page_saved_as__bank-additional-full.csv"
    with pytest.raises(LoadError) as err:
        await stores.load(path, "corpus", "bad", original_name="bank-additional-full.csv",
                          keep_rejected=True)
    [kept] = stores.object_keys()
    assert kept.startswith("rejected/corpus/bad/")
    assert kept.endswith("/bank-additional-full.csv")
    assert f"(the upload is kept at {kept})" in err.value.message
    assert err.value.message.startswith("[read+clean+validate+profile] bank-additional-full.csv: ")
    with stores.objects.open_read(kept) as fh:
        assert fh.read() == path.read_bytes()
    assert await stores.graph.get_dataset("corpus", "bad") is None
