"""Authorization for plain HTTP routes (everything but ``/graphql``, which checks per field).

Wrap an endpoint with ``guarded(Role.WRITER)`` (or ``guarded(None)`` for "may read under
PESO_AUTH"): the caller is authenticated from ``Authorization: Bearer …`` and refused with
401 (no or bad token) or 403 (role too low) before the endpoint runs; the endpoint finds the
caller in ``request.state.principal``. Inside an endpoint, ``await authorize(request, role)``
does the same and returns the principal or the refusal ``Response``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from server.auth import (
    AuthError,
    ForbiddenError,
    Principal,
    authenticate,
    may_read,
    require,
)
from server.models import Role

Endpoint = Callable[[Request], Awaitable[Response]]


def refusal(exc: AuthError | ForbiddenError) -> Response:
    """401 with a Bearer challenge, or 403; a GraphQL-shaped JSON body either way."""
    status = 401 if isinstance(exc, AuthError) else 403
    body = json.dumps({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]})
    headers = {"WWW-Authenticate": 'Bearer realm="peso"'} if status == 401 else {}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def principal_of(conn: HTTPConnection) -> Principal:
    """The caller of this request or websocket (cached on its state); AuthError for a bad
    token."""
    cached = getattr(conn.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    found = await authenticate(conn.app.state.graph, conn.headers.get("authorization"))
    conn.state.principal = found
    return found


async def authorize(conn: HTTPConnection, role: Role | None) -> Principal | Response:
    """The caller if allowed: ``role`` None means "may read" under PESO_AUTH."""
    try:
        principal = await principal_of(conn)
        if role is None:
            if not may_read(principal, conn.app.state.settings.auth):
                raise AuthError("this server needs an API token for every request "
                                "(PESO_AUTH=required): send `Authorization: Bearer <token>`")
        else:
            require(principal, role, f"{conn.scope.get('method', 'GET')} {conn.url.path}")
    except (AuthError, ForbiddenError) as exc:
        return refusal(exc)
    return principal


def guarded(role: Role | None) -> Callable[[Endpoint], Endpoint]:
    """Decorate an endpoint so that only callers allowed ``role`` reach it."""
    def wrap(endpoint: Endpoint) -> Endpoint:
        async def run(request: Request) -> Response:
            allowed = await authorize(request, role)
            if isinstance(allowed, Response):
                return allowed
            return await endpoint(request)
        run.__name__ = getattr(endpoint, "__name__", "endpoint")
        run.__doc__ = endpoint.__doc__
        return run
    return wrap
