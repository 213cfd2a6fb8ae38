"""The personal-data policy: values of PII columns reach only tokens with the pii permission —
in previews, profile samples (min, max, top values), quality samples, and downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import client_as
from tests.helpers import call, stores, write_csv

EMAILS = ["ann@example.com", "bob@example.com", "Carl.Weird@Example.org", "dee@example.com"]
ROWS = [[i + 1, e, city] for i, (e, city) in enumerate(zip(
    EMAILS, ["Oslo", "Lima", "Oslo", "Kyiv"], strict=True))]
CONTRACT = {"on_violation": "warn", "columns": {
    "email": {"regex": "^[a-z]+@example\\.com$"},
    "city": {"allowed": ["Oslo", "Lima"]}}}

VERSION = """{ dataset(namespace: "crm", name: "contacts") { latestVersion {
  fields { name pii profile { min max topValues { value count } nullCount } }
  preview(limit: 10)
  quality { checks { column samples } raw }
} } }"""


@pytest.fixture
def loaded(client: TestClient, tmp_path: Path) -> TestClient:
    from loaders.pipeline import LoadRequest, load_file

    path = write_csv(tmp_path / "contacts.csv", ["id", "email", "city"], ROWS)
    graph, objects = stores(client)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    call(client, load_file, LoadRequest(path=path, namespace="crm", name="contacts",
                                        contract=CONTRACT),
         graph=graph, objects=objects, actor="test", tmp_dir=tmp)
    return client


def version(c: TestClient) -> dict[str, Any]:
    body = c.post("/graphql", json={"query": VERSION}).json()
    assert "errors" not in body, body
    latest: dict[str, Any] = body["data"]["dataset"]["latestVersion"]
    return latest


def test_the_email_column_is_flagged_pii(loaded: TestClient) -> None:
    fields = {f["name"]: f["pii"] for f in version(loaded)["fields"]}
    assert fields == {"id": False, "email": True, "city": False}


@pytest.mark.parametrize(("role", "pii"), [(None, False), ("reader", False),
                                           ("writer", False), ("admin", False),
                                           ("reader", True)])
def test_preview_masks_pii_columns_unless_the_token_has_pii(
        loaded: TestClient, role: str | None, pii: bool) -> None:
    seen = version(client_as(loaded, role, pii=pii))
    preview = seen["preview"]
    assert preview["columns"] == ["id", "email", "city"]
    emails = [row[1] for row in preview["rows"]]
    cities = [row[2] for row in preview["rows"]]
    assert cities == ["Oslo", "Lima", "Oslo", "Kyiv"]            # not personal: always shown
    if pii:
        assert emails == EMAILS and "masked" not in preview
    else:
        assert emails == ["***"] * 4 and preview["masked"] == ["email"]
        assert not any(e in str(seen) for e in EMAILS)           # nowhere in the answer


@pytest.mark.parametrize(("role", "pii"), [(None, False), ("writer", False), ("reader", True)])
def test_profile_samples_of_pii_fields_are_masked(loaded: TestClient, role: str | None,
                                                   pii: bool) -> None:
    fields = {f["name"]: f for f in version(client_as(loaded, role, pii=pii))["fields"]}
    email, city = fields["email"]["profile"], fields["city"]["profile"]
    assert city["min"] == "Kyiv" and {t["value"] for t in city["topValues"]} >= {"Oslo"}
    assert email["nullCount"] == 0
    if pii:
        assert email["min"] == "Carl.Weird@Example.org" and email["max"] == "dee@example.com"
    else:
        assert email["min"] == email["max"] == "***"
        assert all(t["value"] == "***" for t in email["topValues"])


@pytest.mark.parametrize("pii", [False, True])
def test_quality_samples_of_pii_columns_are_masked(loaded: TestClient, pii: bool) -> None:
    quality = version(client_as(loaded, "reader", pii=pii))["quality"]
    by_column = {c["column"]: c["samples"] for c in quality["checks"]}
    assert by_column["city"] == [{"row": 4, "value": "Kyiv"}]    # not personal
    if pii:
        assert by_column["email"] == [{"row": 3, "value": "Carl.Weird@Example.org"}]
        assert "Carl.Weird" in str(quality["raw"])
    else:
        assert by_column["email"] == [{"row": 3, "value": "***"}]
        assert "Carl.Weird" not in str(quality)


def test_downloads_of_versions_with_pii_need_the_pii_permission(loaded: TestClient) -> None:
    query = """{ dataset(namespace: "crm", name: "contacts") { downloadUrl
                 latestVersion { downloadUrl } } }"""
    refused = client_as(loaded, "writer").post("/graphql", json={"query": query}).json()
    assert {e["extensions"]["code"] for e in refused["errors"]} == {"FORBIDDEN"}
    assert all("email" in e["message"] and "pii permission" in e["message"]
               for e in refused["errors"])
    allowed = client_as(loaded, "reader", pii=True).post("/graphql", json={"query": query})
    data = allowed.json()["data"]["dataset"]
    assert data["downloadUrl"] and data["latestVersion"]["downloadUrl"]
