"""The collector: accepts checked batches into the WAL, flushes them as Parquet parts and
registers each flush as a new version of the dataset (see ``server/collect/__init__``).

A collected dataset's versions all point at one folder of parts, ``collected/<ns>/<name>``
(the ``curatedKey``); version N covers every event stored up to its flush, so
``latestVersion.rowCount`` counts them all. Its fields carry the profile of the flush that
made it (the version's ``changes.collected`` says how many rows that was). Registering takes
the lease ``collect:<ns>/<name>`` in the graph store, so processes flushing the same dataset
take turns and their running totals add up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from loaders.contract import Contract, Validator, parse_contract
from loaders.profile import Profiler
from loaders.semantic import hint
from server import metrics
from server.collect import records, wal
from server.collect.parts import FOLDER, folder_key
from server.errors import ConflictError, PesoError, ValidationError
from server.ids import check_name, check_namespace, object_key
from server.models import DatasetLayer, DatasetVersion, FieldSpec, NewVersion
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

log = logging.getLogger("peso.collect")

FORMAT = "jsonl"
LEASE_SECONDS = 120.0
REGISTERED_LOOKBACK = 50   # versions searched for a flush already registered (recovery)


class BufferFull(PesoError):
    """Too many events wait for a flush in this process (HTTP 429)."""

    code = "BUFFER_FULL"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class _State:
    """One dataset, in this process."""

    journal: wal.Journal
    frozen: records.FrozenSchema | None = None
    contract: Contract | None = None
    contract_doc: dict[str, Any] | None = None   # as stored, to notice a change
    validator: Validator | None = None
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending_rows: int = 0
    oldest: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    flush_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_error: str | None = None


def _lease(journal: wal.Journal) -> str:
    """The graph-store lease a flush of this journal's dataset holds."""
    return f"collect:{journal.namespace}/{journal.name}"


