"""``peso report``: the catalog health report (server/health.py) on the command line."""

from __future__ import annotations

import argparse
import json
import sys

from server.health import edition, markdown, parse_date
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser(
        "report", help="print the catalog health report (Markdown, or --json)",
        description="Print the catalog health report: counts of datasets, versions, sources "
                    "and stored bytes; stale datasets (PESO_REPORT_STALE_DAYS), failed or "
                    "aborted runs, datasets without description or owner, PII columns of "
                    "unowned datasets, contract failures; with the change since the day "
                    "before. Today's report is stored as today's edition; --date reads a "
                    "past edition back.")
    report.add_argument("--date", metavar="YYYY-MM-DD",
                        help="show the stored edition of this day (default: today, computed)")
    report.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    report.add_argument("--no-save", action="store_true",
                        help="do not store today's report as today's edition")
    report.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from server.storage.factory import run_with_stores

    day = parse_date(args.date) if args.date else None

    async def work(graph: GraphStore, objects: ObjectStore) -> int:
        report = await edition(graph, objects, stale_days=settings.report_stale_days, day=day,
                               save=not args.no_save)
        sys.stdout.write(json.dumps(report, indent=2) + "\n" if args.json
                         else markdown(report))
        return 0
    return run_with_stores(settings, work)
