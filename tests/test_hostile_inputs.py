"""Hostile strings in every string argument of every mutation (found by walking the schema,
so a new mutation is covered the day it lands): SQL and Cypher injection, path traversal,
1 MB values, NUL bytes, bidi tricks — and invalid UTF-8 as a raw byte body. Each is refused
as a user error or stored verbatim; none is executed, none is a 500 or an unmasked error,
and the catalog is intact afterwards."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.conftest import app_client, make_settings
from tests.helpers import q, register, upsert_source
from tests.schema_walk import Operation, operations, set_path, string_paths

HOSTILE = [
    "x'); DROP TABLE datasets; --",
    "' OR '1'='1' --",
    '" OR 1=1; DELETE FROM audit; --',
    "x\") DETACH DELETE n //",
    "'}) MATCH (n) DETACH DELETE n RETURN 1 //",
    "x` MATCH (n) DELETE n //",
    "../../../../etc/passwd",
    "..",
    "crm/../../objects",
    "nul\x00byte",
    "\u202egnp.exe\u200b",
    "${jndi:ldap://127.0.0.1/a}",
    "<script>alert(1)</script>",
    "x" * 1_000_000,
]
PLACEHOLDER = "__HOSTILE_PLACEHOLDER__"
INVALID_UTF8 = [b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"abc\x80"]
CASES = [(op, path) for op in operations("mutation") for path in string_paths(op)]


def ids(case: tuple[Operation, tuple[str, ...]]) -> str:
    op, path = case
    return f"{op.name}.{'.'.join(path)}"


@pytest.fixture(scope="module")
def module_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Settings]]:
    """One app for the module (hundreds of requests): a catalog the mutations can act on,
    plus a canary to prove nothing was dropped."""
    settings = make_settings(tmp_path_factory.mktemp("hostile"))
    with app_client(create_app(settings)) as client:
        upsert_source(client, "canary-source")
        register(client, "x", "x", description="canary")
        register(client, "canary", "dataset", tags=["keep"])
        yield client, settings


@pytest.fixture
def seeded(module_app: tuple[TestClient, Settings]) -> TestClient:
    return module_app[0]


@pytest.fixture
def settings(module_app: tuple[TestClient, Settings]) -> Settings:
    return module_app[1]


def assert_intact(client: TestClient, settings: Settings) -> None:
    found = q(client, '{ dataset(namespace: "canary", name: "dataset") { name tags { name } } '
                      'sources { totalCount } }')
    assert found["dataset"] == {"name": "dataset", "tags": [{"name": "keep"}]}
    assert found["sources"]["totalCount"] >= 1
    with sqlite3.connect(settings.data_dir / "catalog.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"datasets", "audit", "versions", "sources", "api_tokens"} <= tables


def check_answer(response: Any, where: str) -> None:
    assert response.status_code in (200, 400, 413), (where, response.status_code)
    assert "Unexpected error." not in response.text, (where, response.text[:500])
    assert "Traceback" not in response.text
    assert "sqlite3" not in response.text.lower()


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_hostile_strings_in_every_string_argument(seeded: TestClient, settings: Settings,
                                                  case: tuple[Operation, tuple[str, ...]]
                                                  ) -> None:
    op, path = case
    for value in HOSTILE:
        variables = set_path(op.variables(), path, value)
        response = seeded.post("/graphql", json={"query": op.document(),
                                                 "variables": variables})
        check_answer(response, f"{op.name} {path} {value[:40]!r}")
        body = response.json()
        if body.get("errors"):   # refused before running: a request error, never a fault
            assert body["data"] is None or all("path" in e for e in body["errors"])
    assert_intact(seeded, settings)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_invalid_utf8_bodies(seeded: TestClient, settings: Settings,
                             case: tuple[Operation, tuple[str, ...]]) -> None:
    op, path = case
    text = json.dumps({"query": op.document(),
                       "variables": set_path(op.variables(), path, PLACEHOLDER)})
    for raw in INVALID_UTF8:
        body = text.encode().replace(PLACEHOLDER.encode(), raw)
        response = seeded.post("/graphql", content=body,
                               headers={"Content-Type": "application/json"})
        check_answer(response, f"{op.name} {path} {raw!r}")
        assert response.status_code == 400, response.text
    assert_intact(seeded, settings)


FREE_TEXT = [
    ("describeDataset", 'mutation($v: String) { describeDataset(input: {namespace: "x", '
                        'name: "x", description: $v}) { dataset { description } errors '
                        '{ message } } }', ["describeDataset", "dataset", "description"]),
    ("upsertSource", 'mutation($v: String) { upsertSource(input: {name: "canary-source", '
                     'license: $v}) { source { license } errors { message } } }',
     ["upsertSource", "source", "license"]),
    ("addLineage", 'mutation($v: String) { addLineage(input: {downstream: {namespace: '
                   '"canary", name: "dataset"}, upstream: {namespace: "x", name: "x"}, '
                   'transformation: $v}) { edge { transformation } errors { message } } }',
     ["addLineage", "edge", "transformation"]),
]


@pytest.mark.parametrize("value", [v for v in HOSTILE if len(v) < 200 and "\x00" not in v])
@pytest.mark.parametrize(("name", "document", "where"), FREE_TEXT, ids=[f[0] for f in FREE_TEXT])
def test_free_text_is_stored_verbatim_not_executed(seeded: TestClient, settings: Settings,
                                                   name: str, document: str,
                                                   where: list[str], value: str) -> None:
    answer: Any = q(seeded, document, v=value)
    assert answer[where[0]]["errors"] == []
    for step in where:
        answer = answer[step]
    assert answer == value
    assert_intact(seeded, settings)


@pytest.mark.parametrize("filename", ["../../../etc/passwd", "..", "a\x00b.csv",
                                      "x" * 5000 + ".csv", "C:\\windows\\win.ini",
                                      "/abs/path.csv", "'; DROP TABLE versions; --.csv"],
                         ids=["traversal", "dots", "nul", "5k", "windows", "absolute", "sql"])
def test_hostile_upload_file_names(seeded: TestClient, settings: Settings, filename: str
                                   ) -> None:
    query = ('mutation($file: Upload!) { loadFile(input: {namespace: "up", name: "f"}, '
             'file: $file) { version { rawKey } errors { message } } }')
    response = seeded.post("/graphql", headers={"X-Peso-Upload": "1"}, data={
        "operations": json.dumps({"query": query, "variables": {"file": None}}),
        "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, b"id,name\n1,a\n", "text/csv")})
    check_answer(response, filename)
    if response.status_code == 400:    # refused by the multipart parser (a 5 kB header)
        assert_intact(seeded, settings)
        return
    payload = response.json()["data"]["loadFile"]
    if payload["errors"] == []:
        key = payload["version"]["rawKey"]
        assert ".." not in key.split("/")
        assert not key.startswith("/")
        assert "\x00" not in key
        assert (settings.data_dir / "objects" / key).resolve().is_relative_to(
            (settings.data_dir / "objects").resolve())
    assert not list(Path("/etc").glob("passwd.peso*"))
    assert_intact(seeded, settings)


def test_invalid_utf8_in_a_get_query_string(client: TestClient) -> None:
    response = client.get("/graphql?query=%7B%20dataset(namespace:%20%22%FF%FE%22,"
                          "%20name:%20%22x%22)%20%7B%20name%20%7D%20%7D")
    check_answer(response, "GET")
