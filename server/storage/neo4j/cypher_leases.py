"""Cypher of the leases (server/storage/neo4j/leases.py, which explains the locking).
Re-exported by ``cypher.py``, whose rules apply."""

from __future__ import annotations

LEASE_ACQUIRE = """
MERGE (l:Lease {name: $name})
ON CREATE SET l.expires_at = datetime({epochMillis: 0}),
              l.acquired_at = datetime()
SET l.locked = true
WITH l, (l.holder IS NULL OR l.holder = $holder OR l.expires_at <= datetime()) AS free,
     coalesce(l.holder = $holder AND l.expires_at > datetime(), false) AS kept
SET l.holder = CASE WHEN free THEN $holder ELSE l.holder END,
    l.acquired_at = CASE WHEN free AND NOT kept THEN datetime() ELSE l.acquired_at END,
    l.expires_at = CASE WHEN free THEN datetime() + duration({milliseconds: $ttl_ms})
                   ELSE l.expires_at END
REMOVE l.locked
RETURN free
"""
LEASE_RENEW = """
MATCH (l:Lease {name: $name}) WHERE l.holder = $holder
SET l.expires_at = datetime() + duration({milliseconds: $ttl_ms})
RETURN true AS ok
"""
LEASE_RELEASE = """
MATCH (l:Lease {name: $name}) WHERE l.holder = $holder
DELETE l
RETURN true AS ok
"""
LEASE_GET = """
MATCH (l:Lease {name: $name}) WHERE l.holder IS NOT NULL
RETURN l {.*} AS l
"""
