"""Per-operation safeguards around the schema: the execution timeout for queries, masked
errors that carry the request id, and per-operation metrics.

- ``run_with_timeout``: a query (not a mutation: a load may rightly take minutes, and
  stopping a write half-way only hides its outcome) is cancelled after
  PESO_QUERY_TIMEOUT_SECONDS with a clean error. A store call already running in a worker
  thread finishes in the background; its result is dropped.
- ``RequestIdMaskErrors``: Strawberry's MaskErrors, plus ``extensions.requestId`` (and
  ``code: INTERNAL``) on each masked error, so a client can quote the id that finds the
  full traceback in the server log.
- ``OperationMetrics``: counts and times each operation by name (``server.metrics``).
- ``DocumentValidationCache``: Strawberry's ValidationCache keyed by the parsed document's
  identity (the parser cache hands the same object back for the same text) instead of its
  hash, which graphql-core computes by walking the whole tree on every request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationType, get_operation_ast, parse
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types import ExecutionResult

from server import metrics
from server.requestctx import current_request_id

log = logging.getLogger("peso.graphql")


CACHED_DOCUMENT_CHARS = 16_384  # larger documents are not kept as cache keys


def is_query(document: str | None, operation_name: str | None, max_tokens: int) -> bool:
    """Whether the operation to run is a query (True when it cannot tell: a document that
    does not parse fails long before any timeout matters)."""
    if not document:
        return True
    if len(document) > CACHED_DOCUMENT_CHARS:
        return _is_query.__wrapped__(document, operation_name, max_tokens)
    return _is_query(document, operation_name, max_tokens)


@functools.lru_cache(maxsize=512)
def _is_query(document: str, operation_name: str | None, max_tokens: int) -> bool:
    try:
        doc = parse(document, max_tokens=max_tokens, no_location=True)
    except GraphQLError:
        return True
    op = get_operation_ast(doc, operation_name)
    return op is None or op.operation is OperationType.QUERY


def timeout_message(seconds: float) -> str:
    shown = f"{seconds:g}"
    return (f"the query ran longer than {shown} seconds and was stopped "
            "(PESO_QUERY_TIMEOUT_SECONDS): ask for less, e.g. smaller pages")


async def run_with_timeout(work: Awaitable[ExecutionResult], seconds: float,
                           operation_name: str | None) -> ExecutionResult:
    try:
        async with asyncio.timeout(seconds):
            return await work
    except TimeoutError:
        log.warning("query %s stopped after %gs (PESO_QUERY_TIMEOUT_SECONDS)",
                    operation_name or "anonymous", seconds)
        metrics.GRAPHQL_OPERATIONS.labels(operation=metrics.operation_label(operation_name),
                                          type="query", outcome="timeout").inc()
        return ExecutionResult(data=None, errors=[GraphQLError(
            timeout_message(seconds), extensions={"code": "TIMEOUT"})])


class RequestIdMaskErrors(MaskErrors):
    def _process_result(self, result: object) -> None:
        # MaskErrors asks isinstance() of a runtime Protocol first (~1% of a point lookup);
        # a result without errors has nothing to mask either way
        if getattr(result, "errors", None):
            super()._process_result(result)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL", "requestId": current_request_id()}
        return masked


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        begun = time.perf_counter()
        yield
        ctx = self.execution_context
        try:
            kind = ctx.operation_type.value
        except Exception:  # noqa: BLE001 - a document that did not parse has no type
            kind = "unknown"
        try:
            name = ctx.operation_name
        except Exception:  # noqa: BLE001
            name = None
        label = metrics.operation_label(name)
        result = ctx.result
        outcome = "error" if result is not None and getattr(result, "errors", None) else "ok"
        metrics.GRAPHQL_OPERATIONS.labels(operation=label, type=kind, outcome=outcome).inc()
        metrics.GRAPHQL_LATENCY.labels(operation=label, type=kind).observe(
            time.perf_counter() - begun)


VALIDATED_DOCUMENTS = 256   # as many as the parser cache keeps (schema/root.py)
_validated: OrderedDict[tuple[int, Any, tuple[Any, ...]],
                        tuple[DocumentNode, list[GraphQLError]]] = OrderedDict()


def validate_cached(schema: Any, document: DocumentNode,
                    rules: tuple[Any, ...]) -> list[GraphQLError]:
    """Strawberry's ``validate_document`` (its two rules added), remembered per document
    object, schema and rules; the entry holds the document, so its id stays its own."""
    from strawberry.schema.schema import validate_document

    key = (id(document), schema, rules)
    found = _validated.get(key)
    if found is not None and found[0] is document:
        _validated.move_to_end(key)
        return list(found[1])
    errors = validate_document(schema, document, rules)
    _validated[key] = (document, errors)
    while len(_validated) > VALIDATED_DOCUMENTS:
        _validated.popitem(last=False)
    return list(errors)


class DocumentValidationCache(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None:
            ctx.pre_execution_errors = validate_cached(ctx.schema._schema, ctx.graphql_document,
                                                       ctx.validation_rules)
        yield
