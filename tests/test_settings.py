"""Settings: defaults, every PESO_* variable, and clear ConfigErrors for bad values."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from server.errors import ConfigError
from server.settings import SETTINGS, Settings, parse_graph_url, parse_objects_url

# env name -> (Settings field, a non-default raw value, the parsed value)
EVERY_VARIABLE: dict[str, tuple[str, str, object]] = {
    "PESO_DATA_DIR": ("data_dir", "/srv/peso", Path("/srv/peso")),
    "PESO_GRAPH_URL": ("graph_url", "neo4j+s://graph.example:7687",
                       "neo4j+s://graph.example:7687"),
    "PESO_OBJECTS_URL": ("objects_url", "s3://peso-bucket/catalog", "s3://peso-bucket/catalog"),
    "PESO_HOST": ("host", "0.0.0.0", "0.0.0.0"),
    "PESO_PORT": ("port", "9100", 9100),
    "PESO_MAX_PAGE_SIZE": ("max_page_size", "250", 250),
    "PESO_MAX_QUERY_DEPTH": ("max_query_depth", "7", 7),
    "PESO_MAX_QUERY_TOKENS": ("max_query_tokens", "5000", 5000),
    "PESO_MAX_ALIASES": ("max_aliases", "3", 3),
    "PESO_MAX_QUERY_COST": ("max_query_cost", "1234", 1234),
    "PESO_PREVIEW_SCAN_COST": ("preview_scan_cost", "777", 777),
    "PESO_PUBLIC_URL": ("public_url", "https://peso.example.com", "https://peso.example.com"),
    "PESO_MAX_UPLOAD_SPOOL_BYTES": ("max_upload_spool_bytes", "4096", 4096),
    "PESO_MAX_JSON_DEPTH": ("max_json_depth", "12", 12),
    "PESO_MAX_SUBSCRIPTIONS_PER_TOKEN": ("max_subscriptions_per_token", "3", 3),
    "PESO_BODY_TIMEOUT_SECONDS": ("body_timeout_seconds", "2.5", 2.5),
    "PESO_HEADER_TIMEOUT_SECONDS": ("header_timeout_seconds", "4.5", 4.5),
    "PESO_LLM_URL": ("llm_url", "http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1"),
    "PESO_LLM_MODEL": ("llm_model", "local-model", "local-model"),
    "PESO_LLM_API_KEY": ("llm_api_key", "sk-test", "sk-test"),
    "PESO_LLM_TIMEOUT_SECONDS": ("llm_timeout_seconds", "5", 5.0),
    "PESO_ENRICH_SAMPLE_ROWS": ("enrich_sample_rows", "5000", 5000),
    "PESO_ENRICH_MIN_CONTAINMENT": ("enrich_min_containment", "0.5", 0.5),
    "PESO_ENRICH_NEW_VERSIONS": ("enrich_new_versions", "false", False),
    "PESO_HARVEST_ALLOW_HOSTS": ("harvest_allow_hosts", "127.0.0.1, Intranet.example",
                                 ("127.0.0.1", "intranet.example")),
    "PESO_HARVEST_TIMEOUT_SECONDS": ("harvest_timeout_seconds", "5", 5.0),
    "PESO_HARVEST_MAX_BYTES": ("harvest_max_bytes", "1048576", 1 << 20),
    "PESO_HARVEST_MAX_REMOVE_SHARE": ("harvest_max_remove_share", "0.5", 0.5),
    "PESO_HARVEST_POD_SCHEMA_DIR": ("harvest_pod_schema_dir", "/srv/pod", "/srv/pod"),
    "PESO_COLLECT_MAX_RECORDS": ("collect_max_records", "500", 500),
    "PESO_COLLECT_FLUSH_ROWS": ("collect_flush_rows", "2000", 2000),
    "PESO_COLLECT_FLUSH_SECONDS": ("collect_flush_seconds", "0.5", 0.5),
    "PESO_COLLECT_BUFFER_ROWS": ("collect_buffer_rows", "5000", 5000),
    "PESO_COLLECT_KEY_TTL_HOURS": ("collect_key_ttl_hours", "48", 48),
    "PESO_REJECTED_RETENTION_DAYS": ("rejected_retention_days", "7", 7),
    "PESO_STALE_RUN_SECONDS": ("stale_run_seconds", "600", 600),
    "PESO_WORKER_IN_SERVE": ("worker_in_serve", "false", False),
    "PESO_WORKER_POLL_SECONDS": ("worker_poll_seconds", "2.5", 2.5),
    "PESO_WORKER_LEASE_SECONDS": ("worker_lease_seconds", "60", 60.0),
    "PESO_HEALTH_REPORT_EVERY_SECONDS": ("health_report_every_seconds", "3600", 3600),
    "PESO_MAX_DECOMPRESSION_RATIO": ("max_decompression_ratio", "50", 50),
    "PESO_MAX_DECOMPRESSED_BYTES": ("max_decompressed_bytes", "1073741824", 1 << 30),
    "PESO_MAX_COMPRESSION_LAYERS": ("max_compression_layers", "2", 2),
    "PESO_MAX_PARQUET_DECODED_RATIO": ("max_parquet_decoded_ratio", "500", 500),
    "PESO_MAX_XLSX_CELLS": ("max_xlsx_cells", "100000", 100_000),
    "PESO_REPORT_STALE_DAYS": ("report_stale_days", "7", 7),
    "PESO_MCP_WRITES": ("mcp_writes", "true", True),
    "PESO_MCP_TOKEN": ("mcp_token", "peso_abc", "peso_abc"),
    "PESO_QUERY_TIMEOUT_SECONDS": ("query_timeout_seconds", "2.5", 2.5),
    "PESO_INTROSPECTION": ("introspection", "false", False),
    "PESO_AUTH": ("auth", "required", "required"),
    "PESO_GC_GRACE_SECONDS": ("gc_grace_seconds", "60", 60),
    "PESO_GC_MAX_SHARE": ("gc_max_share", "0.25", 0.25),
    "PESO_LOG_FORMAT": ("log_format", "JSON", "json"),
    "PESO_MAX_PREVIEW_ROWS": ("max_preview_rows", "50", 50),
    "PESO_MAX_LINEAGE_DEPTH": ("max_lineage_depth", "4", 4),
    "PESO_MAX_LINEAGE_NODES": ("max_lineage_nodes", "250", 250),
    "PESO_OPENLINEAGE_URL": ("openlineage_url", "http://marquez:5000/api/v1/lineage",
                             "http://marquez:5000/api/v1/lineage"),
    "PESO_MAX_BODY_BYTES": ("max_body_bytes", "65536", 65536),
    "PESO_MAX_UPLOAD_BYTES": ("max_upload_bytes", "2048", 2048),
    "PESO_DOWNLOAD_URL_SECONDS": ("download_url_seconds", "600", 600),
    "PESO_SIGNING_KEY": ("signing_key", "k" * 64, "k" * 64),
    "PESO_GRAPHIQL": ("graphiql", "false", False),
    "PESO_LOG_LEVEL": ("log_level", "WARNING", "warning"),
    "PESO_NEO4J_USER": ("neo4j_user", "catalog", "catalog"),
    "PESO_NEO4J_PASSWORD": ("neo4j_password", "s3cret", "s3cret"),
    "PESO_NEO4J_DATABASE": ("neo4j_database", "peso", "peso"),
    "PESO_S3_ENDPOINT": ("s3_endpoint", "http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    "PESO_S3_REGION": ("s3_region", "eu-west-1", "eu-west-1"),
    "PESO_S3_ACCESS_KEY": ("s3_access_key", "AKIAEXAMPLE", "AKIAEXAMPLE"),
    "PESO_S3_SECRET_KEY": ("s3_secret_key", "wJalrXUtnFEMI", "wJalrXUtnFEMI"),
    "PESO_SEMANTIC_SEARCH": ("semantic_search", "off", "off"),
    "PESO_SEMANTIC_WEIGHT": ("semantic_weight", "0.7", 0.7),
    "PESO_SEMANTIC_CANDIDATES": ("semantic_candidates", "50", 50),
    "PESO_SEMANTIC_MIN_SIMILARITY": ("semantic_min_similarity", "0.4", 0.4),
    "PESO_EMBEDDINGS_URL": ("embeddings_url", "http://127.0.0.1:11434/v1",
                            "http://127.0.0.1:11434/v1"),
    "PESO_EMBEDDINGS_MODEL": ("embeddings_model", "nomic-embed-text", "nomic-embed-text"),
    "PESO_EMBEDDINGS_API_KEY": ("embeddings_api_key", "sk-abc", "sk-abc"),
}

# env name -> (lowest, highest) accepted
INT_RANGES: dict[str, tuple[int, int]] = {
    "PESO_COLLECT_MAX_RECORDS": (1, 1_000_000),
    "PESO_COLLECT_FLUSH_ROWS": (1, 100_000_000),
    "PESO_COLLECT_BUFFER_ROWS": (1, 1_000_000_000),
    "PESO_COLLECT_KEY_TTL_HOURS": (1, 24 * 365),
    "PESO_SEMANTIC_CANDIDATES": (1, 1000),
    "PESO_PORT": (0, 65535),
    "PESO_MAX_PAGE_SIZE": (1, 10_000),
    "PESO_MAX_QUERY_DEPTH": (2, 100),
    "PESO_MAX_QUERY_TOKENS": (50, 1_000_000),
    "PESO_MAX_ALIASES": (1, 10_000),
    "PESO_MAX_QUERY_COST": (10, 100_000_000),
    "PESO_PREVIEW_SCAN_COST": (1, 100_000_000),
    "PESO_MAX_UPLOAD_SPOOL_BYTES": (1024, 1 << 42),
    "PESO_MAX_DECOMPRESSION_RATIO": (2, 100_000),
    "PESO_ENRICH_SAMPLE_ROWS": (100, 100_000_000),
    "PESO_HARVEST_MAX_BYTES": (1024, 1 << 40),
    "PESO_REJECTED_RETENTION_DAYS": (0, 36500),
    "PESO_STALE_RUN_SECONDS": (1, 365 * 86400),
    "PESO_HEALTH_REPORT_EVERY_SECONDS": (1, 365 * 86400),
    "PESO_MAX_DECOMPRESSED_BYTES": (1 << 20, 1 << 44),
    "PESO_MAX_COMPRESSION_LAYERS": (1, 10),
    "PESO_MAX_PARQUET_DECODED_RATIO": (2, 1_000_000),
    "PESO_MAX_XLSX_CELLS": (1000, 2_000_000_000),
    "PESO_MAX_JSON_DEPTH": (4, 500),
    "PESO_MAX_SUBSCRIPTIONS_PER_TOKEN": (1, 10_000),
    "PESO_REPORT_STALE_DAYS": (1, 3650),
    "PESO_GC_GRACE_SECONDS": (0, 365 * 86400),
    "PESO_MAX_PREVIEW_ROWS": (1, 100_000),
    "PESO_MAX_LINEAGE_DEPTH": (1, 100),
    "PESO_MAX_LINEAGE_NODES": (1, 100_000),
    "PESO_MAX_BODY_BYTES": (1024, 1 << 30),
    "PESO_MAX_UPLOAD_BYTES": (1024, 1 << 40),
    "PESO_DOWNLOAD_URL_SECONDS": (60, 7 * 86400),
}


def _field(env: str) -> str:
    return EVERY_VARIABLE[env][0]


def test_every_documented_setting_is_covered_here() -> None:
    documented = {s.env for s in SETTINGS}
    assert documented == set(EVERY_VARIABLE), "a setting was added without a test"
    assert len(documented) == len(SETTINGS), "a setting is documented twice"
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert {f for f, _, _ in EVERY_VARIABLE.values()} == fields
    assert all(s.help.strip() for s in SETTINGS)


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    s = Settings.from_env({})
    data = tmp_path.resolve() / "xdg" / "peso"  # one per user, not per working directory
    assert s.data_dir == data
    assert parse_graph_url(s.graph_url) == ("sqlite", str(data / "catalog.db"))
    assert parse_objects_url(s.objects_url) == ("file", str(data / "objects"), "")
    assert (s.host, s.port, s.graphiql, s.log_level) == ("127.0.0.1", 8000, True, "info")
    assert (s.neo4j_user, s.neo4j_password, s.neo4j_database) == ("neo4j", "", "neo4j")
    assert (s.s3_endpoint, s.s3_region, s.s3_access_key, s.s3_secret_key) == (
        "", "us-east-1", "", "")


def test_documented_defaults_match_the_parsed_ones(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({})
    for doc in SETTINGS:
        if doc.env in ("PESO_DATA_DIR", "PESO_GRAPH_URL", "PESO_OBJECTS_URL",
                       "PESO_SIGNING_KEY"):
            continue  # derived from the working directory, or generated on first use
        value = getattr(s, _field(doc.env))
        shown = str(value).lower() if isinstance(value, bool) else \
            f"{value:g}" if isinstance(value, float) else \
            ",".join(value) if isinstance(value, tuple) else str(value)
        assert shown == doc.default, doc.env


def test_empty_values_mean_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({env: "" for env in EVERY_VARIABLE}) == Settings.from_env({})


def test_every_variable_is_parsed() -> None:
    env = {name: raw for name, (_, raw, _) in EVERY_VARIABLE.items()}
    s = Settings.from_env(env)
    for name, (field, _, expected) in EVERY_VARIABLE.items():
        assert getattr(s, field) == expected, name


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PESO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PESO_PORT", "8123")
    s = Settings.from_env()
    assert (s.data_dir, s.port) == (tmp_path.resolve(), 8123)


def test_relative_and_home_data_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({"PESO_DATA_DIR": "rel/dir"}).data_dir == \
        tmp_path.resolve() / "rel" / "dir"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Settings.from_env({"PESO_DATA_DIR": "~/peso"}).data_dir == \
        (tmp_path / "home" / "peso").resolve()


@pytest.mark.parametrize("folder", ["with space", "per%20cent", "hash#tag", "q?mark", "ünï"])
def test_default_urls_survive_odd_folder_names(tmp_path: Path, folder: str) -> None:
    data = tmp_path / folder
    s = Settings.from_env({"PESO_DATA_DIR": str(data)})
    assert parse_graph_url(s.graph_url) == ("sqlite", str(data.resolve() / "catalog.db"))
    assert parse_objects_url(s.objects_url)[1] == str(data.resolve() / "objects")


def test_nul_in_data_dir_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="PESO_DATA_DIR"):
        Settings.from_env({"PESO_DATA_DIR": "/tmp/a\x00b"})


def test_aws_fallbacks_and_precedence() -> None:
    aws = {"AWS_REGION": "ap-south-1", "AWS_ACCESS_KEY_ID": "aws-id",
           "AWS_SECRET_ACCESS_KEY": "aws-secret"}
    s = Settings.from_env(aws)
    assert (s.s3_region, s.s3_access_key, s.s3_secret_key) == (
        "ap-south-1", "aws-id", "aws-secret")
    s = Settings.from_env({**aws, "PESO_S3_REGION": "eu-west-3", "PESO_S3_ACCESS_KEY": "p-id",
                           "PESO_S3_SECRET_KEY": "p-secret"})
    assert (s.s3_region, s.s3_access_key, s.s3_secret_key) == ("eu-west-3", "p-id", "p-secret")


# --- integers, booleans, choices ---------------------------------------------------------


@pytest.mark.parametrize("env", list(INT_RANGES))
def test_int_bounds(env: str) -> None:
    low, high = INT_RANGES[env]
    field = _field(env)
    assert getattr(Settings.from_env({env: str(low)}), field) == low
    assert getattr(Settings.from_env({env: str(high)}), field) == high
    assert getattr(Settings.from_env({env: f" {high} "}), field) == high
    for bad in (low - 1, high + 1):
        with pytest.raises(ConfigError) as err:
            Settings.from_env({env: str(bad)})
        assert env in str(err.value)
        assert f"{low}..{high}" in str(err.value)


@pytest.mark.parametrize("env", list(INT_RANGES))
@pytest.mark.parametrize("bad", ["abc", "1.5", "1e3", "0x10", "ten", "--1", "1 2", "∞",
                                 "9" * 5000])
def test_bad_ints(env: str, bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({env: bad})
    assert env in str(err.value)


def test_int_range_check_matches_the_table() -> None:
    assert set(INT_RANGES) == {name for name, (_, _, parsed) in EVERY_VARIABLE.items()
                               if type(parsed) is int}


@pytest.mark.parametrize(("raw", "expected"), [
    ("true", True), ("TRUE", True), (" yes ", True), ("1", True), ("on", True),
    ("false", False), ("False", False), ("no", False), ("0", False), ("OFF", False)])
def test_bools(raw: str, expected: bool) -> None:
    assert Settings.from_env({"PESO_GRAPHIQL": raw}).graphiql is expected


@pytest.mark.parametrize("bad", ["maybe", "2", "y", "enabled", "tru", "-1"])
def test_bad_bools(bad: str) -> None:
    with pytest.raises(ConfigError, match="PESO_GRAPHIQL"):
        Settings.from_env({"PESO_GRAPHIQL": bad})


@pytest.mark.parametrize("level", ["debug", "info", "warning", "error", " Error "])
def test_log_levels(level: str) -> None:
    assert Settings.from_env({"PESO_LOG_LEVEL": level}).log_level == level.strip().lower()


@pytest.mark.parametrize("bad", ["verbose", "warn", "critical", "trace", "0"])
def test_bad_log_levels(bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"PESO_LOG_LEVEL": bad})
    assert "PESO_LOG_LEVEL" in str(err.value)
    assert "debug, info, warning, error" in str(err.value)


# --- graph URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///var/peso/catalog.db", ("sqlite", "/var/peso/catalog.db")),
    ("SQLITE:///var/peso/catalog.db", ("sqlite", "/var/peso/catalog.db")),
    ("sqlite:////var/peso/catalog.db", ("sqlite", "/var/peso/catalog.db")),
    ("sqlite:///tmp/with%20space/c.db", ("sqlite", "/tmp/with space/c.db")),
    ("neo4j://127.0.0.1:7687", ("neo4j", "neo4j://127.0.0.1:7687")),
    ("neo4j+s://graph.example", ("neo4j+s", "neo4j+s://graph.example")),
    ("neo4j+ssc://graph.example:7687", ("neo4j+ssc", "neo4j+ssc://graph.example:7687")),
    ("bolt://localhost:7687", ("bolt", "bolt://localhost:7687")),
    ("bolt+s://h", ("bolt+s", "bolt+s://h")),
    ("bolt+ssc://h", ("bolt+ssc", "bolt+ssc://h")),
    ("neo4j://[::1]:7687", ("neo4j", "neo4j://[::1]:7687")),
])
def test_graph_urls(url: str, expected: tuple[str, str]) -> None:
    assert parse_graph_url(url) == expected
    assert Settings.from_env({"PESO_GRAPH_URL": url}).graph_url == url


@pytest.mark.parametrize(("url", "says"), [
    ("postgres://db/peso", "unknown scheme"),
    ("mysql://x", "unknown scheme"),
    ("file:///var/peso/catalog.db", "unknown scheme"),
    ("sqlite:relative.db", "is not a URL"),
    ("/var/peso/catalog.db", "is not a URL"),
    ("catalog.db", "is not a URL"),
    ("://host", "is not a URL"),
    ("sqlite://relative.db", "absolute path"),
    ("sqlite://localhost/var/peso.db", "absolute path"),
    ("sqlite://./catalog.db", "absolute path"),
    ("sqlite://", "absolute path"),
    ("sqlite:///", "folder"),
    ("sqlite:///var/peso/", "folder"),
    ("sqlite:///var/%00/c.db", "NUL"),
    ("neo4j://", "no host"),
    ("neo4j://:7687", "no host"),
    ("bolt://host:abc", "malformed port"),
    ("neo4j://host:99999", "malformed port"),
])
def test_bad_graph_urls(url: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_graph_url(url)
    assert "PESO_GRAPH_URL" in str(err.value)
    assert says in str(err.value)
    with pytest.raises(ConfigError):
        Settings.from_env({"PESO_GRAPH_URL": url})


def test_unknown_graph_scheme_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        parse_graph_url("redis://x")
    assert all(s in str(err.value) for s in ("sqlite", "neo4j", "bolt"))


# --- object URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("file:///var/peso/objects", ("file", "/var/peso/objects", "")),
    ("FILE:///var/peso/objects", ("file", "/var/peso/objects", "")),
    ("file:///tmp/a%20b", ("file", "/tmp/a b", "")),
    ("s3://peso", ("s3", "peso", "")),
    ("s3://peso-bucket/", ("s3", "peso-bucket", "")),
    ("s3://peso-bucket/catalog/prod/", ("s3", "peso-bucket", "catalog/prod")),
    ("s3://my.bucket.example/x", ("s3", "my.bucket.example", "x")),
    ("s3://a1b", ("s3", "a1b", "")),
    ("s3://" + "b" * 63, ("s3", "b" * 63, "")),
])
def test_object_urls(url: str, expected: tuple[str, str, str]) -> None:
    assert parse_objects_url(url) == expected
    assert Settings.from_env({"PESO_OBJECTS_URL": url}).objects_url == url


@pytest.mark.parametrize("url", [
    "gs://bucket", "http://minio:9000/bucket", "ftp://x/y", "azure://c", "objects",
    "/var/peso/objects", "file://relative/objects", "file://", "file:///a%00b",
])
def test_bad_object_urls(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_objects_url(url)
    assert "PESO_OBJECTS_URL" in str(err.value)
    with pytest.raises(ConfigError):
        Settings.from_env({"PESO_OBJECTS_URL": url})


@pytest.mark.parametrize("bucket", [
    "", "ab", "b" * 64, "My-Bucket", "UPPER", "my_bucket", "-bucket", "bucket-", ".bucket",
    "bucket.", "my..bucket", "my.-bucket", "my-.bucket", "192.168.1.10", "bü cket", "bücket",
    "a b c", "bucket!",
])
def test_bad_bucket_names(bucket: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_objects_url(f"s3://{bucket}/prefix")
    assert "not a valid S3 bucket name" in str(err.value)
    assert "3-63" in str(err.value)
