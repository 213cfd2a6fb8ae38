"""loaders.infer: the narrowest type every value of a cleaned text column fits, and how a
plan widens when a later value does not fit."""

from __future__ import annotations

import pyarrow as pa
import pytest

from loaders.infer import EMPTY, STRING, ColumnPlan, Kind, infer_column, widen


def plan(*values: str | None, order: str = "auto") -> ColumnPlan:
    return infer_column(pa.array(list(values), pa.string()), date_order=order)  # type: ignore[arg-type]


@pytest.mark.parametrize(("values", "kind", "arrow"), [
    (["1", "-2", "+3", "40"], Kind.INTEGER, pa.int64()),
    (["0", "7"], Kind.INTEGER, pa.int64()),
    (["1.5", "-2", ".5", "1e5", "2.5E-3"], Kind.FLOAT, pa.float64()),
    (["true", "False", "TRUE"], Kind.BOOLEAN, pa.bool_()),
    (["12.5%", "3 %", "-1%"], Kind.PERCENT, pa.float64()),
    (["2024-01-31", "1999-12-01"], Kind.DATE, pa.date32()),
    (["2024-01-31T10:00:00", "2024-02-01 11:30", "2024-02-01T11:30:00.123456"],
     Kind.TIMESTAMP, pa.timestamp("us")),
    (["2024-01-31T10:00:00Z", "2024-02-01T11:30:00+02:00"], Kind.TIMESTAMP,
     pa.timestamp("us", tz="UTC")),
    (["Paris", "1"], Kind.STRING, pa.string()),
])
def test_kinds(values: list[str], kind: Kind, arrow: pa.DataType) -> None:
    found = plan(*values)
    assert (found.kind, found.arrow_type) == (kind, arrow)


@pytest.mark.parametrize(("values", "integral"), [
    (["$84,835.00", "$1,000.50", "$7.25"], False),
    (["1,234", "12,345,678", "999"], True),            # thousands separators, no symbol
    (["€12.50", "- $ 3.00", "+£1,000.00", "5 ¥"], False),
    (["$1,000", "-$5"], True),
])
def test_currency_and_thousands(values: list[str], integral: bool) -> None:
    found = plan(*values)
    assert (found.kind, found.integral) == (Kind.CURRENCY, integral)
    assert found.arrow_type == (pa.int64() if integral else pa.float64())
    assert found.note == "currency symbols and thousands separators removed"


def test_commas_that_are_not_thousands_separators_stay_text() -> None:
    assert plan("1,23", "4,5").kind is Kind.STRING       # decimal commas: not guessed
    assert plan("12,34,567").kind is Kind.STRING          # Indian grouping: not guessed


def test_nulls_are_ignored_and_an_all_null_column_is_text_with_no_values() -> None:
    assert plan(None, "3", None).kind is Kind.INTEGER
    assert plan(None, None) == EMPTY
    assert plan() == EMPTY
    assert (EMPTY.kind, EMPTY.note) == (Kind.STRING, "no values")


def test_leading_zero_codes_stay_text() -> None:
    found = plan("02134", "10001", "00501")
    assert (found.kind, found.note) == (Kind.STRING, "leading zeros kept (codes, not numbers)")
    assert plan("0", "10").kind is Kind.INTEGER           # a lone zero is a number
    assert plan("-0", "5").kind is Kind.INTEGER


def test_integers_too_long_for_int64_stay_text_not_float() -> None:
    # a float would silently turn 123456789012345678901 into 1.2345678901234568e+20
    found = plan("1", "123456789012345678901")
    assert (found.kind, found.note) == (
        Kind.STRING, "integers too long for int64 kept as text (a float would lose digits)")
    assert plan("1.5", "123456789012345678901").kind is Kind.STRING
    assert plan("123456789012345678").kind is Kind.INTEGER   # 18 digits: fine


def test_timestamps_mixing_zoned_and_naive_values_stay_text() -> None:
    found = plan("2024-01-01T10:00:00Z", "2024-01-01T10:00:00")
    assert (found.kind, found.note) == (
        Kind.STRING, "timestamps mix values with and without a zone")


def test_dates_mixed_with_timestamps_stay_text() -> None:
    assert plan("2024-01-01", "2024-01-01T10:00:00").kind is Kind.STRING


# --- day/month order -----------------------------------------------------------------------

def test_day_first_when_a_first_part_is_over_12() -> None:
    found = plan("31-08-2023", "01-09-2023")
    assert (found.kind, found.fmt, found.assumed) == (Kind.DATE, "%d-%m-%Y", False)
    assert found.note == "day-first (a first part is over 12)"


