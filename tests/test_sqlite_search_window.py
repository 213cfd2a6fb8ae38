"""Broad searches on SQLite rank only the SEARCH_WINDOW most recently registered matches
(scoring every match of a broad term is what made 100k-dataset searches slow); totalCount
still counts every match and pages stop at the window."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.storage.sqlite import datasets as sqlite_datasets
from server.storage.sqlite.store import SQLiteGraphStore


async def test_a_broad_query_ranks_the_most_recent_window(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_datasets, "SEARCH_WINDOW", 3)
    store = SQLiteGraphStore(str(tmp_path / "catalog.db"))
    await store.open()
    try:
        for i in range(10):
            await store.upsert_dataset(namespace="ads", name=f"campaign_{i}", actor="t",
                                       description="campaign")
        hits, total = await store.search("campaign", first=10)
        assert total == 10
        assert sorted(h.dataset.name for h in hits) == ["campaign_7", "campaign_8",
                                                        "campaign_9"]
        page, _ = await store.search("campaign", first=10, offset=2)
        assert len(page) == 1
        beyond, total = await store.search("campaign", first=10, offset=3)
        assert (beyond, total) == ([], 10)
        narrow, total = await store.search("campaign_4", first=10)
        assert ([h.dataset.name for h in narrow], total) == (["campaign_4"], 1)
    finally:
        await store.close()
