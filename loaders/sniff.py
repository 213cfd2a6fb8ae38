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
    JSON = "json"      # a top-level array of objects
    JSONL = "jsonl"    # one object per line
    PARQUET = "parquet"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True)
class Sniffed:
    format: FileFormat
    encoding: str | None = None     # for text formats: a Python codec name
    delimiter: str | None = None


_HTML_RE = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body|<\?xml)", re.IGNORECASE)
_LFS_RE = re.compile(rb"^version https://git-lfs\.github\.com/spec/v\d")
_MAGIC = {
    b"\xd0\xcf\x11\xe0": "a legacy Excel/Office document (.xls); save it as .xlsx or CSV",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}


def sniff(path: Path, *, force: FileFormat | None = None, delimiter: str | None = None,
          encoding: str | None = None, label: str | None = None) -> Sniffed:
    """Identify ``path``'s format from its content (``force`` overrides); raise LoadError for
    anything that is not a table we read. ``label`` names the file in messages (e.g. the
    original name of a decompressed upload). Compressed files are unpacked before this."""
    shown = label or str(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise LoadError(f"{shown}: cannot read the file ({exc.strerror or exc})") from exc
    if not head:
        raise LoadError(f"{shown}: the file is empty; expected a header row and data")
    if force is FileFormat.PARQUET or (force is None and head[:4] == b"PAR1"):
        return Sniffed(FileFormat.PARQUET)
    if force is FileFormat.XLSX or (force is None and head.startswith(b"PK\x03\x04")):
        return Sniffed(FileFormat.XLSX)
    if force is None:
        for magic, what in _MAGIC.items():
            if head.startswith(magic):
                raise LoadError(f"{shown}: this is {what}, not a table file we read")
    if _LFS_RE.match(head):
        raise LoadError(f"{shown}: this is a Git LFS pointer, not the data; run `git lfs pull` "
                        "or download the real file")
    if _HTML_RE.match(head):
        raise LoadError(f"{shown}: this is an HTML page (a web page saved under a data file's "
                        "name), not CSV; download the raw file instead")
    enc = encoding or detect_encoding(path, head)
    text = head.decode(enc, errors="replace")
    if not enc.startswith("utf-16") and "\x00" in text:
        offset = head.index(b"\x00")
        raise LoadError(f"{shown}: binary data (a NUL byte) at byte {offset}; expected text "
                        "(CSV, JSON) or a Parquet/Excel file")
    body = text.lstrip("\ufeff \t\r\n")
    if force in (FileFormat.JSON, FileFormat.JSONL):
        return Sniffed(force, encoding=enc)
    if force is None and body[:1] == "[":
        return Sniffed(FileFormat.JSON, encoding=enc)
    if force is None and body[:1] == "{":
        first, _, rest = body.partition("\n")
        one_per_line = first.rstrip().endswith("}") and rest.lstrip()[:1] in ("{", "")
        return Sniffed(FileFormat.JSONL if one_per_line else FileFormat.JSON, encoding=enc)
    return Sniffed(FileFormat.CSV, encoding=enc,
                   delimiter=delimiter or detect_delimiter(shown, text))


def detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    no_bom = _utf16_without_bom(head)
    if no_bom is not None:
        return no_bom
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and len(head) == HEAD_BYTES:
            return "utf-8"  # a multi-byte character cut by the read window
        try:  # Windows exports: cp1252 (€, smart quotes) where it decodes, else Latin-1
            head.decode("cp1252")
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"
    return "utf-8"


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a byte-order mark: mostly-ASCII text has a NUL in every other
    byte (odd positions: little-endian, even: big-endian) and none in the others."""
    sample = head[: len(head) - len(head) % 2][:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if even.count(0) == 0 and odd.count(0) >= 0.9 * len(odd):
        return "utf-16-le"
    if odd.count(0) == 0 and even.count(0) >= 0.9 * len(even):
        return "utf-16-be"
    return None


def detect_delimiter(shown: str, text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        raise LoadError(f"{shown}: no text lines found; expected a header row and data")
    sample = "\n".join(lines[:-1] if len(lines) > 1 else lines)
    tabs = {line.count("\t") for line in lines[:-1] or lines}
    if len(tabs) == 1 and 0 not in tabs:
        return "\t"   # the same tabs on every line: a TSV, whatever commas its text holds
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        # One column, or no consistent delimiter: count candidates in the header line.
        counts = {d: lines[0].count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","
