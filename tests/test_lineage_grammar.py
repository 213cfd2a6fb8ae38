"""The lineage grammar (names that come from OpenLineage), without weakening object keys;
store URLs as lineage namespaces; the bundled schemas and their registry."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from server.errors import ValidationError
from server.ids import (
    check_lineage_name,
    check_lineage_namespace,
    check_name,
    check_namespace,
    check_object_key,
)
from server.openlineage import validate
from server.openlineage.peso_jobs import store_namespace
from server.storage.neo4j.records import dataset_key


@pytest.mark.parametrize("namespace", [
    "postgres://db.internal:5432", "s3://bucket", "file", "abfss://c@acct.dfs.core.windows.net",
    "kafka://broker:9092", "bigquery", "my-datasource-namespace", "arn:aws:glue:eu-west-1:1:db",
    "sqlite:///srv/peso/catalog.db", "hdfs://nn:8020/user/x", "redshift://c.eu-west-1:5439",
])
def test_openlineage_namespaces_are_accepted(namespace: str) -> None:
    assert check_lineage_namespace(namespace) == namespace


@pytest.mark.parametrize("namespace", [
    "", "-x", "/abs", "../up", "s3://bucket/../x", "a b", "tab\there", "nul\x00", "new\nline",
    "ü-not-ascii", "x" * 1001, "{{ any(result) }}",
])
def test_bad_lineage_namespaces_are_refused(namespace: str) -> None:
    with pytest.raises(ValidationError):
        check_lineage_namespace(namespace)


@pytest.mark.parametrize("name", [
    "instance.schema.table", "/warehouse/t1", "audiences/weekly", "My Report (final).xlsx",
    "topic:orders-v2", "db.schema.\"Quoted\"", "données/été", "${json-unit.regex}.*/t2",
])
def test_openlineage_names_are_accepted(name: str) -> None:
    assert check_lineage_name(name) == name


@pytest.mark.parametrize("name", [
    "", "   ", " lead", "trail ", "a/../b", "..", "../x", "nul\x00x", "c1\x85", "del\x7f",
    "line\nbreak", "x" * 1001,
])
def test_bad_lineage_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        check_lineage_name(name)


def test_the_strict_grammar_and_object_keys_are_unchanged() -> None:
    for bad in ("postgres://db:5432", "s3://bucket"):
        with pytest.raises(ValidationError):
            check_namespace(bad)
    for bad in ("/warehouse/t1", "a name"):
        with pytest.raises(ValidationError):
            check_name(bad)
    for bad in ("raw/s3://bucket/x", "raw/a b/x", "raw/../x"):
        with pytest.raises(ValidationError):
            check_object_key(bad)


def test_neo4j_natural_keys_cannot_collide() -> None:
    keys = {dataset_key("s3://bucket", "a/b"), dataset_key("s3://bucket/a", "b"),
            dataset_key("s3:", "/bucket/a/b"), dataset_key("demo", "bank"),
            dataset_key("demo", "bank/x")}
    assert len(keys) == 5
    assert dataset_key("demo", "bank") == "demo/bank"   # unchanged for Peso's own names
    assert json.loads(dataset_key("s3://bucket", "a/b")) == ["s3://bucket", "a/b"]


@pytest.mark.parametrize(("url", "namespace"), [
    ("neo4j://peso:secret@graph.internal:7687", "neo4j://graph.internal:7687"),
    ("sqlite:///srv/peso/catalog.db", "sqlite:///srv/peso/catalog.db"),
    ("s3://bucket/prefix?x=1#frag", "s3://bucket/prefix"),
    ("file:///data/my objects", "file:///data/my%20objects"),
])
def test_store_urls_become_namespaces_without_credentials(url: str, namespace: str) -> None:
    assert store_namespace(url) == namespace
    assert check_lineage_namespace(store_namespace(url))


def test_the_bundled_schemas_resolve_locally() -> None:
    spec = resources.files("server.openlineage") / "spec"
    assert "Apache License" in (spec / "LICENSE").read_text(encoding="utf-8")
    for name in set(validate.FACETS.values()):
        doc = json.loads((spec / "facets" / f"{name}.json").read_text(encoding="utf-8"))
        assert doc["$id"].startswith("https://openlineage.io/spec/facets/")
        # every facet schema compiles against the local registry (no fetch)
        assert validate.validator(doc["$id"]).is_valid({})
    core = json.loads((spec / "OpenLineage.json").read_text(encoding="utf-8"))
    assert set(core["$defs"]) >= {"RunEvent", "DatasetEvent", "JobEvent"}
    for alias in validate.CORE_ALIASES:
        assert validate.registry().contents(alias)["$defs"] == core["$defs"]
