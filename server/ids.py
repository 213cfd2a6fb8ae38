"""The key grammar: dataset names, tags, object keys, global ids and cursors.

Everything a user names passes through here before a store sees it, so the stores can
trust what they get: no ``..``, no absolute paths, no control characters, bounded length.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import unicodedata
from typing import Any

from server.errors import ValidationError

MAX_NAME_LENGTH = 200
MAX_KEY_LENGTH = 1024
MAX_TEXT_LENGTH = 10_000

# A namespace or dataset name: starts with a letter or digit, then letters, digits, and . _ -
# Namespaces may not contain "/" so that "NAMESPACE/NAME" always splits unambiguously.
# \Z, not $: "$" also matches before a trailing newline, which would let "name\n" through
_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*\Z")
_TAG_RE = re.compile(r"^[a-z0-9][a-z0-9._:-]*\Z")
_KEY_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._=+@-]+\Z")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


# uuid4's version and variant bits, set on 128 random bits as uuid.uuid4() sets them
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (4 << 76) | (0x8000 << 48)


def new_id() -> str:
    """A fresh opaque id (32 hex characters): what ``uuid.uuid4().hex`` gives, without
    building the UUID object (an OpenLineage batch makes one for every field it registers)."""
    return f"{int.from_bytes(os.urandom(16), 'big') & _UUID4_CLEAR | _UUID4_SET:032x}"


def check_namespace(value: str, *, field: str = "namespace") -> str:
    return _check_identifier(value, _NAMESPACE_RE, field,
                             "letters, digits, '.', '_' or '-', starting with a letter or digit")


def check_name(value: str, *, field: str = "name") -> str:
    name = _check_identifier(
        value, _NAME_RE, field,
        "letters, digits, '.', '_', '-' or '/', starting with a letter or digit",
    )
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise ValidationError(f"{field} {name!r} has an empty, '.' or '..' path segment",
                              field=field)
    return name


def _check_identifier(value: str, pattern: re.Pattern[str], field: str, allowed: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{field} must be a non-empty string", field=field)
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"{field} is {len(value)} characters long; the limit is {MAX_NAME_LENGTH}",
            field=field,
        )
    if not pattern.match(value):
        raise ValidationError(f"{field} {value!r} is not valid: use {allowed}", field=field)
    return value


def split_dataset_ref(ref: str) -> tuple[str, str]:
    """Split ``NAMESPACE/NAME`` (the CLI's form) and validate both halves."""
    namespace, sep, name = ref.partition("/")
    if not sep:
        raise ValidationError(f"dataset {ref!r} must be written NAMESPACE/NAME", field="dataset")
    return check_namespace(namespace), check_name(name)


# --- the lineage grammar: names that come from OpenLineage events -------------------------
# OpenLineage names datasets after where they live: namespaces are URIs ("postgres://db:5432",
# "s3://bucket", "abfss://c@acct.dfs.core.windows.net", "file") and names are paths or dotted
# tables ("/warehouse/t1", "db.schema.table"). These are accepted for datasets and jobs that
# arrive through OpenLineage (and for looking datasets up), never for object keys: those keep
# the strict grammar above, and only datasets loaded by Peso (strict names) have objects.
MAX_LINEAGE_NAME_LENGTH = 1000
# RFC 3986 characters (unreserved, reserved and '%'), starting with a letter or digit
_LINEAGE_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]*\Z")
_LINEAGE_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1


def check_lineage_namespace(value: str, *, field: str = "namespace") -> str:
    """A namespace as OpenLineage writes it: a URI-like word of up to 1000 characters
    (letters, digits and ``. _ ~ : / ? # [ ] @ ! $ & ' ( ) * + , ; = % -``, starting with a
    letter or digit); no ``..`` path segment, no spaces or control characters."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{field} must be a non-empty string", field=field)
    _check_lineage_length(value, field)
    if not _LINEAGE_NAMESPACE_RE.match(value):
        raise ValidationError(f"{field} {value[:80]!r} is not valid: use a URI such as "
                              "postgres://host:5432 or s3://bucket (letters, digits and URI "
                              "punctuation, starting with a letter or digit)", field=field)
    _check_lineage_segments(value, field)
    return value


def check_lineage_name(value: str, *, field: str = "name") -> str:
    """A dataset or job name as OpenLineage writes it: any printable text of up to 1000
    characters (paths, dotted tables, spaces); no control characters or NUL, no leading or
    trailing whitespace, no ``..`` path segment."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be a non-empty string", field=field)
    _check_lineage_length(value, field)
    if _LINEAGE_CONTROL_RE.search(value):
        raise ValidationError(f"{field} {value[:80]!r} contains control characters",
                              field=field)
    check_visible(value, field)
    if value != value.strip():
        raise ValidationError(f"{field} {value[:80]!r} has leading or trailing whitespace",
                              field=field)
    _check_lineage_segments(value, field)
    return value


