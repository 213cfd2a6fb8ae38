"""A lease in the graph store: which process may run a named background job right now
(server/scheduler.py). Not catalog content: no audit event, not exported or migrated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    acquired_at: datetime   # when the current holder took it (a renewal keeps it)
    expires_at: datetime    # after this, anyone may take it over
