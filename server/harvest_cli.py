"""``peso harvest add|list|run|remove``: portal harvests on the command line
(loaders/harvest/). Each subcommand takes ``--json`` for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from loaders.harvest import sources
from loaders.harvest.apply import run_harvest
from loaders.harvest.fetch import Fetcher, FetchError
from server.errors import LoadError
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore


def fetcher_for(settings: Settings) -> Fetcher:
    return Fetcher(allow_hosts=frozenset(settings.harvest_allow_hosts),
                   timeout=settings.harvest_timeout_seconds,
                   max_bytes=settings.harvest_max_bytes)


async def harvest_once(graph: GraphStore, settings: Settings, name: str,
                       actor: str = "harvest", objects: ObjectStore | None = None
                       ) -> dict[str, Any]:
    """Run the harvest ``name`` now (the CLI, and the worker's scheduled job); ``objects``
    receives the data of a source added with ``--fetch-data``."""
    source = await sources.get(graph, name)
    schema = Path(settings.harvest_pod_schema_dir) if settings.harvest_pod_schema_dir else None
    try:
        report = await run_harvest(graph, source, fetcher_for(settings),
                                   max_remove_share=settings.harvest_max_remove_share,
                                   schema_dir=schema, actor=actor, objects=objects,
                                   tmp_dir=settings.data_dir / "tmp")
    except (FetchError, ValueError) as exc:
        raise LoadError(f"harvest {name}: {exc}") from exc
    return report.as_dict() | {"summary": report.summary()}


def add_harvest_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    harvest = sub.add_parser("harvest", help="harvest public data portals (DCAT-US, CKAN)",
                             description="Keep the catalogs of public data portals in Peso: "
                                         "add a portal, run it now or on its schedule "
                                         "(peso worker), list or remove it.")
    cmds = harvest.add_subparsers(dest="harvest_command", metavar="SUBCOMMAND", required=True)
    add = cmds.add_parser("add", help="add (or change) a harvest source")
    add.add_argument("name", help="a short name: lower-case letters, digits, . _ -")
    add.add_argument("url", help="the data.json URL, or the CKAN API root (…/api/3)")
    add.add_argument("--kind", required=True, choices=sources.KINDS)
    add.add_argument("--every", default="1d", help="schedule, e.g. 30m, 6h, 1d (default 1d)")
    add.add_argument("--fetch-data", action="store_true",
                     help="also download each dataset's first tabular distribution (CSV, "
                          "JSON, XLSX, Parquet) and load it as a version (size-capped by "
                          "PESO_HARVEST_MAX_BYTES; private addresses refused)")
    listing = cmds.add_parser("list", help="list harvest sources")
    run = cmds.add_parser("run", help="run one harvest now, or all of them")
    run.add_argument("name", nargs="?", help="the harvest to run (default: all)")
    remove = cmds.add_parser("remove", help="remove a harvest source (its datasets stay)")
    remove.add_argument("name")
    for parser in (add, listing, run, remove):
        parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    harvest.set_defaults(func=cmd_harvest)


def cmd_harvest(args: argparse.Namespace, settings: Settings) -> int:
    from server.storage.factory import run_with_stores

    async def work(graph: GraphStore, objects: ObjectStore) -> int:
        out: Any
        failed = False
        if args.harvest_command == "add":
            source = sources.HarvestSource(
                name=sources.check_name(args.name), url=args.url,
                kind=sources.check_kind(args.kind), every_seconds=sources.parse_every(args.every),
                fetch_data=args.fetch_data)
            fetcher_for(settings).check_url(source.url)  # refuse a private address at once
            out = (await sources.save(graph, source, actor="cli")).as_dict()
            text = f"harvest {source.name}: {source.kind} {source.url} every {args.every}"
        elif args.harvest_command == "list":
            out = [s.as_dict() for s in await sources.list_all(graph)]
            text = "\n".join(f"{s['name']}\t{s['kind']}\t{s['url']}\tevery "
                             f"{s['every_seconds']} s" for s in out) or "no harvest sources"
        elif args.harvest_command == "remove":
            out = (await sources.remove(graph, args.name, actor="cli")).as_dict()
            text = f"harvest {args.name} removed (its datasets stay in the catalog)"
        else:
            names = [args.name] if args.name else [s.name for s in await sources.list_all(graph)]
            out = [await harvest_once(graph, settings, name, actor="cli", objects=objects)
                   for name in names]
            failed = any(r["aborted"] for r in out)
            text = "\n".join(r["summary"] + "".join(f"\n  refused {x['where']}: {x['reason']}"
                                                    for x in r["refused"][:20])
                             for r in out) or "no harvest sources"
        sys.stdout.write(json.dumps(out, indent=2) + "\n" if args.json else text + "\n")
        return 1 if failed else 0
    return run_with_stores(settings, work)
