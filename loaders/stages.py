"""The per-batch stages after conversion: de-duplicate → validate → profile → write.

Owns the curated Parquet writer (zstd) and the quarantine writer; ``finish`` turns what was
seen into the version's fields (with profile, semantic type and PII flag) and quality report.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from loaders.contract import Validator, decide
from loaders.options import LoadOptions
from loaders.profile import Profiler
from loaders.semantic import hint
from server.models import FieldSpec

if TYPE_CHECKING:
    from loaders.build import BuildResult
    from loaders.infer import ColumnPlan

COMPRESSION = "zstd"


class Stages:
    def __init__(self, schema: pa.Schema, originals: list[str], notes: list[str | None],
                 plans: list[ColumnPlan] | None, out: Path, quarantine: Path,
                 opts: LoadOptions, contract: Any, shown: str) -> None:
        self.schema = _with_metadata(schema, originals, notes, plans)
        self.out, self.quarantine_path, self.opts, self.shown = out, quarantine, opts, shown
        self.writer = pq.ParquetWriter(str(out), self.schema, compression=COMPRESSION)
        self.quarantine: pq.ParquetWriter | None = None
        self.profiler = Profiler(self.schema)
        self.seen: set[int] | None = set() if opts.clean.drop_duplicates else None
        self.skipped = self.written = self.quarantined = 0
        self.validator: Any = None
        self.contract = contract
        if contract is not None:
            self.validator = Validator(contract, self.schema)
            decide(self.validator.report(), label=shown)   # stop early on schema failures

    def push(self, batch: pa.RecordBatch, first_row: int) -> None:
        batch = pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
        if self.seen is not None:
            batch = self._dedupe(batch)
        if self.validator is not None:
            mask = self.validator.validate(batch, first_row)
            if self.validator.contract.on_violation == "quarantine":
                batch, bad = self.validator.split(batch, mask)
                if bad.num_rows:
                    self._quarantine(bad)
        self.profiler.update(batch)
        self.writer.write_batch(batch)
        self.written += batch.num_rows

    def _dedupe(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        assert self.seen is not None
        keep = []
        for row in zip(*(col.to_pylist() for col in batch.columns), strict=True):
            digest = hash(row)
            keep.append(digest not in self.seen)
            self.seen.add(digest)
        dropped = keep.count(False)
        if dropped:
            self.skipped += dropped
            batch = batch.filter(pa.array(keep))
        return batch

    def _quarantine(self, bad: pa.RecordBatch) -> None:
        if self.quarantine is None:
            self.quarantine = pq.ParquetWriter(str(self.quarantine_path), bad.schema,
                                               compression=COMPRESSION)
        self.quarantine.write_batch(bad)
        self.quarantined += bad.num_rows

    def finish(self, result: BuildResult) -> None:
        self.writer.close()
        if self.quarantine is not None:
            self.quarantine.close()
        profile, samples = self.profiler.result(), self.profiler.samples()
        fields = []
        for f in self.schema:
            meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
            stats = profile.get(f.name, {})
            semantic, pii = hint(f.name, f.type, samples.get(f.name, []), stats, meta)
            fields.append(FieldSpec(name=f.name, arrow_type=str(f.type), nullable=f.nullable,
                                    metadata=meta, semantic_type=semantic, pii=pii,
                                    stats=stats))
        result.fields = fields
        result.rows_written = self.written
        result.rows_skipped = self.skipped
        result.rows_quarantined = self.quarantined
        if self.validator is not None:
            result.quality = self.validator.report()
            outcome = decide(result.quality, label=self.shown)
            result.warnings.extend(outcome.warnings)

    def abort(self) -> None:
        for writer in (self.writer, self.quarantine):
            if writer is not None:
                with contextlib.suppress(OSError, pa.ArrowException):
                    writer.close()  # a broken writer: its temp file is deleted just below
        self.out.unlink(missing_ok=True)
        self.quarantine_path.unlink(missing_ok=True)


def _with_metadata(schema: pa.Schema, originals: list[str], notes: list[str | None],
                   plans: list[ColumnPlan] | None) -> pa.Schema:
    fields = []
    for i, f in enumerate(schema):
        meta: dict[str, str] = dict((k.decode(), v.decode()) for k, v in
                                    (f.metadata or {}).items())
        if originals[i] != f.name:
            meta["original_name"] = originals[i]
        if plans is not None:
            plan = plans[i]
            meta["inferred_as"] = plan.kind.value
            if plan.kind.value in ("currency", "percent"):
                meta["parsed_from"] = plan.kind.value
            if plan.fmt:
                meta["parsed_format"] = plan.fmt
            if plan.assumed:
                meta["date_order"] = "assumed month-first"
        if notes[i]:
            meta["note"] = str(notes[i])
        fields.append(f.with_metadata(meta) if meta else f)
    return pa.schema(fields)
