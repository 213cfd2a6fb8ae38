"""loaders.build: the streaming read → clean → infer → convert → validate → profile → write
pass, its widen-and-restart, every cleaning switch, and the second thread that profiles and
writes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loaders import stages
from loaders.build import BuildResult, build_curated
from loaders.options import CleaningOptions, LoadOptions, ReadOptions
from loaders.profile import Profiler
from server.errors import LoadError

SMALL = ReadOptions(block_bytes=4096)   # many CSV batches from a small file


def build(tmp_path: Path, text: str | bytes, *, name: str = "in.csv",
          read: ReadOptions | None = None, **clean: Any) -> tuple[BuildResult, pa.Table]:
    src = tmp_path / name
    src.write_bytes(text.encode() if isinstance(text, str) else text)
    out = tmp_path / "out.parquet"
    opts = LoadOptions(read=read or ReadOptions(), clean=CleaningOptions(**clean))
    result = build_curated(src, out, tmp_path / "quarantine.parquet", opts=opts)
    return result, pq.read_table(out)


def types(table: pa.Table) -> dict[str, str]:
    return {f.name: str(f.type) for f in table.schema}


# --- widen and restart -----------------------------------------------------------------------

def test_a_late_value_that_is_not_an_integer_makes_the_column_text(tmp_path: Path) -> None:
    rows = [f"{i},{i * 3}" for i in range(20_000)]
    rows[15_000] = "15000,x"
    result, table = build(tmp_path, "id,n\n" + "\n".join(rows) + "\n", read=SMALL)
    assert result.rows_read == table.num_rows == 20_000
    assert types(table) == {"id": "int64", "n": "string"}
    assert table.column("n")[15_000].as_py() == "x"
    assert table.column("n")[14_999].as_py() == str(14_999 * 3)
    assert result.restarts == 1
    assert result.warnings == [
        "column 'n': row 15001 value 'x' is not integer; read again as string"]
    schema = pq.read_schema(tmp_path / "out.parquet")
    assert schema.field("n").metadata[b"note"] == b"kept as text: 'x' does not fit integer"


def test_a_late_decimal_widens_integers_to_float(tmp_path: Path) -> None:
    rows = [str(i) for i in range(20_000)] + ["2.5"]
    result, table = build(tmp_path, "n\n" + "\n".join(rows) + "\n", read=SMALL)
    assert types(table) == {"n": "double"}
    assert table.column("n").to_pylist()[-2:] == [19_999.0, 2.5]
    assert result.warnings == ["column 'n': row 20001 value '2.5' is not integer; read again "
                               "as float"]


def test_two_columns_widen_in_turn(tmp_path: Path) -> None:
    rows = [f"{i},{i}" for i in range(10_000)]
    rows[6_000] = "1.5,x"
    result, table = build(tmp_path, "a,b\n" + "\n".join(rows) + "\n", read=SMALL)
    assert types(table) == {"a": "double", "b": "string"}
    assert result.restarts == 2


def test_a_column_empty_at_first_is_typed_by_its_later_values(tmp_path: Path) -> None:
    rows = [f"{i}," for i in range(5_000)] + [f"{i},2024-03-0{1 + i % 9}" for i in range(50)]
    result, table = build(tmp_path, "id,signup\n" + "\n".join(rows) + "\n", read=SMALL)
    assert types(table) == {"id": "int64", "signup": "date32[day]"}
    assert table.column("signup").null_count == 5_000
    assert result.restarts == 1
    assert result.warnings[0].startswith("column 'signup': no values in the first ")


def test_a_later_date_that_reads_only_day_first_swaps_the_assumed_order(
        tmp_path: Path) -> None:
    rows = [f"0{1 + i % 9}/0{1 + i % 9}/2024" for i in range(3_000)] + ["13/02/2024"]
    result, table = build(tmp_path, "day\n" + "\n".join(rows) + "\n", read=SMALL)
    assert types(table) == {"day": "date32[day]"}
    assert str(table.column("day")[-1]) == "2024-02-13"
    assert not any(w.startswith("column 'day': ASSUMED") for w in result.warnings)


def test_restarts_are_bounded_by_the_columns(tmp_path: Path) -> None:
    rows = [",".join(str(i) for _ in range(5)) for i in range(5_000)]
    rows.append(",".join(["x"] * 5))
    result, table = build(tmp_path, "a,b,c,d,e\n" + "\n".join(rows) + "\n", read=SMALL)
    assert set(types(table).values()) == {"string"}
    assert result.restarts == 5


# --- CSV layout ------------------------------------------------------------------------------

def test_crlf_and_quoted_newlines(tmp_path: Path) -> None:
    text = 'id,note\r\n1,"two\r\nlines"\r\n2,"say ""hi"", then go"\r\n3,plain\r\n'
    result, table = build(tmp_path, text)
    assert table.column("note").to_pylist() == ["two\r\nlines", 'say "hi", then go', "plain"]
    assert types(table)["id"] == "int64"
    assert result.rows_read == 3


def test_a_quoted_newline_far_into_the_file_reads_again_allowing_them(tmp_path: Path) -> None:
    rows = [f"{i},row {i}" for i in range(8_000)] + ['8000,"a\nb"', "8001,end"]
    _, table = build(tmp_path, "id,text\n" + "\n".join(rows) + "\n", read=SMALL)
    assert table.num_rows == 8_002
    assert table.column("text").to_pylist()[-2:] == ["a\nb", "end"]


def test_a_row_with_too_few_fields_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as err:
        build(tmp_path, "a,b\n1,2\n3\n4,5\n")
    assert err.value.message == (f"{tmp_path / 'in.csv'}: line 3: expected 2 fields, found 1: "
                                 "'3' (read as CSV, delimiter ',', utf-8)")


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    _, table = build(tmp_path, "a,b\n1,2\n\n3,4\n\n")
    assert table.num_rows == 2


def test_a_header_and_no_rows(tmp_path: Path) -> None:
    result, table = build(tmp_path, "Id,Name\r\n")
    assert (table.num_rows, table.schema.names, result.rows_read) == (0, ["id", "name"], 0)
    assert set(types(table).values()) == {"string"}
    assert [f.stats["count"] for f in result.fields] == [0, 0]


# --- the cleaning switches -------------------------------------------------------------------

MESSY = ('Name,Amount,When,Code\n Ann ,"$1,200.50",2024-01-02, 7\nNA,-,2024-01-03,8\n'
         'Bob,"$3.00 ",NA,9\n')


def test_all_steps_on(tmp_path: Path) -> None:
    result, table = build(tmp_path, MESSY)
    assert types(table) == {"name": "string", "amount": "double", "when": "date32[day]",
                            "code": "int64"}
    assert table.column("name").to_pylist() == ["Ann", None, "Bob"]
    assert table.column("amount").to_pylist() == [1200.5, None, 3.0]
    assert result.cleaning | {"null_tokens_used": None} == {
        "trimmed_values": 3, "null_tokens": 3, "excel_overflow_cells": 0,
        "null_tokens_used": None, "sentinels": [], "names_normalized": True,
        "types_inferred": True, "duplicates_dropped": 0, "parsed_natively": ["when"]}


def test_type_inference_off_keeps_text(tmp_path: Path) -> None:
    result, table = build(tmp_path, MESSY, infer_types=False)
    assert set(types(table).values()) == {"string"}
    assert table.column("amount").to_pylist() == ["$1,200.50", None, "$3.00"]
    assert result.cleaning["types_inferred"] is False


def test_trimming_off(tmp_path: Path) -> None:
    result, table = build(tmp_path, MESSY, trim_whitespace=False)
    assert table.column("name").to_pylist() == [" Ann ", None, "Bob"]
    assert types(table)["code"] == "string"         # " 7" is not an integer untrimmed
    assert table.column("amount").to_pylist() == [1200.5, None, 3.0]  # spaces by a symbol: ok
    assert result.cleaning["trimmed_values"] == 0


def test_null_tokens_off(tmp_path: Path) -> None:
    _, table = build(tmp_path, MESSY, null_tokens=())
    assert table.column("name").to_pylist() == ["Ann", "NA", "Bob"]
    assert types(table)["when"] == "string"


def test_sentinels(tmp_path: Path) -> None:
    result, table = build(tmp_path, "age,job\n41,unknown\n-1,admin\n37,-1\n",
                          sentinels=("unknown", "-1"))
    assert table.column("age").to_pylist() == [41, None, 37]
    assert table.column("job").to_pylist() == [None, "admin", None]
    assert result.cleaning["sentinels"] == ["unknown", "-1"]


def test_excel_overflow_cells_are_null_with_a_warning(tmp_path: Path) -> None:
    result, table = build(tmp_path, "rate;price\n1.1;2\n########;3\n-1.8;####\n")
    assert table.column("rate").to_pylist() == [1.1, None, -1.8]
    assert types(table) == {"rate": "double", "price": "int64"}
    assert result.cleaning["excel_overflow_cells"] == 2
    assert result.warnings == ["2 Excel overflow cell(s) ('####': the value was lost on "
                               "export) read as null in price, rate"]


def test_drop_duplicates(tmp_path: Path) -> None:
    text = "a,b\n1,x\n1,x\n2,x\n1,x\n2,y\n"
    kept, table = build(tmp_path, text)
    assert (kept.rows_written, kept.rows_skipped) == (5, 0)
    dropped, table = build(tmp_path, text, drop_duplicates=True)
    assert (dropped.rows_read, dropped.rows_written, dropped.rows_skipped) == (5, 3, 2)
    assert table.to_pylist() == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    assert dropped.cleaning["duplicates_dropped"] == 2


def test_drop_duplicates_across_batches(tmp_path: Path) -> None:
    rows = [f"{i % 100},v{i % 100}" for i in range(10_000)]
    result, table = build(tmp_path, "k,v\n" + "\n".join(rows) + "\n", read=SMALL,
                          drop_duplicates=True)
    assert (table.num_rows, result.rows_skipped) == (100, 9_900)


def test_ambiguous_dates_are_flagged_in_the_warnings_and_the_metadata(tmp_path: Path) -> None:
    result, table = build(tmp_path, "d\n01/02/2024\n03/04/2024\n")
    assert types(table) == {"d": "date32[day]"}
    assert result.warnings[0].startswith("column 'd': ASSUMED month-first")
    meta = pq.read_schema(tmp_path / "out.parquet").field("d").metadata
    assert meta[b"date_order"] == b"assumed month-first"
    assert meta[b"parsed_format"] == b"%m/%d/%Y"
    _, table = build(tmp_path, "d\n01/02/2024\n03/04/2024\n", date_order="dmy")
    assert str(table.column("d")[0]) == "2024-02-01"


# --- progress, the second thread, the writer --------------------------------------------------

def test_progress_reports_rows_and_bytes(tmp_path: Path) -> None:
    src = tmp_path / "p.csv"
    src.write_text("n\n" + "".join(f"{i}\n" for i in range(20_000)))
    seen: list[tuple[int, int]] = []
    build_curated(src, tmp_path / "o.parquet", tmp_path / "q.parquet",
                  opts=LoadOptions(read=SMALL), progress=lambda r, b: seen.append((r, b)))
    assert len(seen) > 10
    assert seen[-1][0] == 20_000
    assert [r for r, _ in seen] == sorted(r for r, _ in seen)
    assert 0 < seen[0][1] <= seen[-1][1] <= src.stat().st_size


def test_an_error_while_profiling_on_the_second_thread_fails_the_build_cleanly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Profiler, batch: Any) -> None:
        raise LoadError("profile exploded")

    monkeypatch.setattr(Profiler, "update", broken)
    threads = threading.active_count()
    with pytest.raises(LoadError, match="profile exploded"):
        build(tmp_path, "n\n" + "".join(f"{i}\n" for i in range(20_000)), read=SMALL)
    assert not (tmp_path / "out.parquet").exists()
    assert threading.active_count() == threads


def test_an_unexpected_arrow_error_is_a_load_error_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unsupported(self: Profiler, batch: Any) -> None:
        raise pa.ArrowNotImplementedError("Function 'min_max' has no kernel for exotic\nmore")

    monkeypatch.setattr(Profiler, "update", unsupported)
    with pytest.raises(LoadError) as err:
        build(tmp_path, "n\n1\n")
    assert err.value.message == (
        f"{tmp_path / 'in.csv'}: the csv data could not be processed (ArrowNotImplementedError: "
        "Function 'min_max' has no kernel for exotic)")
    assert isinstance(err.value.__cause__, pa.ArrowNotImplementedError)
    assert not (tmp_path / "out.parquet").exists()


def test_dictionary_encoding_only_for_repetitive_columns(tmp_path: Path) -> None:
    rows = [f"{i},{['GB', 'FR', 'DE'][i % 3]},{i * 7.5}" for i in range(3_000)]
    build(tmp_path, "id,country,amount\n" + "\n".join(rows) + "\n")
    meta = pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0)
    encodings = {meta.column(j).path_in_schema: meta.column(j).encodings
                 for j in range(meta.num_columns)}
    assert "RLE_DICTIONARY" in encodings["country"]
    assert "RLE_DICTIONARY" not in encodings["id"]
    assert meta.column(0).compression == "ZSTD"
    assert stages.dictionary_columns(None) is True
    nested = pa.record_batch({"l": pa.array([[1], [2]])})
    assert stages.dictionary_columns(nested) is True
