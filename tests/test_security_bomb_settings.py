"""The decompression-bomb limits are settings (issue 10, item 2): each one, lowered, refuses
an upload over HTTP that the default accepts, and the refusal names the setting. The server
keeps serving afterwards."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from loaders import limits
from server.app import create_app
from tests.conftest import app_client, make_settings
from tests.test_security_bombs import xlsx_bomb

LOAD = """mutation($input: LoadFileInput!, $file: Upload!) {
  loadFile(input: $input, file: $file) { created version { rowCount } errors { message } } }"""

CSV = b"id,name\n" + b"".join(f"{i},name-{i}\n".encode() for i in range(50_000))  # ~0.9 MB


@pytest.fixture(autouse=True)
def default_limits() -> Iterator[None]:
    yield
    limits.configure(limits.DecodeLimits())  # the process-wide limits back to the defaults


def upload(client: TestClient, filename: str, content: bytes, name: str) -> dict[str, object]:
    variables = {"input": {"namespace": "bombs", "name": name}, "file": None}
    answer = client.post(
        "/graphql", headers={"X-Peso-Upload": "1"},
        data={"operations": json.dumps({"query": LOAD, "variables": variables}),
              "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, content, "application/octet-stream")})
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()["data"]["loadFile"]
    return result


def error_of(result: dict[str, object]) -> str:
    errors = result["errors"]
    assert isinstance(errors, list)
    assert len(errors) == 1, result
    return str(errors[0]["message"])


def served(tmp_path: Path, **env: str) -> AbstractContextManager[TestClient]:
    return app_client(create_app(make_settings(tmp_path, **env)))


def xlsx(tmp_path: Path, rows: int, cols: int) -> bytes:
    cells = "".join(f'<row r="{r}">' + "".join(
        f'<c r="{chr(65 + c)}{r}"><v>{r * c}</v></c>' for c in range(cols)) + "</row>"
        for r in range(1, rows + 1))
    return xlsx_bomb(tmp_path / "sheet.xlsx", cells).read_bytes()


def parquet(rows: int) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"word": ["the same rather long value " * 4] * rows}), buffer,
                   compression="zstd")
    return buffer.getvalue()


def test_compression_layers(tmp_path: Path) -> None:
    nested = gzip.compress(gzip.compress(CSV))
    with served(tmp_path / "a") as client:
        assert upload(client, "x.csv.gz.gz", nested, "ok")["errors"] == []
    with served(tmp_path / "b", PESO_MAX_COMPRESSION_LAYERS="1") as client:
        message = error_of(upload(client, "x.csv.gz.gz", nested, "layers"))
        assert "more than 1 layers of compression (PESO_MAX_COMPRESSION_LAYERS)" in message
        assert client.get("/healthz").status_code == 200


def test_decompressed_bytes(tmp_path: Path) -> None:
    big = gzip.compress(CSV * 2)   # ~1.8 MB of CSV
    with served(tmp_path / "a") as client:
        assert upload(client, "x.csv.gz", big, "ok")["errors"] == []
    with served(tmp_path / "b", PESO_MAX_DECOMPRESSED_BYTES=str(1 << 20)) as client:
        message = error_of(upload(client, "x.csv.gz", big, "total"))
        assert "decompresses to more than 1,048,576 bytes" in message
        assert "PESO_MAX_DECOMPRESSED_BYTES" in message


def test_parquet_decoded_bytes(tmp_path: Path) -> None:
    content = parquet(20_000)      # a few KB on disk, ~2 MB decoded
    with served(tmp_path / "a") as client:
        assert upload(client, "x.parquet", content, "ok")["errors"] == []
    with served(tmp_path / "b", PESO_MAX_DECOMPRESSED_BYTES=str(1 << 20)) as client:
        message = error_of(upload(client, "x.parquet", content, "decoded"))
        assert "decodes to more than 1,048,576 bytes" in message
        assert "PESO_MAX_PARQUET_DECODED_RATIO" in message


def test_xlsx_cells(tmp_path: Path) -> None:
    content = xlsx(tmp_path, rows=300, cols=5)   # 1,500 cells
    with served(tmp_path / "a") as client:
        result = upload(client, "x.xlsx", content, "ok")
        assert result["errors"] == [], result
    with served(tmp_path / "b", PESO_MAX_XLSX_CELLS="1000") as client:
        message = error_of(upload(client, "x.xlsx", content, "cells"))
        assert "more than 1,000 cells" in message
        assert "PESO_MAX_XLSX_CELLS" in message
