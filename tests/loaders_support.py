"""Shared by the tests/test_loaders_*.py modules (not a test module): real stores in a temp
folder, one call to load a file through the real pipeline, and the check that a refused load
left nothing behind (no dataset, no audit event, no object, no temp file)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loaders.options import LoadOptions
from loaders.pipeline import LoadRequest, LoadResult, load_file
from server.models import DatasetFilter, PageRequest, SchemaField
from server.storage.local import LocalObjectStore
from server.storage.sqlite.store import SQLiteGraphStore


@dataclass
class Stores:
    graph: SQLiteGraphStore
    objects: LocalObjectStore
    tmp: Path

    async def load(self, path: Path, namespace: str = "t", name: str = "data", *,
                   options: LoadOptions | None = None, contract: dict[str, Any] | None = None,
                   original_name: str | None = None, keep_rejected: bool = False,
                   source: str | None = None) -> LoadResult:
        req = LoadRequest(path=path, namespace=namespace, name=name,
                          options=options or LoadOptions(), contract=contract,
                          original_name=original_name, keep_rejected=keep_rejected,
                          source=source)
        return await load_file(req, graph=self.graph, objects=self.objects, actor="test",
                               tmp_dir=self.tmp)

    async def fields(self, result: LoadResult) -> list[SchemaField]:
        [fields] = await self.graph.get_fields([result.curated.version.id])
        return fields

    async def types(self, result: LoadResult) -> dict[str, str]:
        return {f.name: f.arrow_type for f in await self.fields(result)}

    def object_keys(self) -> list[str]:
        return sorted(o.key for o in self.objects.list())

    async def assert_nothing_left(self) -> None:
        page = await self.graph.list_datasets(DatasetFilter(), PageRequest(first=10))
        assert page.total == 0
        assert await self.graph.list_audit(limit=10) == []
        assert files_under(self.objects.root) == []
        assert files_under(self.tmp) == []


def files_under(root: Path) -> list[str]:
    """Every file below ``root`` (temp files included), relative, sorted."""
    return sorted(str(Path(d, f).relative_to(root)) for d, _, fs in os.walk(root) for f in fs)


@contextlib.asynccontextmanager
async def open_stores(root: Path) -> AsyncIterator[Stores]:
    graph = SQLiteGraphStore(str(root / "catalog.db"))
    objects = LocalObjectStore(root / "objects")
    await graph.open()
    objects.open()
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    try:
        yield Stores(graph, objects, tmp)
    finally:
        objects.close()
        await graph.close()
