"""Every reader through the whole build (loaders.build.build_curated): encodings, delimiters,
forced options, gzip and zip, JSON, JSON Lines, Excel and Parquet — and the files that must be
refused with a message naming the file, what was found and what was expected."""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loaders import limits
from loaders.build import BuildResult, build_curated
from loaders.options import CleaningOptions, LoadOptions, ReadOptions
from loaders.sniff import FileFormat
from server.errors import LoadError

TABLE = "id,name,city\n1,José,Köln\n2,Zoë,Málaga\n"
ROWS = [{"id": 1, "name": "José", "city": "Köln"}, {"id": 2, "name": "Zoë", "city": "Málaga"}]


def build(tmp_path: Path, data: str | bytes, name: str = "in.csv", *,
          read: ReadOptions | None = None, **clean: Any) -> tuple[BuildResult, pa.Table]:
    src = tmp_path / name
    src.write_bytes(data.encode() if isinstance(data, str) else data)
    out = tmp_path / "out.parquet"
    opts = LoadOptions(read=read or ReadOptions(), clean=CleaningOptions(**clean))
    result = build_curated(src, out, tmp_path / "quarantine.parquet", opts=opts)
    return result, pq.read_table(out)


def refused(tmp_path: Path, data: str | bytes, name: str = "in.csv",
            read: ReadOptions | None = None) -> str:
    with pytest.raises(LoadError) as err:
        build(tmp_path, data, name, read=read)
    assert not (tmp_path / "out.parquet").exists()
    assert "\n" not in err.value.message
    message: str = err.value.message
    return message


# --- encodings and delimiters ------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    TABLE.encode("utf-8"),
    codecs.BOM_UTF8 + TABLE.encode("utf-8"),
    TABLE.encode("utf-16"),
    TABLE.encode("utf-16-le"),
    TABLE.encode("latin-1"),
    TABLE.encode("cp1252"),
], ids=["utf-8", "utf-8 BOM", "utf-16 BOM", "utf-16-le no BOM", "latin-1", "cp1252"])
def test_encodings(tmp_path: Path, raw: bytes) -> None:
    result, table = build(tmp_path, raw)
    assert table.to_pylist() == ROWS
    assert result.fields[0].name == "id"          # no BOM left on the first name
    assert "original_name" not in result.fields[0].metadata


def test_windows_quotes_and_euro_signs(tmp_path: Path) -> None:
    offer = "“Summer” sale \u2013 €5 off"    # curly quotes, an en dash, a euro sign
    _, table = build(tmp_path, f"offer\n{offer}\n".encode("cp1252"))
    assert table.column("offer").to_pylist() == [offer]


def test_a_non_utf8_byte_past_the_sniffed_head_is_located(tmp_path: Path) -> None:
    data = ("id,name\n" + "".join(f"{i},plain\n" for i in range(12_000))).encode()
    data += "12000,caf\xe9\n".encode("latin-1")
    message = refused(tmp_path, data)
    assert message.startswith(f"{tmp_path / 'in.csv'}: line 12002: byte 0xE9 at offset ")
    assert "pass the file's encoding, e.g. --encoding cp1252 or latin-1" in message
    _, table = build(tmp_path, data, read=ReadOptions(encoding="cp1252"))
    assert table.column("name")[-1].as_py() == "café"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    text = "".join(delimiter.join(r) + "\n" for r in
                   [["id", "name", "city"], ["1", "José", "Köln"], ["2", "Zoë", "Málaga"]])
    assert build(tmp_path, text)[1].to_pylist() == ROWS


def test_a_tab_separated_file_named_csv_with_commas_in_its_text(tmp_path: Path) -> None:
    text = "id\tplace\tspend\n1\tParis, FR\t10\n2\tRome, IT\t20\n3\tOslo, NO\t30\n"
    _, table = build(tmp_path, text, name="export.csv")
    assert table.column("place").to_pylist() == ["Paris, FR", "Rome, IT", "Oslo, NO"]
    assert table.column("spend").to_pylist() == [10, 20, 30]


