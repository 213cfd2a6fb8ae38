"""The ``peso`` command line: serve, load, demo, migrate, and the administrator's token, gc,
export and import (``server.cli_admin``). Errors are one clear line and a non-zero exit, never
a traceback (set PESO_LOG_LEVEL=debug to see one in the log). The command line writes to the
stores directly, as the local administrator: no API token is needed."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from loaders import limits
from server import __version__, crashpoints, logs
from server.cli_admin import add_admin_parsers
from server.enrich_cli import add_enrich_parsers
from server.errors import PesoError
from server.harvest_cli import add_harvest_parser
from server.health_cli import add_report_parser
from server.openlineage.ingest_cli import add_lineage_parser
from server.requestctx import new_request_id, request_id, set_request_id
from server.settings import SETTINGS, Settings
from server.worker_cli import add_worker_parser

log = logging.getLogger("peso.cli")

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


DATA_DIR_ARGS = ("--data-dir",)
DATA_DIR_OPTIONS: dict[str, Any] = {
    "metavar": "DIR", "default": argparse.SUPPRESS,
    "help": "folder of the embedded catalog (default: PESO_DATA_DIR, else the per-user "
            "data folder); every command names its catalog on its first line of stderr"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peso", description="Peso: a GraphQL metadata catalog for marketing datasets.",
        epilog="Settings come from PESO_* environment variables: "
               + ", ".join(s.env for s in SETTINGS) + ". See README.md.")
    parser.add_argument("--version", action="version", version=f"peso {__version__}")
    parser.add_argument(*DATA_DIR_ARGS, **DATA_DIR_OPTIONS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="run the GraphQL server (GraphiQL at /graphql)",
                           description="Run the GraphQL server on PESO_HOST:PESO_PORT.")
    serve.add_argument("--host", help="bind address (default: PESO_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PESO_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1,
                       help="uvicorn worker processes (default 1; more need PESO_GRAPH_URL "
                            "on Neo4j, the embedded SQLite catalog keeps one writer)")
    serve.add_argument("--demo", action="store_true",
                       help="load the demo catalog first (a no-op when already loaded)")
    serve.add_argument("--no-worker", action="store_true",
                       help="do not run the background jobs in this server (as "
                            "PESO_WORKER_IN_SERVE=false; leave them to `peso worker`)")
    serve.set_defaults(func=cmd_serve)

    load = sub.add_parser(
        "load", help="load a file (or every file in a folder) as new dataset versions",
        description="Load FILE (CSV/TSV, JSON, JSON Lines, Parquet, Excel .xlsx; gzip or zip "
                    "compressed): keep the raw copy, clean and type it, validate it against "
                    "the dataset's contract, profile it, write curated Parquet (zstd) and "
                    "register a version with raw→curated lineage. Identical content is a "
                    "no-op. Given a FOLDER, each supported file becomes NAMESPACE/<file stem>.")
    load.add_argument("file", type=Path, help="the file or folder to load")
    target = load.add_mutually_exclusive_group(required=True)
    target.add_argument("--dataset", metavar="NAMESPACE/NAME",
                        help="the dataset to add a version to, e.g. demo/bank")
    target.add_argument("--namespace", metavar="NAMESPACE",
                        help="with a folder: the namespace its files are loaded into")
    load.add_argument("--source", metavar="NAME", help="an existing source to attribute it to")
    load.add_argument("--description", help="the dataset's description")
    load.add_argument("--contract", type=Path, metavar="FILE",
                      help="a validation contract (YAML or JSON), stored with the dataset")
    load.add_argument("--format", choices=["csv", "json", "jsonl", "parquet", "xlsx"],
                      help="force the format instead of detecting it from the content")
    load.add_argument("--delimiter", help="force the CSV delimiter: , ; tab |")
    load.add_argument("--encoding", help="force the text encoding (utf-8, utf-16, latin-1, …)")
    load.add_argument("--sheet", help="Excel: the sheet to read (default: the first)")
    load.add_argument("--date-order", choices=["auto", "dmy", "mdy"], default="auto",
                      help="how to read ambiguous numeric dates (default: from the data)")
    load.add_argument("--null-token", action="append", metavar="TEXT",
                      help="a value meaning missing (repeatable; replaces the defaults "
                           "'', NA, N/A, n/a, null, NULL, -)")
    load.add_argument("--sentinel", action="append", metavar="TEXT",
                      help="a dataset-specific missing marker such as unknown, -1, 999 "
                           "(repeatable)")
    load.add_argument("--drop-duplicates", action="store_true", help="drop exact duplicate rows")
    load.add_argument("--allow-empty", action="store_true",
                      help="register a file with no data rows (by default it is refused)")
    load.add_argument("--no-normalize-names", action="store_true",
                      help="keep column names as in the file")
    load.add_argument("--no-trim", action="store_true", help="keep surrounding whitespace")
    load.add_argument("--no-infer-types", action="store_true", help="keep every column as text")
    load.add_argument("--json", action="store_true",
                      help="print the load report(s) as JSON (for scripts)")
    load.set_defaults(func=cmd_load)

    mcp = sub.add_parser("mcp", help="serve the catalog to AI tools over MCP (stdio)")
    mcp.add_argument("--token", default=None,
                     help="API token to act as (default: PESO_MCP_TOKEN; none: anonymous)")
    mcp.set_defaults(func=cmd_mcp)
    demo = sub.add_parser("demo", help="load the demo marketing catalog",
                          description="Load a small demo catalog: sources, datasets with "
                                      "versions, human and non-human entities, a lineage chain. "
                                      "Safe to run again.")
    demo.set_defaults(func=cmd_demo)
    add_migrate_parser(sub)
    add_admin_parsers(sub)
    add_lineage_parser(sub)
    add_report_parser(sub)
    add_harvest_parser(sub)
    add_enrich_parsers(sub)
    add_worker_parser(sub)
    return parser


def add_migrate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = sub.add_parser(
        "migrate", help="copy the whole catalog and its objects to other stores, and verify",
        description="Copy every source, dataset (soft-deleted ones too), version with its "
                    "fields, entity, link, tag, owner, OpenLineage job, run, column lineage, "
                    "dataset facets and received event, lineage edge and audit event, keeping "
                    "ids and timestamps, and every object; then verify record by record and "
                    "every object's sha256. Safe to re-run: what is already there is skipped. "
                    "A target holding anything that is not part of the source is refused "
                    "unless --force. S3 and Neo4j credentials come from the PESO_S3_* and "
                    "PESO_NEO4J_* settings.")
    migrate.add_argument("--from-graph", required=True, metavar="URL",
                         help="source graph store, e.g. sqlite:///var/peso/catalog.db")
    migrate.add_argument("--to-graph", required=True, metavar="URL",
                         help="target graph store, e.g. neo4j://127.0.0.1:7687")
    migrate.add_argument("--from-objects", required=True, metavar="URL",
                         help="source object store, e.g. file:///var/peso/objects")
    migrate.add_argument("--to-objects", required=True, metavar="URL",
                         help="target object store, e.g. s3://peso/catalog")
    migrate.add_argument("--force", action="store_true",
                         help="merge into a target that already holds other data")
    migrate.set_defaults(func=cmd_migrate)


def accept_data_dir_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` works before or after the command name (``peso load --data-dir …``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                if "--data-dir" not in command._option_string_actions:
                    command.add_argument(*DATA_DIR_ARGS, **DATA_DIR_OPTIONS)
                accept_data_dir_everywhere(command)


def say_where(settings: Settings) -> None:
    """First line of every command: which catalog; a warning if it looks like the wrong one."""
    from server.data_location import describe, legacy_warning

    print(describe(settings), file=sys.stderr, flush=True)
    warning = legacy_warning(settings, Path.cwd())
    if warning:
        print(warning, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    accept_data_dir_everywhere(parser)
    args = parser.parse_args(argv)
    try:
        env = dict(os.environ)
        if getattr(args, "data_dir", None) is not None:
            env["PESO_DATA_DIR"] = args.data_dir
        settings = Settings.from_env(env)
        limits.configure(limits.from_settings(settings))  # what loaded files may expand to
        say_where(settings)
        logs.setup(settings.log_level, settings.log_format)
        # test-only: die like kill -9 at a named point (see server/crashpoints.py)
        crashpoints.arm(os.environ.get("PESO_TEST_CRASH_AT"))
        func: Callable[[argparse.Namespace, Settings], int] = args.func
        with request_id(f"cli-{new_request_id()}"):  # stamps this run's audit events
            return func(args, settings)
    except PesoError as exc:
        print(f"peso: error: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, details in the log
        log.debug("unexpected error", exc_info=exc)
        print(f"peso: unexpected error: {type(exc).__name__}: {exc} "
              "(set PESO_LOG_LEVEL=debug for the traceback)", file=sys.stderr)
        return EXIT_ERROR


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    from loaders.batch import load_paths
    from server.storage.factory import run_with_stores

    return run_with_stores(settings, lambda graph, objects: load_paths(
        args, settings, graph, objects))


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from loaders.demo import load_demo

    async def work(graph: Any, objects: Any) -> int:
        summary = await load_demo(graph, objects, tmp_dir=settings.data_dir / "tmp")
        print(f"demo catalog ready: {summary}")
        return EXIT_OK
    from server.storage.factory import run_with_stores

    return run_with_stores(settings, work)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from server.migrate import migrate_urls
    from server.openlineage.peso_jobs import migrate_run

    async def work() -> int:
        urls = {"from_graph": args.from_graph, "to_graph": args.to_graph,
                "from_objects": args.from_objects, "to_objects": args.to_objects}
        async with migrate_run(settings, **urls) as run:  # an OpenLineage run of peso.migrate
            report = await migrate_urls(settings, **urls, force=args.force,
                                        say=lambda line: print(line, flush=True))
            if not report.ok:
                await run.fail("verification failed: " + "; ".join(report.problems[:3]))
        for line in report.lines():
            print(line)
        return EXIT_OK if report.ok else EXIT_ERROR
    return asyncio.run(work())


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from server.app import create_app
    from server.header_timeout import HeaderTimeoutProtocol, configure
    from server.port_check import listen_problem
    from server.workers import refusal

    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    refused = refusal(settings, args.workers) or listen_problem(host, port)
    if refused:
        print(f"peso serve: {refused}", file=sys.stderr)
        return EXIT_USAGE
    if args.demo:
        cmd_demo(args, settings)
    from server.worker import EmbeddedWorker

    run_jobs = settings.worker_in_serve and not args.no_worker
    # the background jobs' loop runs beside the app (server/worker.py), after its start-up
    app = (EmbeddedWorker(create_app(settings), settings, run_jobs=run_jobs)
           if args.workers == 1 else None)
    shown = f"[{host}]" if ":" in host else host
    print(f"Peso {__version__} serving the catalog at http://{shown}:{port}/graphql "
          "(open it in a browser for GraphiQL)", flush=True)
    # uvicorn handles SIGTERM with a graceful shutdown, restores the handler it found, then
    # re-raises the signal. A graceful stop is a success: the handler it finds ignores it.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # What exists now (modules, the schema) lives as long as the process: take it out of the
    # cyclic GC's reach, so full collections stop re-scanning it (before: a ~25 ms pause every
    # few hundred requests, 3-4% of CPU; see bench/README.md)
    import gc

    gc.collect()
    gc.freeze()
    set_request_id(None)  # each request gets its own (server/observe.py)
    configure(settings.header_timeout_seconds)  # workers read PESO_HEADER_TIMEOUT_SECONDS
    if app is None:  # several processes: each builds its app (server/workers.py)
        os.environ["PESO_DATA_DIR"] = str(settings.data_dir)  # as --data-dir said, if it did
        if not run_jobs:
            os.environ["PESO_WORKER_IN_SERVE"] = "false"
        uvicorn.run("server.workers:app", factory=True, workers=args.workers, host=host,
                    port=port, log_level=settings.log_level, access_log=False, log_config=None,
                    http=HeaderTimeoutProtocol)
        return EXIT_OK
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level, access_log=False,
                log_config=None,  # keep Peso's log setup (server/logs.py)
                http=HeaderTimeoutProtocol)  # slow headers get 408 (server/header_timeout.py)
    return EXIT_OK


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    from server.mcp_stdio import serve_stdio

    return asyncio.run(serve_stdio(settings, args.token or settings.mcp_token or None))


if __name__ == "__main__":
    sys.exit(main())
