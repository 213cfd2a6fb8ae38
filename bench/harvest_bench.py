"""Harvest of a generated DCAT-US data.json served over real HTTP from 127.0.0.1.

A ``ThreadingHTTPServer`` in this process serves a synthetic POD v1.1 catalog (``--records``
datasets, each with a publisher, contact point, keywords, themes, license, temporal/spatial
coverage and two distributions) with an ETag. The harvest runs as ``peso harvest run NAME
--json`` in a child process (this script re-invoked with ``--child``) on an embedded SQLite
catalog, so each run's peak RSS is its own. Three runs:

1. first run: every record created;
2. unchanged, conditional: the portal answers ``304 Not Modified`` to the stored ETag;
3. unchanged, no validators: the portal drops its ETag, so the body is fetched, parsed and
   validated again and each record is skipped by its content hash.

Target: the second run (and the third, which does the real incremental work) at least 10x
faster than the first. Appends JSON lines to bench/results/harvest_bench.jsonl.

    python bench/harvest_bench.py [--records 10000] [--quick]

Times are the harvest's own (measured in the child after its imports); the process wall time
with interpreter start-up is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import REPO, header, peso_command, peso_env, record, run_cli  # noqa: E402

BENCH = "harvest_bench"
QUICK_SECONDS = 25  # bench/run_all.py: --quick (2,000 records) takes about this long


def catalog(records: int) -> bytes:
    """A POD v1.1 catalog of ``records`` datasets (valid under the built-in POD rules)."""
    datasets = []
    for i in range(records):
        datasets.append({
            "@type": "dcat:Dataset",
            "identifier": f"bench-{i:07d}",
            "title": f"Campaign spend by channel, region {i % 97}, series {i}",
            "description": (f"Daily advertising spend and impressions per channel for region "
                            f"{i % 97}; published by agency {i % 211}. Series {i}."),
            "keyword": ["advertising", f"region-{i % 97}", "spend"],
            "theme": ["Marketing"],
            "modified": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "issued": "2024-01-01",
            "accessLevel": "public",
            "license": "https://creativecommons.org/licenses/by/4.0/",
            "temporal": "2024-01-01/2026-12-31",
            "spatial": f"Region {i % 97}",
            "accrualPeriodicity": "R/P1D",
            "landingPage": f"https://portal.example.org/dataset/bench-{i}",
            "publisher": {"@type": "org:Organization", "name": f"Agency {i % 211}"},
            "contactPoint": {"@type": "vcard:Contact", "fn": f"Analyst {i % 53}",
                             "hasEmail": f"mailto:analyst{i % 53}@example.org"},
            "distribution": [
                {"@type": "dcat:Distribution", "mediaType": "text/csv", "format": "CSV",
                 "downloadURL": f"https://portal.example.org/files/bench-{i}.csv"},
                {"@type": "dcat:Distribution", "mediaType": "application/json",
                 "format": "JSON",
                 "downloadURL": f"https://portal.example.org/files/bench-{i}.json"}],
        })
    doc = {"conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
           "@type": "dcat:Catalog", "dataset": datasets}
    return json.dumps(doc).encode()


class Portal:
    """Serves one body at /data.json, with an ETag while ``etag`` is set; counts answers."""

    def __init__(self, body: bytes) -> None:
        self.body, self.etag = body, '"bench-1"'
        self.answers: list[int] = []
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/robots.txt":
                    status, body = 404, b""
                elif portal.etag and self.headers.get("If-None-Match") == portal.etag:
                    status, body = 304, b""
                else:
                    status, body = 200, portal.body
                portal.answers.append(status)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if portal.etag:
                    self.send_header("ETag", portal.etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/data.json"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def child(name: str) -> None:
    """One ``peso harvest run NAME --json`` in this process; its peak RSS on stderr."""
    from server.cli import main
    start = time.perf_counter()   # after the imports: the harvest alone
    code = main(["harvest", "run", name, "--json"])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak_rss_bytes": peak, "seconds": seconds}), file=sys.stderr)
    raise SystemExit(code)


def one_run(env: dict[str, str], name: str) -> tuple[float, dict[str, Any], int]:
    """The harvest's own seconds (the child's interpreter start-up, ~1 s, left out and
    printed apart), its report, and its peak RSS."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", name], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=1800, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"harvest run failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    print(f"  (process wall time {wall:.2f} s with interpreter start-up)")
    return float(figures["seconds"]), report, int(figures["peak_rss_bytes"])


def counts(report: Any) -> str:
    first = report[0] if isinstance(report, list) else report
    summary = first.get("summary") if isinstance(first, dict) else None
    return str(summary if summary is not None else first)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=10_000)
    p.add_argument("--quick", action="store_true", help="2,000 records (bench/run_all.py)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child)
        return
    records = 2_000 if args.quick else args.records
    body = catalog(records)
    inp = {"generator": "bench/harvest_bench.py catalog()", "records": records,
           "bytes": len(body), "kind": "dcat-us", "server": "127.0.0.1 ThreadingHTTPServer"}
    header(BENCH, input=inp, backend="sqlite", workers=1)
    portal = Portal(body)
    try:
        with tempfile.TemporaryDirectory(prefix="peso-harvest-bench-") as tmp:
            env = peso_env(Path(tmp) / "data", PESO_HARVEST_ALLOW_HOSTS="127.0.0.1")
            run_cli(peso_command("harvest", "add", "bench", portal.url, "--kind", "dcat-us"),
                    env)
            first, report1, rss1 = one_run(env, "bench")
            print(f"first run: {first:.2f} s = {records / first:,.0f} records/s, "
                  f"peak RSS {rss1 / 2**20:.0f} MiB; {counts(report1)}")
            second, report2, rss2 = one_run(env, "bench")
            print(f"unchanged, 304: {second:.2f} s, peak RSS {rss2 / 2**20:.0f} MiB; "
                  f"{counts(report2)}")
            portal.etag = ""
            third, report3, rss3 = one_run(env, "bench")
            print(f"unchanged, no ETag (content hash): {third:.2f} s, peak RSS "
                  f"{rss3 / 2**20:.0f} MiB; {counts(report3)}")
            print(f"portal answers: {portal.answers}")
    finally:
        portal.close()
    record(BENCH, "first_run_records_per_s", records / first, "records/s", input=inp,
           backend="sqlite", workers=1)
    record(BENCH, "first_run_peak_rss", rss1 / 2**20, "MiB", input=inp, backend="sqlite",
           workers=1)
    record(BENCH, "speedup_unchanged_304", first / second, "x", input=inp, backend="sqlite",
           workers=1, target=">= 10")
    record(BENCH, "speedup_unchanged_content_hash", first / third, "x", input=inp,
           backend="sqlite", workers=1, target=">= 10")


if __name__ == "__main__":
    main()
