"""bench/run_all.py without running a benchmark: discovery from the sources, the results table
from a small set of JSON lines written by bench/common.py's ``record``, and every bench that
declares a quick mode really accepting ``--quick`` (read from its ``--help``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import common, run_all

BENCH = Path(__file__).resolve().parent.parent / "bench"
# benches whose quick mode their owners add (issue 15 items 1 and 3); run_all includes each
# the day its source declares QUICK_SECONDS
PENDING = {"load_memory", "profile_bench", "catalog_100k", "lineage_100k",
           # minutes even at their smallest size (a 10k catalog on each backend, a model load)
           "backends_scale", "semantic_search", "mcp_vs_graphql"}
NOT_BENCHES = {"run_all", "common", "bare_app", "plot_scale"}


QUICK = run_all.discover()


def test_every_bench_has_a_quick_mode_or_is_pending() -> None:
    scripts = {p.stem for p in BENCH.glob("*.py")} - NOT_BENCHES
    assert {"graphql_vs_bare", "datasets_page", "load_test"} <= set(QUICK)
    assert scripts - set(QUICK) <= PENDING, scripts - set(QUICK) - PENDING
    assert sum(QUICK.values()) < 300  # the declared quick runs fit run_all's 5 minutes


@pytest.mark.parametrize("bench", sorted(QUICK))
def test_a_bench_declaring_quick_accepts_it(bench: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(BENCH.parent)}
    done = subprocess.run([sys.executable, str(BENCH / f"{bench}.py"), "--help"],
                          capture_output=True, text=True, timeout=60, env=env,
                          cwd=BENCH.parent, check=False)
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout


def test_a_declaration_is_read_from_the_source(tmp_path: Path) -> None:
    (tmp_path / "fast.py").write_text("QUICK_SECONDS = 12\nimport nothing_importable\n")
    (tmp_path / "slow.py").write_text("def main() -> None: ...\n")
    (tmp_path / "bad.py").write_text("QUICK_SECONDS = -1\n")
    with pytest.raises(ValueError, match=r"bad\.py: QUICK_SECONDS must be a positive number"):
        run_all.discover(tmp_path)
    (tmp_path / "bad.py").unlink()
    assert run_all.discover(tmp_path) == {"fast": 12.0}


def test_the_table_says_every_target_and_whether_it_is_met(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv(run_all.RUN_ENV, "run-1")
    inp = {"rows": 100, "generator": "test"}
    common.record("pagebench", "rps", 312.5, "req/s", target=">= 300", input=inp,
                  backend="sqlite", workers=1, results=tmp_path)
    common.record("pagebench", "p99", 612.0, "ms", target="< 500", input=inp,
                  backend="sqlite", workers=1, results=tmp_path)
    common.record("pagebench", "p50", 20.0, "ms", input=inp, backend="sqlite", workers=1,
                  results=tmp_path)
    monkeypatch.setenv(run_all.RUN_ENV, "an-older-run")
    common.record("pagebench", "rps", 12.0, "req/s", target=">= 300", input=inp,
                  backend="sqlite", workers=1, results=tmp_path)

    [line, *_] = [json.loads(t) for t in (tmp_path / "pagebench.jsonl").read_text().splitlines()]
    assert set(line) == {"bench", "metric", "value", "unit", "target", "met", "input",
                         "backend", "workers", "loadavg", "commit", "time", "run"}
    assert (line["met"], line["input"], len(line["loadavg"])) == (True, inp, 3)

    mine = run_all.read_results(tmp_path, "run-1")
    assert len(mine) == 3
    outcomes = [run_all.Outcome("pagebench", "ok", 9.0),
                run_all.Outcome("crashing", "exit 1", 2.0),
                run_all.Outcome("late", "timeout", 300.0)]
    text = run_all.table(mine, outcomes)
    rows = text.splitlines()
    assert "| pagebench | p99 | 612 ms | < 500 | **NO** | sqlite / 1 |" in rows[2]
    assert "| pagebench | rps | 312.5 req/s | >= 300 | yes | sqlite / 1 |" in rows[3]
    assert "| pagebench | p50 | 20 ms |  |  |" in rows[4]   # no target: listed after them
    assert any(r.startswith("| crashing | (run) | exit 1 after 2 s") for r in rows)
    assert any(r.startswith("| late | (run) | timeout after 300 s") for r in rows)
    assert rows[-1] == "1 of 2 targets met; 2 bench run(s) failed or recorded nothing"
    # without a run id: the latest figure of each metric (the older run's rps came last)
    latest = {(x["metric"], x["value"]) for x in run_all.read_results(tmp_path)}
    assert latest == {("rps", 12.0), ("p99", 612.0), ("p50", 20.0)}


@pytest.mark.parametrize(("value", "target", "met"), [
    (0.6, ">= 0.6", True), (0.59, ">= 0.6", False), (499.0, "< 500", True),
    (500.0, "< 500", False), (0, "== 0", True), (float("nan"), "< 500", False),
    (1.0, None, None)])
def test_targets(value: float, target: str | None, met: bool | None) -> None:
    assert common.target_met(value, target) is met


def test_a_malformed_target_or_results_line_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the operator must be one of"):
        common.target_met(1.0, "about 5")
    (tmp_path / "x.jsonl").write_text('{"bench": "x"}\nnot json\n')
    with pytest.raises(ValueError, match=r"x.jsonl:2: not a JSON line"):
        run_all.read_results(tmp_path)
