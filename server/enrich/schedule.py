"""The worker's ``enrich`` job (server/jobs.py): ``enrich_version`` on every new dataset
version, so suggestions wait for review without anyone running ``peso enrich``.

"New" is counted from the start of the job's last COMPLETE run (``peso.worker.enrich``): a
version registered after it is due. Registering a version sets its dataset's ``updated_at``
to the version's ``created_at``, so the scan reads datasets newest-updated first and stops at
the first one older than that mark. The run itself re-reads a few seconds before the mark
(``OVERLAP_SECONDS``): a version whose transaction began just before the last run started
but committed after its scan is enriched then (enriching a version twice proposes nothing
new: the store skips what was proposed before). The job exists in a tick only while a new
version waits, so an idle catalog records no runs. RAW datasets are left out (their curated
twin is enriched); so are versions without fields, and every version of a collected dataset
but its first (``server/collect``: a flush every few seconds adds a version whose schema is
frozen, so later ones would only re-propose what a person already decided).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from server.enrich.runner import enrich_version
from server.errors import PesoError
from server.models import DatasetFilter, DatasetLayer, DatasetSort, PageRequest, RunState
from server.openlineage.producer import NAMESPACE
from server.scheduler import JOB_PREFIX, Job, JobContext
from server.storage.graph import GraphStore

JOB = "enrich"
ACTOR = "worker"
OVERLAP_SECONDS = 5.0
PAGE = 100
DESCRIPTION = "Run the enrichers on every new dataset version (peso enrich)."


async def last_complete_start(graph: GraphStore) -> datetime | None:
    """When the last COMPLETE run of the job started (its runs, newest first)."""
    job = await graph.get_job(NAMESPACE, JOB_PREFIX + JOB)
    if job is None:
        return None
    after = None
    while True:
        page = await graph.list_runs(job_id=job.id, first=PAGE, after=after)
        for run in page.items:
            if run.state is RunState.COMPLETE:
                return run.created_at
        if not page.has_next:
            return None
        after = page.cursors[-1]


async def new_versions(graph: GraphStore, since: datetime | None, *,
                       limit: int | None = None) -> list[tuple[str, int]]:
    """(dataset id, version number) of the latest version of each live, non-RAW dataset
    created at or after ``since`` (every one when None), oldest first."""
    found: list[tuple[datetime, str, int]] = []
    after = None
    while True:
        page = await graph.list_datasets(DatasetFilter(), PageRequest(
            first=PAGE, after=after, sort=DatasetSort.UPDATED_AT, descending=True))
        latest = await graph.get_latest_versions([d.id for d in page.items])
        for d, v in zip(page.items, latest, strict=True):
            if since is not None and d.updated_at < since:
                return _oldest_first(found)
            if v is not None and d.layer is not DatasetLayer.RAW and \
                    (since is None or v.created_at >= since) and \
                    not (v.version > 1 and "collected" in (v.changes or {})):
                found.append((v.created_at, d.id, v.version))
                if limit is not None and len(found) >= limit:
                    return _oldest_first(found)
        if not page.has_next:
            return _oldest_first(found)
        after = page.cursors[-1]


def _oldest_first(found: Sequence[tuple[datetime, str, int]]) -> list[tuple[str, int]]:
    return [(dataset_id, version) for _, dataset_id, version in sorted(found)]


async def has_new_versions(ctx: JobContext) -> bool:
    since = await last_complete_start(ctx.graph)
    return bool(await new_versions(ctx.graph, since, limit=1))


async def enrich_new_versions(ctx: JobContext) -> str:
    since = await last_complete_start(ctx.graph)
    start = since - timedelta(seconds=OVERLAP_SECONDS) if since is not None else None
    todo = await new_versions(ctx.graph, start)
    created = skipped = 0
    failed: list[str] = []
    for dataset_id, version in todo:
        try:
            report = await enrich_version(ctx.graph, ctx.objects, ctx.settings, dataset_id,
                                          version, actor=ACTOR)
        except PesoError as exc:   # e.g. deleted since the scan: the others still run
            failed.append(f"{dataset_id} v{version}: {exc.message}")
            continue
        created, skipped = created + len(report.created), skipped + report.skipped
        failed += [f"{report.dataset} ({name})" for name in report.errors]
    summary = (f"enriched {len(todo)} new versions: {created} suggestions, {skipped} "
               "proposed before")
    return summary + (f"; enrichers failed on {', '.join(failed[:10])}" if failed else "")


async def enrichment_jobs(ctx: JobContext) -> Sequence[Job]:
    """The ``enrich`` job while a new version waits (and PESO_ENRICH_NEW_VERSIONS is on)."""
    if not ctx.settings.enrich_new_versions or not await has_new_versions(ctx):
        return []
    return [Job(JOB, enrich_new_versions, DESCRIPTION, is_due=has_new_versions)]
