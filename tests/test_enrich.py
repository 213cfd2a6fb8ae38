"""Enrichers on the real marketing files (loaded through Peso's loader): semantic types, the
entities they describe, join keys; accepting and rejecting; the LLM prompt without PII."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from server.enrich import enrich_version
from server.enrich.decide import KEPT_NOTE, accept, reject
from server.models_suggestions import Suggestion, SuggestionKind, SuggestionStatus
from server.settings import Settings
from tests.conftest import BANK_CSV, CORPUS, MARKETING, needs_corpus
from tests.loaders_support import Stores, open_stores

ADDITIONAL = MARKETING / "uci_bank_additional__bank-additional_unquoted.csv"
RETAIL = MARKETING / "uci_online_retail__OnlineRetail_first999rows.csv"
AD_CLICK = MARKETING / "ad_click__advertising.csv"
DCAT = CORPUS / "dcat" / "pod_datajson" / "pod_v1.1_examples" / "catalog-sample.csv"


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    async with open_stores(tmp_path) as s:
        yield s


def settings(tmp: Path, **extra: Any) -> Settings:
    return Settings(data_dir=tmp, graph_url="sqlite:///unused", objects_url="file:///unused",
                    **extra)


async def enrich(stores: Stores, path: Path, name: str, **extra: Any) -> list[Suggestion]:
    result = await stores.load(path, "corpus", name)
    report = await enrich_version(stores.graph, stores.objects, settings(stores.tmp, **extra),
                                  result.curated.dataset.id)
    assert report.errors == {}
    return report.created


def semantic(found: list[Suggestion]) -> dict[str, tuple[str, bool]]:
    return {s.target: (s.value["semantic_type"], s.value["pii"]) for s in found
            if s.kind is SuggestionKind.SEMANTIC_TYPE}


def entities(found: list[Suggestion]) -> dict[str, bool]:
    return {s.value["kind"]: s.value["is_human"] for s in found
            if s.kind is SuggestionKind.ENTITY}


@needs_corpus
async def test_customer_id_email_phone_channel_and_name_types(stores: Stores) -> None:
    retail = await enrich(stores, RETAIL, "retail")
    assert semantic(retail)["customer_id"] == ("customer_id", True)
    assert semantic(retail)["stock_code"] == ("product_id", False)
    assert semantic(retail)["invoice_no"] == ("order_id", False)
    sample = next(s for s in retail if s.target == "customer_id")
    assert sample.evidence["sample_rows"] == 999
    assert sample.evidence["sampled"] is False
    # the marketing files hold no e-mail column: the real DCAT sample's hasEmail does; the
    # loader typed it already, so the enricher adds the person name beside it
    dcat = await enrich(stores, DCAT, "dcat")
    [fields] = await stores.graph.get_fields([
        (await stores.graph.get_latest_versions([dcat[0].dataset_id]))[0].id])  # type: ignore[union-attr]
    assert {f.name: (f.semantic_type, f.pii) for f in fields}["has_email"] == ("email", True)
    assert semantic(dcat)["fn"] == ("person_name", True)
    # the bank's "contact" column is the phone line kind the person was called on
    bank = await enrich(stores, BANK_CSV, "bank")
    assert semantic(bank)["contact"] == ("contact_channel", False)
    assert "age" not in {k for k, v in semantic(bank).items() if v[1]}   # age is not PII


async def test_phone_numbers_are_typed_and_pii(stores: Stores, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["member_no", "mobile", "signup"])
        for i in range(40):
            w.writerow([f"M{1000 + i}", f"+44 7700 9{i:05d}", f"2024-01-{1 + i % 28:02d}"])
    found = await enrich(stores, path, "contacts")
    [version] = await stores.graph.get_latest_versions([found[0].dataset_id])
    assert version is not None
    [fields] = await stores.graph.get_fields([version.id])
    typed = {f.name: (f.semantic_type, f.pii) for f in fields} | semantic(found)
    assert typed["mobile"] == ("phone", True)
    assert typed["member_no"] == ("customer_id", True)


async def test_the_template_draft_holds_no_range_of_a_pii_date(stores: Stores,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["plan", "birth", "joined"])
        for i in range(40):
            w.writerow([f"plan {i % 3}", f"19{50 + i}-03-0{1 + i % 9}",
                        f"2024-02-{1 + i % 28:02d}"])
    result = await stores.load(path, "corpus", "members")
    version = result.curated.version
    await stores.graph.set_field_semantics(version.id, "birth", semantic_type="date", pii=True,
                                           actor="alice")   # a person says: personal data
    report = await enrich_version(stores.graph, stores.objects, settings(stores.tmp),
                                  result.curated.dataset.id)
    [draft] = [s.value["description"] for s in report.created
               if s.kind is SuggestionKind.DESCRIPTION]
    assert "1950" not in draft
    assert "1989" not in draft
    assert "birth runs from" not in draft
    assert "Personal data in: birth" in draft


@needs_corpus
async def test_bank_files_describe_people_and_ad_click_a_campaign(stores: Stores) -> None:
    for path, name in ((BANK_CSV, "bank"), (ADDITIONAL, "bank_additional")):
        found = entities(await enrich(stores, path, name))
        assert found.get("person") is True
        assert found.get("customer") is True
    ad = entities(await enrich(stores, AD_CLICK, "ad_click"))
    assert ad.get("campaign") is False
    assert ad.get("channel") is False


@needs_corpus
async def test_join_key_found_and_false_one_not(stores: Stores, tmp_path: Path) -> None:
    # a customers table made from the real retail file: one row per customer
    seen: dict[str, str] = {}
    with RETAIL.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["CustomerID"]:
                seen.setdefault(row["CustomerID"], row["Country"])
    customers = tmp_path / "customers.csv"
    customers.write_text("CustomerID,Country\n" + "".join(f"{k},{v}\n" for k, v in
                                                          seen.items()))
    await enrich(stores, customers, "customers")
    await enrich(stores, ADDITIONAL, "bank_additional")   # shares age, job, ... but no key
    bank = await enrich(stores, BANK_CSV, "bank")
    assert [s for s in bank if s.kind is SuggestionKind.JOIN_KEY] == []
    retail = await enrich(stores, RETAIL, "retail")
    joins = [s for s in retail if s.kind is SuggestionKind.JOIN_KEY]
    assert [(s.target, s.value["dataset"], s.value["column"]) for s in joins] == [
        ("customer_id", "corpus/customers", "customer_id")]
    assert joins[0].evidence["containment"] >= 0.9
    assert "MinHash" in joins[0].evidence["method"]


@needs_corpus
async def test_accept_reject_and_a_persons_description_is_kept(stores: Stores) -> None:
    found = await enrich(stores, RETAIL, "retail")
    graph = stores.graph
    by_kind = {s.kind: s for s in found}
    tag = next(s for s in found if s.kind is SuggestionKind.TAG)
    decided = await accept(graph, tag.id, actor="alice")
    assert decided.applied
    tags = (await graph.get_tags([tag.dataset_id]))[0]
    assert tag.value["tag"] in {t.name for t in tags}
    entity = by_kind[SuggestionKind.ENTITY]
    await accept(graph, entity.id, actor="alice")
    [linked] = await graph.get_dataset_entities([entity.dataset_id])
    assert (entity.value["kind"], entity.value["name"]) in {(e.kind.value, e.name)
                                                          for e, _ in linked}
    column = next(s for s in found if s.target == "customer_id"
                  and s.kind is SuggestionKind.SEMANTIC_TYPE)
    await accept(graph, column.id, actor="alice")
    [fields] = await graph.get_fields([column.version_id])
    assert {f.name: f.semantic_type for f in fields}["customer_id"] == "customer_id"
    # a person's description is never overwritten: the draft stays pending with a note
    await graph.set_description("corpus", "retail", "Written by Alice.", actor="alice")
    draft = by_kind[SuggestionKind.DESCRIPTION]
    kept = await accept(graph, draft.id, actor="bob")
    assert not kept.applied
    assert kept.suggestion.status is SuggestionStatus.PENDING
    assert kept.suggestion.note == KEPT_NOTE
    assert (await graph.get_dataset("corpus", "retail")).description == "Written by Alice."  # type: ignore[union-attr]
    rejected = await reject(graph, draft.id, actor="bob", reason="no")
    assert rejected.suggestion.status is SuggestionStatus.REJECTED
    # enriching the same version again proposes nothing already decided (applied changes
    # are not proposed at all; the rest is skipped by key, the rejected draft included)
    again = await enrich_version(graph, stores.objects, settings(stores.tmp),
                                 draft.dataset_id)
    assert again.created == []
    assert again.skipped == len(found) - 3
    actions = [e.action for e in await graph.list_audit(limit=200)]
    for action in ("suggestion.proposed", "suggestion.accepted", "suggestion.rejected",
                   "suggestion.kept_pending", "field.semantics_set", "tag.added"):
        assert action in actions, action


class FakeLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint on 127.0.0.1 that records every request body."""

    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeLLM.bodies.append({"path": self.path, "auth": self.headers.get("Authorization"),
                               **body})
        answer = {"description": "Retail invoice lines of an online shop.",
                  "tags": ["Retail", "invoices", "bad tag!"]}
        payload = json.dumps({"choices": [{"message": {"role": "assistant",
                                                       "content": json.dumps(answer)}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def fake_llm() -> Iterator[str]:
    FakeLLM.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@needs_corpus
async def test_llm_writes_drafts_and_its_prompt_holds_no_pii(stores: Stores,
                                                             fake_llm: str) -> None:
    found = await enrich(stores, RETAIL, "retail", llm_url=fake_llm, llm_model="m1",
                         llm_api_key="k")
    [body] = FakeLLM.bodies
    assert body["path"] == "/v1/chat/completions"
    assert body["model"] == "m1"
    assert body["auth"] == "Bearer k"
    prompt = json.dumps(body["messages"])
    assert "customer_id" in prompt
    assert "values withheld" in prompt
    with RETAIL.open(newline="", encoding="utf-8") as fh:
        ids = {r["CustomerID"] for r in csv.DictReader(fh) if r["CustomerID"]}
    assert not [i for i in ids if i in prompt]          # no customer id value leaked
    assert "United Kingdom" in prompt                  # a non-PII value may be shown
    [draft] = [s for s in found if s.kind is SuggestionKind.DESCRIPTION]
    assert draft.value["description"] == "Retail invoice lines of an online shop."
    assert draft.evidence["writer"] == "llm"
    assert {s.value["tag"] for s in found if s.kind is SuggestionKind.TAG} == {
        "retail", "invoices", "bad-tag"}


async def test_llm_unreachable_falls_back_to_the_template(stores: Stores,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,x\n2,y\n")
    found = await enrich(stores, path, "t", llm_url="http://127.0.0.1:9/v1",
                         llm_timeout_seconds=2.0)
    [draft] = [s for s in found if s.kind is SuggestionKind.DESCRIPTION]
    assert draft.evidence["writer"] == "template"
    assert "cannot reach PESO_LLM_URL" in draft.evidence["llm_error"]
