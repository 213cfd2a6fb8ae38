"""Backends for the contract suite. Every test in ``tests/contract`` runs once per backend
listed here; a backend that cannot pass the suite is not done.

- ``sqlite`` (graph) and ``local`` (objects) always run.
- ``s3`` (objects) runs against moto's S3 server on 127.0.0.1 (see ``tests/s3server.py``).
- ``neo4j`` (graph) runs when PESO_TEST_NEO4J_URI points at a live server; skipped otherwise.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from server.storage.graph import GraphStore
from server.storage.local import LocalObjectStore
from server.storage.neo4j.store import Neo4jGraphStore
from server.storage.objects import ObjectStore
from server.storage.s3 import S3ObjectStore
from server.storage.sqlite.store import SQLiteGraphStore
from tests.s3server import S3Endpoint, drop_bucket, fresh_bucket, s3_server  # noqa: F401

GRAPH_BACKENDS = ["sqlite", "neo4j"]


def neo4j_from_env() -> Neo4jGraphStore:
    """The test Neo4j named by PESO_TEST_NEO4J_URI (PESO_TEST_NEO4J_USER/PASSWORD default to
    neo4j/neo4j, PESO_TEST_NEO4J_DATABASE to neo4j), not yet opened."""
    return Neo4jGraphStore(os.environ["PESO_TEST_NEO4J_URI"],
                           user=os.environ.get("PESO_TEST_NEO4J_USER", "neo4j"),
                           password=os.environ.get("PESO_TEST_NEO4J_PASSWORD", "neo4j"),
                           database=os.environ.get("PESO_TEST_NEO4J_DATABASE", "neo4j"))


async def wipe_neo4j(store: Neo4jGraphStore) -> None:
    """Delete every node and edge (constraints and indexes stay): a clean slate per test."""
    from server.storage.neo4j import base, cypher

    async def work(tx: base.Tx) -> None:
        await base.run(tx, cypher.WIPE)
    await store._write(work)


@asynccontextmanager
async def wiped_neo4j() -> AsyncIterator[Neo4jGraphStore]:
    """The test Neo4j opened and emptied, emptied again and closed after."""
    store = neo4j_from_env()
    await store.open()
    try:
        await wipe_neo4j(store)
        yield store
    finally:
        await wipe_neo4j(store)
        await store.close()
OBJECT_BACKENDS = ["local", "s3"]


@pytest.fixture(params=GRAPH_BACKENDS)
async def graph(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[GraphStore]:
    if request.param == "sqlite":
        store: GraphStore = SQLiteGraphStore(str(tmp_path / "catalog.db"))
    else:
        uri = os.environ.get("PESO_TEST_NEO4J_URI")
        if not uri:
            pytest.skip("Neo4j contract tests need PESO_TEST_NEO4J_URI (e.g. "
                        "bolt://127.0.0.1:7687 from `docker compose up neo4j`)")
        store = neo4j_from_env()   # every test starts empty (wiped below)
    await store.open()
    if isinstance(store, Neo4jGraphStore):
        await wipe_neo4j(store)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=OBJECT_BACKENDS)
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        store: ObjectStore = LocalObjectStore(tmp_path / "objects")
    else:
        # a fresh bucket per test, no key prefix: a prefix shortens the longest key S3 takes
        # (1024 bytes in all), and tests/test_s3_store.py covers prefixes
        endpoint: S3Endpoint = request.getfixturevalue("s3_server")
        store = endpoint.store(fresh_bucket())
    store.open()
    try:
        yield store
    finally:
        if isinstance(store, S3ObjectStore):
            drop_bucket(store)
        store.close()
