"""A short version of bench/load_test.py: 10 concurrent clients for 3 s against a real
`peso serve` (reads, searches, writes): no 5xx, no dropped connection, every acknowledged
write present afterwards."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.load_test import local_server, run_load

pytestmark = pytest.mark.slow


@pytest.mark.timeout(120)
def test_ten_clients_for_three_seconds(tmp_path: Path) -> None:
    with local_server(tmp_path / "peso-data") as (url, token):
        report = asyncio.run(run_load(url, token, clients=10, seconds=3.0))
    summary = "\n".join(report.lines())
    assert report.requests > 50, summary
    assert report.server_errors == 0, summary
    assert not report.transport_errors, summary
    assert report.acknowledged, summary
    assert report.missing == [], summary
    assert set(report.by_kind) == {"read", "list", "search", "write", "tag"}, summary
    assert report.graphql_errors == 0, summary
