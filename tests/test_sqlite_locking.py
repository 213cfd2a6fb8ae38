"""SQLite under contention: a write that finds the database locked past busy_timeout is rolled
back and retried (bounded), not an error; two processes opening a new catalog at once both
migrate it without tripping over each other."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from server.storage.sqlite.db import Database, is_locked
from server.storage.sqlite.store import SQLiteGraphStore


def hold_write_lock(path: Path, seconds: float, ready: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    conn.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


async def test_a_locked_write_is_retried_not_failed(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    retries: list[int] = []
    db = Database(str(path), busy_timeout_ms=50, lock_retries=6,
                  on_lock=lambda: retries.append(1))
    db.open()
    try:
        ready = threading.Event()
        holder = threading.Thread(target=hold_write_lock, args=(path, 0.5, ready))
        holder.start()
        ready.wait(5)
        begun = time.monotonic()
        written = await db.write(lambda c: c.execute(
            "INSERT INTO sources (id, name, kind, created_at, updated_at) "
            "VALUES ('s1', 'late', 'other', 'now', 'now')").rowcount)
        holder.join()
        assert written == 1
        assert retries
        assert time.monotonic() - begun >= 0.3
        assert await db.read(lambda c: [tuple(r) for r in c.execute("SELECT name FROM sources")]
                             ) == [("late",)]
    finally:
        db.close()


async def test_retries_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    db = Database(str(path), busy_timeout_ms=20, lock_retries=2)
    db.open()
    ready = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, 0.6, ready))
    holder.start()
    try:
        ready.wait(5)
        with pytest.raises(sqlite3.OperationalError) as raised:
            await db.write(lambda c: c.execute("DELETE FROM sources"))
        assert is_locked(raised.value)
    finally:
        holder.join()
        db.close()


def test_two_processes_migrating_a_new_catalog_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "catalog.db")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_close() -> None:
        db = Database(path)
        barrier.wait()
        try:
            db.open()
            db.close()
        except BaseException as exc:
            errors.append(exc)
    threads = [threading.Thread(target=open_close) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 4
        assert conn.execute("SELECT count(*) FROM api_tokens").fetchone() == (0,)


async def test_the_store_retries_and_counts_lock_waits(tmp_path: Path) -> None:
    from server import metrics

    store = SQLiteGraphStore(str(tmp_path / "catalog.db"))
    assert store.db.lock_retries >= 1
    assert store.db.busy_timeout_ms >= 1000
    counter = metrics.STORE_ERRORS.labels(store="sqlite", kind="lock_retry")
    before = counter._value.get()
    assert store.db.on_lock is not None
    store.db.on_lock()
    assert counter._value.get() == before + 1
