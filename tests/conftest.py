"""Shared fixtures: real stores on real files in a temp folder, the real ASGI app over HTTP.

Nothing here mocks a store. ``CountingGraphStore`` only counts calls on its way to the real
SQLite store, so tests can assert how many store round trips a query costs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.local import LocalObjectStore
from server.storage.sqlite.store import SQLiteGraphStore

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
MARKETING = CORPUS / "marketing"
BANK_CSV = MARKETING / "uci_bank_marketing__bank.csv"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(),
                                  reason=f"shared corpus not found at {CORPUS}")


def make_settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"PESO_DATA_DIR": str(tmp_path / "peso-data"), **env})


class CountingGraphStore:
    """Delegates every call to a real graph store, counting calls by method name."""

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)
        return counted


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app (embedded SQLite + local folder in a temp dir) behind an HTTP client."""
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def counting_client(settings: Settings) -> Iterator[tuple[TestClient, CountingGraphStore]]:
    graph = CountingGraphStore(SQLiteGraphStore(str(settings.data_dir / "catalog.db")))
    objects = LocalObjectStore(settings.data_dir / "objects")
    app = create_app(settings, graph=graph, objects=objects)  # type: ignore[arg-type]
    with TestClient(app) as c:
        yield c, graph


def gql(client: TestClient, query: str, variables: dict[str, Any] | None = None,
        **headers: str) -> dict[str, Any]:
    """POST a GraphQL document; assert HTTP 200 and return the JSON body."""
    response = client.post("/graphql", json={"query": query, "variables": variables or {}},
                           headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
