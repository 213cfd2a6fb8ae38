"""The outermost middleware: a request id for every request, HTTP metrics, one access-log
line, and a last line of defence that answers an escaped exception with a masked 500.

The request id is the caller's own ``X-Request-Id`` when it is a plain token of 8-64
characters, else a fresh one; it is set as the current request id (``server.requestctx``)
for everything the request runs — log lines, audit events, masked GraphQL errors — and sent
back in the ``X-Request-Id`` response header.
"""

from __future__ import annotations

import json
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import logs, metrics
from server.requestctx import accepted_request_id, request_id

log = logging.getLogger("peso.http")
HEADER = b"x-request-id"


def route_label(scope: Scope) -> str:
    """The matched route's template (``/objects/{key:path}``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        logs.install_record_factory()  # every log line of a request names its id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(HEADER)
        rid = accepted_request_id(sent.decode("latin-1") if sent else None)
        scope.setdefault("state", {})["request_id"] = rid
        if scope["type"] == "websocket":
            with request_id(rid):
                await self.app(scope, receive, send)
            return
        await self._http(scope, receive, send, rid)

    async def _http(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        status = 500
        started = False
        begun = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, rid.encode())]}
            await send(message)

        with request_id(rid):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
                metrics.store_error("server", "unhandled")
                if started:
                    raise
                await _masked_500(send_with_id, rid)
            finally:
                elapsed = time.perf_counter() - begun
                method, route = scope.get("method", "GET"), route_label(scope)
                metrics.HTTP_REQUESTS.labels(method=method, route=route,
                                             status=str(status)).inc()
                metrics.HTTP_LATENCY.labels(method=method, route=route).observe(elapsed)
                log.info("%s %s %d %.1fms", method, scope.get("path"), status,
                         elapsed * 1000, extra={"method": method, "path": scope.get("path"),
                                                "status": status,
                                                "duration_ms": round(elapsed * 1000, 1)})


async def _masked_500(send: Send, rid: str) -> None:
    body = json.dumps({"errors": [{"message": "Unexpected error.",
                                   "extensions": {"code": "INTERNAL", "requestId": rid}}]
                       }).encode()
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
