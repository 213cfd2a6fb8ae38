"""Object store on a local folder. Writes are atomic: a temp file in the same folder, fsync,
then ``os.replace``; a reader never sees half an object."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from server.errors import NotFoundError, StoreUnavailableError
from server.ids import check_object_key
from server.storage.objects import ObjectInfo

if TYPE_CHECKING:
    import pyarrow.fs

_CHUNK = 1 << 20
_TMP_PREFIX = ".peso-tmp-"


class LocalObjectStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.url = f"file://{self.root}"

    # --- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        return None

    def health(self) -> None:
        if not self.root.is_dir() or not os.access(self.root, os.W_OK):
            raise StoreUnavailableError(f"object folder {self.root} is missing or not writable")

    # --- reads -----------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        path = self.root / check_object_key(key)
        # check_object_key forbids '..' and absolute keys; this is the belt to those braces
        if not path.resolve().is_relative_to(self.root):
            raise NotFoundError(f"object {key!r} is outside the store")
        return path

    def stat(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return ObjectInfo(key=key, size=st.st_size,
                          modified=datetime.fromtimestamp(st.st_mtime, UTC))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            for filename in sorted(filenames):
                if filename.startswith(_TMP_PREFIX):
                    continue
                full = Path(dirpath) / filename
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    st = full.stat()
                    yield ObjectInfo(key=key, size=st.st_size,
                                     modified=datetime.fromtimestamp(st.st_mtime, UTC))

    def open_read(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise NotFoundError(f"object {key!r} does not exist") from exc

    # --- writes ----------------------------------------------------------------------------
    def put_file(self, key: str, path: str) -> ObjectInfo:
        with open(path, "rb") as src:
            return self.put_stream(key, src)

    def put_stream(self, key: str, stream: BinaryIO, *, size: int | None = None) -> ObjectInfo:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        st = target.stat()
        return ObjectInfo(key=key, size=st.st_size,
                          modified=datetime.fromtimestamp(st.st_mtime, UTC),
                          sha256=digest.hexdigest())

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def presign_get(self, key: str, *, expires_seconds: int = 3600) -> str | None:
        # The local store has no URL of its own; the server signs a route for it instead.
        return None

    def arrow_filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        import pyarrow.fs

        return pyarrow.fs.LocalFileSystem(), str(self.root) + "/"

    def copy_to(self, key: str, dest: Path) -> None:
        with self.open_read(key) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
