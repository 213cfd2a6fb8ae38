"""Run every benchmark's quick mode and print one table of every target and whether it is met.

    python bench/run_all.py --quick                  # every bench that has a --quick mode
    python bench/run_all.py --quick --only datasets_page graphql_vs_bare
    python bench/run_all.py --table                  # no runs: the latest figures on record

A bench takes part when its source declares ``QUICK_SECONDS = <about how long>`` at module
level (read from the source, not imported) and accepts ``--quick``: benches added later are
included the day they declare it. Each runs as a subprocess (cwd and PYTHONPATH the
repository) with the environment variable PESO_BENCH_RUN set to this run's id; its figures
are the JSON lines it appends to bench/results/<bench>.jsonl (bench/common.py ``record``)
carrying that id. The whole run is bounded by --budget seconds (default 300): a bench gets
what is left, and one that fails or runs out of time is a row of its own. The table is also
written to bench/results/latest.md, the summary kept in git (the .jsonl files are not).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
RUN_ENV = "PESO_BENCH_RUN"


def quick_seconds(path: Path) -> float | None:
    """The ``QUICK_SECONDS`` a bench script declares (None: it has no quick mode)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            if isinstance(t, ast.Name) and t.id == "QUICK_SECONDS" and node.value is not None:
                value = ast.literal_eval(node.value)
                if not isinstance(value, int | float) or value <= 0:
                    raise ValueError(f"{path.name}: QUICK_SECONDS must be a positive number")
                return float(value)
    return None


def discover(folder: Path = BENCH) -> dict[str, float]:
    """Bench name -> declared quick seconds, for every script in ``folder`` with a quick mode."""
    found = {}
    for path in sorted(folder.glob("*.py")):
        if path.name in ("run_all.py", "common.py", "__init__.py"):
            continue
        seconds = quick_seconds(path)
        if seconds is not None:
            found[path.stem] = seconds
    return found


@dataclass
class Outcome:
    bench: str
    status: str        # "ok", "exit N", "timeout", "skipped (budget)"
    seconds: float


def run_bench(name: str, run_id: str, timeout: float) -> Outcome:
    env = {**os.environ, RUN_ENV: run_id,
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    t0 = time.monotonic()
    print(f"\n=== {name} --quick (at most {timeout:.0f} s)", flush=True)
    try:
        done = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), "--quick"], cwd=REPO,
                              env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Outcome(name, "timeout", time.monotonic() - t0)
    status = "ok" if done.returncode == 0 else f"exit {done.returncode}"
    return Outcome(name, status, time.monotonic() - t0)


def read_results(folder: Path, run_id: str | None = None) -> list[dict[str, Any]]:
    """Every JSON line in ``folder``'s .jsonl files (only this run's, given its id); without
    an id, the latest line of each (bench, metric)."""
    lines: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not a JSON line ({exc.msg})") from exc
            if run_id is None or line.get("run") == run_id:
                lines.append(line)
    if run_id is None:
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for line in lines:
            latest[(line["bench"], line["metric"])] = line
        lines = list(latest.values())
    return lines


def _value(line: dict[str, Any]) -> str:
    value = line["value"]
    text = f"{value:,.4g}" if isinstance(value, float) else f"{value:,}"
    return f"{text} {line['unit']}"


def table(lines: Iterable[dict[str, Any]], outcomes: Sequence[Outcome] = ()) -> str:
    """A Markdown table: one row per figure (targets first, then the others, by bench), one
    per bench that failed or gave no figures; then a count of targets met."""
    rows = sorted(lines, key=lambda x: (x.get("target") is None, x["bench"], x["metric"]))
    out = ["| bench | metric | value | target | met | backend / workers | load avg | commit |",
           "|---|---|---|---|---|---|---|---|"]
    for x in rows:
        met = {True: "yes", False: "**NO**", None: ""}[x.get("met")]
        workers = x.get("workers")
        load = x.get("loadavg") or []
        out.append(f"| {x['bench']} | {x['metric']} | {_value(x)} | {x.get('target') or ''} "
                   f"| {met} | {x.get('backend')}"
                   f"{' / ' + str(workers) if workers is not None else ''} "
                   f"| {load[0] if load else ''} | {x.get('commit', '')} |")
    benches = {x["bench"] for x in rows}
    for o in outcomes:
        if o.status != "ok" or o.bench not in benches:
            note = o.status if o.status != "ok" else "no figures recorded"
            out.append(f"| {o.bench} | (run) | {note} after {o.seconds:.0f} s | | **NO** "
                       "| | | |")
    targets = [x for x in rows if x.get("target") is not None]
    met = sum(1 for x in targets if x.get("met"))
    failed = sum(1 for o in outcomes if o.status != "ok" or o.bench not in benches)
    out.append("")
    out.append(f"{met} of {len(targets)} targets met"
               + (f"; {failed} bench run(s) failed or recorded nothing" if failed else ""))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="run every bench's quick mode")
    p.add_argument("--table", action="store_true",
                   help="run nothing: the latest figure of each metric on record")
    p.add_argument("--only", nargs="+", metavar="BENCH", help="just these benches")
    p.add_argument("--budget", type=float, default=300.0, help="seconds for the whole run")
    args = p.parse_args(argv)
    if not (args.quick or args.table):
        p.error("say --quick (run the quick modes) or --table (show the latest figures)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.table:
        print(table(read_results(RESULTS)))
        return 0
    benches = discover()
    if args.only:
        unknown = sorted(set(args.only) - set(benches))
        if unknown:
            p.error(f"no quick mode in: {', '.join(unknown)} (have: {', '.join(benches)})")
        benches = {b: s for b, s in benches.items() if b in args.only}
    run_id = uuid.uuid4().hex[:12]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"run {run_id}: {len(benches)} benches ({', '.join(benches)}), declared "
          f"~{sum(benches.values()):.0f} s, budget {args.budget:.0f} s; load average {load} "
          f"on {os.cpu_count()} CPUs")
    deadline = time.monotonic() + args.budget
    outcomes = []
    for name in benches:
        left = deadline - time.monotonic()
        if left < 5:
            outcomes.append(Outcome(name, "skipped (budget)", 0.0))
            continue
        outcomes.append(run_bench(name, run_id, left))
    text = table(read_results(RESULTS, run_id), outcomes)
    header = (f"# bench/run_all.py --quick, run {run_id}, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\nLoad average at the "
              f"start: {load} on {os.cpu_count()} CPUs.\n\n")
    (RESULTS / "latest.md").write_text(header + text + "\n", encoding="utf-8")
    print("\n" + text)
    return 0 if all(o.status == "ok" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
