"""A bare Starlette JSON endpoint doing the same store reads as the benchmarked GraphQL query,
through the same SQLiteGraphStore on the same catalog file: the baseline GraphQL is compared
with. Serve it with uvicorn (one worker), as ``bench/graphql_vs_bare.py`` does:

    PESO_DATA_DIR=… python -m uvicorn --app-dir bench bare_app:app --port 8001

POST /dataset {"namespace": …, "name": …} answers exactly what the GraphQL query
``dataset(namespace,name){ name description tags{name} latestVersion{ rowCount
fields{ name arrowType } } }`` answers: ``{"data": {"dataset": …}}``.
Reads: get_dataset, then get_latest_versions and get_tags concurrently (as the GraphQL
DataLoaders do in one tick), then get_fields.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.settings import Settings
from server.storage import factory

settings = Settings.from_env()
graph = factory.graph_store(settings)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await graph.open()
    try:
        yield
    finally:
        await graph.close()


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def dataset(request: Request) -> Response:
    body = await request.json()
    found = await graph.get_dataset(body["namespace"], body["name"])
    if found is None:
        return JSONResponse({"data": {"dataset": None}})
    (latest,), (tags,) = await asyncio.gather(graph.get_latest_versions([found.id]),
                                              graph.get_tags([found.id]))
    version: dict[str, Any] | None = None
    if latest is not None:
        [fields] = await graph.get_fields([latest.id])
        version = {"rowCount": latest.row_count,
                   "fields": [{"name": f.name, "arrowType": f.arrow_type} for f in fields]}
    return JSONResponse({"data": {"dataset": {
        "name": found.name, "description": found.description,
        "tags": [{"name": t.name} for t in tags], "latestVersion": version}}})


app = Starlette(routes=[Route("/healthz", healthz), Route("/dataset", dataset, methods=["POST"])],
                lifespan=lifespan)
