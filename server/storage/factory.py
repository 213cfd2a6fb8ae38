"""Open the stores a Settings object names. The only place that maps URL schemes to backends;
backend modules are imported lazily so that an unused driver is never loaded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from server.settings import Settings, parse_graph_url, parse_objects_url
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore


def graph_store(settings: Settings, url: str | None = None) -> GraphStore:
    scheme, location = parse_graph_url(url or settings.graph_url)
    if scheme == "sqlite":
        from server.storage.sqlite.store import SQLiteGraphStore

        return SQLiteGraphStore(location)
    from server.storage.neo4j.store import Neo4jGraphStore

    store: GraphStore = Neo4jGraphStore(location, user=settings.neo4j_user,
                                        password=settings.neo4j_password,
                                        database=settings.neo4j_database,
                                        max_lineage_depth=settings.max_lineage_depth)
    return store


def object_store(settings: Settings, url: str | None = None) -> ObjectStore:
    scheme, location, prefix = parse_objects_url(url or settings.objects_url)
    if scheme == "file":
        from server.storage.local import LocalObjectStore

        return LocalObjectStore(location)
    from server.storage.s3 import S3ObjectStore

    store: ObjectStore = S3ObjectStore(bucket=location, prefix=prefix,
                                       endpoint=settings.s3_endpoint, region=settings.s3_region,
                                       access_key=settings.s3_access_key,
                                       secret_key=settings.s3_secret_key)
    return store


StoreWork = Callable[[GraphStore, ObjectStore], Coroutine[Any, Any, int]]


def run_with_stores(settings: Settings, work: StoreWork) -> int:
    """Open the configured stores, run ``work(graph, objects)`` to completion and close them
    again, whatever happens: how every `peso` command that touches the catalog runs."""
    async def run() -> int:
        graph, objects = graph_store(settings), object_store(settings)
        await graph.open()
        try:
            await asyncio.to_thread(objects.open)
            try:
                return await work(graph, objects)
            finally:
                objects.close()
        finally:
            await graph.close()
    return asyncio.run(run())
