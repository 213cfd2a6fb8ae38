"""The ``loadFile`` mutation against the real ASGI app: a GraphQL multipart request (spec:
github.com/jaydenseric/graphql-multipart-request-spec) with the CSRF-safe header, the upload
size limit, options and contracts in the input, and bad files answered as user errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import openpyxl
from starlette.testclient import TestClient

from server.app import create_app
from tests.conftest import BANK_CSV, app_client, make_settings, needs_corpus
from tests.helpers import q

# the end-to-end tests run once per object store: local folder and S3 (moto)
OBJECT_BACKENDS = ("local", "s3")

LOAD = """
mutation($input: LoadFileInput!, $file: Upload!) {
  loadFile(input: $input, file: $file) {
    created report
    dataset { namespace name }
    version { version rowCount format rawKey curatedKey quarantineKey
              fields { name arrowType originalName } }
    errors { message field code }
  }
}"""


def upload(client: TestClient, filename: str, content: bytes, *,
           headers: dict[str, str] | None = None, **fields: Any) -> httpx.Response:
    variables = {"input": {"namespace": "web", "name": "upload", **fields}, "file": None}
    return client.post(
        "/graphql",
        data={"operations": json.dumps({"query": LOAD, "variables": variables}),
              "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, content, "text/csv")},
        headers={"X-Peso-Upload": "1"} if headers is None else headers)


def payload(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]["loadFile"]
    return result


def stored(client: TestClient) -> list[str]:
    objects = client.app.state.objects  # type: ignore[attr-defined]
    return sorted(o.key for o in objects.list())


def tmp_files(client: TestClient) -> list[Path]:
    tmp = client.app.state.settings.data_dir / "tmp"  # type: ignore[attr-defined]
    return sorted(tmp.rglob("*")) if tmp.exists() else []


CSV = b"Campaign,Day,Spend\nspring,31/03/2024,\"$1,200.50\"\nsummer,01/07/2024,$80.00\n"


def test_upload_a_csv(client: TestClient) -> None:
    result = payload(upload(client, "spend.csv", CSV, description="Ad spend"))
    assert result["errors"] == []
    assert result["created"] is True
    assert result["dataset"] == {"namespace": "web", "name": "upload"}
    version = result["version"]
    assert (version["version"], version["rowCount"], version["format"]) == (1, 2, "csv")
    assert version["rawKey"].endswith("/spend.csv")
    assert [(f["name"], f["arrowType"], f["originalName"]) for f in version["fields"]] == [
        ("campaign", "string", "Campaign"), ("day", "date32[day]", "Day"),
        ("spend", "double", "Spend")]
    assert result["report"]["file"] == "spend.csv"
    assert result["report"]["rows_written"] == 2
    assert tmp_files(client) == []                       # the spooled upload is gone
    again = payload(upload(client, "other-name.csv", CSV))
    assert (again["created"], again["version"]["version"]) == (False, 1)


def test_upload_options_and_a_contract(client: TestClient) -> None:
    content = b"id;amount;code\n1;5;unknown\n2;-1;A7\n3;12;B2\n"
    result = payload(upload(
        client, "x.txt", content, delimiter=";", sentinels=["unknown"], normalizeNames=False,
        contract={"on_violation": "quarantine", "columns": {"amount": {"min": 0}}}))
    assert result["errors"] == []
    version = result["version"]
    assert version["rowCount"] == 2
    assert version["quarantineKey"].startswith("quarantine/web/upload/")
    assert result["report"]["rows_quarantined"] == 1
    assert result["report"]["cleaning"]["sentinels"] == ["unknown"]


def test_a_gzip_upload(client: TestClient) -> None:
    result = payload(upload(client, "spend.csv.gz", gzip.compress(CSV)))
    assert (result["version"]["format"], result["version"]["rowCount"]) == ("csv+gzip", 2)


def xlsx_bytes(tmp_path: Path) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Campaign", "Spend"])
    ws.append(["spring", 1200.5])
    ws.append(["summer", 80])
    wb.save(tmp_path / "book.xlsx")
    return (tmp_path / "book.xlsx").read_bytes()


def test_json_jsonl_and_excel_through_the_whole_pipeline(client: TestClient,
                                                         tmp_path: Path) -> None:
    files = {
        "rows.json": b'[{"campaign": "spring", "spend": 1200.5}, '
                     b'{"campaign": "summer", "spend": 80}]',
        "rows.jsonl": b'{"campaign": "spring", "spend": 1200.5}\n'
                      b'{"campaign": "summer", "spend": 80}\n',
        "book.xlsx": xlsx_bytes(tmp_path),
    }
    for i, (name, content) in enumerate(sorted(files.items())):
        result = payload(upload(client, name, content, name=f"upload_{i}"))
        assert result["errors"] == [], name
        version = result["version"]
        assert (version["format"], version["rowCount"]) == (name.split(".")[1], 2)
        assert [(f["name"], f["arrowType"]) for f in version["fields"]] == [
            ("campaign", "string"), ("spend", "double")], name


def test_without_the_csrf_header_the_upload_is_refused(client: TestClient) -> None:
    response = upload(client, "spend.csv", CSV, headers={})
    assert response.status_code == 400
    assert "X-Peso-Upload: 1" in response.json()["errors"][0]["message"]
    assert stored(client) == []
    ok = upload(client, "spend.csv", CSV, headers={"Apollo-Require-Preflight": "true"})
    assert payload(ok)["created"] is True


def test_an_upload_over_the_limit_is_413(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PESO_MAX_UPLOAD_BYTES="4096")
    with app_client(create_app(settings)) as client:
        response = upload(client, "big.csv", b"n\n" + b"12345\n" * 2000)
        assert response.status_code == 413
        assert response.json() == {"errors": [{
            "message": "request body exceeds 4096 bytes (PESO_MAX_UPLOAD_BYTES)"}]}
        assert stored(client) == []
        assert payload(upload(client, "small.csv", b"n\n1\n"))["created"] is True


def test_a_bad_file_is_a_user_error_naming_it_and_the_upload_is_kept(
        client: TestClient) -> None:
    page = b"<!DOCTYPE html><html><body>Sign in to download</body></html>"
    result = payload(upload(client, "bank-full.csv", page))
    assert (result["created"], result["version"], result["dataset"]) == (False, None, None)
    [error] = result["errors"]
    assert error["code"] == "LOAD_ERROR"
    assert error["message"].startswith("[read+clean+validate+profile] bank-full.csv: this is an "
                                       "HTML page")
    [kept] = stored(client)
    assert kept.startswith("rejected/web/upload/")
    assert kept.endswith("/bank-full.csv")
    assert f"(the upload is kept at {kept})" in error["message"]
    with client.app.state.objects.open_read(kept) as fh:  # type: ignore[attr-defined]
        assert fh.read() == page
    assert tmp_files(client) == []
    # nothing was registered, and the server still answers
    assert q(client, '{ dataset(namespace: "web", name: "upload") { name } }') == {
        "dataset": None}
    assert client.get("/healthz").status_code == 200
    assert payload(upload(client, "spend.csv", CSV))["created"] is True


def test_bad_options_are_user_errors_naming_the_field(client: TestClient) -> None:
    result = payload(upload(client, "spend.csv", CSV, delimiter="#"))
    assert result["errors"] == [{"message": "delimiter '#' is not one of , ; tab |",
                                 "field": "delimiter", "code": "INVALID_INPUT"}]
    result = payload(upload(client, "spend.csv", CSV, dateOrder="ymd"))
    assert result["errors"][0]["field"] == "dateOrder"
    result = payload(upload(client, "spend.csv", CSV, format="xls"))
    assert result["errors"][0]["field"] == "format"
    assert stored(client) == []
    assert tmp_files(client) == []


def test_a_bad_dataset_name_is_a_user_error(client: TestClient) -> None:
    variables = {"input": {"namespace": "../etc", "name": "x"}, "file": None}
    response = client.post(
        "/graphql", headers={"X-Peso-Upload": "1"},
        data={"operations": json.dumps({"query": LOAD, "variables": variables}),
              "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("a.csv", b"a\n1\n", "text/csv")})
    [error] = payload(response)["errors"]
    assert error["code"] == "INVALID_INPUT"
    assert stored(client) == []


@needs_corpus
def test_upload_a_corpus_csv(client: TestClient) -> None:
    result = payload(upload(client, BANK_CSV.name, BANK_CSV.read_bytes()))
    assert result["version"]["rowCount"] == 4521
    types = {f["name"]: f["arrowType"] for f in result["version"]["fields"]}
    assert (types["age"], types["balance"], types["y"]) == ("int64", "int64", "string")


def test_a_header_only_csv_is_refused_unless_allowed(client: TestClient) -> None:
    """Issue 10: a header and no rows used to become a 0-row version without a word."""
    before = stored(client)
    refused = payload(upload(client, "empty.csv", b"campaign,day,spend\n"))
    assert refused["version"] is None
    [error] = refused["errors"]
    assert "empty.csv: the file holds no data rows" in error["message"]
    assert "allowEmpty: true" in error["message"]
    assert stored(client) == before                       # nothing registered, nothing kept
    assert q(client, '{ dataset(namespace: "web", name: "upload") { id } }')["dataset"] is None
    allowed = payload(upload(client, "empty.csv", b"campaign,day,spend\n", allowEmpty=True))
    assert allowed["errors"] == []
    assert allowed["version"]["rowCount"] == 0
    assert [f["name"] for f in allowed["version"]["fields"]] == ["campaign", "day", "spend"]
