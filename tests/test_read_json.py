"""loaders.read_json: JSON arrays and JSON Lines to string columns, with precise errors."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, BinaryIO
from unittest import mock

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loaders import read_json
from loaders.compression import open_decompressed
from loaders.read_json import open_json
from loaders.streams import StringStream
from server.errors import LoadError

Table = tuple[list[str], list[list[str | None]]]


def expected_text(value: Any) -> str | None:
    """The conversion rules, restated independently of the reader."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def collect(stream: StringStream, batch_rows: int | None = None) -> Table:
    rows: list[list[str | None]] = []
    width = len(stream.columns)
    for batch in stream.batches:
        assert batch.schema.names == [f"c{i}" for i in range(width)]
        assert all(field.type == pa.string() and field.nullable for field in batch.schema)
        assert batch.num_rows > 0
        if batch_rows is not None:
            assert batch.num_rows <= batch_rows
        rows.extend([list(r.values()) for r in batch.to_pylist()])
    stream.close()
    return stream.columns, rows


def expected_table(objects: list[dict[str, Any]]) -> Table:
    columns = list(dict.fromkeys(key for obj in objects for key in obj))
    return columns, [[expected_text(obj.get(c)) for c in columns] for obj in objects]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def load_error(path: Path, *, lines: bool, **kwargs: Any) -> str:
    with pytest.raises(LoadError) as err:
        open_json(path, lines=lines, **kwargs)
    return str(err.value)


# --- property: random tables round trip -----------------------------------------------

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["a,b", 'say "hi"', "line\nbreak\r\n", "tab\there", "\u2028\x85", "é€😀", "  pad  ", "",
     "null", "1.0", "true", "[1]", "{}"])
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                                allow_infinity=False) | texts
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=4)


@st.composite
def objects(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(texts, min_size=1, max_size=5, unique=True))
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        keys = draw(st.lists(st.sampled_from(names), unique=True))  # a random subset and order
        rows.append({key: draw(values) for key in keys})
    return rows


def read_back(data: bytes, *, lines: bool, batch_rows: int, chunk: int) -> Table:
    with tempfile.TemporaryDirectory() as folder, \
            mock.patch.object(read_json, "READ_CHUNK", chunk):
        path = Path(folder) / "t.json"
        path.write_bytes(data)
        return collect(open_json(path, lines=lines, batch_rows=batch_rows), batch_rows)


@settings(max_examples=150, deadline=None)
@given(rows=objects(), ascii_only=st.booleans(), indent=st.sampled_from([None, 0, 2]),
       bom=st.booleans(), batch_rows=st.integers(1, 4), chunk=st.integers(1, 40))
def test_json_array_round_trip(rows: list[dict[str, Any]], ascii_only: bool,
                               indent: int | None, bom: bool, batch_rows: int,
                               chunk: int) -> None:
    data = json.dumps(rows, ensure_ascii=ascii_only, indent=indent).encode()
    data = b"\xef\xbb\xbf" + data if bom else data
    if not any(rows):
        with pytest.raises(LoadError, match=r"none of the \d+ objects has a key"):
            read_back(data, lines=False, batch_rows=batch_rows, chunk=chunk)
        return
    assert read_back(data, lines=False, batch_rows=batch_rows, chunk=chunk) == \
        expected_table(rows)


@settings(max_examples=150, deadline=None)
@given(rows=objects(), ascii_only=st.booleans(), newline=st.sampled_from(["\n", "\r\n"]),
       blanks=st.lists(st.sampled_from(["", " ", "\t", "  \r"]), max_size=8),
       batch_rows=st.integers(1, 4), data=st.data())
def test_json_lines_round_trip(rows: list[dict[str, Any]], ascii_only: bool, newline: str,
                               blanks: list[str], batch_rows: int, data: st.DataObject) -> None:
    lines = [json.dumps(row, ensure_ascii=ascii_only) for row in rows]
    for blank in blanks:                                  # blank lines anywhere are skipped
        lines.insert(data.draw(st.integers(0, len(lines))), blank)
    text = newline.join(lines) + data.draw(st.sampled_from(["", newline]))
    if not any(rows):
        with pytest.raises(LoadError):
            read_back(text.encode(), lines=True, batch_rows=batch_rows, chunk=1 << 20)
        return
    assert read_back(text.encode(), lines=True, batch_rows=batch_rows, chunk=1 << 20) == \
        expected_table(rows)


