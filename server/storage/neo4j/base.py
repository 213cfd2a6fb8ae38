"""The Neo4j store's plumbing: one async driver per process, managed transactions, the
schema created at open, error mapping, and the helpers every domain module uses.

Every public store method is ONE managed transaction (``session.execute_read`` /
``execute_write``): the driver retries it on transient errors (deadlocks, leader switches),
so a transaction function must not touch anything outside the transaction. A change and its
audit event are written by the same function, so they commit together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from neo4j import (
    AsyncDriver,
    AsyncGraphDatabase,
    AsyncManagedTransaction,
    NotificationDisabledClassification,
    Record,
)
from neo4j.exceptions import (
    AuthError,
    ConstraintError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from server.errors import ConflictError, NotFoundError, PesoError, StoreUnavailableError
from server.models import Dataset, DatasetKey
from server.requestctx import current_request_id
from server.storage.batching import by_id
from server.storage.neo4j import cypher, records

log = logging.getLogger("peso.neo4j")

T = TypeVar("T")
Tx = AsyncManagedTransaction
INDEX_WAIT_SECONDS = 300
# Neo4j warns of every property key no node holds yet (a catalog without a dataset contract,
# a lineage edge without a transformation): the statements read optional properties by
# design, and the driver logged three such warnings with the whole statement text (~8 KB)
# for every lineage walk. Other notifications (deprecations, performance hints) stay on.
_QUIET = [NotificationDisabledClassification.UNRECOGNIZED]


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """An aware timestamp as ISO text, for a statement that stores it with Cypher's
    ``datetime()``: the same DateTime (same instant and offset, microseconds) as the
    driver would store for the datetime itself, but the driver packs a Python datetime
    through ~100 µs of pure-Python time arithmetic, and text in ~1 µs."""
    if value.tzinfo is None:   # datetime() would read it as UTC, the driver as local time
        raise ValueError(f"a naive timestamp reached the store: {value!r}")
    return value.isoformat(timespec="microseconds")


def iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


async def rows(tx: Tx, statement: str, /, **params: Any) -> list[dict[str, Any]]:
    """Run one statement and return its records as dicts (consumed inside the transaction)."""
    result = await tx.run(statement, params)
    data: list[dict[str, Any]] = await result.data()
    return data


async def one(tx: Tx, statement: str, /, **params: Any) -> dict[str, Any] | None:
    found = await rows(tx, statement, **params)
    return found[0] if found else None


async def listed(tx: Tx, statement: str, /, **params: Any) -> list[Any]:
    """The list a statement returns as its one record's one column (``RETURN collect(…)``).
    Many rows are read this way: the driver spends ~40 µs on each record it receives (500
    one-value records 25 ms, the same values as one list 3 ms), so a batch read collects its
    rows server-side."""
    result = await tx.run(statement, params)
    record = await result.single(strict=True)
    found: list[Any] = record[0]
    return found


def collected(statement: str, column: str) -> str:
    """``statement`` (which returns ``column``) with its rows collected into one list."""
    return f"CALL () {{\n{statement}}}\nRETURN collect({column}) AS found\n"


async def single(tx: Tx, statement: str, /, **params: Any) -> Record:
    """The one record of a statement that always returns exactly one, as the driver read it:
    no ``data()`` copy, which walks every value of every list (thousands in a batch's
    lookup) to convert graph types the statement does not return."""
    result = await tx.run(statement, params)
    return await result.single(strict=True)


async def run(tx: Tx, statement: str, /, **params: Any) -> None:
    result = await tx.run(statement, params)
    await result.consume()


async def audit(tx: Tx, actor: str, action: str, kind: str, target: str,
                detail: dict[str, Any] | None = None,
                request_id: str | None = None) -> dict[str, Any]:
    """Append one audit event inside the caller's transaction, stamped with the request id
    (explicit, else the current one: ``server.requestctx``); return its map."""
    found = await one(tx, cypher.AUDIT_APPEND, at=iso(now()), actor=actor, action=action,
                      target_kind=kind, target_id=target, detail=records.to_json(detail or {}),
                      request_id=request_id or current_request_id())
    assert found is not None  # AUDIT_APPEND always returns its event
    return dict(found["a"])


async def dataset_by_key(tx: Tx, key: DatasetKey) -> Dataset | None:
    found = await one(tx, cypher.DATASET_BY_KEY,
                      natural_key=records.dataset_key(key.namespace, key.name))
    return records.dataset(found["d"]) if found else None


async def dataset_by_id(tx: Tx, dataset_id: str) -> Dataset:
    found = await one(tx, cypher.DATASETS_BY_IDS, ids=[dataset_id])
    if found is None:
        raise NotFoundError(f"dataset {dataset_id!r} does not exist")
    return records.dataset(found["d"])


async def live_dataset(tx: Tx, key: DatasetKey) -> Dataset:
    ds = await dataset_by_key(tx, key)
    if ds is None or ds.deleted_at is not None:
        raise NotFoundError(f"dataset {key} does not exist")
    return ds


async def reindex(tx: Tx, dataset_id: str) -> None:
    """Refresh the dataset's search_* properties (what the full-text index reads), and queue
    it for re-embedding (semantic search), or forget its embedding once it is deleted."""
    found = await one(tx, cypher.DATASET_SEARCH_INPUTS, id=dataset_id)
    if found is None:
        return
    deleted = await one(tx, cypher.DATASET_DELETED, id=dataset_id)
    await run(tx, cypher.EMBEDDING_FORGET if deleted and deleted["deleted"]
              else cypher.EMBEDDING_QUEUE, id=dataset_id)
    if deleted and deleted["deleted"]:   # out of the full-text index
        await run(tx, cypher.DATASET_CLEAR_SEARCH, id=dataset_id)
        return
    await run(tx, cypher.DATASET_SET_SEARCH, id=dataset_id,
              namespace=records.search_text(found["namespace"]),
              name=records.search_text(found["name"]),
              description=records.search_text(found["description"]),
              tags=records.search_text(*found["tags"]),
              fields=records.search_text(*found["fields"]))


async def _search_keys(session: Any) -> None:
    """Give a catalog written before ``search_key`` its sort keys, once (cypher_datasets)."""
    done = await (await session.run(cypher.SEARCH_KEY_DONE)).single()
    if done is None:
        await (await session.run(cypher.SEARCH_KEY_BACKFILL)).consume()
        await (await session.run(cypher.SEARCH_KEY_MARK)).consume()


async def _consume(pending: Awaitable[Any]) -> None:
    result = await pending
    await result.consume()


class Neo4jBase:
    """Lifecycle and transaction plumbing; the domain mixins build on ``_read``/``_write``."""

    def __init__(self, uri: str, *, user: str = "neo4j", password: str = "",
                 database: str = "neo4j", max_lineage_depth: int = 100) -> None:
        self.uri = uri
        self.database = database or "neo4j"
        self.max_lineage_depth = max_lineage_depth
        self._auth = (user, password) if user else None
        self._driver: AsyncDriver | None = None

    # --- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        driver = AsyncGraphDatabase.driver(self.uri, auth=self._auth,
                                           notifications_disabled_classifications=_QUIET)
        try:
            await self._call(driver.verify_connectivity())
            async with driver.session(database=self.database) as session:
                for statement in cypher.SCHEMA:   # schema changes: one auto-commit each
                    await self._call(_consume(session.run(statement)))
                await self._call(_consume(session.run(cypher.AWAIT_INDEXES,
                                                      seconds=INDEX_WAIT_SECONDS)))
                await self._call(_consume(session.run(cypher.DELETED_OUT_OF_SEARCH)))
                await self._call(_search_keys(session))
        except BaseException:
            await driver.close()
            raise
        self._driver = driver

    async def close(self) -> None:
        if self._driver is not None:
            await self._driver.close()
            self._driver = None

    async def health(self) -> None:
        async def ping(tx: Tx) -> None:
            await rows(tx, cypher.PING)
        await self._read(ping)

    # --- transactions ----------------------------------------------------------------------
    async def _get_by_ids(self, statement: str, column: str, convert: Callable[[Any], T],
                          ids: Sequence[str]) -> list[T | None]:
        """A protocol batch getter: ``statement`` takes ``$ids`` and returns ``column``;
        one read, results in input order, None for a missing id."""
        if not ids:
            return []

        wrapped = collected(statement, column)   # one record, not one per id (``listed``)

        async def work(tx: Tx) -> list[T]:
            return [convert(m) for m in await listed(tx, wrapped, ids=list(ids))]
        return by_id(await self._read(work), ids)

    async def _read(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        driver = self._require()
        async with driver.session(database=self.database) as session:
            return await self._call(session.execute_read(fn))

    async def _write(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        driver = self._require()
        async with driver.session(database=self.database) as session:
            return await self._call(session.execute_write(fn))

    def _require(self) -> AsyncDriver:
        if self._driver is None:
            raise StoreUnavailableError(f"the Neo4j catalog at {self.uri} is not open")
        return self._driver

    async def _call(self, work: Awaitable[T]) -> T:
        """Await driver work, mapping driver failures to PesoErrors with a clear message."""
        try:
            return await work
        except PesoError:
            raise
        except AuthError as exc:
            raise StoreUnavailableError(
                f"Neo4j at {self.uri} refused the credentials (check PESO_NEO4J_USER and "
                f"PESO_NEO4J_PASSWORD): {exc.message}") from exc
        except (ServiceUnavailable, SessionExpired) as exc:
            raise StoreUnavailableError(f"cannot reach Neo4j at {self.uri}: {exc}") from exc
        except ConstraintError as exc:
            raise ConflictError(f"the change conflicts with what the catalog holds: "
                                f"{exc.message}") from exc
        except Neo4jError as exc:
            if exc.code and exc.code.startswith("Neo.ClientError.Database."):
                raise StoreUnavailableError(f"Neo4j database {self.database!r} at {self.uri}: "
                                            f"{exc.message}") from exc
            raise  # a Cypher or schema bug: let it surface (and be masked for clients)
        except DriverError as exc:
            raise StoreUnavailableError(f"Neo4j driver error for {self.uri}: {exc}") from exc
