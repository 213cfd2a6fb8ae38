"""Small helpers shared by the GraphQL, CLI and pipeline tests (no fixtures here: those live in
conftest.py). Everything goes through the real app and the real stores."""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.testclient import TestClient

from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore
from tests.conftest import gql

if TYPE_CHECKING:
    from loaders.pipeline import LoadResult

T = TypeVar("T")

GRAPHQL_RESPONSE = "application/graphql-response+json"


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def data(body: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a response that must have no GraphQL errors."""
    assert "errors" not in body, body.get("errors")
    result: dict[str, Any] = body["data"]
    return result


def messages(body: dict[str, Any]) -> list[str]:
    """The messages of a response's GraphQL errors (there must be at least one)."""
    assert body.get("errors"), f"expected GraphQL errors, got {body}"
    return [e["message"] for e in body["errors"]]


def q(client: TestClient, document: str, /, **variables: Any) -> dict[str, Any]:
    """Run a document that must succeed and return its ``data``."""
    return data(gql(client, document, variables))


def stores(client: TestClient) -> tuple[GraphStore, ObjectStore]:
    state = client.app.state  # type: ignore[attr-defined]
    return state.graph, state.objects


def call(client: TestClient, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a coroutine function on the app's event loop (so it may use the app's stores)."""
    assert client.portal is not None, "use the client inside its `with` block (the fixture)"
    return client.portal.call(functools.partial(fn, *args, **kwargs))


def load(client: TestClient, path: Path, namespace: str, name: str, *,
         source: str | None = None, description: str | None = None) -> LoadResult:
    """Load a file through the real pipeline into the app's own stores."""
    from loaders.pipeline import LoadRequest, load_file

    graph, objects = stores(client)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    tmp = settings.data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    result: LoadResult = call(client, load_file,
                              LoadRequest(path=path, namespace=namespace, name=name,
                                          source=source, description=description),
                              graph=graph, objects=objects, actor="test", tmp_dir=tmp)
    return result


REGISTER = """
mutation($input: RegisterDatasetInput!) {
  registerDataset(input: $input) {
    dataset { id namespace name description layer tags { name } }
    errors { message field code }
  }
}"""


def register(client: TestClient, namespace: str, name: str, **fields: Any) -> dict[str, Any]:
    """Register a dataset through GraphQL; it must succeed. Returns the payload's dataset."""
    payload = q(client, REGISTER, input={"namespace": namespace, "name": name,
                                         **fields})["registerDataset"]
    assert payload["errors"] == [], payload["errors"]
    dataset: dict[str, Any] = payload["dataset"]
    return dataset


def upsert_source(client: TestClient, name: str, kind: str = "OTHER",
                  **fields: Any) -> dict[str, Any]:
    payload = q(client, """
        mutation($input: UpsertSourceInput!) {
          upsertSource(input: $input) { source { id name kind } errors { message } }
        }""", input={"name": name, "kind": kind, **fields})["upsertSource"]
    assert payload["errors"] == [], payload["errors"]
    source: dict[str, Any] = payload["source"]
    return source


def upsert_entity(client: TestClient, kind: str, name: str, **fields: Any) -> dict[str, Any]:
    payload = q(client, """
        mutation($input: UpsertEntityInput!) {
          upsertEntity(input: $input) { entity { id kind name isHuman } errors { message } }
        }""", input={"kind": kind, "name": name, **fields})["upsertEntity"]
    assert payload["errors"] == [], payload["errors"]
    entity: dict[str, Any] = payload["entity"]
    return entity


def link(client: TestClient, namespace: str, name: str, entity_id: str,
         role: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = q(client, """
        mutation($input: LinkEntityInput!) {
          linkEntity(input: $input) {
            dataset { name entities { role entity { id kind name } } }
            errors { message field code }
          }
        }""", input={"namespace": namespace, "name": name, "entityId": entity_id,
                     "role": role})["linkEntity"]
    return payload


def add_lineage(client: TestClient, downstream: str, upstream: str, *,
                transformation: str | None = None, job: str | None = None) -> dict[str, Any]:
    """``downstream``/``upstream`` written NAMESPACE/NAME. Returns the payload."""
    def ref(text: str) -> dict[str, str]:
        namespace, _, name = text.partition("/")
        return {"namespace": namespace, "name": name}
    payload: dict[str, Any] = q(client, """
        mutation($input: AddLineageInput!) {
          addLineage(input: $input) {
            edge { downstream { namespace name } upstream { namespace name }
                   transformation job createdAt }
            errors { message field code }
          }
        }""", input={"downstream": ref(downstream), "upstream": ref(upstream),
                     "transformation": transformation, "job": job})["addLineage"]
    return payload


def keys(edges: list[dict[str, Any]]) -> list[str]:
    """``namespace/name`` of each edge's node, in order."""
    return [f"{e['node']['namespace']}/{e['node']['name']}" for e in edges]


def after_location(err: str, *, required: bool = True) -> str:
    """A command's stderr without its first line, which names the catalog (checked here).

    ``required=False`` for errors raised before the catalog is known (bad settings)."""
    first, _, rest = err.partition("\n")
    if first.startswith("peso: catalog "):
        return rest
    assert not required, err
    return err
