"""The key grammar: names, namespaces, tags, text, labels, object keys, global ids, cursors."""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.errors import PesoError, ValidationError
from server.ids import (
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    check_label,
    check_name,
    check_namespace,
    check_object_key,
    check_text,
    decode_cursor,
    encode_cursor,
    from_global_id,
    new_id,
    normalize_tag,
    object_key,
    safe_filename,
    split_dataset_ref,
    to_global_id,
)

MB = "x" * (1 << 20)
HOSTILE = ["", " ", "\x00", "a\x00b", "a\n", "\na", "a\r\nb", "../etc/passwd", "..", ".",
           "/abs", "a/../b", "a\\b", "ü", "日本", "🎉", "a b", "a\tb", "\u202eevil",
           "a\u200bb", MB]


def _short(err: PesoError) -> bool:
    """Error messages stay readable whatever the input was."""
    return len(str(err)) < 400


def test_new_id_is_unique_hex() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


# --- namespaces and names ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["mkt", "a", "A1", "bank-marketing", "uci.bank_2024",
                                   "0day", "x" * MAX_NAME_LENGTH])
def test_valid_namespaces(value: str) -> None:
    assert check_namespace(value) == value


@pytest.mark.parametrize("value", [*HOSTILE, "a/b", ".a", "-a", "_a", "a:b", "a*",
                                   "x" * (MAX_NAME_LENGTH + 1)],
                         ids=lambda v: repr(v[:20]))
def test_invalid_namespaces(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        check_namespace(value)
    assert err.value.field == "namespace"
    assert _short(err.value)


@pytest.mark.parametrize("value", ["customers", "ads/spend/daily", "v1.2", "a-b_c",
                                   "x" * MAX_NAME_LENGTH])
def test_valid_names(value: str) -> None:
    assert check_name(value) == value


@pytest.mark.parametrize("value", [*HOSTILE, "a//b", "a/", "a/./b", "a/../b", "a/..", "../a",
                                   "/a", "a/.", "-a", "a?b", "x" * (MAX_NAME_LENGTH + 1)],
                         ids=lambda v: repr(v[:20]))
def test_invalid_names(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        check_name(value, field="dataset.name")
    assert err.value.field == "dataset.name"
    assert _short(err.value)


@pytest.mark.parametrize("value", [None, 5, b"bytes", ["a"]])
def test_names_must_be_strings(value: object) -> None:
    with pytest.raises(ValidationError):
        check_namespace(value)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        check_name(value)  # type: ignore[arg-type]


def test_split_dataset_ref() -> None:
    assert split_dataset_ref("mkt/ads/spend") == ("mkt", "ads/spend")
    assert split_dataset_ref("a/b") == ("a", "b")
    for bad in ["nosep", "/x", "a/", "a//b", "../x", "a/../b", "", "a b/c", "a/b\n"]:
        with pytest.raises(ValidationError):
            split_dataset_ref(bad)
    with pytest.raises(ValidationError) as err:
        split_dataset_ref("nosep")
    assert "NAMESPACE/NAME" in str(err.value)


# --- tags --------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "tag"), [("pii", "pii"), ("  PII ", "pii"),
                                          ("Region:EU", "region:eu"), ("a.b_c-d", "a.b_c-d"),
                                          ("9lives", "9lives"), ("x" * 100, "x" * 100),
                                          ("\tGDPR\n", "gdpr")])
def test_valid_tags_are_normalised(raw: str, tag: str) -> None:
    assert normalize_tag(raw) == tag
    assert normalize_tag(tag) == tag  # idempotent


# surrounding whitespace is trimmed (so "a\n" is the tag "a"); everything else hostile fails
@pytest.mark.parametrize("value", [*(v for v in HOSTILE if v.strip() == v or not v.strip()),
                                   "-x", ".x", ":x", "a/b", "a,b", "a\nb", "x" * 101],
                         ids=lambda v: repr(v[:20]))
