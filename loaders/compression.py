"""Compressed uploads: tell gzip and zip from their first bytes and read what is inside.

Limits (a defence against gzip/zip bombs, applied while streaming, so a lying header does not
help; loaders/limits.py, set by PESO_MAX_DECOMPRESSION_RATIO and friends): the decompressed
size may not exceed 100 times the compressed file's size — with 64 MiB allowed whatever the
ratio, since small files of repetitive text legitimately compress very well — nor 20 GiB in
any case. Nested layers share one allowance, the outermost file's, counted across all of them
(``layer_budget``), and there are at most 3 layers.

Zip archives must hold exactly one file (directories and macOS metadata, ``__MACOSX/…`` and
``.DS_Store``, are ignored). An archive with any member named by an absolute path or with a
``..`` component is refused whole, although nothing is ever extracted under a member's name.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, BinaryIO

from loaders.limits import current
from server.errors import LoadError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

COPY_CHUNK = 1 << 20

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # zip local file header, 30 bytes
_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


def detect_compression(head: bytes, path: Path | None = None) -> str | None:
    """``'gzip'`` or ``'zip'`` when ``head`` (the file's first bytes) starts like one, else None.

    An Excel .xlsx workbook is a zip too but is *not* reported as ``'zip'`` (it is a format,
    not a compression): with ``path`` the archive's directory is checked (``[Content_Types].xml``
    plus an ``xl/`` entry); without it, only the member names visible in ``head``'s local
    headers are (a marker seen there means xlsx).
    """
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if not head.startswith(b"PK\x03\x04"):
        return None
    if path is not None:
        return None if is_xlsx(path) else "zip"
    names = _names_in_head(head)
    looks_xlsx = "[Content_Types].xml" in names or any(n.startswith("xl/") for n in names)
    return None if looks_xlsx else "zip"


def is_xlsx(path: Path) -> bool:
    """True when ``path`` is a zip holding ``[Content_Types].xml`` and ``xl/`` entries."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def open_decompressed(path: Path, compression: str, limit: int | None = None
                      ) -> tuple[BinaryIO, str]:
    """Open ``path`` for streaming reads of its decompressed content.

    Returns ``(stream, inner_name)``: ``inner_name`` is the zip member's base name, or for
    gzip the original name stored in the header (else the file name without ``.gz``).
    Reading past the size limits, or a truncated/corrupt stream, raises LoadError naming the
    file and the compressed byte offset reached. The caller closes the stream. ``limit``
    replaces ``limit_for(size)``: for a layer inside another, what is left of the outermost
    file's allowance (``layer_budget``).
    """
    if compression == "gzip":
        return _open_gzip(path, limit)
    if compression == "zip":
        return _open_zip(path, limit)
    raise LoadError(f"{path}: unsupported compression {compression!r}; expected gzip or zip")


def materialize(path: Path, compression: str, tmp_dir: Path | None = None,
                limit: int | None = None) -> Path:
    """Decompress ``path`` into a new temporary file in ``tmp_dir`` and return its path.

    Streams in ``COPY_CHUNK`` pieces (memory stays bounded); the temp file keeps the inner
    file's extension (``.csv``, ``.xlsx``...) and is the caller's to delete. On any error the
    partial file is removed and LoadError raised.
    """
    stream, inner = open_decompressed(path, compression, limit)
    with stream:
        suffix = PurePosixPath(inner).suffix
        fd, name = tempfile.mkstemp(prefix="peso-inflated-", dir=tmp_dir,
                                    suffix=suffix if _SAFE_SUFFIX.fullmatch(suffix) else "")
        out = Path(name)
        try:
            with os.fdopen(fd, "wb") as sink:
                while chunk := _read(path, stream):
                    try:
                        sink.write(chunk)
                    except OSError as exc:
                        raise LoadError(f"{path}: cannot write the decompressed copy to "
                                        f"{out.parent} ({exc.strerror or exc})") from exc
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    return out


def _read(path: Path, stream: BinaryIO) -> bytes:
    try:
        return stream.read(COPY_CHUNK)
    except OSError as exc:
        raise LoadError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc


def layer_budget(path: Path, outer: tuple[int, int] | None, layer_out: int, shown: str
                 ) -> tuple[int, int]:
    """``(bytes left, layers seen)`` after a layer that produced ``layer_out`` bytes. Nested
    compression (a .gz in a .gz in a .zip…) shares ONE allowance, ``limit_for`` the outermost
    file's size, across all layers — each layer's own ratio may be under the limit while the
    product is not (19 KB -> 608 MB in three gzip layers) — and at most
    PESO_MAX_COMPRESSION_LAYERS layers."""
    left, layers = outer if outer is not None else (limit_for(_size(path)), 0)
    layers += 1
    most = current().layers
    if layers > most:
        raise LoadError(f"{shown}: more than {most} layers of compression "
                        "(PESO_MAX_COMPRESSION_LAYERS); refusing a possible zip bomb "
                        "(decompress it yourself first)")
    return left - layer_out, layers


def limit_for(compressed_size: int) -> int:
    """The most bytes a file of ``compressed_size`` bytes may decompress to."""
    return current().for_compressed(compressed_size)


