"""``peso migrate`` SQLite → Neo4j and Neo4j → SQLite on a live Neo4j (the one `.ci/run` starts
with tools/neo4j, named by PESO_TEST_NEO4J_*): the fixed query set of tests/test_migrate.py
gives identical GraphQL answers before and after each way, and a re-run copies nothing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from server.migrate import MigrationReport, migrate
from server.storage.graph import GraphStore
from server.storage.local import LocalObjectStore
from server.storage.neo4j.store import Neo4jGraphStore
from server.storage.sqlite.store import SQLiteGraphStore
from tests.contract.conftest import wipe_neo4j
from tests.test_migrate import (
    QUERIES,
    _answers,
    _assert_complete,
    _assert_lineage_answers,
    source,
    source_root,
)

__all__ = ["source", "source_root"]  # fixtures used by name below


SEARCHES = [i for i, (query, _) in enumerate(QUERIES) if query.startswith("query { search(")]


def _hits(answer: dict[str, Any]) -> tuple[int, set[str]]:
    found = answer["search"]
    return found["totalCount"], {e["node"]["id"] for e in found["edges"]}


def _without(answers: list[Any], skip: list[int]) -> list[Any]:
    return [a for i, a in enumerate(answers) if i not in skip]


def _neo4j() -> Neo4jGraphStore:
    uri = os.environ.get("PESO_TEST_NEO4J_URI")
    if not uri:
        pytest.skip("the Neo4j migration tests need PESO_TEST_NEO4J_URI (tools/neo4j/neo4j-local "
                    "start, then . tools/neo4j/neo4j.env)")
    return Neo4jGraphStore(uri, user=os.environ.get("PESO_TEST_NEO4J_USER", "neo4j"),
                           password=os.environ.get("PESO_TEST_NEO4J_PASSWORD", "neo4j"),
                           database=os.environ.get("PESO_TEST_NEO4J_DATABASE", "neo4j"))


async def _wipe() -> None:
    store = _neo4j()
    await store.open()
    try:
        await wipe_neo4j(store)
    finally:
        await store.close()


async def _copy(src_graph: GraphStore, dst_graph: GraphStore, src_objects: Path,
                dst_objects: Path) -> MigrationReport:
    so, do = LocalObjectStore(src_objects), LocalObjectStore(dst_objects)
    await src_graph.open()
    await dst_graph.open()
    so.open()
    do.open()
    try:
        return await migrate(src_graph, dst_graph, so, do)
    finally:
        so.close()
        do.close()
        await dst_graph.close()
        await src_graph.close()


def test_sqlite_to_neo4j_and_back_give_identical_answers(source: Path, tmp_path: Path) -> None:
    neo_objects, back = tmp_path / "neo-objects", tmp_path / "back"
    asyncio.run(_wipe())
    sqlite_src = source / "catalog.db"
    first = asyncio.run(_copy(SQLiteGraphStore(str(sqlite_src)), _neo4j(), source / "objects",
                              neo_objects))
    _assert_complete(first, copied=True)
    again = asyncio.run(_copy(SQLiteGraphStore(str(sqlite_src)), _neo4j(), source / "objects",
                              neo_objects))
    _assert_complete(again, copied=False)

    before = _answers(tmp_path / "a", SQLiteGraphStore(str(sqlite_src)),
                      LocalObjectStore(source / "objects"))
    on_neo4j = _answers(tmp_path / "b", _neo4j(), LocalObjectStore(neo_objects))
    # relevance scores are the backend's own (Lucene's vs SQLite FTS5's bm25), and so is the
    # order among near-ties: the search answers must agree as sets, ordered by their own score
    assert len(SEARCHES) == 2
    for i in SEARCHES:
        assert _hits(on_neo4j[i]) == _hits(before[i])
        scores = [e["score"] for e in on_neo4j[i]["search"]["edges"]]
        assert scores == sorted(scores, reverse=True)
        assert scores[0] > 0
    assert _without(on_neo4j, SEARCHES) == _without(before, SEARCHES)
    assert before[0]["datasets"]["totalCount"] >= 8
    assert before[len(QUERIES) - 1]["dataset"] is None
    _assert_lineage_answers(on_neo4j)

    home = asyncio.run(_copy(_neo4j(), SQLiteGraphStore(str(back / "catalog.db")), neo_objects,
                             back / "objects"))
    _assert_complete(home, copied=True)
    after: list[Any] = _answers(tmp_path / "c", SQLiteGraphStore(str(back / "catalog.db")),
                                LocalObjectStore(back / "objects"))
    assert after == before  # back on SQLite: bm25 scores and their order return too
    asyncio.run(_wipe())
