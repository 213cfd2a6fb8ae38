"""No N+1 anywhere in the query side of the schema: for EVERY list (or connection) field of
every type reachable from ``Query`` — enumerated from the live schema by tests/list_fields.py,
so a list field added tomorrow is tested tomorrow — one query reaching it with a nested
selection costs the same graph-store calls on a catalog of 5 units as on one of 50.

The app is the real ASGI app over HTTP on a real SQLite file; the graph store is the real
``SQLiteGraphStore`` behind ``CountingGraphStore`` (conftest.py), which only counts calls on
their way through. A unit of the catalog is a dataset with two versions (fields with profiles,
a quality report, schema changes), a source, two tags, an owner, an entity, an OpenLineage job
whose run derives it from ``hub`` and another whose run derives ``sink`` from it (column
lineage and facets included), a harvest source with one run of its harvest job (which read
the dataset, with quality facets, and wrote ``sink``), two pending suggestions, and an API
token (a collector's, with its namespace): so every list has 10x the items in the big
catalog, which each test checks before comparing the calls. No field is excused: a list that
grows its store calls fails here.

The caller is an admin token WITHOUT the pii permission, so the masking paths (which read
fields and versions to know what to mask) run too."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from loaders.harvest import sources as harvest_sources
from server.app import create_app
from server.auth import create_token
from server.models import (
    DatasetKey,
    EntityKind,
    FieldSpec,
    NewVersion,
    OwnerKind,
    Role,
    SourceKind,
)
from server.models_suggestions import NewSuggestion, SuggestionKind
from server.openlineage import producer
from server.openlineage.consumer import ingest
from server.storage.graph import GraphStore
from server.storage.local import LocalObjectStore
from server.storage.sqlite.store import SQLiteGraphStore
from tests.conftest import CountingGraphStore, app_client, make_settings
from tests.helpers import call
from tests.lineage_events import PRODUCER, column_lineage, ds, run_event
from tests.list_fields import (
    ListField,
    QueryBuilder,
    count_items,
    enum,
    items_at,
    list_fields,
    response_path,
)
from tests.schema_walk import graphql_schema

W = "warehouse"
SMALL, BIG = 5, 50
PAGE = 300  # every `first` (PESO_MAX_PAGE_SIZE raised to it): a page holds the whole big catalog

# Required arguments of the fields a path may walk through, naming things the seed made.
ARGS: dict[str, dict[str, Any]] = {
    "Query.search": {"query": "unit"},
    # the log holds every write of the seed (more than a page); one kind grows 10x
    "Query.auditLog": {"action": "token.created"},
    "Query.lineage": {"namespace": W, "name": "hub", "direction": enum("BOTH"), "depth": 3},
    "Query.impact": {"namespace": W, "name": "hub", "depth": 3},
    "Query.lineagePath": {"from": {"namespace": W, "name": "hub"},
                          "to": {"namespace": W, "name": "sink"}, "maxDepth": 3},
    "Query.columnLineage": {"namespace": W, "name": "hub", "field": "id",
                            "direction": enum("BOTH"), "depth": 3},
}
# Fields left out of every selection, and why.
SKIP = frozenset({
    # reads the object store (Parquet), not the graph store; the seed has no files
    "DatasetVersion.preview",
    # refused for versions holding PII without the pii grant (the caller has none, on
    # purpose); its graph reads are the `fields` loader, counted through DatasetVersion.fields
    "DatasetVersion.downloadUrl", "Dataset.downloadUrl",
})


def _facet(**body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": "https://example.org/facet", **body}


def _version(i: int, v: int) -> NewVersion:
    stats = {"count": 10, "null_count": 1, "distinct_count": 2,
             "top_values": [{"value": "a", "count": 6}, {"value": "b", "count": 3}]}
    fields = [FieldSpec("id", "int64" if v == 1 else "string", stats=stats),
              FieldSpec("email", "string", pii=True, semantic_type="email", stats=stats)
              if v == 1 else FieldSpec("amount", "double", stats=stats)]
    quality = {"passed": False, "on_violation": "quarantine", "rows_checked": 10,
               "rows_failed": 1, "checks": [
                   {"name": "id_not_null", "column": "id", "rule": "not_null", "passed": 9,
                    "failed": 1, "samples": [{"row": 3, "value": None}]},
                   {"name": "amount_min", "column": "amount", "rule": "min", "expected": 0,
                    "passed": 10, "failed": 0}]}
    changes = {"previous_version": v - 1 or None, "first_version": v == 1,
               "added": ["amount"] if v == 2 else [], "removed": ["email"] if v == 2 else [],
               "retyped": [{"name": "id", "from": "int64", "to": "string"}] if v == 2 else [],
               "row_count_change": 5}
    return NewVersion(namespace=W, name=f"unit_{i:03d}", content_hash=f"{i:060x}{v:04x}",
                      row_count=10 + v, byte_size=1000, fields=fields, format="csv",
                      curated_key=f"curated/{W}/unit_{i:03d}/v{v}/part-0.parquet",
                      source_name=f"source {i}", description=f"unit {i} version {v}",
                      quality=quality, changes=changes)


async def seed(graph: GraphStore, units: int) -> None:
    actor = "seed"
    for i in range(units):
        name = f"unit_{i:03d}"
        key = DatasetKey(W, name)
        await graph.upsert_source(name=f"source {i}", kind=SourceKind.VENDOR, actor=actor)
        await graph.upsert_dataset(namespace=W, name=name, source_name=f"source {i}",
                                   actor=actor)
        for tag in ("kpi", f"t{i % 3}"):
            await graph.add_tag(key, tag, actor=actor)
        await graph.add_owner(key, name=f"team {i}", kind=OwnerKind.TEAM, actor=actor)
        entity = await graph.upsert_entity(kind=EntityKind.AUDIENCE, name=f"audience {i}",
                                           actor=actor)
        await graph.link_entity(key, entity.id, role="subject", actor=actor)
        owners = {"ownership": _facet(owners=[{"name": f"team:unit{i}", "type": "TEAM"}])}
        quality = {"dataQualityMetrics": _facet(rowCount=10, columnMetrics={
            "id": {"nullCount": 0, "min": 1, "max": 9},
            "email": {"nullCount": 0, "min": 3, "max": 7}})}
        made = run_event(f"make_{i:03d}", f"00000000-0000-4000-8000-{i:012d}",
                         job_facets=owners, inputs=[ds("hub", fields=["id"])],
                         outputs=[ds(name, fields=["id"], columnLineage=column_lineage(
                             {"id": [(W, "hub", "id")]}))])
        sunk = run_event(f"sink_{i:03d}", f"00000000-0000-4000-9000-{i:012d}", minute=1,
                         inputs=[{**ds(name, fields=["id"]), "inputFacets": quality}],
                         outputs=[ds("sink", fields=["id"], columnLineage=column_lineage(
                             {"id": [(W, name, "id")]}))])
        # a portal harvested into the catalog, and one run of its harvest job (the job Peso's
        # harvester reports to) that read this unit and wrote ``sink``
        portal = f"portal-{i:03d}"
        await harvest_sources.save(graph, harvest_sources.HarvestSource(
            name=portal, url=f"https://{portal}.example.org/data.json", kind="dcat-us",
            every_seconds=86400), actor=actor)
        harvested = run_event(f"peso.harvest.{portal}", f"00000000-0000-4000-a000-{i:012d}",
                              namespace=producer.NAMESPACE, minute=2,
                              inputs=[{**ds(name, fields=["id"]), "inputFacets": quality}],
                              outputs=[ds("sink", fields=["id"])])
        for raw in (made, sunk, harvested):
            outcome = await ingest(graph, raw, actor=actor)
            assert outcome.result.created
        # after the events: their schema facets register versions too; these are the latest
        for v in (1, 2):
            [reg] = await graph.register_versions([_version(i, v)], actor=actor)
        # two pending enricher suggestions on the latest version
        await graph.put_suggestions([NewSuggestion(
            dataset_id=reg.dataset.id, version_id=reg.version.id, version=reg.version.version,
            kind=kind, target=target, value=value, confidence=0.8, evidence={},
            enricher="seed", enricher_version="1") for kind, target, value in (
                (SuggestionKind.SEMANTIC_TYPE, "amount", {"semantic_type": "currency_amount",
                                                          "pii": False}),
                (SuggestionKind.TAG, "", {"tag": "finance"}))], actor=actor)
        # a collector token, so ApiToken.namespaces has an item per unit too
        await create_token(graph, name=f"token-{i}", role=Role.COLLECTOR, pii=False,
                           actor=actor, namespaces=[f"events-{i}"])


@dataclass
class Catalog:
    client: TestClient
    graph: CountingGraphStore

    def run(self, query: str) -> tuple[dict[str, Any], Counter[str]]:
        self.graph.calls.clear()
        response = self.client.post("/graphql", json={"query": query})
        calls = Counter(self.graph.calls)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, (query, body["errors"])
        result: dict[str, Any] = body["data"]
        return result, calls


def _catalog(tmp: Any, units: int) -> Iterator[Catalog]:
    settings = make_settings(tmp, PESO_MAX_QUERY_DEPTH="30", PESO_MAX_QUERY_COST="100000000",
                             PESO_MAX_QUERY_TOKENS="20000", PESO_MAX_PAGE_SIZE=str(PAGE))
    graph = CountingGraphStore(SQLiteGraphStore(str(settings.data_dir / "catalog.db")))
    objects = LocalObjectStore(settings.data_dir / "objects")
    app = create_app(settings, graph=graph, objects=objects)  # type: ignore[arg-type]
    with app_client(app, role=Role.ADMIN, pii=False) as caller:
        call(caller, seed, graph, units)
        yield Catalog(caller, graph)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    yield from _catalog(tmp_path_factory.mktemp("small"), SMALL)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    yield from _catalog(tmp_path_factory.mktemp("big"), BIG)


SCHEMA = graphql_schema()
BUILDER = QueryBuilder(SCHEMA, ARGS, SKIP, PAGE)
LIST_FIELDS = list_fields(SCHEMA)


def test_the_walk_finds_the_lists_we_know_of() -> None:
    """The enumeration is not vacuous: it finds lists on the root, on datasets, versions,
    jobs, runs and lineage results, and reaches every one of them from Query."""
    names = {str(f) for f in LIST_FIELDS}
    assert {"Query.datasets", "Query.jobs", "Dataset.tags", "Dataset.versions",
            "DatasetVersion.fields", "Job.runs", "Run.inputs", "LineageGraph.nodes",
            "ImpactEntry.owners", "FieldProfile.topValues"} <= names
    assert len(LIST_FIELDS) >= 40
    unreachable = [str(f) for f in LIST_FIELDS if f.owner not in BUILDER.paths]
    assert unreachable == []


@pytest.mark.parametrize("target", LIST_FIELDS, ids=str)
def test_store_calls_do_not_grow_with_the_list(target: ListField, small: Catalog,
                                               big: Catalog) -> None:
    query = BUILDER.query(target)
    path = response_path(BUILDER, target)
    small_data, small_calls = small.run(query)
    big_data, big_calls = big.run(query)
    few = count_items(items_at(small_data, path))
    many = count_items(items_at(big_data, path))
    # the seed really made the list longer (else the comparison below proves nothing)
    assert many >= 5 * max(few, 1) or (many >= 10 and many > few), \
        f"{target}: {few} items on {SMALL} units, {many} on {BIG}; query: {query}"
    assert big_calls == small_calls, \
        f"{target}: store calls grow with the list ({SMALL} units: {dict(small_calls)}; " \
        f"{BIG} units: {dict(big_calls)}); query: {query}"
