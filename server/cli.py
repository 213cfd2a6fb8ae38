"""The ``peso`` command line: serve, load, demo. Errors are one clear line and a non-zero
exit, never a traceback (set PESO_LOG_LEVEL=debug to see one in the log)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from server import __version__
from server.errors import PesoError
from server.settings import SETTINGS, Settings

log = logging.getLogger("peso.cli")

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peso", description="Peso: a GraphQL metadata catalog for marketing datasets.",
        epilog="Settings come from PESO_* environment variables: "
               + ", ".join(s.env for s in SETTINGS) + ". See README.md.")
    parser.add_argument("--version", action="version", version=f"peso {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="run the GraphQL server (GraphiQL at /graphql)",
                           description="Run the GraphQL server on PESO_HOST:PESO_PORT.")
    serve.add_argument("--host", help="bind address (default: PESO_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PESO_PORT or 8000)")
    serve.add_argument("--demo", action="store_true",
                       help="load the demo catalog first (a no-op when already loaded)")
    serve.set_defaults(func=cmd_serve)

    load = sub.add_parser("load", help="load a CSV or Parquet file as a new dataset version",
                          description="Load FILE: keep the raw copy, write curated Parquet "
                                      "(zstd), register a version and raw→curated lineage. "
                                      "Loading identical content again is a no-op.")
    load.add_argument("file", type=Path, help="the CSV or Parquet file to load")
    load.add_argument("--dataset", required=True, metavar="NAMESPACE/NAME",
                      help="the dataset to add a version to, e.g. demo/bank")
    load.add_argument("--source", metavar="NAME", help="an existing source to attribute it to")
    load.add_argument("--description", help="the dataset's description")
    load.add_argument("--json", action="store_true", help="print the load report as JSON")
    load.set_defaults(func=cmd_load)

    demo = sub.add_parser("demo", help="load the demo marketing catalog",
                          description="Load a small demo catalog: sources, datasets with "
                                      "versions, human and non-human entities, a lineage chain. "
                                      "Safe to run again.")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        logging.basicConfig(level=settings.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        func: Callable[[argparse.Namespace, Settings], int] = args.func
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


def _run(coro: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(coro)


async def _with_stores(settings: Settings, work: Callable[..., Coroutine[Any, Any, int]]) -> int:
    from server.storage import factory

    graph, objects = factory.graph_store(settings), factory.object_store(settings)
    await graph.open()
    try:
        objects.open()
        try:
            return await work(graph, objects)
        finally:
            objects.close()
    finally:
        await graph.close()


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    from loaders.pipeline import LoadRequest, load_file
    from server.ids import split_dataset_ref

    namespace, name = split_dataset_ref(args.dataset)
    req = LoadRequest(path=args.file, namespace=namespace, name=name, source=args.source,
                      description=args.description)

    async def work(graph: Any, objects: Any) -> int:
        tmp = settings.data_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        result = await load_file(req, graph=graph, objects=objects, actor="cli", tmp_dir=tmp)
        rep = result.report
        if args.json:
            print(json.dumps(rep.as_dict(), indent=2, default=str))
        elif rep.created:
            print(f"loaded {rep.file} into {rep.dataset} as version {rep.version}: "
                  f"{rep.rows_written} rows, curated Parquet at {rep.curated_key}")
        else:
            print(f"unchanged: {rep.file} is identical to {rep.dataset} version {rep.version}; "
                  "nothing written")
        return EXIT_OK
    return _run(_with_stores(settings, work))


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from loaders.demo import load_demo

    async def work(graph: Any, objects: Any) -> int:
        summary = await load_demo(graph, objects, tmp_dir=settings.data_dir / "tmp")
        print(f"demo catalog ready: {summary}")
        return EXIT_OK
    return _run(_with_stores(settings, work))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from server.app import create_app

    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    if args.demo:
        cmd_demo(args, settings)
    app = create_app(settings)
    shown = f"[{host}]" if ":" in host else host
    print(f"Peso {__version__} serving the catalog at http://{shown}:{port}/graphql "
          "(open it in a browser for GraphiQL)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level, access_log=False)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
