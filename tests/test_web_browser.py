"""The web UI in a real browser: Playwright's Python package drives Debian's chromium
(/usr/bin/chromium; Playwright's own browser downloads do not work here) against a real
``peso serve --demo`` subprocess holding a generated 1,000-dataset lineage posted through the
OpenLineage endpoint. Screenshots of every page go to test-artifacts/web/ (gitignored).

Skipped when /usr/bin/chromium is absent, except under PESO_TEST_BROWSER=required, which
.ci/run sets after installing it: there a missing browser fails instead of skipping."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.serverproc import ServerProcess, create_token, running_server
from tests.web_lineage_graph import START_NAME, START_NS, post_lineage

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() and os.environ.get("PESO_TEST_BROWSER") == "required":
    pytest.fail("PESO_TEST_BROWSER=required (.ci/run) but /usr/bin/chromium is missing",
                pytrace=False)
if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "web"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 20_000
pytestmark = pytest.mark.slow


class Site:
    def __init__(self, server: ServerProcess, tokens: dict[str, str]) -> None:
        self.server, self.tokens = server, tokens
        self.base = server.base_url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("web") / "data"
    data.mkdir()
    tokens = {"writer": create_token(data, "ui-writer", "writer"),
              "reader": create_token(data, "ui-reader", "reader"),
              "pii": create_token(data, "ui-pii-reader", "reader", pii=True)}
    with running_server(data, "--demo") as server:
        post_lineage(server, tokens["writer"])
        yield Site(server, tokens)


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    shots = sorted(p.name for p in ARTIFACTS.glob("*.png"))
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\nweb UI screenshots ({len(shots)}): {ARTIFACTS}", flush=True)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield tab
    context.close()
    assert not [e for e in errors if "401" not in e], f"the page logged errors: {errors}"


def shot(page: Any, name: str, *, full: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def sign_in(page: Any, site: Site, token: str) -> None:
    page.goto(site.base + "/#/signin")
    page.fill("#token", token)
    page.click("form button[type=submit]")
    page.wait_for_function("() => /Signed in|refused|Could not/.test("
                           "document.getElementById('signin-status').textContent)")


def lineage_boxes(page: Any) -> int:
    return int(page.eval_on_selector_all("svg.lineage-svg .node", "els => els.length"))


def test_search_with_facets_and_open_a_dataset(page: Any, site: Site) -> None:
    page.goto(site.base + "/")
    page.wait_for_selector("#results .result")
    assert page.get_attribute("input#q", "type") == "search"
    page.wait_for_selector("[data-count=datasets]")
    assert int(page.text_content("[data-count=datasets]") or "0") >= 1000  # health summary
    shot(page, "home")

    page.fill("#q", "customers")
    page.press("#q", "Enter")
    page.wait_for_function("() => location.hash.includes('q=customers')")
    page.wait_for_selector("text=Results for “customers”")
    names = page.eval_on_selector_all(".result-name", "els => els.map(e => e.textContent)")
    assert "crm/customers" in names
    assert "crm/customers.raw" in names

    page.select_option("#f-layer", "CURATED")  # a facet: the form submits on change
    page.wait_for_function("() => location.hash.includes('layer=CURATED')")
    page.wait_for_function("() => { const r = [...document.querySelectorAll('.result-name')];"
                           " return r.length > 0"
                           " && r.every(e => !e.textContent.endsWith('.raw')); }")
    layers = page.eval_on_selector_all(".result .badge[title^='Layer']",
                                       "els => els.map(e => e.textContent)")
    assert layers
    assert set(layers) == {"curated"}
    shot(page, "search-facets")

    # the URL is the state: opening it afresh gives the same results
    page.goto(page.url)
    page.reload()
    page.wait_for_selector(".result-name")
    assert page.input_value("#q") == "customers"
    assert page.input_value("#f-layer") == "CURATED"

    page.click("a.result-name[href='#/dataset/crm/customers']")
    page.wait_for_selector("table.schema")
    assert "customers" in (page.text_content("h1") or "")
    email = page.locator("table.schema tr[data-field=email]")
    assert email.locator(".badge.pii").count() == 1
    assert "email" in (email.locator("td").nth(1).text_content() or "")  # semantic type
    assert page.locator("table.preview tbody tr").count() == 20
    assert "crm/customers.raw" in (page.text_content("section[aria-labelledby=lineage-title]")
                                   or "")
    assert page.locator("section[aria-labelledby=versions-title] tbody tr").count() >= 1
    shot(page, "dataset", full=True)


def _ui_preview_column(page: Any, column: str) -> list[str]:
    return list(page.eval_on_selector_all(
        "table.preview", """(tables, column) => {
            const t = tables[0];
            const i = [...t.querySelectorAll('thead th')].findIndex(
                th => th.firstChild.textContent === column);
            return [...t.querySelectorAll('tbody tr')].map(tr => tr.children[i].textContent);
        }""", column))


def _api_preview_column(site: Site, token: str, column: str) -> list[str]:
    resp = site.server.graphql(
        '{ dataset(namespace: "crm", name: "customers") { latestVersion { preview(limit: 20) } } }',
        Authorization=f"Bearer {token}")
    block = resp.json()["data"]["dataset"]["latestVersion"]["preview"]
    i = block["columns"].index(column)
    return [v if isinstance(v, str) else json.dumps(v) for v in (r[i] for r in block["rows"])]


def test_a_reader_sees_pii_masked_as_the_api_masks_it(page: Any, site: Site) -> None:
    sign_in(page, site, site.tokens["reader"])
    assert "Signed in" in (page.text_content("#signin-status") or "")
    assert page.evaluate("() => sessionStorage.getItem('peso.token')") == site.tokens["reader"]
    page.goto(site.base + "/#/dataset/crm/customers")
    page.wait_for_selector("table.preview")
    shown = _ui_preview_column(page, "email")
    assert shown == ["***"] * 20
    assert shown == _api_preview_column(site, site.tokens["reader"], "email")
    assert page.locator("table.preview th.masked:has-text('email')").count() == 1
    assert "***" in (page.text_content("table.schema tr[data-field=email]") or "")
    assert "@example.com" not in (page.content())
    shot(page, "dataset-reader-masked", full=True)

    sign_in(page, site, site.tokens["pii"])
    page.goto(site.base + "/#/dataset/crm/customers")
    page.wait_for_selector("table.preview")
    unmasked = _ui_preview_column(page, "email")
    assert all(v.endswith("@example.com") for v in unmasked)
    assert unmasked == _api_preview_column(site, site.tokens["pii"], "email")


def test_a_refused_token_is_said_and_not_kept(page: Any, site: Site) -> None:
    sign_in(page, site, "peso_not-a-real-token")
    assert "refused" in (page.text_content("#signin-status") or "")
    assert page.evaluate("() => sessionStorage.getItem('peso.token')") is None
    shot(page, "signin-refused")


def test_lineage_of_a_1000_dataset_graph(page: Any, site: Site) -> None:
    page.goto(f"{site.base}/#/lineage/{START_NS}/{START_NAME}?depth=10")
    page.wait_for_selector("main[data-lineage=drawn]")
    status = page.text_content("#lineage-status") or ""
    assert "1,000 datasets" in status
    folded = lineage_boxes(page)
    assert 10 < folded < 60, status  # folded by namespace: readable
    draw_ms = page.evaluate("() => performance.getEntriesByName('peso:lineage:draw')[0].duration")
    print(f"1,000-dataset lineage drawn in {draw_ms:.0f} ms (navigation to first draw)")
    shot(page, "lineage-1000-folded")

    # expand a folded group with the keyboard: focus it, Enter
    group = page.locator('svg .node.group[data-id="g:ns:down-04"]')
    members = int((group.locator("text.sub").text_content() or "0").split()[0])
    group.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("n => document.querySelectorAll('svg .node').length >= n",
                           arg=folded + members - 1)
    assert "ns%3Adown-04" in page.url  # the open group is in the URL
    shot(page, "lineage-1000-expanded")

    # find in the graph, focus the first match: its path is highlighted, the rest dimmed
    page.fill("#l-find", "out_0100")
    page.wait_for_selector("#match-count")
    assert (page.text_content("#match-count") or "").startswith("1 dataset")
    found = page.text_content("#match-panel li button") or ""
    assert found.endswith("/out_0100")
    page.press("#l-find", "Enter")
    page.wait_for_function("name => (document.getElementById('focus-name') || {}).textContent"
                           " === name", arg=found)
    page.wait_for_selector("svg .node.focus")
    assert page.locator("svg .node.up").count() > 0
    assert page.locator("svg .node.dim").count() > 0
    assert page.locator("svg path.edge.hi").count() > 0
    assert "700 datasets downstream" in (page.text_content("#impact-panel") or "")
    assert page.locator("#impact-panel ol.impact li").count() == 200  # the list's cap

    # column lineage of the focused dataset
    page.fill("#col-field", "email")
    page.press("#col-field", "Enter")
    page.wait_for_selector("#column-lineage table caption")
    assert "column edge" in (page.text_content("#column-lineage caption") or "")
    assert "out_0033.email" in (page.text_content("#column-lineage") or "")
    shot(page, "lineage-1000-focus")

    # the URL carries the whole state: a fresh page shows the same focus
    url = page.url
    fresh = page.context.new_page()
    fresh.goto(url)
    fresh.wait_for_selector("main[data-lineage=drawn]")
    fresh.wait_for_selector("#focus-name")
    assert fresh.text_content("#focus-name") == found
    fresh.close()

    # every dataset at once still draws
    page.goto(f"{site.base}/#/lineage/{START_NS}/{START_NAME}?depth=10&group=none")
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('svg .node').length === 1000",
                           timeout=60_000)
    shot(page, "lineage-1000-unfolded")


def test_graphiql_loads_locally_and_runs_a_query(page: Any, site: Site) -> None:
    sign_in(page, site, site.tokens["reader"])
    page.goto(site.base + "/graphql")
    page.wait_for_selector(".graphiql-container")
    page.click("button:has-text('Headers')")
    headers = page.locator(".graphiql-editor-tool .CodeMirror").last.text_content() or ""
    assert "Authorization" in headers
    assert site.tokens["reader"] in headers
    page.click(".graphiql-execute-button")
    page.wait_for_function("() => /totalCount/.test((document.querySelector("
                           "'.result-window') || {}).textContent || '')")
    assert re.search(r'"totalCount":\s*\d+', page.text_content(".result-window") or "")
    shot(page, "graphiql")


def test_no_request_leaves_the_server(browser: Any, site: Site) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url))
    tab = context.new_page()
    try:
        tab.goto(site.base + "/")
        tab.wait_for_selector("#results .result")
        tab.fill("#q", "campaign")
        tab.press("#q", "Enter")
        tab.wait_for_selector("text=Results for “campaign”")
        tab.goto(site.base + "/#/dataset/crm/customers")
        tab.wait_for_selector("table.preview")
        tab.goto(f"{site.base}/#/lineage/{START_NS}/{START_NAME}?depth=10")
        tab.wait_for_selector("main[data-lineage=drawn]")
        tab.goto(site.base + "/#/signin")
        tab.wait_for_selector("#token")
        tab.goto(site.base + "/graphql")
        tab.wait_for_selector(".graphiql-container")
        tab.click(".graphiql-execute-button")
        tab.wait_for_selector(".result-window .CodeMirror-code")
    finally:
        context.close()
    assert len(seen) > 10
    # data: URLs (GraphiQL's inlined fonts) are not network requests
    outside = [u for u in seen if not u.startswith("data:")
               and urlsplit(u).hostname != "127.0.0.1"]
    assert not outside, f"requests left the server: {outside}"
    assert any("/assets/layout.worker.js" in u for u in seen)


def test_themes_follow_the_system_and_the_toggle(page: Any, site: Site) -> None:
    def background() -> int:
        rgb = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        return sum(int(c) for c in re.findall(r"\d+", rgb)[:3])

    page.emulate_media(color_scheme="dark")
    page.goto(site.base + "/")
    page.wait_for_selector("#results .result")
    assert background() < 150
    shot(page, "home-dark")
    page.click("#theme-toggle")  # system -> light
    assert page.get_attribute("html", "data-theme") == "light"
    assert background() > 600
    page.click("#theme-toggle")  # light -> dark
    assert page.get_attribute("html", "data-theme") == "dark"
    assert background() < 150


def test_landmarks_labels_and_keyboard(page: Any, site: Site) -> None:
    page.goto(site.base + "/")
    page.wait_for_selector("#results .result")
    for selector in ("header[role=banner]", "nav[aria-label=Main]", "main#main",
                     "footer[role=contentinfo]", "form[role=search]"):
        assert page.locator(selector).count() == 1, selector
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, button')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                      && !el.textContent.trim())
        .map(el => el.outerHTML)""")
    assert unlabelled == []
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("() => document.activeElement.className") == "skip-link"


def test_a_server_that_needs_a_token_asks_for_one(page: Any,
                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("web-required") / "data"
    data.mkdir()
    reader = create_token(data, "ui-required-reader", "reader")
    with running_server(data, PESO_AUTH="required") as server:
        page.goto(server.base_url + "/")
        page.wait_for_selector("#notices .notice.error")
        text = page.text_content("#notices") or ""
        assert "needs an API token" in text
        assert page.locator("#notices a[href='#/signin']").count() == 1
        shot(page, "home-token-required")
        sign_in(page, Site(server, {}), reader)
        assert "Signed in" in (page.text_content("#signin-status") or "")
        page.goto(server.base_url + "/#/")
        page.wait_for_selector("#results-count")
        assert page.locator("#notices .notice.error").count() == 0
        # leave the page before this test's server stops: a request the UI still has in
        # flight would otherwise fail with "connection refused" and count as a page error
        page.goto("about:blank")