def check_visible(value: str, field: str) -> None:
    """Refuse Unicode format characters (category Cf): bidi controls (U+202A-U+202E,
    U+2066-U+2069, U+200E/U+200F, U+061C) and zero-width ones (U+200B-U+200D, U+2060,
    U+FEFF). They make two different names look alike, or one name read backwards
    ("Trojan Source"), in every listing and log that shows it."""
    if value.isascii():   # every Cf character is outside ASCII
        return
    for ch in value:
        if unicodedata.category(ch) == "Cf":
            raise ValidationError(
                f"{field} {value[:80]!r} contains an invisible or bidirectional control "
                f"character (U+{ord(ch):04X}): remove it", field=field)


def _check_lineage_length(value: str, field: str) -> None:
    if len(value) > MAX_LINEAGE_NAME_LENGTH:
        raise ValidationError(f"{field} is {len(value)} characters long; the limit is "
                              f"{MAX_LINEAGE_NAME_LENGTH}", field=field)


def _check_lineage_segments(value: str, field: str) -> None:
    if ".." in value.split("/"):
        raise ValidationError(f"{field} {value[:80]!r} has a '..' path segment", field=field)


def normalize_tag(value: str) -> str:
    tag = value.strip().lower() if isinstance(value, str) else ""
    if not tag or len(tag) > 100 or not _TAG_RE.match(tag):
        shown = value[:80] + "…" if isinstance(value, str) and len(value) > 80 else value
        raise ValidationError(
            f"tag {shown!r} is not valid: use 1-100 lowercase letters, digits, '.', '_', ':' "
            "or '-'",
            field="tag",
        )
    return tag


def check_text(value: str | None, *, field: str, limit: int = MAX_TEXT_LENGTH) -> str | None:
    """Free text (descriptions, urls): bounded length and no NUL bytes."""
    if value is None:
        return None
    if len(value) > limit:
        raise ValidationError(f"{field} is {len(value)} characters; the limit is {limit}",
                              field=field)
    if "\x00" in value:
        raise ValidationError(f"{field} contains a NUL character", field=field)
    return value


def check_label(value: str, *, field: str, limit: int = MAX_NAME_LENGTH) -> str:
    """A display name (source, entity, owner): non-empty, bounded, no control characters."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationError(f"{field} must not be empty", field=field)
    if len(text) > limit:
        raise ValidationError(f"{field} is {len(text)} characters; the limit is {limit}",
                              field=field)
    if _CONTROL_RE.search(text):
        raise ValidationError(f"{field} contains control characters", field=field)
    check_visible(text, field)
    return text


def object_key(*segments: str) -> str:
    """Join and validate an object key: ``raw/<ns>/<name>/<version id>/<file>``."""
    key = "/".join(segments)
    return check_object_key(key)


def check_object_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationError(f"object key must be 1-{MAX_KEY_LENGTH} characters", field="key")
    if key.startswith("/") or "\\" in key:
        raise ValidationError(f"object key {key!r} must be relative and use '/'", field="key")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or not _KEY_SEGMENT_RE.match(segment):
            raise ValidationError(
                f"object key {key!r} has an invalid segment {segment!r}", field="key"
            )
    return key


def safe_filename(name: str) -> str:
    """Reduce an uploaded file's name to a safe single key segment."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "upload"
    return cleaned[:150]


# --- Relay global ids and cursors ---------------------------------------------------------

_URLSAFE = bytes.maketrans(b"+/", b"-_")
_COMPACT = (",", ":")


def _urlsafe_b64(data: bytes) -> str:
    """``base64.urlsafe_b64encode(data).decode()`` without its two Python frames (a page of
    100 datasets makes ~400 of these: ids and cursors)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).decode()


def to_global_id(type_name: str, raw_id: str) -> str:
    return _urlsafe_b64(f"{type_name}:{raw_id}".encode()).rstrip("=")


def from_global_id(global_id: str) -> tuple[str, str]:
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise ValidationError(f"id {global_id[:80]!r} is not a valid Peso id", field="id") from exc
    type_name, sep, raw_id = decoded.partition(":")
    if not sep or not type_name or not raw_id:
        raise ValidationError(f"id {global_id[:80]!r} is not a valid Peso id", field="id")
    return type_name, raw_id


def encode_cursor(values: list[Any]) -> str:
    return _urlsafe_b64(json.dumps(values, separators=_COMPACT).encode())


MAX_CURSOR_LENGTH = 8192  # a real cursor holds two bounded sort values


def decode_cursor(cursor: str, *, expected_length: int) -> list[Any]:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise ValidationError(f"cursor is {len(cursor)} characters; it is not valid",
                              field="after")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError, RecursionError) as exc:
        # RecursionError: deeply nested JSON ("[[[[…") is forged, not a server fault
        raise ValidationError(f"cursor {cursor[:80]!r} is not valid", field="after") from exc
    if not isinstance(values, list) or len(values) != expected_length:
        raise ValidationError(
            f"cursor {cursor[:80]!r} does not belong to this list or sort order", field="after"
        )
    # cursors hold only strings and 64-bit ints; anything else is forged and would reach a
    # store as an unbindable parameter (an unexpected error instead of a clear one)
    if not all(isinstance(v, str) or (type(v) is int and -(2**63) <= v < 2**63)
               for v in values):
        raise ValidationError(f"cursor {cursor[:80]!r} is not valid", field="after")
    return values
