"""GraphQL over HTTP: Strawberry's ASGI view, plus what the GraphQL-over-HTTP spec asks and
bare Strawberry leaves out — answering ``application/graphql-response+json`` when the client
accepts it (with 4xx for request errors), and a typed per-request Context — plus the caller:
a bad or revoked token is refused with 401 before any GraphQL runs, as is an anonymous caller
when PESO_AUTH=required (the GraphiQL page itself excepted); roles are then checked per field
(``schema.permissions``). A multipart upload is refused
unread unless the caller holds the writer role: its body is never spooled for anyone
else. Websockets authenticate with the same header on the handshake or
``{"Authorization": "Bearer …"}`` in the ``connection_init`` payload."""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from schema.context import Context
from server import web_ui
from server.auth import ANONYMOUS, AuthError, ForbiddenError, authenticate, may_read, require
from server.guard import principal_of, refusal
from server.json_body import BadJson
from server.json_body import load as load_json
from server.models import Role
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

GRAPHQL_RESPONSE = "application/graphql-response+json"
# the JSON body this request's shape check parsed, so Strawberry does not parse it again
_PARSED_BODY: ContextVar[tuple[bytes, Any] | None] = ContextVar("peso_parsed_body", default=None)
# A multipart POST is a "simple" request a browser sends cross-site without a preflight; one of
# these non-simple headers proves the caller is not a forged form (the multipart spec's advice).
CSRF_HEADERS = ("x-peso-upload", "apollo-require-preflight", "x-apollo-operation-name",
                "graphql-preflight")


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/")


def _csrf_refusal() -> Response:
    body = {"errors": [{"message": "multipart uploads need a CSRF-safe header: send "
                                   "`X-Peso-Upload: 1` (or Apollo-Require-Preflight)"}]}
    return Response(json.dumps(body), status_code=400, media_type="application/json")


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _plain_refusal(message: str) -> Response:
    return Response(json.dumps({"errors": [{"message": message}]}), status_code=400,
                    media_type="application/json")


async def _shape_refusal(request: Request, max_depth: int) -> Response | None:
    """A 400 for a JSON body (or GET ``variables`` / ``extensions``) that is not JSON, nests
    past PESO_MAX_JSON_DEPTH, or is not a GraphQL request object (``null``, a string, a
    number…), which Strawberry would otherwise answer with a 500."""
    try:
        if request.method == "POST" and "json" in request.headers.get("content-type", ""):
            body = await request.body()
            payload = load_json(body, max_depth=max_depth)
            _PARSED_BODY.set((body, payload))
            if not isinstance(payload, dict):
                kind = "null" if payload is None else type(payload).__name__
                return _plain_refusal("a GraphQL request body is a JSON object "
                                      f'{{"query": …, "variables": {{…}}}}, not {kind}')
        for key in ("variables", "extensions"):
            if key in request.query_params:
                value = load_json(request.query_params[key], max_depth=max_depth,
                                  what=f"the `{key}` parameter")
                if value is not None and not isinstance(value, dict):
                    return _plain_refusal(f"the `{key}` parameter is a JSON object")
    except BadJson as exc:
        return _plain_refusal(str(exc))
    return None


def _wants_ide(request: Request) -> bool:
    """A browser asking for the GraphiQL page (which holds no data; its queries are checked)."""
    return request.method == "GET" and "query" not in request.query_params \
        and "text/html" in request.headers.get("accept", "")


def prefers_graphql_response(accept: str) -> bool:
    """True when the Accept header asks for graphql-response+json at least as much as JSON."""
    best: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        best[media.lower()] = max(q, best.get(media.lower(), 0.0))
    ours = best.get(GRAPHQL_RESPONSE, 0.0)
    return ours > 0 and ours >= best.get("application/json", 0.0)


class PesoGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: Any, *, settings: Settings, graph: GraphStore,
                 objects: ObjectStore) -> None:
        super().__init__(schema, graphql_ide="graphiql" if settings.graphiql else None,
                         multipart_uploads_enabled=True)
        self.settings, self.graph, self.objects = settings, graph, objects

    def decode_json(self, data: str | bytes) -> object:
        """The body the shape check already parsed (json.loads of the same bytes object),
        else Strawberry's own parse."""
        parsed = _PARSED_BODY.get()
        if parsed is not None and parsed[0] is data:
            return parsed[1]
        return super().decode_json(data)

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the package's own build (server/web_static), not a CDN."""
        return web_ui.graphiql_page()

    async def get_context(self, request: Request | WebSocket,
                          response: Response | WebSocket) -> Context:
        principal = getattr(request.state, "principal", None) or ANONYMOUS
        return Context(settings=self.settings, graph=self.graph, objects=self.objects,
                       request=request, response=response, principal=principal,
                       request_id=request.scope.get("state", {}).get("request_id"))

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """A token in the connection_init payload (browsers cannot set headers on a
        websocket) replaces the handshake's; with PESO_AUTH=required one of them is needed."""
        params = context.connection_params if isinstance(context.connection_params, dict) \
            else {}
        header = params.get("Authorization") or params.get("authorization")
        if isinstance(header, str):
            try:
                context.principal = await authenticate(self.graph, header)
            except AuthError as exc:
                raise ConnectionRejectionError({"message": exc.message}) from exc
            context.actor = context.principal.name
        if not may_read(context.principal, self.settings.auth):
            raise ConnectionRejectionError({"message": "an API token is required"})
        return cast(UnsetType, UNSET)

    async def run(self, request: Any, context: Any = UNSET,
                  root_value: Any = UNSET) -> Any:
        try:
            principal = await principal_of(request)
        except AuthError as exc:
            if isinstance(request, WebSocket):
                return await self.reject_websocket(request)
            return refusal(exc)
        if isinstance(request, Request):
            if not may_read(principal, self.settings.auth) and not _wants_ide(request):
                return refusal(AuthError(
                    "this server needs an API token for every request (PESO_AUTH=required): "
                    "send `Authorization: Bearer <token>`"))
            if _is_multipart(request) and not any(h in request.headers for h in CSRF_HEADERS):
                return _csrf_refusal()
            if _is_multipart(request):
                # the only multipart operation is loadFile (a writer's): refuse everyone else
                # before Starlette parses the form, which spools every file part to disk
                try:
                    require(principal, Role.WRITER, "a multipart upload (loadFile)")
                except (AuthError, ForbiddenError) as exc:
                    return refusal(exc)
            if request.method == "POST" and not _is_multipart(request) \
                    and not _is_utf8(await request.body()):  # bounded by PESO_MAX_BODY_BYTES
                return _plain_refusal("the request body is not valid UTF-8")
            shape = await _shape_refusal(request, self.settings.max_json_depth)
            if shape is not None:
                return shape
        try:
            response = await super().run(request, context, root_value)
        finally:
            _PARSED_BODY.set(None)
            if isinstance(request, Request) and _is_multipart(request):
                await request.close()  # the uploaded parts' temp files, read or not
        if isinstance(request, Request) and isinstance(response, Response) \
                and prefers_graphql_response(request.headers.get("accept", "")) \
                and response.media_type == "application/json":
            _as_graphql_response(response)
        return response


def _as_graphql_response(response: Response) -> None:
    """Switch a JSON GraphQL response to graphql-response+json. A request error — the document
    did not parse or validate, so ``data`` is null and no error has a ``path`` — becomes 400
    without a ``data`` entry, as the GraphQL-over-HTTP spec asks for this media type."""
    response.media_type = GRAPHQL_RESPONSE
    response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
    body = bytes(response.body)
    if response.status_code != 200 or b'"errors"' not in body:
        return
    try:
        payload = json.loads(body)
    except ValueError:
        return
    if not isinstance(payload, dict):  # a batch: each entry speaks for itself
        return
    errors = payload.get("errors")
    if errors and payload.get("data") is None and not any("path" in e for e in errors):
        del payload["data"]
        response.body = json.dumps(payload, separators=(",", ":")).encode()
        response.headers["content-length"] = str(len(response.body))
        response.status_code = 400
