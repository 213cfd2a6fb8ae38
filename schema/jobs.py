"""OpenLineage jobs and runs: the ``Job`` and ``Run`` types (Relay nodes), and the ``jobs``,
``job`` and ``runs`` root fields."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from schema.enums import OwnerKind
from schema.permissions import may_see_pii
from schema.pii import masked_facets
from schema.relay import Node, check_first, decode_after, global_id, tagged_cursor
from schema.types import Connection, Dataset, Owner, connection
from server import models
from server.errors import NotFoundError
from server.ids import check_lineage_name, check_lineage_namespace
from server.public_text import public_error_facet, public_message


@strawberry.enum(description="Where a run is: START, RUNNING, then COMPLETE, FAIL or ABORT "
                             "(OTHER: only extra metadata has been received).")
class RunState(enum.Enum):
    START = "start"
    RUNNING = "running"
    COMPLETE = "complete"
    FAIL = "fail"
    ABORT = "abort"
    OTHER = "other"


@strawberry.enum(description="Whether a run read (INPUT) or wrote (OUTPUT) a dataset.")
class RunRole(enum.Enum):
    INPUT = "input"
    OUTPUT = "output"


@strawberry.input(description="A job by its OpenLineage namespace and name.")
class JobRef:
    namespace: str
    name: str


def _facet(facets: dict[str, object], name: str) -> JSON | None:
    value = facets.get(name)
    return cast(JSON, value) if isinstance(value, dict) else None


@strawberry.type(description="A dataset a run read or wrote, with the input or output facets "
                             "sent for it (data quality, statistics, …).")
class RunDataset:
    role: RunRole
    facets: JSON
    model: strawberry.Private[models.RunDataset]

    @strawberry.field
    async def dataset(self, info: Info) -> Dataset:
        found = await info.context.loaders.dataset.load(self.model.dataset_id)
        if found is None:
            raise NotFoundError("the dataset of this run no longer exists")
        return Dataset.from_model(found)

    # self.facets, not self.model.facets: PII sample values are masked (schema/pii.py)
    @strawberry.field(description="The dataQualityMetrics input facet, if sent.")
    def data_quality_metrics(self) -> JSON | None:
        return _facet(cast(dict[str, object], self.facets), "dataQualityMetrics")

    @strawberry.field(description="The dataQualityAssertions facet, if sent.")
    def data_quality_assertions(self) -> JSON | None:
        return _facet(cast(dict[str, object], self.facets), "dataQualityAssertions")

    @strawberry.field(description="The outputStatistics output facet, if sent.")
    def output_statistics(self) -> JSON | None:
        return _facet(cast(dict[str, object], self.facets), "outputStatistics")


@strawberry.type(description="One run of a job (OpenLineage): its state over time, the "
                             "datasets it read and wrote.")
class Run(Node):
    id: strawberry.ID
    run_id: str = strawberry.field(description="The OpenLineage runId (a UUID).")
    state: RunState
    started_at: datetime | None
    ended_at: datetime | None
    nominal_start_time: datetime | None
    nominal_end_time: datetime | None
    parent_run_id: str | None
    created_at: datetime = strawberry.field(description="When Peso first heard of the run.")
    updated_at: datetime
    model: strawberry.Private[models.Run]

    @classmethod
    def from_model(cls, m: models.Run) -> Run:
        return cls(id=global_id("Run", m.id), run_id=m.id, state=RunState(m.state.value),
                   started_at=m.started_at, ended_at=m.ended_at,
                   nominal_start_time=m.nominal_start, nominal_end_time=m.nominal_end,
                   parent_run_id=m.parent_run_id,
                   created_at=m.created_at, updated_at=m.updated_at, model=m)

    @strawberry.field(description=(
        "Why the run failed. Never a server path; quoted values and row/line samples are "
        "masked ('***') unless the caller's token has the pii permission (the full detail "
        "is in the rejected/quarantine files)."))
    def error_message(self, info: Info) -> str | None:
        return public_message(self.model.error_message, pii=may_see_pii(info))

    @strawberry.field(description="The latest of each run facet received (the errorMessage "
                                  "facet masked as errorMessage is).")
    def facets(self, info: Info) -> JSON:
        return cast(JSON, public_error_facet(self.model.facets, pii=may_see_pii(info)))

    @strawberry.field
    async def job(self, info: Info) -> Job:
        found = await load_job(info, self.model.job_id)
        if found is None:
            raise NotFoundError("the job of this run no longer exists")
        return found

    async def _datasets(self, info: Info, role: models.RunRole) -> list[RunDataset]:
        return [RunDataset(role=RunRole(d.role.value), model=d,
                           facets=cast(JSON, await masked_facets(info, d.dataset_id, d.facets)))
                for d in await info.context.loaders.run_datasets.load(self.model.id)
                if d.role is role]

    @strawberry.field(description="The datasets it read.")
    async def inputs(self, info: Info) -> list[RunDataset]:
        return await self._datasets(info, models.RunRole.INPUT)

    @strawberry.field(description="The datasets it wrote.")
    async def outputs(self, info: Info) -> list[RunDataset]:
        return await self._datasets(info, models.RunRole.OUTPUT)


@strawberry.type(description="A job (OpenLineage): a process that reads and writes datasets, "
                             "named by namespace and name; each execution is a Run.")
class Job(Node):
    id: strawberry.ID
    namespace: str
    name: str
    description: str | None
    facets: JSON = strawberry.field(description="The latest of each job facet received.")
    created_at: datetime
    updated_at: datetime
    model: strawberry.Private[models.Job]

    @classmethod
    def from_model(cls, m: models.Job) -> Job:
        return cls(id=global_id("Job", m.id), namespace=m.namespace, name=m.name,
                   description=m.description, facets=cast(JSON, m.facets),
                   created_at=m.created_at, updated_at=m.updated_at, model=m)

    @strawberry.field(description="Owners from the job's ownership facet.")
    def owners(self) -> list[Owner]:
        found = self.model.facets.get("ownership")
        items = found.get("owners", []) if isinstance(found, dict) else []
        return [Owner(name=str(o["name"]), email=None,
                      kind=OwnerKind.TEAM if str(o["name"]).lower().startswith(
                          ("team:", "group:")) else OwnerKind.USER)
                for o in items if isinstance(o, dict) and o.get("name")]

    @strawberry.field(description="Its runs, newest first.")
    async def runs(self, info: Info, first: int | None = None,
                   after: str | None = None) -> Connection[Run]:
        if after is not None:  # a cursor belongs to this one job's list
            return await runs_page(info, self.model.id, first, after)
        size = check_first(first, info.context.settings.max_page_size)
        # first pages of every job in the response come from one batched read
        page = await info.context.loaders.job_runs.load((self.model.id, size))
        return connection([Run.from_model(r) for r in page.items],
                          [tagged_cursor("runs", c) for c in page.cursors],
                          has_next=page.has_next, has_previous=False, total=page.total)

    @strawberry.field(description="Its newest run.")
    async def latest_run(self, info: Info) -> Run | None:
        page = await info.context.loaders.job_runs.load((self.model.id, 1))
        return Run.from_model(page.items[0]) if page.items else None

    async def _datasets(self, info: Info, role: models.RunRole) -> list[Dataset]:
        pairs = await info.context.loaders.job_datasets.load(self.model.id)
        found = await info.context.loaders.dataset.load_many([d for d, r in pairs if r is role])
        return [Dataset.from_model(d) for d in found if d is not None and d.deleted_at is None]

    @strawberry.field(description="Every dataset its runs (or job events) read.")
    async def inputs(self, info: Info) -> list[Dataset]:
        return await self._datasets(info, models.RunRole.INPUT)

    @strawberry.field(description="Every dataset its runs (or job events) wrote.")
    async def outputs(self, info: Info) -> list[Dataset]:
        return await self._datasets(info, models.RunRole.OUTPUT)


async def load_job(info: Info, job_id: str | None) -> Job | None:
    found = await info.context.loaders.job.load(job_id) if job_id else None
    return Job.from_model(found) if found else None


async def load_run(info: Info, run_id: str | None) -> Run | None:
    found = await info.context.loaders.run.load(run_id) if run_id else None
    return Run.from_model(found) if found else None


async def runs_page(info: Info, job_id: str | None, first: int | None,
                    after: str | None) -> Connection[Run]:
    size = check_first(first, info.context.settings.max_page_size)
    page = await info.context.graph.list_runs(job_id=job_id, first=size,
                                              after=decode_after(after, 2, "runs"))
    return connection([Run.from_model(r) for r in page.items],
                      [tagged_cursor("runs", c) for c in page.cursors], has_next=page.has_next,
                      has_previous=after is not None, total=page.total)


@strawberry.type
class JobQuery:
    @strawberry.field(description="OpenLineage jobs by namespace and name, in pages.")
    async def jobs(self, info: Info, first: int | None = None,
                   after: str | None = None) -> Connection[Job]:
        size = check_first(first, info.context.settings.max_page_size)
        page = await info.context.graph.list_jobs(first=size,
                                                  after=decode_after(after, 2, "jobs"))
        return connection([Job.from_model(j) for j in page.items],
                          [tagged_cursor("jobs", c) for c in page.cursors],
                          has_next=page.has_next,
                          has_previous=after is not None, total=page.total)

    @strawberry.field(description="One OpenLineage job by namespace and name (null if absent).")
    async def job(self, info: Info, namespace: str, name: str) -> Job | None:
        found = await info.context.graph.get_job(check_lineage_namespace(namespace),
                                                 check_lineage_name(name))
        return Job.from_model(found) if found else None

    @strawberry.field(description="Runs of one job (or of every job), newest first.")
    async def runs(self, info: Info, job: JobRef | None = None, first: int | None = None,
                   after: str | None = None) -> Connection[Run]:
        job_id = None
        if job is not None:
            found = await info.context.graph.get_job(check_lineage_namespace(job.namespace),
                                                     check_lineage_name(job.name))
            if found is None:
                check_first(first, info.context.settings.max_page_size)
                return connection([], [], has_next=False, has_previous=False, total=0)
            job_id = found.id
        return await runs_page(info, job_id, first, after)