class _Guarded(io.RawIOBase):
    """Reads ``inner`` while counting: too many bytes out, or a broken stream, is LoadError."""

    def __init__(self, path: Path, kind: str, inner: io.BufferedIOBase | IO[bytes],
                 raw: BinaryIO | None, limit: int, compressed_size: int) -> None:
        super().__init__()
        self._path, self._kind, self._inner, self._raw = path, kind, inner, raw
        self._limit, self._compressed_size, self._out = limit, compressed_size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._inner.read(len(view))
        except EOFError as exc:
            raise LoadError(f"{self._path}: {self._kind} stream ends early"
                            f"{self._where('at')} (truncated download?)") from exc
        except (gzip.BadGzipFile, zipfile.BadZipFile, zlib.error) as exc:
            raise LoadError(f"{self._path}: corrupt {self._kind} data{self._where('near')} "
                            f"({exc})") from exc
        self._out += len(data)
        if self._out > self._limit:
            raise LoadError(
                f"{self._path}: decompresses to more than {self._limit:,} bytes "
                f"(from {self._compressed_size:,} compressed; {current().rule()}); refusing "
                "a possible zip bomb")
        view[: len(data)] = data
        return len(data)

    def _where(self, preposition: str) -> str:
        """Where in the compressed file reading stopped (gzip: exact; zip: not tracked)."""
        if self._raw is None:
            return ""
        return f" {preposition} compressed byte {self._raw.tell()}"

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
            if self._raw is not None:
                self._raw.close()
        super().close()


def _open_gzip(path: Path, limit: int | None = None) -> tuple[BinaryIO, str]:
    size = _size(path)
    raw = path.open("rb")
    try:
        inner_name = _gzip_name(raw.read(64 * 1024)) or (
            path.stem if path.suffix.lower() in (".gz", ".gzip") else path.name)
        raw.seek(0)
        inner = gzip.GzipFile(fileobj=raw, mode="rb")
    except BaseException:
        raw.close()
        raise
    guarded = _Guarded(path, "gzip", inner, raw, limit_for(size) if limit is None else limit,
                       size)
    return io.BufferedReader(guarded, COPY_CHUNK), inner_name


def _open_zip(path: Path, outer: int | None = None) -> tuple[BinaryIO, str]:
    size = _size(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoadError(f"{path}: not a readable zip archive ({exc})") from exc
    with zf:
        infos = zf.infolist()
        for info in infos:
            if not _safe_member(info.filename):
                raise LoadError(f"{path}: zip member {info.filename!r} has an unsafe path "
                                "(absolute, or with '..'); refusing the archive")
        files = [i for i in infos if not i.is_dir() and not _is_os_metadata(i.filename)]
        if len(files) != 1:
            listing = ", ".join(repr(i.filename) for i in files[:20])
            more = f" and {len(files) - 20} more" if len(files) > 20 else ""
            found = f"{len(files)} files: {listing}{more}" if files else "no files"
            raise LoadError(f"{path}: expected a zip archive holding exactly one file, "
                            f"found {found}")
        [info] = files
        limit = limit_for(size) if outer is None else outer
        if info.flag_bits & 0x1:
            raise LoadError(f"{path}: zip member {info.filename!r} is password-protected; "
                            "upload it unencrypted")
        if info.file_size > limit:
            raise LoadError(
                f"{path}: zip member {info.filename!r} declares {info.file_size:,} bytes "
                f"uncompressed, over the limit of {limit:,} for the archive's {size:,} bytes "
                f"({current().rule()}); refusing a possible zip bomb")
        try:
            member = zf.open(info)
        except (NotImplementedError, zipfile.BadZipFile, RuntimeError, OSError) as exc:
            raise LoadError(f"{path}: cannot read zip member {info.filename!r} ({exc})"
                            ) from exc
    # zipfile keeps the archive open until the member stream is closed
    guarded = _Guarded(path, "zip", member, None, limit, size)
    return io.BufferedReader(guarded, COPY_CHUNK), PurePosixPath(info.filename).name


def _safe_member(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    absolute = name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) is not None
    return not absolute and ".." not in parts


def _is_os_metadata(name: str) -> bool:
    return name.startswith("__MACOSX/") or PurePosixPath(name).name == ".DS_Store"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise LoadError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc


def _gzip_name(head: bytes) -> str | None:
    """The original file name (FNAME) from a gzip header, reduced to a safe base name."""
    if len(head) < 10 or not head[3] & 0x08:
        return None
    pos = 10
    if head[3] & 0x04:  # FEXTRA: two-byte length, then the extra field
        if len(head) < 12:
            return None
        pos += 2 + int.from_bytes(head[10:12], "little")
    end = head.find(b"\x00", pos)
    if end < 0:
        return None
    name = PurePosixPath(head[pos:end].decode("latin-1").replace("\\", "/")).name
    return name if name not in ("", ".", "..") else None


def _names_in_head(head: bytes) -> list[str]:
    """Member names from the zip local headers that lie wholly inside ``head``."""
    names: list[str] = []
    pos = 0
    while pos + _LOCAL_HEADER.size <= len(head) and head[pos:pos + 4] == b"PK\x03\x04":
        _, _, flags, _, _, _, _, csize, _, nlen, xlen = _LOCAL_HEADER.unpack_from(head, pos)
        start = pos + _LOCAL_HEADER.size
        names.append(head[start:start + nlen].decode("utf-8", "replace"))
        if flags & 0x08:  # sizes follow the data: the next header cannot be located
            break
        pos = start + nlen + xlen + csize
    return names
