"""Harvest sources over GraphQL (loaders/harvest/): listed for every reader, added, run and
removed by administrators (as `peso harvest` does on the command line)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from schema.payloads import UserError, attempt
from schema.permissions import needs
from server import models
from server.openlineage import producer

if TYPE_CHECKING:
    from schema.jobs import Run


@strawberry.type(description="A portal Peso harvests (`peso harvest add`).")
class HarvestSource:
    name: str
    url: str
    kind: str = strawberry.field(description="dcat-us, ckan, dcat-rdf or schema-org.")
    every_seconds: int = strawberry.field(description="How often the worker harvests it.")
    fetch_data: bool = strawberry.field(
        default=False, description="Whether each dataset's first tabular distribution is "
                                   "downloaded and loaded as a version.")

    @strawberry.field(description="Its latest runs (job `peso.harvest.NAME`), newest first; "
                                  "a run's facets hold nothing personal.")
    async def last_runs(self, info: Info, first: int = 5
                        ) -> list[Annotated[Run, strawberry.lazy("schema.jobs")]]:
        from schema.jobs import Run

        # batched per request: every source's job in one read, their runs in another
        job = await info.context.loaders.job_by_key.load(
            (producer.NAMESPACE, f"peso.harvest.{self.name}"))
        if job is None:
            return []
        page = await info.context.loaders.job_runs.load((job.id, max(1, min(first, 50))))
        return [Run.from_model(r) for r in page.items]


def _source(s: object) -> HarvestSource:
    from loaders.harvest.sources import HarvestSource as Model

    assert isinstance(s, Model)
    return HarvestSource(name=s.name, url=s.url, kind=s.kind, every_seconds=s.every_seconds,
                         fetch_data=s.fetch_data)


@strawberry.input
class AddHarvestSourceInput:
    name: str
    url: str = strawberry.field(description="A data.json URL, a CKAN API root (…/api/3), an "
                                            "RDF document or a page with schema.org JSON-LD.")
    kind: str = strawberry.field(description="dcat-us, ckan, dcat-rdf or schema-org.")
    every: str = strawberry.field(default="1d", description="30m, 6h, 1d…")
    fetch_data: bool = strawberry.field(
        default=False, description="Also download each dataset's first tabular distribution "
                                   "(CSV, JSON, XLSX, Parquet) and load it as a version "
                                   "(PESO_HARVEST_MAX_BYTES; private addresses refused).")


@strawberry.type
class HarvestSourcePayload:
    harvest_source: HarvestSource | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class HarvestRunPayload:
    report: JSON | None = strawberry.field(
        default=None, description="What the run read, created, updated, left unchanged, "
                                  "removed and refused (with the reason per record).")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class HarvestQuery:
    @strawberry.field(description="The portals Peso harvests, by name.")
    async def harvest_sources(self, info: Info) -> list[HarvestSource]:
        from loaders.harvest.sources import list_all

        return [_source(s) for s in await list_all(info.context.graph)]


@strawberry.type
class HarvestMutation:
    @strawberry.mutation(description="Add (or change) a harvest source. Admins only.",
                         extensions=needs(models.Role.ADMIN))
    async def add_harvest_source(self, info: Info, input: AddHarvestSourceInput
                                 ) -> HarvestSourcePayload:
        from loaders.harvest import sources
        from server.harvest_cli import fetcher_for

        async def work() -> sources.HarvestSource:
            source = sources.HarvestSource(
                name=sources.check_name(input.name), url=input.url[:2000],
                kind=sources.check_kind(input.kind),
                every_seconds=sources.parse_every(input.every[:20]), fetch_data=input.fetch_data)
            fetcher_for(info.context.settings).check_url(source.url)
            return await sources.save(info.context.graph, source, actor=info.context.actor)
        saved, errors = await attempt(work())
        return HarvestSourcePayload(harvest_source=_source(saved) if saved else None,
                                    errors=errors)

    @strawberry.mutation(description="Harvest a source now and return the run's report. "
                                     "Admins only.", extensions=needs(models.Role.ADMIN))
    async def run_harvest(self, info: Info, name: str) -> HarvestRunPayload:
        from server.harvest_cli import harvest_once

        report, errors = await attempt(harvest_once(info.context.graph, info.context.settings,
                                                    name[:64], actor=info.context.actor,
                                                    objects=info.context.objects))
        return HarvestRunPayload(report=cast(JSON, report), errors=errors)

    @strawberry.mutation(description="Stop harvesting a source (its datasets stay). "
                                     "Admins only.", extensions=needs(models.Role.ADMIN))
    async def remove_harvest_source(self, info: Info, name: str) -> HarvestSourcePayload:
        from loaders.harvest.sources import remove

        gone, errors = await attempt(remove(info.context.graph, name[:64],
                                            actor=info.context.actor))
        return HarvestSourcePayload(harvest_source=_source(gone) if gone else None,
                                    errors=errors)
