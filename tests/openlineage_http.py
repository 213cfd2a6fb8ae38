"""Helpers for the OpenLineage HTTP tests: a writer token for the app, one POST."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.testclient import TestClient

from server.models import Role
from tests.conftest import mint

ROUTE = "/api/v1/lineage"


def writer_headers(client: TestClient) -> dict[str, str]:
    """An Authorization header with a writer token (minted once per client), so events are
    posted as a producer would: the actor is the token's name."""
    cached = getattr(client, "_ol_writer", None)
    if cached is None:
        cached = {"Authorization": f"Bearer {mint(client, Role.WRITER, name='ol-writer')}"}
        client._ol_writer = cached  # type: ignore[attr-defined]
    return dict(cached)


def post_event(client: TestClient, event: Any, headers: dict[str, str]) -> httpx.Response:
    return client.post(ROUTE, json=event, headers=headers)
