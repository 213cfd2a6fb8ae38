"""The catalog health report: what the catalog holds and what needs attention, one edition
per day.

Computed from the graph store's public reads (no store method of its own): datasets by
layer and source, datasets created per week (the last 8), versions, sources, stored bytes
(every version's ``byte_size``), stale datasets (no new version within
``PESO_REPORT_STALE_DAYS``), OpenLineage runs that failed or aborted within that period,
datasets without a description or an owner, PII columns of datasets nobody owns (personal
data nobody answers for), datasets whose latest version failed its contract, datasets by the
kind of entity they describe, datasets overdue against their declared periodicity (a
harvested record's ``accrualPeriodicity`` and ``modified``, server/freshness.py), and
suggested PII columns still waiting for a person's review.

Editions are JSON objects in the object store at ``reports/health/YYYY-MM-DD.json`` (UTC
days): each run of ``peso report`` writes today's edition (replacing the earlier one of the
same day; ``catalogHealth`` computes today's live without storing, a query never writes), so
any past day can be read back, with its difference from the day before.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from server.errors import NotFoundError, ValidationError
from server.freshness import overdue
from server.models import DatasetFilter, PageRequest
from server.models_lineage import RunState
from server.models_suggestions import SuggestionKind, SuggestionStatus
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

PREFIX = "reports/health/"
PAGE = 500
LIST_LIMIT = 50   # names listed per finding (the counts are always complete)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
COUNTS = ("datasets", "versions", "sources", "storage_bytes", "stale", "failed_runs",
          "without_description", "without_owner", "unowned_pii_columns", "contract_failures",
          "overdue", "pii_pending_review")


GROWTH_WEEKS = 8  # datasets created per ISO week, this week and the 7 before


def _week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def parse_date(text: str) -> date:
    if not isinstance(text, str) or not _DATE_RE.match(text):
        raise ValidationError(f"date {str(text)[:40]!r} is not YYYY-MM-DD", field="date")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"date {text!r}: {exc}", field="date") from exc


def edition_key(day: date) -> str:
    return f"{PREFIX}{day.isoformat()}.json"


async def compute(graph: GraphStore, *, stale_days: int, now: datetime | None = None
                  ) -> dict[str, Any]:
    """Today's report, from the live catalog."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=stale_days)
    names: dict[str, list[str]] = {k: [] for k in ("stale", "without_description",
                                                    "without_owner", "contract_failures")}
    late: list[dict[str, Any]] = []
    by_entity_kind: dict[str, int] = {}
    counts = dict.fromkeys(COUNTS, 0)
    by_layer: dict[str, int] = {}
    by_source: dict[str, int] = {}
    weeks = [_week(now - timedelta(weeks=n)) for n in range(GROWTH_WEEKS - 1, -1, -1)]
    growth = dict.fromkeys(weeks, 0)
    source_names: dict[str, str] = {}
    after: list[Any] | None = None
    while True:
        page = await graph.list_datasets(DatasetFilter(), PageRequest(first=PAGE, after=after))
        items = page.items
        ids = [d.id for d in items]
        if ids:
            owners = await graph.get_owners(ids)
            versions = await graph.list_versions(ids)
            latest = await graph.get_latest_versions(ids)
            unknown = sorted({d.source_id for d in items
                              if d.source_id and d.source_id not in source_names})
            for s in await graph.get_sources(unknown):
                if s is not None:
                    source_names[s.id] = s.name
            facets = await graph.get_dataset_facets(ids)
            entities = await graph.get_dataset_entities(ids)
            fields = await graph.get_fields([v.id for v in latest if v is not None])
            fields_of = {v.id: f for v, f in zip([v for v in latest if v is not None], fields,
                                                   strict=True)}
            for d, own, vs, last, facet, linked in zip(items, owners, versions, latest, facets,
                                                       entities, strict=True):
                label = f"{d.namespace}/{d.name}"
                for kind in sorted({e.kind.value for e, _ in linked}):
                    by_entity_kind[kind] = by_entity_kind.get(kind, 0) + 1
                declared = facet.get("peso_harvest") or {}
                behind = overdue(declared.get("periodicity"), declared.get("modified"), now)
                if behind is not None:
                    counts["overdue"] += 1
                    if len(late) < LIST_LIMIT:
                        late.append({"dataset": label, "periodicity": declared["periodicity"],
                                     "modified": declared["modified"],
                                     "days_late": round(behind.total_seconds() / 86400, 1)})
                counts["datasets"] += 1
                counts["versions"] += len(vs)
                counts["storage_bytes"] += sum(v.byte_size for v in vs)
                by_layer[d.layer.value] = by_layer.get(d.layer.value, 0) + 1
                if (week := _week(d.created_at)) in growth:
                    growth[week] += 1
                src = source_names.get(d.source_id or "", "(none)")
                by_source[src] = by_source.get(src, 0) + 1
                changed = last.created_at if last is not None else d.updated_at
                checks = (("stale", changed < cutoff),
                          ("without_description", not d.description),
                          ("without_owner", not own),
                          ("contract_failures", last is not None and last.quality is not None
                           and last.quality.get("passed") is False))
                for key, hit in checks:
                    if hit:
                        counts[key] += 1
                        if len(names[key]) < LIST_LIMIT:
                            names[key].append(label)
                if not own and last is not None:
                    counts["unowned_pii_columns"] += sum(1 for f in fields_of[last.id] if f.pii)
        if not page.has_next or not page.cursors:
            break
        after = page.cursors[-1]
    sources = await graph.list_sources(first=1)
    counts["sources"] = sources.total
    counts["pii_pending_review"] = await _pii_pending(graph)
    failed: list[dict[str, Any]] = []
    run_after: list[Any] | None = None
    while True:
        runs = await graph.list_runs(first=PAGE, after=run_after)
        recent = [r for r in runs.items if r.created_at >= cutoff]
        for r in recent:
            if r.state in (RunState.FAIL, RunState.ABORT):
                counts["failed_runs"] += 1
                if len(failed) < LIST_LIMIT:
                    failed.append({"run": r.id, "state": r.state.value,
                                   "error": (r.error_message or "")[:200]})
        if len(recent) < len(runs.items) or not runs.has_next or not runs.cursors:
            break
        run_after = runs.cursors[-1]
    return {"date": now.date().isoformat(), "generated_at": now.isoformat(),
            "stale_days": stale_days, "counts": counts,
            "datasets_by_layer": dict(sorted(by_layer.items())),
            "datasets_by_source": dict(sorted(by_source.items())),
            "growth_by_week": growth,
            "datasets_by_entity_kind": dict(sorted(by_entity_kind.items())),
            "lists": {**names, "failed_runs": failed, "overdue": late}}


