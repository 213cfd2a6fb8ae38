"""The write-ahead log of collected events, on the local disk of the process.

Layout under ``<data dir>/collect/``::

    wal-0/.lock                       # flock-ed by the process that owns wal-0
    wal-0/holder                      # that process's lease holder id (swap_holder)
    wal-0/<dataset id>/dataset.json   # namespace, name, frozen schema (until a version has it)
    wal-0/<dataset id>/pending/<seq>-<batch>.batch   # one accepted batch
    wal-0/<dataset id>/flush-<id>.json                # a flush in progress
    wal-0/<dataset id>/keys.jsonl                     # idempotency keys of flushed batches

A batch file is its reply (one JSON line: counts, idempotency key, when received) and then
the accepted records, one JSON per line. It is written to a temporary name, fsynced and
renamed into ``pending/`` (then the folder is fsynced): the rename is the commit, and the
reply is sent only after it, so an acknowledged batch is on disk even if the process is
killed the next instant; a batch half-written when it died never got a reply and is
dropped. Each process claims the first ``wal-N`` folder no live process holds (an advisory
lock the kernel releases when the process dies), so a restarted server finds and flushes
what its killed predecessor left, and several workers on one data folder never share one.
It also frees the graph-store leases its predecessor held (``holder``): a flush killed
half-way would otherwise stall the recovery until the lease expired.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from server.errors import ConfigError

MAX_WAL_FOLDERS = 64


def dataset_id(namespace: str, name: str) -> str:
    return hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:24]


def key_id(idempotency_key: str) -> str:
    """The stored form of an ``Idempotency-Key`` (any text the client chose)."""
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Batch:
    """One committed batch, as read back from its file."""

    path: Path
    meta: dict[str, Any]     # batch, key, accepted, rejected, rejected_key, received_at
    lines: list[bytes]


class Wal:
    """The process's WAL folder: claimed at open, released at close."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder: Path | None = None
        self._lock: IO[bytes] | None = None
        self._seq = 0

    def open(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        for n in range(MAX_WAL_FOLDERS):
            folder = self.root / f"wal-{n}"
            folder.mkdir(exist_ok=True)
            lock = (folder / ".lock").open("ab")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            self.folder, self._lock = folder, lock
            return folder
        raise ConfigError(f"all {MAX_WAL_FOLDERS} collection WAL folders under {self.root} "
                          "are held by running processes")

    def swap_holder(self, holder: str) -> str | None:
        """Record ``holder`` as the owner of the open WAL folder; return the owner recorded
        before (None the first time). Holding the flock proves that one is gone, so the leases
        it held (a flush it was killed in) are stale."""
        assert self.folder is not None, "open() first"
        path = self.folder / "holder"
        before = path.read_text(encoding="utf-8").strip() if path.exists() else ""
        path.write_text(holder, encoding="utf-8")
        return before or None

    def close(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = self.folder = None

    def journals(self) -> Iterator[Journal]:
        """Every dataset with something in this WAL (for recovery at start-up)."""
        assert self.folder is not None
        for entry in sorted(self.folder.iterdir()):
            if entry.is_dir() and (entry / "dataset.json").exists():
                yield Journal.read(entry, self)

    def journal(self, namespace: str, name: str) -> Journal:
        assert self.folder is not None
        folder = self.folder / dataset_id(namespace, name)
        if (folder / "dataset.json").exists():
            return Journal.read(folder, self)
        folder.mkdir(exist_ok=True)
        journal = Journal(folder, self, namespace, name, {})
        journal.save_meta()
        return journal

    def next_seq(self) -> str:
        self._seq += 1
        return f"{time.time_ns():020d}{self._seq % 1000:03d}"


class Journal:
    """One dataset's part of the WAL."""

    def __init__(self, folder: Path, wal: Wal, namespace: str, name: str,
                 meta: dict[str, Any]) -> None:
        self.folder, self.wal = folder, wal
        self.namespace, self.name, self.meta = namespace, name, meta
        self.pending = folder / "pending"
        self.pending.mkdir(exist_ok=True)

    @classmethod
    def read(cls, folder: Path, wal: Wal) -> Journal:
        doc = json.loads((folder / "dataset.json").read_text())
        return cls(folder, wal, doc["namespace"], doc["name"], doc.get("meta") or {})

    def save_meta(self) -> None:
        _write_atomic(self.folder / "dataset.json", json.dumps(
            {"namespace": self.namespace, "name": self.name, "meta": self.meta}).encode())

    # --- batches ---------------------------------------------------------------------------

    def commit(self, meta: dict[str, Any], lines: list[bytes]) -> Path:
        """Write one batch durably (see the module docstring); return its file."""
        final = self.pending / f"{self.wal.next_seq()}-{meta['batch']}.batch"
        body = json.dumps(meta, separators=(",", ":")).encode() + b"\n" + b"\n".join(lines)
        _write_atomic(final, body, fsync_folder=True)
        return final

    def batches(self) -> list[Batch]:
        out = []
        for path in sorted(self.pending.glob("*.batch")):
            head, _, rest = path.read_bytes().partition(b"\n")
            out.append(Batch(path, json.loads(head), [ln for ln in rest.split(b"\n") if ln]))
        return out

    def drop_temporaries(self) -> int:
        """Remove batches half-written by a killed process (never acknowledged)."""
        dropped = 0
        for path in [*self.pending.glob(".tmp-*"), *self.folder.glob(".tmp-*")]:
            path.unlink()
            dropped += 1
        return dropped

    # --- flushes ---------------------------------------------------------------------------

    def begin_flush(self, manifest: dict[str, Any]) -> Path:
        path = self.folder / f"flush-{manifest['flush']}.json"
        _write_atomic(path, json.dumps(manifest).encode(), fsync_folder=True)
        return path

    def open_flushes(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.folder.glob("flush-*.json"))]

    def end_flush(self, manifest: dict[str, Any], replies: list[dict[str, Any]]) -> None:
        """After the flush's version is registered: remember its batches' idempotency keys,
        then delete the batches and the manifest (in that order: a crash in between leaves
        keys remembered twice, never data stored twice)."""
        keyed = [r for r in replies if r.get("key")]
        if keyed:
            now = time.time()
            with (self.folder / "keys.jsonl").open("ab") as fh:
                for reply in keyed:
                    fh.write(json.dumps({"at": now, "reply": reply}).encode() + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
        for name in manifest["files"]:
            with contextlib.suppress(FileNotFoundError):
                (self.pending / name).unlink()
        (self.folder / f"flush-{manifest['flush']}.json").unlink(missing_ok=True)
        _fsync_dir(self.folder)

    def flushed_keys(self, ttl_seconds: float) -> dict[str, dict[str, Any]]:
        """Replies of flushed batches by idempotency key, younger than ``ttl_seconds``; the
        file is rewritten without the older ones."""
        path = self.folder / "keys.jsonl"
        if not path.exists():
            return {}
        cutoff, kept, seen = time.time() - ttl_seconds, [], {}
        for line in path.read_bytes().split(b"\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:   # the last line of a process killed mid-append
                continue
            if entry["at"] >= cutoff:
                kept.append(line)
                seen[entry["reply"]["key"]] = entry["reply"]
        _write_atomic(path, b"\n".join(kept) + (b"\n" if kept else b""))
        return seen


def new_batch_id(key: str | None) -> str:
    """A batch's id: its stored idempotency key (``key_id``) when it has one, so a replay
    rewrites the same rejected-records object; else a fresh one."""
    return key or uuid.uuid4().hex


def _write_atomic(path: Path, data: bytes, *, fsync_folder: bool = False) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if fsync_folder:
        _fsync_dir(path.parent)