def test_invalid_tags(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        normalize_tag(value)
    assert err.value.field == "tag"
    assert _short(err.value)


def test_tag_must_be_a_string() -> None:
    with pytest.raises(ValidationError):
        normalize_tag(None)  # type: ignore[arg-type]


# --- free text and labels ----------------------------------------------------------------


def test_check_text() -> None:
    assert check_text(None, field="d") is None
    assert check_text("", field="d") == ""
    assert check_text("Multi\nline\ttext — ünïcode 🎉", field="d") == \
        "Multi\nline\ttext — ünïcode 🎉"
    assert check_text("x" * MAX_TEXT_LENGTH, field="d") == "x" * MAX_TEXT_LENGTH
    assert check_text("é" * 5, field="d", limit=5) == "é" * 5  # characters, not bytes
    for bad, limit in [("x" * (MAX_TEXT_LENGTH + 1), MAX_TEXT_LENGTH), (MB, MAX_TEXT_LENGTH),
                       ("a\x00b", MAX_TEXT_LENGTH), ("abcdef", 5)]:
        with pytest.raises(ValidationError) as err:
            check_text(bad, field="description", limit=limit)
        assert err.value.field == "description"
        assert _short(err.value)


def test_check_label() -> None:
    assert check_label("  Acme Data GmbH ", field="source") == "Acme Data GmbH"
    assert check_label("Müller & Söhne 🎉", field="source") == "Müller & Söhne 🎉"
    assert check_label("x" * MAX_NAME_LENGTH, field="s") == "x" * MAX_NAME_LENGTH
    for bad in ["", "   ", "\n", "a\x00b", "a\nb", "a\tb", "a\x1bb", "a\x7fb",
                "x" * (MAX_NAME_LENGTH + 1), MB, None]:
        with pytest.raises(ValidationError) as err:
            check_label(bad, field="owner")  # type: ignore[arg-type]
        assert err.value.field == "owner"
        assert _short(err.value)


# --- object keys -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["raw/mkt/spend/abc123/file.csv",
                                 "curated/mkt/ads/spend/v1/part-0.parquet", "a", "v=1/x+y@z",
                                 "a/.hidden", "a/..b", "a/b..", "x" * MAX_KEY_LENGTH])
def test_valid_object_keys(key: str) -> None:
    assert check_object_key(key) == key


BAD_KEYS = ["", "/", "/abs", "a/../b", "..", "../x", "a/..", ".", "./a", "a/./b", "a//b", "a/",
            "a\\b", "\\\\server\\share", "C:\\x", "a b", "a\x00", "\x00", "a\nb", "a\n",
            "a/b\n", "a\r", "é", "日本/x", "a/b?c", "a#b", "a*b", "a%2e%2e", "a|b", "~/x",
            "x" * (MAX_KEY_LENGTH + 1), MB, "a/" * 600 + "b"]


@pytest.mark.parametrize("key", BAD_KEYS, ids=lambda k: repr(k[:20]))
def test_invalid_object_keys(key: str) -> None:
    with pytest.raises(ValidationError) as err:
        check_object_key(key)
    assert err.value.field == "key"
    assert len(str(err.value)) < MAX_KEY_LENGTH + 200


def test_object_key_joins_and_checks() -> None:
    assert object_key("raw", "mkt", "spend", "v1", "f.csv") == "raw/mkt/spend/v1/f.csv"
    assert object_key("curated", "mkt", "a/b", "v1", "part-0.parquet") == \
        "curated/mkt/a/b/v1/part-0.parquet"
    for parts in [("raw", "..", "x"), ("raw", "", "x"), ("raw", "a b"), ("/raw", "x"),
                  ("raw", "x\n")]:
        with pytest.raises(ValidationError):
            object_key(*parts)


