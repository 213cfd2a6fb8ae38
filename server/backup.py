"""``peso export`` / ``peso import``: a catalog backup as plain files, and its restore.

An export folder holds::

    catalog.jsonl    every record of the graph store, one JSON object per line, in the
                     order ``export_records`` gives (dependency order; format in
                     ``server/storage/transfer.py``) — the same records ``peso migrate`` copies,
                     OpenLineage jobs, runs, column lineage, facets and events included
    objects.jsonl    the object manifest: {"key", "size", "sha256"} per object
    objects/<key>    the objects themselves (``--with-objects`` only)
    manifest.json    format, version, counts; written last, so its presence marks a whole
                     export

Format version 2 added the lineage record kinds (and ``job_id``/``run_id`` on ``lineage``
records); a version 1 export still imports, its edges without a job or run.

API tokens are credentials, not catalog content: they are not exported (their audit events
are); create new ones after a restore.

An import goes into an empty catalog only (one that holds nothing but, perhaps, the audit
events of creating tokens), else it is refused. Objects come first — copied from
``objects/`` with their sha256 checked, or, for an export without objects, found already in
the object store with the manifest's size — then records in batches, then the records are
verified against the export one by one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server import __version__
from server.errors import ConflictError, ValidationError
from server.ids import check_object_key
from server.storage.graph import GraphStore
from server.storage.objects import HashingReader, ObjectStore
from server.storage.transfer import RECORD_KINDS, complete, fingerprint, identity

FORMAT, FORMAT_VERSION = "peso-export", 2
READABLE_VERSIONS = (1, 2)   # what import_catalog reads (older records are ``complete``d)
CATALOG, MANIFEST, OBJECTS, OBJECT_DIR = "catalog.jsonl", "manifest.json", "objects.jsonl", \
    "objects"
BATCH_SIZE = 500
_CHUNK = 1 << 20

Say = Callable[[str], None]


@dataclass
class TransferReport:
    records: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_KINDS, 0))
    objects: int = 0
    object_bytes: int = 0
    problems: list[str] = field(default_factory=list)

    def lines(self, verb: str) -> list[str]:
        counts = ", ".join(f"{k} {n}" for k, n in self.records.items() if n)
        out = [f"{verb} {sum(self.records.values())} records ({counts or 'none'}) and "
               f"{self.objects} objects ({self.object_bytes} bytes)"]
        return out + [f"problem: {p}" for p in self.problems[:10]]


def _object_path(folder: Path, key: str) -> Path:
    base = (folder / OBJECT_DIR).resolve()
    path = (base / check_object_key(key)).resolve()
    if not path.is_relative_to(base):
        raise ValidationError(f"object key {key!r} leaves the export folder", field="key")
    return path


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _sha256_of(objects: ObjectStore, key: str, copy_to: Path | None) -> tuple[str, int]:
    """Read one object whole, hashing it (and writing it to ``copy_to``)."""
    digest, size = hashlib.sha256(), 0
    out = None
    if copy_to is not None:
        copy_to.parent.mkdir(parents=True, exist_ok=True)
        out = copy_to.open("wb")
    try:
        with objects.open_read(key) as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if out is not None:
                    out.write(chunk)
    finally:
        if out is not None:
            out.close()
    return digest.hexdigest(), size


async def export_catalog(graph: GraphStore, objects: ObjectStore, folder: Path, *,
                         with_objects: bool = False, say: Say | None = None) -> TransferReport:
    tell: Say = say or (lambda _: None)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConflictError(f"{folder} exists and is not an empty folder; export into a new "
                            "one", field="folder")
    folder.mkdir(parents=True, exist_ok=True)
    report = TransferReport()
    with (folder / CATALOG).open("w", encoding="utf-8") as out:
        async for record in graph.export_records():
            out.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
            report.records[record["record"]] += 1
    tell(f"records: {sum(report.records.values())}")
    listed = await asyncio.to_thread(lambda: list(objects.list()))
    with (folder / OBJECTS).open("w", encoding="utf-8") as out:
        for info in listed:
            target = _object_path(folder, info.key) if with_objects else None
            sha, size = await asyncio.to_thread(_sha256_of, objects, info.key, target)
            out.write(json.dumps({"key": info.key, "size": size, "sha256": sha}) + "\n")
            report.objects += 1
            report.object_bytes += size
    tell(f"objects: {report.objects} ({report.object_bytes} bytes"
         + (", copied)" if with_objects else ", manifest only)"))
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "peso": __version__,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "with_objects": with_objects, "records": report.records,
                "objects": report.objects, "object_bytes": report.object_bytes}
    _write_atomic(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return report


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                raise ValidationError(f"{path.name} line {number} is not JSON: {exc}") from exc
            if not isinstance(value, dict):
                raise ValidationError(f"{path.name} line {number} is not a JSON object")
            yield value


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError(f"{folder} holds no {MANIFEST}: not a (complete) Peso export",
                              field="folder") from exc
    except ValueError as exc:
        raise ValidationError(f"{folder / MANIFEST} is not JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or manifest.get("version") not in READABLE_VERSIONS:
        raise ValidationError(f"{folder} is not a Peso export of format version "
                              f"{' or '.join(map(str, READABLE_VERSIONS))}", field="folder")
    return manifest


async def catalog_is_empty(graph: GraphStore) -> bool:
    """Empty but for the audit events of creating or revoking API tokens."""
    async for record in graph.export_records():
        if record["record"] != "audit" or not str(record["action"]).startswith("token."):
            return False
    return True


def _restore_object(objects: ObjectStore, folder: Path, entry: dict[str, Any]) -> str | None:
    """Put one object (or check it is there); return a problem, or None."""
    key, size, sha = entry["key"], int(entry["size"]), str(entry["sha256"])
    source = _object_path(folder, key)
    if source.is_file():
        with source.open("rb") as fh:
            reader = HashingReader(fh)
            objects.put_stream(key, reader, size=size)  # type: ignore[arg-type]
        if reader.digest.hexdigest() != sha:
            objects.delete(key)
            return f"{key}: sha256 differs from the manifest (the export is damaged)"
        return None
    found = objects.stat(key)
    if found is None:
        return f"{key}: not in the export and not in the object store"
    if found.size != size:
        return f"{key}: the object store holds {found.size} bytes, the manifest says {size}"
    return None


async def import_catalog(graph: GraphStore, objects: ObjectStore, folder: Path, *,
                         say: Say | None = None) -> TransferReport:
    tell: Say = say or (lambda _: None)
    read_manifest(folder)
    if not await catalog_is_empty(graph):
        raise ConflictError("the target catalog is not empty; import into a new one "
                            "(a fresh PESO_DATA_DIR or database)")
    records = [complete(r) for r in _read_jsonl(folder / CATALOG)]
    entries = list(_read_jsonl(folder / OBJECTS))
    for entry in entries:  # every key is checked before anything is written
        check_object_key(str(entry.get("key", "")))
    report = TransferReport()
    problems = [p for p in [await asyncio.to_thread(_restore_object, objects, folder, e)
                            for e in entries] if p]
    if problems:
        report.problems = problems
        raise ConflictError(f"{len(problems)} objects could not be restored, so no record "
                            f"was imported: {'; '.join(problems[:3])}")
    report.objects = len(entries)
    report.object_bytes = sum(int(e["size"]) for e in entries)
    tell(f"objects: {report.objects} restored or found ({report.object_bytes} bytes)")
    for start in range(0, len(records), BATCH_SIZE):
        created = await graph.import_records(records[start:start + BATCH_SIZE])
        for kind, n in created.items():
            report.records[kind] += n
    if records:
        await graph.compact_search_index()
    held = {identity(r): fingerprint(r) async for r in graph.export_records()}
    bad = [identity(r) for r in records if held.get(identity(r)) != fingerprint(r)]
    if bad:
        report.problems.append(f"{len(bad)} records differ after the import, e.g. {bad[0][:3]}")
    tell(f"records: {sum(report.records.values())} imported, "
         f"{len(records) - len(bad)}/{len(records)} verified")
    return report
