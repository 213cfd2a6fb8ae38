"""JSON and JSON Lines as string columns, in bounded memory.

Shapes read: JSON Lines (one object per line, blank lines skipped) and a JSON document whose
top level is an array of objects. The array is parsed incrementally with the stdlib
(``json.JSONDecoder.raw_decode`` over a text buffer refilled ``READ_CHUNK`` bytes at a time),
so memory is bounded by the batch and the largest single object, never by the file.

Columns are the union of the objects' keys in first-seen order. They must be known before the
first batch, so the file is read in **two passes**: the first validates every object and
collects the keys (memory: the key set, at most ``MAX_COLUMNS``); the second builds batches.
If the whole file fits in one batch, the rows kept from the first pass are used and the file
is read once. ``opener`` is called once per pass, so it must be able to open the file again
(e.g. a decompressing opener from ``loaders.compression``).

Values become text: strings as they are; integers in full; floats by ``repr`` (shortest
round-tripping form: ``1.5``, ``1e+100``; non-finite ones as ``NaN``/``Infinity``/``-Infinity``);
booleans ``true``/``false``; ``null`` and a missing key → null; objects and arrays → compact
JSON text (``{"a":1}``, keys in file order, non-ASCII kept).
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from loaders.streams import StringStream, string_batch, string_schema
from server.errors import LoadError

READ_CHUNK = 1 << 20          # bytes decoded per refill of the JSON text buffer
MAX_COLUMNS = 16_384          # distinct keys allowed (Excel's column limit, as a sanity bound)
_WS = re.compile(r"[ \t\n\r]*")
_NEAR_END = 16                # a parse error this close to the buffer's end may be a cut value

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_MESSAGE = ("a \\uD800-\\uDFFF escape that is not part of a surrogate pair; "
                      "expected valid Unicode text")

Opener = Callable[[Path], BinaryIO]


def _open_binary(path: Path) -> BinaryIO:
    return path.open("rb")


def open_json(path: Path, *, lines: bool, batch_rows: int = 65_536,
              opener: Opener = _open_binary, label: str | None = None) -> StringStream:
    """Read ``path`` as JSON Lines (``lines=True``) or a JSON array of objects.

    Returns a StringStream (format ``"jsonl"`` or ``"json"``) whose batches hold at most
    ``batch_rows`` rows. The first pass runs here, so a malformed file raises LoadError
    before any batch exists (naming the file and the line, or line and column, and what was
    expected); the second pass raises LoadError only if the file changed in between.
    Messages name the file as ``label`` when given (e.g. the upload behind a temp copy).
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    name = label or str(path)
    keys: dict[str, None] = {}
    kept: list[dict[str, Any]] | None = []
    count = 0
    with closing(_objects(path, name, lines, opener)) as objects:
        for obj in objects:
            count += 1
            for key in obj:
                if key not in keys:
                    keys[key] = None
                    if len(keys) > MAX_COLUMNS:
                        raise LoadError(f"{name}: more than {MAX_COLUMNS:,} distinct keys "
                                        f"(object {count}); expected objects sharing a set of "
                                        "columns")
            if kept is not None and len(kept) < batch_rows:
                kept.append(obj)
            else:
                kept = None
    if count == 0:
        what = "no JSON objects; expected one object per line" if lines else \
            "an empty array; expected an array of objects"
        raise LoadError(f"{name}: the file holds {what}")
    if not keys:
        raise LoadError(f"{name}: none of the {count:,} objects has a key; expected at least "
                        "one column")
    columns = list(keys)
    fmt = "jsonl" if lines else "json"
    if kept is not None:
        return StringStream(columns, iter([_batch(columns, kept)]), fmt)
    gen = _second_pass(path, name, lines, opener, columns, batch_rows)
    return StringStream(columns, gen, fmt, gen.close)


def to_text(value: Any) -> str | None:
    """One JSON value as the reader's text (see the module docstring)."""
    if value is None or type(value) is str:
        return value                                  # the common cases first
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _second_pass(path: Path, name: str, lines: bool, opener: Opener, columns: list[str],
                 batch_rows: int) -> Generator[pa.RecordBatch, None, None]:
    known = set(columns)
    rows: list[dict[str, Any]] = []
    for obj in _objects(path, name, lines, opener):
        if not known.issuperset(obj):
            raise LoadError(f"{name}: the file changed while it was being read")
        rows.append(obj)
        if len(rows) == batch_rows:
            yield _batch(columns, rows)
            rows = []
    if rows:
        yield _batch(columns, rows)