# --- behaviour ------------------------------------------------------------------------

def counting_opener() -> tuple[list[BinaryIO], read_json.Opener]:
    opened: list[BinaryIO] = []

    def opener(path: Path) -> BinaryIO:
        opened.append(path.open("rb"))
        return opened[-1]
    return opened, opener


def test_a_key_first_seen_in_a_later_batch_becomes_a_column(tmp_path: Path) -> None:
    objs = [{"id": i} for i in range(5)] + [{"late": "x", "id": 5}]
    path = write(tmp_path, "t.jsonl", "\n".join(json.dumps(o) for o in objs))
    opened, opener = counting_opener()
    columns, rows = collect(open_json(path, lines=True, batch_rows=2, opener=opener), 2)
    assert columns == ["id", "late"]
    assert rows == [[str(i), None] for i in range(5)] + [["5", "x"]]
    assert len(opened) == 2                    # keys first, then the batches
    assert all(fh.closed for fh in opened)


def test_a_file_that_fits_one_batch_is_read_once(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"a": 1}, {"b": 2}]')
    opened, opener = counting_opener()
    assert collect(open_json(path, lines=False, batch_rows=2, opener=opener)) == \
        (["a", "b"], [["1", None], [None, "2"]])
    assert len(opened) == 1
    assert opened[0].closed


def test_close_before_the_end_closes_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "t.jsonl", "\n".join(json.dumps({"n": i}) for i in range(10)))
    opened, opener = counting_opener()
    stream = open_json(path, lines=True, batch_rows=3, opener=opener)
    assert next(stream.batches).num_rows == 3
    stream.close()
    stream.close()
    assert len(opened) == 2
    assert all(fh.closed for fh in opened)


def test_gzip_through_an_opener(tmp_path: Path) -> None:
    import gzip
    path = write(tmp_path, "t.jsonl.gz", gzip.compress(b'{"a": 1}\n{"a": 2.5}\n'))

    def opener(p: Path) -> BinaryIO:
        return open_decompressed(p, "gzip")[0]
    assert collect(open_json(path, lines=True, batch_rows=1, opener=opener)) == \
        (["a"], [["1"], ["2.5"]])


def test_value_formatting(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"i": 12, "big": 123456789012345678901234567890, '
                 '"f": 1.0, "e": 1E+2, "tiny": 5e-324, "t": true, "n": null, "s": " x ", '
                 '"o": {"k": [1, "é", null]}, "nan": NaN, "inf": -Infinity}]')
    columns, [row] = collect(open_json(path, lines=False))
    assert dict(zip(columns, row, strict=True)) == {
        "i": "12", "big": "123456789012345678901234567890", "f": "1.0", "e": "100.0",
        "tiny": "5e-324", "t": "true", "n": None, "s": " x ", "o": '{"k":[1,"é",null]}',
        "nan": "NaN", "inf": "-Infinity"}


def test_duplicate_and_blank_keys_are_kept_as_names(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"": 1, " a ": 2}]')
    assert collect(open_json(path, lines=False)) == (["", " a "], [["1", "2"]])


def test_an_element_larger_than_the_read_chunk(tmp_path: Path) -> None:
    big = "x" * 50_000
    path = write(tmp_path, "t.json", json.dumps([{"a": big}, {"a": 1}]))
    with mock.patch.object(read_json, "READ_CHUNK", 64):
        assert collect(open_json(path, lines=False)) == (["a"], [[big], ["1"]])


def test_utf16_json_with_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"naïve": "ü"}]'.encode("utf-16"))
    assert collect(open_json(path, lines=False)) == (["naïve"], [["ü"]])


# --- errors ---------------------------------------------------------------------------

def test_jsonl_invalid_line(tmp_path: Path) -> None:
    text = "\n".join(['{"a": 1}'] * 16 + ['{"a": 1 "b": 2}'])
    path = write(tmp_path, "t.jsonl", text)
    assert load_error(path, lines=True) == \
        f"{path}: line 17: not valid JSON: Expecting ',' delimiter (column 9)"


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, "t.jsonl", '{"a": 1}\n\n"text"\n')
    assert load_error(path, lines=True) == \
        f"{path}: line 3: expected a JSON object, found a string"


