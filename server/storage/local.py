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

from server.errors import NotFoundError, StoreUnavailableError, ValidationError
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
        yield from self._walk(self.root, "", prefix)

    def _walk(self, folder: Path, base: str, prefix: str) -> Iterator[ObjectInfo]:
        """Depth-first in key order: a folder ``d`` sorts as ``d/`` among its siblings (so
        ``a.csv`` < ``a/…`` < ``a0``), and folders that cannot hold the prefix are skipped."""
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:  # removed while we walked
            return
        ordered = sorted((e.name + "/" if e.is_dir(follow_symlinks=False) else e.name, e)
                         for e in entries if not e.name.startswith(_TMP_PREFIX))
        for name, entry in ordered:
            key = base + name
            if not (key.startswith(prefix) or prefix.startswith(key)):
                continue
            if name.endswith("/"):
                yield from self._walk(Path(entry.path), key, prefix)
            elif key.startswith(prefix) and entry.is_file():
                try:
                    st = entry.stat()
                except FileNotFoundError:  # deleted while we walked
                    continue
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
            count = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    count += len(chunk)
                if size is not None and count != size:  # as the S3 store does
                    raise ValidationError(f"object {key!r}: the stream held {count} bytes, not "
                                          f"the {size} announced; nothing was stored",
                                          field="size")
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
        check_object_key(key)  # but a bad key is refused here as by every other call
        return None

    def arrow_filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        import pyarrow.fs

        return pyarrow.fs.LocalFileSystem(), str(self.root) + "/"

    def copy_to(self, key: str, dest: Path) -> None:
        with self.open_read(key) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
