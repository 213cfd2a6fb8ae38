"""One load: sniff → hash → (no-op if unchanged) → convert to Parquet → store objects →
register raw and curated versions with raw→curated lineage in one graph transaction.

Nothing reaches the stores until the file has been read whole and converted, so a bad file
registers nothing; if registration fails, the objects written for it are removed again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from loaders.readers import open_table
from loaders.report import LoadReport
from loaders.sniff import FileFormat, sniff
from server.errors import LoadError
from server.ids import check_name, check_namespace, new_id, object_key, safe_filename
from server.models import DatasetKey, DatasetLayer, FieldSpec, NewVersion, RegisteredVersion
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

log = logging.getLogger("peso.load")

RAW_SUFFIX = ".raw"
PARQUET_COMPRESSION = "zstd"


@dataclass(frozen=True, slots=True)
class LoadRequest:
    path: Path
    namespace: str
    name: str
    source: str | None = None
    description: str | None = None
    original_name: str | None = None   # the uploaded file's own name, when it came over HTTP
    force_format: FileFormat | None = None


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


def convert_to_parquet(req: LoadRequest, out: Path) -> tuple[int, list[FieldSpec], str]:
    """Stream ``req.path`` into a zstd Parquet file; return (rows, fields, format)."""
    sniffed = sniff(req.path, force=req.force_format)
    table = open_table(req.path, sniffed)
    rows = 0
    with pq.ParquetWriter(str(out), table.schema, compression=PARQUET_COMPRESSION) as writer:
        for batch in table.batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows, fields_of(table.schema), sniffed.format.value


def fields_of(schema: pa.Schema) -> list[FieldSpec]:
    return [FieldSpec(name=f.name, arrow_type=str(f.type), nullable=f.nullable,
                      metadata={k.decode(): v.decode() for k, v in (f.metadata or {}).items()})
            for f in schema]


async def load_file(req: LoadRequest, *, graph: GraphStore, objects: ObjectStore,
                    actor: str, tmp_dir: Path | None = None) -> LoadResult:
    namespace, name = check_namespace(req.namespace), check_name(req.name)
    report = LoadReport(file=str(req.path), dataset=f"{namespace}/{name}")
    if not req.path.is_file():
        raise LoadError(f"{req.path}: no such file")

    with report.step("hash"):
        content_hash, size = await asyncio.to_thread(file_sha256, req.path)
        report.bytes_read = size

    with report.step("check-unchanged") as step:
        existing = await graph.get_dataset(namespace, name)
        if existing is not None:
            [latest] = await graph.get_latest_versions([existing.id])
            if latest is not None and latest.content_hash == content_hash:
                step.detail = f"identical to version {latest.version}: nothing to do"
                report.version, report.version_id = latest.version, latest.id
                report.rows_read = report.rows_skipped = latest.row_count
                report.raw_key, report.curated_key = latest.raw_key, latest.curated_key
                return LoadResult(report, RegisteredVersion(existing, latest, created=False))

    version_id = new_id()
    filename = safe_filename(req.original_name or req.path.name)
    raw_key = object_key("raw", namespace, name, version_id, filename)
    curated_key = object_key("curated", namespace, name, version_id, "part-0.parquet")
    fd, tmp_name = tempfile.mkstemp(prefix="peso-curated-", suffix=".parquet", dir=tmp_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    written: list[str] = []
    try:
        with report.step("read+convert"):
            rows, fields, fmt = await asyncio.to_thread(convert_to_parquet, req, tmp)
            report.rows_read = report.rows_written = rows
        with report.step("store-objects"):
            await asyncio.to_thread(objects.put_file, raw_key, str(req.path))
            written.append(raw_key)
            curated_info = await asyncio.to_thread(objects.put_file, curated_key, str(tmp))
            written.append(curated_key)
        with report.step("register"):
            raw_ds = DatasetKey(namespace, name + RAW_SUFFIX)
            raw_v = NewVersion(namespace=raw_ds.namespace, name=raw_ds.name,
                               content_hash=content_hash, row_count=rows, byte_size=size,
                               fields=fields, raw_key=raw_key, format=fmt,
                               layer=DatasetLayer.RAW, source_name=req.source,
                               description=f"Raw uploads behind {namespace}/{name}")
            cur_v = NewVersion(namespace=namespace, name=name, content_hash=content_hash,
                               row_count=rows, byte_size=curated_info.size, fields=fields,
                               raw_key=raw_key, curated_key=curated_key, format=fmt,
                               source_name=req.source, description=req.description,
                               version_id=version_id)
            _, curated = await graph.register_versions(
                [raw_v, cur_v], actor=actor,
                lineage=[(DatasetKey(namespace, name), raw_ds,
                          f"peso load: {fmt} → Parquet ({PARQUET_COMPRESSION})")])
        if not curated.created:  # a concurrent load of the same content won the race
            await _remove(objects, written)
    except BaseException:
        await _remove(objects, written)
        raise
    finally:
        tmp.unlink(missing_ok=True)
    report.created = curated.created
    report.version, report.version_id = curated.version.version, curated.version.id
    report.raw_key, report.curated_key = curated.version.raw_key, curated.version.curated_key
    return LoadResult(report, curated)


async def _remove(objects: ObjectStore, keys: list[str]) -> None:
    for key in keys:
        try:
            await asyncio.to_thread(objects.delete, key)
        except OSError as exc:  # leave it for `peso gc`, but say so
            log.warning("could not remove %s after a failed load: %s", key, exc)
