"""The web UI's pages and assets, served from the built files shipped in the package
(``server/web_static``, made from ``web/`` by ``npm run build --prefix web``; see
docs/ARCHITECTURE.md "Web UI"). Nothing here reads the catalog: the pages fetch everything
through ``/graphql`` with the caller's own token, so roles and PII masking are the API's.

Every response carries a Content-Security-Policy that lets a page load and connect only to
this server (``'self'``): a page cannot reach any other host even if a catalog value held a
URL, and ``frame-ancestors 'none'`` keeps it out of other sites' frames. Asset names carry no
content hash, so they are sent with ``Cache-Control: no-cache`` (revalidated by ETag).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent / "web_static"
ASSETS_ROUTE = "/assets"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}
NOT_BUILT = ("Peso's web UI is not built in this installation ({missing} is missing). "
             "From a source checkout: npm ci --prefix web && npm run build --prefix web. "
             "The GraphQL API at /graphql works without it.")


def _page(name: str) -> Response:
    path = STATIC_DIR / name
    if not path.is_file():
        return PlainTextResponse(NOT_BUILT.format(missing=f"server/web_static/{name}"),
                                 status_code=503, headers={"Cache-Control": "no-cache"})
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=HEADERS)


async def index(request: Request) -> Response:
    """The catalog UI (home, dataset, lineage and sign-in pages; hash-routed)."""
    return _page("index.html")


def graphiql_page() -> Response:
    """GraphiQL, bundled: what a browser gets from GET /graphql."""
    return _page("graphiql.html")


class Assets:
    """The built scripts, styles and the layout worker, with the UI's headers."""

    def __init__(self) -> None:
        self.files = StaticFiles(directory=STATIC_DIR / "assets", check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))  # type: ignore[call-overload]
                present = {k.lower() for k, _ in headers}
                headers += [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()
                            if k.lower().encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        if not (STATIC_DIR / "assets").is_dir():
            response = PlainTextResponse(NOT_BUILT.format(missing="server/web_static/assets"),
                                         status_code=404)
            await response(scope, receive, send)
            return
        await self.files(scope, receive, with_headers)  # type: ignore[arg-type]
