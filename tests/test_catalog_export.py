"""The catalog exports (server/catalog_export.py) over HTTP: data.json valid against the real
POD v1.1 schema from the corpus, the DCAT Turtle / JSON-LD parsed back with rdflib, schema.org
JSON-LD per dataset, and contact points masked for callers without the pii permission."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from starlette.testclient import TestClient

from server.models import DatasetKey, OwnerKind, SourceKind
from tests.conftest import CORPUS, needs_corpus
from tests.helpers import call, stores

POD = CORPUS / "dcat" / "pod_datajson" / "pod_v1.1_schema"


def pod_validator() -> jsonschema.Draft4Validator:
    """The POD catalog schema with its sibling files resolved by their relative $refs."""
    resources = []
    for path in POD.glob("*.json"):
        doc = json.loads(path.read_text())
        resource = Resource.from_contents(doc, default_specification=DRAFT4)
        resources.append((f"https://project-open-data.cio.gov/v1.1/schema/{path.name}",
                          resource))
    registry: Registry[Any] = Registry().with_resources(resources)
    catalog = json.loads((POD / "catalog.json").read_text())
    return jsonschema.Draft4Validator(catalog, registry=registry,
                                      format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def seed(client: TestClient) -> None:
    graph, _ = stores(client)

    async def run() -> None:
        await graph.upsert_source(name="ad-server", kind=SourceKind.OTHER,
                                  license="https://creativecommons.org/licenses/by/4.0/",
                                  actor="test")
        await graph.upsert_dataset(namespace="ads", name="impressions", source_name="ad-server",
                                   description="Ad impressions per hour", actor="test")
        await graph.upsert_source(name="crm", kind=SourceKind.OTHER, license="CC-BY-4.0",
                                  actor="test")
        await graph.upsert_dataset(namespace="crm", name="contacts", source_name="crm",
                                   actor="test")
        await graph.add_tag(DatasetKey("ads", "impressions"), "advertising", actor="test")
        await graph.add_tag(DatasetKey("ads", "impressions"), "hourly", actor="test")
        await graph.add_owner(DatasetKey("crm", "contacts"), name="Ada Lovelace",
                              kind=OwnerKind.USER, email="ada@example.com", actor="test")
    call(client, run)


@needs_corpus
def test_data_json_is_valid_pod_and_round_trips(client: TestClient, tmp_path: Path) -> None:
    seed(client)
    body = client.get("/catalog/data.json")
    assert body.status_code == 200
    doc = body.json()
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in pod_validator().iter_errors(doc)]
    assert errors == []
    by_id = {d["identifier"]: d for d in doc["dataset"]}
    assert set(by_id) == {"ads.impressions", "crm.contacts"}
    assert by_id["ads.impressions"]["title"] == "impressions"
    assert by_id["ads.impressions"]["keyword"] == ["advertising", "hourly", "ads"]
    assert by_id["ads.impressions"]["publisher"]["name"] == "ad-server"
    assert by_id["ads.impressions"]["license"].startswith("https://creativecommons.org/")
    assert by_id["crm.contacts"]["license"] == "https://spdx.org/licenses/CC-BY-4.0.html"
    # the admin fixture token has pii: the real contact
    assert by_id["crm.contacts"]["contactPoint"]["fn"] == "Ada Lovelace"
    assert by_id["crm.contacts"]["contactPoint"]["hasEmail"] == "mailto:ada@example.com"


@needs_corpus
def test_a_broken_record_fails_the_pod_schema() -> None:
    """The validator used above does reject what POD forbids (so the test above can fail),
    formats included."""
    doc = {"conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
           "dataset": [{"title": "t", "description": "d", "keyword": ["k"],
                        "modified": "2024-01-01", "identifier": "x", "accessLevel": "public",
                        "bureauCode": ["000:00"], "programCode": ["000:000"],
                        "publisher": {"name": "p"},
                        "contactPoint": {"fn": "a", "hasEmail": "not-an-email"}}]}
    assert any("hasEmail" in str(list(e.absolute_path)) or "mailto" in e.message
               for e in pod_validator().iter_errors(doc))
    doc["dataset"][0]["contactPoint"]["hasEmail"] = "mailto:a@b.org"
    assert list(pod_validator().iter_errors(doc)) == []
    doc["dataset"][0]["license"] = "CC-BY-4.0"          # not a URI
    assert [e.message for e in pod_validator().iter_errors(doc)] != []


def test_anonymous_callers_get_contact_points_masked(client: TestClient,
                                                     anon_client: TestClient) -> None:
    seed(client)
    doc = anon_client.get("/catalog/data.json").json()
    contact = {d["identifier"]: d["contactPoint"] for d in doc["dataset"]}["crm.contacts"]
    assert contact == {"@type": "vcard:Contact", "fn": "***",
                       "hasEmail": "mailto:masked@redacted.invalid"}
    for path in ("/catalog/catalog.ttl", "/catalog/catalog.jsonld"):
        text = anon_client.get(path).text
        assert "Ada Lovelace" not in text
        assert "ada@example.com" not in text
    assert "ada@example.com" in client.get("/catalog/catalog.ttl").text


# rdflib's own JSON-LD parser builds a ConjunctiveGraph internally and warns about it
RDFLIB_INTERNAL = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated")


@pytest.mark.parametrize(("path", "fmt"), [
    ("/catalog/catalog.ttl", "turtle"),
    pytest.param("/catalog/catalog.jsonld", "json-ld", marks=RDFLIB_INTERNAL)])
def test_dcat_rdf_parses_back_to_the_catalog(client: TestClient, path: str, fmt: str) -> None:
    seed(client)
    response = client.get(path)
    assert response.status_code == 200
    g = Graph().parse(data=response.text, format=fmt)
    titles = {str(g.value(node, DCTERMS.identifier)): str(g.value(node, DCTERMS.title))
              for node in g.subjects(DCAT.keyword, None)}
    assert titles == {"ads.impressions": "impressions", "crm.contacts": "contacts"}
    node = next(n for n in g.subjects(DCTERMS.identifier, None)
                if str(g.value(n, DCTERMS.identifier)) == "ads.impressions")
    assert {str(k) for k in g.objects(node, DCAT.keyword)} == {"advertising", "hourly", "ads"}


def test_schema_org_per_dataset(client: TestClient, anon_client: TestClient) -> None:
    seed(client)
    doc = client.get("/catalog/data.json").json()
    page = next(d["landingPage"] for d in doc["dataset"] if d["identifier"] == "crm.contacts")
    path = page.split("://", 1)[1].split("/", 1)[1]
    full = client.get("/" + path).json()
    assert full["@type"] == "Dataset"
    assert full["name"] == "contacts"
    assert full["creator"] == {"@type": "Person", "name": "Ada Lovelace",
                               "email": "ada@example.com"}
    masked = anon_client.get("/" + path).json()
    assert masked["creator"]["name"] == "***"
    missing = client.get("/catalog/datasets/nope.jsonld")
    assert missing.status_code == 404
    assert "nope" in missing.text


def test_an_email_pod_refuses_becomes_the_placeholder() -> None:
    from server.catalog_export import MASKED_EMAIL, contact
    from server.models import Owner

    good = Owner(name="Ada", kind=OwnerKind.USER, email="ada@example.com")
    bad = Owner(name="Ada", kind=OwnerKind.USER, email="ada@localhost")
    assert contact([good], True)["hasEmail"] == "mailto:ada@example.com"
    assert contact([bad], True) == {"@type": "vcard:Contact", "fn": "Ada",
                                    "hasEmail": MASKED_EMAIL}
    assert contact([good], False)["fn"] == "***"


def test_exports_follow_peso_auth_required(tmp_path: Path) -> None:
    from server.app import create_app
    from tests.conftest import app_client, client_as, make_settings

    settings = make_settings(tmp_path, PESO_AUTH="required")
    with app_client(create_app(settings), role=None) as anonymous:
        reader = client_as(anonymous, "reader")
        seed(anonymous)  # (the stores are called directly, on the running app)
        for path in ("/catalog/data.json", "/catalog/catalog.ttl", "/catalog/catalog.jsonld"):
            refused = anonymous.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert reader.get(path).status_code == 200, path
        # a reader without pii sees contact points masked
        doc = reader.get("/catalog/data.json").json()
        contacts = {d["identifier"]: d["contactPoint"]["fn"] for d in doc["dataset"]}
        assert contacts["crm.contacts"] == "***"
