"""One load: hash → (no-op if unchanged) → build curated Parquet (read, clean, infer, validate,
profile) → store objects → register raw and curated versions with raw→curated lineage in one
graph transaction.

Nothing reaches the graph until the file has been read whole and converted, so a bad file
registers nothing. Objects written for a load whose registration fails are removed again. A
rejected upload (``keep_rejected``) is kept under ``rejected/`` so nothing given is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loaders.build import BuildResult, Progress, build_curated
from loaders.changes import diff
from loaders.options import LoadOptions
from loaders.report import LoadReport
from server import crashpoints
from server.errors import LoadError, PesoError
from server.ids import check_name, check_namespace, new_id, object_key, safe_filename
from server.models import (
    Dataset,
    DatasetKey,
    DatasetLayer,
    DatasetVersion,
    NewVersion,
    RegisteredVersion,
)
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

if TYPE_CHECKING:
    from server.openlineage.peso_jobs import LoadLineage

log = logging.getLogger("peso.load")

RAW_SUFFIX = ".raw"


@dataclass(frozen=True, slots=True)
class LoadRequest:
    path: Path
    namespace: str
    name: str
    source: str | None = None
    description: str | None = None
    original_name: str | None = None   # the uploaded file's own name, when it came over HTTP
    options: LoadOptions = field(default_factory=LoadOptions)
    contract: dict[str, Any] | None = None   # parsed contract document; else the stored one
    keep_rejected: bool = False        # keep a refused upload under rejected/


@dataclass(frozen=True, slots=True)
class LoadResult:
    report: LoadReport
    curated: RegisteredVersion


def file_sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def load_file(req: LoadRequest, *, graph: GraphStore, objects: ObjectStore,
                    actor: str, tmp_dir: Path | None = None,
                    progress: Progress | None = None,
                    lineage: LoadLineage | None = None) -> LoadResult:
    """Load one file. With ``lineage`` (``peso load``, ``loadFile``) the load is reported as
    an OpenLineage run of job peso.load: START, then COMPLETE or FAIL. A reload of identical
    content is a no-op and records no run at all (it is found before the run would start); a
    concurrent load of the same content that registers first makes this run COMPLETE without
    outputs, marked ``pesoLoad.unchanged``."""
    if lineage is None:
        return await _load_file(req, graph=graph, objects=objects, actor=actor,
                                tmp_dir=tmp_dir, progress=progress)
    prepared = await _prepare(req, graph)
    if prepared.noop is not None:
        return prepared.noop
    run = await lineage.started(req.namespace, req.name, req.original_name or str(req.path))
    try:
        result = await _load_file(req, graph=graph, objects=objects, actor=actor,
                                  tmp_dir=tmp_dir, progress=progress, prepared=prepared)
    except Exception as exc:
        await run.failed(exc)
        raise
    if result.curated.created:
        await run.completed(result.curated.dataset.namespace, result.curated.dataset.name,
                            result.curated.dataset.name + RAW_SUFFIX, result.curated.version)
    else:
        await run.unchanged(result.curated.version)
    return result


@dataclass
class _Prepared:
    """What a load knows before it reads the file: the dataset's latest version, the file's
    hash when it had to be known first (``None``: the raw copy computes it), and ``noop``,
    the finished result when the content is the same."""

    namespace: str
    name: str
    shown: str
    report: LoadReport
    content_hash: str | None
    size: int
    existing: Dataset | None
    previous: DatasetVersion | None
    noop: LoadResult | None


async def _prepare(req: LoadRequest, graph: GraphStore) -> _Prepared:
    """The unchanged check. A file whose size is not the latest raw upload's cannot be the
    same content, so it is not hashed first: the raw copy hashes it while it copies it,
    beside the build (one read and one sha256 of the file instead of two, and none before
    the build starts). Otherwise it is hashed, and compared."""
    namespace, name = check_namespace(req.namespace), check_name(req.name)
    shown = req.original_name or str(req.path)
    report = LoadReport(file=shown, dataset=f"{namespace}/{name}")
    if not req.path.is_file():
        raise LoadError(f"{req.path}: no such file")
    size = req.path.stat().st_size
    report.bytes_read = size

    existing = await graph.get_dataset(namespace, name)
    previous = raw_previous = None
    if existing is not None:
        [previous] = await graph.get_latest_versions([existing.id])
        raw_twin = await graph.get_dataset(namespace, name + RAW_SUFFIX)
        if previous is not None and raw_twin is not None:
            [raw_previous] = await graph.get_latest_versions([raw_twin.id])
    content_hash = None
    noop = None
    with report.step("hash") as step:
        if previous is None:
            step.detail = "with the raw copy: the dataset is new"
        elif raw_previous is not None and raw_previous.byte_size != size:
            step.detail = (f"with the raw copy: {size:,} bytes, not the "
                           f"{raw_previous.byte_size:,} of version {previous.version}, so "
                           "not the same content")
        else:
            content_hash, size = await asyncio.to_thread(file_sha256, req.path)
            report.bytes_read = size
    with report.step("check-unchanged") as step:
        if previous is not None and content_hash is not None \
                and previous.content_hash == content_hash:
            step.detail = f"identical to version {previous.version}: nothing to do"
            report.version, report.version_id = previous.version, previous.id
            report.rows_read = previous.row_count
            report.raw_key, report.curated_key = previous.raw_key, previous.curated_key
            assert existing is not None
            noop = LoadResult(report, RegisteredVersion(existing, previous, created=False))
    return _Prepared(namespace, name, shown, report, content_hash, size, existing, previous,
                     noop)


async def _load_file(req: LoadRequest, *, graph: GraphStore, objects: ObjectStore,
                     actor: str, tmp_dir: Path | None = None,
                     progress: Progress | None = None,
                     prepared: _Prepared | None = None) -> LoadResult:
    p = prepared or await _prepare(req, graph)
    if p.noop is not None:
        return p.noop
    namespace, name, shown, report = p.namespace, p.name, p.shown, p.report
    content_hash, size, existing, previous = p.content_hash, p.size, p.existing, p.previous

    contract_doc = req.contract if req.contract is not None else (
        existing.contract if existing is not None else None)
    contract = None
    if contract_doc is not None:
        from loaders.contract import parse_contract

        with report.step("contract"):
            contract = parse_contract(contract_doc)

    version_id = new_id()
    filename = safe_filename(req.original_name or req.path.name)
    raw_key = object_key("raw", namespace, name, version_id, filename)
    curated_key = object_key("curated", namespace, name, version_id, "part-0.parquet")
    quarantine_key = object_key("quarantine", namespace, name, version_id, "part-0.parquet")
    work = Path(tempfile.mkdtemp(prefix="peso-load-", dir=tmp_dir))
    curated_tmp, quarantine_tmp = work / "curated.parquet", work / "quarantine.parquet"
    written: list[str] = []
    raw_copy: asyncio.Future[Any] | None = None
    try:
        # The raw copy (I/O and sha256) overlaps the build (CPU); a failed load removes it.
        raw_copy = asyncio.ensure_future(asyncio.to_thread(objects.put_file, raw_key,
                                                           str(req.path)))
        written.append(raw_key)
        with report.step("read+clean+validate+profile") as step:
            try:
                built: BuildResult = await asyncio.to_thread(
                    build_curated, req.path, curated_tmp, quarantine_tmp, opts=req.options,
                    contract=contract, label=shown, progress=progress)
            except LoadError as exc:
                if req.keep_rejected:
                    kept = object_key("rejected", namespace, name, version_id, filename)
                    await asyncio.to_thread(objects.put_file, kept, str(req.path))
                    raise LoadError(f"{exc.message} (the upload is kept at {kept})") from exc
                raise
            if built.rows_read == 0 and not req.options.allow_empty:
                raise LoadError(f"{shown}: the file holds no data rows (a header at most); "
                                "nothing was registered. Pass --allow-empty (GraphQL: "
                                "allowEmpty: true) to register an empty version on purpose")
            step.detail = (f"{built.format}: {built.rows_read} rows read, {built.rows_written} "
                           f"written, {built.rows_skipped} duplicates dropped, "
                           f"{built.rows_quarantined} quarantined")
        report.rows_read, report.rows_written = built.rows_read, built.rows_written
        report.rows_skipped, report.rows_quarantined = built.rows_skipped, built.rows_quarantined
        report.warnings.extend(built.warnings)
        report.cleaning, report.quality = built.cleaning, built.quality

        with report.step("store-objects"):
            raw_info = await raw_copy
            if content_hash is None:   # hashed by the copy (see _prepare)
                content_hash = raw_info.sha256 or (
                    await asyncio.to_thread(file_sha256, req.path))[0]
            curated_info = await asyncio.to_thread(objects.put_file, curated_key,
                                                   str(curated_tmp))
            written.append(curated_key)
            if built.rows_quarantined:
                await asyncio.to_thread(objects.put_file, quarantine_key, str(quarantine_tmp))
                written.append(quarantine_key)
        crashpoints.reach("after-objects")  # test-only (PESO_TEST_CRASH_AT): die like kill -9

        with report.step("register"):
            prev_fields = (await graph.get_fields([previous.id]))[0] if previous else []
            changes = diff(previous, prev_fields, built.fields, built.rows_written)
            raw_ds = DatasetKey(namespace, name + RAW_SUFFIX)
            raw_v = NewVersion(namespace=raw_ds.namespace, name=raw_ds.name,
                               content_hash=content_hash, row_count=built.rows_read,
                               byte_size=size, fields=built.fields, raw_key=raw_key,
                               format=built.format, layer=DatasetLayer.RAW,
                               source_name=req.source,
                               description=f"Raw uploads behind {namespace}/{name}")
            cur_v = NewVersion(namespace=namespace, name=name, content_hash=content_hash,
                               row_count=built.rows_written, byte_size=curated_info.size,
                               fields=built.fields, raw_key=raw_key, curated_key=curated_key,
                               format=built.format, source_name=req.source,
                               description=req.description, version_id=version_id,
                               quality=built.quality, changes=changes,
                               quarantine_key=quarantine_key if built.rows_quarantined else None,
                               contract=req.contract)
            _, curated = await graph.register_versions(
                [raw_v, cur_v], actor=actor,
                lineage=[(DatasetKey(namespace, name), raw_ds,
                          f"peso load: {built.format} → cleaned, typed Parquet (zstd)")])
        if not curated.created:  # a concurrent load of the same content won the race
            await _remove(objects, written)
    except BaseException:
        if raw_copy is not None:   # let the copy finish before removing what it wrote
            with contextlib.suppress(BaseException):
                await asyncio.shield(raw_copy)
        await _remove(objects, written)
        raise
    finally:
        for tmp in (curated_tmp, quarantine_tmp):
            tmp.unlink(missing_ok=True)
        os.rmdir(work)
    report.created = curated.created
    report.version, report.version_id = curated.version.version, curated.version.id
    report.raw_key, report.curated_key = curated.version.raw_key, curated.version.curated_key
    report.quarantine_key = curated.version.quarantine_key
    return LoadResult(report, curated)


async def _remove(objects: ObjectStore, keys: list[str]) -> None:
    for key in keys:
        try:
            await asyncio.to_thread(objects.delete, key)
        except (OSError, PesoError) as exc:  # leave it for `peso gc`, but say so
            log.warning("could not remove %s after a failed load: %s", key, exc)
