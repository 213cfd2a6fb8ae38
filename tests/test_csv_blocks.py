"""loaders.csv_blocks: blocks cut where Arrow's streaming reader cuts them, parsed on threads.

Every case is read both ways, by ``pyarrow.csv.open_csv`` (one block after another) and by
``parse_blocks``, with a small block size so a file spans many blocks: the batches must hold
the same rows, cut at the same places, and errors must say the same thing.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from loaders.csv_blocks import STRADDLING, BlockFailed, parse_blocks

NAMES = ["id", "name", "amount"]
TEXT = dict.fromkeys(NAMES, pa.string())


def _rows(n: int, newline: str = "\n") -> str:
    words = ["alpha", "béta", '"quoted, with comma"', "", "  padded  ", "ünïcode ✓"]
    return "".join(f"{i},{words[i % len(words)]},{i * 1.5}{newline}" for i in range(n))


def _streaming(path: Path, encoding: str, block: int, types: dict[str, pa.DataType]
               ) -> list[pa.RecordBatch]:
    read = pacsv.ReadOptions(block_size=block, column_names=NAMES, skip_rows=1,
                             encoding="utf8" if encoding.startswith("utf-8") else encoding)
    reader = pacsv.open_csv(str(path), read_options=read,
                            convert_options=pacsv.ConvertOptions(column_types=types,
                                                                 strings_can_be_null=False))
    return [b for b in reader if b.num_rows]


def _blocks(path: Path, encoding: str, block: int, types: dict[str, pa.DataType],
            start: int = 0) -> list[pa.RecordBatch]:
    batches, position, close = parse_blocks(
        path, start=start, encoding=encoding, block_bytes=block, skip_header=start == 0,
        names=NAMES, parse=pacsv.ParseOptions(),
        convert=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False))
    try:
        out = list(batches)
        assert position() == path.stat().st_size
        return out
    finally:
        close()


CASES = {
    "utf-8": ("utf-8", _rows(300)),
    "utf-8 with a BOM": ("utf-8-sig", "\ufeff" + _rows(300)),
    "CRLF": ("utf-8", _rows(300, "\r\n")),
    "CR only": ("utf-8", _rows(300, "\r")),
    "empty lines": ("utf-8", _rows(100) + "\n\n\n" + _rows(100) + "\n"),
    "no final line break": ("utf-8", _rows(300).rstrip("\n")),
    "cp1252": ("cp1252", _rows(300).replace("✓", "")),
    "utf-16": ("utf-16", _rows(300)),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("block", [64, 1000, 1 << 20])
def test_the_batches_are_the_streaming_readers(tmp_path: Path, case: str, block: int) -> None:
    encoding, body = CASES[case]
    path = tmp_path / "in.csv"
    path.write_bytes(("id,name,amount\n" + body.removeprefix("\ufeff")).encode(encoding)
                     if encoding != "utf-8-sig" else b"\xef\xbb\xbf" + (
                         "id,name,amount\n" + body.removeprefix("\ufeff")).encode())
    if encoding == "utf-16" and block == 64:
        block = 128   # a line of this text is longer than 64 bytes in UTF-8... and in UTF-16
    for types in (TEXT, {**TEXT, "id": pa.int64(), "amount": pa.float64()}):
        expected = _streaming(path, encoding, block, types)
        got = _blocks(path, encoding, block, types)
        assert [b.num_rows for b in got] == [b.num_rows for b in expected]
        assert pa.Table.from_batches(got).equals(pa.Table.from_batches(expected))
        assert sum(b.num_rows for b in got) == (200 if case == "empty lines" else 300)


def test_reading_from_an_offset_reads_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,name,amount\n" + _rows(50))
    offset = len(("id,name,amount\n" + _rows(20)).encode())
    got = pa.Table.from_batches(_blocks(path, "utf-8", 100, TEXT, start=offset))
    assert got.column("id").to_pylist() == [str(i) for i in range(20, 50)]


def test_a_line_longer_than_a_block_is_refused_as_arrow_refuses_it(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,name,amount\n" + _rows(5) + "9," + "x" * 5000 + ",1\n" + _rows(5))
    with pytest.raises(pa.ArrowInvalid, match="straddling"):
        _streaming(path, "utf-8", 1000, TEXT)
    with pytest.raises(pa.ArrowInvalid, match="straddling") as raised:
        _blocks(path, "utf-8", 1000, TEXT)
    assert str(raised.value) == STRADDLING


def test_a_bad_row_in_a_later_block_is_reported_with_its_text(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,name,amount\n" + _rows(200) + "7,too,many,fields\n" + _rows(200))
    with pytest.raises(BlockFailed) as raised:
        _blocks(path, "utf-8", 256, TEXT)
    [row] = raised.value.bad_rows
    assert (row.expected_columns, row.actual_columns, row.text) == (3, 4, "7,too,many,fields")
    assert "Row #" not in str(raised.value.error)


def test_a_conversion_error_says_what_the_streaming_reader_says(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,name,amount\n" + _rows(200) + "oops,a,1\n")
    typed = {**TEXT, "id": pa.int64()}
    with pytest.raises(pa.ArrowInvalid) as streaming:
        _streaming(path, "utf-8", 256, typed)
    with pytest.raises(BlockFailed) as blocked:
        _blocks(path, "utf-8", 256, typed)
    assert str(blocked.value.error) == str(streaming.value)


def test_bytes_that_are_not_the_encoding_fail_as_a_decode_error(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,name,amount\n" + _rows(100).encode() + b"1,\xff\xfe,2\n")
    with pytest.raises(BlockFailed) as raised:
        _blocks(path, "ascii", 256, TEXT)
    assert isinstance(raised.value.error, UnicodeDecodeError)


def test_closing_early_stops_the_parsers(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,name,amount\n" + _rows(2000))
    batches, _, close = parse_blocks(path, start=0, encoding="utf-8", block_bytes=256,
                                     skip_header=True, names=NAMES, parse=pacsv.ParseOptions(),
                                     convert=pacsv.ConvertOptions(column_types=TEXT))
    assert len(list(itertools.islice(batches, 3))) == 3
    close()
    assert list(batches) == []   # nothing more is read


def test_values_with_line_breaks_cannot_be_cut(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,name,amount\n1,a,2\n")
    with pytest.raises(ValueError, match="line breaks"):
        parse_blocks(path, start=0, encoding="utf-8", block_bytes=256, skip_header=True,
                     names=NAMES, parse=pacsv.ParseOptions(newlines_in_values=True),
                     convert=pacsv.ConvertOptions())
