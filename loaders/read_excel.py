"""Excel .xlsx worksheets as string columns, streamed with openpyxl's read-only mode.

The sheet (the first worksheet unless named) is read row by row; memory is bounded by one
batch. The first row with a non-empty cell is the header; rows above it are skipped. Empty
cells and empty strings are null; a row of them is kept as an all-null row unless only such
rows follow it (trailing empty rows are dropped). Formula cells give the value Excel last
computed (``data_only``).

Width: the header's last non-empty cell, widened to the last non-empty cell of the first
``batch_rows`` data rows (a value under a blank header keeps its column, with a blank name).
A value further right in a later row raises LoadError naming the cell, rather than being
dropped: the columns are fixed once the first batch is out.

Cells to text: strings as they are; ``True``/``False`` → ``true``/``false``; integers and
integer-valued floats → ``12``; other floats → ``repr`` (``0.1``, ``1e-07``); datetimes →
``YYYY-MM-DD`` when the time is 00:00 and the cell's number format is a date-only format,
else ``YYYY-MM-DDTHH:MM:SS`` (``.ffffff`` only when there are microseconds); times →
``HH:MM:SS``; durations (``[h]:mm`` formats) → ``H:MM:SS``; formula errors (``#N/A``) as text.
"""

from __future__ import annotations

import datetime as dt
import functools
import zipfile
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import openpyxl
import pyarrow as pa
from openpyxl.styles.numbers import is_datetime
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from loaders.compression import limit_for
from loaders.limits import current
from loaders.streams import StringStream, string_batch, string_schema
from server.errors import LoadError

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # OLE compound file: .xls, or encrypted OOXML
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_BROKEN = (zipfile.BadZipFile, zlib.error, KeyError, ValueError, TypeError, AttributeError,
           IndexError, SyntaxError, EOFError, OSError, InvalidFileException)

Row = list[str | None]

# Bomb guards: a workbook's XML parts may expand to at most limit_for(file size) bytes in all
# (the gzip/zip rule: 100x, at least 64 MiB), checked by decompressing them before openpyxl
# parses any (the sizes the zip declares are the file's own word); and a sheet may yield at
# most PESO_MAX_XLSX_CELLS cells, the empty ones openpyxl fills in included (``<c r="XFD1048576"/>``
# alone makes a sheet of 17 billion).


def open_xlsx(path: Path, *, sheet: str | None = None, batch_rows: int = 65_536,
              label: str | None = None, max_cells: int | None = None) -> StringStream:
    """Open worksheet ``sheet`` (default: the first) of the workbook at ``path``.

    Returns a StringStream (format ``"xlsx"``) whose batches hold at most ``batch_rows``
    rows; a sheet with a header and no data gives no batches. The header and the first
    batch are read here, so an unreadable, encrypted or legacy (.xls) file, a missing sheet
    (the message lists the sheets) or an empty sheet raises LoadError now, naming the file
    and sheet (as ``label`` when given). Call ``close()`` when done (also safe before the
    batches are exhausted).
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    name = label or str(path)
    _refuse_ole(path, name)
    _check_xml_size(path, name)
    try:
        fh: BinaryIO = path.open("rb")
    except OSError as exc:
        raise LoadError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    try:   # a file object, not a name: openpyxl would refuse names not ending in .xlsx
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except _BROKEN as exc:
        fh.close()
        raise LoadError(f"{name}: not an Excel .xlsx workbook ({exc})") from exc
    try:
        ws = _pick_sheet(name, wb, sheet)
        ws.reset_dimensions()          # stale <dimension> tags would pad or truncate the rows
        rows = ws.iter_rows()
        where = f"{name}: sheet {ws.title!r}"
        numbered = _numbered_rows(where, rows,
                                  current().xlsx_cells if max_cells is None else max_cells)
        header = next((r for r in numbered if r[1]), None)
        if header is None:
            raise LoadError(f"{where} is empty; expected a header row and data")
        first = _take(numbered, batch_rows)
        width = max([len(header[1])] + [len(r) for _, r in first])
        columns = [text or "" for text in header[1]] + [""] * (width - len(header[1]))
    except BaseException:
        wb.close()
        fh.close()
        raise

    def batches() -> Generator[pa.RecordBatch, None, None]:
        try:
            if first:
                yield _batch(width, first)
            while chunk := _take(numbered, batch_rows):
                for rownum, row in chunk:
                    if len(row) > width:
                        raise LoadError(
                            f"{where}: cell {get_column_letter(len(row))}{rownum} has a value "
                            f"right of the last column ({get_column_letter(width)}) of the "
                            f"header and the first {batch_rows:,} rows; give it a header "
                            "or delete it")
                yield _batch(width, chunk)
        finally:
            release()

    def release() -> None:
        numbered.close()
        rows.close()
        wb.close()
        fh.close()

    def close() -> None:
        gen.close()
        release()

    gen = batches()
    return StringStream(columns, gen, "xlsx", close)


def cell_text(value: Any, number_format: str | None = None) -> str | None:
    """One cell value as the reader's text (see the module docstring); "" becomes null."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time() and _date_only(number_format):
            return value.date().isoformat()
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        sign, rest = ("-", -value) if value < dt.timedelta(0) else ("", value)
        hours, seconds = divmod(rest.days * 86_400 + rest.seconds, 3600)
        micro = f".{rest.microseconds:06d}" if rest.microseconds else ""
        return f"{sign}{hours}:{seconds // 60:02d}:{seconds % 60:02d}{micro}"
    return str(value)