def test_jsonl_given_a_json_array(tmp_path: Path) -> None:
    path = write(tmp_path, "t.jsonl", '[{"a": 1}, {"a": 2}]\n')
    assert load_error(path, lines=True) == (f"{path}: line 1: expected a JSON object, found an "
                                            "array (this looks like a JSON array, not JSON Lines)")


def valid_unicode(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def test_lone_surrogate_escapes_are_refused(tmp_path: Path) -> None:
    message = ("a \\uD800-\\uDFFF escape that is not part of a surrogate pair; expected "
               "valid Unicode text")
    path = write(tmp_path, "t.jsonl", '{"a": "\\ud83d\\ude00"}\n{"a": "x\\ud800"}\n')
    assert load_error(path, lines=True) == f"{path}: line 2: {message}"
    path = write(tmp_path, "t.json", '[{"a": "\\ud83d\\ude00"},\n {"b": {"\\uDC00": 1}}]')
    assert load_error(path, lines=False) == f"{path}: line 2 column 2: {message}"
    path = write(tmp_path, "ok.json", '[{"a": "\\ud83d\\ude00"}]')
    assert collect(open_json(path, lines=False)) == (["a"], [["\U0001f600"]])


def test_jsonl_invalid_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "t.jsonl", b'{"a": 1}\n{"a": "\xff"}\n')
    assert load_error(path, lines=True) == \
        f"{path}: line 2: not valid UTF-8 text at byte 16; JSON Lines must be UTF-8"


def test_json_invalid_utf8_names_the_byte(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", b'[{"a": "ok"},\n {"a": "\xc3("}]')
    with mock.patch.object(read_json, "READ_CHUNK", 5):
        assert load_error(path, lines=False) == f"{path}: not valid utf-8 text at byte 22"


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_json_syntax_error_names_line_and_column(tmp_path: Path, chunk: int) -> None:
    text = '[\n  {"a": 1},\n  {"a": 2 "b": 3}\n]'
    path = write(tmp_path, "t.json", text)
    with mock.patch.object(read_json, "READ_CHUNK", chunk):
        assert load_error(path, lines=False) == \
            f"{path}: line 3 column 11: not valid JSON: Expecting ',' delimiter"
    with pytest.raises(json.JSONDecodeError) as err:   # the same place as json.loads says
        json.loads(text)
    assert (err.value.lineno, err.value.colno) == (3, 11)


def test_json_missing_comma_between_elements(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"a": 1}\n {"a": 2}]')
    assert load_error(path, lines=False) == \
        f"{path}: line 2 column 2: not valid JSON: Expecting ',' delimiter"


def test_json_top_level_scalar(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '\n\n"just text"\n')
    assert load_error(path, lines=False) == \
        f"{path}: expected an array of objects, found a string at line 3 column 1"


def test_json_element_that_is_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"a": 1},\n 42]')
    assert load_error(path, lines=False) == (f"{path}: expected an array of objects, found a "
                                             "number at line 2 column 2 (element 2 of the array)")


def test_json_object_wrapping_an_array_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '{"data": [{"a": 1}, {"a": 2}]}')
    assert load_error(path, lines=False) == (
        f"{path}: expected an array of objects, found an object with key \"data\" at line 1 "
        "column 1; its single key \"data\" holds an array of objects: load that array "
        "(e.g. jq '.[\"data\"]' or jq -c '.[\"data\"][]' for JSON Lines)")


def test_json_object_with_several_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", ' {"meta": {"n": 2}, "rows": [{"a": 1}], "ids": [1, 2]}')
    message = load_error(path, lines=False)
    assert message.startswith(f"{path}: expected an array of objects, found an object with "
                              'keys "meta", "rows", "ids" at line 1 column 2; its key "rows" '
                              "holds an array of objects")


def test_json_plain_object(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '{"a": 1, "b": [1, 2]}')
    assert load_error(path, lines=False) == \
        f'{path}: expected an array of objects, found an object with keys "a", "b" at line 1 ' \
        "column 1"


def test_json_truncated(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"a": 1},\n {"a": 2},\n {"a": ')
    assert load_error(path, lines=False) == (f"{path}: line 3 column 8: not valid JSON: "
                                             "Expecting value (the file ends early: truncated?)")


def test_json_unclosed_array(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"a": 1}')
    assert load_error(path, lines=False) == (f"{path}: line 1 column 10: not valid JSON: "
                                             "Expecting ',' delimiter (the file ends early: "
                                             "truncated?)")


def test_json_trailing_data(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"a": 1}]\n[{"a": 2}]')
    assert load_error(path, lines=False) == (f"{path}: line 2 column 1: unexpected data after "
                                             "the end of the array; expected the end of the file")


