"""Shared benchmark harness: free ports, server subprocesses that always get stopped, a lean
keep-alive HTTP/1.1 load generator on raw asyncio streams, an in-process ASGI caller, and
latency percentiles.

Everything here talks to 127.0.0.1 only, and every load run is bounded both by time and by
request count, so a benchmark always stops by itself.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")

DATASET_QUERY = ("query($ns:String!,$n:String!){ dataset(namespace:$ns,name:$n){ name "
                 "description tags{name} latestVersion{ rowCount fields{ name arrowType } } } }")

# the curated datasets of the demo catalog (loaders/demo.py)
DEMO_DATASETS = [("crm", "customers"), ("ads", "meta_campaign_daily"),
                 ("ads", "google_campaign_daily"), ("web", "sessions"),
                 ("marketing", "audience_segments"), ("marketing", "campaign_performance"),
                 ("public", "eurostat_household_spending")]


# --- ports, environments, subprocesses -------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def peso_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESO_")}
    env.update({"PESO_DATA_DIR": str(data_dir), "PESO_LOG_LEVEL": "warning",
                "PESO_HOST": HOST, "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def peso_command(*args: str) -> list[str]:
    """``peso …`` (server/cli.py) run with this interpreter, so the bench uses the same
    environment whether or not the ``peso`` script is on PATH."""
    return [sys.executable, "-m", "server.cli", *args]


def run_cli(args: Sequence[str], env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(list(args), env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip()


_LIVE: set[subprocess.Popen[bytes]] = set()


def _stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Stop one process we started, by its pid: SIGTERM, then SIGKILL after ``grace``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)
    _LIVE.discard(proc)


@atexit.register
def _stop_all() -> None:
    for proc in list(_LIVE):
        _stop(proc)


def _sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through every `finally`, stopping servers


signal.signal(signal.SIGTERM, _sigterm)


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (Linux /proc)."""
        with open(f"/proc/{self.pid}/stat", encoding="ascii") as fh:
            parts = fh.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / CLK_TCK


@contextlib.contextmanager
def serve(name: str, cmd: Sequence[str], env: dict[str, str], port: int,
          ready_path: str = "/healthz", timeout: float = 30.0) -> Iterator[Server]:
    """Start ``cmd`` (which must listen on ``port``), wait until ``ready_path`` answers 200,
    yield it, and stop it whatever happens."""
    log = Path(tempfile.mkstemp(prefix=f"peso-bench-{name}-", suffix=".log")[1])
    with log.open("wb") as out:
        proc = subprocess.Popen(list(cmd), env=env, cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _LIVE.add(proc)
    server = Server(name, port, proc, log)
    try:
        _wait_ready(server, ready_path, timeout)
        yield server
    finally:
        _stop(proc)
        log.unlink(missing_ok=True)


def _wait_ready(server: Server, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.proc.returncode}):\n"
                               + server.log.read_text(errors="replace")[-2000:])
        with contextlib.suppress(OSError):
            status, _ = asyncio.run(request_once(HOST, server.port, get_request(path)))
            if status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready on port {server.port} after {timeout}s")


# --- pre-encoded HTTP/1.1 requests ----------------------------------------------------------
def post_json(path: str, payload: Any, *, port: int, extra: str = "") -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n")
    return head.encode() + body


def graphql_request(query: str, variables: dict[str, Any] | None = None, *, port: int) -> bytes:
    return post_json("/graphql", {"query": query, "variables": variables or {}}, port=port)


def get_request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise RuntimeError(f"response without content-length: {head[:200]!r}")
    end = lower.index(b"\r\n", at + 2)
    length = int(head[at + 17:end])
    return status, await reader.readexactly(length)


async def request_once(host: str, port: int, raw: bytes, timeout: float = 10.0
                       ) -> tuple[int, bytes]:
    async def go() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(raw)
            return await _read_response(reader)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    return await asyncio.wait_for(go(), timeout)


# --- the load generator ---------------------------------------------------------------------
@dataclass
class LoadResult:
    label: str
    requests: int
    seconds: float
    latencies: list[float]          # seconds, of requests inside the measured window
    errors: int
    client_cpu: float               # CPU seconds this process used while measuring
    server_cpu: float | None        # CPU seconds the server process used while measuring
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        return percentile(self.latencies, q)

    def line(self) -> str:
        if not self.requests:
            return (f"{self.label:<10} no request completed in the measured window "
                    "(--max-requests reached during warm-up, or the server stalled)")
        cpu = f"client CPU {100 * self.client_cpu / self.seconds:4.0f}%"
        if self.server_cpu is not None:
            cpu += f", server CPU {100 * self.server_cpu / self.seconds:4.0f}%"
        errs = f", {self.errors} errors" if self.errors else ""
        return (f"{self.label:<10} {self.rps:9.1f} req/s   p50 {ms(self.pct(50)):>8}   "
                f"p99 {ms(self.pct(99)):>8}   ({self.requests} requests in {self.seconds:.1f} s; "
                f"{cpu}{errs})")


