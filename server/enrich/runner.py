"""Run the enrichers over one dataset version (or every dataset's latest) and store what they
suggest. ``enrich_version`` is what the worker calls on every new version; ``peso enrich``
and the tests call it too.

One enricher failing (a bug, or a data file that cannot be read) does not stop the others:
the report names the enricher and the error; suggestions are stored only through
``GraphStore.put_suggestions`` (never as direct edits).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from server.enrich.base import EnrichContext, Enricher, load_enrichers, log
from server.enrich.sample import read_sample
from server.errors import NotFoundError, PesoError
from server.models import DatasetFilter, DatasetLayer, PageRequest
from server.models_suggestions import NewSuggestion, Suggestion
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

ACTOR = "enricher"


@dataclass
class EnrichReport:
    dataset: str
    dataset_id: str
    version: int
    sample_rows: int
    total_rows: int
    created: list[Suggestion] = field(default_factory=list)
    skipped: int = 0
    superseded: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "version": self.version,
                "sampleRows": self.sample_rows, "totalRows": self.total_rows,
                "created": len(self.created), "skipped": self.skipped,
                "superseded": self.superseded, "errors": self.errors,
                "seconds": round(self.seconds, 3),
                "suggestions": [{"id": s.id, "kind": s.kind.value, "target": s.target,
                                 "value": s.value, "confidence": s.confidence}
                                for s in self.created]}


async def build_context(graph: GraphStore, objects: ObjectStore, settings: Settings,
                        dataset_id: str, version: int | None = None) -> EnrichContext:
    [dataset] = await graph.get_datasets([dataset_id])
    if dataset is None or dataset.deleted_at is not None:
        raise NotFoundError(f"no dataset with id {dataset_id!r}", field="dataset")
    [versions] = await graph.list_versions([dataset_id])
    chosen = versions[0] if versions and version is None else next(
        (v for v in versions if v.version == version), None)
    if chosen is None:
        raise NotFoundError(f"dataset {dataset.namespace}/{dataset.name} has no version "
                            f"{version if version is not None else '(none yet)'}",
                            field="version")
    [fields] = await graph.get_fields([chosen.id])
    [source] = await graph.get_sources([dataset.source_id]) if dataset.source_id else [None]
    table, total = None, chosen.row_count
    if chosen.curated_key:
        table, total = await asyncio.to_thread(read_sample, objects, chosen.curated_key,
                                               max_rows=settings.enrich_sample_rows)
    return EnrichContext(graph=graph, objects=objects, settings=settings, dataset=dataset,
                         version=chosen, fields=fields, source=source, table=table,
                         total_rows=total, sample_rows=table.num_rows if table else 0)


async def enrich_version(graph: GraphStore, objects: ObjectStore, settings: Settings,
                         dataset_id: str, version: int | None = None, *,
                         enrichers: Sequence[Enricher] | None = None,
                         actor: str = ACTOR) -> EnrichReport:
    """Run every registered enricher (or ``enrichers``) on one version (default: the latest)
    and store their suggestions; a suggestion proposed before for that version is skipped."""
    started = time.perf_counter()
    ctx = await build_context(graph, objects, settings, dataset_id, version)
    report = EnrichReport(f"{ctx.dataset.namespace}/{ctx.dataset.name}", ctx.dataset.id,
                          ctx.version.version, ctx.sample_rows, ctx.total_rows)
    proposed: list[NewSuggestion] = []
    for enricher in enrichers if enrichers is not None else load_enrichers():
        try:
            proposed += await enricher.enrich(ctx)
        except (PesoError, ValueError, OSError) as exc:
            report.errors[enricher.name] = str(exc)
            log.warning("enricher failed", extra={"enricher": enricher.name,
                                                  "dataset": report.dataset,
                                                  "error": str(exc)})
    unique = list({s.key: s for s in proposed}.values())
    if unique:
        result = await graph.put_suggestions(unique, actor=actor)
        report.created, report.skipped = result.created, result.skipped
        report.superseded = result.superseded
    report.seconds = time.perf_counter() - started
    return report


async def enrich_all(graph: GraphStore, objects: ObjectStore, settings: Settings, *,
                     enrichers: Sequence[Enricher] | None = None,
                     actor: str = ACTOR) -> list[EnrichReport]:
    """``enrich_version`` on the latest version of every live dataset, by namespace/name;
    RAW datasets (an upload as it arrived) are left out: their curated twin is enriched."""
    chosen = list(enrichers) if enrichers is not None else load_enrichers()
    reports = []
    after = None
    while True:
        page = await graph.list_datasets(DatasetFilter(), PageRequest(first=100, after=after))
        latest = await graph.get_latest_versions([d.id for d in page.items])
        for d, v in zip(page.items, latest, strict=True):
            if v is not None and d.layer is not DatasetLayer.RAW:
                reports.append(await enrich_version(graph, objects, settings, d.id,
                                                    enrichers=chosen, actor=actor))
        if not page.has_next:
            return reports
        after = page.cursors[-1]
