"""Prometheus metrics (the official ``prometheus_client``), served at ``/metrics``.

One registry per process (``REGISTRY``), with the process collector (CPU, memory, open
files) and these series:

- ``peso_http_requests_total{method,route,status}`` and
  ``peso_http_request_duration_seconds{method,route}``: every HTTP request, by route template
  (unknown paths are counted as ``route="unmatched"``, so scanners cannot grow the label set);
- ``peso_graphql_operations_total{operation,type,outcome}`` and
  ``peso_graphql_operation_duration_seconds{operation,type}``: GraphQL operations by
  operation name (``anonymous`` when unnamed; at most ``MAX_OPERATION_NAMES`` distinct names,
  then ``other``), outcome ``ok`` / ``error``;
- ``peso_loads_total{outcome}`` (created, unchanged, failed) and ``peso_load_rows_total``;
- ``peso_store_errors_total{store,kind}``: store failures (unavailable, masked faults) and
  SQLite lock retries.
"""

from __future__ import annotations

import re
import threading

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
MAX_OPERATION_NAMES = 200
_NAME_RE = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}\Z")
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

HTTP_REQUESTS = Counter("peso_http_requests", "HTTP requests served.",
                        ["method", "route", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram("peso_http_request_duration_seconds",
                         "Time to answer an HTTP request.", ["method", "route"],
                         buckets=_BUCKETS, registry=REGISTRY)
GRAPHQL_OPERATIONS = Counter("peso_graphql_operations", "GraphQL operations executed.",
                             ["operation", "type", "outcome"], registry=REGISTRY)
GRAPHQL_LATENCY = Histogram("peso_graphql_operation_duration_seconds",
                            "Time to execute a GraphQL operation.", ["operation", "type"],
                            buckets=_BUCKETS, registry=REGISTRY)
LOADS = Counter("peso_loads", "Files loaded through the server (loadFile).", ["outcome"],
                registry=REGISTRY)
LOAD_ROWS = Counter("peso_load_rows", "Rows written by loads through the server.",
                    registry=REGISTRY)
COLLECTED = Counter("peso_collected_events", "Events posted to /api/v1/collect, by outcome "
                    "(accepted: on disk; rejected: kept with a reason; replayed: a repeat "
                    "of an Idempotency-Key).", ["outcome"], registry=REGISTRY)
COLLECT_BUFFERED = Gauge("peso_collect_buffered_events", "Collected events waiting for a "
                         "flush to Parquet in this process.", registry=REGISTRY)
STORE_ERRORS = Counter("peso_store_errors", "Store failures and SQLite lock retries.",
                       ["store", "kind"], registry=REGISTRY)

_seen_names: set[str] = set()
_names_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """A bounded label for a client-chosen operation name."""
    if not name:
        return "anonymous"
    if not _NAME_RE.match(name):
        return "other"
    with _names_lock:
        if name in _seen_names:
            return name
        if len(_seen_names) >= MAX_OPERATION_NAMES:
            return "other"
        _seen_names.add(name)
    return name


def store_error(store: str, kind: str) -> None:
    STORE_ERRORS.labels(store=store, kind=kind).inc()


def record_load(outcome: str, rows: int = 0) -> None:
    LOADS.labels(outcome=outcome).inc()
    if rows:
        LOAD_ROWS.inc(rows)


def record_collected(accepted: int, rejected: int, *, replayed: bool, buffered: int) -> None:
    if replayed:
        COLLECTED.labels(outcome="replayed").inc(accepted + rejected)
    else:
        COLLECTED.labels(outcome="accepted").inc(accepted)
        COLLECTED.labels(outcome="rejected").inc(rejected)
    COLLECT_BUFFERED.set(buffered)


def exposition() -> bytes:
    return generate_latest(REGISTRY)
