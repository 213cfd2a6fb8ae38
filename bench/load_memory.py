"""Peak memory of `peso load` on a CSV many times larger than its batches.

    python bench/load_memory.py [--gb 1] [--also-2gb] [--keep DIR]

Generates a marketing-like CSV of about ``--gb`` GB (the generator of ``load_vs_pyarrow.py``,
~130 bytes a row) in a temp folder, then runs the real command, ``peso load FILE --dataset
bench/events --json``, as a child process with a fresh data folder, and reports its peak
resident set size: the kernel's own high-water mark (``wait4`` rusage ``ru_maxrss``), plus a
/proc poll every 20 ms to show how RSS moved over the load. ``--also-2gb`` repeats it with a
file twice as big: a streaming loader's peak should not grow with the file.

Target: under 1 GiB for a 2 GB CSV.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import record
from load_vs_pyarrow import generate

ROW_BYTES = 130   # about, for the generator's rows


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(csv: Path, root: Path) -> dict[str, float]:
    data_dir = Path(tempfile.mkdtemp(dir=root, prefix="data-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESO_")}
    env.update({"PESO_DATA_DIR": str(data_dir), "PESO_LOG_LEVEL": "warning"})
    cmd = [sys.executable, "-m", "server.cli", "load", str(csv), "--dataset", "bench/events",
           "--json"]
    samples: list[tuple[float, int]] = []
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=Path(__file__).resolve().parent.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            samples.append((time.perf_counter() - start, _rss_kib(proc.pid)))
            time.sleep(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    poller.join()
    seconds = time.perf_counter() - start
    shutil.rmtree(data_dir, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"peso load failed ({proc.returncode}): {err.decode()[-2000:]}")
    report = json.loads(out)
    polled = max((kib for _, kib in samples), default=0)
    timeline = [kib for _, kib in samples[:: max(1, len(samples) // 12)]]
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "polled_mib": polled / 1024,
            "rows": report["rows_written"], "mb": csv.stat().st_size / 1e6,
            "timeline_mib": [round(k / 1024) for k in timeline]}  # type: ignore[dict-item]


def run(gb: float, root: Path, keep: Path | None) -> None:
    rows = int(gb * 1e9 / ROW_BYTES)
    csv = (keep / f"events-{gb:g}gb.csv") if keep else root / f"events-{gb:g}gb.csv"
    if not csv.exists():
        start = time.perf_counter()
        generate(csv, rows)
        print(f"generated {csv} ({csv.stat().st_size / 1e9:.2f} GB, {rows:,} rows) in "
              f"{time.perf_counter() - start:.0f} s")
    result = measure(csv, root)
    print(f"{result['mb'] / 1e3:.2f} GB CSV, {result['rows']:,} rows: peak RSS "
          f"{result['peak_mib']:.0f} MiB (polled {result['polled_mib']:.0f} MiB), "
          f"{result['seconds']:.1f} s, {result['mb'] / result['seconds']:.0f} MB/s")
    print(f"  RSS over the load (MiB): {result['timeline_mib']}")
    record("load_memory", f"peak_rss_{gb:g}gb_csv", round(result["peak_mib"], 1), "MiB",
           target="< 1024" if gb >= 2 else None,
           input={"generator": "bench/load_vs_pyarrow.py make_chunk", "path": str(csv),
                  "bytes": csv.stat().st_size, "rows": result["rows"],
                  "seconds": round(result["seconds"], 1), "command": "peso load --json"},
           backend="sqlite (embedded), local objects", workers=1)
    if not keep:
        csv.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--also-2gb", action="store_true", help="then a 2 GB file too")
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    args = parser.parse_args()
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    root = Path(tempfile.mkdtemp(prefix="peso-bench-mem-"))
    try:
        run(args.gb, root, args.keep)
        if args.also_2gb:
            run(2.0, root, args.keep)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
