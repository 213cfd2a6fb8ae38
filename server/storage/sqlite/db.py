"""SQLite connections: one writer thread, a pool of reader threads (the datasette model).

WAL lets readers run while the writer commits. Every write runs in the single writer thread
inside ``BEGIN IMMEDIATE`` so a change and its audit event commit together or not at all.
Other processes (a ``peso load`` beside a running server) wait on ``busy_timeout``; a write
that still finds the database locked is retried a bounded number of times (``LOCK_RETRIES``)
before the error reaches the caller. Work runs in the caller's context (``contextvars``), so
the audit writer sees the current request id.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import TypeVar

from server.errors import StoreUnavailableError

T = TypeVar("T")

log = logging.getLogger("peso.sqlite")

BUSY_TIMEOUT_MS = 10_000
READER_THREADS = 4
# after busy_timeout ran out: this many more attempts, backing off from LOCK_BACKOFF seconds
LOCK_RETRIES = 5
LOCK_BACKOFF = 0.05


def is_locked(exc: BaseException) -> bool:
    """True for SQLite's "database is locked / busy" (another process holds the write lock)."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and (
        "database is locked" in text or "database is busy" in text)


def _connect(path: str, *, readonly: bool,
             busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                           timeout=busy_timeout_ms / 1000)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -32768")  # 32 MiB per connection
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    return conn


def migrations() -> list[tuple[int, str]]:
    """The numbered migration scripts shipped with the package, in order."""
    folder = resources.files("server.storage.sqlite") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.read_text(encoding="utf-8")))
    numbers = [number for number, _ in found]
    if len(numbers) != len(set(numbers)):
        # Two scripts with one number would leave one of them never applied.
        raise RuntimeError(f"duplicate SQLite migration numbers: {sorted(numbers)}")
    return sorted(found)


class Database:
    def __init__(self, path: str, *, readers: int = READER_THREADS,
                 busy_timeout_ms: int = BUSY_TIMEOUT_MS, lock_retries: int = LOCK_RETRIES,
                 on_lock: Callable[[], None] | None = None) -> None:
        self.path = path
        self._readers = readers
        self.busy_timeout_ms, self.lock_retries = busy_timeout_ms, lock_retries
        self.on_lock = on_lock  # called on each retry (a metric), from the writer thread
        self._writer: sqlite3.Connection | None = None
        self._write_pool: ThreadPoolExecutor | None = None
        self._read_pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            writer = _connect(self.path, readonly=False, busy_timeout_ms=self.busy_timeout_ms)
            mode = self._wal(writer)
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"cannot open SQLite catalog {self.path}: {exc}") from exc
        if mode.lower() != "wal":
            raise StoreUnavailableError(f"SQLite catalog {self.path} refused WAL mode ({mode})")
        self._migrate(writer)
        self._writer = writer
        self._write_pool = ThreadPoolExecutor(1, thread_name_prefix="peso-sqlite-writer")
        self._read_pool = ThreadPoolExecutor(self._readers, thread_name_prefix="peso-sqlite-reader")

    def close(self) -> None:
        if self._write_pool:
            self._write_pool.shutdown(wait=True)
        if self._read_pool:
            self._read_pool.shutdown(wait=True)
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()
        if self._writer:
            try:
                self._writer.execute("PRAGMA optimize")
            except sqlite3.OperationalError as exc:  # another process holds the lock: skip it
                log.info("PRAGMA optimize skipped on %s: %s", self.path, exc)
            self._writer.close()
        self._writer = self._write_pool = self._read_pool = None

    def _wal(self, conn: sqlite3.Connection) -> str:
        """Switch to WAL. On a brand-new file opened by several processes at once, SQLite may
        answer "locked" at once instead of waiting on busy_timeout: retry, bounded."""
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if not is_locked(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(LOCK_BACKOFF)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in migrations():
            if number <= current:
                continue
            # executescript commits first; the whole migration and its version bump are one txn
            try:
                conn.executescript(f"BEGIN IMMEDIATE;\n{script}\n"
                                   f"PRAGMA user_version = {number};\nCOMMIT;")
            except sqlite3.Error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                # two processes opening a new catalog at once: the other one applied it first
                current = conn.execute("PRAGMA user_version").fetchone()[0]
                if number <= current:
                    continue
                raise
            current = number

    # --- running work ----------------------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path, readonly=True, busy_timeout_ms=self.busy_timeout_ms)
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    def _run_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._reader()
        conn.execute("BEGIN")  # one consistent snapshot for multi-statement reads
        try:
            return fn(conn)
        finally:
            conn.execute("COMMIT")

    def _run_write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one write transaction; when another process holds the lock past
        busy_timeout, roll back and run it again (``fn`` touches nothing but ``conn``)."""
        attempt = 0
        while True:
            try:
                return self._write_once(fn)
            except sqlite3.OperationalError as exc:
                if not is_locked(exc) or attempt >= self.lock_retries:
                    raise
                attempt += 1
                if self.on_lock is not None:
                    self.on_lock()
                log.warning("SQLite catalog %s is locked; retrying the write (%d/%d)",
                            self.path, attempt, self.lock_retries)
                time.sleep(LOCK_BACKOFF * 2 ** (attempt - 1))

    def _write_once(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._writer
        if conn is None:
            raise StoreUnavailableError("the SQLite catalog is not open")
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._read_pool is None:
            raise StoreUnavailableError("the SQLite catalog is not open")
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self._read_pool,
                                          functools.partial(ctx.run, self._run_read, fn))

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._write_pool is None:
            raise StoreUnavailableError("the SQLite catalog is not open")
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self._write_pool,
                                          functools.partial(ctx.run, self._run_write, fn))
