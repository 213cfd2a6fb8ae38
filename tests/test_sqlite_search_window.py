"""Broad searches on SQLite rank only the SEARCH_WINDOW most recently registered matches
(scoring every match of a broad term is what made 100k-dataset searches slow); totalCount
still counts every match and pages stop at the window."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from server.models import DatasetLayer
from server.storage.graph import RAW_SEARCH_WEIGHT
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


# every match weighted, then sorted: what sql.SEARCH answers with its bound on plain scores
REFERENCE = f"""SELECT d.namespace, d.name, bm25(dataset_fts, 2.0, 10.0, 3.0, 5.0, 2.0) * (
    CASE d.layer WHEN 'raw' THEN {RAW_SEARCH_WEIGHT} ELSE 1.0 END) AS score
FROM dataset_fts JOIN datasets d ON d.rid = dataset_fts.rowid
WHERE dataset_fts MATCH ? AND d.deleted_at IS NULL
ORDER BY score, d.namespace, d.name LIMIT ? OFFSET ?"""


async def test_ranking_equals_weighting_every_match(tmp_path: Path) -> None:
    """Raw and curated datasets with the same text (ties across layers), stronger and weaker
    matches, one deleted: every page is the reference ranking's page."""
    path = tmp_path / "catalog.db"
    store = SQLiteGraphStore(str(path))
    await store.open()
    try:
        for i in range(40):
            words = " ".join(["campaign"] * (1 + i % 4) + ["spend"] * (i % 3) + ["other"] * (i % 6))
            layer = DatasetLayer.RAW if i % 3 == 0 else DatasetLayer.CURATED
            await store.upsert_dataset(namespace=f"ns{i % 5}", name=f"set_{i % 7}_{i}",
                                       layer=layer, description=words, actor="t")
        await store.delete_dataset("ns1", "set_1_1", actor="t")
        with sqlite3.connect(path) as c:
            for query, fts in (("campaign", '"campaign"*'), ("campaign spend",
                                                             '"campaign"* "spend"*')):
                for first, offset in ((1, 0), (5, 0), (5, 3), (10, 10), (7, 30), (20, 35)):
                    want = [(ns, name, round(score, 9)) for ns, name, score in c.execute(
                        REFERENCE, (fts, first, offset))]
                    hits, _ = await store.search(query, first=first, offset=offset)
                    got = [(h.dataset.namespace, h.dataset.name, round(-h.score, 9))
                           for h in hits]
                    assert got == want, (query, first, offset)
                    if offset < 30:
                        assert got   # the pages compared are not empty
    finally:
        await store.close()
