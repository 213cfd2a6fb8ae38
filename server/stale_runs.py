"""Close runs whose process is gone (issue 10 item 7): a ``peso load`` killed mid-load left its
run in START forever.

Every event Peso emits for its own jobs (namespace ``peso``: ``peso.load``, ``peso.migrate``,
the worker's ``peso.worker.*``) carries the run facet ``pesoProcess`` with the host name and
pid of the process doing the work. ``close_stale_runs`` looks at every open (START or
RUNNING) run of those jobs and closes it as ABORT, with the reason as its ``errorMessage``,
when

- it was started on this host by a pid that no longer exists, or
- it is older than PESO_STALE_RUN_SECONDS (another host, whose processes cannot be checked
  from here; a run without the facet, from before it existed; or a pid on this host that is
  alive but, after so long, is most likely a new process reusing the number).

``peso serve`` and ``peso worker`` call it at start-up and ``peso gc`` on every run. Runs of
other producers' jobs are theirs to close and are never touched.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from server.models_lineage import Job, Run, RunState
from server.openlineage.producer import NAMESPACE, PROCESS_FACET, Emitter
from server.storage.graph import GraphStore

log = logging.getLogger("peso.runs")

PAGE = 500
OPEN = (RunState.START, RunState.RUNNING)


@dataclass(frozen=True, slots=True)
class Aborted:
    job: str
    run_id: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job, "run_id": self.run_id, "reason": self.reason}


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists on this host (ours or another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, it is just not ours to signal
        return True
    return True


def why_stale(run: Run, *, now: datetime, max_age: timedelta, host: str) -> str | None:
    """Why this open run's process is gone, or None while it may still be at work."""
    facet = run.facets.get(PROCESS_FACET)
    where = facet if isinstance(facet, dict) else {}
    run_host, pid = where.get("host"), where.get("pid")
    if isinstance(run_host, str) and run_host == host and isinstance(pid, int) \
            and not isinstance(pid, bool) and not pid_alive(pid):
        return (f"closed by Peso: the process that ran it (pid {pid} on {host}) is gone; it "
                "was killed or crashed before it could report an end")
    started = run.started_at or run.created_at
    age = now - started
    if age > max_age:
        place = (f"pid {pid} on {run_host}" if isinstance(run_host, str) and pid is not None
                 else "an unknown process")
        return (f"closed by Peso: no end was reported within {int(max_age.total_seconds())} s "
                f"(PESO_STALE_RUN_SECONDS) by {place}; its process is taken to be gone")
    return None


async def _peso_jobs(graph: GraphStore) -> list[Job]:
    jobs: list[Job] = []
    after: list[Any] = [NAMESPACE, ""]   # jobs are paged by (namespace, name)
    while True:
        page = await graph.list_jobs(first=PAGE, after=after)
        for job in page.items:
            if job.namespace != NAMESPACE:
                return jobs
            jobs.append(job)
        if not page.has_next or not page.items:
            return jobs
        after = [page.items[-1].namespace, page.items[-1].name]


async def _open_runs(graph: GraphStore, job: Job) -> list[Run]:
    found: list[Run] = []
    after: list[Any] | None = None
    while True:
        page = await graph.list_runs(job_id=job.id, first=PAGE, after=after)
        found += [r for r in page.items if r.state in OPEN]
        if not page.has_next or not page.items:
            return found
        after = page.cursors[-1]


async def close_stale_runs(graph: GraphStore, *, max_age_seconds: int,
                           now: datetime | None = None, actor: str = "peso",
                           dry_run: bool = False) -> list[Aborted]:
    """Close every open run of Peso's own jobs whose process is gone (see the module doc);
    with ``dry_run``, only say which (``peso gc`` without ``--delete``)."""
    moment = now or datetime.now(UTC)
    host = socket.gethostname()
    max_age = timedelta(seconds=max_age_seconds)
    emitter = Emitter(graph, actor=actor)
    closed: list[Aborted] = []
    for job in await _peso_jobs(graph):
        for run in await _open_runs(graph, job):
            reason = why_stale(run, now=moment, max_age=max_age, host=host)
            if reason is None:
                continue
            if dry_run:
                closed.append(Aborted(job.name, run.id, reason))
                continue
            produced = emitter.run(job.name, job.description or "")
            produced.run_id = run.id
            await produced.abort(reason)
            [after] = await graph.get_runs([run.id])
            if after is not None and after.state is RunState.ABORT:
                closed.append(Aborted(job.name, run.id, reason))
                log.warning("run %s of %s closed as ABORT: %s", run.id, job.name, reason)
            else:
                log.warning("run %s of %s could not be closed (see the log above)", run.id,
                            job.name)
    return closed
