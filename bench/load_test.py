"""A bounded loopback load test: N concurrent clients for T seconds against one `peso serve`,
mixing reads, searches and writes. Afterwards every acknowledged write must be there.

    python bench/load_test.py                      # 50 clients, 30 s, a fresh temp catalog
    python bench/load_test.py --clients 10 --seconds 3
    python bench/load_test.py --url http://127.0.0.1:8000/graphql --token peso_…

Prints throughput, latency percentiles and error counts (HTTP status, transport errors);
exits 1 when any request got a 5xx or a transport error, or an acknowledged write is
missing. Everything runs on 127.0.0.1; the server it starts (with its own temp data folder
and writer token) is always stopped. tests/test_load.py runs a short version.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

READ = ("query Read($ns: String!, $n: String!) { dataset(namespace: $ns, name: $n) { name "
        "description tags { name } latestVersion { rowCount } } }")
LIST = "query List { datasets(first: 20) { totalCount edges { node { name tags { name } } } } }"
SEARCH = "query Search($q: String!) { search(query: $q, first: 10) { totalCount " \
         "edges { score node { name } } } }"
REGISTER = ("mutation Write($ns: String!, $n: String!, $d: String) { registerDataset(input: "
            "{namespace: $ns, name: $n, description: $d, tags: [\"load\"]}) { "
            "dataset { id } errors { message } } }")
TAG = ("mutation Tag($n: String!, $t: String!) { tagDataset(input: {namespace: \"seed\", "
       "name: $n, tag: $t}) { dataset { id } errors { message } } }")
SEEDS = [f"seed{i}" for i in range(10)]
WORDS = ["seed", "load", "campaign", "customer", "spend", "nothing"]
MIX = [("read", 4), ("list", 1), ("search", 3), ("write", 2), ("tag", 1)]
QUICK_SECONDS = 25  # bench/run_all.py: this script has a --quick mode taking about this long
P99_TARGET_MS = 500.0  # issue 15: 50 clients, p99 under 500 ms and no 5xx


@dataclass
class Report:
    clients: int
    seconds: float = 0.0
    requests: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    graphql_errors: int = 0
    latencies: list[float] = field(default_factory=list)
    kind_latencies: dict[str, list[float]] = field(default_factory=dict)
    acknowledged: list[tuple[str, str]] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def ok(self) -> bool:
        return not (self.server_errors or self.transport_errors or self.missing)

    def percentile(self, p: float, kind: str | None = None) -> float:
        ordered = sorted(self.latencies if kind is None else self.kind_latencies.get(kind, []))
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    def lines(self) -> list[str]:
        rate = self.requests / self.seconds if self.seconds else 0.0
        return [
            f"{self.clients} clients, {self.seconds:.1f} s: {self.requests} requests, "
            f"{rate:.0f} req/s",
            "by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items())),
            f"latency ms: p50 {self.percentile(50) * 1000:.1f}, p95 "
            f"{self.percentile(95) * 1000:.1f}, p99 {self.percentile(99) * 1000:.1f}, "
            f"max {max(self.latencies, default=0) * 1000:.1f}",
            "p50 / p99 ms by kind: " + ", ".join(
                f"{k} {self.percentile(50, k) * 1000:.0f} / {self.percentile(99, k) * 1000:.0f}"
                for k in sorted(self.kind_latencies)),
            "HTTP statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items())),
            f"5xx: {self.server_errors}; transport errors: {sum(self.transport_errors.values())}"
            + (f" {dict(self.transport_errors)}" if self.transport_errors else "")
            + f"; GraphQL errors: {self.graphql_errors}",
            f"acknowledged writes: {len(self.acknowledged)}; missing afterwards: "
            f"{len(self.missing)}",
            "OK" if self.ok else "FAILED",
        ]


def _request(kind: str, client_no: int, i: int, rng: random.Random) -> dict[str, Any]:
    if kind == "read":
        return {"query": READ, "variables": {"ns": "seed", "n": rng.choice(SEEDS)}}
    if kind == "list":
        return {"query": LIST}
    if kind == "search":
        return {"query": SEARCH, "variables": {"q": rng.choice(WORDS)}}
    if kind == "write":
        return {"query": REGISTER, "variables": {"ns": "load", "n": f"c{client_no}-{i}",
                                                 "d": f"written by client {client_no}"}}
    return {"query": TAG, "variables": {"n": rng.choice(SEEDS), "t": f"t{rng.randrange(5)}"}}


async def _client(http: httpx.AsyncClient, url: str, no: int, deadline: float,
                  report: Report) -> None:
    rng = random.Random(no)
    kinds = [k for k, weight in MIX for _ in range(weight)]
    i = 0
    while time.monotonic() < deadline:
        kind = rng.choice(kinds)
        payload = _request(kind, no, i, rng)
        i += 1
        begun = time.monotonic()
        try:
            response = await http.post(url, json=payload)
        except httpx.HTTPError as exc:
            report.transport_errors[type(exc).__name__] += 1
            continue
        report.latencies.append(time.monotonic() - begun)
        report.kind_latencies.setdefault(kind, []).append(report.latencies[-1])
        report.requests += 1
        report.by_kind[kind] += 1
        report.statuses[response.status_code] += 1
        if response.status_code != 200:
            continue
        body = response.json()
        if body.get("errors"):
            report.graphql_errors += 1
        elif kind == "write" and body["data"]["registerDataset"]["errors"] == []:
            report.acknowledged.append(("load", payload["variables"]["n"]))


async def _verify(http: httpx.AsyncClient, url: str, report: Report) -> None:
    sem = asyncio.Semaphore(8)

    async def check(ns: str, name: str) -> None:
        async with sem:
            body = (await http.post(url, json={"query": READ, "variables": {
                "ns": ns, "n": name}})).json()
            if not (body.get("data") or {}).get("dataset"):
                report.missing.append((ns, name))
    await asyncio.gather(*(check(ns, n) for ns, n in report.acknowledged))


async def run_load(url: str, token: str, *, clients: int, seconds: float) -> Report:
    """Seed, run the mix, verify every acknowledged write; return the report."""
    report = Report(clients=clients)
    # idle connections are dropped by the client before uvicorn's 5 s keep-alive timeout, so a
    # request never races the server closing the connection it was sent on
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients,
                          keepalive_expiry=2.0)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60.0) as http:
        for name in SEEDS:
            seeded = await http.post(url, json={"query": REGISTER, "variables": {
                "ns": "seed", "n": name, "d": f"seed dataset {name} for the campaign load"}})
            seeded.raise_for_status()
        begun = time.monotonic()
        deadline = begun + seconds
        await asyncio.gather(*(_client(http, url, no, deadline, report)
                               for no in range(clients)))
        report.seconds = time.monotonic() - begun
        await _verify(http, url, report)
    return report


@contextlib.contextmanager
def local_server(data_dir: Path) -> Iterator[tuple[str, str]]:
    """A fresh `peso serve` with a writer token: yields (GraphQL URL, token)."""
    from tests.serverproc import create_token, start_server

    token = create_token(data_dir, "load-test", "writer")
    server = start_server(data_dir)
    try:
        yield server.graphql_url, token
    finally:
        server.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--url", help="an already running server's /graphql (else one is "
                                      "started on a temp catalog)")
    parser.add_argument("--token", help="a writer token for --url")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quick", action="store_true",
                        help="a short run for bench/run_all.py: the 50 clients for 8 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 8.0
    from bench.common import header, record

    inp = {"catalog": "a fresh temp catalog with 10 seed datasets (registered over GraphQL)",
           "mix": dict(MIX), "clients": args.clients, "seconds": args.seconds,
           "url": args.url or "peso serve started here (tests/serverproc.py)"}
    if not args.json:
        header("load_test", input=inp, backend="sqlite" if not args.url else "as configured",
               workers=1 if not args.url else None)
    if args.url:
        if not args.token:
            parser.error("--url needs --token (a writer token)")
        report = asyncio.run(run_load(args.url, args.token, clients=args.clients,
                                      seconds=args.seconds))
    else:
        with tempfile.TemporaryDirectory(prefix="peso-load-test-") as tmp, \
                local_server(Path(tmp) / "peso-data") as (url, token):
            report = asyncio.run(run_load(url, token, clients=args.clients,
                                          seconds=args.seconds))
    if args.json:
        print(json.dumps({"clients": report.clients, "seconds": report.seconds,
                          "requests": report.requests, "by_kind": report.by_kind,
                          "statuses": report.statuses, "server_errors": report.server_errors,
                          "transport_errors": report.transport_errors,
                          "acknowledged": len(report.acknowledged),
                          "missing": report.missing}, indent=2))
    else:
        print("\n".join(report.lines()))
        inp["requests"] = report.requests
        backend, workers = ("sqlite", 1) if not args.url else ("as configured", None)
        for metric, value, unit, target in (
                ("p99", round(report.percentile(99) * 1000, 1), "ms", f"< {P99_TARGET_MS:g}"),
                ("p50", round(report.percentile(50) * 1000, 1), "ms", None),
                ("server_errors", report.server_errors + sum(report.transport_errors.values()),
                 "5xx+transport", "== 0"),
                ("missing_writes", len(report.missing), "writes", "== 0"),
                ("rps", round(report.requests / report.seconds, 1) if report.seconds else 0.0,
                 "req/s", None)):
            record("load_test", metric, value, unit, target=target, input=inp,
                   backend=backend, workers=workers)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
