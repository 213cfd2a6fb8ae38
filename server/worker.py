"""``peso worker`` and the worker inside ``peso serve``: close the runs of dead processes
(``server/stale_runs.py``), then run the scheduler (``server/scheduler.py``) over the jobs of
``server/jobs.py``.

``peso serve`` wraps its ASGI app in ``EmbeddedWorker``, which starts the loop after the
app's own start-up (the stores are open by then) and stops it before the app's shut-down;
with ``--workers N`` every uvicorn process runs one, and the leases make each job run once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from server.errors import PesoError
from server.scheduler import Scheduler
from server.settings import Settings
from server.stale_runs import close_stale_runs
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

log = logging.getLogger("peso.worker")


def scheduler(graph: GraphStore, objects: ObjectStore, settings: Settings) -> Scheduler:
    from server.jobs import SOURCES

    return Scheduler(graph, objects, settings, list(SOURCES))


async def start_up(graph: GraphStore, settings: Settings, *, actor: str) -> list[dict[str, Any]]:
    """What every worker and server does first: close the runs whose process is gone."""
    closed = await close_stale_runs(graph, max_age_seconds=settings.stale_run_seconds,
                                    actor=actor)
    return [a.as_dict() for a in closed]


class EmbeddedWorker:
    """ASGI wrapper: the app, plus the worker loop for as long as the app's lifespan."""

    def __init__(self, app: Starlette, settings: Settings, *, run_jobs: bool) -> None:
        self.app, self.settings, self.run_jobs = app, settings, run_jobs
        self.graph: GraphStore = app.state.graph      # opened by the app's own lifespan
        self.objects: ObjectStore = app.state.objects
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def wrapped_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                await self._start()
            await send(message)

        async def wrapped_receive() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self._stop()
            return message

        await self.app(scope, wrapped_receive, wrapped_send)

    async def _start(self) -> None:
        graph, objects = self.graph, self.objects
        try:
            closed = await start_up(graph, self.settings, actor="peso-serve")
        except PesoError as exc:  # the API serves anyway; /readyz tells whether the store is up
            log.warning("could not close the runs of dead processes at start-up: %s",
                        exc.message)
            closed = []
        if closed:
            log.warning("closed %d runs whose process is gone as ABORT", len(closed))
        if self.run_jobs:
            self.task = asyncio.create_task(
                scheduler(graph, objects, self.settings).run_forever(self.stop))

    async def _stop(self) -> None:
        self.stop.set()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
