"""Tell what a file is from its first bytes, and refuse what is not a table.

Each refusal names the file and says what was found and what was expected, so a marketing
analyst can act on it (re-export the sheet, fetch the real file behind a Git LFS pointer...).
"""

from __future__ import annotations

import codecs
import csv
import enum
import re
from dataclasses import dataclass
from pathlib import Path

from server.errors import LoadError

HEAD_BYTES = 64 * 1024
DELIMITERS = ",;\t|"


class FileFormat(enum.StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


@dataclass(frozen=True, slots=True)
class Sniffed:
    format: FileFormat
    encoding: str | None = None     # for text formats: a Python codec name
    delimiter: str | None = None


_HTML_RE = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body|<\?xml)", re.IGNORECASE)
_LFS_RE = re.compile(rb"^version https://git-lfs\.github\.com/spec/v\d")
_MAGIC = {
    b"\x1f\x8b": "gzip-compressed data",
    b"PK\x03\x04": "a zip archive (or an Excel .xlsx workbook)",
    b"\xd0\xcf\x11\xe0": "a legacy Office document (.xls)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}


def sniff(path: Path, *, force: FileFormat | None = None) -> Sniffed:
    """Identify ``path``'s format; raise LoadError for anything that is not a table we read."""
    try:
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise LoadError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if not head:
        raise LoadError(f"{path}: the file is empty; expected a header row and data")
    if force is FileFormat.PARQUET or (force is None and head[:4] == b"PAR1"):
        return Sniffed(FileFormat.PARQUET)
    if force is None:
        for magic, what in _MAGIC.items():
            if head.startswith(magic):
                raise LoadError(f"{path}: this is {what}, not a CSV or Parquet file")
    if _LFS_RE.match(head):
        raise LoadError(f"{path}: this is a Git LFS pointer, not the data; run `git lfs pull` "
                        "or download the real file")
    if _HTML_RE.match(head):
        raise LoadError(f"{path}: this is an HTML page (a web page saved under a data file's "
                        "name), not CSV; download the raw file instead")
    encoding = detect_encoding(path, head)
    text = head.decode(encoding, errors="replace")
    if encoding.startswith("utf-8") and "\x00" in text:
        offset = head.index(b"\x00")
        raise LoadError(f"{path}: binary data at byte {offset}; expected text (CSV)")
    return Sniffed(FileFormat.CSV, encoding=encoding, delimiter=detect_delimiter(path, text))


def detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut by the read window
            return "utf-8"
        return "latin-1"
    return "utf-8"


def detect_delimiter(path: Path, text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        raise LoadError(f"{path}: no text lines found; expected a header row and data")
    sample = "\n".join(lines[:-1] if len(lines) > 1 else lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        # One column, or no consistent delimiter: count candidates in the header line.
        counts = {d: lines[0].count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","
