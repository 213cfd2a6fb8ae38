"""The background jobs ``peso worker`` runs (server/scheduler.py): ``SOURCES`` lists where
jobs come from, one line each. Registering more is one line here, for example::

    SOURCES: list[JobSource] = [builtin_jobs, harvest_jobs, enrichment_jobs]

where ``harvest_jobs(ctx)`` returns one ``Job(name=f"harvest.{h.name}", run=…,
is_due=…, description=…)`` per harvest that ``loaders.harvest.schedule.due_harvests(store,
now)`` names (``is_due`` asks again after the lease is taken, so two workers never run one
harvest twice), and a job with ``every=`` is due that many seconds after its last run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from server.scheduler import Job, JobContext, JobFunction, JobSource


async def health_report(ctx: JobContext) -> str:
    """Store today's catalog health report edition (reports/health/YYYY-MM-DD.json)."""
    from server.health import edition

    report = await edition(ctx.graph, ctx.objects, stale_days=ctx.settings.report_stale_days,
                           save=True, now=datetime.now(UTC))
    counts = report["counts"]
    return (f"stored the health report of {report['date']}: {counts['datasets']} datasets, "
            f"{counts['failed_runs']} failed runs, {counts['stale']} stale")


async def builtin_jobs(ctx: JobContext) -> Sequence[Job]:
    return [Job("health-report", health_report,
                "Store today's catalog health report edition (peso report).",
                every=ctx.settings.health_report_every_seconds)]


async def harvest_jobs(ctx: JobContext) -> Sequence[Job]:
    """One job per harvest source (``peso harvest add``), due ``every`` seconds after its
    last run (loaders/harvest/)."""
    from loaders.harvest.sources import list_all
    from server.harvest_cli import harvest_once

    def runner(name: str) -> JobFunction:
        async def run(job_ctx: JobContext) -> str:
            report = await harvest_once(job_ctx.graph, job_ctx.settings, name, actor="worker",
                                        objects=job_ctx.objects)
            return str(report["summary"])
        return run
    return [Job(f"harvest.{s.name}", runner(s.name),
                f"Harvest the {s.kind} catalog {s.url}.", every=float(s.every_seconds))
            for s in await list_all(ctx.graph)]


async def enrichment_jobs(ctx: JobContext) -> Sequence[Job]:
    """``enrich`` while a new dataset version waits for the enrichers (server/enrich/)."""
    from server.enrich.schedule import enrichment_jobs as jobs

    return await jobs(ctx)


SOURCES: list[JobSource] = [builtin_jobs, harvest_jobs, enrichment_jobs]