async def http_load(port: int, requests: Sequence[bytes], *, label: str, connections: int = 8,
                    duration: float = 10.0, warmup: float = 2.0, max_requests: int = 500_000,
                    server: Server | None = None, request_timeout: float = 10.0) -> LoadResult:
    """Drive ``connections`` keep-alive connections to 127.0.0.1:``port``, each sending the
    pre-encoded ``requests`` in turn, one at a time. Latencies are recorded for requests that
    start and finish inside the measured window after ``warmup``; the run stops after
    ``warmup + duration`` seconds or ``max_requests`` requests, whichever comes first."""
    loop = asyncio.get_running_loop()
    measuring = False
    stop = False
    window = [0.0, 0.0]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sent = 0
    errors = 0

    async def worker(offset: int) -> None:
        nonlocal sent, errors, stop
        reader, writer = await asyncio.open_connection(HOST, port)
        i = offset
        try:
            while not stop:
                raw = requests[i % len(requests)]
                i += 1
                sent += 1
                if sent >= max_requests:
                    stop = True
                t0 = time.perf_counter()
                writer.write(raw)
                try:
                    status, _ = await asyncio.wait_for(_read_response(reader), request_timeout)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(HOST, port)
                    continue
                t1 = time.perf_counter()
                if measuring and t0 >= window[0]:
                    latencies.append(t1 - t0)
                    statuses[status] = statuses.get(status, 0) + 1
                    if status != 200:
                        errors += 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    tasks = [loop.create_task(worker(k)) for k in range(connections)]
    hard_deadline = warmup + duration + request_timeout + 5
    try:
        await asyncio.wait(tasks, timeout=warmup)
        cpu0, srv0 = time.process_time(), server.cpu_seconds() if server else None
        window[0] = time.perf_counter()
        measuring = True
        await asyncio.wait(tasks, timeout=duration)  # returns early if max_requests ended them
        measuring = False
        window[1] = time.perf_counter()
        cpu1, srv1 = time.process_time(), server.cpu_seconds() if server else None
        stop = True
        await asyncio.wait_for(asyncio.gather(*tasks), hard_deadline)
    finally:
        stop = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    seconds = window[1] - window[0]
    return LoadResult(label, len(latencies), seconds, latencies, errors, cpu1 - cpu0,
                      None if srv0 is None or srv1 is None else srv1 - srv0, statuses)


