"""How backends_scale's figures grow with the catalog, as a PNG (from its results file).

For each backend, catalog size and metric the newest recorded figure is drawn (log-log, one
panel per metric); the commit of each point is in the table that ``--table`` prints (the
one in ``bench/README.md``). Needs matplotlib (``pip install -e '.[bench]'``).

    python bench/plot_scale.py [--out bench/results/backends_scale.png] [--table]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "backends_scale.jsonl"
METRICS = [("lineage_p50_ms", "lineage p50 (ms)"), ("impact_p50_ms", "impact p50 (ms)"),
           ("search_p50_ms", "search p50 (ms)"), ("build_seconds", "build (s)")]


def newest(path: Path) -> dict[tuple[str, int, str], dict[str, Any]]:
    """(backend, datasets, metric) -> its newest record (full-text search runs only)."""
    found: dict[tuple[str, int, str], dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r.get("semantic_search", "off") != "off" or "datasets" not in r:
            continue
        key = (r["backend"], int(r["datasets"]), r["metric"])
        if key not in found or r["time"] >= found[key]["time"]:
            found[key] = r
    return found


def table(found: dict[tuple[str, int, str], dict[str, Any]]) -> str:
    rows = ["| backend | datasets | " + " | ".join(label for _, label in METRICS) + " |",
            "|---|---|" + "---|" * len(METRICS)]
    for backend, size in sorted({(b, s) for b, s, _ in found}):
        cells = []
        for metric, _ in METRICS:
            r = found.get((backend, size, metric))
            cells.append("—" if r is None else
                         f"{r['value']:,.1f} ({r['commit']}, load {r['loadavg']:.1f})")
        rows.append(f"| {backend} | {size:,} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def plot(found: dict[tuple[str, int, str], dict[str, Any]], out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS), figsize=(4 * len(METRICS), 3.6))
    for ax, (metric, label) in zip(axes, METRICS, strict=True):
        for backend in sorted({b for b, _, m in found if m == metric}):
            points = sorted((s, r["value"]) for (b, s, m), r in found.items()
                            if b == backend and m == metric)
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=backend)
        target = {"lineage_p50_ms": 50, "impact_p50_ms": 50, "search_p50_ms": 20,
                  "build_seconds": 600}[metric]   # issues 11/15 (the build's is for 1M)
        ax.axhline(target, color="grey", linestyle="--", linewidth=0.8, label="target")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("datasets")
        ax.set_title(label)
        ax.legend(fontsize=8)
    fig.suptitle("bench/backends_scale.py: newest figure per backend and size")
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=RESULTS.with_suffix(".png"))
    p.add_argument("--table", action="store_true", help="print the markdown table too")
    args = p.parse_args()
    found = newest(RESULTS)
    if args.table:
        print(table(found))
    plot(found, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
