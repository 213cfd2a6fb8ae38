"""``catalogHealth``: the catalog health report (server/health.py) through GraphQL."""

from __future__ import annotations

from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from schema.types import BigInt
from server.health import edition, markdown, parse_date


@strawberry.type(description="The headline numbers of a catalog health report.")
class HealthCounts:
    datasets: int
    versions: int
    sources: int
    storage_bytes: BigInt = strawberry.field(description="Bytes of every stored version.")
    stale: int = strawberry.field(description="Datasets with no new version for "
                                              "PESO_REPORT_STALE_DAYS days.")
    failed_runs: int = strawberry.field(description="OpenLineage runs that failed or aborted "
                                                    "within that period.")
    without_description: int
    without_owner: int
    unowned_pii_columns: int = strawberry.field(
        description="PII columns in the latest versions of datasets nobody owns.")
    contract_failures: int = strawberry.field(
        description="Datasets whose latest version failed its contract.")
    overdue: int = strawberry.field(
        default=0, description="Datasets whose declared periodicity (a harvested record's "
                               "accrualPeriodicity) says an update is overdue.")
    pii_pending_review: int = strawberry.field(
        default=0, description="Pending suggestions that would mark a column as personal "
                               "data: PII nobody has reviewed yet.")


@strawberry.type(description="One edition of the catalog health report.")
class CatalogHealth:
    date: str = strawberry.field(description="The day of this edition (YYYY-MM-DD, UTC).")
    generated_at: str
    stale_days: int
    counts: HealthCounts
    datasets_by_layer: JSON
    datasets_by_source: JSON
    datasets_by_entity_kind: JSON = strawberry.field(
        description="Datasets linked to each kind of entity (a dataset counts once per kind).")
    growth_by_week: JSON = strawberry.field(description="Datasets created per ISO week "
                                                        "(YYYY-Www), this week and the 7 "
                                                        "before.")
    lists: JSON = strawberry.field(description="Up to 50 names per finding: stale, "
                                               "without_description, without_owner, "
                                               "contract_failures, failed_runs, overdue.")
    diff: JSON | None = strawberry.field(description="Each count's change since the "
                                                     "edition of the day before (null "
                                                     "without one).")
    markdown: str = strawberry.field(description="The report as `peso report` prints it.")

    @classmethod
    def from_report(cls, r: dict[str, Any]) -> CatalogHealth:
        c = r["counts"]
        return cls(date=r["date"], generated_at=r["generated_at"], stale_days=r["stale_days"],
                   counts=HealthCounts(**{**c, "storage_bytes": BigInt(c["storage_bytes"])}),
                   # (an edition stored before a count existed lacks it: the default is 0)
                   datasets_by_layer=cast(JSON, r["datasets_by_layer"]),
                   datasets_by_source=cast(JSON, r["datasets_by_source"]),
                   datasets_by_entity_kind=cast(JSON, r.get("datasets_by_entity_kind", {})),
                   growth_by_week=cast(JSON, r.get("growth_by_week", {})),
                   lists=cast(JSON, r["lists"]), diff=cast(JSON, r.get("diff")),
                   markdown=markdown(r))


@strawberry.type
class HealthQuery:
    @strawberry.field(description="The catalog health report: today's computed live (not "
                                  "stored; `peso report` stores each day's edition), or the "
                                  "stored edition of a past `date` (YYYY-MM-DD).")
    async def catalog_health(self, info: Info, date: str | None = None) -> CatalogHealth:
        day = parse_date(date) if date is not None else None
        report = await edition(info.context.graph, info.context.objects,
                               stale_days=info.context.settings.report_stale_days, day=day,
                               save=False)
        return CatalogHealth.from_report(report)
