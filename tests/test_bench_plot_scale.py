"""bench/plot_scale.py picks, per backend, size and metric, the newest full-text figure, and
its table names each figure's commit and load average (the PNG itself needs matplotlib)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import plot_scale


def _line(backend: str, size: int, metric: str, value: float, time: str, commit: str,
          semantic: str = "off") -> str:
    return json.dumps({"bench": "backends_scale", "backend": backend, "datasets": size,
                       "metric": metric, "value": value, "time": time, "commit": commit,
                       "loadavg": 1.5, "semantic_search": semantic})


def test_the_newest_full_text_figure_wins(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join([
        _line("sqlite", 1000, "lineage_p50_ms", 90.0, "2026-12-07T09:00:00Z", "aaa"),
        _line("sqlite", 1000, "lineage_p50_ms", 60.0, "2026-12-07T10:00:00Z", "bbb"),
        _line("sqlite", 1000, "lineage_p50_ms", 5.0, "2026-12-07T11:00:00Z", "ccc", "auto"),
        _line("neo4j", 1000, "search_p50_ms", 40.0, "2026-12-07T10:00:00Z", "bbb"),
    ]) + "\n", encoding="utf-8")
    found = plot_scale.newest(path)
    assert found[("sqlite", 1000, "lineage_p50_ms")]["value"] == 60.0
    table = plot_scale.table(found)
    assert "| sqlite | 1,000 | 60.0 (bbb, load 1.5) |" in table
    assert "| neo4j | 1,000 | — | — | 40.0 (bbb, load 1.5) | — |" in table