# --- in-process ASGI calls ------------------------------------------------------------------
async def asgi_post(app: Callable[..., Any], path: str, payload: Any,
                    headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """POST JSON to an ASGI app in this process (no sockets): the whole app, middleware and
    all, as uvicorn would call it."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": (HOST, 50000),
             "server": (HOST, 80),
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                         (b"accept", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())]}
    sent_body = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # a disconnect never comes while the app is working
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


# --- synthetic catalogs --------------------------------------------------------------------
SYNTH_SOURCES = [("TikTok Ads", "platform"), ("LinkedIn Ads", "platform"),
                 ("Salesforce", "internal"), ("HubSpot", "internal"), ("Shopify", "platform"),
                 ("Snowplow", "internal"), ("Similarweb", "vendor"),
                 ("World Bank", "public_portal")]
SYNTH_NAMESPACES = ["ads", "crm", "web", "marketing", "sales", "product", "finance", "support",
                    "partners", "public"]
_SUBJECTS = ["campaign", "customer", "audience", "session", "order", "product", "lead",
             "email", "store", "creative", "keyword", "channel", "subscription", "invoice",
             "churn", "loyalty", "attribution", "inventory", "survey", "device"]
_GRAINS = ["daily", "weekly", "monthly", "events", "snapshot", "summary", "facts", "scores"]
_FIELDS = [("date", "date32[day]"), ("campaign_id", "string"), ("impressions", "int64"),
           ("clicks", "int64"), ("spend_eur", "double"), ("customer_id", "string"),
           ("email", "string"), ("country", "string"), ("revenue_eur", "double"),
           ("conversions", "int64"), ("device", "string"), ("segment", "string"),
           ("score", "double"), ("sku", "string"), ("channel", "string"), ("is_bot", "bool")]
_TAGS = ["ads", "daily", "pii", "gold", "kpi", "web", "crm", "audience", "public", "finance",
         "silver", "raw-feed", "gdpr", "experimental"]


def synth_key(i: int) -> tuple[str, str]:
    """The (namespace, name) of synthetic dataset ``i``: deterministic, unique per i."""
    subject = _SUBJECTS[i % len(_SUBJECTS)]
    grain = _GRAINS[(i // len(_SUBJECTS)) % len(_GRAINS)]
    return SYNTH_NAMESPACES[(i * 7) % len(SYNTH_NAMESPACES)], f"{subject}_{grain}_{i:06d}"


def synth_tags(i: int) -> list[str]:
    """A third of the datasets carry a tag, a twelfth a second one (~2.8% per tag); ~0.1% are
    "deprecated" (a rare tag, so filters are measured at both ends of selectivity)."""
    h = ((i * 2654435761) & 0xFFFFFFFF) >> 12  # scrambled: tags follow no namespace or source
    tags = set()
    if h % 3 == 0:
        tags.add(_TAGS[(h >> 2) % len(_TAGS)])
    if h % 12 == 0:
        tags.add(_TAGS[(h >> 6) % len(_TAGS)])
    if i % 997 == 0:
        tags.add("deprecated")
    return sorted(tags)


def synth_version(i: int) -> Any:
    """A NewVersion for synthetic dataset ``i``: 4-6 fields, a source, a description."""
    from server.models import FieldSpec, NewVersion

    ns, name = synth_key(i)
    subject, grain = name.split("_")[:2]
    fields = [FieldSpec(name=f, arrow_type=t)
              for f, t in (_FIELDS[(i + k * 5) % len(_FIELDS)] for k in range(4 + i % 3))]
    return NewVersion(
        namespace=ns, name=name, content_hash=f"{i:064x}", row_count=1000 + (i * 7919) % 10**6,
        byte_size=50_000 + (i * 104_729) % 10**8, fields=list({f.name: f for f in fields}.values()),
        curated_key=f"curated/{ns}/{name}/v1/part-0.parquet", format="csv",
        source_name=SYNTH_SOURCES[i % len(SYNTH_SOURCES)][0],
        description=f"{grain.capitalize()} {subject} data for {ns} reporting, "
                    f"from {SYNTH_SOURCES[i % len(SYNTH_SOURCES)][0]}.")


async def seed_synthetic(graph: Any, start: int, count: int, *, batch: int = 500,
                         actor: str = "bench") -> None:
    """Register ``count`` synthetic datasets (from index ``start``), each with one version,
    fields, a source and 0-3 tags, through the graph-store protocol only."""
    from server.models import DatasetKey, SourceKind

    for name, kind in SYNTH_SOURCES:
        await graph.upsert_source(name=name, kind=SourceKind(kind), actor=actor)
    for lo in range(start, start + count, batch):
        hi = min(lo + batch, start + count)
        await graph.register_versions([synth_version(i) for i in range(lo, hi)], actor=actor)
        # add_tag is one transaction per call; keep a batch of them in flight at once so the
        # writer thread never waits on the event loop
        await asyncio.gather(*(graph.add_tag(DatasetKey(*synth_key(i)), tag, actor=actor)
                               for i in range(lo, hi) for tag in synth_tags(i)))


# --- statistics and printing ----------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
            f"{time.strftime('%Y-%m-%d %H:%M')}, load average {load}")


def check_graphql(status: int, body: bytes, what: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(body)
    if status != 200 or payload.get("errors"):
        raise RuntimeError(f"{what}: HTTP {status}: {body[:500]!r}")
    return payload


# --- results: what was measured, on what, written down -------------------------------------
RESULTS = BENCH / "results"
RUN_ENV = "PESO_BENCH_RUN"  # set by run_all.py: its run id, stored in every line


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def commit() -> str:
    """The repository's commit (``+dirty`` with uncommitted changes), or "unknown"."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def header(bench: str, *, input: dict[str, Any], backend: str, workers: int | None) -> None:
    """Print what a bench runs on: the machine and its load, the input, backend, workers."""
    print(f"# {bench} — {machine()}")
    print(f"input: {json.dumps(input, sort_keys=True)}")
    print(f"backend: {backend}; workers: {workers if workers is not None else 'n/a'}")


def target_met(value: float, target: str | None) -> bool | None:
    """Whether ``value`` meets a target written ``">= 0.6"``, ``"< 500"``, ``"== 0"``…
    (None without a target or with a NaN value)."""
    if target is None:
        return None
    op, _, bound = target.strip().partition(" ")
    limit = float(bound)
    if value != value:  # NaN: nothing was measured
        return False
    checks = {">=": value >= limit, ">": value > limit, "<=": value <= limit,
              "<": value < limit, "==": value == limit}
    if op not in checks:
        raise ValueError(f"target {target!r}: the operator must be one of {sorted(checks)}")
    return checks[op]


def record(bench: str, metric: str, value: float, unit: str, *, input: dict[str, Any],
           backend: str, workers: int | None, target: str | None = None,
           results: Path | None = None) -> dict[str, Any]:
    """Print one figure and append it as a JSON line to bench/results/<bench>.jsonl:
    {"bench","metric","value","unit","target","met","input","backend","workers","loadavg",
    "commit","time"} (plus "run" when run_all.py started the bench)."""
    met = target_met(value, target)
    line: dict[str, Any] = {
        "bench": bench, "metric": metric, "value": value, "unit": unit, "target": target,
        "met": met, "input": input, "backend": backend, "workers": workers,
        "loadavg": loadavg(), "commit": commit(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if os.environ.get(RUN_ENV):
        line["run"] = os.environ[RUN_ENV]
    folder = results or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{bench}.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, sort_keys=True) + "\n")
    verdict = "" if met is None else f"   target {target}: {'met' if met else 'NOT met'}"
    print(f"result {bench}/{metric} = {value:.4g} {unit}{verdict}")
    return line
