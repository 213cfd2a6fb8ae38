"""loaders.convert: the cleaning steps on one text column (trim, null tokens, sentinels, Excel
overflow) and the conversion to the planned type, which names the first value that does not
fit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from loaders.convert import CleanStats, ConversionError, clean_text, convert
from loaders.infer import ColumnPlan, Kind, infer_column
from loaders.options import CleaningOptions


def clean(values: list[str | None], opts: CleaningOptions | None = None,
          stats: CleanStats | None = None) -> list[str | None]:
    out = clean_text(pa.array(values, pa.string()), opts or CleaningOptions(),
                     stats if stats is not None else CleanStats(), "col")
    result: list[str | None] = out.to_pylist()
    return result


def typed(values: list[str | None], **plan: Any) -> list[Any]:
    arr = pa.array(values, pa.string())
    chosen = ColumnPlan(**plan) if plan else infer_column(arr)
    result: list[Any] = convert(arr, chosen, 0, 0).to_pylist()
    return result


# --- cleaning ------------------------------------------------------------------------------

def test_trimming_counts_what_it_changed() -> None:
    stats = CleanStats()
    assert clean([" a ", "b", "\tc\n", "\u00a0d\u2003", None], stats=stats) == [
        "a", "b", "c", "d", None]
    assert stats.trimmed == 3


def test_trimming_switched_off() -> None:
    stats = CleanStats()
    assert clean([" a ", "b "], CleaningOptions(trim_whitespace=False), stats) == [" a ", "b "]
    assert stats.trimmed == 0


def test_default_null_tokens_after_trimming() -> None:
    stats = CleanStats()
    values = ["", "NA", "N/A", "n/a", "null", "NULL", "-", " NA ", "na", "None", "x"]
    assert clean(values, stats=stats) == [None] * 8 + ["na", "None", "x"]
    assert stats.null_tokens == 8


def test_custom_null_tokens_replace_the_defaults() -> None:
    opts = CleaningOptions(null_tokens=("?",))
    assert clean(["?", "NA", ""], opts) == [None, "NA", ""]
    assert clean(["NA", ""], CleaningOptions(null_tokens=())) == ["NA", ""]


def test_sentinels_add_to_the_null_tokens() -> None:
    stats = CleanStats()
    opts = CleaningOptions(sentinels=("unknown", "-1", "999"))
    assert clean(["unknown", "-1", "999", "9999", "NA", "ok"], opts, stats) == [
        None, None, None, "9999", None, "ok"]
    assert stats.null_tokens == 4


def test_excel_overflow_cells_become_null_and_are_counted_apart() -> None:
    stats = CleanStats()
    assert clean(["1.5", "####", "#########", "##", "#N/A", "## x", None], stats=stats) == [
        "1.5", None, None, "##", "#N/A", "## x", None]
    assert (stats.excel_overflow, stats.null_tokens, stats.by_column) == (2, 0, {"col": 2})


def test_overflow_and_null_tokens_together() -> None:
    stats = CleanStats()
    assert clean(["###", "NA", "3"], stats=stats) == [None, None, "3"]
    assert (stats.excel_overflow, stats.null_tokens) == (1, 1)


def test_nothing_to_clean_returns_the_same_values() -> None:
    arr = pa.array(["a", "b "], pa.string())
    opts = CleaningOptions(null_tokens=(), trim_whitespace=False)
    assert clean_text(arr, opts, CleanStats(), "c") is arr


# --- conversion ------------------------------------------------------------------------------

def test_integers_with_signs() -> None:
    # the bug: Arrow's integer parser refuses "+3", so a column inferred as integer was
    # "widened" to float by its own values
    assert typed(["-5", "+3", None, "0"]) == [-5, 3, None, 0]


def test_floats() -> None:
    assert typed(["1.5", "-2", "1e3", ".25", "+4.5"]) == [1.5, -2.0, 1000.0, 0.25, 4.5]


def test_booleans_any_case() -> None:
    assert typed(["true", "FALSE", None, "True"]) == [True, False, None, True]


def test_currency_symbols_signs_and_thousands() -> None:
    assert typed(["$84,835.00", "-$1,000.50", "+$ 3.25", "€7", "12.50 £", None]) == [
        84835.0, -1000.5, 3.25, 7.0, 12.5, None]
    assert typed(["$1,000", "-$5", "+$12,345"]) == [1000, -5, 12345]


def test_currency_value_with_symbol_in_the_wrong_place_does_not_convert() -> None:
    with pytest.raises(ConversionError) as err:
        convert(pa.array(["$5", "5$5"]), ColumnPlan(Kind.CURRENCY), 3, 100)
    assert (err.value.column, err.value.row, err.value.value) == (3, 102, "5$5")


def test_percentages_become_fractions() -> None:
    assert typed(["12.5%", "-3 %", "100%"]) == [0.125, -0.03, 1.0]


def test_iso_dates_and_timestamps() -> None:
    assert typed(["2024-02-29", None]) == [dt.date(2024, 2, 29), None]
    assert typed(["2024-01-02T03:04:05", "2024-01-02 03:04"]) == [
        dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(2024, 1, 2, 3, 4)]
    zoned = typed(["2024-01-02T03:04:05+02:00", "2024-01-02T03:04:05Z"])
    assert [v.isoformat() for v in zoned] == ["2024-01-02T01:04:05+00:00",
                                              "2024-01-02T03:04:05+00:00"]


def test_an_impossible_iso_date_names_itself() -> None:
    with pytest.raises(ConversionError) as err:
        convert(pa.array(["2024-02-28", "2023-02-29"]), ColumnPlan(Kind.DATE, fmt="%Y-%m-%d"),
                0, 0)
    assert (err.value.row, err.value.value) == (2, "2023-02-29")


def test_day_first_and_month_first_dates() -> None:
    assert typed(["31-08-2023", "01-09-2023"]) == [dt.date(2023, 8, 31), dt.date(2023, 9, 1)]
    assert typed(["2/12/2016 22:51", "1/30/2016 4:38"]) == [
        dt.datetime(2016, 2, 12, 22, 51), dt.datetime(2016, 1, 30, 4, 38)]


def test_conversion_error_names_column_row_and_value() -> None:
    with pytest.raises(ConversionError) as err:
        convert(pa.array(["1", None, "2", "x", "y"]), ColumnPlan(Kind.INTEGER), 4, 1000)
    exc = err.value
    assert (exc.column, exc.row, exc.value, exc.plan.kind) == (4, 1004, "x", Kind.INTEGER)
    assert str(exc) == "column 4 row 1004: 'x' is not integer"


@pytest.mark.parametrize(("kind", "bad"), [
    (Kind.BOOLEAN, "yes"), (Kind.FLOAT, "1.2.3"), (Kind.PERCENT, "5"),
    (Kind.INTEGER, "99999999999999999999"),
])
def test_each_kind_refuses_what_does_not_fit(kind: Kind, bad: str) -> None:
    good = {Kind.BOOLEAN: "true", Kind.PERCENT: "1%"}.get(kind, "1")
    with pytest.raises(ConversionError) as err:
        convert(pa.array([good, bad]), ColumnPlan(kind), 0, 0)
    assert err.value.value == bad


def test_string_plan_keeps_the_values() -> None:
    arr = pa.array(["007", " x "])
    assert convert(arr, ColumnPlan(Kind.STRING), 0, 0) is arr