@pytest.mark.parametrize(("lines", "text", "message"), [
    (False, "", "the file is empty; expected a JSON array of objects"),
    (False, " \n\t", "the file is empty; expected a JSON array of objects"),
    (True, "", "the file holds no JSON objects; expected one object per line"),
    (True, "\n \n", "the file holds no JSON objects; expected one object per line"),
    (False, "[]", "the file holds an empty array; expected an array of objects"),
    (False, "[{}, {}]", "none of the 2 objects has a key; expected at least one column"),
])
def test_empty_inputs(tmp_path: Path, lines: bool, text: str, message: str) -> None:
    path = write(tmp_path, "t.json", text)
    assert load_error(path, lines=lines) == f"{path}: {message}"


def test_too_many_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "t.jsonl", '{"a": 1, "b": 2}\n{"c": 3, "d": 4}\n')
    with mock.patch.object(read_json, "MAX_COLUMNS", 3):
        assert load_error(path, lines=True) == (f"{path}: more than 3 distinct keys (object "
                                                "2); expected objects sharing a set of columns")


def test_too_deeply_nested(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"a": ' + "[" * 100_000 + "]" * 100_000 + "}]")
    assert load_error(path, lines=False).startswith(
        f"{path}: line 1 column 2: cannot read the value (maximum recursion depth")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    assert load_error(path, lines=False) == \
        f"{path}: cannot read the file (No such file or directory)"


def test_file_changed_between_passes(tmp_path: Path) -> None:
    first, second = b'{"a": 1}\n{"a": 2}\n', b'{"a": 1}\n{"b": 2}\n'
    contents = iter([first, second])

    def opener(path: Path) -> BinaryIO:
        import io
        return io.BytesIO(next(contents))
    stream = open_json(tmp_path / "t.jsonl", lines=True, batch_rows=1, opener=opener)
    with pytest.raises(LoadError, match="the file changed while it was being read"):
        collect(stream)


def test_batch_rows_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_rows"):
        open_json(tmp_path / "t.json", lines=False, batch_rows=0)


@settings(max_examples=200, deadline=None)
@given(rows=objects(), indent=st.sampled_from([None, 1]), data=st.data(),
       chunk=st.integers(1, 30))
def test_damaged_json_fails_where_json_loads_does(rows: list[dict[str, Any]],
                                                  indent: int | None, data: st.DataObject,
                                                  chunk: int) -> None:
    text = json.dumps(rows, indent=indent)
    at = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.sampled_from(["", ",", "]", "}", "{", '"', "x", ":", "1"]))
    text = text[:at] + junk + text[at + data.draw(st.integers(0, 2)):]
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        with pytest.raises(LoadError) as err:
            read_back(text.encode(), lines=False, batch_rows=2, chunk=chunk)
        # a non-object element before the syntax error is reported first; a syntax error
        # is reported where json.loads reports it
        assert "not valid JSON" not in str(err.value) or where in str(err.value)
        return
    if isinstance(parsed, list) and parsed and all(isinstance(o, dict) for o in parsed) \
            and any(parsed) and valid_unicode(parsed):
        assert read_back(text.encode(), lines=False, batch_rows=2, chunk=chunk) == \
            expected_table(parsed)
    else:
        with pytest.raises(LoadError):
            read_back(text.encode(), lines=False, batch_rows=2, chunk=chunk)


@pytest.mark.parametrize("chunk", range(1, 12))
def test_a_number_cut_by_the_read_window(tmp_path: Path, chunk: int) -> None:
    path = write(tmp_path, "t.json", '{"a": 2.5e1}')
    with mock.patch.object(read_json, "READ_CHUNK", chunk):
        assert load_error(path, lines=False) == \
            f'{path}: expected an array of objects, found an object with key "a" at line 1 ' \
            "column 1"


def test_label_names_the_file_in_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "peso-inflated-123.json", "[1]")
    assert load_error(path, lines=False, label="upload.json.gz") == (
        "upload.json.gz: expected an array of objects, found a number at line 1 column 2 "
        "(element 1 of the array)")
