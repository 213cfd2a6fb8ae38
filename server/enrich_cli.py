"""``peso enrich`` and ``peso suggestions list|accept|reject``: the enrichers (server/enrich/)
on the command line. Decisions go through ``server.enrich.decide`` as GraphQL's do; the actor
is ``cli``. Each command takes ``--json`` for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from server.enrich import decide
from server.enrich.runner import EnrichReport, enrich_all, enrich_version
from server.errors import NotFoundError, ValidationError
from server.ids import check_text, from_global_id, split_dataset_ref
from server.models_suggestions import Suggestion, SuggestionKind, SuggestionStatus
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

ACTOR = "cli"
MAX_LIST = 1000


def add_enrich_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    enrich = sub.add_parser(
        "enrich", help="run the enrichers on a dataset (or all) and store their suggestions",
        description="Run every enricher (entry points `peso.enrichers`) on a dataset's latest "
                    "version (or --version) and store what they propose as pending "
                    "suggestions; nothing in the catalog changes until a writer accepts one. "
                    "A suggestion proposed before for that version (a rejected one too) is "
                    "skipped.")
    target = enrich.add_mutually_exclusive_group(required=True)
    target.add_argument("dataset", nargs="?", metavar="NAMESPACE/NAME",
                        help="the dataset to enrich, e.g. demo/customers")
    target.add_argument("--all", action="store_true",
                        help="every live dataset's latest version (RAW uploads left out)")
    enrich.add_argument("--version", type=int, metavar="N",
                        help="the version to enrich (default: the latest)")
    enrich.add_argument("--json", action="store_true", help="print the report(s) as JSON")
    enrich.set_defaults(func=cmd_enrich)

    suggestions = sub.add_parser(
        "suggestions", help="list, accept or reject the enrichers' suggestions",
        description="Review what the enrichers propose: list them, accept one (the catalog "
                    "changes as it proposes, audited) or reject one (it is not proposed again "
                    "for that version).")
    cmds = suggestions.add_subparsers(dest="suggestions_command", metavar="SUBCOMMAND",
                                      required=True)
    listing = cmds.add_parser("list", help="list suggestions, newest first")
    listing.add_argument("dataset", nargs="?", metavar="NAMESPACE/NAME",
                         help="only this dataset's (default: every dataset's)")
    listing.add_argument("--status", default="pending",
                         choices=[s.value for s in SuggestionStatus] + ["all"],
                         help="default pending")
    listing.add_argument("--kind", choices=[k.value for k in SuggestionKind])
    listing.add_argument("--limit", type=int, default=100,
                         help=f"at most this many (default 100, at most {MAX_LIST})")
    accept = cmds.add_parser("accept", help="accept a pending suggestion")
    accept.add_argument("id", help="the suggestion's id (as listed, or its GraphQL id)")
    reject = cmds.add_parser("reject", help="reject a pending suggestion")
    reject.add_argument("id", help="the suggestion's id (as listed, or its GraphQL id)")
    reject.add_argument("--reason", help="why (kept with the decision and in the audit log)")
    for parser in (listing, accept, reject):
        parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    suggestions.set_defaults(func=cmd_suggestions)


def suggestion_id(value: str) -> str:
    """A raw id as listed, or a GraphQL global id of a Suggestion."""
    try:
        kind, raw = from_global_id(value)
    except ValidationError:
        return value
    return raw if kind == "Suggestion" else value


def as_dict(s: Suggestion, dataset: str | None = None) -> dict[str, Any]:
    return {"id": s.id, "dataset": dataset, "version": s.version, "kind": s.kind.value,
            "target": s.target, "value": s.value, "confidence": s.confidence,
            "status": s.status.value, "evidence": s.evidence, "enricher": s.enricher,
            "created_at": s.created_at.isoformat(),
            "decided_at": s.decided_at.isoformat() if s.decided_at else None,
            "decided_by": s.decided_by, "note": s.note}


def shown_value(s: Suggestion) -> str:
    text = json.dumps(s.value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def report_text(r: EnrichReport) -> str:
    sampled = f" (sample of {r.sample_rows:,} rows of {r.total_rows:,})" \
        if r.sample_rows < r.total_rows else ""
    lines = [f"{r.dataset} v{r.version}: {len(r.created)} new suggestions, {r.skipped} "
             f"proposed before, {r.superseded} superseded{sampled}"]
    lines += [f"  {s.id}  {s.kind.value:<13} {s.target or '-':<20} {shown_value(s)} "
              f"({s.confidence:.2f})" for s in r.created]
    lines += [f"  enricher {name} failed: {message}" for name, message in r.errors.items()]
    return "\n".join(lines)


async def _dataset_id(graph: GraphStore, ref: str) -> str:
    namespace, name = split_dataset_ref(ref)
    found = await graph.get_dataset(namespace, name)
    if found is None:
        raise NotFoundError(f"no dataset {namespace}/{name}", field="dataset")
    return found.id


def cmd_enrich(args: argparse.Namespace, settings: Settings) -> int:
    from server.storage.factory import run_with_stores

    async def work(graph: GraphStore, objects: ObjectStore) -> int:
        if args.all:
            if args.version is not None:
                raise ValidationError("--version is for one dataset, not --all",
                                      field="version")
            reports = await enrich_all(graph, objects, settings, actor=ACTOR)
        else:
            reports = [await enrich_version(graph, objects, settings,
                                            await _dataset_id(graph, args.dataset),
                                            args.version, actor=ACTOR)]
        if args.json:
            out: Any = [r.as_dict() for r in reports] if args.all else reports[0].as_dict()
            sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
        else:
            print("\n".join(report_text(r) for r in reports) or "no datasets with versions")
        return 1 if any(r.errors for r in reports) else 0
    return run_with_stores(settings, work)


async def _list(graph: GraphStore, args: argparse.Namespace) -> list[dict[str, Any]]:
    if not 1 <= args.limit <= MAX_LIST:
        raise ValidationError(f"--limit must be between 1 and {MAX_LIST}", field="limit")
    dataset_id = await _dataset_id(graph, args.dataset) if args.dataset else None
    status = None if args.status == "all" else SuggestionStatus(args.status)
    kind = SuggestionKind(args.kind) if args.kind else None
    page = await graph.list_suggestions(dataset_id=dataset_id, status=status, kind=kind,
                                        first=args.limit)
    ids = list(dict.fromkeys(s.dataset_id for s in page.items))
    names = {d.id: f"{d.namespace}/{d.name}" for d in await graph.get_datasets(ids)
             if d is not None}
    return [as_dict(s, names.get(s.dataset_id)) for s in page.items]


def cmd_suggestions(args: argparse.Namespace, settings: Settings) -> int:
    from server.storage.factory import run_with_stores

    async def work(graph: GraphStore, objects: ObjectStore) -> int:
        out: Any
        if args.suggestions_command == "list":
            out = await _list(graph, args)
            text = "\n".join(
                f"{s['id']}  {s['dataset'] or '(deleted)'} v{s['version']}  {s['kind']:<13} "
                f"{s['target'] or '-':<20} {json.dumps(s['value'], sort_keys=True)[:120]} "
                f"({s['confidence']:.2f}, {s['status']})" for s in out) or "no suggestions"
        elif args.suggestions_command == "accept":
            decision = await decide.accept(graph, suggestion_id(args.id), actor=ACTOR)
            out = {"applied": decision.applied, "message": decision.message,
                   "suggestion": as_dict(decision.suggestion)}
            text = f"suggestion {decision.suggestion.id}: {decision.message}"
        else:
            reason = check_text(args.reason, field="reason", limit=2000)
            decision = await decide.reject(graph, suggestion_id(args.id), actor=ACTOR,
                                           reason=reason)
            out = {"applied": decision.applied, "message": decision.message,
                   "suggestion": as_dict(decision.suggestion)}
            text = f"suggestion {decision.suggestion.id}: {decision.message}"
        sys.stdout.write(json.dumps(out, indent=2) + "\n" if args.json else text + "\n")
        return 0
    return run_with_stores(settings, work)
