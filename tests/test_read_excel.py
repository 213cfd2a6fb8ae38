"""loaders.read_excel: .xlsx worksheets to string columns; workbooks are built with openpyxl."""

from __future__ import annotations

import datetime as dt
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from loaders.read_excel import cell_text, open_xlsx
from loaders.streams import StringStream
from server.errors import LoadError

Table = tuple[list[str], list[list[str | None]]]


def build(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(list(row))
    wb.save(path)
    return path


def collect(stream: StringStream, batch_rows: int | None = None) -> Table:
    rows: list[list[str | None]] = []
    width = len(stream.columns)
    for batch in stream.batches:
        assert batch.schema.names == [f"c{i}" for i in range(width)]
        assert all(field.type == pa.string() and field.nullable for field in batch.schema)
        if batch_rows is not None:
            assert 0 < batch.num_rows <= batch_rows
        rows.extend([list(r.values()) for r in batch.to_pylist()])
    stream.close()
    return stream.columns, rows


def load_error(path: Path, **kwargs: Any) -> str:
    with pytest.raises(LoadError) as err:
        open_xlsx(path, **kwargs)
    return str(err.value)


# --- property: random tables round trip -----------------------------------------------

def expected_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        value = float(f"{value:.16g}")        # what openpyxl writes: 16 significant digits
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


cell_texts = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12).filter(
    # XML turns a raw CR into LF, and openpyxl writes "=..." as a formula
    lambda s: not ILLEGAL_CHARACTERS_RE.search(s) and "\r" not in s and not s.startswith("=")
) | st.sampled_from(
    ["a,b", 'say "hi"', "two\nlines", "é€😀", "  pad  ", "null", "1.0", "TRUE", "0012"])
cells = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | cell_texts | st.floats(
    allow_nan=False, allow_infinity=False)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[Any]]]:
    names = draw(st.lists(cell_texts, min_size=1, max_size=5))
    width = len(names)
    rows = draw(st.lists(st.lists(cells, min_size=width, max_size=width), max_size=8))
    return names, rows


@settings(max_examples=40, deadline=None)
@given(table=tables(), batch_rows=st.integers(1, 4), skip=st.integers(0, 2))
def test_round_trip(table: tuple[list[str], list[list[Any]]], batch_rows: int,
                    skip: int) -> None:
    names, rows = table
    with tempfile.TemporaryDirectory() as folder:
        path = build(Path(folder) / "t.xlsx", {"Data": [[]] * skip + [names, *rows]})
        got = collect(open_xlsx(path, batch_rows=batch_rows), batch_rows)
    expected = [[expected_text(v) for v in row] for row in rows]
    while expected and not any(v is not None for v in expected[-1]):
        expected.pop()                                   # trailing empty rows are dropped
    assert got == (names, expected)


# --- behaviour ------------------------------------------------------------------------

