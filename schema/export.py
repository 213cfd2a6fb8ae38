"""Write the GraphQL SDL to ``schema/schema.graphql`` (the committed, reviewable contract).

    python -m schema.export           # regenerate the file
    python -m schema.export --check   # exit 1 when the file is stale (tests/test_sdl.py does too)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

SDL_PATH = Path(__file__).resolve().with_name("schema.graphql")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schema.export",
                                     description="Export the GraphQL SDL to " + str(SDL_PATH))
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when the file differs from the schema")
    parser.add_argument("--output", type=Path, default=SDL_PATH, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from schema.root import export_sdl

    sdl = export_sdl()
    path: Path = args.output
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if args.check:
        if current != sdl:
            print(f"{path} is stale: run `python -m schema.export` and commit the result",
                  file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    if current == sdl:
        print(f"{path} is up to date")
        return 0
    path.write_text(sdl, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
