"""The web UI as the server ships it (no browser: tests/test_web_browser.py drives one):
the committed build is fresh against web/'s sources, the pages and assets are served from the
package with a self-only Content-Security-Policy, GraphiQL comes from the bundle (no CDN), and
an installation without the build says how to make it."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server import web_ui
from server.app import create_app
from tests.conftest import app_client, make_settings

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "web"
# what web/scripts/stamp.mjs hashes (keep the two lists equal)
ROOT_FILES = ("package.json", "package-lock.json", "tsconfig.json", "vite.config.ts",
              "index.html", "graphiql.html")
SOURCE_DIRS = ("src", "scripts")


def source_hash(web: Path) -> tuple[str, int]:
    """sha256 over "<path>\\0<sha256 of content>\\n" for each source, sorted by path."""
    files = [web / f for f in ROOT_FILES]
    for d in SOURCE_DIRS:
        files += [p for p in (web / d).rglob("*") if p.is_file()]
    rels = sorted(p.relative_to(web).as_posix() for p in files)
    digest = hashlib.sha256()
    for rel in rels:
        inner = hashlib.sha256((web / rel).read_bytes()).hexdigest()
        digest.update(f"{rel}\0{inner}\n".encode())
    return digest.hexdigest(), len(rels)


def build_info() -> dict[str, object]:
    info: dict[str, object] = json.loads((web_ui.STATIC_DIR / "build.json").read_text())
    return info


def test_the_committed_build_is_fresh_against_web_sources() -> None:
    stamp = build_info()
    expected, count = source_hash(WEB)
    assert stamp["sources"] == count
    assert stamp["sourceHash"] == expected, (
        "server/web_static was built from other sources than web/ holds now: run "
        "`npm ci --prefix web && npm run build --prefix web` and commit server/web_static")


def test_every_asset_the_build_lists_is_in_the_package() -> None:
    assets = build_info()["assets"]
    assert isinstance(assets, dict)
    on_disk = {p.relative_to(web_ui.STATIC_DIR).as_posix()
               for p in web_ui.STATIC_DIR.rglob("*") if p.is_file()} - {"build.json"}
    assert on_disk == set(assets)
    assert {"index.html", "graphiql.html", "assets/index.js", "assets/layout.worker.js"} <= on_disk


def _local_refs(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"#][^"]*)"', html)


@pytest.mark.parametrize("page", ["index.html", "graphiql.html"])
def test_pages_reference_only_files_of_the_build(page: str) -> None:
    html = (web_ui.STATIC_DIR / page).read_text()
    refs = _local_refs(html)
    assert refs, "a page with no script"
    for ref in refs:
        if ref.startswith("data:") or ref == "/graphql":
            continue
        assert ref.startswith("/assets/"), f"{page} loads {ref} from outside the build"
        assert (web_ui.STATIC_DIR / ref.lstrip("/")).is_file(), f"{page}: {ref} is missing"


def test_the_catalog_page_does_not_load_graphiql() -> None:
    html = (web_ui.STATIC_DIR / "index.html").read_text()
    assert "graphiql.js" not in html
    assert "graphiql.css" not in html


def test_the_home_page_is_the_catalog_ui_with_a_self_only_policy(anon_client: TestClient) -> None:
    resp = anon_client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert '<main id="main"' in resp.text
    assert "/assets/index.js" in resp.text
    csp = resp.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "connect-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["cache-control"] == "no-cache"


def test_assets_are_served_with_the_same_headers(anon_client: TestClient) -> None:
    resp = anon_client.get("/assets/index.js")
    assert resp.status_code == 200
    assert "javascript" in resp.headers["content-type"]
    assert resp.headers["content-security-policy"] == web_ui.CSP
    assert resp.headers["x-content-type-options"] == "nosniff"
    etag = resp.headers["etag"]
    again = anon_client.get("/assets/index.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/assets/nope.js", "/assets/../web_ui.py",
                                  "/assets/%2e%2e/web_ui.py", "/assets/..%2fapp.py"])
def test_no_file_outside_the_assets_is_served(anon_client: TestClient, path: str) -> None:
    resp = anon_client.get(path)
    assert resp.status_code == 404
    assert "import" not in resp.text


def test_graphiql_in_a_browser_is_the_bundled_one(anon_client: TestClient) -> None:
    resp = anon_client.get("/graphql", headers={"Accept": "text/html"})
    assert resp.status_code == 200
    assert "/assets/graphiql.js" in resp.text
    for cdn in ("unpkg", "jsdelivr", "cdnjs", "https://", "http://"):
        assert cdn not in resp.text
    assert resp.headers["content-security-policy"] == web_ui.CSP


def test_graphql_requests_still_get_json(anon_client: TestClient) -> None:
    resp = anon_client.get("/graphql", params={"query": "{ __typename }"})
    assert resp.status_code == 200
    assert resp.json() == {"data": {"__typename": "Query"}}


def test_without_the_build_the_server_says_how_to_make_it(
        anon_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_ui, "STATIC_DIR", tmp_path / "web_static")
    resp = anon_client.get("/")
    assert resp.status_code == 503
    assert "npm run build --prefix web" in resp.text
    assert "server/web_static/index.html" in resp.text
    page = anon_client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 503
    assert "graphiql.html" in page.text
    # the API itself does not need the UI
    assert anon_client.post("/graphql", json={"query": "{ __typename }"}).status_code == 200


def test_under_required_auth_the_pages_load_and_the_data_needs_a_token(tmp_path: Path) -> None:
    """The pages hold no data (like the GraphiQL page): they load for anyone, and then every
    read they make is refused without a token, which the UI turns into a sign-in prompt."""
    with app_client(create_app(make_settings(tmp_path, PESO_AUTH="required")), role=None) as c:
        assert c.get("/").status_code == 200
        assert c.get("/assets/index.js").status_code == 200
        assert c.get("/graphql", headers={"Accept": "text/html"}).status_code == 200
        refused = c.post("/graphql", json={"query": "{ datasets { totalCount } }"})
        assert refused.status_code == 401
