"""``peso serve --workers N``: the app factory each uvicorn worker process imports, and the
rule that only the scale backends (Neo4j) may be served by several processes."""

from __future__ import annotations

from starlette.types import ASGIApp

from server import logs
from server.settings import Settings, parse_graph_url

MAX_WORKERS = 64


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
    # every process runs the background jobs' loop; their leases make each job run once
    return EmbeddedWorker(create_app(settings), settings,
                          run_jobs=settings.worker_in_serve)
