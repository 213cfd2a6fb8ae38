"""The web UI's lineage view in headless chromium: time from navigation to a drawn
1,000-dataset lineage (the app's own performance marks: ``peso:lineage:drawn`` is set in the
frame after the SVG is in the page), folded (the default at this size) and with every dataset
drawn; plus the JavaScript + CSS the catalog page loads, gzipped, from the committed build.

The graph is tests/web_lineage_graph.py's (1,000 datasets, 999 edges, posted through the
OpenLineage endpoint) in a real ``peso serve`` (SQLite, 1 worker); each navigation uses a fresh
browser context (no cache). Targets: drawn < 2 s, catalog page < 500 KB gzipped.

    python bench/web_lineage.py [--iterations 5] [--size 1000]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from common import header, percentile, record  # noqa: E402

from tests.serverproc import create_token, running_server  # noqa: E402
from tests.web_lineage_graph import START_NAME, START_NS, post_lineage  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STATIC = Path(__file__).resolve().parent.parent / "server" / "web_static"
TARGET_DRAW_S = 2.0
MARKS = ("() => Object.fromEntries(performance.getEntriesByType('mark')"
         ".map(m => [m.name, m.startTime]))")
TARGET_BUNDLE_GZ = 500 * 1024
QUICK_SECONDS = 40  # bench/run_all.py: this script has a --quick mode taking about this long


def bundle() -> tuple[int, int, int]:
    """(raw bytes, gzipped bytes, files) of what the catalog page loads: index.html's scripts,
    styles and preloads, and the layout worker the lineage page starts."""
    info = json.loads((STATIC / "build.json").read_text())["assets"]
    html = (STATIC / "index.html").read_text()
    files = {ref.lstrip("/") for ref in re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)}
    files |= {"index.html", "assets/layout.worker.js"}
    return (sum(info[f]["bytes"] for f in files), sum(info[f]["gzip"] for f in files),
            len(files))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--size", type=int, default=1000, help="datasets in the lineage")
    parser.add_argument("--quick", action="store_true",
                        help="a short run for bench/run_all.py: 2 navigations per view")
    args = parser.parse_args()
    if args.quick:
        args.iterations = 2
    from playwright.sync_api import sync_playwright

    inp = {"generator": "tests/web_lineage_graph.py (posted as OpenLineage events)",
           "datasets": args.size, "iterations": args.iterations, "browser": CHROMIUM,
           "bundle": "server/web_static/build.json"}
    header("web_lineage", input=inp, backend="sqlite", workers=1)
    raw, gz, count = bundle()
    record("web_lineage", "bundle_gzip", gz, "bytes", target=f"< {TARGET_BUNDLE_GZ}",
           input={**inp, "files": count, "raw_bytes": raw}, backend="sqlite", workers=1)
    print(f"catalog page bundle: {count} files, {raw / 1024:.1f} KB raw, {gz / 1024:.1f} KB "
          f"gzipped (target < {TARGET_BUNDLE_GZ // 1024} KB): "
          f"{'PASS' if gz < TARGET_BUNDLE_GZ else 'FAIL'}")
    info = json.loads((STATIC / "build.json").read_text())["assets"]
    gi = sum(v["gzip"] for k, v in info.items() if k.startswith("assets/") and k not in (
        "assets/index.js", "assets/index.css", "assets/layout.worker.js"))
    print(f"GraphiQL page (separate, loaded only at /graphql): ~{gi / 1024:.0f} KB gzipped")

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        token = create_token(data, "bench-writer", "writer")
        with running_server(data) as server, sync_playwright() as pw:
            t0 = time.perf_counter()
            events = post_lineage(server, token, args.size)
            print(f"input: {args.size} datasets, {events} OpenLineage events posted in "
                  f"{time.perf_counter() - t0:.1f} s; backend sqlite, 1 worker; chromium "
                  f"headless, {args.iterations} navigations each")
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                for label, extra in (("folded (default)", ""), ("every dataset drawn",
                                                                 "&group=none")):
                    drawn, fetched, boxes = [], [], 0
                    for _ in range(args.iterations):
                        context = browser.new_context(viewport={"width": 1400, "height": 900})
                        page = context.new_page()
                        page.goto(f"{server.base_url}/#/lineage/{START_NS}/{START_NAME}"
                                  f"?depth=10{extra}")
                        page.wait_for_selector("main[data-lineage=drawn]", timeout=60_000)
                        marks = page.evaluate(MARKS)
                        drawn.append(marks["peso:lineage:drawn"] / 1000)
                        fetched.append(marks["peso:lineage:fetched"] / 1000)
                        boxes = int(page.get_attribute("main", "data-boxes") or 0)
                        context.close()
                    p50 = percentile(drawn, 50)
                    print(f"{label}: {boxes} boxes; navigation -> drawn p50 {p50:.3f} s, max "
                          f"{max(drawn):.3f} s (GraphQL answered at p50 "
                          f"{percentile(fetched, 50):.3f} s); target < {TARGET_DRAW_S} s: "
                          f"{'PASS' if p50 < TARGET_DRAW_S else 'FAIL'}")
                    view = "folded" if extra == "" else "all"
                    record("web_lineage", f"drawn_p50_{view}", round(p50, 3), "s",
                           target=f"< {TARGET_DRAW_S}", input={**inp, "boxes": boxes,
                                                               "events": events},
                           backend="sqlite", workers=1)
            finally:
                browser.close()


if __name__ == "__main__":
    main()
