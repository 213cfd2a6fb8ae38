"""Security in the domain model: roles, API tokens as stored, and the audit-log filter.

Re-exported by ``server.models``: import these from there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Role(enum.StrEnum):
    """What an API token may do; each role includes the ones before it."""

    READER = "reader"
    WRITER = "writer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


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


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target_id: str | None = None
