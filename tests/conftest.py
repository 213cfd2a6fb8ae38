"""Shared fixtures: real stores on real files in a temp folder, the real ASGI app over HTTP.

Nothing here mocks a store. ``CountingGraphStore`` only counts calls on its way to the real
SQLite store, so tests can assert how many store round trips a query costs.

Writes over HTTP need an API token (server/auth.py): ``client`` (and ``app_client``) send an
admin token with the pii permission, minted in the test's own store; ``anon_client`` sends
none, and ``client_as(client, role)`` returns a client with a fresh token of that role.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.auth import create_token
from server.models import Role
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.local import LocalObjectStore
from server.storage.sqlite.store import SQLiteGraphStore
from tests.s3server import S3Endpoint, drop_bucket, fresh_bucket, s3_server  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
MARKETING = CORPUS / "marketing"
BANK_CSV = MARKETING / "uci_bank_marketing__bank.csv"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(),
                                  reason=f"shared corpus not found at {CORPUS}")


def make_settings(tmp_path: Path, **env: str) -> Settings:
    # semantic search (peso[semantic] is in dev) is opted into by the tests that test it
    return Settings.from_env({"PESO_DATA_DIR": str(tmp_path / "peso-data"),
                              "PESO_SEMANTIC_SEARCH": "off", **env})


class CountingGraphStore:
    """Delegates every call to a real graph store, counting calls by method name (except the
    per-request token look-up of authentication, which no resolver makes)."""

    UNCOUNTED = frozenset({"get_token"})

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            if name not in self.UNCOUNTED:
                self.calls[name] += 1
            return attr(*args, **kwargs)
        return counted


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def mint(client: TestClient, role: Role | str, *, pii: bool = False,
         name: str | None = None) -> str:
    """Create an API token in the (entered) client's own store; return the token."""
    assert client.portal is not None, "use the client inside its `with` block"
    role = Role(role)
    graph = client.app.state.graph  # type: ignore[attr-defined]
    mint.count += 1  # type: ignore[attr-defined]
    label = name or f"test-{role.value}{'-pii' if pii else ''}-{mint.count}"  # type: ignore[attr-defined]
    token, _ = client.portal.call(lambda: create_token(graph, name=label, role=role, pii=pii,
                                                       actor="cli"))
    return token


mint.count = 0  # type: ignore[attr-defined]


def client_as(client: TestClient, role: Role | str | None, *, pii: bool = False) -> TestClient:
    """A client of the same (running) app with a new token of ``role`` (None: anonymous)."""
    other = TestClient(client.app)
    if role is not None:
        other.headers["Authorization"] = f"Bearer {mint(client, role, pii=pii)}"
    return other


@contextlib.contextmanager
def app_client(app: Any, *, role: Role | str | None = Role.ADMIN,
               pii: bool = True) -> Iterator[TestClient]:
    """Enter the app's lifespan; the client sends a token of ``role`` (admin+pii by default)."""
    with TestClient(app) as c:
        if role is not None:
            c.headers["Authorization"] = f"Bearer {mint(c, role, pii=pii)}"
        yield c


@pytest.fixture
def object_backend(request: pytest.FixtureRequest) -> str:
    """``local`` unless the test module lists ``OBJECT_BACKENDS`` (see pytest_generate_tests)."""
    return str(getattr(request, "param", "local"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module with ``OBJECT_BACKENDS = ("local", "s3")`` runs its ``client`` tests once per
    object store: the GraphQL end-to-end tests run again with objects on S3 (moto)."""
    backends = getattr(metafunc.module, "OBJECT_BACKENDS", None)
    if backends and "object_backend" in metafunc.fixturenames:
        metafunc.parametrize("object_backend", backends, indirect=True)


@pytest.fixture
def client(settings: Settings, object_backend: str,
           request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """The real app (embedded SQLite + a local folder in a temp dir, or an S3 bucket on moto's
    server for modules that ask) behind an HTTP client that sends an admin token with the pii
    permission."""
    if object_backend == "local":
        with app_client(create_app(settings)) as c:
            yield c
        return
    endpoint: S3Endpoint = request.getfixturevalue("s3_server")
    bucket = fresh_bucket()
    s3 = dataclasses.replace(settings, objects_url=f"s3://{bucket}/catalog",
                             s3_endpoint=endpoint.endpoint, s3_region=endpoint.region,
                             s3_access_key=endpoint.access_key,
                             s3_secret_key=endpoint.secret_key)
    try:
        with app_client(create_app(s3)) as c:
            yield c
    finally:
        cleaner = endpoint.store(bucket)
        drop_bucket(cleaner)
        cleaner.close()


@pytest.fixture
def anon_client(client: TestClient) -> TestClient:
    """The same app as ``client``, without a token."""
    return client_as(client, None)


@pytest.fixture
def counting_client(settings: Settings) -> Iterator[tuple[TestClient, CountingGraphStore]]:
    graph = CountingGraphStore(SQLiteGraphStore(str(settings.data_dir / "catalog.db")))
    objects = LocalObjectStore(settings.data_dir / "objects")
    app = create_app(settings, graph=graph, objects=objects)  # type: ignore[arg-type]
    with app_client(app) as c:
        graph.calls.clear()
        yield c, graph


def gql(client: TestClient, query: str, variables: dict[str, Any] | None = None,
        **headers: str) -> dict[str, Any]:
    """POST a GraphQL document; assert HTTP 200 and return the JSON body."""
    response = client.post("/graphql", json={"query": query, "variables": variables or {}},
                           headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