def test_cell_conversions(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    values: list[tuple[Any, str | None, str | None]] = [
        (dt.datetime(2024, 3, 1), "yyyy-mm-dd", "2024-03-01"),
        (dt.datetime(2024, 3, 1), "dd/mm/yyyy", "2024-03-01"),
        (dt.datetime(2024, 3, 1), "yyyy-mm-dd hh:mm:ss", "2024-03-01T00:00:00"),
        (dt.datetime(2024, 3, 1, 9, 5, 7), "yyyy-mm-dd", "2024-03-01T09:05:07"),
        (dt.datetime(2024, 3, 1, 9, 5, 7), None, "2024-03-01T09:05:07"),
        (dt.time(14, 30), None, "14:30:00"),
        (dt.timedelta(hours=26, minutes=3), None, "26:03:00"),
        (12.0, None, "12"), (-0.5, None, "-0.5"), (0.1, None, "0.1"), (1e-07, None, "1e-07"),
        (1e20, None, "100000000000000000000"), (7, None, "7"), (True, None, "true"),
        (False, None, "false"), (" text ", None, " text "), ("", None, None),
    ]
    ws.append([f"h{i}" for i in range(len(values))])
    for col, (value, fmt, _) in enumerate(values, 1):
        cell = ws.cell(row=2, column=col, value=value)
        if fmt:
            cell.number_format = fmt
    path = tmp_path / "types.xlsx"
    wb.save(path)
    _, [row] = collect(open_xlsx(path))
    assert row == [want for _, _, want in values]


def test_cell_text_direct() -> None:
    assert cell_text(dt.date(2020, 1, 2)) == "2020-01-02"
    assert cell_text(dt.datetime(2020, 1, 2, 3, 4, 5, 600)) == "2020-01-02T03:04:05.000600"
    assert cell_text(-dt.timedelta(minutes=90)) == "-1:30:00"
    assert cell_text("#N/A") == "#N/A"
    assert cell_text(None) is None


def test_header_below_blank_rows_trailing_blanks_dropped(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws["B3"], ws["C3"], ws["D3"] = "id", None, "name"
    ws["B4"], ws["D4"] = 1, "Ann"
    ws["B6"], ws["D6"] = 2, "Bob"                  # row 5 is empty: kept as an all-null row
    ws["K40"].font = Font(bold=True)               # a formatted empty cell far away
    ws["B9"] = None
    path = tmp_path / "leads.xlsx"
    wb.save(path)
    assert collect(open_xlsx(path)) == (
        ["", "id", "", "name"],
        [[None, "1", None, "Ann"], [None, None, None, None], [None, "2", None, "Bob"]])


def test_values_under_a_blank_header_in_the_first_batch_widen_it(tmp_path: Path) -> None:
    path = build(tmp_path / "w.xlsx", {"S": [["a"], [1, None, "note"], [2]]})
    assert collect(open_xlsx(path)) == (["a", "", ""], [["1", None, "note"], ["2", None, None]])


def test_a_value_right_of_the_columns_after_the_first_batch(tmp_path: Path) -> None:
    path = build(tmp_path / "w.xlsx", {"S": [["a", "b"], [1, 2], [3, 4], [5, 6, None, "late"]]})
    stream = open_xlsx(path, batch_rows=2)
    assert next(stream.batches).num_rows == 2
    with pytest.raises(LoadError) as err:
        next(stream.batches)
    stream.close()
    assert str(err.value) == (f"{path}: sheet 'S': cell D4 has a value right of the last "
                              "column (B) of the header and the first 2 rows; give it a header "
                              "or delete it")


def test_sheet_selection(tmp_path: Path) -> None:
    path = build(tmp_path / "two.xlsx", {"First": [["a"], [1]], "Second": [["b"], [2]]})
    assert collect(open_xlsx(path)) == (["a"], [["1"]])
    assert collect(open_xlsx(path, sheet="Second")) == (["b"], [["2"]])


def test_a_header_without_data_gives_no_batches(tmp_path: Path) -> None:
    path = build(tmp_path / "h.xlsx", {"S": [["a", "b"]]})
    assert collect(open_xlsx(path)) == (["a", "b"], [])


def test_any_file_name_is_accepted(tmp_path: Path) -> None:
    path = build(tmp_path / "t.xlsx", {"S": [["a"], ["x"]]})
    renamed = path.rename(tmp_path / "upload.raw")
    assert collect(open_xlsx(renamed)) == (["a"], [["x"]])


def test_close_is_idempotent_and_early(tmp_path: Path) -> None:
    path = build(tmp_path / "t.xlsx", {"S": [["a"], *[[i] for i in range(10)]]})
    stream = open_xlsx(path, batch_rows=3)
    assert next(stream.batches).num_rows == 3
    stream.close()
    stream.close()
    assert list(stream.batches) == []


# --- errors ---------------------------------------------------------------------------

def test_no_such_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = build(tmp_path / "two.xlsx", {"First": [["a"]], "Q3 spend": [["b"]]})
    assert load_error(path, sheet="Data") == \
        f"{path}: no sheet named 'Data'; the workbook has: 'First', 'Q3 spend'"


def test_empty_sheet(tmp_path: Path) -> None:
    path = build(tmp_path / "e.xlsx", {"Data": [], "Other": [["a"]]})
    assert load_error(path) == f"{path}: sheet 'Data' is empty; expected a header row and data"


def test_sheet_with_only_empty_cells(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active["C5"].font = Font(italic=True)
    wb.active["D7"] = ""
    path = tmp_path / "blank.xlsx"
    wb.save(path)
    assert load_error(path) == f"{path}: sheet 'Sheet' is empty; expected a header row and data"


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    path.write_text("id,name\n1,Ann\n")
    assert load_error(path) == f"{path}: not an Excel .xlsx workbook (File is not a zip file)"


def test_a_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("data.csv", "a\n1\n")
    assert load_error(path).startswith(f"{path}: not an Excel .xlsx workbook (")


def test_legacy_xls(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600 +
                     "Workbook".encode("utf-16-le") + b"\0" * 600)
    assert load_error(path) == (f"{path}: this is a legacy Excel 97-2003 .xls workbook (an "
                                "OLE document), not .xlsx; save it as .xlsx and upload it again")


def test_encrypted_workbook(tmp_path: Path) -> None:
    # an encrypted .xlsx is an OLE compound file with an "EncryptedPackage" stream
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * ((1 << 20) - 20) +
                     "EncryptionInfo\0EncryptedPackage".encode("utf-16-le") + b"\0" * 600)
    assert load_error(path) == (f"{path}: the workbook is password-protected (encrypted); "
                                "remove the password in Excel and upload it again")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.xlsx"
    assert load_error(path) == f"{path}: cannot read the file (No such file or directory)"


def test_batch_rows_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_rows"):
        open_xlsx(tmp_path / "t.xlsx", batch_rows=0)


def test_label_names_the_file_in_errors(tmp_path: Path) -> None:
    path = build(tmp_path / "peso-inflated-1.xlsx", {"S": [["a"]]})
    assert load_error(path, sheet="T", label="report.xlsx.gz") == \
        "report.xlsx.gz: no sheet named 'T'; the workbook has: 'S'"
