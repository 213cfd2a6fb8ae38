"""The only code of a harvest that talks to the network.

- **Where it may go**: http and https only; every host (and every redirect's host) is resolved
  and refused when any of its addresses is not a public one (private, loopback, link-local,
  multicast, reserved: RFC 1918, 127/8, 169.254/16, ::1, fc00::/7…), unless the host is in
  ``PESO_HARVEST_ALLOW_HOSTS`` (tests and intranet portals). At most 5 redirects.
- **Politeness**: robots.txt is read once per host and obeyed (user agent ``Peso``; a robots.txt
  answering 5xx means "do not crawl", RFC 9309); requests to one host go one at a time; a 429
  or 503 with ``Retry-After`` (seconds, at most ``MAX_RETRY_AFTER``) is waited for.
- **Patience, bounded**: a timeout per request (``PESO_HARVEST_TIMEOUT_SECONDS``), 3 retries
  with exponential backoff on network errors, 429 and 5xx, and a size cap on every body
  (``PESO_HARVEST_MAX_BYTES``), counted while it streams.
- **Conditional requests**: the ETag / Last-Modified of the last run are sent back; a 304
  answer means the portal's catalog is unchanged.

DNS rebinding (an address changing between the check and the connection) is not defended
against here; put harvests of untrusted URLs behind an egress proxy.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import logging
import socket
import tempfile
from dataclasses import dataclass, field
from typing import IO
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from server import __version__
from server.errors import ValidationError

logging.getLogger("httpx").setLevel(logging.WARNING)  # each request is in the run report
USER_AGENT = f"Peso/{__version__} (metadata catalog harvester)"
ROBOTS_AGENT = "Peso"
RETRIES = 3
BACKOFF_SECONDS = 0.5
MAX_RETRY_AFTER = 60.0
MAX_REDIRECTS = 5
SPOOL_BYTES = 8 << 20   # an answer larger than this waits in a temporary file, not in memory


class FetchError(Exception):
    """The document could not be fetched; the message says what and where, ``status`` the
    HTTP status when the server answered with one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    status: int             # 200, or 304 (not modified: ``body`` is empty)
    content_type: str | None
    etag: str | None
    last_modified: str | None
    file: IO[bytes] | None = None   # the body: in memory up to SPOOL_BYTES, else on disk

    @property
    def body(self) -> bytes:
        """The whole body in memory (for the formats that are parsed as one document)."""
        return b"" if self.file is None else _read_all(self.file)

    def close(self) -> None:
        """Free the body (its temporary file, when it was spooled to disk)."""
        if self.file is not None:
            self.file.close()

    def stream(self) -> IO[bytes]:
        """The body as a file positioned at its start (for streaming parsers)."""
        if self.file is None:
            return io.BytesIO()
        self.file.seek(0)
        return self.file


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass
class Fetcher:
    allow_hosts: frozenset[str] = frozenset()
    timeout: float = 30.0
    max_bytes: int = 256 << 20
    transport: httpx.AsyncBaseTransport | None = None
    _robots: dict[str, RobotFileParser | None] = field(default_factory=dict)
    _host_locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def check_url(self, url: str) -> None:
        """Refuse what a harvest may not fetch (scheme, non-public address)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(f"harvest URL {url!r} must be an http(s) URL with a host",
                                  field="url")
        host = parts.hostname.lower()
        if host in self.allow_hosts:
            return
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, ValueError) as exc:
            raise FetchError(f"{url}: cannot resolve host {host!r} ({exc})") from exc
        for info in infos:
            address = str(info[4][0])
            if not _public(address):
                raise ValidationError(
                    f"harvest URL {url!r}: host {host!r} resolves to {address}, which is not "
                    "a public address (private, loopback or link-local); add the host to "
                    "PESO_HARVEST_ALLOW_HOSTS to harvest it anyway", field="url")

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self.timeout, follow_redirects=False,
                                 headers={"User-Agent": USER_AGENT},
                                 transport=self.transport)

    async def get(self, url: str, *, etag: str | None = None,
                  last_modified: str | None = None, accept: str = "application/json"
                  ) -> Fetched:
        """GET ``url`` (checked, robots-respecting, retried, size-capped)."""
        await self._check_robots(url)
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        host = (urlsplit(url).hostname or "").lower()
        lock = self._host_locks.setdefault(host, asyncio.Lock())
        async with lock, self._client() as client:  # one request at a time per host
            return await self._get(client, url, headers)

    async def _get(self, client: httpx.AsyncClient, url: str, headers: dict[str, str]
                   ) -> Fetched:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            self.check_url(current)
            status, answer = await self._attempts(client, current, headers)
            if status in (301, 302, 303, 307, 308):
                answer.file.close()
                location = answer.headers.get("location")
                if not location:
                    raise FetchError(f"{current}: HTTP {status} without a Location header")
                current = urljoin(current, location)
                continue
            return answer_of(current, status, answer)
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")

    async def _attempts(self, client: httpx.AsyncClient, url: str, headers: dict[str, str]
                        ) -> tuple[int, _Answer]:
        last = ""
        for attempt in range(RETRIES + 1):
            try:
                answer = await self._once(client, url, headers)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                wait = BACKOFF_SECONDS * 2 ** attempt
            else:
                if answer.status != 429 and answer.status < 500:
                    return answer.status, answer
                answer.file.close()
                last = f"HTTP {answer.status}"
                wait = _retry_after(answer.headers.get("retry-after"),
                                    BACKOFF_SECONDS * 2 ** attempt)
            if attempt < RETRIES:
                await asyncio.sleep(wait)
        raise FetchError(f"{url}: {last} after {RETRIES + 1} attempts")

    async def _once(self, client: httpx.AsyncClient, url: str, headers: dict[str, str]
                    ) -> _Answer:
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned
        try:
            async with client.stream("GET", url, headers=headers) as response:
                size = 0
                if response.status_code == 200:
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise FetchError(f"{url}: the answer is larger than "
                                             f"{self.max_bytes:,} bytes (PESO_HARVEST_MAX_BYTES)")
                        spool.write(chunk)
                spool.seek(0)
                return _Answer(response.status_code, dict(response.headers), spool)
        except BaseException:
            spool.close()
            raise

    async def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = await self._read_robots(origin)
        parser = self._robots[origin]
        if parser is not None and not parser.can_fetch(ROBOTS_AGENT, url):
            raise FetchError(f"{url}: disallowed by {origin}/robots.txt")

    async def _read_robots(self, origin: str) -> RobotFileParser | None:
        robots = f"{origin}/robots.txt"
        self.check_url(robots)
        try:
            async with self._client() as client:
                answer = await self._once(client, robots, {"Accept": "text/plain"})
        except httpx.TransportError:
            return None  # unreachable robots.txt: the catalog request will say why
        with answer.file:
            text = answer.body.decode("utf-8", errors="replace")
        parser = RobotFileParser(robots)
        if answer.status >= 500:
            parser.parse(["User-agent: *", "Disallow: /"])  # RFC 9309: 5xx means "do not crawl"
        elif answer.status == 200:
            parser.parse(text.splitlines())
        else:
            return None                     # 4xx: no rules
        return parser


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: dict[str, str]
    file: IO[bytes]

    @property
    def body(self) -> bytes:
        return _read_all(self.file)


def _read_all(file: IO[bytes]) -> bytes:
    file.seek(0)
    return file.read()


def answer_of(url: str, status: int, answer: _Answer) -> Fetched:
    if status not in (200, 304):
        answer.file.close()
        raise FetchError(f"{url}: HTTP {status}", status=status)
    if status == 304:
        answer.file.close()
    return Fetched(url=url, status=status, file=answer.file if status == 200 else None,
                   content_type=answer.headers.get("content-type"),
                   etag=answer.headers.get("etag"),
                   last_modified=answer.headers.get("last-modified"))


def _retry_after(value: str | None, default: float) -> float:
    try:
        seconds = float(value) if value is not None else default
    except ValueError:
        seconds = default
    return max(0.0, min(seconds, MAX_RETRY_AFTER))
