"""The id of the request (or CLI run) being served, as a context variable.

Set once per HTTP request by the app's middleware (``server.observe``) and once per CLI
command; read by the log formatter, the audit writers of both graph stores (so every audit
event names the request that made it) and masked GraphQL errors. Context variables follow
asyncio tasks; ``server.storage.sqlite.db`` copies the context into its worker threads.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from contextvars import ContextVar

_REQUEST_ID: ContextVar[str | None] = ContextVar("peso_request_id", default=None)
# what a caller may send in X-Request-Id and have echoed back (anything else is replaced)
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{8,64}\Z")


def new_request_id() -> str:
    return secrets.token_hex(8)


def accepted_request_id(sent: str | None) -> str:
    """The caller's own X-Request-Id when it is a short, plain token; else a fresh id."""
    if sent and _ACCEPTED.match(sent):
        return sent
    return new_request_id()


def current_request_id() -> str | None:
    return _REQUEST_ID.get()


@contextlib.contextmanager
def request_id(value: str) -> Iterator[str]:
    """Make ``value`` the current request id for the ``with`` block."""
    token = _REQUEST_ID.set(value)
    try:
        yield value
    finally:
        _REQUEST_ID.reset(token)


def set_request_id(value: str | None) -> None:
    """Set the request id for the rest of this context (a CLI run)."""
    _REQUEST_ID.set(value)
