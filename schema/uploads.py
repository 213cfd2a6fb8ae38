"""Loading a file over HTTP: the GraphQL multipart request spec (a file part plus the
operation). The server's view refuses multipart requests without a CSRF-safe header (see
``server.graphql_http``) and bodies over PESO_MAX_UPLOAD_BYTES."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, cast

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from schema.context import Info
from schema.payloads import UserError, attempt
from schema.types import Dataset, DatasetVersion
from server import metrics
from server.errors import ValidationError
from server.ids import check_label, check_name, check_namespace, check_text


@strawberry.input(description="Where a file goes and how to read and clean it. Every "
                              "cleaning step is on unless switched off here.")
class LoadFileInput:
    namespace: str
    name: str
    source: str | None = None
    description: str | None = None
    format: str | None = strawberry.field(
        default=None, description="Force the format: csv, json, jsonl, parquet, xlsx.")
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    date_order: str | None = strawberry.field(default=None, description="auto, dmy or mdy.")
    null_tokens: list[str] | None = None
    sentinels: list[str] | None = strawberry.field(
        default=None, description="Dataset-specific values meaning missing: unknown, -1, 999.")
    normalize_names: bool = True
    trim_whitespace: bool = True
    infer_types: bool = True
    drop_duplicates: bool = False
    allow_empty: bool = strawberry.field(
        default=False, description="Register a file with no data rows (refused by default).")
    contract: JSON | None = strawberry.field(
        default=None, description="A validation contract (stored with the dataset).")


@strawberry.type
class LoadPayload:
    dataset: Dataset | None = None
    version: DatasetVersion | None = None
    created: bool = False
    report: JSON | None = strawberry.field(default=None,
                                           description="What the load read, skipped, wrote.")
    errors: list[UserError] = strawberry.field(default_factory=list)


def load_options(inp: LoadFileInput) -> Any:
    from loaders.cli_options import build_options

    return build_options(fmt=inp.format, delimiter=inp.delimiter, encoding=inp.encoding,
                         sheet=inp.sheet, date_order=inp.date_order,
                         null_tokens=inp.null_tokens, sentinels=inp.sentinels,
                         normalize_names=inp.normalize_names,
                         trim_whitespace=inp.trim_whitespace, infer_types=inp.infer_types,
                         drop_duplicates=inp.drop_duplicates, allow_empty=inp.allow_empty)


def _spool(upload: Any, folder: Path) -> Path:
    """Copy the uploaded part to a temp file (removed again if the copy fails)."""
    folder.mkdir(parents=True, exist_ok=True)
    # Starlette's UploadFile reads asynchronously; its ``file`` is the spooled sync file.
    source = cast(BinaryIO, getattr(upload, "file", upload))
    fd, name = tempfile.mkstemp(prefix="peso-upload-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


@strawberry.type
class UploadMutation:
    @strawberry.mutation(description="Load an uploaded file (GraphQL multipart request) as a "
                                     "new version: raw kept, curated Parquet, profile, checks.")
    async def load_file(self, info: Info, input: LoadFileInput,
                        file: Upload) -> LoadPayload:
        from loaders.pipeline import LoadRequest, load_file
        from server.openlineage.peso_jobs import LoadLineage

        ctx = info.context
        tmp = ctx.settings.data_dir / "tmp"

        async def run() -> Any:
            namespace, name = check_namespace(input.namespace), check_name(input.name)
            source = check_label(input.source, field="source") if input.source else None
            if not hasattr(file, "read"):
                raise ValidationError("file must be an uploaded file part", field="file")
            original = getattr(file, "filename", None) or "upload"
            path = await asyncio.to_thread(_spool, file, tmp)
            try:
                contract = input.contract
                if contract is not None and not isinstance(contract, dict):
                    raise ValidationError("contract must be a JSON object", field="contract")
                req = LoadRequest(path=path, namespace=namespace, name=name, source=source,
                                  description=check_text(input.description,
                                                         field="description"),
                                  original_name=str(original), options=load_options(input),
                                  contract=cast(dict[str, Any] | None, contract),
                                  keep_rejected=True)
                return await load_file(req, graph=ctx.graph, objects=ctx.objects,
                                       actor=ctx.actor, tmp_dir=tmp,
                                       lineage=LoadLineage(ctx.graph, ctx.settings,
                                                           actor=ctx.actor))
            finally:
                path.unlink(missing_ok=True)
        result, errors = await attempt(run())
        if result is None:
            metrics.record_load("failed")
            return LoadPayload(errors=errors)
        metrics.record_load("created" if result.curated.created else "unchanged",
                            result.report.rows_written if result.curated.created else 0)
        return LoadPayload(dataset=Dataset.from_model(result.curated.dataset),
                           version=DatasetVersion.from_model(result.curated.version),
                           created=result.curated.created,
                           report=cast(JSON, result.report.as_dict()))
