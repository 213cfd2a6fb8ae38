"""Background jobs: a registry (``server/jobs.py``) and the loop ``peso worker`` runs (and
``peso serve`` too, unless ``--no-worker`` / PESO_WORKER_IN_SERVE=false).

A ``Job`` has a name, a function and when it is due: ``every`` seconds after its last
recorded run started, or its own ``is_due`` (a harvest source knows its own schedule). Each
``tick``, for every due job, the scheduler

1. takes the lease ``job:<name>`` in the graph store (``acquire_lease``: atomic across
   processes, so of several workers on one Neo4j catalog exactly one goes on);
2. asks again whether the job is due (another worker may have run it between our first look
   and our lease), and gives the lease back if not;
3. records the run as an OpenLineage run of job ``peso.worker.<name>`` (START, then COMPLETE
   or FAIL with the error): that record is what the next ``every`` is counted from, in every
   process, and the catalog's own history shows each run (``runs``, ``catalogHealth``);
4. runs the function while renewing the lease at a third of PESO_WORKER_LEASE_SECONDS; a
   worker that dies loses the lease when it expires and its open run is closed as ABORT by
   ``server/stale_runs.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from server.openlineage.producer import NAMESPACE, Emitter
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

log = logging.getLogger("peso.worker")

JOB_PREFIX = "peso.worker."


@dataclass(frozen=True, slots=True)
class JobContext:
    graph: GraphStore
    objects: ObjectStore
    settings: Settings
    now: datetime


# a job's work: returns a one-line summary (shown by `peso worker` and kept in the run)
JobFunction = Callable[[JobContext], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str                       # [a-z0-9._-]: lease job:<name>, runs of peso.worker.<name>
    run: JobFunction
    description: str
    every: float | None = None      # seconds between runs (counted from the last run's start)
    is_due: Callable[[JobContext], Awaitable[bool]] | None = None  # instead of `every`

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "._-" for c in self.name):
            raise ValueError(f"job name {self.name!r}: use letters, digits, '.', '_', '-'")
        if (self.every is None) == (self.is_due is None):
            raise ValueError(f"job {self.name!r}: give exactly one of every= or is_due=")
        if self.every is not None and not self.every > 0:
            raise ValueError(f"job {self.name!r}: every= must be positive seconds")

    @property
    def lineage_job(self) -> str:
        return JOB_PREFIX + self.name


# where jobs come from each tick: given the context, the jobs that exist now (a harvest
# source per configured harvest, say)
JobSource = Callable[[JobContext], Awaitable[Sequence[Job]]]


@dataclass
class Outcome:
    job: str
    status: str                 # ran | failed | not-due | busy (another worker holds it)
    summary: str = ""
    run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job, "status": self.status, "summary": self.summary,
                "run_id": self.run_id}


def holder_id() -> str:
    """Who holds a lease: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def last_run_start(graph: GraphStore, job: Job) -> datetime | None:
    found = await graph.get_job(NAMESPACE, job.lineage_job)
    if found is None:
        return None
    page = await graph.list_runs(job_id=found.id, first=1)
    return page.items[0].created_at if page.items else None


async def is_due(job: Job, ctx: JobContext) -> bool:
    if job.is_due is not None:
        return await job.is_due(ctx)
    assert job.every is not None
    last = await last_run_start(ctx.graph, job)
    return last is None or (ctx.now - last).total_seconds() >= job.every


@dataclass
class Scheduler:
    graph: GraphStore
    objects: ObjectStore
    settings: Settings
    sources: Sequence[JobSource]
    holder: str = field(default_factory=holder_id)

    def context(self) -> JobContext:
        return JobContext(self.graph, self.objects, self.settings, datetime.now(UTC))

    async def jobs(self) -> list[Job]:
        ctx = self.context()
        found: list[Job] = []
        for source in self.sources:
            try:
                found += await source(ctx)
            except Exception:  # one broken source must not stop the others' jobs: logged
                log.exception("background job source %s failed; its jobs are skipped this "
                              "tick", getattr(source, "__name__", source))
        return found

    async def tick(self) -> list[Outcome]:
        """Run every due job once (one at a time, in registry order)."""
        return [await self.run_if_due(job) for job in await self.jobs()]

    async def run_if_due(self, job: Job) -> Outcome:
        if not await is_due(job, self.context()):
            return Outcome(job.name, "not-due")
        lease, ttl = f"job:{job.name}", self.settings.worker_lease_seconds
        if not await self.graph.acquire_lease(lease, self.holder, ttl):
            return Outcome(job.name, "busy", "another worker holds its lease")
        try:
            ctx = self.context()
            if not await is_due(job, ctx):  # another worker ran it while we looked
                return Outcome(job.name, "not-due")
            return await self._run(job, ctx, lease, ttl)
        finally:
            await self.graph.release_lease(lease, self.holder)

    async def _run(self, job: Job, ctx: JobContext, lease: str, ttl: float) -> Outcome:
        run = Emitter(self.graph, forward_url=self.settings.openlineage_url,
                      actor="peso-worker").run(job.lineage_job, job.description)
        await run.start()
        work = asyncio.ensure_future(job.run(ctx))
        renewer = asyncio.create_task(self._renew(lease, ttl))
        try:
            await asyncio.wait({work, renewer}, return_when=asyncio.FIRST_COMPLETED)
            if not work.done():  # the lease was lost: another worker may start the job now
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                reason = (f"stopped: its lease {lease} was taken over by another worker "
                          "(it ran longer than PESO_WORKER_LEASE_SECONDS without a renewal)")
                await run.fail(reason)
                return Outcome(job.name, "failed", reason, run.run_id)
            summary = work.result()
        except asyncio.CancelledError:
            work.cancel()
            await asyncio.shield(run.fail("stopped: the worker shut down while it ran"))
            raise
        except Exception as exc:  # a job's failure is recorded as its run's FAIL, then logged
            log.exception("background job %s failed", job.name)
            await run.fail(exc)
            return Outcome(job.name, "failed", str(exc)[:500], run.run_id)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        await run.complete(run_facets={"pesoWorker": _summary_facet(summary)})
        log.info("background job %s ran: %s", job.name, summary)
        return Outcome(job.name, "ran", summary, run.run_id)

    async def _renew(self, lease: str, ttl: float) -> None:
        """Renew at a third of the ttl; return (ending the job) once the lease is lost."""
        while True:
            await asyncio.sleep(ttl / 3)
            if not await self.graph.renew_lease(lease, self.holder, ttl):
                log.warning("lease %s was taken over by another worker while its job ran",
                            lease)
                return

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Tick every PESO_WORKER_POLL_SECONDS until ``stop`` is set. A tick that fails on
        the store (it is down) is logged and the next one tries again."""
        from server.errors import PesoError

        while not stop.is_set():
            try:
                await self.tick()
            except (PesoError, OSError) as exc:
                log.warning("worker tick failed (next try in %ss): %s",
                            self.settings.worker_poll_seconds, exc)
            except Exception:  # a bug in one tick must not end the loop: logged in full
                log.exception("worker tick failed unexpectedly (next try in %ss)",
                              self.settings.worker_poll_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.worker_poll_seconds)


def _summary_facet(summary: str) -> dict[str, Any]:
    from server.openlineage.producer import _custom

    return _custom(summary=summary[:2000])
