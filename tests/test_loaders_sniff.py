"""loaders.sniff: what a file is, from its first bytes — formats, encodings, delimiters — and
the refusals that name the file, say what was found and what was expected."""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path

import pytest

from loaders.sniff import HEAD_BYTES, FileFormat, Sniffed, detect_encoding, sniff
from server.errors import LoadError


def put(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- formats ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "fmt"), [
    ("a,b\n1,2\n", FileFormat.CSV),
    ('[{"a": 1}, {"a": 2}]', FileFormat.JSON),
    ('\n  [\n {"a": 1}\n]', FileFormat.JSON),
    ('{"a": 1}\n{"a": 2}\n', FileFormat.JSONL),
    ('{"a": 1}', FileFormat.JSONL),                       # one object, one line
    ('{\n  "rows": [{"a": 1}]\n}\n', FileFormat.JSON),    # a pretty-printed object
    (b"PAR1\x00\x00", FileFormat.PARQUET),
    (b"PK\x03\x04rest", FileFormat.XLSX),
])
def test_format_from_content_not_name(tmp_path: Path, data: bytes | str,
                                      fmt: FileFormat) -> None:
    assert sniff(put(tmp_path, "misnamed.txt", data)).format is fmt


def test_forced_format_wins(tmp_path: Path) -> None:
    path = put(tmp_path, "x.csv", '{"a": 1}\n{"a": 2}\n')
    assert sniff(path, force=FileFormat.CSV).format is FileFormat.CSV
    assert sniff(path, force=FileFormat.JSON).format is FileFormat.JSON
    assert sniff(put(tmp_path, "y.bin", "a,b\n"), force=FileFormat.PARQUET) == \
        Sniffed(FileFormat.PARQUET)


# --- encodings --------------------------------------------------------------------------------

TEXT = "name,city\nJosé,Köln\nZoë,Málaga\n"


@pytest.mark.parametrize(("raw", "encoding"), [
    (TEXT.encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
    (TEXT.encode("utf-16"), "utf-16"),                           # with its BOM
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
    (TEXT.encode("utf-16-le"), "utf-16-le"),                     # no BOM
    (TEXT.encode("utf-16-be"), "utf-16-be"),
    (TEXT.encode("latin-1"), "cp1252"),                          # a superset, where it decodes
    ("price\n€5 “best”\n".encode("cp1252"), "cp1252"),
    (b"a\n\x81\x8d\xe9\n", "latin-1"),                         # bytes cp1252 leaves undefined
])
def test_detect_encoding(raw: bytes, encoding: str) -> None:
    assert detect_encoding(Path("x.csv"), raw) == encoding


def test_latin1_byte_near_the_end_of_a_small_file_is_not_mistaken_for_a_cut_character(
        tmp_path: Path) -> None:
    # the bug: a short Latin-1 file whose only accented byte sat in the last 4 bytes was
    # taken for UTF-8 with a character cut by the read window, and refused later
    assert sniff(put(tmp_path, "l.csv", "a,b\n1,caf\xe9\n".encode("latin-1"))).encoding == \
        "cp1252"


def test_a_utf8_character_cut_by_the_read_window_is_still_utf8(tmp_path: Path) -> None:
    head = ("a\n" + "x" * (HEAD_BYTES - 3)).encode() + "é".encode()[:1]
    assert len(head) == HEAD_BYTES
    assert detect_encoding(Path("x.csv"), head) == "utf-8"


def test_forced_encoding_wins(tmp_path: Path) -> None:
    path = put(tmp_path, "x.csv", TEXT.encode("utf-8"))
    assert sniff(path, encoding="latin-1").encoding == "latin-1"


# --- delimiters -------------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    rows = [["id", "name", "amount"], ["1", "Ann", "3.5"], ["2", "Bob", "4"]]
    text = "\n".join(delimiter.join(r) for r in rows) + "\n"
    assert sniff(put(tmp_path, "x.csv", text)).delimiter == delimiter


def test_tab_separated_file_named_csv(tmp_path: Path) -> None:
    path = put(tmp_path, "export.csv", "id\tcity, country\n1\tParis, FR\n2\tRome, IT\n")
    assert sniff(path).delimiter == "\t"


def test_semicolons_with_decimal_commas(tmp_path: Path) -> None:
    path = put(tmp_path, "de.csv", "id;betrag;stadt\n1;3,50;Köln\n2;4,25;Bonn\n")
    assert sniff(path).delimiter == ";"


def test_one_column_file_defaults_to_comma(tmp_path: Path) -> None:
    assert sniff(put(tmp_path, "x.csv", "email\na@x.io\nb@y.io\n")).delimiter == ","


def test_forced_delimiter_wins(tmp_path: Path) -> None:
    assert sniff(put(tmp_path, "x.csv", "a;b,c\n1;2,3\n"), delimiter="|").delimiter == "|"


def test_crlf_lines(tmp_path: Path) -> None:
    found = sniff(put(tmp_path, "x.csv", "a;b\r\n1;2\r\n"))
    assert (found.format, found.delimiter) == (FileFormat.CSV, ";")


# --- refusals: the file named, what was found, what was expected -----------------------------

REFUSED = {
    "empty": (b"", "the file is empty; expected a header row and data"),
    "blank lines": (b"\n\r\n  \n", "no text lines found; expected a header row and data"),
    "html": (b"\n\n<!DOCTYPE html>\n<html><body>Not found</body></html>",
             "this is an HTML page"),
    "html tag": (b"  <html lang='en'>", "not CSV; download the raw file"),
    "xml": (b"<?xml version='1.0'?><feed/>", "HTML page"),
    "lfs": (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 45580638\n",
            "this is a Git LFS pointer, not the data; run `git lfs pull`"),
    "binary": (bytes(range(256)) * 4, "binary data (a NUL byte) at byte 0; expected text"),
    "nul later": (b"a,b\n1,2\n3,\x00\n", "a NUL byte) at byte 10"),
    "pdf": (b"%PDF-1.7\n...", "this is a PDF document, not a table file we read"),
    "png": (b"\x89PNG\r\n\x1a\n....", "a PNG image"),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "legacy Excel/Office"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refusals_name_the_file_and_say_what_is_wrong(tmp_path: Path, case: str) -> None:
    data, expected = REFUSED[case]
    path = put(tmp_path, f"{case.replace(' ', '_')}.csv", data)
    with pytest.raises(LoadError) as err:
        sniff(path)
    assert err.value.message.startswith(f"{path}: ")
    assert expected in err.value.message
    assert "\n" not in err.value.message


def test_label_names_the_upload_not_the_temp_copy(tmp_path: Path) -> None:
    path = put(tmp_path, "peso-upload-x1y2", b"")
    with pytest.raises(LoadError, match=r"^campaigns\.csv: the file is empty"):
        sniff(path, label="campaigns.csv")


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="cannot read the file"):
        sniff(tmp_path)            # a folder


def test_compressed_files_are_not_sniffed_as_text(tmp_path: Path) -> None:
    # gzip is unpacked before sniffing (loaders.build); sniffing it raw finds binary data
    path = put(tmp_path, "x.csv.gz", gzip.compress(b"a,b\n1,2\n"))
    with pytest.raises(LoadError, match="binary data"):
        sniff(path)
