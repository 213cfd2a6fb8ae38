"""Settings, read once from the environment and passed in; nothing reads env vars deeper.

Every setting is declared in ``SETTINGS`` with its default and meaning; README's
configuration table lists them all and a test keeps the two in step.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import platformdirs

from server.errors import ConfigError


@dataclass(frozen=True, slots=True)
class SettingDoc:
    env: str
    default: str
    help: str


SETTINGS: tuple[SettingDoc, ...] = (
    SettingDoc("PESO_DATA_DIR", "<user data dir>",
               "Folder for the embedded catalog and objects; default: the platform's per-user "
               "data folder (`~/.local/share/peso` on Linux, honouring `XDG_DATA_HOME`)."),
    SettingDoc("PESO_GRAPH_URL", "sqlite:///<data dir>/catalog.db",
               "Graph store: `sqlite:///path` or `neo4j://host:7687` / `neo4j+s://…`."),
    SettingDoc("PESO_OBJECTS_URL", "file://<data dir>/objects",
               "Object store: `file:///path` or `s3://bucket/prefix`."),
    SettingDoc("PESO_MCP_WRITES", "false",
               "Offer MCP write tools (add_tag, set_description, link_entity, "
               "accept_suggestion, reject_suggestion) to writer tokens."),
    SettingDoc("PESO_MCP_TOKEN", "",
               "API token `peso mcp` (stdio) acts as; empty means anonymous."),
    SettingDoc("PESO_LLM_URL", "",
               "OpenAI-compatible chat completions endpoint (`…/v1` or `…/v1/chat/completions`) "
               "that drafts enrichment descriptions and tags; empty: a template does. Prompts "
               "never hold values of PII columns."),
    SettingDoc("PESO_LLM_MODEL", "gpt-4o-mini", "Model named in requests to `PESO_LLM_URL`."),
    SettingDoc("PESO_LLM_API_KEY", "", "Bearer token sent to `PESO_LLM_URL` (empty: none)."),
    SettingDoc("PESO_LLM_TIMEOUT_SECONDS", "30",
               "Longest one `PESO_LLM_URL` request may take; on failure the template is used."),
    SettingDoc("PESO_ENRICH_SAMPLE_ROWS", "100000",
               "Most rows of a version the enrichers read (the sample size is in each "
               "suggestion's evidence)."),
    SettingDoc("PESO_ENRICH_MIN_CONTAINMENT", "0.8",
               "Smallest estimated share of a column's distinct values found in another "
               "dataset's unique column for a join-key suggestion."),
    SettingDoc("PESO_ENRICH_NEW_VERSIONS", "true",
               "The background jobs (`peso worker`, `peso serve`) run the enrichers on every "
               "new dataset version; `false`: only `peso enrich` and `enrichDataset` do."),
    SettingDoc("PESO_HOST", "127.0.0.1", "Address `peso serve` binds to."),
    SettingDoc("PESO_PORT", "8000", "Port `peso serve` listens on."),
    SettingDoc("PESO_MAX_PAGE_SIZE", "100", "Largest `first:` a connection accepts."),
    SettingDoc("PESO_MAX_QUERY_DEPTH", "12", "Deepest GraphQL selection nesting accepted."),
    SettingDoc("PESO_MAX_QUERY_TOKENS", "2000", "Most lexical tokens in one GraphQL document."),
    SettingDoc("PESO_MAX_ALIASES", "30", "Most aliases in one GraphQL document."),
    SettingDoc("PESO_MAX_QUERY_COST", "50000",
               "Largest cost of one GraphQL operation: each field counts 1, multiplied by the "
               "page sizes above it (`first:`, `limit:`, `maxNodes:`)."),
    SettingDoc("PESO_PREVIEW_SCAN_COST", "5000",
               "Query-cost price of one `preview(where: …)`: a filtered preview may read "
               "every row group of the version."),
    SettingDoc("PESO_QUERY_TIMEOUT_SECONDS", "30",
               "Longest a GraphQL query may run (seconds) before it is stopped; mutations "
               "are not timed out."),
    SettingDoc("PESO_INTROSPECTION", "true",
               "Answer GraphQL introspection (`__schema`, `__type`); GraphiQL needs it."),
    SettingDoc("PESO_AUTH", "writes",
               "Who needs an API token: `writes` (writes need one, anyone may read) or "
               "`required` (reads too). See [Security](#security)."),
    SettingDoc("PESO_GC_GRACE_SECONDS", "3600",
               "`peso gc` leaves objects younger than this alone (loads in flight)."),
    SettingDoc("PESO_GC_MAX_SHARE", "0.5",
               "Largest share of all objects `peso gc` deletes without `--force`."),
    SettingDoc("PESO_REJECTED_RETENTION_DAYS", "30",
               "`peso gc --delete` removes refused uploads kept under `rejected/` once they "
               "are older than this many days; `0` keeps them forever."),
    SettingDoc("PESO_STALE_RUN_SECONDS", "86400",
               "A run of Peso's own jobs still open (START) after this many seconds, started "
               "on another host, is closed as ABORT (on this host: as soon as its process is "
               "gone) by `peso serve`, `peso worker` and `peso gc`."),
    SettingDoc("PESO_WORKER_IN_SERVE", "true",
               "`peso serve` also runs the background jobs of `peso worker` (as `--no-worker` "
               "does, `false` leaves them to a separate `peso worker`)."),
    SettingDoc("PESO_WORKER_POLL_SECONDS", "30",
               "How often the worker looks for due background jobs (seconds)."),
    SettingDoc("PESO_WORKER_LEASE_SECONDS", "300",
               "A running job's lease in the graph store lasts this long and is renewed at a "
               "third of it; a worker that dies loses the job to another after it."),
    SettingDoc("PESO_HEALTH_REPORT_EVERY_SECONDS", "86400",
               "How often the worker stores a new catalog health report edition."),
    SettingDoc("PESO_HARVEST_ALLOW_HOSTS", "",
               "Comma-separated hosts a harvest may fetch although they resolve to private, "
               "loopback or link-local addresses (intranet portals; tests: `127.0.0.1`)."),
    SettingDoc("PESO_HARVEST_TIMEOUT_SECONDS", "30",
               "Timeout of each request a harvest makes (3 retries with backoff follow)."),
    SettingDoc("PESO_HARVEST_MAX_BYTES", "268435456",
               "Largest answer (bytes) a harvest reads from a portal."),
    SettingDoc("PESO_HARVEST_MAX_REMOVE_SHARE", "0.2",
               "A harvest run that would soft-delete more than this share of its source's "
               "datasets (they vanished from the portal) aborts instead, writing nothing."),
    SettingDoc("PESO_HARVEST_POD_SCHEMA_DIR", "",
               "Folder of the POD v1.1 JSON schema files: DCAT-US records are validated "
               "against them (without it, against their required fields and types)."),
    SettingDoc("PESO_COLLECT_MAX_RECORDS", "10000",
               "Most events one `POST /api/v1/collect/…` request may carry (the body is also "
               "bounded by PESO_MAX_BODY_BYTES)."),
    SettingDoc("PESO_COLLECT_FLUSH_ROWS", "100000",
               "A collected dataset's buffered events are written as a Parquet part (and a "
               "new version) once this many are waiting..."),
    SettingDoc("PESO_COLLECT_FLUSH_SECONDS", "30",
               "...or once the oldest has waited this long."),
    SettingDoc("PESO_COLLECT_BUFFER_ROWS", "1000000",
               "Events a process holds unflushed (all datasets together); above it a "
               "collection request is answered 429 with Retry-After."),
    SettingDoc("PESO_COLLECT_KEY_TTL_HOURS", "24",
               "How long an `Idempotency-Key` is remembered: a batch replayed with the same "
               "key within it is answered as before and not stored again."),
    SettingDoc("PESO_LOG_FORMAT", "auto",
               "Log lines: `json`, `text`, or `auto` (JSON unless stderr is a terminal)."),
    SettingDoc("PESO_MAX_PREVIEW_ROWS", "1000", "Largest `limit:` of `DatasetVersion.preview`."),
    SettingDoc("PESO_MAX_LINEAGE_DEPTH", "20", "Largest `depth:` of a lineage traversal."),
    SettingDoc("PESO_MAX_LINEAGE_NODES", "1000",
               "Most datasets one lineage walk (`lineage`, `impact`, `lineagePath`, "
               "`columnLineage`) visits; also the largest `maxNodes:`."),
    SettingDoc("PESO_OPENLINEAGE_URL", "",
               "Also send Peso's own OpenLineage run events (`peso load`, `loadFile`, "
               "`peso migrate`) to this consumer, e.g. `http://marquez:5000/api/v1/lineage`."),
    SettingDoc("PESO_MAX_BODY_BYTES", "1048576",
               "Largest GraphQL request body (bytes) the server reads."),
    SettingDoc("PESO_MAX_JSON_DEPTH", "64",
               "Deepest nesting of arrays/objects a JSON request body (GraphQL or OpenLineage) "
               "may have; deeper is refused with HTTP 400."),
    SettingDoc("PESO_MAX_SUBSCRIPTIONS_PER_TOKEN", "8",
               "Most `catalogEvents` subscriptions one token (or all anonymous callers "
               "together) may hold open at once, per server process; one more is refused."),
    SettingDoc("PESO_HEADER_TIMEOUT_SECONDS", "10",
               "Longest time (seconds) a request's complete header block may take to arrive "
               "(slowloris); a slower client gets 408 and its connection is closed."),
    SettingDoc("PESO_BODY_TIMEOUT_SECONDS", "30",
               "Longest wait (seconds) for the next chunk of a request body still arriving; a "
               "stalled or trickling body is answered 408."),
    SettingDoc("PESO_MAX_UPLOAD_BYTES", "1073741824",
               "Largest multipart upload (bytes) `loadFile` accepts."),
    SettingDoc("PESO_REPORT_STALE_DAYS", "30",
               "`peso report` / `catalogHealth`: a dataset with no new version for this many "
               "days is stale; failed runs are counted over the same period."),
    SettingDoc("PESO_MAX_UPLOAD_SPOOL_BYTES", "2147483648",
               "Most bytes of multipart uploads received at once, all requests together "
               "(what may be spooled to temp files); more is refused with 503."),
    SettingDoc("PESO_MAX_DECOMPRESSION_RATIO", "100",
               "Decompression-bomb guard: most bytes a gzip/zip upload or an .xlsx's XML may "
               "expand to per compressed byte (64 MiB are always allowed), all layers counted."),
    SettingDoc("PESO_MAX_DECOMPRESSED_BYTES", "21474836480",
               "Most bytes any upload may decompress or decode to, whatever its size."),
    SettingDoc("PESO_MAX_COMPRESSION_LAYERS", "3",
               "Most nested compression layers in an upload (a .gz in a .zip in a .gz)."),
    SettingDoc("PESO_MAX_PARQUET_DECODED_RATIO", "1000",
               "Most Arrow bytes a Parquet upload may decode to per file byte (1 GiB is "
               "always allowed); counted while reading, dictionary pages included."),
    SettingDoc("PESO_MAX_XLSX_CELLS", "50000000",
               "Most cells one .xlsx sheet may hold, empty cells up to the last used column "
               "included."),
    SettingDoc("PESO_DOWNLOAD_URL_SECONDS", "3600",
               "How long a download URL (`downloadUrl`) stays valid, in seconds (max 7 days)."),
    SettingDoc("PESO_PUBLIC_URL", "",
               "The server's public base URL (e.g. `https://peso.example.com`): local-store "
               "download URLs start with it, never with the request's `Host` header (empty: "
               "`http://PESO_HOST:PESO_PORT`)."),
    SettingDoc("PESO_SIGNING_KEY", "<generated>",
               "Secret that signs local-store download URLs; by default a random key kept in "
               "`<data dir>/signing.key`. Set the same value on every replica."),
    SettingDoc("PESO_GRAPHIQL", "true", "Serve the GraphiQL explorer on a browser GET."),
    SettingDoc("PESO_LOG_LEVEL", "info", "Log level: debug, info, warning, error."),
    SettingDoc("PESO_NEO4J_USER", "neo4j", "Neo4j user (Neo4j graph store)."),
    SettingDoc("PESO_NEO4J_PASSWORD", "", "Neo4j password (Neo4j graph store)."),
    SettingDoc("PESO_NEO4J_DATABASE", "neo4j", "Neo4j database name."),
    SettingDoc("PESO_S3_ENDPOINT", "", "S3 endpoint, e.g. `http://127.0.0.1:9000` (TLS if https)."),
    SettingDoc("PESO_S3_REGION", "us-east-1", "S3 region (falls back to `AWS_REGION`)."),
    SettingDoc("PESO_S3_ACCESS_KEY", "", "S3 access key (falls back to `AWS_ACCESS_KEY_ID`)."),
    SettingDoc("PESO_S3_SECRET_KEY", "",
               "S3 secret key (falls back to `AWS_SECRET_ACCESS_KEY`)."),
    # semantic search (server/semantic.py, server/embedders.py)
    SettingDoc("PESO_SEMANTIC_SEARCH", "auto",
               "Hybrid (full text + embeddings) ranking of `search`: `on`, `off`, or `auto` "
               "(on when `PESO_EMBEDDINGS_URL` is set or `peso[semantic]` is installed)."),
    SettingDoc("PESO_SEMANTIC_WEIGHT", "0.5",
               "Share of the embedding rank in the hybrid score (0 = full-text order only, "
               "1 = embedding order only)."),
    SettingDoc("PESO_SEMANTIC_CANDIDATES", "100",
               "Nearest datasets by embedding merged with the full-text matches per search."),
    SettingDoc("PESO_SEMANTIC_MIN_SIMILARITY", "0.25",
               "Least cosine similarity for a dataset that matches no query word to be returned."),
    SettingDoc("PESO_EMBEDDINGS_URL", "",
               "An OpenAI-compatible embeddings endpoint (e.g. `http://127.0.0.1:11434/v1`, "
               "`/embeddings` is appended); empty: the local model of `peso[semantic]`."),
    SettingDoc("PESO_EMBEDDINGS_MODEL", "text-embedding-3-small",
               "Model name sent to `PESO_EMBEDDINGS_URL`."),
    SettingDoc("PESO_EMBEDDINGS_API_KEY", "",
               "Bearer token sent to `PESO_EMBEDDINGS_URL` (empty: none)."),
)

GRAPH_SCHEMES = ("sqlite", "neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
OBJECT_SCHEMES = ("file", "s3")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}\Z")


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    graph_url: str
    objects_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    max_page_size: int = 100
    max_query_depth: int = 12
    max_query_tokens: int = 2000
    max_aliases: int = 30
    max_query_cost: int = 50_000
    preview_scan_cost: int = 5000
    query_timeout_seconds: float = 30.0
    introspection: bool = True
    auth: str = "writes"
    gc_grace_seconds: int = 3600
    gc_max_share: float = 0.5
    log_format: str = "auto"
    max_preview_rows: int = 1000
    max_lineage_depth: int = 20
    max_lineage_nodes: int = 1000
    max_subscriptions_per_token: int = 8
    body_timeout_seconds: float = 30.0
    header_timeout_seconds: float = 10.0
    openlineage_url: str = ""
    max_body_bytes: int = 1_048_576
    max_json_depth: int = 64
    max_upload_bytes: int = 1 << 30
    max_upload_spool_bytes: int = 2 << 30
    max_decompression_ratio: int = 100
    max_decompressed_bytes: int = 20 << 30
    max_compression_layers: int = 3
    max_parquet_decoded_ratio: int = 1000
    max_xlsx_cells: int = 50_000_000
    download_url_seconds: int = 3600
    report_stale_days: int = 30
    public_url: str = ""
    signing_key: str = ""
    graphiql: bool = True
    log_level: str = "info"
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    neo4j_database: str = "neo4j"
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    mcp_writes: bool = False
    mcp_token: str = ""
    rejected_retention_days: int = 30
    stale_run_seconds: int = 86400
    worker_in_serve: bool = True
    worker_poll_seconds: float = 30.0
    worker_lease_seconds: float = 300.0
    health_report_every_seconds: int = 86400
    harvest_allow_hosts: tuple[str, ...] = ()
    harvest_timeout_seconds: float = 30.0
    harvest_max_bytes: int = 256 << 20
    harvest_max_remove_share: float = 0.2
    harvest_pod_schema_dir: str = ""
    collect_max_records: int = 10_000
    collect_flush_rows: int = 100_000
    collect_flush_seconds: float = 30.0
    collect_buffer_rows: int = 1_000_000
    collect_key_ttl_hours: int = 24
    semantic_search: str = "auto"
    semantic_weight: float = 0.5
    semantic_candidates: int = 100
    semantic_min_similarity: float = 0.25
    embeddings_url: str = ""
    embeddings_model: str = "text-embedding-3-small"
    embeddings_api_key: str = ""
    llm_url: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_api_key: str = ""
    llm_timeout_seconds: float = 30.0
    enrich_sample_rows: int = 100_000
    enrich_min_containment: float = 0.8
    enrich_new_versions: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (``os.environ`` by default); raise ConfigError."""
        env = os.environ if env is None else env
        raw_dir = env.get("PESO_DATA_DIR") or str(default_data_dir())
        if "\x00" in raw_dir:
            raise ConfigError("PESO_DATA_DIR contains a NUL character")
        data_dir = Path(raw_dir).expanduser().resolve()
        # quoted, so that a folder name with '%', '#' or '?' survives the URL round trip
        graph_url = env.get("PESO_GRAPH_URL") or f"sqlite://{quote(str(data_dir / 'catalog.db'))}"
        objects_url = env.get("PESO_OBJECTS_URL") or f"file://{quote(str(data_dir / 'objects'))}"
        settings = cls(
            data_dir=data_dir,
            graph_url=graph_url,
            objects_url=objects_url,
            host=env.get("PESO_HOST") or "127.0.0.1",
            port=_int(env, "PESO_PORT", 8000, 0, 65535),
            max_page_size=_int(env, "PESO_MAX_PAGE_SIZE", 100, 1, 10_000),
            max_query_depth=_int(env, "PESO_MAX_QUERY_DEPTH", 12, 2, 100),
            max_query_tokens=_int(env, "PESO_MAX_QUERY_TOKENS", 2000, 50, 1_000_000),
            max_aliases=_int(env, "PESO_MAX_ALIASES", 30, 1, 10_000),
            max_query_cost=_int(env, "PESO_MAX_QUERY_COST", 50_000, 10, 100_000_000),
            preview_scan_cost=_int(env, "PESO_PREVIEW_SCAN_COST", 5000, 1, 100_000_000),
            query_timeout_seconds=_float(env, "PESO_QUERY_TIMEOUT_SECONDS", 30.0, 0.01, 3600.0),
            introspection=_bool(env, "PESO_INTROSPECTION", True),
            auth=_choice(env, "PESO_AUTH", "writes", ("writes", "required")),
            gc_grace_seconds=_int(env, "PESO_GC_GRACE_SECONDS", 3600, 0, 365 * 86400),
            gc_max_share=_float(env, "PESO_GC_MAX_SHARE", 0.5, 0.0, 1.0),
            log_format=_choice(env, "PESO_LOG_FORMAT", "auto", ("auto", "json", "text")),
            max_preview_rows=_int(env, "PESO_MAX_PREVIEW_ROWS", 1000, 1, 100_000),
            max_lineage_depth=_int(env, "PESO_MAX_LINEAGE_DEPTH", 20, 1, 100),
            max_lineage_nodes=_int(env, "PESO_MAX_LINEAGE_NODES", 1000, 1, 100_000),
            openlineage_url=_http_url(env, "PESO_OPENLINEAGE_URL"),
            max_body_bytes=_int(env, "PESO_MAX_BODY_BYTES", 1_048_576, 1024, 1 << 30),
            max_json_depth=_int(env, "PESO_MAX_JSON_DEPTH", 64, 4, 500),
            body_timeout_seconds=_float(env, "PESO_BODY_TIMEOUT_SECONDS", 30.0, 0.1, 3600.0),
            header_timeout_seconds=_float(env, "PESO_HEADER_TIMEOUT_SECONDS", 10.0, 0.1,
                                          3600.0),
            max_subscriptions_per_token=_int(env, "PESO_MAX_SUBSCRIPTIONS_PER_TOKEN", 8, 1,
                                             10_000),
            max_upload_bytes=_int(env, "PESO_MAX_UPLOAD_BYTES", 1 << 30, 1024, 1 << 40),
            max_upload_spool_bytes=_int(env, "PESO_MAX_UPLOAD_SPOOL_BYTES", 2 << 30, 1024,
                                        1 << 42),
            max_decompression_ratio=_int(env, "PESO_MAX_DECOMPRESSION_RATIO", 100, 2, 100_000),
            max_decompressed_bytes=_int(env, "PESO_MAX_DECOMPRESSED_BYTES", 20 << 30, 1 << 20,
                                        1 << 44),
            max_compression_layers=_int(env, "PESO_MAX_COMPRESSION_LAYERS", 3, 1, 10),
            max_parquet_decoded_ratio=_int(env, "PESO_MAX_PARQUET_DECODED_RATIO", 1000, 2,
                                           1_000_000),
            max_xlsx_cells=_int(env, "PESO_MAX_XLSX_CELLS", 50_000_000, 1000, 2_000_000_000),
            download_url_seconds=_int(env, "PESO_DOWNLOAD_URL_SECONDS", 3600, 60, 7 * 86400),
            report_stale_days=_int(env, "PESO_REPORT_STALE_DAYS", 30, 1, 3650),
            public_url=_http_url(env, "PESO_PUBLIC_URL"),
            signing_key=env.get("PESO_SIGNING_KEY") or "",
            graphiql=_bool(env, "PESO_GRAPHIQL", True),
            mcp_writes=_bool(env, "PESO_MCP_WRITES", False),
            mcp_token=env.get("PESO_MCP_TOKEN", ""),
            rejected_retention_days=_int(env, "PESO_REJECTED_RETENTION_DAYS", 30, 0, 36500),
            stale_run_seconds=_int(env, "PESO_STALE_RUN_SECONDS", 86400, 1, 365 * 86400),
            worker_in_serve=_bool(env, "PESO_WORKER_IN_SERVE", True),
            worker_poll_seconds=_float(env, "PESO_WORKER_POLL_SECONDS", 30.0, 0.05, 86400.0),
            worker_lease_seconds=_float(env, "PESO_WORKER_LEASE_SECONDS", 300.0, 1.0,
                                        86400.0),
            health_report_every_seconds=_int(env, "PESO_HEALTH_REPORT_EVERY_SECONDS", 86400,
                                             1, 365 * 86400),
            harvest_allow_hosts=tuple(h.strip().lower() for h in
                                      (env.get("PESO_HARVEST_ALLOW_HOSTS") or "").split(",")
                                      if h.strip()),
            harvest_timeout_seconds=_float(env, "PESO_HARVEST_TIMEOUT_SECONDS", 30.0, 0.1,
                                           3600.0),
            harvest_max_bytes=_int(env, "PESO_HARVEST_MAX_BYTES", 256 << 20, 1024, 1 << 40),
            harvest_max_remove_share=_float(env, "PESO_HARVEST_MAX_REMOVE_SHARE", 0.2, 0.0,
                                            1.0),
            harvest_pod_schema_dir=env.get("PESO_HARVEST_POD_SCHEMA_DIR") or "",
            collect_max_records=_int(env, "PESO_COLLECT_MAX_RECORDS", 10_000, 1, 1_000_000),
            collect_flush_rows=_int(env, "PESO_COLLECT_FLUSH_ROWS", 100_000, 1, 100_000_000),
            collect_flush_seconds=_float(env, "PESO_COLLECT_FLUSH_SECONDS", 30.0, 0.05,
                                         86400.0),
            collect_buffer_rows=_int(env, "PESO_COLLECT_BUFFER_ROWS", 1_000_000, 1,
                                     1_000_000_000),
            collect_key_ttl_hours=_int(env, "PESO_COLLECT_KEY_TTL_HOURS", 24, 1, 24 * 365),
            semantic_search=_choice(env, "PESO_SEMANTIC_SEARCH", "auto", ("auto", "on", "off")),
            semantic_weight=_float(env, "PESO_SEMANTIC_WEIGHT", 0.5, 0.0, 1.0),
            semantic_candidates=_int(env, "PESO_SEMANTIC_CANDIDATES", 100, 1, 1000),
            semantic_min_similarity=_float(env, "PESO_SEMANTIC_MIN_SIMILARITY", 0.25, -1.0, 1.0),
            embeddings_url=_http_url(env, "PESO_EMBEDDINGS_URL"),
            embeddings_model=env.get("PESO_EMBEDDINGS_MODEL") or "text-embedding-3-small",
            embeddings_api_key=env.get("PESO_EMBEDDINGS_API_KEY") or "",
            llm_url=_http_url(env, "PESO_LLM_URL"),
            llm_model=env.get("PESO_LLM_MODEL") or "gpt-4o-mini",
            llm_api_key=env.get("PESO_LLM_API_KEY") or "",
            llm_timeout_seconds=_float(env, "PESO_LLM_TIMEOUT_SECONDS", 30.0, 0.1, 600.0),
            enrich_sample_rows=_int(env, "PESO_ENRICH_SAMPLE_ROWS", 100_000, 100, 100_000_000),
            enrich_min_containment=_float(env, "PESO_ENRICH_MIN_CONTAINMENT", 0.8, 0.05, 1.0),
            enrich_new_versions=_bool(env, "PESO_ENRICH_NEW_VERSIONS", True),
            log_level=_choice(env, "PESO_LOG_LEVEL", "info", ("debug", "info", "warning", "error")),
            neo4j_user=env.get("PESO_NEO4J_USER") or "neo4j",
            neo4j_password=env.get("PESO_NEO4J_PASSWORD") or "",
            neo4j_database=env.get("PESO_NEO4J_DATABASE") or "neo4j",
            s3_endpoint=env.get("PESO_S3_ENDPOINT") or "",
            s3_region=env.get("PESO_S3_REGION") or env.get("AWS_REGION") or "us-east-1",
            s3_access_key=env.get("PESO_S3_ACCESS_KEY") or env.get("AWS_ACCESS_KEY_ID") or "",
            s3_secret_key=env.get("PESO_S3_SECRET_KEY") or env.get("AWS_SECRET_ACCESS_KEY") or "",
        )
        parse_graph_url(settings.graph_url)
        parse_objects_url(settings.objects_url)
        return settings


