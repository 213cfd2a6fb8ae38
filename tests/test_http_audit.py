"""GraphQL over HTTP conformance: graphql-http's server audits against a real `peso serve`.

Needs node and `npm ci --prefix tests/http_audit` (README's test command does both).
Every MUST audit has to pass, and so does every SHOULD audit: a SHOULD warning fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.serverproc import start_server

AUDIT_DIR = Path(__file__).resolve().parent / "http_audit"
NODE = shutil.which("node")
SUMMARY = re.compile(r"^SUMMARY total=(\d+) ok=(\d+) must_failures=(\d+) "
                     r"should_warnings=(\d+) may_notices=(\d+)$", re.MULTILINE)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NODE is None, reason="node is not installed (the audit runs on Node)"),
    pytest.mark.skipif(not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir(),
                       reason="graphql-http is not installed: run "
                              "`npm ci --prefix tests/http_audit`"),
]


@pytest.mark.timeout(180)
def test_graphql_over_http_audits(tmp_path: Path) -> None:
    assert NODE is not None
    server = start_server(tmp_path / "peso-data")
    try:
        run = subprocess.run([NODE, str(AUDIT_DIR / "audit.mjs"), server.graphql_url],
                             cwd=AUDIT_DIR, capture_output=True, text=True, timeout=150,
                             check=False)
    finally:
        server.kill()
    report = run.stdout + run.stderr
    found = SUMMARY.search(run.stdout)
    assert found, f"audit.mjs printed no summary (exit {run.returncode}):\n{report}"
    total, ok, must, should, may = (int(n) for n in found.groups())
    assert total > 40, f"suspiciously few audits ran:\n{report}"
    assert must == 0, f"{must} MUST audit(s) failed:\n{report}"
    assert should == 0, f"{should} SHOULD audit(s) warned:\n{report}"
    assert run.returncode == 0, report
    assert ok + may == total
