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
        assert emails == EMAILS
        assert "masked" not in preview
    else:
        assert emails == ["***"] * 4
        assert preview["masked"] == ["email"]
        assert not any(e in str(seen) for e in EMAILS)           # nowhere in the answer


@pytest.mark.parametrize(("role", "pii"), [(None, False), ("writer", False), ("reader", True)])
def test_profile_samples_of_pii_fields_are_masked(loaded: TestClient, role: str | None,
                                                   pii: bool) -> None:
    fields = {f["name"]: f for f in version(client_as(loaded, role, pii=pii))["fields"]}
    email, city = fields["email"]["profile"], fields["city"]["profile"]
    assert city["min"] == "Kyiv"
    assert {t["value"] for t in city["topValues"]} >= {"Oslo"}
    assert email["nullCount"] == 0
    if pii:
        assert email["min"] == "Carl.Weird@Example.org"
        assert email["max"] == "dee@example.com"
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
    assert data["downloadUrl"]
    assert data["latestVersion"]["downloadUrl"]


def test_openlineage_column_metrics_of_pii_columns_are_masked(loaded: TestClient) -> None:
    import uuid

    metrics = {"_producer": "https://example.com/etl",
               "_schemaURL": "https://openlineage.io/spec/facets/1-0-2/"
                             "DataQualityMetricsInputDatasetFacet.json#/$defs/"
                             "DataQualityMetricsInputDatasetFacet",
               "rowCount": 4, "columnMetrics": {
                   # (the spec's metrics are numbers: think of a hashed or numeric id)
                   "email": {"nullCount": 0, "min": 1017.0, "max": 9941.0,
                             "quantiles": {"0.5": 5003.0}},
                   "city": {"nullCount": 0, "min": 1.0, "max": 4.0}}}
    event = {"eventType": "COMPLETE", "eventTime": "2025-01-01T00:00:00Z",
             "producer": "https://example.com/etl",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "etl", "name": "score"},
             "inputs": [{"namespace": "crm", "name": "contacts",
                         "inputFacets": {"dataQualityMetrics": metrics}}], "outputs": []}
    sent = client_as(loaded, "writer").post("/api/v1/lineage", json=event)
    assert sent.status_code in (200, 201), sent.text
    query = """{ runs(first: 5) { edges { node { inputs { facets dataQualityMetrics } } } } }"""
    for role, pii in (("reader", False), ("reader", True)):
        body = client_as(loaded, role, pii=pii).post("/graphql", json={"query": query}).json()
        assert "errors" not in body, body
        [run] = body["data"]["runs"]["edges"]
        [used] = run["node"]["inputs"]
        for seen in (used["dataQualityMetrics"], used["facets"]["dataQualityMetrics"]):
            email, city = seen["columnMetrics"]["email"], seen["columnMetrics"]["city"]
            assert (city["min"], city["max"]) == (1.0, 4.0)
            assert email["nullCount"] == 0
            if pii:
                assert (email["min"], email["quantiles"]) == (1017.0, {"0.5": 5003.0})
            else:
                assert (email["min"], email["max"]) == ("***", "***")
                assert email["quantiles"] == {"0.5": "***"}
        if not pii:
            assert "1017" not in str(body)
            assert "5003" not in str(body)
