"""The audit log for administrators: who changed what, when, and in which request."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from schema.permissions import needs
from schema.relay import check_first, decode_after, global_id, tagged_cursor
from schema.types import Connection, connection
from server import models
from server.errors import ValidationError
from server.ids import check_text, from_global_id

_CURSOR_TAG = "audit"
# target kinds whose ids are Relay global ids elsewhere in the API
_NODE_KINDS = frozenset({"Dataset", "DatasetVersion", "Source", "Entity", "Suggestion"})


@strawberry.type(name="AuditEvent",
                 description="One change to the catalog, written in the change's transaction.")
class AuditEventType:
    id: strawberry.ID = strawberry.field(description="The event's number (ascending in time).")
    at: datetime
    actor: str = strawberry.field(description="The API token's name ('cli' for the command "
                                              "line, 'anonymous' never writes).")
    action: str = strawberry.field(description="e.g. dataset.registered, version.added, "
                                               "tag.added, token.created.")
    target_kind: str
    target_id: str = strawberry.field(description="The target's raw id.")
    target: strawberry.ID | None = strawberry.field(
        description="The target's global id, for `node(id:)` (null for non-node targets).")
    detail: JSON
    request_id: str | None = strawberry.field(
        description="The request (X-Request-Id) or CLI run that made the change.")

    @classmethod
    def from_model(cls, e: models.AuditEvent) -> AuditEventType:
        target = global_id(e.target_kind, e.target_id) if e.target_kind in _NODE_KINDS else None
        return cls(id=strawberry.ID(str(e.id)), at=e.at, actor=e.actor, action=e.action,
                   target_kind=e.target_kind, target_id=e.target_id, target=target,
                   detail=cast(JSON, e.detail), request_id=e.request_id)


def target_id(target: str | None) -> str | None:
    """A global id (``node(id:)``) or a raw id, as the raw id the log stores."""
    if target is None:
        return None
    text = check_text(target, field="target", limit=500) or ""
    try:
        kind, raw = from_global_id(text)
    except ValidationError:
        return text
    return raw if kind in _NODE_KINDS else text


@strawberry.type
class AuditQuery:
    @strawberry.field(description="The audit log, newest first, filtered by exact actor, "
                                  "action or target (a global or raw id). Admins only.",
                      extensions=needs(models.Role.ADMIN))
    async def audit_log(self, info: Info, first: int | None = None, after: str | None = None,
                        actor: str | None = None, action: str | None = None,
                        target: str | None = None) -> Connection[AuditEventType]:
        size = check_first(first, info.context.settings.max_page_size)
        cursor = decode_after(after, 1, _CURSOR_TAG)
        before = cursor[0] if cursor else None
        if before is not None and (not isinstance(before, int) or isinstance(before, bool)):
            raise ValidationError("cursor does not belong to this list", field="after")
        flt = models.AuditFilter(actor=check_text(actor, field="actor", limit=200),
                                 action=check_text(action, field="action", limit=200),
                                 target_id=target_id(target))
        page = await info.context.graph.list_audit_page(flt, first=size, before_id=before)
        return connection([AuditEventType.from_model(e) for e in page.items],
                          [tagged_cursor(_CURSOR_TAG, c) for c in page.cursors],
                          has_next=page.has_next, has_previous=after is not None,
                          total=page.total)
