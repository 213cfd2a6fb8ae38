"""The per-batch stages after conversion: de-duplicate → validate → profile → write.

Owns the curated Parquet writer (zstd) and the quarantine writer; ``finish`` turns what was
seen into the version's fields (with profile, semantic type and PII flag) and quality report.

Profiling a batch and writing it run on two more threads (``_Sink``: one profiles, one
writes) while the caller reads, cleans and converts the next one: Arrow's kernels and the
Parquet writer release the GIL, so the pipeline's parts share the cores. At most
``SINK_DEPTH`` batches wait for each, so memory stays bounded by the batch size.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
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
SINK_DEPTH = 2


class _Worker:
    """One thread applying ``work`` to each queued batch, in order. An error there is kept
    for the caller; the thread keeps draining its queue after one, so the caller can never
    block on a full queue."""

    def __init__(self, work: Callable[[pa.RecordBatch], object], name: str) -> None:
        self.work = work
        self.queue: queue.Queue[pa.RecordBatch | None] = queue.Queue(maxsize=SINK_DEPTH)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.queue.get()) is not None:
            if self.error is not None:
                continue
            try:
                self.work(batch)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                self.error = exc

    def stop(self) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()


class _Writer:
    """The curated Parquet writer, opened by its first batch (which picks the dictionary
    columns, see ``dictionary_columns``) — on the writing thread, not the caller's."""

    def __init__(self, out: Path, schema: pa.Schema) -> None:
        self.out, self.schema = out, schema
        self.writer: pq.ParquetWriter | None = None

    def write_batch(self, batch: pa.RecordBatch) -> None:
        (self.writer or self._open(batch)).write_batch(batch)

    def _open(self, first: pa.RecordBatch | None) -> pq.ParquetWriter:
        self.writer = pq.ParquetWriter(str(self.out), self.schema, compression=COMPRESSION,
                                       use_dictionary=dictionary_columns(first))
        return self.writer

    def close(self) -> None:
        """Close the file (a header-only one when no batch came)."""
        (self.writer or self._open(None)).close()


class _Sink:
    """Profile each batch on one thread and write it on another, while the caller reads,
    cleans and converts the next one. An error in either is raised in the caller at its
    next ``put`` or at ``close``."""

    def __init__(self, profiler: Profiler, writer: _Writer) -> None:
        self.workers = [_Worker(profiler.update, "peso-load-profile"),
                        _Worker(writer.write_batch, "peso-load-write")]

    def put(self, batch: pa.RecordBatch) -> None:
        self._raise()
        for worker in self.workers:
            worker.queue.put(batch)

    def close(self) -> None:
        """Wait until every batch is profiled and written; raise a worker's error, if any."""
        for worker in self.workers:
            worker.stop()
        self._raise()

    def _raise(self) -> None:
        for worker in self.workers:
            if worker.error is not None:
                raise worker.error


class Stages:
    def __init__(self, schema: pa.Schema, originals: list[str], notes: list[str | None],
                 plans: list[ColumnPlan] | None, out: Path, quarantine: Path,
                 opts: LoadOptions, contract: Any, shown: str) -> None:
        self.schema = _with_metadata(schema, originals, notes, plans)
        self.out, self.quarantine_path, self.opts, self.shown = out, quarantine, opts, shown
        self.writer = _Writer(out, self.schema)
        self.sink: _Sink | None = None
        self.quarantine: pq.ParquetWriter | None = None
        self.profiler = Profiler(self.schema)
        self.seen: set[int] | None = set() if opts.clean.drop_duplicates else None
        self.skipped = self.written = self.quarantined = 0
        self.validator: Any = None
        self.contract = contract
        if contract is not None:
            self.validator = Validator(contract, self.schema)
            decide(self.validator.report(), label=shown)   # stop early on schema failures

    def _open(self) -> _Sink:
        self.sink = _Sink(self.profiler, self.writer)
        return self.sink

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
        (self.sink or self._open()).put(batch)
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
        (self.sink or self._open()).close()
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
        if self.sink is not None:
            with contextlib.suppress(Exception):
                self.sink.close()
        for writer in (self.writer.writer, self.quarantine):
            if writer is not None:
                with contextlib.suppress(OSError, pa.ArrowException):
                    writer.close()  # a broken writer: its temp file is deleted just below
        self.out.unlink(missing_ok=True)
        self.quarantine_path.unlink(missing_ok=True)


def dictionary_columns(first: pa.RecordBatch | None) -> bool | list[str]:
    """The columns worth dictionary-encoding: those with at most half as many distinct values
    as rows in the first batch. Trying a dictionary on ids, amounts and free text only to fall
    back to plain costs ~25% of the write time and gives bigger files. Nested columns (and
    files with any) keep Parquet's default: a dictionary for every column."""
    if first is None or first.num_rows == 0:
        return True
    chosen = []
    for f, column in zip(first.schema, first.columns, strict=True):
        if pa.types.is_nested(f.type):
            return True
        try:
            distinct = pc.count_distinct(column, mode="all").as_py()
        except pa.ArrowNotImplementedError:
            distinct = 0
        if distinct <= first.num_rows // 2:
            chosen.append(f.name)
    return chosen


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
