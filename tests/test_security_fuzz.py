"""Issue 10 item 6: generated bombs (Parquet dictionary pages, nested gzip, xlsx sheet XML)
thrown at the upload entry point (``loadFile`` over HTTP, multipart) are refused with a clear
error in bounded time and memory, and the server keeps answering GraphQL."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from server.models import Role
from tests.conftest import client_as
from tests.test_security_bombs import HEADER, parquet_bomb, xlsx_bomb

LOAD = """mutation($input: LoadFileInput!, $file: Upload!) {
  loadFile(input: $input, file: $file) { created errors { message } } }"""


def _bomb(folder: Path, kind: str, scale: int) -> tuple[str, bytes]:
    if kind == "parquet":
        path = parquet_bomb(folder / "b.parquet", rows=1024 * scale, width=1 << 20)
        return "b.parquet", path.read_bytes()
    if kind == "gzip":
        content = b"id\n" + b"0\n" * (40_000_000 * scale)   # 80 MB+, over 64 MiB
        for _ in range(2):
            content = gzip.compress(content, compresslevel=9)
        return "b.csv.gz.gz", content
    path = xlsx_bomb(folder / "b.xlsx", HEADER, padding=(70 << 20) * scale)
    return "b.xlsx", path.read_bytes()


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from(["parquet", "gzip", "xlsx"]), scale=st.integers(1, 2))
def test_generated_bombs_are_refused_in_bounded_time_and_memory(
        client: TestClient, tmp_path: Path, kind: str, scale: int) -> None:
    name, payload = _bomb(tmp_path, kind, scale)
    assert len(payload) < 1 << 20   # small on the wire
    writer = client_as(client, Role.WRITER)
    tracemalloc.start()
    started = time.monotonic()
    try:
        response = writer.post("/graphql", headers={"X-Peso-Upload": "1"}, data={
            "operations": json.dumps({"query": LOAD, "variables": {
                "input": {"namespace": "fuzz", "name": kind}, "file": None}}),
            "map": json.dumps({"0": ["variables.file"]})},
            files={"0": (name, payload, "application/octet-stream")})
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.text
    [error] = response.json()["data"]["loadFile"]["errors"]
    assert "bomb" in error["message"], error
    assert elapsed < 30, f"{kind} x{scale} took {elapsed:.1f} s"
    assert peak < 512 << 20, f"{kind} x{scale} peaked at {peak >> 20} MiB (Python heap)"
    alive = writer.post("/graphql", json={"query": "{ datasets { totalCount } }"}).json()
    assert alive["data"]["datasets"]["totalCount"] == 0
