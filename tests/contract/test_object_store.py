"""Contract: the object store (put, stat, list, read, delete, key checks, Arrow access)."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from server.errors import NotFoundError, ValidationError
from server.ids import MAX_KEY_LENGTH
from server.storage.objects import ObjectStore


def _put(objects: ObjectStore, key: str, data: bytes) -> None:
    objects.put_stream(key, io.BytesIO(data), size=len(data))


def _read(objects: ObjectStore, key: str) -> bytes:
    with objects.open_read(key) as fh:
        return fh.read()


def _aware(stamp: datetime) -> bool:
    return stamp.tzinfo is not None and stamp.utcoffset() is not None


def test_health_answers(objects: ObjectStore) -> None:
    assert objects.health() is None
    assert isinstance(objects.url, str)
    assert objects.url


# --- put, stat, read, delete -------------------------------------------------------------


def test_put_stream_then_get(objects: ObjectStore) -> None:
    data = b"id,name\n1,Ada\n2,Bob\n"
    info = objects.put_stream("raw/crm/customers/v1/customers.csv", io.BytesIO(data),
                              size=len(data))
    assert info.key == "raw/crm/customers/v1/customers.csv"
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert _aware(info.modified)
    stat = objects.stat("raw/crm/customers/v1/customers.csv")
    assert stat is not None
    assert (stat.key, stat.size) == (info.key, len(data))
    assert stat.sha256 in (None, info.sha256)
    assert _aware(stat.modified)
    assert _read(objects, "raw/crm/customers/v1/customers.csv") == data


def test_put_stream_without_size(objects: ObjectStore) -> None:
    info = objects.put_stream("a/b.bin", io.BytesIO(b"xyz"))
    assert (info.size, _read(objects, "a/b.bin")) == (3, b"xyz")


def test_put_file_then_get(objects: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "upload.csv"
    data = b"a,b\n" + b"1,2\n" * 1000
    src.write_bytes(data)
    info = objects.put_file("raw/ns/name/v1/upload.csv", str(src))
    assert (info.key, info.size) == ("raw/ns/name/v1/upload.csv", len(data))
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert _read(objects, "raw/ns/name/v1/upload.csv") == data
    assert src.read_bytes() == data  # the source is left alone


def test_empty_object(objects: ObjectStore) -> None:
    info = objects.put_stream("empty/zero.bin", io.BytesIO(b""), size=0)
    assert info.size == 0
    assert info.sha256 == hashlib.sha256(b"").hexdigest()
    assert _read(objects, "empty/zero.bin") == b""
    assert objects.stat("empty/zero.bin") is not None


def test_overwrite_replaces_content(objects: ObjectStore) -> None:
    _put(objects, "k/v.txt", b"first version, longer")
    info = objects.put_stream("k/v.txt", io.BytesIO(b"second"))
    assert info.sha256 == hashlib.sha256(b"second").hexdigest()
    assert _read(objects, "k/v.txt") == b"second"
    stat = objects.stat("k/v.txt")
    assert stat is not None
    assert stat.size == 6
    assert [o.key for o in objects.list("k/")] == ["k/v.txt"]


def test_missing_object(objects: ObjectStore) -> None:
    assert objects.stat("no/such/key") is None
    with pytest.raises(NotFoundError):
        objects.open_read("no/such/key")
    assert objects.delete("no/such/key") is False


def test_delete(objects: ObjectStore) -> None:
    _put(objects, "d/one", b"1")
    _put(objects, "d/two", b"2")
    assert objects.delete("d/one") is True
    assert objects.stat("d/one") is None
    with pytest.raises(NotFoundError):
        objects.open_read("d/one")
    assert [o.key for o in objects.list("d/")] == ["d/two"]
    assert objects.delete("d/one") is False
    assert _read(objects, "d/two") == b"2"


def test_large_object_round_trip(objects: ObjectStore) -> None:
    # a few MB, not a multiple of any chunk size, bytes that do not repeat
    data = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(200_000))
    data += b"tail"
    info = objects.put_stream("big/blob.bin", io.BytesIO(data))
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    with objects.open_read("big/blob.bin") as fh:
        head = fh.read(1000)
        rest = fh.read()
    assert head + rest == data


def test_failed_put_leaves_previous_object_intact(objects: ObjectStore) -> None:
    _put(objects, "keep/me.bin", b"the original")

    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
            if self.sent >= 3:
                raise OSError("the upload connection dropped")
            self.sent += 1
            n = min(len(buffer), 64 * 1024)
            buffer[:n] = b"x" * n
            return n

    with pytest.raises(OSError, match="connection dropped"):
        objects.put_stream("keep/me.bin", io.BufferedReader(Broken()))
    with pytest.raises(OSError, match="connection dropped"):
        objects.put_stream("keep/new.bin", io.BufferedReader(Broken()))
    assert _read(objects, "keep/me.bin") == b"the original"
    assert objects.stat("keep/new.bin") is None
    assert [o.key for o in objects.list("keep/")] == ["keep/me.bin"]


@pytest.mark.parametrize("announced", [3, 100])
def test_put_stream_refuses_a_size_mismatch(objects: ObjectStore, announced: int) -> None:
    _put(objects, "m/obj.bin", b"original")
    with pytest.raises(ValidationError):
        objects.put_stream("m/obj.bin", io.BytesIO(b"0123456789"), size=announced)
    with pytest.raises(ValidationError):
        objects.put_stream("m/new.bin", io.BytesIO(b"0123456789"), size=announced)
    assert _read(objects, "m/obj.bin") == b"original"
    assert [o.key for o in objects.list("m/")] == ["m/obj.bin"]


def test_object_is_invisible_until_written_whole(objects: ObjectStore) -> None:
    seen: list[object] = []

    class Watching(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
            self.calls += 1
            if self.calls == 2:  # midway: the object must not be visible yet
                seen.append(objects.stat("w/obj.bin"))
                seen.append([o.key for o in objects.list("w/")])
            if self.calls > 3:
                return 0
            n = min(len(buffer), 1000)
            buffer[:n] = b"y" * n
            return n

    info = objects.put_stream("w/obj.bin", io.BufferedReader(Watching(), 1000))
    assert seen == [None, []]
    assert info.size == 3000
    assert [o.key for o in objects.list("w/")] == ["w/obj.bin"]


# --- list --------------------------------------------------------------------------------


KEYS = ["raw/a.csv", "raw/a/b.csv", "raw/a0", "raw/ab/x", "raw/-z", "raw/A/1", "curated/n/p",
        "raw/a.b/c", "z", "0/x", "raw/a/b/c/d/e.parquet"]


def test_list_is_in_key_order(objects: ObjectStore) -> None:
    for k in KEYS:
        _put(objects, k, k.encode())
    listed = list(objects.list())
    assert [o.key for o in listed] == sorted(KEYS)
    assert [o.size for o in listed] == [len(o.key) for o in listed]
    assert all(_aware(o.modified) for o in listed)


@pytest.mark.parametrize(("prefix", "expected"), [
    ("raw/", sorted(k for k in KEYS if k.startswith("raw/"))),
    ("raw/a/", ["raw/a/b.csv", "raw/a/b/c/d/e.parquet"]),
    ("raw/a", sorted(k for k in KEYS if k.startswith("raw/a"))),   # a string prefix
    ("raw/a/b", ["raw/a/b.csv", "raw/a/b/c/d/e.parquet"]),
    ("curated/", ["curated/n/p"]),
    ("z", ["z"]),
    ("nothing/", []),
    ("raw/A/", ["raw/A/1"]),                                        # case-sensitive
])
def test_list_prefix(objects: ObjectStore, prefix: str, expected: list[str]) -> None:
    for k in KEYS:
        _put(objects, k, b".")
    assert [o.key for o in objects.list(prefix)] == expected


def test_list_empty_store(objects: ObjectStore) -> None:
    assert list(objects.list()) == []
    assert list(objects.list("raw/")) == []


# --- key validation ----------------------------------------------------------------------


BAD_KEYS = ["", "/abs/key", "/", "a/../b", "..", "../x", "a/..", ".", "a/./b", "a//b", "a/",
            "a\\b", "..\\x", "a b", "a\x00b", "a\nb", "a\n", "a/b\n", "a\t", "é/x", "a/b?c",
            "a/b#c", "a/*",
            "x" * (MAX_KEY_LENGTH + 1), "a/" * 600 + "b"]


@pytest.mark.parametrize("bad", BAD_KEYS, ids=lambda k: repr(k[:20]))
def test_invalid_keys_are_refused(objects: ObjectStore, bad: str, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"data")
    with pytest.raises(ValidationError):
        objects.put_stream(bad, io.BytesIO(b"data"))
    with pytest.raises(ValidationError):
        objects.put_file(bad, str(src))
    with pytest.raises(ValidationError):
        objects.stat(bad)
    with pytest.raises(ValidationError):
        objects.open_read(bad)
    with pytest.raises(ValidationError):
        objects.delete(bad)
    with pytest.raises(ValidationError):
        objects.presign_get(bad)
    assert list(objects.list()) == []


def test_longest_key_is_accepted(objects: ObjectStore) -> None:
    key = "/".join(["k" * 100] * 10) + "/" + "x" * (MAX_KEY_LENGTH - 1010)
    assert len(key) == MAX_KEY_LENGTH
    _put(objects, key, b"long")
    assert _read(objects, key) == b"long"
    assert [o.key for o in objects.list()] == [key]


def test_unusual_but_valid_key_characters(objects: ObjectStore) -> None:
    key = "raw/ns/name/v=1/file+x@y_z-1.2.csv"
    _put(objects, key, b"ok")
    assert _read(objects, key) == b"ok"
    assert [o.key for o in objects.list("raw/ns/")] == [key]


def test_presign_get(objects: ObjectStore) -> None:
    _put(objects, "p/q.csv", b"1")
    url = objects.presign_get("p/q.csv", expires_seconds=60)
    assert url is None or url.startswith(("http://", "https://"))


# --- the Arrow escape hatch --------------------------------------------------------------


def test_arrow_filesystem_reads_parquet_with_projection(objects: ObjectStore,
                                                        tmp_path: Path) -> None:
    table = pa.table({"id": pa.array(range(5000), pa.int64()),
                      "channel": pa.array(["web", "email", "tv", "social", "print"] * 1000),
                      "spend": pa.array([i * 0.5 for i in range(5000)], pa.float64())})
    local = tmp_path / "part-0.parquet"
    pq.write_table(table, local, row_group_size=1000)
    key = "curated/mkt/spend/v1/part-0.parquet"
    objects.put_file(key, str(local))

    fs, prefix = objects.arrow_filesystem()
    path = prefix + key
    read = pq.read_table(path, filesystem=fs, columns=["channel", "spend"])
    assert read.column_names == ["channel", "spend"]
    assert read.num_rows == 5000
    assert read.column("spend").to_pylist() == table.column("spend").to_pylist()

    meta = pq.ParquetFile(fs.open_input_file(path)).metadata
    assert (meta.num_rows, meta.num_row_groups) == (5000, 5)
    filtered = pq.read_table(path, filesystem=fs, columns=["id"], filters=[("id", ">=", 4990)])
    assert filtered.column("id").to_pylist() == list(range(4990, 5000))
    assert fs.get_file_info(path).size == os.path.getsize(local)


# --- local folder specifics: temp files never leak ---------------------------------------


def _local_root(objects: ObjectStore, request: pytest.FixtureRequest) -> Path:
    if request.node.callspec.params.get("objects") != "local":
        pytest.skip("temp-file checks are specific to the local folder backend")
    root = getattr(objects, "root", None)
    assert isinstance(root, Path)
    return root


def _all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_local_failed_put_leaves_no_temp_file(objects: ObjectStore,
                                              request: pytest.FixtureRequest) -> None:
    root = _local_root(objects, request)
    _put(objects, "raw/x/keep.bin", b"keep")

    def chunks() -> BinaryIO:
        class Failing(io.RawIOBase):
            n = 0

            def readable(self) -> bool:
                return True

            def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
                self.n += 1
                if self.n > 2:
                    raise RuntimeError("disk full, say")
                buffer[:10] = b"0123456789"
                return 10
        return io.BufferedReader(Failing(), 10)

    with pytest.raises(RuntimeError):
        objects.put_stream("raw/x/new.bin", chunks())
    with pytest.raises(RuntimeError):
        objects.put_stream("raw/x/keep.bin", chunks())
    assert _all_files(root) == ["raw/x/keep.bin"]
    assert (root / "raw/x/keep.bin").read_bytes() == b"keep"


def test_local_list_never_shows_temp_files(objects: ObjectStore,
                                           request: pytest.FixtureRequest) -> None:
    root = _local_root(objects, request)
    _put(objects, "raw/x/real.bin", b"real")
    seen_during: list[list[str]] = []

    class Slow(io.RawIOBase):
        n = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
            self.n += 1
            if self.n == 2:
                seen_during.append([o.key for o in objects.list()])
                # the half-written temp file is on disk right now, yet not listed
                assert len(_all_files(root)) == 2
            if self.n > 3:
                return 0
            buffer[:4] = b"data"
            return 4

    objects.put_stream("raw/x/second.bin", io.BufferedReader(Slow(), 4))
    assert seen_during == [["raw/x/real.bin"]]
    assert [o.key for o in objects.list()] == ["raw/x/real.bin", "raw/x/second.bin"]
    assert _all_files(root) == ["raw/x/real.bin", "raw/x/second.bin"]
