"""The object-store protocol: where raw uploads and curated Parquet files live.

Sync by design (file and S3 clients are blocking); async callers use a thread.
Keys are validated with ``server.ids.check_object_key`` before any backend sees them.
``arrow_filesystem()`` is the one sanctioned escape hatch, so Parquet reads use pyarrow's
column projection and row-group pruning instead of downloading whole files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    import pyarrow.fs


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime
    sha256: str | None = None  # recorded at write time when the backend keeps it


class HashingReader:
    """Wraps a readable stream and hashes (sha256) and counts what passes through, so an
    object can be copied and checksummed in one read."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner, self.digest, self.size = inner, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.inner.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


class ObjectStore(Protocol):
    url: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def health(self) -> None:
        """Return when the store answers; raise StoreUnavailableError."""

    def stat(self, key: str) -> ObjectInfo | None: ...
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""
    def put_file(self, key: str, path: str) -> ObjectInfo:
        """Copy a local file in; the object appears whole or not at all."""
    def put_stream(self, key: str, stream: BinaryIO, *, size: int | None = None) -> ObjectInfo:
        ...
    def open_read(self, key: str) -> BinaryIO: ...
    def delete(self, key: str) -> bool:
        """Remove the object; return False when there was none."""
    def presign_get(self, key: str, *, expires_seconds: int = 3600) -> str | None:
        """A time-limited download URL, or None when the backend cannot make one."""
    def arrow_filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        """A pyarrow filesystem and the path prefix to put before a key."""
