"""Enrichment over GraphQL (server/enrich/): the suggestions list for every reader; running the
enrichers on a dataset and accepting or rejecting a suggestion for writers. Every decision
goes through ``server.enrich.decide`` (the audit log says who decided what), as
``peso suggestions accept|reject`` and the MCP tools do."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.datasets import DatasetRef, existing_dataset_key
from schema.enums import SuggestionKind, SuggestionStatus
from schema.payloads import UserError, attempt
from schema.permissions import needs
from schema.suggestion_types import Suggestion, raw_suggestion_id, suggestions_page
from schema.types import BigInt, Connection, connection
from server import models
from server.enrich import decide
from server.enrich.runner import EnrichReport as ReportModel
from server.enrich.runner import enrich_version
from server.errors import NotFoundError
from server.ids import check_text

MAX_REASON = 2000


@strawberry.type(description="One enricher that failed on the version (the others ran).")
class EnricherError:
    enricher: str
    message: str


@strawberry.type(description="What one run of the enrichers on a dataset version did.")
class EnrichReport:
    dataset: str = strawberry.field(description="namespace/name.")
    version: int
    sample_rows: BigInt = strawberry.field(description="Rows the enrichers read.")
    total_rows: BigInt
    created: int = strawberry.field(description="New suggestions (listed in `suggestions`).")
    skipped: int = strawberry.field(description="Proposed before for this version, whatever "
                                                "was decided: a rejected one is not proposed "
                                                "again.")
    superseded: int = strawberry.field(description="Older versions' pending suggestions the "
                                                   "new ones replaced.")
    seconds: float
    errors: list[EnricherError]
    suggestions: list[Suggestion]

    @classmethod
    def from_model(cls, r: ReportModel) -> EnrichReport:
        return cls(dataset=r.dataset, version=r.version, sample_rows=BigInt(r.sample_rows),
                   total_rows=BigInt(r.total_rows), created=len(r.created), skipped=r.skipped,
                   superseded=r.superseded, seconds=round(r.seconds, 3),
                   errors=[EnricherError(enricher=k, message=v) for k, v in r.errors.items()],
                   suggestions=[Suggestion.from_model(s) for s in r.created])


@strawberry.type
class EnrichPayload:
    report: EnrichReport | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SuggestionPayload:
    suggestion: Suggestion | None = None
    applied: bool = strawberry.field(
        default=False, description="Whether the catalog changed. False for a rejection, and "
                                   "for an accepted description that would overwrite one a "
                                   "person wrote (it stays pending; `message` says why).")
    message: str | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _payload(decision: decide.Decision | None, errors: list[UserError]) -> SuggestionPayload:
    if decision is None:
        return SuggestionPayload(errors=errors)
    return SuggestionPayload(suggestion=Suggestion.from_model(decision.suggestion),
                             applied=decision.applied, message=decision.message)


@strawberry.type
class EnrichmentQuery:
    @strawberry.field(description="What the enrichers propose, newest first: of one dataset "
                                  "or of all; PENDING by default, status null for every "
                                  "status. A dataset that does not exist has none.")
    async def suggestions(self, info: Info, dataset: DatasetRef | None = None,
                          status: SuggestionStatus | None = SuggestionStatus.PENDING,
                          kind: SuggestionKind | None = None, first: int | None = None,
                          after: str | None = None) -> Connection[Suggestion]:
        dataset_id = None
        if dataset is not None:
            found = await info.context.graph.get_dataset(dataset.namespace, dataset.name)
            if found is None:
                return connection([], [], has_next=False, has_previous=False, total=0)
            dataset_id = found.id
        return await suggestions_page(info, dataset_id, status, kind, first, after)


@strawberry.type
class EnrichmentMutation:
    @strawberry.mutation(description="Run every enricher on a dataset's latest version (or "
                                     "`version`) now and store what they propose. Writers.",
                         extensions=needs(models.Role.WRITER))
    async def enrich_dataset(self, info: Info, namespace: str, name: str,
                             version: int | None = None) -> EnrichPayload:
        ctx = info.context

        async def work() -> ReportModel:
            key = existing_dataset_key(namespace, name)
            found = await ctx.graph.get_dataset(key.namespace, key.name)
            if found is None:
                raise NotFoundError(f"no dataset {key.namespace}/{key.name}", field="name")
            return await enrich_version(ctx.graph, ctx.objects, ctx.settings, found.id,
                                        version, actor=ctx.actor)
        report, errors = await attempt(work())
        return EnrichPayload(report=EnrichReport.from_model(report) if report else None,
                             errors=errors)

    @strawberry.mutation(description="Accept a pending suggestion: the catalog changes as it "
                                     "proposes (each change audited). Writers.",
                         extensions=needs(models.Role.WRITER))
    async def accept_suggestion(self, info: Info, id: strawberry.ID) -> SuggestionPayload:
        async def work() -> decide.Decision:
            return await decide.accept(info.context.graph, raw_suggestion_id(id),
                                       actor=info.context.actor)
        return _payload(*await attempt(work()))

    @strawberry.mutation(description="Reject a pending suggestion, optionally saying why: it "
                                     "is not proposed again for that version. Writers.",
                         extensions=needs(models.Role.WRITER))
    async def reject_suggestion(self, info: Info, id: strawberry.ID,
                                reason: str | None = None) -> SuggestionPayload:
        async def work() -> decide.Decision:
            return await decide.reject(
                info.context.graph, raw_suggestion_id(id), actor=info.context.actor,
                reason=check_text(reason, field="reason", limit=MAX_REASON))
        return _payload(*await attempt(work()))
