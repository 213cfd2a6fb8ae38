"""Native CSV parsing (loaders.native): columns Arrow's CSV reader parses
straight into their type must give exactly what Peso's text path (trim → null tokens →
convert, widen on a misfit) gives — the same values, types, warnings and counts — for any
value that turns up after a clean first batch, and for the corpus's real marketing files."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from loaders.build import BuildResult, build_curated
from loaders.options import CleaningOptions, LoadOptions, ReadOptions
from loaders.readers import null_out
from server.errors import LoadError
from tests.conftest import MARKETING

SMALL = 1024   # bytes per CSV block: the first batch is the first ~60 rows


def load(tmp_path: Path, src: Path, *, native: bool, block: int = SMALL,
         **clean: Any) -> tuple[BuildResult, pa.Table]:
    out = tmp_path / f"out-{native}.parquet"
    opts = LoadOptions(read=ReadOptions(block_bytes=block, native_types=native),
                       clean=CleaningOptions(**clean))
    result = build_curated(src, out, tmp_path / "q.parquet", opts=opts)
    return result, pq.read_table(out)


def assert_same(tmp_path: Path, src: Path, *, uncounted_padding: bool = False,
                **kwargs: Any) -> BuildResult:
    """Load ``src`` natively and through the text path only; everything must agree."""
    native, got = load(tmp_path, src, native=True, **kwargs)
    text, want = load(tmp_path, src, native=False, **kwargs)
    assert got.schema.equals(want.schema, check_metadata=True)
    # repr, not Table.equals: a NaN must equal a NaN
    assert repr(got.to_pydict()) == repr(want.to_pydict()), f"{src.name}: the tables differ"
    assert native.warnings == text.warnings
    assert native.rows_read == text.rows_read
    assert native.restarts == text.restarts
    assert text.cleaning["parsed_natively"] == []
    # the one documented difference: Arrow trims a padded number without counting it
    assert native.cleaning["trimmed_values"] <= text.cleaning["trimmed_values"]
    ignore = {"parsed_natively", "trimmed_values"}
    same = {k: v for k, v in native.cleaning.items() if k not in ignore}
    assert same == {k: v for k, v in text.cleaning.items() if k not in ignore}
    if not uncounted_padding:
        assert native.cleaning["trimmed_values"] == text.cleaning["trimmed_values"]
    # the profile: equal, but a float mean summed over other batch boundaries may differ in
    # its last digits
    for got_field, want_field in zip(native.fields, text.fields, strict=True):
        got_stats, want_stats = dict(got_field.stats), dict(want_field.stats)
        got_mean, want_mean = got_stats.pop("mean", None), want_stats.pop("mean", None)
        assert got_stats == want_stats, got_field.name
        assert (got_mean is None) == (want_mean is None), got_field.name
        if got_mean is not None:
            assert math.isclose(got_mean, want_mean, rel_tol=1e-12), got_field.name
    return native


def first_batch(rows: int = 80) -> str:
    return "".join(f"{i},{i * 1.5},2024-01-{i % 28 + 1:02d},2024-01-01T10:{i % 60:02d}:00,x{i}\n"
                   for i in range(rows))


HEADER = "id,amount,day,at,label\n"


def test_a_plain_file_is_parsed_natively_and_matches_the_text_path(tmp_path: Path) -> None:
    src = tmp_path / "plain.csv"
    src.write_text(HEADER + first_batch(2000))
    result = assert_same(tmp_path, src)
    assert result.cleaning["parsed_natively"] == ["id", "amount", "day", "at"]
    assert result.restarts == 0


# Values arriving after a first batch that planned id int64, amount double, day date32, at
# timestamp: each must end as the text path ends it (converted, null, widened or text).
LATE = {
    "padded number": " 12 ,  3.5 , 2024-02-01 ,2024-02-01T00:00:00 ,y",
    "plus sign": "+5,+2.5,2024-02-01,2024-02-01T00:00:00,y",
    "null tokens": "N/A,NA,null,-,y",
    "padded token": " NA ,NULL, n/a ,  ,y",
    "quoted empty and token": '"","NA","",""," "',
    "excel overflow": "####,#####,###,####,y",
    "thousands separator": '"1,234","1,234.5",2024-02-01,2024-02-01T00:00:00,y',
    "hex and leading zeros": "0x10,007.5,2024-02-01,2024-02-01T00:00:00,y",
    "nan and inf": "7,nan,2024-02-01,2024-02-01T00:00:00,y",
    "infinity": "7,-inf,2024-02-01,2024-02-01T00:00:00,y",
    "exponent": "7,1e3,2024-02-01,2024-02-01T00:00:00,y",
    "float in the integer column": "7.5,1,2024-02-01,2024-02-01T00:00:00,y",
    "word": "abc,xyz,tomorrow,soon,y",
    "19 digits": "1234567890123456789,1,2024-02-01,2024-02-01T00:00:00,y",
    "impossible date": "7,1,2024-13-45,2024-02-30T25:00:00,y",
    "zone on a naive timestamp": "7,1,2024-02-01,2024-02-01T00:00:00+02:00,y",
    "day-first date": "7,1,01/02/2024,2024-02-01,y",
    "line break in a quoted number": '"1\n2",1,2024-02-01,2024-02-01T00:00:00,y',
}


@pytest.mark.parametrize("late", list(LATE.values()), ids=list(LATE))
def test_a_late_value_ends_as_the_text_path_ends_it(tmp_path: Path, late: str) -> None:
    src = tmp_path / "late.csv"
    src.write_text(HEADER + first_batch() + late + "\n" + first_batch(40))
    try:
        load(tmp_path, src, native=False)
    except LoadError as exc:   # refused by the text path: refused natively the same way
        with pytest.raises(LoadError, match=re.escape(str(exc))):
            load(tmp_path, src, native=True)
        return
    assert_same(tmp_path, src, uncounted_padding=late.startswith(" 12 "))


def test_a_sentinel_that_parses_as_a_number_keeps_the_text_path(tmp_path: Path) -> None:
    """Arrow matches null values unpadded only: ' -1 ' would become -1 natively, null on
    the text path. A column whose sentinel parses as its type is therefore not native."""
    src = tmp_path / "sentinel.csv"
    src.write_text(HEADER + first_batch() + " -1 ,-1,2024-02-01,2024-02-01T00:00:00,y\n")
    result = assert_same(tmp_path, src, sentinels=("-1",))
    assert "id" not in result.cleaning["parsed_natively"]
    assert "day" in result.cleaning["parsed_natively"]


def test_trimming_off_keeps_every_column_on_the_text_path(tmp_path: Path) -> None:
    src = tmp_path / "untrimmed.csv"
    src.write_text(HEADER + first_batch() + " 12,1,2024-02-01,2024-02-01T00:00:00,y\n")
    result = assert_same(tmp_path, src, trim_whitespace=False)
    assert result.cleaning["parsed_natively"] == []


def test_the_heads_text_columns_are_cleaned_once_and_counted_the_same(tmp_path: Path) -> None:
    # planning cleans the first batch's text columns; the load reuses that cleaning and its
    # counts (padding, null tokens, sentinels, Excel overflow cells) for its first batch
    names = [" alpha", "beta ", "NA", "####", "", "gamma", "null", "  x  ", "-", "zz"]
    src = tmp_path / "head.csv"
    src.write_text("id,name,amount,code\n" + "".join(
        f"{i},{names[i % len(names)]},{i % 977}.{i % 100:02d},{names[(i * 7) % len(names)]}\n"
        for i in range(3000)))
    for block in (SMALL, 1 << 20):   # the head: the first ~40 rows, or the whole file
        result = assert_same(tmp_path, src, block=block, sentinels=("zz",))
        assert result.cleaning["parsed_natively"] == ["id", "amount"]
        assert result.cleaning["excel_overflow_cells"] == 600
        assert result.warnings == ["600 Excel overflow cell(s) ('####': the value was lost "
                                   "on export) read as null in code, name"]


def test_other_encodings_and_delimiters(tmp_path: Path) -> None:
    src = tmp_path / "latin.csv"
    body = (HEADER + first_batch() + "N/A,1,2024-02-01,2024-02-01T00:00:00,café\n")
    src.write_bytes(body.replace(",", ";").encode("cp1252"))
    result = assert_same(tmp_path, src)
    assert result.cleaning["parsed_natively"]


MARKETING_CSVS = sorted(MARKETING.glob("*.csv")) if MARKETING.is_dir() else []


@pytest.mark.skipif(not MARKETING_CSVS, reason="the shared corpus (../shared/corpus) is absent")
@pytest.mark.parametrize("block", [SMALL * 16, 8 << 20])
@pytest.mark.parametrize("path", MARKETING_CSVS, ids=[p.name for p in MARKETING_CSVS])
def test_the_real_marketing_files_load_the_same(tmp_path: Path, path: Path, block: int) -> None:
    assert_same(tmp_path, path, block=block)


@pytest.mark.parametrize("values", [["1", "NA", "", "-", "2.5", "null"], ["x", None, "NA"], []])
@pytest.mark.parametrize("markers", [[], ["NA"], ["NA", "", "-", "null"]])
def test_null_out_equals_an_if_else_over_the_markers(values: list[str | None],
                                                     markers: list[str]) -> None:
    # without nulls it masks the text with a bitmap (no copy); the result must not differ
    text = pa.array(values, pa.string())
    for arr in (text, text.slice(1)):
        want = pc.if_else(pc.is_in(arr, value_set=pa.array(markers, pa.string())),
                          pa.scalar(None, pa.string()), arr)
        got = null_out(arr, markers)
        got.validate(full=True)
        assert got.to_pylist() == want.to_pylist()
        assert got.null_count == want.null_count
        if all(v is None or v in markers or v in ("1", "2.5") for v in arr.to_pylist()):
            # a cast skips the masked slots: the markers' text is never parsed
            assert pc.cast(got, pa.float64()).to_pylist() == pc.cast(want, pa.float64()).to_pylist()
