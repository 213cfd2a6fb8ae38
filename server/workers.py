"""``peso serve --workers N``: the app factory each uvicorn worker process imports, and the
rule that only the scale backends (Neo4j) may be served by several processes."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from starlette.types import ASGIApp

from server import logs
from server.settings import Settings, parse_graph_url

MAX_WORKERS = 64
# how often a worker process checks that the `peso serve` process that started it is alive
SUPERVISOR_CHECK_SECONDS = 1.0

log = logging.getLogger(__name__)


def refusal(settings: Settings, workers: int) -> str | None:
    """Why ``workers`` processes may not serve this catalog, or None when they may."""
    if workers < 1 or workers > MAX_WORKERS:
        return f"--workers must be between 1 and {MAX_WORKERS}, got {workers}"
    if workers > 1 and parse_graph_url(settings.graph_url)[0] == "sqlite":
        return (f"--workers {workers} needs a shared graph store (PESO_GRAPH_URL=neo4j://…): "
                "the embedded SQLite catalog keeps a single writer, so serve it with one worker")
    return None


def app() -> ASGIApp:
    """Build one worker's app from the environment (uvicorn calls it in every worker)."""
    from server.app import create_app
    from server.worker import EmbeddedWorker

    settings = Settings.from_env()
    logs.setup(settings.log_level, settings.log_format)
    exit_with_supervisor(os.getppid())
    # every process runs the background jobs' loop; their leases make each job run once
    return EmbeddedWorker(create_app(settings), settings,
                          run_jobs=settings.worker_in_serve)


def exit_with_supervisor(supervisor: int, every: float = SUPERVISOR_CHECK_SECONDS) -> None:
    """Stop this worker process gracefully (SIGTERM to itself: uvicorn's shutdown, then the app's)
    once the process that started it is gone. uvicorn's supervisor stops its workers when it is
    stopped; killed (kill -9, OOM), it cannot, and the orphans would keep serving the port and
    running the background jobs against the shared catalog."""
    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(every)
        log.warning("peso serve (pid %d) is gone: this worker (pid %d) stops", supervisor,
                    os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="peso-supervisor-watch", daemon=True).start()
