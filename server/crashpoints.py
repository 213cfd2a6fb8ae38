"""Named points where a test can make the process die as if killed with ``kill -9``.

Test-only. ``peso`` reads ``PESO_TEST_CRASH_AT`` once at start (``server.cli``) and arms the
named point; the code passing that point then calls ``os._exit(137)``: no ``finally``
blocks, no cleanup, no commit — exactly what a SIGKILL leaves behind. Unarmed, ``reach`` is
one comparison. Points:

- ``after-objects``: a load has written its raw and curated objects, nothing is registered;
- ``in-register``: inside the registration transaction, after every row was written and
  before COMMIT (the SQLite store).
"""

from __future__ import annotations

import os
import sys

POINTS = ("after-objects", "in-register")
KILLED = 137  # 128 + SIGKILL, what a shell reports for kill -9

_armed: str | None = None


def arm(point: str | None) -> None:
    """Arm ``point`` (one of ``POINTS``), or disarm with None/empty."""
    global _armed
    if point and point not in POINTS:
        raise ValueError(f"unknown crash point {point!r} (known: {', '.join(POINTS)})")
    _armed = point or None


def reach(point: str) -> None:
    """Die here, at once, when ``point`` is armed."""
    if _armed == point:
        sys.stderr.write(f"peso: crashing at {point} (PESO_TEST_CRASH_AT)\n")
        sys.stderr.flush()
        os._exit(KILLED)
