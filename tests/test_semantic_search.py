"""Semantic search through GraphQL `search` on the real app and SQLite file: queries phrased
unlike the dataset text find the right dataset in the top 3 with hybrid ranking, where plain
full text does not; descriptions changed through GraphQL are re-embedded; the local model
loads with no network; an OpenAI-compatible endpoint (a fake on 127.0.0.1) can replace it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.models import DatasetKey, FieldSpec
from server.storage.graph import GraphStore
from tests.conftest import app_client, make_settings
from tests.contract.helpers import ACTOR, new_version
from tests.helpers import call, q, stores

pytest.importorskip("wordllama", reason="semantic search's local model: pip install peso[semantic]")

# (namespace, name, description, tags, fields): a small marketing catalog
CATALOG: list[tuple[str, str, str, list[str], list[str]]] = [
    ("bank", "bank_marketing", "Direct marketing campaigns of a Portuguese banking institution. "
     "The campaigns were based on phone calls; the target is whether the client subscribed a "
     "term deposit.", ["finance"], ["age", "job", "marital", "education", "default", "balance",
                                    "housing", "loan", "contact", "day", "month", "duration",
                                    "campaign", "pdays", "previous", "poutcome", "y"]),
    ("ads", "advertising_clicks", "Whether a website visitor clicked on an online "
     "advertisement, with time spent on site, area income and daily internet usage.", ["web"],
     ["Daily Time Spent on Site", "Age", "Area Income", "Daily Internet Usage", "Ad Topic Line",
      "City", "Male", "Country", "Timestamp", "Clicked on Ad"]),
    ("crm", "telco_churn", "Subscribers of a telecom operator who cancelled their contract in "
     "the last month, with tenure, monthly charges and services.", ["retention"],
     ["customerID", "gender", "SeniorCitizen", "tenure", "PhoneService", "Contract",
      "MonthlyCharges", "Churn"]),
    ("email", "newsletter_opens", "Opens and clicks of the weekly e-mail newsletter per "
     "recipient.", ["email"], ["recipient_email", "sent_at", "opened", "clicked",
                               "unsubscribed"]),
    ("retail", "online_retail", "Transactions of a UK-based online gift shop between 2010 and "
     "2011.", ["sales"], ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                          "UnitPrice", "CustomerID", "Country"]),
    ("social", "facebook_ad_spend", "Daily spend, impressions and conversions of paid social "
     "campaigns per ad set.", ["paid"], ["ad_id", "xyz_campaign_id", "fb_campaign_id", "age",
                                         "gender", "interest", "Impressions", "Clicks", "Spent",
                                         "Total_Conversion", "Approved_Conversion"]),
    ("web", "site_sessions", "Visits to the company website: landing page, traffic source, "
     "device and bounce.", ["analytics"], ["session_id", "landing_page", "source", "device",
                                           "bounced", "started_at"]),
    ("loyalty", "loyalty_members", "Members of the store loyalty programme with points balance "
     "and tier.", ["crm"], ["member_id", "joined_on", "points", "tier"]),
    ("surveys", "nps_survey", "Net promoter score answers collected after a support ticket "
     "was closed.", ["support"], ["ticket_id", "score", "comment", "answered_at"]),
    ("finance", "marketing_budget", "Planned and actual marketing spend per channel and "
     "quarter.", ["budget"], ["channel", "quarter", "planned", "actual"]),
    ("hr", "employees", "Staff directory with department, hire date and salary band.", ["people"],
     ["employee_id", "department", "hired_on", "salary_band"]),
    ("geo", "store_locations", "Addresses and opening hours of the physical shops.", ["stores"],
     ["store_id", "address", "city", "opens", "closes"]),
]

# phrased with none of the words (or only some) of the dataset they must find
PARAPHRASES = [
    ("customers who answered a phone campaign", "bank_marketing"),
    ("people who clicked on internet banners", "advertising_clicks"),
    ("clients leaving their mobile plan", "telco_churn"),
    ("shoppers purchase history", "online_retail"),
    ("advertising money per platform", "marketing_budget"),
]

SEARCH = "query($q: String!) { search(query: $q, first: 10) { totalCount edges { score " \
         "node { namespace name } } } }"


async def _fill(graph: GraphStore) -> None:
    await graph.register_versions([
        new_version(ns, name, description=text, fields=[FieldSpec(f, "string") for f in fields])
        for ns, name, text, _, fields in CATALOG], actor=ACTOR)
    for ns, name, _, tags, _ in CATALOG:
        for tag in tags:
            await graph.add_tag(DatasetKey(ns, name), tag, actor=ACTOR)


def _names(client: TestClient, query: str) -> list[str]:
    found = q(client, SEARCH, q=query)["search"]["edges"]
    return [e["node"]["name"] for e in found]


@pytest.fixture
def hybrid(tmp_path: Path) -> Iterator[TestClient]:
    with app_client(create_app(make_settings(tmp_path, PESO_SEMANTIC_SEARCH="on"))) as c:
        call(c, _fill, stores(c)[0])
        yield c


@pytest.mark.parametrize(("query", "expected"), PARAPHRASES)
def test_paraphrase_found_in_top_3_by_hybrid_not_by_full_text(
        tmp_path: Path, hybrid: TestClient, query: str, expected: str) -> None:
    assert expected in _names(hybrid, query)[:3]
    # the same catalog file, served with semantic search off: plain full text misses it
    with app_client(create_app(make_settings(tmp_path, PESO_SEMANTIC_SEARCH="off"))) as plain:
        assert expected not in _names(plain, query)[:3]


def test_exact_words_still_rank_first(hybrid: TestClient) -> None:
    assert _names(hybrid, "bank_marketing")[0] == "bank_marketing"
    assert _names(hybrid, "newsletter")[0] == "newsletter_opens"
    found = q(hybrid, SEARCH, q="newsletter")["search"]
    assert found["totalCount"] == len(found["edges"])  # a word match plus its neighbours


def test_nonsense_finds_nothing_semantic(hybrid: TestClient) -> None:
    """Below PESO_SEMANTIC_MIN_SIMILARITY nothing is returned just for being nearest."""
    assert _names(hybrid, "zzqx vvbnm") == []


def test_changed_description_is_re_embedded(hybrid: TestClient) -> None:
    query = "weather observations"
    assert "employees" not in _names(hybrid, query)
    q(hybrid, 'mutation { registerDataset(input: {namespace: "hr", name: "employees", '
              'description: "Daily rainfall, wind and heat readings of the meteorological '
              'stations"}) { errors { message } } }')
    assert _names(hybrid, query)[0] == "employees"


def test_pages_do_not_repeat(hybrid: TestClient) -> None:
    doc = ("query($a: String) { search(query: \"campaign\", first: 2, after: $a) { totalCount "
           "pageInfo { hasNextPage endCursor } edges { node { name } } } }")
    seen: list[str] = []
    after = None
    while True:
        page = q(hybrid, doc, a=after)["search"]
        seen += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"]
    assert "bank_marketing" in seen
    assert "facebook_ad_spend" in seen


# --- the local model loads with no network and writes nothing -------------------------------
OFFLINE = r"""
import os, socket, sys
def refuse(*a, **k):
    raise OSError("network use refused by the test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from server.embedders import LocalEmbedder
e = LocalEmbedder()
[v] = e.embed_sync(["customers who answered a phone campaign"])
assert len(v) == e.dimensions == 256, len(v)
assert abs(sum(x * x for x in v) - 1.0) < 1e-4
print(e.model)
"""


def test_local_model_loads_offline_and_fetches_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
           "HF_HOME": str(home / "hf"), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", OFFLINE], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "wordllama/l2_supercat_256"
    assert list(home.rglob("*")) == []  # no cache, no download


# --- an OpenAI-compatible endpoint instead of the local model --------------------------------
TOPICS = (("phone", "call", "rang"), ("click", "banner", "advert"), ("shop", "purchase"))


class _FakeEmbeddings(BaseHTTPRequestHandler):
    """POST /v1/embeddings: one 4-wide vector per input, by which topic words it contains."""
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                "model": body["model"], "n": len(body["input"])})
        data = [{"object": "embedding", "index": i,
                 "embedding": [float(any(w in text.lower() for w in words))
                               for words in TOPICS] + [0.05]}
                for i, text in enumerate(body["input"])]
        out = json.dumps({"object": "list", "data": data[::-1], "model": body["model"]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(out.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeEmbeddings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeEmbeddings.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_openai_compatible_endpoint(tmp_path: Path, fake_endpoint: str) -> None:
    settings = make_settings(tmp_path, PESO_SEMANTIC_SEARCH="auto",
                             PESO_EMBEDDINGS_URL=fake_endpoint,
                             PESO_EMBEDDINGS_MODEL="fake-embed-1",
                             PESO_EMBEDDINGS_API_KEY="sk-test", PESO_SEMANTIC_MIN_SIMILARITY="0.9")
    with app_client(create_app(settings)) as c:
        call(c, _fill, stores(c)[0])
        # "rang" is in no dataset's text; the fake endpoint puts it with "phone calls"
        assert _names(c, "someone rang them")[:1] == ["bank_marketing"]
    seen = _FakeEmbeddings.seen
    assert {s["path"] for s in seen} == {"/v1/embeddings"}
    assert {s["auth"] for s in seen} == {"Bearer sk-test"}
    assert {s["model"] for s in seen} == {"fake-embed-1"}
    assert sum(s["n"] for s in seen) >= len(CATALOG) + 1  # every dataset and the query


def test_endpoint_down_is_a_clear_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PESO_SEMANTIC_SEARCH="on",
                             PESO_EMBEDDINGS_URL="http://127.0.0.1:9/v1")
    with app_client(create_app(settings)) as c:
        body = c.post("/graphql", json={"query": SEARCH, "variables": {"q": "phone"}}).json()
    assert "embeddings endpoint http://127.0.0.1:9/v1/embeddings did not answer" \
        in body["errors"][0]["message"]


def test_a_bulk_load_is_embedded_in_the_background(tmp_path: Path) -> None:
    """A search embeds the first REFRESH_BATCH queued datasets itself and leaves the rest to
    one background task, which drains the queue."""
    from server.semantic import REFRESH_BATCH

    count = REFRESH_BATCH + 150
    with app_client(create_app(make_settings(tmp_path, PESO_SEMANTIC_SEARCH="on"))) as c:
        graph = stores(c)[0]
        call(c, graph.register_versions, [new_version("bulk", f"table_{i:04d}")
                                          for i in range(count)], actor=ACTOR)
        q(c, SEARCH, q="table")
        deadline = time.monotonic() + 30
        while call(c, graph.pending_embeddings, limit=10) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert call(c, graph.pending_embeddings, limit=10) == []
        [vector] = call(c, _query_vector, "table 0449")
        assert len(call(c, graph.nearest_datasets, vector, k=count)) == count


async def _query_vector(text: str) -> list[list[float]]:
    from server.embedders import LocalEmbedder
    return await LocalEmbedder().embed([text])
