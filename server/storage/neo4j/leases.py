"""Leases on Neo4j: one ``(:Lease {name})`` node per lease (unique ``name``), mixed into
``Neo4jGraphStore``.

Acquiring is ONE write transaction: ``MERGE`` the node (the uniqueness constraint makes two
concurrent MERGEs of one name meet on one node), take its write lock with a dummy ``SET``
before reading it (so a concurrent acquirer waits for this commit and then reads the new
holder), then a conditional ``SET`` that changes the holder only when the lease is free,
expired or already ours. Times come from the database's clock (``datetime()``), so processes
on hosts with skewed clocks still agree on expiry. Not catalog content: no audit event, not
exported, not counted by ``is_empty``.
"""

from __future__ import annotations

from server.models_lease import Lease
from server.storage.neo4j import base, cypher, records
from server.storage.neo4j.base import Neo4jBase, Tx


def _check(name: str, holder: str, ttl: float | None = None) -> None:
    if not name or not holder:
        raise ValueError("a lease needs a name and a holder")
    if ttl is not None and not ttl > 0:
        raise ValueError(f"a lease's ttl must be positive seconds, got {ttl!r}")


class LeasesMixin(Neo4jBase):
    async def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        _check(name, holder, ttl_seconds)

        async def work(tx: Tx) -> bool:
            found = await base.one(tx, cypher.LEASE_ACQUIRE, name=name, holder=holder,
                                   ttl_ms=int(ttl_seconds * 1000))
            return bool(found and found["free"])
        return await self._write(work)

    async def renew_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        _check(name, holder, ttl_seconds)

        async def work(tx: Tx) -> bool:
            return await base.one(tx, cypher.LEASE_RENEW, name=name, holder=holder,
                                  ttl_ms=int(ttl_seconds * 1000)) is not None
        return await self._write(work)

    async def release_lease(self, name: str, holder: str) -> bool:
        _check(name, holder)

        async def work(tx: Tx) -> bool:
            return await base.one(tx, cypher.LEASE_RELEASE, name=name, holder=holder) is not None
        return await self._write(work)

    async def get_lease(self, name: str) -> Lease | None:
        async def work(tx: Tx) -> Lease | None:
            found = await base.one(tx, cypher.LEASE_GET, name=name)
            if found is None:
                return None
            m = found["l"]
            return Lease(name=m["name"], holder=m["holder"],
                         acquired_at=records.ts(m["acquired_at"]),
                         expires_at=records.ts(m["expires_at"]))
        return await self._read(work)
