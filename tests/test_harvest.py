"""Harvesting portals (issue 12): the real DCAT-US and CKAN files of ../shared/corpus/dcat/
served by a real HTTP server on 127.0.0.1 (with a 304 for a conditional request, 500s, robots
and a redirect to a private address), harvested through ``peso harvest`` into a real SQLite
catalog, and checked through GraphQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from loaders.harvest import dcat_us
from loaders.harvest.apply import dataset_name, tag_of
from server.app import create_app
from server.cli import main
from server.models import Role
from tests.conftest import CORPUS, app_client, client_as, make_settings, mint, needs_corpus
from tests.helpers import after_location, q

DCAT = CORPUS / "dcat"
POD_SCHEMA = DCAT / "pod_datajson" / "pod_v1.1_schema"
SAMPLE = DCAT / "pod_datajson" / "pod_v1.1_examples" / "catalog-sample.json"
EXTENDED = DCAT / "pod_datajson" / "pod_v1.1_examples" / "catalog-sample-extended.json"
PACKAGES = DCAT / "ckan_api" / "demo_ckan_org_2017" / "packages.json"

Route = Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


class Portal:
    """A tiny portal: ``routes[path]`` answers; every request is logged."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, dict[str, str]]] = []
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                portal.log.append((self.path, dict(self.headers)))
                route = portal.routes.get(path)
                status, headers, body = route(self) if route else (404, {}, b"not found")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, path: str, body: bytes, *, etag: str | None = None,
              content_type: str = "application/json") -> None:
        def route(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
            headers = {"Content-Type": content_type, **({"ETag": etag} if etag else {})}
            if etag and h.headers.get("If-None-Match") == etag:
                return 304, headers, b""
            return 200, headers, body
        self.routes[path] = route

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal()
    yield p
    p.close()


@pytest.fixture
def catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "peso-data"
    monkeypatch.setenv("PESO_DATA_DIR", str(data))
    monkeypatch.setenv("PESO_HARVEST_ALLOW_HOSTS", "127.0.0.1")
    for var in ("PESO_GRAPH_URL", "PESO_OBJECTS_URL", "PESO_HARVEST_POD_SCHEMA_DIR"):
        monkeypatch.delenv(var, raising=False)
    return data


def peso(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    if "--json" in argv and code in (0, 1) and out:
        return code, json.loads(out)
    return code, out + after_location(err, required=False)


def datasets(data: Path, namespace: str) -> dict[str, dict[str, Any]]:
    with app_client(create_app(make_settings(data.parent)), role=None) as client:
        page = q(client, """query($ns: String!) { datasets(first: 100, filter: {namespace: $ns})
          { edges { node { name layer description source { name kind } tags { name }
            entities { role entity { kind name } } owners { name email }
            lineageFacets } } } }""", ns=namespace)["datasets"]["edges"]
    return {e["node"]["name"]: e["node"] for e in page}


def data_json(records: list[dict[str, Any]]) -> bytes:
    return json.dumps({"conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
                       "dataset": records}).encode()


def pod_record(i: int, **extra: Any) -> dict[str, Any]:
    return {"title": f"Campaign spend {i}", "description": f"Spend of campaign {i}",
            "keyword": ["ads", f"campaign-{i}"], "modified": "2026-11-01",
            "publisher": {"name": "Acme Agency"},
            "contactPoint": {"fn": "Jane Doe", "hasEmail": "mailto:jane@example.gov"},
            "identifier": f"acme-{i}", "accessLevel": "public", "bureauCode": ["000:00"],
            "programCode": ["000:000"],
            "distribution": [{"downloadURL": f"https://data.example.gov/{i}.csv",
                              "mediaType": "text/csv"}], **extra}


# --- DCAT-US ----------------------------------------------------------------------------------

@needs_corpus
@pytest.mark.parametrize("schema", ["pod", "builtin"])
def test_the_pod_samples_validate_and_map(schema: str, catalog: Path, portal: Portal,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    if schema == "pod":
        monkeypatch.setenv("PESO_HARVEST_POD_SCHEMA_DIR", str(POD_SCHEMA))
    portal.serve("/data.json", SAMPLE.read_bytes())
    assert peso(capsys, "harvest", "add", "agency", f"{portal.base}/data.json",
                "--kind", "dcat-us", "--every", "6h")[0] == 0
    code, [report] = peso(capsys, "harvest", "run", "agency", "--json")
    assert code == 0, report
    assert (report["read"], len(report["created"]), report["refused"]) == (3, 3, [])
    found = datasets(catalog, "agency")
    widgets = found[dataset_name("http://dx.doi.org/10.7927/H45X26V8")]
    assert widgets["layer"] == "EXTERNAL"
    assert widgets["description"].startswith("U.S. Widget Manufacturing Statistics\n\n")
    assert widgets["source"] == {"name": "agency", "kind": "PUBLIC_PORTAL"}
    assert {t["name"] for t in widgets["tags"]} == {"widget", "manufacturing", "factory"}
    assert widgets["entities"] == [{"role": "publisher", "entity": {
        "kind": "ORGANIZATION", "name": "Widget Services"}}]
    assert widgets["owners"] == [{"name": "***", "email": "***"}]  # contact point: PII masked
    facet = widgets["lineageFacets"]["peso_harvest"]
    assert facet["modified"] == "2011-11-19T12:00:00Z"
    assert [d["url"] for d in facet["distributions"]][:2] == [
        "https://data.agency.gov/datasets/widgets-statistics/widgets.csv",
        "https://data.agency.gov/datasets/widgets-statistics/widgets-all.zip"]
    assert facet["distributions"][0]["media_type"] == "text/csv"
    assert "jane" not in json.dumps(facet).lower()    # the contact point is only the owner


def test_a_bad_record_is_refused_alone_with_its_reason(catalog: Path, portal: Portal,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    bad = pod_record(2)
    del bad["keyword"]
    records = [pod_record(1), bad, pod_record(3, accessLevel="secret"), "not an object"]
    portal.serve("/data.json", data_json(records))  # type: ignore[arg-type]
    peso(capsys, "harvest", "add", "acme", f"{portal.base}/data.json", "--kind", "dcat-us")
    code, [report] = peso(capsys, "harvest", "run", "acme", "--json")
    assert code == 0
    assert report["created"] == ["acme/acme-1"]
    reasons = {r["where"]: r["reason"] for r in report["refused"]}
    assert reasons == {"dataset[1] (acme-2)": "'keyword' is a required property",
                       "dataset[2] (acme-3)": "accessLevel: must be one of public, "
                                              "restricted public, non-public",
                       "dataset[3]": "not a JSON object"}


@needs_corpus
def test_builtin_rules_agree_with_the_pod_schema() -> None:
    """Without PESO_HARVEST_POD_SCHEMA_DIR, the required-field rules refuse what the schema
    refuses among these variations of real POD records."""
    base = json.loads(SAMPLE.read_text())["dataset"][0]
    variants = [base] + [{k: v for k, v in base.items() if k != key}
                         for key in dcat_us.REQUIRED] + [
        {**base, "keyword": []}, {**base, "accessLevel": "open"},
        {**base, "publisher": "Widget Services"}, {**base, "contactPoint": {"fn": "x"}}]
    validator = dcat_us.pod_validator(POD_SCHEMA)
    for v in variants:
        assert (not list(validator.iter_errors(v))) == (not dcat_us._builtin_problems(v)), v


def test_data_json_is_read_as_a_stream_from_a_file(tmp_path: Path) -> None:
    """A body past the fetcher's in-memory spool is a file on disk: parsed record by record."""
    path = tmp_path / "data.json"
    records = [pod_record(i) for i in range(3)] + ["not an object"]
    path.write_bytes(data_json(records))  # type: ignore[arg-type]
    with path.open("rb") as fh:
        parsed, refused = dcat_us.parse(fh, where="data.json")
    assert [r.identifier for r in parsed] == [pod_record(i)["identifier"] for i in range(3)]
    assert [(r.where, r.reason) for r in refused] == [("dataset[3]", "not a JSON object")]
    assert dcat_us.parse(b'{"conformsTo": "x", "dataset": []}', where="w") == ([], [])
    for body, message in ((b'{"dataset": {"a": 1}}', "no 'dataset' array"),
                          (b'[{"title": "x"}]', "no 'dataset' array"),
                          (b'{"dataset": [{"title": "x"}', "not JSON")):
        with pytest.raises(ValueError, match=message):
            dcat_us.parse(body, where="w")


def test_an_unchanged_portal_is_a_304_and_a_changed_record_an_update(
        catalog: Path, portal: Portal, capsys: pytest.CaptureFixture[str]) -> None:
    portal.serve("/data.json", data_json([pod_record(1), pod_record(2)]), etag='"v1"')
    peso(capsys, "harvest", "add", "acme", f"{portal.base}/data.json", "--kind", "dcat-us")
    assert len(peso(capsys, "harvest", "run", "acme", "--json")[1][0]["created"]) == 2
    _, [again] = peso(capsys, "harvest", "run", "acme", "--json")
    assert again["not_modified"] is True
    assert portal.log[-1][1].get("If-None-Match") == '"v1"'     # the conditional request
    changed = pod_record(2, title="Campaign spend two", keyword=["ads"])
    portal.serve("/data.json", data_json([pod_record(1), changed]), etag='"v2"')
    _, [third] = peso(capsys, "harvest", "run", "acme", "--json")
    assert third["unchanged"] == 1
    assert third["updated"] == [{"dataset": "acme/acme-2", "changed": ["keywords", "title"]}]


def test_fetch_data_loads_tabular_distributions_and_refuses_the_rest(
        catalog: Path, portal: Portal, capsys: pytest.CaptureFixture[str]) -> None:
    def dist(url: str, media: str) -> dict[str, Any]:
        return {"distribution": [{"downloadURL": url, "mediaType": media}]}
    portal.serve("/files/spend-1.csv", b"day,channel,spend\n2026-11-01,search,12.5\n"
                 b"2026-11-02,social,7\n", content_type="text/csv")
    portal.serve("/files/empty.csv", b"day,channel,spend\n", content_type="text/csv")
    records = [pod_record(1, **dist(f"{portal.base}/files/spend-1.csv", "text/csv")),
               pod_record(2, **dist("http://10.1.2.3/secret.csv", "text/csv")),
               pod_record(3, **dist(f"{portal.base}/files/empty.csv", "text/csv")),
               pod_record(4, **dist(f"{portal.base}/files/report.pdf", "application/pdf")),
               pod_record(5, **dist(f"{portal.base}/files/missing.csv", "text/csv"))]
    portal.serve("/data.json", data_json(records))
    code, _ = peso(capsys, "harvest", "add", "acme", f"{portal.base}/data.json", "--kind",
                   "dcat-us", "--fetch-data")
    assert code == 0
    _, [listed] = peso(capsys, "harvest", "list", "--json")
    assert listed["fetch_data"] is True
    code, [report] = peso(capsys, "harvest", "run", "acme", "--json")
    assert code == 0
    assert len(report["created"]) == 5                # the metadata of every record
    assert report["data_loaded"] == ["acme/acme-1 v1 (2 rows)"]
    why = {r["where"].split(" ")[0]: r["reason"] for r in report["data_refused"]}
    assert set(why) == {"acme-2", "acme-3", "acme-5"}  # acme-4 has no tabular distribution
    assert "not fetched" in why["acme-2"]
    assert "10.1.2.3" in why["acme-2"]
    assert "not loaded" in why["acme-3"]
    assert "--allow-empty" in why["acme-3"]   # a header only: refused, as peso load does
    assert "HTTP 404" in why["acme-5"]
    assert "data: 1 loaded, 3 not" in report["summary"]

    with app_client(create_app(make_settings(catalog.parent)), role=None) as client:
        got = q(client, """{ dataset(namespace: "acme", name: "acme-1") { layer tags { name }
            latestVersion { rowCount fields { name arrowType } preview(limit: 5) } } }""")
    version = got["dataset"]["latestVersion"]
    assert version["rowCount"] == 2
    assert [f["name"] for f in version["fields"]] == ["day", "channel", "spend"]
    assert "ads" in {t["name"] for t in got["dataset"]["tags"]}   # the metadata stays
    assert got["dataset"]["layer"] == "EXTERNAL"
    # an unchanged record is not downloaded again
    fetched = sum(1 for path, _ in portal.log if path == "/files/spend-1.csv")
    _, [again] = peso(capsys, "harvest", "run", "acme", "--json")
    assert again["unchanged"] == 5
    assert again["removed"] == []           # the loaded data's raw twin is not "stale"
    assert again["data_loaded"] == []
    assert sum(1 for path, _ in portal.log if path == "/files/spend-1.csv") == fetched


def test_vanished_records_are_removed_up_to_the_share(catalog: Path, portal: Portal,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    portal.serve("/data.json", data_json([pod_record(i) for i in range(10)]))
    peso(capsys, "harvest", "add", "acme", f"{portal.base}/data.json", "--kind", "dcat-us")
    peso(capsys, "harvest", "run", "acme")
    portal.serve("/data.json", data_json([pod_record(i) for i in range(9)]))   # 10% gone
    _, [one] = peso(capsys, "harvest", "run", "acme", "--json")
    assert one["removed"] == ["acme/acme-9"]
    assert "acme-9" not in datasets(catalog, "acme")
    portal.serve("/data.json", data_json([pod_record(i) for i in range(6)]))   # 33% gone
    code, [aborted] = peso(capsys, "harvest", "run", "acme", "--json")
    assert code == 1
    assert "3 of the source's 9 datasets are missing" in aborted["aborted"]
    assert aborted["removed"] == []
    assert len(datasets(catalog, "acme")) == 9                   # nothing was removed


# --- CKAN -------------------------------------------------------------------------------------

@needs_corpus
def test_ckan_package_search_is_paged_and_mapped(catalog: Path, portal: Portal,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    answer = json.loads(PACKAGES.read_text())
    packages = answer["result"]["results"]

    def search(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        query = parse_qs(urlsplit(h.path).query)
        start, rows = int(query["start"][0]), int(query["rows"][0])
        page = {**answer, "result": {**answer["result"], "count": len(packages),
                                     "results": packages[start:start + min(rows, 2)]}}
        return 200, {"Content-Type": "application/json"}, json.dumps(page).encode()
    portal.routes["/api/3/action/package_search"] = search
    peso(capsys, "harvest", "add", "demo", f"{portal.base}/api/3", "--kind", "ckan")
    code, [report] = peso(capsys, "harvest", "run", "demo", "--json")
    assert code == 0, report
    assert len(report["created"]) == 3
    starts = [parse_qs(urlsplit(p).query)["start"][0] for p, _ in portal.log
              if p.startswith("/api/3/action/package_search")]
    assert starts == ["0", "2"]                                  # two pages of (at most) 2
    found = datasets(catalog, "demo")
    first = packages[0]
    node = found[dataset_name(first["id"])]
    assert node["description"].startswith(first["title"])
    assert {t["name"] for t in node["tags"]} == {tag_of(t["name"]) for t in first["tags"]}
    assert "machine-learning" in {t["name"] for t in node["tags"]} | {
        t["name"] for n in found.values() for t in n["tags"]}
    publisher = (first.get("organization") or {}).get("title") or first.get("author")
    assert [e["entity"]["name"] for e in node["entities"]] == ([publisher] if publisher else [])
    orgs = {(p.get("organization") or {}).get("title") for p in packages} - {None}
    assert orgs <= {e["entity"]["name"] for n in found.values() for e in n["entities"]}
    facet = node["lineageFacets"]["peso_harvest"]
    assert facet["distributions"][0]["url"] == first["resources"][0]["url"]
    assert facet["landing_page"] == f"{portal.base}/dataset/{first['name']}"



@needs_corpus
def test_ckan_without_package_search_is_read_by_list_and_show(
        catalog: Path, portal: Portal, capsys: pytest.CaptureFixture[str]) -> None:
    """package_search switched off (404): package_list, then package_show per package, on the
    corpus's real package_list and package_show answers; the packages match package_search's."""
    folder = PACKAGES.parent
    shows = {}
    for path in folder.glob("*-*-*-*-*.json"):
        shows[json.loads(path.read_text())["result"]["name"]] = path.read_bytes()
    listed = json.loads((folder / "package_list.json").read_text())["result"]
    assert sorted(listed) == sorted(shows)

    def show(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        name = parse_qs(urlsplit(h.path).query)["id"][0]
        if name not in shows:
            return 404, {}, b'{"success": false, "error": {"message": "Not found"}}'
        return 200, {"Content-Type": "application/json"}, shows[name]
    portal.routes["/api/3/action/package_search"] = lambda h: (404, {}, b"search is off")
    portal.routes["/api/3/action/package_list"] = lambda h: (
        200, {"Content-Type": "application/json"},
        (folder / "package_list.json").read_bytes())
    portal.routes["/api/3/action/package_show"] = show
    peso(capsys, "harvest", "add", "demo", f"{portal.base}/api/3", "--kind", "ckan")
    code, [report] = peso(capsys, "harvest", "run", "demo", "--json")
    assert code == 0, report
    assert len(report["created"]) == len(shows) == 3
    assert report["refused"] == []
    found = datasets(catalog, "demo")
    for pkg in json.loads(PACKAGES.read_text())["result"]["results"]:
        node = found[dataset_name(pkg["id"])]
        assert node["description"].startswith(pkg["title"])
        facet = node["lineageFacets"]["peso_harvest"]
        assert [d["url"] for d in facet["distributions"]] == [r["url"] for r in pkg["resources"]]
    shown = [p for p, _ in portal.log if p.startswith("/api/3/action/package_show")]
    assert len(shown) == 3

# --- the network: failures, politeness, refusals ----------------------------------------------

def test_a_500_is_retried_then_reported(catalog: Path, portal: Portal,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("loaders.harvest.fetch.BACKOFF_SECONDS", 0.01)
    calls = {"n": 0}

    def flaky(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        calls["n"] += 1
        if calls["n"] <= 2:
            return 500, {}, b"oops"
        return 200, {"Content-Type": "application/json"}, data_json([pod_record(1)])
    portal.routes["/data.json"] = flaky
    portal.routes["/down.json"] = lambda h: (500, {}, b"down")
    peso(capsys, "harvest", "add", "flaky", f"{portal.base}/data.json", "--kind", "dcat-us")
    peso(capsys, "harvest", "add", "down", f"{portal.base}/down.json", "--kind", "dcat-us")
    assert len(peso(capsys, "harvest", "run", "flaky", "--json")[1][0]["created"]) == 1
    code, message = peso(capsys, "harvest", "run", "down")
    assert code == 1
    assert message.strip() == (f"peso: error: harvest down: {portal.base}/down.json: HTTP 500 "
                               "after 4 attempts")



def test_a_429_retry_after_is_waited_for(catalog: Path, portal: Portal,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The portal's Retry-After, not the (tiny) backoff, sets the wait before the retry."""
    monkeypatch.setattr("loaders.harvest.fetch.BACKOFF_SECONDS", 0.01)
    seen: list[float] = []

    def busy(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return 429, {"Retry-After": "1"}, b"slow down"
        return 200, {"Content-Type": "application/json"}, data_json([pod_record(1)])
    portal.routes["/data.json"] = busy
    peso(capsys, "harvest", "add", "busy", f"{portal.base}/data.json", "--kind", "dcat-us")
    assert len(peso(capsys, "harvest", "run", "busy", "--json")[1][0]["created"]) == 1
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 0.95, seen

def test_robots_txt_is_obeyed(catalog: Path, portal: Portal,
                              capsys: pytest.CaptureFixture[str]) -> None:
    portal.serve("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    portal.serve("/private/data.json", data_json([pod_record(1)]))
    peso(capsys, "harvest", "add", "shy", f"{portal.base}/private/data.json", "--kind", "dcat-us")
    code, message = peso(capsys, "harvest", "run", "shy")
    assert code == 1
    assert f"disallowed by {portal.base}/robots.txt" in message
    assert not any(p.startswith("/private/") for p, _ in portal.log)


def test_private_addresses_are_refused(catalog: Path, portal: Portal,
                                       capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PESO_HARVEST_ALLOW_HOSTS")
    code, message = peso(capsys, "harvest", "add", "local", f"{portal.base}/data.json",
                         "--kind", "dcat-us")
    assert code == 1
    assert "resolves to 127.0.0.1, which is not a public address" in message
    assert "PESO_HARVEST_ALLOW_HOSTS" in message
    # allowed host, but it redirects to a link-local address (cloud metadata): refused there
    monkeypatch.setenv("PESO_HARVEST_ALLOW_HOSTS", "127.0.0.1")
    portal.routes["/data.json"] = lambda h: (302, {"Location":
                                                   "http://169.254.169.254/latest/"}, b"")
    peso(capsys, "harvest", "add", "local", f"{portal.base}/data.json", "--kind", "dcat-us")
    code, message = peso(capsys, "harvest", "run", "local")
    assert code == 1
    assert "resolves to 169.254.169.254, which is not a public address" in message


def test_sources_are_listed_and_removed(catalog: Path, portal: Portal,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert peso(capsys, "harvest", "list", "--json") == (0, [])
    peso(capsys, "harvest", "add", "a", f"{portal.base}/a.json", "--kind", "dcat-us",
         "--every", "30m")
    peso(capsys, "harvest", "add", "b", f"{portal.base}/api/3", "--kind", "ckan")
    _, listed = peso(capsys, "harvest", "list", "--json")
    assert [(s["name"], s["kind"], s["every_seconds"]) for s in listed] == [
        ("a", "dcat-us", 1800), ("b", "ckan", 86400)]
    peso(capsys, "harvest", "remove", "a")
    assert [s["name"] for s in peso(capsys, "harvest", "list", "--json")[1]] == ["b"]
    code, message = peso(capsys, "harvest", "run", "a")
    assert code == 1
    assert "no harvest source named 'a'" in message
    code, message = peso(capsys, "harvest", "add", "B!", f"{portal.base}/x", "--kind", "ckan")
    assert code == 1
    assert "harvest name 'B!'" in message


# --- export round trip, DCAT RDF and schema.org -----------------------------------------------

def exported(data: Path, path: str) -> bytes:
    with app_client(create_app(make_settings(data.parent)), role="admin", pii=True) as client:
        answer = client.get(path)
        assert answer.status_code == 200, answer.text
        return answer.content


def same_harvest(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> None:
    assert sorted(a) == sorted(b)
    for name, node in a.items():
        fa, fb = node["lineageFacets"]["peso_harvest"], b[name]["lineageFacets"]["peso_harvest"]
        for key in ("identifier", "title", "description", "publisher", "license"):
            assert fa[key] == fb[key], (name, key)
        assert sorted(fa["keywords"]) == sorted(fb["keywords"]), name  # tags have no order
        assert [d["url"] for d in fa["distributions"]] == [d["url"] for d in fb["distributions"]]
        assert {t["name"] for t in node["tags"]} == {t["name"] for t in b[name]["tags"]}


@needs_corpus
def test_export_round_trip(tmp_path: Path, portal: Portal, capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Harvest a data.json, export Peso's /catalog/data.json, harvest that export into a fresh
    catalog: the same datasets, fields and distributions."""
    monkeypatch.setenv("PESO_HARVEST_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PESO_HARVEST_POD_SCHEMA_DIR", str(POD_SCHEMA))
    first, second = tmp_path / "one" / "peso-data", tmp_path / "two" / "peso-data"
    portal.serve("/data.json", EXTENDED.read_bytes())
    monkeypatch.setenv("PESO_DATA_DIR", str(first))
    peso(capsys, "harvest", "add", "agency", f"{portal.base}/data.json", "--kind", "dcat-us")
    assert len(peso(capsys, "harvest", "run", "agency", "--json")[1][0]["created"]) == 3
    portal.serve("/export.json", exported(first, "/catalog/data.json"))
    monkeypatch.setenv("PESO_DATA_DIR", str(second))
    peso(capsys, "harvest", "add", "agency", f"{portal.base}/export.json", "--kind", "dcat-us")
    code, [report] = peso(capsys, "harvest", "run", "agency", "--json")
    assert code == 0, report
    assert (len(report["created"]), report["refused"]) == (3, [])   # valid POD, all of it
    same_harvest(datasets(first, "agency"), datasets(second, "agency"))


@needs_corpus
@pytest.mark.parametrize(("fmt", "path"), [("turtle", "/catalog/catalog.ttl"),
                                           ("json-ld", "/catalog/catalog.jsonld")])
def test_dcat_rdf_from_peso_own_export(tmp_path: Path, portal: Portal, fmt: str, path: str,
                                       capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PESO_HARVEST_ALLOW_HOSTS", "127.0.0.1")
    first, second = tmp_path / "one" / "peso-data", tmp_path / "two" / "peso-data"
    portal.serve("/data.json", SAMPLE.read_bytes())
    monkeypatch.setenv("PESO_DATA_DIR", str(first))
    peso(capsys, "harvest", "add", "agency", f"{portal.base}/data.json", "--kind", "dcat-us")
    peso(capsys, "harvest", "run", "agency")
    media = "text/turtle" if fmt == "turtle" else "application/ld+json"
    portal.serve("/catalog", exported(first, path), content_type=media)
    monkeypatch.setenv("PESO_DATA_DIR", str(second))
    peso(capsys, "harvest", "add", "rdf", f"{portal.base}/catalog", "--kind", "dcat-rdf")
    code, [report] = peso(capsys, "harvest", "run", "rdf", "--json")
    assert code == 0, report
    # Peso's RDF names each dataset NAMESPACE.NAME (dct:identifier): those come back
    assert sorted(report["created"]) == sorted(
        f"rdf/{dataset_name(f'agency.{name}')}" for name in datasets(first, "agency"))


DCAT_AP_XML = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:dct="http://purl.org/dc/terms/"
  xmlns:foaf="http://xmlns.com/foaf/0.1/" xmlns:vcard="http://www.w3.org/2006/vcard/ns#">
 <dcat:Dataset rdf:about="https://data.europa.eu/88u/dataset/ad-spend">
  <dct:title xml:lang="de">Werbeausgaben</dct:title>
  <dct:title xml:lang="en">Advertising spend</dct:title>
  <dct:description xml:lang="en">Monthly advertising spend by medium.</dct:description>
  <dct:identifier>ad-spend-2026</dct:identifier>
  <dcat:keyword>advertising</dcat:keyword><dcat:keyword>media</dcat:keyword>
  <dcat:theme rdf:resource="http://publications.europa.eu/resource/authority/data-theme/ECON"/>
  <dct:modified>2026-11-30</dct:modified>
  <dct:publisher><foaf:Agent><foaf:name>Statistik Amt</foaf:name></foaf:Agent></dct:publisher>
  <dcat:contactPoint><vcard:Kind><vcard:fn>Max Muster</vcard:fn>
    <vcard:hasEmail rdf:resource="mailto:max@amt.example"/></vcard:Kind></dcat:contactPoint>
  <dct:temporal><dct:PeriodOfTime><dcat:startDate>2020-01-01</dcat:startDate>
    <dcat:endDate>2026-10-31</dcat:endDate></dct:PeriodOfTime></dct:temporal>
  <dcat:distribution><dcat:Distribution>
    <dcat:downloadURL rdf:resource="https://data.europa.eu/files/ad-spend.csv"/>
    <dcat:mediaType>text/csv</dcat:mediaType><dcat:byteSize>12345</dcat:byteSize>
    <dct:license rdf:resource="http://creativecommons.org/licenses/by/4.0/"/>
  </dcat:Distribution></dcat:distribution>
 </dcat:Dataset>
 <dcat:Dataset rdf:about="https://data.europa.eu/88u/dataset/untitled"/>
</rdf:RDF>"""


def test_dcat_ap_rdf_xml(catalog: Path, portal: Portal,
                         capsys: pytest.CaptureFixture[str]) -> None:
    portal.serve("/catalog.rdf", DCAT_AP_XML, content_type="application/rdf+xml")
    peso(capsys, "harvest", "add", "eu", f"{portal.base}/catalog.rdf", "--kind", "dcat-rdf")
    code, [report] = peso(capsys, "harvest", "run", "eu", "--json")
    assert code == 0
    assert report["created"] == ["eu/ad-spend-2026"]
    assert report["refused"] == [{"where": "https://data.europa.eu/88u/dataset/untitled",
                                  "reason": "a dcat:Dataset needs a dct:title and a "
                                            "dct:identifier (or an IRI)"}]
    node = datasets(catalog, "eu")["ad-spend-2026"]
    facet = node["lineageFacets"]["peso_harvest"]
    assert facet["title"] == "Advertising spend"                     # English preferred
    assert facet["temporal"] == "2020-01-01/2026-10-31"
    assert facet["license"] == "http://creativecommons.org/licenses/by/4.0/"
    assert facet["distributions"] == [{"url": "https://data.europa.eu/files/ad-spend.csv",
                                       "media_type": "text/csv", "format": None,
                                       "byte_size": 12345, "title": None,
                                       "access": False}]
    assert node["entities"][0]["entity"]["name"] == "Statistik Amt"
    assert node["owners"] == [{"name": "***", "email": "***"}]


def test_a_remote_jsonld_context_is_not_fetched(catalog: Path, portal: Portal,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    doc = {"@context": "http://169.254.169.254/context.jsonld", "@type": "dcat:Dataset"}
    portal.serve("/c.jsonld", json.dumps(doc).encode(), content_type="application/ld+json")
    peso(capsys, "harvest", "add", "ctx", f"{portal.base}/c.jsonld", "--kind", "dcat-rdf")
    code, message = peso(capsys, "harvest", "run", "ctx")
    assert code == 1
    assert "names a remote @context (http://169.254.169.254/context.jsonld)" in message


SCHEMA_ORG_PAGE = b"""<!doctype html><html><head><title>Open data</title>
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "WebSite", "name": "Open data portal"},
  {"@type": ["Dataset", "CreativeWork"], "@id": "https://city.example/d/footfall",
   "name": "Retail footfall", "description": "Daily visitors per shopping street.",
   "keywords": "retail, footfall, streets", "license": {"url": "https://creativecommons.org/licenses/by/4.0/"},
   "dateModified": "2026-11-02", "temporalCoverage": "2024-01-01/..",
   "spatialCoverage": {"@type": "Place", "name": "Old Town"},
   "publisher": {"@type": "Organization", "name": "City of Example"},
   "creator": {"@type": "Person", "name": "Ada Analyst", "email": "ada@city.example"},
   "distribution": [{"@type": "DataDownload", "contentUrl": "https://city.example/footfall.csv",
                     "encodingFormat": "text/csv", "contentSize": "2.5 MB"}]}
]}
</script>
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "DataCatalog", "name": "All data",
 "dataset": [{"@type": "Dataset", "name": "Parking", "identifier":
   {"@type": "PropertyValue", "value": "parking-2026"}},
  {"@type": "Dataset", "description": "no name"}]}
</script></head><body>Open data</body></html>"""


def test_schema_org_datasets_embedded_in_html(catalog: Path, portal: Portal,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    portal.serve("/data", SCHEMA_ORG_PAGE, content_type="text/html; charset=utf-8")
    peso(capsys, "harvest", "add", "city", f"{portal.base}/data", "--kind", "schema-org")
    code, [report] = peso(capsys, "harvest", "run", "city", "--json")
    assert code == 0
    assert sorted(report["created"]) == [
        f"city/{dataset_name('https://city.example/d/footfall')}", "city/parking-2026"]
    assert [r["reason"] for r in report["refused"]] == [
        "a schema.org Dataset needs a name and an identifier (or @id, or url)"]
    found = datasets(catalog, "city")
    footfall = found[dataset_name("https://city.example/d/footfall")]
    facet = footfall["lineageFacets"]["peso_harvest"]
    assert facet["keywords"] == ["retail", "footfall", "streets"]
    assert facet["spatial"] == "Old Town"
    assert facet["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert facet["distributions"][0]["byte_size"] == 2_500_000
    assert footfall["entities"][0]["entity"]["name"] == "City of Example"
    assert footfall["owners"] == [{"name": "***", "email": "***"}]   # the creator: PII


def test_schema_org_standalone_jsonld(catalog: Path, portal: Portal,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    doc = [{"@context": "https://schema.org", "@type": "schema:Dataset", "name": "Coupons",
            "url": "https://shop.example/coupons", "keywords": ["coupons", "promotions"]}]
    portal.serve("/coupons.jsonld", json.dumps(doc).encode(),
                 content_type="application/ld+json")
    peso(capsys, "harvest", "add", "shop", f"{portal.base}/coupons.jsonld", "--kind",
         "schema-org")
    code, [report] = peso(capsys, "harvest", "run", "shop", "--json")
    assert code == 0
    assert report["created"] == [f"shop/{dataset_name('https://shop.example/coupons')}"]


# --- GraphQL ----------------------------------------------------------------------------------

def test_harvest_sources_over_graphql(tmp_path: Path, portal: Portal) -> None:
    portal.serve("/data.json", data_json([pod_record(1), pod_record(2)]))
    settings = make_settings(tmp_path, PESO_HARVEST_ALLOW_HOSTS="127.0.0.1")
    add = """mutation($url: String!) { addHarvestSource(input: {name: "acme", url: $url,
        kind: "dcat-us", every: "6h"}) { harvestSource { name everySeconds }
        errors { message field } } }"""
    with app_client(create_app(settings)) as admin:
        added = q(admin, add, url=f"{portal.base}/data.json")["addHarvestSource"]
        assert added == {"harvestSource": {"name": "acme", "everySeconds": 21600}, "errors": []}
        bad = q(admin, add, url="http://10.1.2.3/data.json")["addHarvestSource"]
        assert bad["harvestSource"] is None
        assert "not a public address" in bad["errors"][0]["message"]
        ran = q(admin, 'mutation { runHarvest(name: "acme") { report errors { message } } }')
        assert ran["runHarvest"]["report"]["created"] == ["acme/acme-1", "acme/acme-2"]
        listed = q(admin, "{ harvestSources { name kind url lastRuns { state } } }")
        assert listed["harvestSources"] == [{"name": "acme", "kind": "dcat-us",
                                             "url": f"{portal.base}/data.json",
                                             "lastRuns": [{"state": "COMPLETE"}]}]
        writer = client_as(admin, "writer")
        denied = writer.post("/graphql", json={"query":
                                               'mutation { runHarvest(name: "acme") { report } }'})
        assert "errors" in denied.json()
        gone = q(admin, 'mutation { removeHarvestSource(name: "acme") { harvestSource { name } '
                        "errors { message } } }")["removeHarvestSource"]
        assert gone["harvestSource"] == {"name": "acme"}
        assert q(admin, "{ harvestSources { name } }")["harvestSources"] == []


def test_a_harvest_run_is_shown_live_through_catalog_events(tmp_path: Path,
                                                            portal: Portal) -> None:
    """A subscriber sees the harvest's OpenLineage run (START, then COMPLETE) and the datasets
    it registered, as they happen."""
    portal.serve("/data.json", data_json([pod_record(1)]))
    settings = make_settings(tmp_path, PESO_HARVEST_ALLOW_HOSTS="127.0.0.1")
    subscribe = """subscription { catalogEvents(kinds: [OPENLINEAGE_EVENT, DATASET_REGISTERED])
      { kind detail dataset { namespace name } } }"""
    with app_client(create_app(settings)) as admin:
        q(admin, 'mutation($url: String!) { addHarvestSource(input: {name: "live", url: $url, '
                 'kind: "dcat-us"}) { errors { message } } }', url=f"{portal.base}/data.json")
        token = mint(admin, Role.READER)
        bare = client_as(admin, None)
        with bare.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init",
                          "payload": {"Authorization": f"Bearer {token}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": subscribe}})
            ran = q(admin, 'mutation { runHarvest(name: "live") { report } }')["runHarvest"]
            assert ran["report"]["created"] == ["live/acme-1"]
            seen: list[tuple[str, str]] = []
            while ("OPENLINEAGE_EVENT", "COMPLETE") not in seen:
                message = ws.receive_json()
                assert message["type"] == "next", message
                event = message["payload"]["data"]["catalogEvents"]
                detail = event["detail"] or {}
                seen.append((event["kind"], str(detail.get("eventType") or
                                                (event["dataset"] or {}).get("name"))))
                assert len(seen) < 20, seen
            ws.send_json({"id": "1", "type": "complete"})
    assert seen[0] == ("OPENLINEAGE_EVENT", "START"), seen
    assert ("DATASET_REGISTERED", "acme-1") in seen, seen
