"""The composition root: settings → stores → schema → Starlette app (with lifespan)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loaders import limits
from schema.root import build_schema
from server import __version__, catalog_export, downloads, metrics, semantic, web_ui
from server.collect import endpoint as collect
from server.collect.collector import Collector
from server.errors import PesoError
from server.graphql_http import PesoGraphQL
from server.guard import guarded
from server.mcp_server import build_mcp
from server.mcp_server import http_routes as mcp_routes
from server.observe import RequestContext
from server.openlineage import consumer as openlineage
from server.settings import Settings
from server.storage import factory
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

log = logging.getLogger("peso.app")


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 before the GraphQL layer reads them."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int,
                 spool_limit: int | None = None, body_timeout: float | None = None) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit
        # longest wait for the next chunk of a body still arriving (PESO_BODY_TIMEOUT_SECONDS):
        # a client that trickles or stalls its body is answered 408 instead of holding a slot
        self.body_timeout = body_timeout
        # bytes of multipart bodies being received right now, all requests together: what
        # Starlette's form parser may have spooled to disk (PESO_MAX_UPLOAD_SPOOL_BYTES)
        self.spool_limit, self.spooling = spool_limit, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
        limit, setting = ((self.upload_limit, "PESO_MAX_UPLOAD_BYTES") if multipart
                          else (self.limit, "PESO_MAX_BODY_BYTES"))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit, setting)
            return
        seen, complete = 0, False
        spool = self.spool_limit if multipart else None

        async def counted() -> Message:
            nonlocal seen, complete
            if complete or self.body_timeout is None:  # e.g. waiting for http.disconnect
                message = await receive()
            else:
                try:
                    message = await asyncio.wait_for(receive(), self.body_timeout)
                except TimeoutError:
                    raise _TooSlow from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            size = len(message.get("body", b""))
            seen += size
            if seen > limit:
                raise _TooLarge
            if spool is not None:
                self.spooling += size
                if self.spooling > spool:
                    raise _SpoolFull
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send, limit, setting)
        except _TooSlow:
            body = json.dumps({"errors": [{"message": (
                f"the request body stalled: no bytes for {self.body_timeout:g} s "
                "(PESO_BODY_TIMEOUT_SECONDS)")}]}).encode()
            await send({"type": "http.response.start", "status": 408,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
        except _SpoolFull:
            await self._refuse(send, spool or 0, "PESO_MAX_UPLOAD_SPOOL_BYTES", status=503,
                               what="uploads being received together exceed")
        finally:
            if spool is not None:
                self.spooling -= seen

    async def _refuse(self, send: Send, limit: int, setting: str, *, status: int = 413,
                      what: str = "request body exceeds") -> None:
        body = json.dumps({"errors": [{"message": f"{what} {limit} bytes "
                                                  f"({setting})"}]}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class _SpoolFull(Exception):
    pass


class _TooSlow(Exception):
    pass


def create_app(settings: Settings | None = None, *, graph: GraphStore | None = None,
               objects: ObjectStore | None = None) -> Starlette:
    """Build the ASGI app. Stores passed in are opened and closed by the app's lifespan."""
    settings = settings or Settings.from_env()
    limits.configure(limits.from_settings(settings))  # what uploads may expand to
    graph = graph or factory.graph_store(settings)
    objects = objects or factory.object_store(settings)
    schema = build_schema(settings)
    graphql = PesoGraphQL(schema, settings=settings, graph=graph, objects=objects)
    mcp = build_mcp(schema, settings, graph, objects)  # MCP over streamable HTTP at /mcp
    collector = Collector(settings, graph, objects)   # POST /api/v1/collect/… (server/collect)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await graph.open()
        objects.open()
        try:
            await collector.start()   # first flushes what a killed predecessor left
            async with mcp.session_manager.run():
                yield
        finally:
            try:
                await collector.stop()    # every acknowledged event written before we go
            finally:
                await semantic.stop(graph)  # background embedding, if a search started one
                objects.close()
                await graph.close()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> Response:
        checks: dict[str, Any] = {}
        for name, check in (("graph", graph.health), ("objects", _sync(objects.health))):
            try:
                await check()
                checks[name] = "ok"
            except PesoError as exc:
                checks[name] = exc.message
                metrics.store_error(name, "unavailable")
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "unavailable", "checks": checks},
                            status_code=200 if ready else 503)

    @guarded(None)  # follows the read policy (PESO_AUTH)
    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    app = Starlette(routes=[
        Route("/", web_ui.index, methods=["GET"]),  # the web UI (server/web_ui.py)
        Mount(web_ui.ASSETS_ROUTE, web_ui.Assets()),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),   # subscriptions (graphql-transport-ws)
        Route(openlineage.ROUTE, openlineage.lineage_endpoint, methods=["POST"]),
        Route(collect.ROUTE, collect.collect_endpoint, methods=["POST"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route(downloads.ROUTE, downloads.serve_object, methods=["GET"]),
        *(Route(path, endpoint, methods=["GET"]) for path, endpoint in catalog_export.ROUTES),
        *mcp_routes(mcp, graph, settings),
    ], lifespan=lifespan)
    app.state.settings, app.state.graph, app.state.objects = settings, graph, objects
    app.state.collector = collector
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes,
                       upload_limit=settings.max_upload_bytes,
                       spool_limit=settings.max_upload_spool_bytes,
                       body_timeout=settings.body_timeout_seconds)
    app.add_middleware(RequestContext)  # outermost: request ids, metrics, access log
    return app


def _sync(fn: Any) -> Any:
    async def run() -> None:
        import asyncio

        await asyncio.to_thread(fn)
    return run