async def _pii_pending(graph: GraphStore) -> int:
    """Pending suggestions that would mark a column as personal data."""
    count, after = 0, None
    while True:
        page = await graph.list_suggestions(status=SuggestionStatus.PENDING, first=PAGE,
                                            after=after)
        count += sum(1 for s in page.items if s.kind is SuggestionKind.SEMANTIC_TYPE
                     and s.value.get("pii") is True)
        if not page.has_next or not page.cursors:
            return count
        after = page.cursors[-1]


def diff(today: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any] | None:
    """Each count's change from the earlier edition (None without one)."""
    if before is None:
        return None
    old = before.get("counts", {})
    return {"since": before.get("date"),
            "counts": {k: v - int(old.get(k, 0)) for k, v in today["counts"].items()}}


def _read(objects: ObjectStore, day: date) -> dict[str, Any] | None:
    key = edition_key(day)
    if objects.stat(key) is None:
        return None
    with objects.open_read(key) as fh:
        loaded: dict[str, Any] = json.loads(fh.read())
    return loaded


def _write(objects: ObjectStore, report: dict[str, Any]) -> None:
    data = json.dumps(report, sort_keys=True).encode()
    objects.put_stream(edition_key(date.fromisoformat(report["date"])), io.BytesIO(data),
                       size=len(data))


async def edition(graph: GraphStore, objects: ObjectStore, *, stale_days: int,
                  day: date | None = None, save: bool = True,
                  now: datetime | None = None) -> dict[str, Any]:
    """The report of ``day`` (today when None: computed and, with ``save``, stored) with its
    ``diff`` against the edition of the day before. A past day without an edition is a
    NotFoundError naming it."""
    now = now or datetime.now(UTC)
    if day is None or day == now.date():
        report = await compute(graph, stale_days=stale_days, now=now)
        if save:
            await asyncio.to_thread(_write, objects, report)
    else:
        found = await asyncio.to_thread(_read, objects, day)
        if found is None:
            raise NotFoundError(f"no catalog health report was stored for {day.isoformat()} "
                                "(one is stored each day `peso report` or catalogHealth runs)")
        report = found
    before = await asyncio.to_thread(_read, objects, date.fromisoformat(report["date"])
                                     - timedelta(days=1))
    return {**report, "diff": diff(report, before)}


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown (what ``peso report`` prints)."""
    c, d = report["counts"], (report.get("diff") or {}).get("counts", {})

    def delta(key: str) -> str:
        return f" ({d[key]:+d} since {report['diff']['since']})" if key in d else ""

    lines = [f"# Catalog health, {report['date']}", "",
             f"Generated {report['generated_at']}; stale means no new version for "
             f"{report['stale_days']} days.", "", "| Measure | Count |", "| --- | ---: |"]
    labels = {"datasets": "Datasets", "versions": "Versions", "sources": "Sources",
              "storage_bytes": "Stored bytes", "stale": "Stale datasets",
              "failed_runs": "Failed or aborted runs",
              "without_description": "Datasets without a description",
              "without_owner": "Datasets without an owner",
              "unowned_pii_columns": "PII columns of unowned datasets",
              "contract_failures": "Latest versions failing their contract",
              "overdue": "Datasets overdue against their declared periodicity",
              "pii_pending_review": "Suggested PII columns awaiting review"}
    lines += [f"| {labels[k]} | {c.get(k, 0)}{delta(k)} |" for k in COUNTS]
    for title, table in (("Datasets by layer", report["datasets_by_layer"]),
                         ("Datasets by source", report["datasets_by_source"]),
                         ("Datasets by entity kind", report.get("datasets_by_entity_kind", {})),
                         ("Datasets created per week", report.get("growth_by_week", {}))):
        lines += ["", f"## {title}", ""] + [f"- {k}: {v}" for k, v in table.items()]
    for key in ("stale", "without_description", "without_owner", "contract_failures"):
        if report["lists"][key]:
            lines += ["", f"## {labels[key]}", ""] + [f"- {n}" for n in report["lists"][key]]
    if report["lists"].get("overdue"):
        lines += ["", f"## {labels['overdue']}", ""]
        lines += [f"- {r['dataset']}: every {r['periodicity']}, last modified {r['modified']}, "
                  f"{r['days_late']} days late" for r in report["lists"]["overdue"]]
    if report["lists"]["failed_runs"]:
        lines += ["", "## Failed or aborted runs", ""]
        lines += [f"- {r['run']} ({r['state']}): {r['error']}"
                  for r in report["lists"]["failed_runs"]]
    return "\n".join(lines) + "\n"