class Collector:
    def __init__(self, settings: Settings, graph: GraphStore, objects: ObjectStore) -> None:
        self.settings, self.graph, self.objects = settings, graph, objects
        self.wal = wal.Wal(settings.data_dir / "collect")
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._states: dict[tuple[str, str], _State] = {}
        self._state_lock = asyncio.Lock()
        self._buffered = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False   # stop() asked the flush loop to end
        self.started = False

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.wal.open)
        previous = await asyncio.to_thread(self.wal.swap_holder, self.holder)
        self.started = True
        for journal in list(self.wal.journals()):
            try:
                state = await self._load(journal)
            except PesoError as exc:   # left in the WAL, said out loud
                log.error("collect: cannot recover %s/%s from %s: %s", journal.namespace,
                          journal.name, journal.folder, exc.message)
                continue
            self._states[(journal.namespace, journal.name)] = state
            if previous is not None:   # killed mid-flush: its lease would stall ours ~40 s
                await self.graph.release_lease(_lease(journal), previous)
        await self.flush_all(reason="recovery")
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="peso-collect-flush")

    async def stop(self) -> None:
        if not self.started:
            return
        if self._task is not None:
            # ask the loop to end and wait for it, never cancel it mid-flush: a flush's steps
            # run in threads that a cancel does not stop, and the shutdown flush below would
            # race them over the same WAL files (seen in CI as a FileNotFoundError on a batch
            # the loop's flush had just removed, and the rest left unflushed until restart)
            self._stopping = True
            self._wake.set()
            with contextlib.suppress(asyncio.CancelledError):   # cancelled from outside
                await self._task
            self._task = None
        try:
            await self.flush_all(reason="shutdown")
        finally:
            self.started = False
            self.wal.close()

    async def flush_all(self, *, reason: str) -> None:
        for state in list(self._states.values()):
            if state.pending_rows or state.journal.open_flushes() or state.journal.batches():
                try:
                    await self.flush(state)
                except PesoError as exc:   # kept in the WAL: flushed at the next chance
                    state.last_error = exc.message
                    log.error("collect: %s flush of %s/%s failed: %s", reason,
                              state.journal.namespace, state.journal.name, exc.message)

    async def _loop(self) -> None:
        tick = min(1.0, self.settings.collect_flush_seconds / 2)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), tick)
            self._wake.clear()
            if self._stopping:   # stop() set it and woke us; a flush under way has finished
                return
            now = time.monotonic()
            for state in list(self._states.values()):
                due = state.pending_rows >= self.settings.collect_flush_rows or (
                    state.oldest is not None
                    and now - state.oldest >= self.settings.collect_flush_seconds)
                if not due:
                    continue
                try:
                    await self.flush(state)
                    state.last_error = None
                except Exception as exc:  # the loop must outlive any one flush: logged, retried
                    state.last_error = str(exc)
                    log.exception("collect: flush of %s/%s failed (kept in the WAL; retried)",
                                  state.journal.namespace, state.journal.name)

    # --- accepting -------------------------------------------------------------------------

    async def accept(self, namespace: str, name: str, body: bytes, *,
                     idempotency_key: str | None, actor: str) -> dict[str, Any]:
        """Check and durably store one batch; the reply says what was kept and refused.
        ValidationError for a body with no records to check (kept in ``rejected/``)."""
        if not self.started:
            raise PesoError("the collector is not running (the app's lifespan did not start)")
        namespace, name = check_namespace(namespace), check_name(name)
        if self._buffered >= self.settings.collect_buffer_rows:
            retry = max(1, int(self.settings.collect_flush_seconds / 2) or 1)
            raise BufferFull(f"{self._buffered} events wait to be written; the limit is "
                             f"{self.settings.collect_buffer_rows} (PESO_COLLECT_BUFFER_ROWS)",
                             retry)
        state = await self._state(namespace, name)
        await self._refresh_contract(state)
        key = wal.key_id(idempotency_key) if idempotency_key else None
        if key is not None and key in state.keys:
            return self._answer(state.keys[key], replayed=True)
        reply = await asyncio.to_thread(self._commit, state, body, key, actor)
        if reply.get("replayed"):
            return self._answer(reply, replayed=True)
        self._buffered += reply["accepted"]
        if state.pending_rows >= self.settings.collect_flush_rows:
            self._wake.set()
        return self._answer(reply, replayed=False)

    def _answer(self, reply: dict[str, Any], *, replayed: bool) -> dict[str, Any]:
        metrics.record_collected(reply["accepted"], reply["rejected"], replayed=replayed,
                                 buffered=self._buffered)
        return _public(reply, replayed=replayed)

    def _commit(self, state: _State, body: bytes, key: str | None,
                actor: str) -> dict[str, Any]:
        with state.lock:
            if key is not None and key in state.keys:   # a concurrent replay won
                return {**state.keys[key], "replayed": True}
            received = datetime.now(UTC)
            batch = wal.new_batch_id(key)
            try:
                lines = records.split_body(body)
            except ValidationError as exc:
                kept = self._keep_rejected(state, received, batch, [], body, exc.message)
                raise ValidationError(f"{exc.message}; nothing was stored, the body is kept "
                                      f"(reasons at {kept})", field="body") from exc
            if len(lines) > self.settings.collect_max_records:
                raise ValidationError(
                    f"{len(lines)} records in one request; the limit is "
                    f"{self.settings.collect_max_records} (PESO_COLLECT_MAX_RECORDS)",
                    field="body")
            if state.frozen is None:
                self._freeze(state, lines)
            assert state.frozen is not None
            checked = records.check(lines, state.frozen, state.validator)
            rejected_key = None
            if checked.refused:
                rejected_key = self._keep_rejected(state, received, batch, checked.refused)
            reply = {"batch": batch, "key": key, "accepted": checked.rows,
                     "rejected": len(checked.refused), "rejected_key": rejected_key,
                     "received_at": received.isoformat(), "actor": actor,
                     "reasons": [r.as_dict() for r in checked.refused[:5]]}
            state.journal.commit(reply, checked.lines)
            if key is not None:
                state.keys[key] = reply
            if checked.rows:
                state.pending_rows += checked.rows
                if state.oldest is None:
                    state.oldest = time.monotonic()
            return reply

    def _freeze(self, state: _State, lines: Sequence[bytes]) -> None:
        state.frozen = records.freeze(lines, state.contract)
        if state.contract is not None:
            state.validator = Validator(state.contract, state.frozen.schema)
        state.journal.meta.update(schema=state.frozen.serialize(), origin=state.frozen.origin)
        state.journal.save_meta()

    def _keep_rejected(self, state: _State, received: datetime, batch: str,
                       refused: Sequence[records.Refused], body: bytes | None = None,
                       reason: str | None = None) -> str:
        """Store what was refused under ``rejected/collect/…`` (the whole body when it could
        not be read as records); return the key of the reasons file."""
        j = state.journal
        base = object_key("rejected", "collect", j.namespace, j.name,
                          received.strftime("dt=%Y-%m-%d"), received.strftime("hour=%H"), batch)
        lines = [r.as_dict() for r in refused]
        if body is not None:
            body_key = self._put(base + ".body", body)
            lines = [{"record": None, "reason": reason, "body_key": body_key}]
        text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
        return self._put(base + ".jsonl", text.encode())

    def _put(self, key: str, data: bytes) -> str:
        self.objects.put_stream(key, io.BytesIO(data), size=len(data))
        return key

    # --- per-dataset state -----------------------------------------------------------------

    async def _state(self, namespace: str, name: str) -> _State:
        found = self._states.get((namespace, name))
        if found is not None:
            return found
        async with self._state_lock:
            found = self._states.get((namespace, name))
            if found is None:
                journal = await asyncio.to_thread(self.wal.journal, namespace, name)
                found = await self._load(journal)
                self._states[(namespace, name)] = found
            return found

    async def _refresh_contract(self, state: _State) -> None:
        """Follow a contract set or changed since this process first saw the dataset: its
        rules apply from the next batch on (the frozen schema stays as it is)."""
        j = state.journal
        dataset = await self.graph.get_dataset(j.namespace, j.name)
        doc = dataset.contract if dataset is not None else None
        if doc == state.contract_doc:
            return
        contract = parse_contract(doc, label=f"contract of {j.namespace}/{j.name}") \
            if doc else None
        with state.lock:
            state.contract_doc, state.contract = doc, contract
            state.validator = (Validator(contract, state.frozen.schema)
                               if contract is not None and state.frozen is not None else None)

    async def _load(self, journal: wal.Journal) -> _State:
        """A dataset's state: its frozen schema (from the WAL, else its collected versions,
        else frozen at its first batch) and contract, and the idempotency keys it knows."""
        state = _State(journal)
        dataset = await self.graph.get_dataset(journal.namespace, journal.name)
        if dataset is not None and dataset.contract:
            state.contract_doc = dataset.contract
            state.contract = parse_contract(dataset.contract,
                                            label=f"contract of {journal.namespace}/"
                                                  f"{journal.name}")
        latest = (await self.graph.get_latest_versions([dataset.id]))[0] if dataset else None
        if latest is not None and not _collected(latest):
            raise ConflictError(f"dataset {journal.namespace}/{journal.name} was loaded, not "
                                "collected: post events to a dataset of their own",
                                field="name")
        if journal.meta.get("schema"):
            state.frozen = records.FrozenSchema.deserialize(journal.meta["schema"],
                                                            journal.meta.get("origin", ""))
        elif latest is not None:
            info = _collected(latest)
            state.frozen = records.FrozenSchema.deserialize(info["schema"], info["origin"])
        if state.frozen is not None and state.contract is not None:
            state.validator = Validator(state.contract, state.frozen.schema)
        ttl = self.settings.collect_key_ttl_hours * 3600.0
        state.keys = await asyncio.to_thread(journal.flushed_keys, ttl)
        await asyncio.to_thread(journal.drop_temporaries)
        for batch in await asyncio.to_thread(journal.batches):
            if batch.meta.get("key"):
                state.keys[batch.meta["key"]] = batch.meta
            state.pending_rows += batch.meta["accepted"]
        if state.pending_rows:
            state.oldest = time.monotonic()
        self._buffered += state.pending_rows
        return state

    # --- flushing --------------------------------------------------------------------------

    async def flush(self, state: _State) -> DatasetVersion | None:
        """Write what waits for ``state``'s dataset as Parquet and register a version;
        finish first any flush a killed process left half-done."""
        async with state.flush_lock:
            version = None
            for manifest in await asyncio.to_thread(state.journal.open_flushes):
                version = await self._finish(state, manifest)
            batches = await asyncio.to_thread(state.journal.batches)
            if not batches:
                return version
            manifest = {"flush": uuid.uuid4().hex, "files": [b.path.name for b in batches]}
            await asyncio.to_thread(state.journal.begin_flush, manifest)
            return await self._finish(state, manifest)

    async def _finish(self, state: _State, manifest: dict[str, Any]) -> DatasetVersion | None:
        j = state.journal
        names = set(manifest["files"])
        batches = [b for b in await asyncio.to_thread(j.batches) if b.path.name in names]
        rows = sum(b.meta["accepted"] for b in batches)
        version = await self._registered(j.namespace, j.name, manifest["flush"])
        if version is None and rows:
            version = await self._write_and_register(state, manifest["flush"], batches)
        await asyncio.to_thread(j.end_flush, manifest, [b.meta for b in batches])
        with state.lock:   # _commit (in a thread) adds to the same counters
            state.pending_rows -= rows
            if state.pending_rows <= 0:
                state.pending_rows, state.oldest = 0, None
        self._buffered -= rows
        return version

    async def _registered(self, namespace: str, name: str, flush: str) -> DatasetVersion | None:
        dataset = await self.graph.get_dataset(namespace, name)
        if dataset is None:
            return None
        for version in (await self.graph.list_versions([dataset.id]))[0][:REGISTERED_LOOKBACK]:
            if _collected(version).get("flush") == flush:
                return version
        return None

    async def _write_and_register(self, state: _State, flush: str,
                                  batches: list[wal.Batch]) -> DatasetVersion:
        assert state.frozen is not None
        j = state.journal
        parts = await asyncio.to_thread(self._write_parts, state, flush, batches)
        holder, lease = self.holder, _lease(j)
        for attempt in range(50):
            if await self.graph.acquire_lease(lease, holder, LEASE_SECONDS):
                break
            await asyncio.sleep(min(0.05 * (attempt + 1), 1.0))
        else:
            raise ConflictError(f"another process holds {lease} for too long; the flush "
                                "stays in the WAL and is retried")
        try:
            dataset = await self.graph.get_dataset(j.namespace, j.name)
            previous = ((await self.graph.get_latest_versions([dataset.id]))[0]
                        if dataset is not None else None)
            rows = sum(p["rows"] for p in parts["parts"])
            size = sum(p["bytes"] for p in parts["parts"])
            before = previous.content_hash if previous else ""
            item = NewVersion(
                namespace=j.namespace, name=j.name,
                content_hash=hashlib.sha256(f"{before}:{flush}".encode()).hexdigest(),
                row_count=(previous.row_count if previous else 0) + rows,
                byte_size=(previous.byte_size if previous else 0) + size,
                fields=parts["fields"], curated_key=folder_key(j.namespace, j.name),
                format=FORMAT, layer=DatasetLayer.CURATED,
                description=None if previous else (
                    f"Events collected at /api/v1/collect/{j.namespace}/{j.name}."),
                changes={"collected": {
                    "flush": flush, "rows": rows, "bytes": size, "batches": len(batches),
                    "parts": [p["key"] for p in parts["parts"]],
                    "schema": state.frozen.serialize(), "origin": state.frozen.origin,
                    "profile": f"the fields' profile covers this flush's {rows} rows"}})
            registered = await self.graph.register_versions([item], actor="collector")
            return registered[0].version
        finally:
            await self.graph.release_lease(lease, holder)

    def _write_parts(self, state: _State, flush: str,
                     batches: list[wal.Batch]) -> dict[str, Any]:
        """One Parquet part per receiving hour; the fields with this flush's profile."""
        assert state.frozen is not None
        schema, j = state.frozen.schema, state.journal
        by_hour: dict[tuple[str, str], list[bytes]] = {}
        for b in batches:
            at = datetime.fromisoformat(b.meta["received_at"])
            by_hour.setdefault((at.strftime("%Y-%m-%d"), at.strftime("%H")), []).extend(b.lines)
        profiler = Profiler(schema)
        parts = []
        tmp = self.settings.data_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        for i, ((day, hour), lines) in enumerate(sorted(by_hour.items())):
            if not lines:
                continue
            table = records.read(lines, schema)
            profiler.update(table)
            key = object_key(FOLDER, j.namespace, j.name, f"dt={day}", f"hour={hour}",
                             f"part-{flush}-{i}.parquet")
            fd, path = tempfile.mkstemp(prefix="peso-load-collect-", suffix=".parquet",
                                        dir=tmp)
            os.close(fd)
            try:
                pq.write_table(table, path, compression="zstd")
                info = self.objects.put_file(key, path)
            finally:
                Path(path).unlink(missing_ok=True)
            parts.append({"key": key, "rows": table.num_rows, "bytes": info.size})
        profile, samples = profiler.result(), profiler.samples()
        fields = []
        for f in schema:
            stats = profile.get(f.name, {})
            semantic, pii = hint(f.name, f.type, samples.get(f.name, []), stats, {})
            fields.append(FieldSpec(name=f.name, arrow_type=str(f.type), nullable=True,
                                    semantic_type=semantic, pii=pii, stats=stats))
        return {"parts": parts, "fields": fields}

    # --- for health and tests ----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {"buffered": self._buffered, "folder": str(self.wal.folder),
                "datasets": {f"{ns}/{n}": {"pending": s.pending_rows, "error": s.last_error}
                             for (ns, n), s in self._states.items()}}


def _collected(version: DatasetVersion) -> dict[str, Any]:
    info = (version.changes or {}).get("collected")
    return info if isinstance(info, dict) else {}


def _public(reply: dict[str, Any], *, replayed: bool) -> dict[str, Any]:
    return {"batch": reply["batch"], "accepted": reply["accepted"],
            "rejected": reply["rejected"], "rejectedKey": reply.get("rejected_key"),
            "reasons": reply.get("reasons", []), "replayed": replayed}