def default_data_dir() -> Path:
    """The per-user data folder for the embedded catalog (not created here)."""
    return platformdirs.user_data_path("peso", appauthor=False)


def parse_graph_url(url: str) -> tuple[str, str]:
    """Return ``(scheme, location)``: a file path for sqlite, the URL itself for Neo4j."""
    scheme, rest = _split_scheme(url, "PESO_GRAPH_URL", GRAPH_SCHEMES)
    if scheme == "sqlite":
        path = _file_path(url, "PESO_GRAPH_URL", rest, example="sqlite:///var/peso/catalog.db")
        if path.endswith("/"):
            raise ConfigError(f"PESO_GRAPH_URL {url!r} names a folder, not a database file "
                              "(e.g. sqlite:///var/peso/catalog.db)")
        return scheme, path
    parts = urlsplit(url)
    if "@" in parts.netloc:  # the driver would quote the URL, password and all, in its errors
        raise ConfigError("PESO_GRAPH_URL must not carry a user name or password; set "
                          "PESO_NEO4J_USER and PESO_NEO4J_PASSWORD instead")
    if not parts.hostname:
        raise ConfigError(f"PESO_GRAPH_URL {url!r} has no host (e.g. neo4j://127.0.0.1:7687)")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigError(f"PESO_GRAPH_URL {url!r} has a malformed port") from exc
    return scheme, url


