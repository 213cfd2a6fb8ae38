"""Issue 10 item 3: the cost model prices what will run — the resolver's real default for an
omitted ``maxNodes``, variables as graphql-core coerces them (``100.0`` runs as 100), and a
filtered ``preview(where: …)`` as a scan — and a request at the cost limit finishes within the
documented query timeout."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from graphql import parse
from starlette.testclient import TestClient

from schema.cost import CostModel, operation_costs
from tests.helpers import load, write_csv
from tests.schema_walk import graphql_schema


def _cost(document: str, variables: dict[str, Any] | None = None, **model: Any) -> int:
    cost = CostModel(max_cost=50_000, caps={"first": 100, "last": 100, "limit": 1000,
                                             "maxNodes": 1000},
                     omitted={"maxNodes": 1000}, scan_cost=5000, **model)
    [(_, price)] = operation_costs(cost, graphql_schema(), parse(document), variables)
    return price


def _post(c: TestClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    return c.post("/graphql", json={"query": query, "variables": variables or {}}).json()


def _costly(body: dict[str, Any]) -> bool:
    return any("PESO_MAX_QUERY_COST" in e["message"] for e in body.get("errors", []))


IMPACT = '{ impact(namespace: "a", name: "b") { entries { dataset { name } } } }'


def test_an_omitted_max_nodes_is_priced_as_the_walk_cap() -> None:
    # the resolver walks PESO_MAX_LINEAGE_NODES (1000) when maxNodes is omitted, not 20
    assert _cost(IMPACT) == 1 + 1000 * (1 + (1 + 1))
    assert _cost(IMPACT.replace('name: "b")', 'name: "b", maxNodes: 20)')) == 1 + 20 * 3


def test_aliased_walks_without_max_nodes_are_refused(client: TestClient) -> None:
    walks = " ".join(f'w{i}: impact(namespace: "a", name: "b") {{ entries {{ dataset '
                     f'{{ name }} }} }}' for i in range(20))
    assert _costly(_post(client, "{ " + walks + " }"))
    small = walks.replace('name: "b")', 'name: "b", maxNodes: 5)')
    assert not _costly(_post(client, "{ " + small + " }"))


def test_float_variables_are_priced_as_the_int_they_run_as(client: TestClient) -> None:
    nested = ("query($n: Int) { datasets(first: 100) { edges { node { versions(first: $n) "
              "{ edges { node { version fields { name } } } } } } } }")
    assert _cost(nested, {"n": 100.0}) == _cost(nested, {"n": 100}) > 50_000
    assert _costly(_post(client, nested, {"n": 100.0}))
    assert _costly(_post(client, nested, {"n": 100}))
    assert not _costly(_post(client, nested, {"n": 5.0}))


def test_a_filtered_preview_is_priced_as_a_scan(client: TestClient) -> None:
    plain = '{ dataset(namespace: "a", name: "b") { latestVersion { preview(limit: 5) } } }'
    where = plain.replace("limit: 5", 'limit: 5, where: [{column: "id", value: 1}]')
    assert _cost(plain) < 10
    assert _cost(where) >= 5000
    aliases = " ".join(f"p{i}: " + where[2:-2] for i in range(30))
    assert _costly(_post(client, "{ " + aliases + " }"))


def test_a_request_at_the_cost_limit_finishes_within_the_query_timeout(
        client: TestClient, tmp_path: Path) -> None:
    rows = [(i, f"name {i % 97}", i * 1.5) for i in range(20_000)]
    load(client, write_csv(tmp_path / "big.csv", ["id", "label", "amount"], rows),
         "cost", "big")
    where = ('dataset(namespace: "cost", name: "big") { latestVersion { preview(limit: 1000, '
             'where: [{column: "label", value: "name 3"}]) } }')
    # 9 filtered previews: 9 * (1 + (1 + 5000)) = 45018 <= 50000; a tenth is over the limit
    document = "{ " + " ".join(f"p{i}: {where}" for i in range(9)) + " }"
    assert _cost("{ " + " ".join(f"p{i}: {where}" for i in range(10)) + " }") > 50_000
    assert _cost(document) <= 50_000
    timeout = client.app.state.settings.query_timeout_seconds  # type: ignore[attr-defined]
    started = time.monotonic()
    body = _post(client, document)
    elapsed = time.monotonic() - started
    assert "errors" not in body, body
    assert len(body["data"]["p0"]["latestVersion"]["preview"]["rows"]) > 0
    assert elapsed < timeout, f"a request at the cost limit took {elapsed:.1f} s"


# --- the price cache (CostModel.costs) ---------------------------------------------------------

PAGED = ("query P($n: Int, $q: String) { datasets(first: $n, filter: {text: $q}) { edges { "
         "node { versions(first: $n) { totalCount } } } } }")


def _model() -> CostModel:
    return CostModel(max_cost=50_000, caps={"first": 100, "last": 100, "limit": 1000,
                                             "maxNodes": 1000},
                     omitted={"maxNodes": 1000}, scan_cost=5000)


def _cached(model: CostModel, document: str, variables: dict[str, Any] | None) -> int:
    [(_, price)] = model.costs(graphql_schema(), parse(document), document, variables)
    return price


@pytest.mark.parametrize("variables", [None, {}, {"n": 7}, {"n": 7.0}, {"n": None},
                                       {"n": "7"}, {"n": True}, {"n": 100, "q": "x"},
                                       {"n": 10_000}])
def test_a_cached_price_is_the_fresh_price(variables: dict[str, Any] | None) -> None:
    model = _model()
    fresh = _cost(PAGED, variables)
    assert _cached(model, PAGED, variables) == fresh   # priced, then kept
    assert _cached(model, PAGED, variables) == fresh   # from the cache
    assert len(model._prices) == 1


def test_other_variables_are_priced_anew_and_strings_share_a_price() -> None:
    model = _model()
    prices = [_cached(model, PAGED, {"n": n}) for n in (2, 3, 2)]
    assert prices == [_cost(PAGED, {"n": 2}), _cost(PAGED, {"n": 3}), _cost(PAGED, {"n": 2})]
    assert prices[0] != prices[1]
    assert len(model._prices) == 2
    # an omitted variable takes its default, a given null does not: priced apart
    with_default = PAGED.replace("$n: Int,", "$n: Int = 50,")
    assert _cached(model, with_default, {}) == _cost(with_default, {}) != \
        _cached(model, with_default, {"n": None})
    before = len(model._prices)
    for text in ("a", "b", "c"):   # only the Int a variable runs as is in the key
        assert _cached(model, PAGED, {"n": 2, "q": text}) == _cost(PAGED, {"n": 2, "q": text})
    assert len(model._prices) == before + 1


def test_the_price_cache_is_bounded_and_skips_huge_documents() -> None:
    model = _model()
    model.cache_size = 5
    for n in range(1, 20):
        assert _cached(model, PAGED, {"n": n}) == _cost(PAGED, {"n": n})
    assert len(model._prices) == 5
    huge = PAGED + " " * 20_000
    assert _cached(model, huge, {"n": 3}) == _cost(PAGED, {"n": 3})
    assert all(len(key[1]) < 20_000 for key in model._prices)


def test_a_cached_price_still_refuses_over_the_limit(tmp_path: Path) -> None:
    from server.app import create_app
    from server.settings import Settings

    app = create_app(Settings.from_env({"PESO_DATA_DIR": str(tmp_path),
                                        "PESO_MAX_QUERY_COST": "500"}))
    with TestClient(app) as c:
        for _ in range(2):   # the second answer comes from the cached price
            assert _costly(_post(c, PAGED, {"n": 100}))
            assert not _costly(_post(c, PAGED, {"n": 2}))
