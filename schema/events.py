"""``catalogEvents``: catalog changes on the wire (a GraphQL subscription over
graphql-transport-ws).

Fed by the catalog's own event log — the append-only audit table, followed with an ``after``
cursor (``GraphStore.list_audit(after_id=…)``) every ``POLL_SECONDS`` — not by database change
capture: so a change made by another process (a ``peso load`` beside ``peso serve``, another
API replica on the same Neo4j) shows up too, in commit order. A subscriber that reconnects
passes the last ``id`` it saw as ``afterId`` and misses nothing. Like every subscription it
needs a token of any role (``schema.permissions``).
"""

from __future__ import annotations

import asyncio
import enum
from collections import Counter
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from schema.types import Dataset
from server.errors import PesoError
from server.models import AuditEvent

POLL_SECONDS = 0.5   # how often the event log is read while nothing new has come
BATCH = 200          # events read per poll (more are read at once when there are more)


@strawberry.enum(description="Kinds of catalog change.")
class CatalogEventKind(enum.Enum):
    DATASET_REGISTERED = "dataset.registered"
    VERSION_ADDED = "version.added"
    LINEAGE_ADDED = "lineage.added"
    DATASET_DELETED = "dataset.deleted"
    OPENLINEAGE_EVENT = "openlineage.event"


@strawberry.type(description="One catalog change, from the audit log.")
class CatalogEvent:
    id: int = strawberry.field(description="The audit event's id: pass the last one seen as "
                                           "`afterId` to resume without a gap.")
    kind: CatalogEventKind
    at: datetime
    actor: str
    target_kind: str
    target_id: str
    detail: JSON
    model: strawberry.Private[AuditEvent]

    @classmethod
    def from_audit(cls, e: AuditEvent) -> CatalogEvent:
        return cls(id=e.id, kind=CatalogEventKind(e.action), at=e.at, actor=e.actor,
                   target_kind=e.target_kind, target_id=e.target_id,
                   detail=cast(JSON, e.detail), model=e)

    @strawberry.field(description="The dataset changed (for a version: its dataset), as it "
                                  "is now; null for other targets.")
    async def dataset(self, info: Info) -> Dataset | None:
        # straight from the store, not the connection-long DataLoaders: those would go stale
        graph = info.context.graph
        dataset_id = self.model.target_id if self.model.target_kind == "Dataset" else None
        if self.model.target_kind == "DatasetVersion":
            [version] = await graph.get_versions([self.model.target_id])
            dataset_id = version.dataset_id if version else None
        if dataset_id is None:
            return None
        [found] = await graph.get_datasets([dataset_id])
        return Dataset.from_model(found) if found else None


class TooManySubscriptionsError(PesoError):
    """A token already holds PESO_MAX_SUBSCRIPTIONS_PER_TOKEN open subscriptions."""

    code = "TOO_MANY_SUBSCRIPTIONS"


_OPEN: Counter[str] = Counter()  # open subscriptions per token id, in this process


@contextmanager
def _slot(holder: str, limit: int) -> Iterator[None]:
    """Hold one of ``holder``'s subscription slots while the subscription runs."""
    if _OPEN[holder] >= limit:
        raise TooManySubscriptionsError(
            f"this token already has {_OPEN[holder]} open subscriptions, the most allowed "
            f"(PESO_MAX_SUBSCRIPTIONS_PER_TOKEN={limit}); close one first")
    _OPEN[holder] += 1
    try:
        yield
    finally:
        _OPEN[holder] -= 1
        if _OPEN[holder] <= 0:
            del _OPEN[holder]


@strawberry.type
class EventSubscription:
    @strawberry.subscription(description="Catalog changes as they are committed (by any "
                                         "process): datasets registered and deleted, versions "
                                         "and lineage added, OpenLineage events applied. "
                                         "Only `kinds` (default: all); from now on, or after "
                                         "audit event `afterId`.")
    async def catalog_events(self, info: Info, kinds: list[CatalogEventKind] | None = None,
                             after_id: int | None = None
                             ) -> AsyncGenerator[CatalogEvent, None]:
        graph = info.context.graph
        holder = info.context.principal.token_id or "anonymous"
        with _slot(holder, info.context.settings.max_subscriptions_per_token):
            wanted = {k.value for k in (kinds or list(CatalogEventKind))}
            if after_id is None:
                newest = await graph.list_audit(limit=1)
                after_id = newest[0].id if newest else 0
            while True:
                batch = await graph.list_audit(limit=BATCH, after_id=after_id)
                for event in batch:
                    after_id = event.id
                    if event.action in wanted:
                        yield CatalogEvent.from_audit(event)
                if len(batch) < BATCH:
                    await asyncio.sleep(POLL_SECONDS)
