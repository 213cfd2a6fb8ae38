"""``peso token | gc | export | import``: the administrator's commands.

The command line opens the stores directly, as the local administrator: it needs no API
token (whoever can run it can read the database file anyway). Changes it makes are recorded
in the audit log with the actor ``cli`` and the run's own request id.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from server.auth import LOCAL_ADMIN, create_token, parse_role
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

EXIT_OK, EXIT_ERROR = 0, 1
Work = Callable[[GraphStore, ObjectStore], Coroutine[Any, Any, int]]


def add_admin_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = sub.add_parser(
        "token", help="create, list and revoke API tokens",
        description="API tokens for the HTTP API (`Authorization: Bearer <token>`). Roles: "
                    "reader < writer < admin; --pii lets a token read personal data "
                    "unmasked; a collector token (for machines) may only post events to "
                    "/api/v1/collect/NAMESPACE/NAME for its --namespace values. A token is "
                    "shown once, at creation; only its sha256 is kept.")
    actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it (once)")
    create.add_argument("--name", required=True,
                        help="unique name, recorded as the actor of the token's changes")
    create.add_argument("--role", required=True,
                        choices=["reader", "writer", "admin", "collector"])
    create.add_argument("--namespace", action="append", default=[], dest="namespaces",
                        metavar="NS", help="a namespace a collector token may post events "
                                           "to (repeatable; collector tokens only)")
    create.add_argument("--pii", action="store_true",
                        help="may read personal data (PII columns) unmasked")
    create.set_defaults(func=cmd_token_create)
    listing = actions.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    listing.set_defaults(func=cmd_token_list)
    revoke = actions.add_parser("revoke", help="revoke a token by name or id")
    revoke.add_argument("token", metavar="NAME|ID")
    revoke.set_defaults(func=cmd_token_revoke)

    gc = sub.add_parser(
        "gc", help="find objects no version refers to (left by interrupted loads)",
        description="List objects under raw/, curated/ and quarantine/ that no version "
                    "refers to and that are older than the grace period, refused uploads under "
                    "rejected/ older than PESO_REJECTED_RETENTION_DAYS, and open runs whose "
                    "process is gone (closed as ABORT). A dry run unless --delete; refuses to "
                    "delete more than PESO_GC_MAX_SHARE of the objects unless --force.")
    gc.add_argument("--delete", action="store_true", help="delete the orphans found")
    gc.add_argument("--force", action="store_true",
                    help="delete even when they exceed PESO_GC_MAX_SHARE of all objects")
    gc.add_argument("--grace", type=int, metavar="SECONDS",
                    help="leave younger objects alone (default: PESO_GC_GRACE_SECONDS)")
    gc.add_argument("--json", action="store_true", help="print the report as JSON")
    gc.set_defaults(func=cmd_gc)

    export = sub.add_parser(
        "export", help="back the catalog up into a folder (JSON Lines + object manifest)",
        description="Write every catalog record to DIR/catalog.jsonl and an object manifest "
                    "with sha256 checksums to DIR/objects.jsonl (and the objects themselves "
                    "with --with-objects). DIR must be new or empty. API tokens are not "
                    "exported.")
    export.add_argument("folder", type=Path, metavar="DIR")
    export.add_argument("--with-objects", action="store_true",
                        help="copy the objects too (else only their manifest)")
    export.set_defaults(func=cmd_export)

    restore = sub.add_parser(
        "import", help="restore an export into an empty catalog",
        description="Restore a `peso export` folder into an empty catalog (refused "
                    "otherwise): objects first, their sha256 checked, then every record, "
                    "then a record-by-record verification.")
    restore.add_argument("folder", type=Path, metavar="DIR")
    restore.set_defaults(func=cmd_import)


def _with_stores(settings: Settings, work: Work) -> int:
    from server.storage.factory import run_with_stores

    return run_with_stores(settings, work)


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    async def work(graph: GraphStore, objects: ObjectStore) -> int:
        token, record = await create_token(graph, name=args.name, role=parse_role(args.role),
                                           pii=args.pii, actor=LOCAL_ADMIN.name,
                                           namespaces=args.namespaces)
        print(token)
        where = f", namespaces {', '.join(record.namespaces)}" if record.namespaces else ""
        print(f"created token {record.name!r} (id {record.id}, role {record.role.value}"
              f"{', pii' if record.pii else ''}{where}); it is shown only this once",
              file=sys.stderr)
        return EXIT_OK
    return _with_stores(settings, work)


def cmd_token_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(graph: GraphStore, objects: ObjectStore) -> int:
        for t in await graph.list_tokens():
            row = {"id": t.id, "name": t.name, "role": t.role.value, "pii": t.pii,
                   "namespaces": list(t.namespaces),
                   "created_at": t.created_at.isoformat(timespec="seconds"),
                   "created_by": t.created_by,
                   "revoked_at": t.revoked_at.isoformat(timespec="seconds")
                   if t.revoked_at else None}
            if args.json:
                print(json.dumps(row))
            else:
                state = f"revoked {row['revoked_at']}" if t.revoked_at else "active"
                scope = f"[{','.join(t.namespaces)}]" if t.namespaces else ""
                print(f"{t.name}\t{t.id}\t{t.role.value}{scope}{'+pii' if t.pii else ''}\t"
                      f"created {row['created_at']}\t{state}")
        return EXIT_OK
    return _with_stores(settings, work)


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def work(graph: GraphStore, objects: ObjectStore) -> int:
        t = await graph.revoke_token(args.token, actor=LOCAL_ADMIN.name)
        print(f"revoked token {t.name!r} (id {t.id})")
        return EXIT_OK
    return _with_stores(settings, work)


def cmd_gc(args: argparse.Namespace, settings: Settings) -> int:
    from server.gc import collect_garbage
    from server.stale_runs import close_stale_runs

    async def work(graph: GraphStore, objects: ObjectStore) -> int:
        grace = settings.gc_grace_seconds if args.grace is None else max(args.grace, 0)
        report = await collect_garbage(graph, objects, grace_seconds=grace,
                                       max_share=settings.gc_max_share, delete=args.delete,
                                       force=args.force, scratch=settings.data_dir / "tmp",
                                       rejected_days=settings.rejected_retention_days)
        report.stale_runs = [a.as_dict() for a in await close_stale_runs(
            graph, max_age_seconds=settings.stale_run_seconds, actor="cli",
            dry_run=not args.delete)]
        if args.json:
            print(json.dumps(report.as_dict(), indent=2))
        else:
            for line in report.lines():
                print(line)
        return EXIT_OK if report.ok else EXIT_ERROR
    return _with_stores(settings, work)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from server.backup import export_catalog

    async def work(graph: GraphStore, objects: ObjectStore) -> int:
        report = await export_catalog(graph, objects, args.folder,
                                      with_objects=args.with_objects,
                                      say=lambda line: print(line, flush=True))
        for line in report.lines("exported"):
            print(line)
        return EXIT_OK
    return _with_stores(settings, work)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from server.backup import import_catalog

    async def work(graph: GraphStore, objects: ObjectStore) -> int:
        report = await import_catalog(graph, objects, args.folder,
                                      say=lambda line: print(line, flush=True))
        for line in report.lines("imported"):
            print(line)
        return EXIT_OK if not report.problems else EXIT_ERROR
    return _with_stores(settings, work)
