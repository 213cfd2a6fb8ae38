"""Freshness against a declared periodicity: a dataset that says it is updated every day
(DCAT ``accrualPeriodicity``, ISO 8601 repeating durations such as ``R/P1D``, ``R/P1M``,
``R/PT1H``, ``R/P0.5M``; or the words ``daily``, ``weekly``, … CKAN portals use) is overdue
once its last modification is older than one period plus a day of grace."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_DURATION = re.compile(r"^(?:R\d*/)?P(?:(?P<n>\d+(?:\.\d+)?)(?P<unit>[YMWD])|"
                       r"T(?P<tn>\d+(?:\.\d+)?)(?P<tunit>[HMS]))\Z", re.IGNORECASE)
_DAYS = {"Y": 365.25, "M": 30.44, "W": 7.0, "D": 1.0}
_SECONDS = {"H": 3600.0, "M": 60.0, "S": 1.0}
_WORDS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1),
          "weekly": timedelta(weeks=1), "biweekly": timedelta(weeks=2),
          "monthly": timedelta(days=30.44), "bimonthly": timedelta(days=60.88),
          "quarterly": timedelta(days=91.31), "semiannual": timedelta(days=182.6),
          "biannual": timedelta(days=182.6), "annual": timedelta(days=365.25),
          "annually": timedelta(days=365.25), "yearly": timedelta(days=365.25)}
GRACE = timedelta(days=1)


def period(text: str | None) -> timedelta | None:
    """The period a periodicity declares; None for ``irregular``, unknown or missing."""
    if not text:
        return None
    value = text.strip().rsplit("/", 1)[-1] if text.strip().startswith("http") else text.strip()
    word = _WORDS.get(value.lower().replace("-", "").replace("_", ""))
    if word is not None:
        return word
    m = _DURATION.match(value)
    if m is None:
        return None
    if m["n"] is not None:
        return timedelta(days=float(m["n"]) * _DAYS[m["unit"].upper()]) or None
    return timedelta(seconds=float(m["tn"]) * _SECONDS[m["tunit"].upper()]) or None


def modified_at(text: str | None) -> datetime | None:
    """A ``modified`` value (an ISO date or date-time) as an aware datetime, else None."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text.strip()[:10]), datetime.min.time())
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def overdue(periodicity: str | None, modified: str | None, now: datetime) -> timedelta | None:
    """How late the next update is (None: not overdue, or nothing declared to check)."""
    every, last = period(periodicity), modified_at(modified)
    if every is None or last is None:
        return None
    late = now - (last + every + GRACE)
    return late if late > timedelta(0) else None
