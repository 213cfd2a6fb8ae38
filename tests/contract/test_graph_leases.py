"""Contract: leases (server/scheduler.py runs a job in one process at a time). Acquiring is
atomic across store instances on one catalog (as two processes would hold them): of many
concurrent acquirers one wins; an expired lease is taken over and its old holder can neither
renew nor release it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from server.storage.graph import GraphStore
from server.storage.neo4j.store import Neo4jGraphStore
from server.storage.sqlite.store import SQLiteGraphStore


@pytest.fixture
async def twin(graph: GraphStore) -> AsyncIterator[GraphStore]:
    """A second store instance on the same catalog: its own connections, like another process."""
    if isinstance(graph, SQLiteGraphStore):
        other: GraphStore = SQLiteGraphStore(graph.path)
    else:
        assert isinstance(graph, Neo4jGraphStore)
        other = Neo4jGraphStore(graph.uri, user=os.environ.get("PESO_TEST_NEO4J_USER", "neo4j"),
                                password=os.environ.get("PESO_TEST_NEO4J_PASSWORD", "neo4j"),
                                database=graph.database)
    await other.open()
    try:
        yield other
    finally:
        await other.close()


async def test_acquire_renew_release(graph: GraphStore) -> None:
    assert await graph.get_lease("job:report") is None
    assert await graph.acquire_lease("job:report", "host-a:1", 30) is True
    first = await graph.get_lease("job:report")
    assert first is not None
    assert (first.name, first.holder) == ("job:report", "host-a:1")
    assert 25 < (first.expires_at - first.acquired_at).total_seconds() <= 31
    # its holder may take it again (its expiry moves on, acquired_at stays); nobody else may
    assert await graph.acquire_lease("job:report", "host-a:1", 60) is True
    again = await graph.get_lease("job:report")
    assert again is not None
    assert again.acquired_at == first.acquired_at
    assert again.expires_at > first.expires_at
    assert await graph.acquire_lease("job:report", "host-b:2", 30) is False
    assert await graph.renew_lease("job:report", "host-b:2", 30) is False
    assert await graph.release_lease("job:report", "host-b:2") is False
    assert await graph.renew_lease("job:report", "host-a:1", 120) is True
    renewed = await graph.get_lease("job:report")
    assert renewed is not None
    assert renewed.expires_at > again.expires_at
    # another name is another lease
    assert await graph.acquire_lease("job:harvest", "host-b:2", 30) is True
    assert await graph.release_lease("job:report", "host-a:1") is True
    assert await graph.get_lease("job:report") is None
    assert await graph.acquire_lease("job:report", "host-b:2", 30) is True
    assert await graph.release_lease("job:report", "host-a:1") is False


async def test_bad_arguments_are_refused(graph: GraphStore) -> None:
    for name, holder, ttl in (("", "h", 1.0), ("n", "", 1.0), ("n", "h", 0.0),
                              ("n", "h", -5.0)):
        with pytest.raises(ValueError, match="lease"):
            await graph.acquire_lease(name, holder, ttl)
    assert await graph.get_lease("n") is None


async def test_of_concurrent_acquirers_exactly_one_wins(graph: GraphStore,
                                                       twin: GraphStore) -> None:
    for round_ in range(3):
        name = f"job:race-{round_}"
        holders = [((graph, twin)[n % 2], f"p{n}") for n in range(8)]
        won = await asyncio.gather(*(store.acquire_lease(name, holder, 30)
                                     for store, holder in holders))
        assert sum(won) == 1, won
        winner = holders[won.index(True)][1]
        for store in (graph, twin):
            lease = await store.get_lease(name)
            assert lease is not None
            assert lease.holder == winner


async def test_an_expired_lease_is_taken_over(graph: GraphStore, twin: GraphStore) -> None:
    assert await graph.acquire_lease("job:report", "old", 0.3) is True
    assert await twin.acquire_lease("job:report", "new", 30) is False  # not expired yet
    await asyncio.sleep(0.6)
    assert await twin.acquire_lease("job:report", "new", 30) is True
    lease = await graph.get_lease("job:report")
    assert lease is not None
    assert lease.holder == "new"
    # the old holder lost it: it cannot renew or release what is no longer its own
    assert await graph.renew_lease("job:report", "old", 30) is False
    assert await graph.release_lease("job:report", "old") is False
    assert await graph.acquire_lease("job:report", "old", 30) is False
    # concurrent takeover of an expired lease: still exactly one winner
    assert await graph.acquire_lease("job:other", "old", 0.2) is True
    await asyncio.sleep(0.5)
    won = await asyncio.gather(*(s.acquire_lease("job:other", h, 30) for s, h in
                                 ((graph, "x"), (twin, "y"), (graph, "z"), (twin, "w"))))
    assert sum(won) == 1, won
