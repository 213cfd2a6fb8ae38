"""Leases on SQLite (table ``leases``, migration 0008), mixed into ``SQLiteGraphStore``.

Each call is one ``BEGIN IMMEDIATE`` write transaction, so acquirers in several processes are
serialized by SQLite's write lock; acquiring is one upsert whose ``WHERE`` lets it through
only when the lease is free, expired or already ours. Leases are not catalog content: no
audit event, not exported.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

from server.models_lease import Lease
from server.storage.sqlite.db import Database

ACQUIRE = """
INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    acquired_at = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > ?
                       THEN leases.acquired_at ELSE excluded.acquired_at END,
    holder = excluded.holder,
    expires_at = excluded.expires_at
WHERE leases.expires_at <= ? OR leases.holder = excluded.holder
"""
RENEW = "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?"
RELEASE = "DELETE FROM leases WHERE name = ? AND holder = ?"
SELECT = "SELECT name, holder, acquired_at, expires_at FROM leases WHERE name = ?"


def _check(name: str, holder: str, ttl: float | None = None) -> None:
    if not name or not holder:
        raise ValueError("a lease needs a name and a holder")
    if ttl is not None and not ttl > 0:
        raise ValueError(f"a lease's ttl must be positive seconds, got {ttl!r}")


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class LeasesMixin:
    db: Database

    async def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        _check(name, holder, ttl_seconds)

        def run(c: sqlite3.Connection) -> bool:
            now = time.time()
            c.execute(ACQUIRE, (name, holder, now, now + ttl_seconds, now, now))
            return bool(c.execute("SELECT changes()").fetchone()[0])
        return await self.db.write(run)

    async def renew_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        _check(name, holder, ttl_seconds)

        def run(c: sqlite3.Connection) -> bool:
            return c.execute(RENEW, (time.time() + ttl_seconds, name, holder)).rowcount == 1
        return await self.db.write(run)

    async def release_lease(self, name: str, holder: str) -> bool:
        _check(name, holder)
        return await self.db.write(lambda c: c.execute(RELEASE, (name, holder)).rowcount == 1)

    async def get_lease(self, name: str) -> Lease | None:
        row = await self.db.read(lambda c: c.execute(SELECT, (name,)).fetchone())
        if row is None:
            return None
        return Lease(name=row["name"], holder=row["holder"], acquired_at=_at(row["acquired_at"]),
                     expires_at=_at(row["expires_at"]))
