"""A CSV file's rows parsed block by block on several threads (``parse_blocks``).

Arrow's streaming CSV reader (``pyarrow.csv.open_csv``) parses one block after another on the
thread that asks for them; ``read_csv`` parses on every core but holds the whole file. When
no value holds a line break (``newlines_in_values=False``, the way every CSV load starts),
the streaming reader cuts the text where it can be cut without looking at quotes: each
block is the ``block_bytes`` of UTF-8 text after the previous block's partial last line,
joined to that partial line and cut after its last line break (``\\n`` or ``\\r``). The same
cut is made here, and up to ``PARSERS`` blocks are parsed at once by ``read_csv`` on a
thread each (Arrow releases the GIL while it parses). The batches come out in file order,
one per block that has rows, holding what the streaming reader's would hold
(``tests/test_csv_blocks.py`` compares them); at most ``PARSERS + 2`` blocks are held at a
time (one read ahead), so memory stays bounded by the block size.

Text in another encoding is transcoded to UTF-8 with Python's incremental decoder first,
as pyarrow's own transcoding does, so blocks are cut in the same UTF-8 text. A line longer
than a block is refused as Arrow refuses it (``ArrowInvalid``: "straddling object …").
"""

from __future__ import annotations

import codecs
import re
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

PARSERS = 2                  # blocks parsed at once (one thread each)
_READ = 1 << 20              # bytes read from the file at a time when transcoding
_UTF8 = ("utf-8", "utf8", "utf-8-sig")

# what Arrow's streaming reader raises for a line longer than its block
_ROW_IN_BLOCK = re.compile(r"^((?:CSV parse error|In CSV column #\d+): )Row #\d+: ")
STRADDLING = "straddling object straddles two block boundaries (try to increase block size?)"


class BlockFailed(Exception):
    """Parsing one block failed: ``error`` is Arrow's (or the decoder's) exception and
    ``bad_rows`` what the invalid-row handler saw in that block, in order."""

    def __init__(self, error: Exception, bad_rows: list[pacsv.InvalidRow]) -> None:
        super().__init__(str(error))
        self.error, self.bad_rows = error, bad_rows


class _Utf8:
    """The file's text as UTF-8 bytes, from byte ``start`` on; ``read_bytes`` counts the
    file's bytes read (progress)."""

    def __init__(self, fh: BinaryIO, encoding: str, start: int) -> None:
        self.fh = fh
        self.read_bytes = start
        plain = encoding.lower().replace("_", "-") in _UTF8
        self.decoder = None if plain else codecs.getincrementaldecoder(encoding)("strict")
        self.pending = b""
        self.eof = False

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes of UTF-8 text (fewer only at the end of the file)."""
        if self.decoder is None:
            data = self.fh.read(n)
            self.read_bytes += len(data)
            return data
        while len(self.pending) < n and not self.eof:
            raw = self.fh.read(_READ)
            self.read_bytes += len(raw)
            self.eof = not raw
            self.pending += self.decoder.decode(raw, final=self.eof).encode("utf-8")
        data, self.pending = self.pending[:n], self.pending[n:]
        return data


def _cut(text: bytes) -> int:
    """Where the whole lines of ``text`` end (after its last ``\\n`` or ``\\r``); 0 if none."""
    return max(text.rfind(b"\n"), text.rfind(b"\r")) + 1


def blocks(text: _Utf8, block_bytes: int) -> Iterator[bytes | memoryview]:
    """The text cut as Arrow's streaming reader cuts it (see the module docstring). Like
    Arrow it reads one block ahead: the last block is parsed whole, its last line with or
    without a line break."""
    partial = b""
    data = text.read(block_bytes)
    while data:
        following = text.read(block_bytes)
        block = partial + data if partial else data
        if not following:
            yield block
            return
        cut = _cut(block)
        if cut == 0:
            raise pa.ArrowInvalid(STRADDLING)
        partial = block[cut:]
        yield memoryview(block)[:cut]   # (no copy of the block)
        data = following


def parse_blocks(path: Path, *, start: int, encoding: str, block_bytes: int, skip_header: bool,
                 names: list[str], parse: pacsv.ParseOptions,
                 convert: pacsv.ConvertOptions) -> tuple[Iterator[pa.RecordBatch],
                                                         Callable[[], int],
                                                         Callable[[], None]]:
    """Stream ``path``'s rows from byte ``start`` on (``skip_header``: its first line is the
    header) as record batches with the ``names`` columns, parsed on ``PARSERS`` threads.
    ``parse`` must not allow line breaks in values, and its invalid-row handler is replaced
    by one per block (their rows are in ``BlockFailed.bad_rows``). Returns the batches,
    a function telling how many of the file's bytes were read, and ``close``."""
    if parse.newlines_in_values:
        raise ValueError("blocks can only be cut where values hold no line breaks")
    fh = path.open("rb")
    if start:
        fh.seek(start)
    text = _Utf8(fh, encoding, start)
    pool = ThreadPoolExecutor(max_workers=PARSERS, thread_name_prefix="peso-csv")

    def parse_one(block: bytes | memoryview, skip: int) -> pa.RecordBatch | None:
        bad: list[pacsv.InvalidRow] = []

        def on_bad_row(row: pacsv.InvalidRow) -> str:
            bad.append(row)
            return "error"

        options = pacsv.ParseOptions(delimiter=parse.delimiter, quote_char=parse.quote_char,
                                     double_quote=parse.double_quote,
                                     escape_char=parse.escape_char,
                                     ignore_empty_lines=parse.ignore_empty_lines,
                                     invalid_row_handler=on_bad_row)
        # one block of the whole text: use_threads off (the pool is the parallelism), the
        # block size past the text so Arrow does not cut it again
        read = pacsv.ReadOptions(use_threads=False, block_size=len(block) + 1,
                                 column_names=names, skip_rows=skip)
        try:
            table = pacsv.read_csv(pa.py_buffer(block), read_options=read,
                                   parse_options=options, convert_options=convert)
        except pa.ArrowInvalid as exc:
            # read_csv numbers the row within its block ("Row #114: "), which would mislead:
            # the message is the streaming reader's, without it
            message = _ROW_IN_BLOCK.sub(r"\1", str(exc), count=1)
            raise BlockFailed(pa.ArrowInvalid(message), bad) from exc
        except UnicodeDecodeError as exc:
            raise BlockFailed(exc, bad) from exc
        return table.combine_chunks().to_batches()[0] if table.num_rows else None

    def batches() -> Generator[pa.RecordBatch, None, None]:
        queued: deque[Future[pa.RecordBatch | None]] = deque()
        first = True
        try:
            for block in blocks(text, block_bytes):
                if first and start == 0 and text.decoder is None \
                        and bytes(block[:3]) == b"\xef\xbb\xbf":
                    block = block[3:]   # as Arrow skips a BOM
                queued.append(pool.submit(parse_one, block, 1 if first and skip_header else 0))
                first = False
                while len(queued) > PARSERS or (queued and queued[0].done()):
                    if (batch := queued.popleft().result()) is not None:
                        yield batch   # (a block of empty lines has no rows: nothing)
            while queued:
                if (batch := queued.popleft().result()) is not None:
                    yield batch
        except UnicodeDecodeError as exc:   # transcoding, on this thread
            raise BlockFailed(exc, []) from exc
        finally:
            for future in queued:
                future.cancel()

    stream = batches()

    def close() -> None:
        stream.close()   # (its queued blocks are cancelled; a running parse is waited for)
        pool.shutdown(wait=True, cancel_futures=True)
        fh.close()

    return stream, lambda: text.read_bytes, close
