"""A deadline for request headers (slowloris), which uvicorn does not have.

uvicorn's keep-alive timer is cancelled by any byte that arrives, so a client that trickles a
header line every few seconds holds a connection (and its memory) for ever; a few hundred of
them exhaust the server. This is uvicorn's own httptools protocol with one timer added: from
the moment a connection opens, or a request on a kept-alive connection begins, the complete
header block must arrive within ``PESO_HEADER_TIMEOUT_SECONDS``; otherwise the client gets
``408 Request Timeout`` and the connection is closed. Bodies have their own deadline
(``PESO_BODY_TIMEOUT_SECONDS``, server/app.py).

``peso serve`` passes this class to uvicorn as its ``http`` protocol; worker processes
(``--workers N``) read the timeout from the environment they inherit.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.settings import Settings

log = logging.getLogger("peso.http")

_timeout: float | None = None  # set by configure(); else read once from the environment


def configure(seconds: float) -> None:
    global _timeout
    _timeout = seconds


def header_timeout() -> float:
    global _timeout
    if _timeout is None:
        _timeout = Settings.from_env(os.environ).header_timeout_seconds
    return _timeout


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's header block."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._headers_timeout = header_timeout()

    def _arm(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self._headers_timeout,
                                                         self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # a new request on a kept-alive connection: its headers are timed too

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        log.warning("request headers from %s not complete within %.1f s "
                    "(PESO_HEADER_TIMEOUT_SECONDS): 408, connection closed",
                    self.client[0] if self.client else "?", self._headers_timeout)
        message = (b"request headers did not arrive within PESO_HEADER_TIMEOUT_SECONDS")
        self.transport.write(b"HTTP/1.1 408 Request Timeout\r\n"
                             b"content-type: text/plain; charset=utf-8\r\n"
                             b"content-length: " + str(len(message)).encode() + b"\r\n"
                             b"connection: close\r\n\r\n" + message)
        self.transport.close()