def parse_objects_url(url: str) -> tuple[str, str, str]:
    """Return ``(scheme, location, prefix)``: a folder for file://, a bucket and prefix for s3."""
    scheme, rest = _split_scheme(url, "PESO_OBJECTS_URL", OBJECT_SCHEMES)
    if scheme == "file":
        return scheme, _file_path(url, "PESO_OBJECTS_URL", rest, example="file:///var/peso/obj"), ""
    bucket, _, prefix = rest.partition("/")
    # S3's rules: 3-63 of [a-z0-9.-], a letter or digit at both ends, no "..", ".-" or "-.",
    # and not shaped like an IP address
    if not _BUCKET_RE.match(bucket) or ".." in bucket or ".-" in bucket or "-." in bucket \
            or _IPV4_RE.match(bucket):
        raise ConfigError(
            f"PESO_OBJECTS_URL {url!r}: bucket {bucket!r} is not a valid S3 bucket name "
            "(3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter "
            "or digit)"
        )
    return scheme, bucket, prefix.strip("/")


def _split_scheme(url: str, env: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        raise ConfigError(f"{env} {url!r} is not a URL (expected one of: "
                          + ", ".join(f"{s}://" for s in allowed) + ")")
    scheme = scheme.lower()
    if scheme not in allowed:
        raise ConfigError(f"{env} {url!r} has unknown scheme {scheme!r} (expected one of: "
                          + ", ".join(allowed) + ")")
    return scheme, rest


def _file_path(url: str, env: str, rest: str, *, example: str) -> str:
    # sqlite:///abs/path and file:///abs/path carry an empty host; relative forms are refused
    if not rest.startswith("/"):
        raise ConfigError(f"{env} {url!r} must name an absolute path, e.g. {example}")
    path = "/" + unquote(rest).lstrip("/")
    if "\x00" in path:
        raise ConfigError(f"{env} {url!r} contains a NUL character")
    return path


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not an integer") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range ({low}..{high})")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float,
           high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc
    if not low <= value <= high:  # also refuses nan
        raise ConfigError(f"{name}={value} is out of range ({low}..{high})")
    return value


def public_base_url(settings: Settings) -> str:
    """Where clients reach this server: PESO_PUBLIC_URL, else http://PESO_HOST:PESO_PORT.
    Never the request's Host header, which any client may forge."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    return f"http://{host}:{settings.port}"


def _http_url(env: Mapping[str, str], name: str) -> str:
    """An optional http(s) URL with a host (empty: not set)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}={raw!r} is not an http(s) URL with a host "
                          "(e.g. http://127.0.0.1:5000/api/v1/lineage)")
    return raw


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (true/false)")


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in allowed:
        raise ConfigError(f"{name}={raw!r} is not one of {', '.join(allowed)}")
    return raw
