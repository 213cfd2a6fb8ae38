"""Security in the domain model: roles, API tokens as stored, and the audit-log filter.

Re-exported by ``server.models``: import these from there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Role(enum.StrEnum):
    """What an API token may do. ``reader`` < ``writer`` < ``admin``: each includes the ones
    before it. ``collector`` stands outside that ladder: it may only post events to the
    collection endpoint of its token's namespaces, and reads nothing a caller without a
    token could not read."""

    READER = "reader"
    WRITER = "writer"
    ADMIN = "admin"
    COLLECTOR = "collector"

    @property
    def rank(self) -> int:
        return -1 if self is Role.COLLECTOR else list(Role).index(self)


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as stored: never the secret, only its sha256."""

    id: str
    name: str
    role: Role
    pii: bool
    secret_hash: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    namespaces: tuple[str, ...] = ()   # a collector token's namespaces; empty for the others


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target_id: str | None = None
