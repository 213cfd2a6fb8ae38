"""``peso worker``: run the background jobs (server/worker.py, server/scheduler.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import TYPE_CHECKING

from server.settings import Settings

if TYPE_CHECKING:
    from server.scheduler import Outcome
    from server.storage.graph import GraphStore
    from server.storage.objects import ObjectStore


def add_worker_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser(
        "worker", help="run the background jobs (health report; harvests once registered)",
        description="Close runs whose process is gone (as ABORT), then run every due "
                    "background job (server/jobs.py) each PESO_WORKER_POLL_SECONDS until "
                    "stopped (SIGTERM / Ctrl-C). A job runs in one process at a time: each "
                    "takes a lease in the graph store, so several workers (and `peso serve`, "
                    "which runs the same loop unless --no-worker) on one catalog run it once.")
    worker.add_argument("--once", action="store_true",
                        help="run the due jobs once and exit")
    worker.add_argument("--json", action="store_true",
                        help="with --once: print what happened as JSON")
    worker.set_defaults(func=cmd_worker)


def _line(o: Outcome) -> str:
    return f"{o.job}: {o.status}" + (f" ({o.summary})" if o.summary else "")


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from server.storage.factory import run_with_stores
    from server.worker import scheduler, start_up

    async def work(graph: GraphStore, objects: ObjectStore) -> int:
        closed = await start_up(graph, settings, actor="peso-worker")
        sched = scheduler(graph, objects, settings)
        if args.once:
            outcomes = await sched.tick()
            if args.json:
                print(json.dumps({"closed_runs": closed,
                                  "jobs": [o.as_dict() for o in outcomes]}, indent=2))
            else:
                for item in closed:
                    print(f"closed run {item['run_id']} of {item['job']}: {item['reason']}")
                for o in outcomes:
                    print(_line(o))
            return 1 if any(o.status == "failed" for o in outcomes) else 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"peso worker: running background jobs every {settings.worker_poll_seconds}s "
              f"(lease holder {sched.holder}); stop with SIGTERM or Ctrl-C", file=sys.stderr,
              flush=True)
        await sched.run_forever(stop)
        return 0
    return run_with_stores(settings, work)
