"""`peso load` behind the CLI: one file or a whole folder, a progress line on a terminal,
a JSON report for scripts, one clear error line per refused file."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from loaders.cli_options import build_options
from loaders.names import snake_case
from loaders.pipeline import LoadRequest, LoadResult, load_file
from server.errors import LoadError, PesoError, ValidationError
from server.ids import check_namespace, split_dataset_ref
from server.openlineage.peso_jobs import LoadLineage
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".parquet", ".xlsx",
            ".gz", ".zip")
_REFRESH = 0.2  # seconds between progress redraws


class ProgressLine:
    """``rows 1,234,567 · 45.6 MB · 80.1 MB/s`` redrawn in place on a terminal (stderr)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled = label, enabled
        self.start = self.last = time.monotonic()

    def __call__(self, rows: int, read_bytes: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < _REFRESH:
            return
        self.last = now
        mb = read_bytes / 1e6
        rate = mb / max(now - self.start, 1e-6)
        sys.stderr.write(f"\r{self.label}: rows {rows:,} · {mb:,.1f} MB · {rate:,.1f} MB/s ")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _contract(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    from loaders.contract import parse_contract

    return parse_contract(path).as_dict()


def _targets(args: argparse.Namespace) -> list[tuple[Path, str, str]]:
    path: Path = args.file
    if path.is_dir():
        if not args.namespace:
            raise ValidationError(f"{path} is a folder: give --namespace NAMESPACE (each file "
                                  "becomes NAMESPACE/<file stem>)", field="namespace")
        namespace = check_namespace(args.namespace)
        files = sorted(p for p in path.iterdir()
                       if p.is_file() and p.name.lower().endswith(SUFFIXES))
        if not files:
            raise LoadError(f"{path}: no loadable files (looked for {', '.join(SUFFIXES)})")
        return [(f, namespace, snake_case(f.name.split(".")[0]) or "file") for f in files]
    if args.namespace:
        raise ValidationError("--namespace is for folders; give --dataset NAMESPACE/NAME for "
                              "a file", field="namespace")
    namespace, name = split_dataset_ref(args.dataset)
    return [(path, namespace, name)]


async def load_paths(args: argparse.Namespace, settings: Settings, graph: GraphStore,
                     objects: ObjectStore) -> int:
    options = build_options(fmt=args.format, delimiter=args.delimiter, encoding=args.encoding,
                            sheet=args.sheet, date_order=args.date_order,
                            null_tokens=args.null_token, sentinels=args.sentinel,
                            normalize_names=not args.no_normalize_names,
                            trim_whitespace=not args.no_trim,
                            infer_types=not args.no_infer_types,
                            drop_duplicates=args.drop_duplicates,
                            allow_empty=args.allow_empty)
    contract = _contract(args.contract)
    tmp = settings.data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    reports: list[dict[str, Any]] = []
    failures = 0
    targets = _targets(args)
    lineage = LoadLineage(graph, settings, actor="cli")  # each load: an OpenLineage run
    for path, namespace, name in targets:
        bar = ProgressLine(f"{namespace}/{name}", sys.stderr.isatty() and not args.json)
        req = LoadRequest(path=path, namespace=namespace, name=name, source=args.source,
                          description=args.description, options=options, contract=contract)
        try:
            result = await load_file(req, graph=graph, objects=objects, actor="cli",
                                     tmp_dir=tmp, progress=bar, lineage=lineage)
        except PesoError as exc:
            bar.done()
            if len(targets) == 1:
                raise
            failures += 1
            print(f"peso: error: {exc.message}", file=sys.stderr)
            reports.append({"file": str(path), "dataset": f"{namespace}/{name}",
                            "error": exc.message})
            continue
        bar.done()
        reports.append(result.report.as_dict())
        if not args.json:
            print(_summary(result))
    if args.json:
        print(json.dumps(reports[0] if len(targets) == 1 else reports, indent=2, default=str))
    return 1 if failures else 0


def _summary(result: LoadResult) -> str:
    rep = result.report
    if not rep.created:
        return (f"unchanged: {rep.file} is identical to {rep.dataset} version {rep.version}; "
                "nothing written")
    seconds = sum(s.seconds for s in rep.steps) or 1e-9
    parts = [f"loaded {rep.file} into {rep.dataset} as version {rep.version}: "
             f"{rep.rows_written:,} rows in {seconds:.2f} s "
             f"({rep.bytes_read / 1e6 / seconds:,.1f} MB/s)"]
    if rep.rows_skipped:
        parts.append(f"{rep.rows_skipped:,} duplicate rows dropped")
    if rep.rows_quarantined:
        parts.append(f"{rep.rows_quarantined:,} rows quarantined at {rep.quarantine_key}")
    line = ", ".join(parts) + f"; curated Parquet at {rep.curated_key}"
    return "\n".join([line, *(f"  warning: {w}" for w in rep.warnings)])
