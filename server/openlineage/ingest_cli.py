"""``peso lineage ingest FILE…``: OpenLineage events from files into the catalog, through the
same code path as ``POST /api/v1/lineage`` (``consumer.ingest``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from server.errors import PesoError
from server.openlineage.consumer import EventRefused, ingest, read_events
from server.settings import Settings
from server.storage.graph import GraphStore

EXIT_OK, EXIT_ERROR = 0, 1
SHOWN_ERRORS = 3   # errors printed per file


def add_lineage_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lineage = sub.add_parser(
        "lineage", help="OpenLineage: ingest event files",
        description="OpenLineage events into the catalog (the same checks and mapping as "
                    "POST /api/v1/lineage).")
    actions = lineage.add_subparsers(dest="lineage_command", metavar="ACTION", required=True)
    ingest_cmd = actions.add_parser(
        "ingest", help="ingest OpenLineage event files (.json, .ndjson)",
        description="Ingest OpenLineage events: a .json file holds one event or an array of "
                    "them, a .ndjson (or .jsonl) file one event per line. Reports how many "
                    "were ingested, skipped (already ingested: replays change nothing) and "
                    "failed, per file; exits 1 when any failed.")
    ingest_cmd.add_argument("files", type=Path, nargs="+", metavar="FILE")
    ingest_cmd.add_argument("--json", action="store_true",
                            help="print the per-file report as JSON")
    ingest_cmd.set_defaults(func=cmd_lineage_ingest)


async def ingest_file(graph: GraphStore, path: Path) -> dict[str, Any]:
    report: dict[str, Any] = {"file": str(path), "ingested": 0, "skipped": 0, "failed": 0,
                              "errors": []}
    try:
        events = read_events(path.read_text(encoding="utf-8"),
                             ndjson=path.suffix.lower() in (".ndjson", ".jsonl"))
    except (OSError, UnicodeError, ValueError) as exc:
        report["failed"] = 1
        report["errors"].append(f"cannot read {path}: {exc}")
        return report
    for i, raw in enumerate(events):
        try:
            outcome = await ingest(graph, raw, actor="cli")
        except EventRefused as exc:
            report["failed"] += 1
            report["errors"].append(f"event {i}: " + "; ".join(
                f"{p.path}: {p.message}" for p in exc.problems[:SHOWN_ERRORS]))
            continue
        except PesoError as exc:
            report["failed"] += 1
            report["errors"].append(f"event {i}: {exc.message}")
            continue
        report["ingested" if outcome.result.created else "skipped"] += 1
    return report


def cmd_lineage_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from server.storage import factory

    async def work() -> list[dict[str, Any]]:
        graph = factory.graph_store(settings)
        await graph.open()
        try:
            return [await ingest_file(graph, path) for path in args.files]
        finally:
            await graph.close()

    reports = asyncio.run(work())
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        for r in reports:
            print(f"{r['file']}: ingested {r['ingested']}, skipped {r['skipped']}, "
                  f"failed {r['failed']}")
            for error in r["errors"][:SHOWN_ERRORS]:
                print(f"  {error}", file=sys.stderr)
    return EXIT_ERROR if any(r["failed"] for r in reports) else EXIT_OK
