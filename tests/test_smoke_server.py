"""The one real-process smoke test: `peso serve` on a socket, `peso load` beside it.

Everything else talks to the ASGI app in-process; this checks what only a real process
shows: the console script, the port binding, GraphiQL, a second process writing to the same
SQLite catalog while the server reads it, readiness, and a clean exit on SIGTERM.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serverproc import run_peso, start_server

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
BANK_CSV = CORPUS / "marketing" / "uci_bank_marketing__bank.csv"

BANK_QUERY = """
query Bank {
  dataset(namespace: "demo", name: "bank") {
    namespace name layer
    latestVersion { version rowCount fields { name } }
  }
}
"""

pytestmark = pytest.mark.slow


@pytest.mark.timeout(120)
def test_serve_load_query_and_stop(tmp_path: Path) -> None:
    if not BANK_CSV.is_file():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    data_dir = tmp_path / "peso-data"
    server = start_server(data_dir)
    try:
        # GraphiQL for a browser
        page = server.get("/graphql", Accept="text/html")
        assert page.status == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert "graphiql" in page.text.lower()

        # the simplest query
        hello = server.graphql("{ __typename }")
        assert hello.status == 200, hello.text
        assert hello.json() == {"data": {"__typename": "Query"}}

        # a second process loads a file into the same catalog while the server runs
        loaded = run_peso("load", str(BANK_CSV), "--dataset", "demo/bank", data_dir=data_dir,
                          env=server.env)
        assert loaded.returncode == 0, loaded.stderr + loaded.stdout

        answer = server.graphql(BANK_QUERY)
        assert answer.status == 200, answer.text
        body = answer.json()
        assert "errors" not in body, body
        dataset = body["data"]["dataset"]
        assert (dataset["namespace"], dataset["name"], dataset["layer"]) == \
            ("demo", "bank", "CURATED")
        latest = dataset["latestVersion"]
        assert latest["version"] == 1
        assert int(latest["rowCount"]) == 4521
        assert len(latest["fields"]) == 17
        assert latest["fields"][0]["name"] == "age"

        ready = server.get("/readyz")
        assert ready.status == 200, ready.text
        assert ready.json()["status"] == "ready"

        code = server.stop(timeout=10)
        assert code == 0, f"peso serve exited with {code} on SIGTERM:\n{server.log()}"
    finally:
        server.kill()
