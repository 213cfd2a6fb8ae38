"""Backends for the contract suite. Every test in ``tests/contract`` runs once per backend
listed here; a backend that cannot pass the suite is not done.

- ``sqlite`` (graph) and ``local`` (objects) always run.
- ``s3`` (objects) runs against moto's S3 server on 127.0.0.1 (see ``tests/s3server.py``).
- ``neo4j`` (graph) runs when PESO_TEST_NEO4J_URI points at a live server; skipped otherwise.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from server.storage.graph import GraphStore
from server.storage.local import LocalObjectStore
from server.storage.objects import ObjectStore
from server.storage.sqlite.store import SQLiteGraphStore

GRAPH_BACKENDS = ["sqlite", "neo4j"]
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
        pytest.skip("Neo4j graph store not implemented yet")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=OBJECT_BACKENDS)
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        store: ObjectStore = LocalObjectStore(tmp_path / "objects")
    else:
        pytest.skip("S3 object store not implemented yet")
    store.open()
    try:
        yield store
    finally:
        store.close()