@pytest.mark.parametrize(("name", "expected"), [
    ("bank.csv", "bank.csv"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ada\\Desktop\\spend 2024.xlsx", "spend_2024.xlsx"),
    ("données clients.csv", "donn_es_clients.csv"),
    ("...", "upload"),
    ("..", "upload"),
    ("", "upload"),
    ("/", "upload"),
    ("a\x00b.csv", "a_b.csv"),
    (".hidden", "hidden"),
    ("report.csv\n", "report.csv"),
])
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_safe_filename_caps_length() -> None:
    assert len(safe_filename("a" * 10_000 + ".csv")) == 150
    assert len(safe_filename(MB)) == 150


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_safe_filename_always_makes_a_valid_key_segment(name: str) -> None:
    segment = safe_filename(name)
    assert 1 <= len(segment) <= 150
    assert "/" not in segment
    assert object_key("raw", "ns", "name", "v1", segment).endswith("/" + segment)


# --- global ids --------------------------------------------------------------------------


@pytest.mark.parametrize(("type_name", "raw"), [
    ("Dataset", "0123456789abcdef0123456789abcdef"),
    ("DatasetVersion", "v-chosen:by:caller"),
    ("Entity", "ü日本🎉"),
    ("X", "a"),
])
def test_global_id_round_trip(type_name: str, raw: str) -> None:
    gid = to_global_id(type_name, raw)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", gid), "url-safe, unpadded"
    assert from_global_id(gid) == (type_name, raw)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,30}", fullmatch=True), st.text(min_size=1))
def test_global_id_round_trips_any_raw_id(type_name: str, raw: str) -> None:
    assert from_global_id(to_global_id(type_name, raw)) == (type_name, raw)


@pytest.mark.parametrize("gid", [
    "", "!!!!", "é", "日本", "\x00", "a", "=", "====",
    base64.urlsafe_b64encode(b"nocolon").decode(),
    base64.urlsafe_b64encode(b":raw").decode(),
    base64.urlsafe_b64encode(b"Type:").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe:x").decode(),   # not UTF-8
    MB,
], ids=lambda g: repr(g[:20]))
def test_invalid_global_ids(gid: str) -> None:
    with pytest.raises(ValidationError) as err:
        from_global_id(gid)
    assert err.value.field == "id"
    assert _short(err.value)


# --- cursors -----------------------------------------------------------------------------


@pytest.mark.parametrize("values", [["mkt", "ads/spend"], ["2024-01-01T00:00:00+00:00", "id"],
                                    ["o", 40], ["ü日本", -(2**63)], [2**63 - 1, ""]])
def test_cursor_round_trip(values: list[object]) -> None:
    cursor = encode_cursor(values)
    assert re.fullmatch(r"[A-Za-z0-9_=-]+", cursor)
    assert decode_cursor(cursor, expected_length=len(values)) == values


def _forge(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize("cursor", [
    "", "!!!", "é", "\x00", "not base64 at all", MB,
    _forge("not json"), _forge('{"a": 1}'), _forge('"string"'), _forge("3"), _forge("null"),
    _forge('["only one"]'), _forge('["a", "b", "c"]'),
    _forge('[{"a": 1}, "b"]'), _forge('[["nested"], "b"]'), _forge("[null, null]"),
    _forge("[1.5, 2]"), _forge("[true, false]"), _forge(f"[{2**64}, 1]"),
    _forge("[NaN, Infinity]"),
    _forge("[" * 2000 + "]" * 2000),    # deep nesting, yet short enough to be decoded
    _forge("[" * 100_000),
], ids=lambda c: repr(c[:20]))
def test_invalid_cursors(cursor: str) -> None:
    with pytest.raises(ValidationError) as err:
        decode_cursor(cursor, expected_length=2)
    assert err.value.field == "after"
    assert _short(err.value)


def test_cursor_of_another_list_is_refused() -> None:
    cursor = encode_cursor(["a", "b", "c"])
    with pytest.raises(ValidationError, match="does not belong"):
        decode_cursor(cursor, expected_length=2)
    assert json.loads(base64.urlsafe_b64decode(cursor)) == ["a", "b", "c"]


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,30}", fullmatch=True), st.text(min_size=1),
       st.lists(st.one_of(st.text(), st.integers(), st.none()), max_size=4))
def test_ids_and_cursors_are_base64_urlsafe_as_before(type_name: str, raw: str,
                                                      values: list[object]) -> None:
    assert to_global_id(type_name, raw) == base64.urlsafe_b64encode(
        f"{type_name}:{raw}".encode()).decode().rstrip("=")
    assert encode_cursor(values) == base64.urlsafe_b64encode(
        json.dumps(values, separators=(",", ":")).encode()).decode()


def test_new_id_is_a_version_4_uuid() -> None:
    for _ in range(1000):
        value = uuid.UUID(hex=new_id())
        assert (value.version, value.variant) == (4, uuid.RFC_4122)