def test_forced_delimiter_encoding_and_format(tmp_path: Path) -> None:
    _, table = build(tmp_path, "a|b;c\n1|2;3\n", read=ReadOptions(delimiter="|"))
    assert table.column("b_c").to_pylist() == ["2;3"]
    _, table = build(tmp_path, "x\ncaf\xc3\xa9\n".encode("latin-1"),
                     read=ReadOptions(encoding="latin-1"))
    assert table.column("x").to_pylist() == ["cafÃ©"]   # what the caller asked for
    result, table = build(tmp_path, '{"a": 1}\n{"a": 2}\n', name="rows.txt",
                          read=ReadOptions(format=FileFormat.JSONL))
    assert (result.format, table.column("a").to_pylist()) == ("jsonl", [1, 2])


# --- compressed inputs -------------------------------------------------------------------------

def test_gzip(tmp_path: Path) -> None:
    result, table = build(tmp_path, gzip.compress(TABLE.encode()), name="t.csv.gz")
    assert (result.format, table.to_pylist()) == ("csv+gzip", ROWS)


def test_zip_of_json_lines(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("__MACOSX/._rows.jsonl", b"junk")
        zf.writestr("export/rows.jsonl", '{"id": 1}\n{"id": 2}\n')
    result, table = build(tmp_path, buf.getvalue(), name="export.zip")
    assert (result.format, table.column("id").to_pylist()) == ("jsonl+zip", [1, 2])


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress("".join(f"{i},{i * i},row {i}\n" for i in range(50_000)).encode())
    message = refused(tmp_path, data[: len(data) // 2], name="t.csv.gz")
    assert message.startswith(f"{tmp_path / 't.csv.gz'}: gzip stream ends early at compressed "
                              "byte ")
    assert message.endswith("(truncated download?)")
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv.gz"]   # no inflated copy left


def test_zip_with_two_files(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.csv", "x\n1\n")
        zf.writestr("b.csv", "x\n2\n")
    assert "expected a zip archive holding exactly one file, found 2 files: 'a.csv', " \
           "'b.csv'" in refused(tmp_path, buf.getvalue(), name="two.zip")


def test_a_refusal_inside_a_gzip_names_the_archive(tmp_path: Path) -> None:
    message = refused(tmp_path, gzip.compress(b"<!DOCTYPE html><html></html>"), name="p.csv.gz")
    assert message.startswith(f"{tmp_path / 'p.csv.gz'} (gzip: ")
    assert "this is an HTML page" in message


# --- files that are not tables -----------------------------------------------------------------

@pytest.mark.parametrize(("data", "expected"), [
    (b"", "the file is empty; expected a header row and data"),
    (bytes(range(256)) * 8, "binary data (a NUL byte) at byte 0; expected text"),
    (b"<html><head><title>Sign in</title></head></html>", "this is an HTML page"),
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n", "Git LFS pointer"),
    (b'col\n"1;""a"";""b"""\n"2;""c"";""d"""\n"3;""e"";""f"""\n',
     "mangled quoting: each row is ONE quoted field holding 3 ';'-separated values"),
    (b'a,b\n1,"never closed\n2,x\n3,y\n', "line 2: the quote opening column 'b' is never "
     "closed: it runs to the end of the file, swallowing the 2 lines after it"),
], ids=["empty", "binary", "html", "lfs", "mangled quoting", "open quote"])
def test_not_a_table(tmp_path: Path, data: bytes, expected: str) -> None:
    message = refused(tmp_path, data)
    assert message.startswith(f"{tmp_path / 'in.csv'}: ")
    assert expected in message


# --- JSON, JSON Lines, Excel, Parquet ----------------------------------------------------------

def test_json_array(tmp_path: Path) -> None:
    text = ('[{"id": 1, "spend": "$1,200.50", "day": "2024-01-31", "tags": ["a"]},\n'
            ' {"id": 2, "spend": null, "day": "2024-02-01", "extra": true}]')
    result, table = build(tmp_path, text, name="rows.json")
    assert result.format == "json"
    assert {f.name: str(f.type) for f in table.schema} == {
        "id": "int64", "spend": "double", "day": "date32[day]", "tags": "string",
        "extra": "bool"}
    assert table.to_pylist()[0] == {"id": 1, "spend": 1200.5, "day": dt.date(2024, 1, 31),
                                    "tags": '["a"]', "extra": None}


def test_json_lines_in_batches_widen_like_csv(tmp_path: Path) -> None:
    lines = "".join(f'{{"n": {i}}}\n' for i in range(300)) + '{"n": "n/a"}\n{"n": 1.5}\n'
    result, table = build(tmp_path, lines, name="rows.jsonl",
                          read=ReadOptions(batch_rows=50))
    assert (result.format, str(table.schema.field("n").type)) == ("jsonl", "double")
    assert table.column("n").to_pylist()[-2:] == [None, 1.5]


def test_excel_through_the_pipeline(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Campaigns"
    ws.append(["Campaign Name", "Start Date", "Budget", "Active"])
    ws.append(["Spring", dt.datetime(2024, 3, 1), 1500, True])
    ws.append(["Summer", dt.datetime(2024, 6, 1), 2500.5, False])
    wb.create_sheet("Other").append(["x"])
    wb.save(path)
    result = build_curated(path, tmp_path / "o.parquet", tmp_path / "q.parquet",
                           opts=LoadOptions())
    table = pq.read_table(tmp_path / "o.parquet")
    assert result.format == "xlsx"
    assert {f.name: str(f.type) for f in table.schema} == {
        "campaign_name": "string", "start_date": "timestamp[us]", "budget": "double",
        "active": "bool"}
    assert table.column("budget").to_pylist() == [1500.0, 2500.5]
    other = build_curated(path, tmp_path / "o.parquet", tmp_path / "q.parquet",
                          opts=LoadOptions(read=ReadOptions(sheet="Other")))
    assert (other.rows_read, [f.name for f in other.fields]) == (0, ["x"])


def test_parquet_keeps_its_types_and_nested_columns(tmp_path: Path) -> None:
    table = pa.table({"ID": pa.array([1, 2], pa.int32()),
                      "tags": pa.array([["a", "b"], None]),
                      "geo": pa.array([{"lat": 1.5, "lon": 2.0}, {"lat": None, "lon": 0.0}]),
                      "price": pa.array([1.5, None], pa.float16())})
    pq.write_table(table, tmp_path / "in.parquet")
    result = build_curated(tmp_path / "in.parquet", tmp_path / "o.parquet",
                           tmp_path / "q.parquet", opts=LoadOptions())
    out = pq.read_table(tmp_path / "o.parquet")
    assert out.schema.names == ["id", "tags", "geo", "price"]
    assert out.rename_columns(table.schema.names).equals(table)
    assert result.fields[3].stats["max"] == 1.5       # float16: profiled as float32


def test_a_parquet_decompression_bomb_is_refused_from_its_metadata(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pq.write_table(pa.table({"s": ["a" * 100] * 50_000}), tmp_path / "bomb.parquet",
                   use_dictionary=False, compression="zstd")
    monkeypatch.setattr(limits, "MIN_ALLOWANCE", 1 << 20)
    with pytest.raises(LoadError) as err:
        build_curated(tmp_path / "bomb.parquet", tmp_path / "o.parquet",
                      tmp_path / "q.parquet", opts=LoadOptions())
    assert "its column chunks decompress to 5,2" in err.value.message
    assert err.value.message.endswith("refusing a possible decompression bomb")


def test_truncated_parquet(tmp_path: Path) -> None:
    pq.write_table(pa.table({"n": list(range(1000))}), tmp_path / "whole.parquet")
    data = (tmp_path / "whole.parquet").read_bytes()
    message = refused(tmp_path, data[:-100], name="cut.parquet")
    assert message.startswith(f"{tmp_path / 'cut.parquet'}: ")
    assert message.endswith("(expected a valid Parquet file)")
