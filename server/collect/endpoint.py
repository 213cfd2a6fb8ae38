"""``POST /api/v1/collect/{namespace}/{name}``: where machines post events.

Body: JSON Lines (``application/x-ndjson``) or a JSON array of objects, at most
PESO_MAX_BODY_BYTES and PESO_COLLECT_MAX_RECORDS records, not compressed. Caller: a writer
or admin token, or a ``collector`` token whose namespaces include ``{namespace}``.

Answers::

    200 {"batch", "accepted", "rejected", "rejectedKey", "reasons", "replayed"}
        the accepted records are on disk (fsynced) when this is sent; refused ones (with
        their reasons) are in the object store at rejectedKey; "reasons": the first five
    400 a body that holds no records to check (not JSON Lines, a broken JSON array, too
        many records); the body is kept under rejected/collect/
    401 / 403 no token / a token that may not post to this namespace
    409 the dataset exists and was loaded, not collected
    413 a body over PESO_MAX_BODY_BYTES
    429 + Retry-After: too many events wait to be written (PESO_COLLECT_BUFFER_ROWS)
    503 the collector is not running, or a store is down
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.auth import AuthError, ForbiddenError
from server.collect.collector import BufferFull, Collector
from server.errors import ConflictError, PesoError, StoreUnavailableError, ValidationError
from server.guard import principal_of, refusal

ROUTE = "/api/v1/collect/{namespace}/{name:path}"
MAX_IDEMPOTENCY_KEY = 200


async def collect_endpoint(request: Request) -> Response:
    namespace = request.path_params["namespace"]
    name = request.path_params["name"]
    try:
        principal = await principal_of(request)
        if not principal.authenticated:
            raise AuthError("posting events needs an API token (a writer, or a collector "
                            "token for this namespace): send `Authorization: Bearer <token>`")
        if not principal.may_collect(namespace):
            held = principal.role.value if principal.role else "no role"
            raise ForbiddenError(f"token {principal.name!r} ({held}) may not post events to "
                                 f"namespace {namespace!r}")
    except (AuthError, ForbiddenError) as exc:
        return refusal(exc)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return _error(415, f"Content-Encoding {encoding!r} is not accepted: send the events "
                           "uncompressed", "UNSUPPORTED_MEDIA_TYPE")
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        return _error(400, f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} characters",
                      ValidationError.code)
    collector: Collector = request.app.state.collector
    body = await request.body()
    try:
        reply = await collector.accept(namespace, name, body, idempotency_key=key,
                                       actor=principal.name)
    except BufferFull as exc:
        return _error(429, exc.message, exc.code, {"Retry-After": str(exc.retry_after)})
    except ValidationError as exc:
        return _error(400, exc.message, exc.code)
    except ConflictError as exc:
        return _error(409, exc.message, exc.code)
    except StoreUnavailableError as exc:
        return _error(503, exc.message, exc.code, {"Retry-After": "5"})
    except PesoError as exc:
        return _error(503, exc.message, exc.code)
    return JSONResponse({"dataset": f"{namespace}/{name}", **reply})


def _error(status: int, message: str, code: str,
           headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]},
                        status_code=status, headers=headers)