def _batch(columns: list[str], rows: list[dict[str, Any]]) -> pa.RecordBatch:
    return string_batch(string_schema(len(columns)),
                        [[to_text(row.get(key)) for row in rows] for key in columns])


def _objects(path: Path, name: str, lines: bool, opener: Opener
             ) -> Generator[dict[str, Any], None, None]:
    try:
        fh = opener(path)
    except OSError as exc:
        raise LoadError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    with fh:
        yield from (_jsonl_objects(name, fh) if lines else _array_objects(name, fh))


def _what(value: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return "null" if value is None else kinds.get(type(value), "a number")


def _jsonl_objects(name: str, fh: BinaryIO) -> Iterator[dict[str, Any]]:
    offset = 0
    first = True
    for lineno, raw in enumerate(fh, 1):
        try:
            text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise LoadError(f"{name}: line {lineno}: not valid UTF-8 text at byte "
                            f"{offset + exc.start}; JSON Lines must be UTF-8") from exc
        offset += len(raw)
        if not text.strip(" \t\r\n"):
            continue
        hint = " (this looks like a JSON array, not JSON Lines)" \
            if first and text.lstrip().startswith("[") else ""
        first = False
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LoadError(f"{name}: line {lineno}: not valid JSON: {exc.msg} "
                            f"(column {exc.colno}){hint}") from exc
        except (ValueError, RecursionError) as exc:
            raise LoadError(f"{name}: line {lineno}: cannot read the value ({exc})") from exc
        if not isinstance(value, dict):
            raise LoadError(f"{name}: line {lineno}: expected a JSON object, found "
                            f"{_what(value)}{hint}")
        if _lone_surrogate(text, value):
            raise LoadError(f"{name}: line {lineno}: {_SURROGATE_MESSAGE}")
        yield value


def _lone_surrogate(source: str, value: dict[str, Any]) -> bool:
    """True if ``value`` holds a lone surrogate: Arrow strings must be valid UTF-8. Raw text
    cannot carry one (the decoder is strict), so only ``\\uD800``-style escapes can."""
    if "\\u" not in source or not _SURROGATE_ESCAPE.search(source):
        return False
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _array_objects(name: str, fh: BinaryIO) -> Iterator[dict[str, Any]]:
    scan = _Scanner(name, fh)
    ch = scan.skip_ws()
    if ch == "":
        raise LoadError(f"{name}: the file is empty; expected a JSON array of objects")
    if ch == "{":
        raise scan.object_instead_of_array(*scan.location(scan.pos))
    if ch != "[":
        value = scan.decode()
        line, col = scan.location(scan.start)
        raise LoadError(f"{name}: expected an array of objects, found {_what(value)} at line "
                        f"{line} column {col}")
    scan.pos += 1
    for index, value in scan.elements():
        if not isinstance(value, dict):
            line, col = scan.location(scan.start)
            raise LoadError(f"{name}: expected an array of objects, found {_what(value)} at "
                            f"line {line} column {col} (element {index + 1} of the array)")
        if _lone_surrogate(scan.buf[scan.start:scan.pos], value):
            line, col = scan.location(scan.start)
            raise LoadError(f"{name}: line {line} column {col}: {_SURROGATE_MESSAGE}")
        yield value
    if scan.skip_ws() != "":
        raise scan.error("unexpected data after the end of the array; expected the end of "
                         "the file", scan.pos)


class _Scanner:
    """A window of decoded text over ``fh`` with 1-based line/column bookkeeping."""

    def __init__(self, name: str, fh: BinaryIO) -> None:
        self.name, self.fh = name, fh
        self.buf, self.pos, self.start, self.eof = "", 0, 0, False
        self.line, self.col0 = 1, 0          # where buf[0] is: line (1-based), column (0-based)
        self.bytes_in = 0
        head = fh.read(READ_CHUNK)
        self.encoding = ("utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
                         else "utf-8-sig")
        self.decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        self.decoder_json = json.JSONDecoder()
        self._feed(head)

    def _feed(self, raw: bytes) -> None:
        pending = len(self.decoder.getstate()[0])
        try:
            text = self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            raise LoadError(f"{self.name}: not valid {self.encoding.removesuffix('-sig')} text "
                            f"at byte {self.bytes_in - pending + exc.start}") from exc
        self.bytes_in += len(raw)
        self.eof = not raw
        if self.pos:                          # drop what has been consumed
            newlines = self.buf.count("\n", 0, self.pos)
            if newlines:
                self.line += newlines
                self.col0 = self.pos - self.buf.rfind("\n", 0, self.pos) - 1
            else:
                self.col0 += self.pos
            self.buf, self.pos = self.buf[self.pos:], 0
        self.buf += text

    def fill(self) -> bool:
        """Read more text (at least as much as is buffered); False at the end of the file."""
        if self.eof:
            return False
        self._feed(self.fh.read(max(READ_CHUNK, len(self.buf) - self.pos)))
        return True

    def location(self, pos: int) -> tuple[int, int]:
        newlines = self.buf.count("\n", 0, pos)
        if not newlines:
            return self.line, self.col0 + pos + 1
        return self.line + newlines, pos - self.buf.rfind("\n", 0, pos)

    def skip_ws(self) -> str:
        """Skip JSON whitespace; the next character, or "" at the end of the file."""
        while True:
            match = _WS.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def decode(self) -> Any:
        """Decode the value at ``pos`` (its start is kept in ``start``); advance past it."""
        while True:
            try:
                value, end = self.decoder_json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self.buf) - _NEAR_END or exc.msg.startswith("Unterminated")
                if cut and self.fill():
                    continue
                raise self.error(f"not valid JSON: {exc.msg}", exc.pos) from exc
            except (ValueError, RecursionError) as exc:
                raise self.error(f"cannot read the value ({exc})", self.pos) from exc
            if (len(self.buf) - end < _NEAR_END and not isinstance(value, dict | list | str)
                    and self.fill()):
                continue                      # a number ("2." + "5") may go on past the buffer
            self.start, self.pos = self.pos, end
            return value

    def elements(self) -> Iterator[tuple[int, Any]]:
        """(index, value) for each element of the array whose ``[`` was just consumed."""
        if self.skip_ws() == "]":
            self.pos += 1
            return
        index = 0
        while True:
            yield index, self.decode()
            index += 1
            ch = self.skip_ws()
            if ch == "]":
                self.pos += 1
                return
            if ch != ",":
                raise self.error("not valid JSON: Expecting ',' delimiter", self.pos)
            self.pos += 1
            self.skip_ws()

    def error(self, message: str, pos: int) -> LoadError:
        line, col = self.location(pos)
        cut = " (the file ends early: truncated?)" if self.eof and pos >= len(self.buf) else ""
        return LoadError(f"{self.name}: line {line} column {col}: {message}{cut}")

    def object_instead_of_array(self, line: int, col: int) -> LoadError:
        """Scan the top-level object (bounded: array values are streamed) to explain it."""
        keys: list[str] = []                  # the first 11 (enough to show 10 and say "...")
        tables: list[str] = []
        count = 0
        self.pos += 1
        while (ch := self.skip_ws()) != "}":
            if count:
                if ch != ",":
                    raise self.error("not valid JSON: Expecting ',' delimiter", self.pos)
                self.pos += 1
                ch = self.skip_ws()
            key = self.decode() if ch == '"' else None
            if not isinstance(key, str):
                raise self.error("not valid JSON: Expecting property name enclosed in double "
                                 "quotes", self.pos)
            if self.skip_ws() != ":":
                raise self.error("not valid JSON: Expecting ':' delimiter", self.pos)
            self.pos += 1
            count += 1
            keys += [key] if len(keys) <= 10 else []
            if self.skip_ws() == "[":
                self.pos += 1
                objects = 0
                for _, value in self.elements():  # consumed whole: the scan goes on after it
                    objects = objects + 1 if objects >= 0 and isinstance(value, dict) else -1
                if objects > 0 and len(tables) < 2:
                    tables.append(key)
            else:
                self.decode()
        shown = ", ".join(json.dumps(k, ensure_ascii=False) for k in keys[:10])
        plural = "keys" if count > 1 else "key"
        found = f"an object with {plural} {shown}{', ...' if len(keys) > 10 else ''}" \
            if keys else "an empty object"
        message = (f"{self.name}: expected an array of objects, found {found} at line {line} "
                   f"column {col}")
        if len(tables) == 1:
            key = json.dumps(tables[0], ensure_ascii=False)
            only = "its single key" if count == 1 else "its key"
            message += (f"; {only} {key} holds an array of objects: load that array "
                        f"(e.g. jq '.[{key}]' or jq -c '.[{key}][]' for JSON Lines)")
        return LoadError(message)