@functools.lru_cache(maxsize=256)
def _date_only(number_format: str | None) -> bool:
    return number_format is not None and is_datetime(number_format) == "date"


def _numbered_rows(where: str, rows: Iterator[tuple[Any, ...]], max_cells: int
                   ) -> Generator[tuple[int, Row], None, None]:
    """(sheet row number, cells as text with trailing empties cut), trailing empty rows
    dropped; openpyxl fills rows missing from the XML, so numbering follows the sheet."""
    pending = 0                      # empty rows seen since the last non-empty one
    rownum = 0
    seen = 0
    try:
        for rownum, cells in enumerate(rows, 1):
            seen += max(len(cells), 1)
            if seen > max_cells:
                raise LoadError(f"{where}: more than {max_cells:,} cells by row {rownum:,} "
                                "(empty cells up to the last used column included; "
                                "PESO_MAX_XLSX_CELLS); refusing a sheet this large (a possible "
                                "decompression bomb)")
            row = [cell_text(c.value, c.number_format if isinstance(c.value, dt.datetime)
                             else None) for c in cells]
            while row and row[-1] is None:
                row.pop()
            if not row:
                pending += 1
                continue
            for empty in range(rownum - pending, rownum):
                yield empty, []
            pending = 0
            yield rownum, row
    except _BROKEN as exc:
        raise LoadError(f"{where}: cannot read the sheet after row {rownum} ({exc})") from exc


def _take(rows: Iterator[tuple[int, Row]], n: int) -> list[tuple[int, Row]]:
    out: list[tuple[int, Row]] = []
    for item in rows:
        out.append(item)
        if len(out) == n:
            break
    return out


def _batch(width: int, rows: list[tuple[int, Row]]) -> pa.RecordBatch:
    columns = [[row[i] if i < len(row) else None for _, row in rows] for i in range(width)]
    return string_batch(string_schema(width), columns)


def _pick_sheet(name: str, wb: Any, sheet: str | None) -> Any:
    names: list[str] = list(wb.sheetnames)
    if sheet is None:
        if not wb.worksheets:
            raise LoadError(f"{name}: the workbook has no worksheets (only charts?)")
        return wb.worksheets[0]
    if sheet not in names:
        listing = ", ".join(repr(n) for n in names)
        raise LoadError(f"{name}: no sheet named {sheet!r}; the workbook has: {listing}")
    ws = wb[sheet]
    if ws not in wb.worksheets:
        raise LoadError(f"{name}: sheet {sheet!r} is a chart sheet, not a table")
    return ws


def _check_xml_size(path: Path, name: str) -> None:
    """Decompress every part of the workbook, counting, before openpyxl reads any."""
    try:
        size = path.stat().st_size
        limit = limit_for(size)
        total = 0
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                with zf.open(info) as part:
                    while chunk := part.read(1 << 20):
                        total += len(chunk)
                        if total > limit:
                            raise LoadError(
                                f"{name}: its XML parts expand to more than {limit:,} bytes "
                                f"(at {info.filename!r}) from a {size:,}-byte workbook "
                                f"({current().rule()}); refusing a possible decompression "
                                "bomb")
    except LoadError:
        raise
    except (*_BROKEN, NotImplementedError, RuntimeError) as exc:
        raise LoadError(f"{name}: not an Excel .xlsx workbook ({exc})") from exc


def _refuse_ole(path: Path, name: str) -> None:
    """Legacy .xls and encrypted .xlsx are both OLE compound files: say which."""
    try:
        with path.open("rb") as fh:
            if fh.read(len(_CFB_MAGIC)) != _CFB_MAGIC:
                return
            encrypted, tail = False, b""
            while chunk := fh.read(1 << 20):
                if _ENCRYPTED in tail + chunk:
                    encrypted = True
                    break
                tail = chunk[-len(_ENCRYPTED):]
    except OSError as exc:
        raise LoadError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    if encrypted:
        raise LoadError(f"{name}: the workbook is password-protected (encrypted); remove the "
                        "password in Excel and upload it again")
    raise LoadError(f"{name}: this is a legacy Excel 97-2003 .xls workbook (an OLE document), "
                    "not .xlsx; save it as .xlsx and upload it again")

