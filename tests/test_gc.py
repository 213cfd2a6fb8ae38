"""`peso gc` (server/gc.py) against real stores: what counts as an orphan, the grace period,
the share guard, dry runs, and what is never touched."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.gc import collect_garbage
from server.models import FieldSpec, NewVersion
from server.storage.local import LocalObjectStore
from server.storage.sqlite.store import SQLiteGraphStore


def put(objects: LocalObjectStore, key: str, tmp: Path, age_seconds: float = 7200) -> None:
    src = tmp / "src.bin"
    src.write_bytes(key.encode())
    objects.put_file(key, str(src))
    stamp = time.time() - age_seconds
    os.utime(objects.root / key, (stamp, stamp))


@pytest.fixture
async def stores(tmp_path: Path) -> tuple[SQLiteGraphStore, LocalObjectStore]:
    graph = SQLiteGraphStore(str(tmp_path / "catalog.db"))
    await graph.open()
    objects = LocalObjectStore(tmp_path / "objects")
    objects.open()
    await graph.register_versions([NewVersion(
        namespace="crm", name="kept", content_hash="h", row_count=1, byte_size=1,
        fields=[FieldSpec("id", "int64")], raw_key="raw/crm/kept/v1/a.csv",
        curated_key="curated/crm/kept/v1/part-0.parquet")], actor="test")
    for key in ("raw/crm/kept/v1/a.csv", "curated/crm/kept/v1/part-0.parquet"):
        put(objects, key, tmp_path)
    yield graph, objects
    await graph.close()


async def test_orphans_grace_and_never_touched(stores: tuple[SQLiteGraphStore, LocalObjectStore],
                                               tmp_path: Path) -> None:
    graph, objects = stores
    put(objects, "raw/crm/lost/v9/a.csv", tmp_path)                       # an orphan
    put(objects, "curated/crm/new/v2/part-0.parquet", tmp_path, age_seconds=5)   # in flight
    put(objects, "rejected/crm/bad/v3/a.csv", tmp_path)                   # kept on purpose
    stale = objects.root / "raw" / ".peso-tmp-killed"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200,) * 2)
    dry = await collect_garbage(graph, objects, grace_seconds=3600, max_share=0.5)
    assert [o.key for o in dry.orphans] == ["raw/crm/lost/v9/a.csv"]
    assert (dry.considered, dry.referenced, dry.young, dry.deleted) == (4, 2, 1, 0)
    assert dry.dry_run
    assert dry.ok
    assert dry.temp_files == [str(stale)]
    assert "would delete 1 orphaned objects" in "\n".join(dry.lines())
    done = await collect_garbage(graph, objects, grace_seconds=3600, max_share=0.5,
                                 delete=True)
    assert done.deleted == 1
    assert not stale.exists()
    assert objects.stat("raw/crm/lost/v9/a.csv") is None
    for key in ("curated/crm/new/v2/part-0.parquet", "rejected/crm/bad/v3/a.csv",
                "raw/crm/kept/v1/a.csv", "curated/crm/kept/v1/part-0.parquet"):
        assert objects.stat(key) is not None, key


async def test_the_share_guard(stores: tuple[SQLiteGraphStore, LocalObjectStore],
                               tmp_path: Path) -> None:
    graph, objects = stores
    for i in range(3):
        put(objects, f"raw/crm/lost/v{i}/a.csv", tmp_path)
    # 3 orphans of 5 objects = 60% > 50%
    refused = await collect_garbage(graph, objects, grace_seconds=0, max_share=0.5,
                                    delete=True)
    assert refused.refused
    assert not refused.ok
    assert refused.deleted == 0
    assert "PESO_GC_MAX_SHARE" in (refused.over_share or "")
    assert len(list(objects.list("raw/crm/lost/"))) == 3
    allowed = await collect_garbage(graph, objects, grace_seconds=0, max_share=0.6,
                                    delete=True)
    assert allowed.deleted == 3
    forced_nothing = await collect_garbage(graph, objects, grace_seconds=0, max_share=0.0,
                                           delete=True, force=True)
    assert forced_nothing.deleted == 0
    assert forced_nothing.referenced == 2


async def test_a_catalog_pointed_at_the_wrong_objects_deletes_nothing(
        tmp_path: Path) -> None:
    empty = SQLiteGraphStore(str(tmp_path / "other.db"))
    await empty.open()
    try:
        objects = LocalObjectStore(tmp_path / "objects")
        objects.open()
        for i in range(4):
            put(objects, f"curated/crm/d{i}/v/part-0.parquet", tmp_path)
        report = await collect_garbage(empty, objects, grace_seconds=0, max_share=0.5,
                                       delete=True)
        assert report.refused
        assert len(list(objects.list())) == 4
    finally:
        await empty.close()


async def test_scratch_files_of_killed_loads(stores: tuple[SQLiteGraphStore, LocalObjectStore],
                                             tmp_path: Path) -> None:
    graph, objects = stores
    scratch = tmp_path / "tmp"
    (scratch / "peso-load-abc").mkdir(parents=True)
    (scratch / "peso-load-abc" / "curated.parquet").write_bytes(b"x")
    (scratch / "peso-upload-def").write_bytes(b"y")
    (scratch / "unrelated.txt").write_bytes(b"z")
    old = (datetime.now(UTC) - timedelta(hours=3)).timestamp()
    for p in scratch.iterdir():
        os.utime(p, (old, old))
    report = await collect_garbage(graph, objects, grace_seconds=60, max_share=0.5,
                                   delete=True, scratch=scratch)
    assert len(report.scratch) == 2
    assert sorted(p.name for p in scratch.iterdir()) == ["unrelated.txt"]
