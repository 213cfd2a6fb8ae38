"""Download URLs: a signed Peso route for the local store (S3 presigning is covered in
test_s3_store.py). The URL gives back exactly the stored bytes and cannot be altered."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from tests.helpers import load, q, stores, write_csv

QUERY = """query($raw: Boolean!) { dataset(namespace: "crm", name: "customers") {
  downloadUrl
  latestVersion { downloadUrl(raw: $raw) curatedKey rawKey } } }"""


@pytest.fixture
def loaded(client: TestClient, tmp_path: Path) -> Path:
    path = write_csv(tmp_path / "customers.csv", ["id", "email"],
                     [[1, "a@example.com"], [2, "b@example.com"]])
    load(client, path, "crm", "customers")
    return path


def _get(client: TestClient, url: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    response = client.get(f"{parts.path}?{parts.query}")
    return response.status_code, response.content


def test_curated_and_raw_download_urls_serve_the_stored_bytes(client: TestClient,
                                                              loaded: Path) -> None:
    _, objects = stores(client)
    curated = q(client, QUERY, raw=False)["dataset"]
    version = curated["latestVersion"]
    status, body = _get(client, version["downloadUrl"])
    assert status == 200
    with objects.open_read(version["curatedKey"]) as fh:
        assert hashlib.sha256(body).digest() == hashlib.sha256(fh.read()).digest()
    assert body[:4] == b"PAR1"
    assert curated["downloadUrl"].split("?")[0] == version["downloadUrl"].split("?")[0]
    raw = q(client, QUERY, raw=True)["dataset"]["latestVersion"]
    status, body = _get(client, raw["downloadUrl"])
    assert status == 200
    assert body == loaded.read_bytes()


def test_tampered_expired_or_foreign_urls_are_refused(client: TestClient, loaded: Path) -> None:
    url = q(client, QUERY, raw=False)["dataset"]["latestVersion"]["downloadUrl"]
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    forged = f"{parts.path}?expires={params['expires']}&signature={'0' * 64}"
    assert client.get(forged).status_code == 403
    later = f"{parts.path}?expires={int(params['expires']) + 10}&signature={params['signature']}"
    assert client.get(later).status_code == 403
    other = parts.path.replace("curated/", "raw/", 1)
    assert client.get(f"{other}?{parts.query}").status_code == 403
    assert client.get(f"/objects/../catalog.db?{parts.query}").status_code in (400, 403, 404)
    past = q(client, """{ dataset(namespace: "crm", name: "customers") {
        latestVersion { downloadUrl(expiresIn: 1) } } }""")
    assert "signature=" in past["dataset"]["latestVersion"]["downloadUrl"]


def test_no_download_url_without_a_version(client: TestClient) -> None:
    body = q(client, """mutation { registerDataset(input: {namespace: "crm", name: "empty"}) {
        errors { message } } }""")
    assert body["registerDataset"]["errors"] == []
    found = q(client, '{ dataset(namespace: "crm", name: "empty") { downloadUrl } }')
    assert found["dataset"]["downloadUrl"] is None
