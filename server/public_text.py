"""Messages a reader may see: the one place that makes an error message public.

A failed load's message (``Run.errorMessage``, the OpenLineage ``errorMessage`` run facet)
can quote what the file held — a contract's failing samples ("row 12: 'jane@example.com'"),
a parse error's offending value or line — and where the server keeps things (its temp and
data folders). Before a column is classified nothing says which values are personal, so:

- ``strip_paths`` (applied when the message is stored or sent): every absolute path becomes
  its last segment, so no server folder is named — ``/srv/peso/tmp/peso-upload-1x2`` reads
  ``peso-upload-1x2``; stack traces keep their file names and line numbers only;
- ``mask_samples`` (applied when a caller without the pii permission reads it): every quoted
  literal and every ``row N: …`` / ``line N: …`` sample becomes ``***``; counts, rules and
  row numbers stay. The full detail stays in the rejected/quarantine files only writers read.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

# an absolute POSIX path of two or more segments (or a file:// URL's), not part of a word or
# a URL's authority ("http://host/x" keeps its host; its path is not the server's anyway)
_PATH = re.compile(r"(?<![\w.:/~-])(?:file://)?(/(?:[\w.@+~=-]+/)+)([\w.@+~=-]*)")
# a Windows one: C:\folder\file
_WIN_PATH = re.compile(r"\b[A-Za-z]:\\(?:[^\\\s'\"]+\\)+([^\\\s'\"]*)")
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
# "row 12: <sample>" up to the next ", row N:" / ";" / end of line
_SAMPLE = re.compile(r"\b((?:row|line)s? [\d,]+: )(?!\*\*\*)(.+?)(?=(?:, (?:row|line) [\d,]+: )"
                     r"|; |\n|$)")


def _last_segment(m: re.Match[str]) -> str:
    if not m.group(2) and m.group(1).count("/") <= 2:  # "/x/": a regex in a rule, not a path
        return m.group(0)
    return m.group(2) or "…"


def strip_paths(text: str) -> str:
    text = _PATH.sub(_last_segment, text)
    return _WIN_PATH.sub(lambda m: m.group(1) or "…", text)


def mask_samples(text: str) -> str:
    text = _QUOTED.sub(MASK, text)
    return _SAMPLE.sub(lambda m: m.group(1) + MASK, text)


def public_message(text: str | None, *, pii: bool) -> str | None:
    """``text`` as a caller sees it: never a server path; samples masked unless ``pii``."""
    if text is None:
        return None
    text = strip_paths(text)
    return text if pii else mask_samples(text)


def public_error_facet(facets: Any, *, pii: bool) -> Any:
    """Run facets with the ``errorMessage`` facet's message and stack trace made public."""
    if not isinstance(facets, dict) or not isinstance(facets.get("errorMessage"), dict):
        return facets
    facet = dict(facets["errorMessage"])
    for key in ("message", "stackTrace"):
        if isinstance(facet.get(key), str):
            facet[key] = public_message(facet[key], pii=pii)
    return {**facets, "errorMessage": facet}