def test_month_first_when_a_second_part_is_over_12() -> None:
    found = plan("2/12/2016 22:51", "1/30/2016 4:38")
    assert (found.kind, found.fmt) == (Kind.TIMESTAMP, "%m/%d/%Y %H:%M")
    assert found.note == "month-first (a second part is over 12)"


def test_two_digit_years_and_seconds() -> None:
    assert plan("12/1/10 8:26:01", "12/2/10 9:00:59").fmt == "%m/%d/%y %H:%M:%S"
    assert plan("31.12.99").fmt == "%d.%m.%y"


def test_ambiguous_dates_are_assumed_month_first_and_flagged() -> None:
    found = plan("01/02/2024", "03/04/2024")
    assert (found.kind, found.fmt, found.assumed) == (Kind.DATE, "%m/%d/%Y", True)
    assert found.note is not None
    assert found.note.startswith("ASSUMED month-first")
    assert "date_order=dmy" in found.note


@pytest.mark.parametrize(("order", "fmt"), [("dmy", "%d/%m/%Y"), ("mdy", "%m/%d/%Y")])
def test_a_configured_date_order_decides_ambiguous_dates(order: str, fmt: str) -> None:
    found = plan("01/02/2024", "03/04/2024", order=order)
    assert (found.fmt, found.assumed) == (fmt, False)
    assert found.note == f"{order} as configured (the data fits either order)"


def test_a_configured_order_does_not_override_the_data() -> None:
    assert plan("31/01/2024", "01/02/2024", order="mdy").fmt == "%d/%m/%Y"


def test_the_smoother_reading_wins_when_every_value_fits_both() -> None:
    daily_mdy = [f"{m:02d}/{d:02d}/2024" for m in (1, 2) for d in range(1, 13)]
    assert plan(*daily_mdy).fmt == "%m/%d/%Y"
    daily_dmy = [f"{d:02d}/{m:02d}/2024" for m in (1, 2) for d in range(1, 13)]
    found = plan(*daily_dmy)
    assert (found.fmt, found.assumed) == ("%d/%m/%Y", False)
    assert found.note == "day-first (consecutive rows closer in time than read month-first)"


@pytest.mark.parametrize("values", [
    ["01/02/2024", "01-02-2024"],          # two separators
    ["01/02/2024", "01/02/24"],            # two year widths
    ["01/02/2024 10:00", "01/02/2024"],    # with and without a time
    ["13/13/2024"],                        # no month
    ["00/01/2024"],
    ["32/01/2024"],
])
def test_date_like_values_that_are_not_one_layout_stay_text(values: list[str]) -> None:
    assert plan(*values).kind is Kind.STRING


# --- widening ------------------------------------------------------------------------------

def test_widen_integer_to_float_then_text() -> None:
    as_float = widen(ColumnPlan(Kind.INTEGER), "2.5")
    assert (as_float.kind, as_float.note) == (Kind.FLOAT, "widened to float by '2.5'")
    as_text = widen(ColumnPlan(Kind.INTEGER), "x")
    assert (as_text.kind, as_text.note) == (Kind.STRING, "kept as text: 'x' does not fit integer")
    assert widen(ColumnPlan(Kind.INTEGER), "123456789012345678901").kind is Kind.STRING


@pytest.mark.parametrize("kind", [Kind.FLOAT, Kind.BOOLEAN, Kind.CURRENCY, Kind.PERCENT,
                                  Kind.TIMESTAMP])
def test_widen_everything_else_to_text(kind: Kind) -> None:
    assert widen(ColumnPlan(kind), "?") == ColumnPlan(
        Kind.STRING, note=f"kept as text: '?' does not fit {kind.value}")


def test_widen_swaps_the_day_month_order_once() -> None:
    assumed = ColumnPlan(Kind.DATE, fmt="%m/%d/%Y", assumed=True)
    swapped = widen(assumed, "13/02/2024")
    assert (swapped.kind, swapped.fmt, swapped.reordered, swapped.assumed) == (
        Kind.DATE, "%d/%m/%Y", True, False)
    assert swapped.note == "day-first (a later value, '13/02/2024', reads only so)"
    # a value that fits neither order, or a second swap, gives text (no endless re-reads)
    assert widen(swapped, "02/13/2024").kind is Kind.STRING
    assert widen(assumed, "13/13/2024").kind is Kind.STRING
    stamp = widen(ColumnPlan(Kind.TIMESTAMP, fmt="%d.%m.%y %H:%M"), "02.13.24 10:00")
    assert (stamp.kind, stamp.fmt) == (Kind.TIMESTAMP, "%m.%d.%y %H:%M")
    assert widen(ColumnPlan(Kind.DATE, fmt="%Y-%m-%d"), "2024-13-01").kind is Kind.STRING


def test_string_plan_is_the_plain_text_plan() -> None:
    assert ColumnPlan(Kind.STRING) == STRING
    assert STRING != EMPTY
