"""Column-name normalisation: trimmed, snake_case, ASCII, unique. The original name is kept
in the field's metadata (``original_name``) so nothing the file said is lost. Kept as written
(normalisation off), a name still loses its invisible and bidi control characters."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME = 120
_CAMEL_1 = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")


def snake_case(name: str) -> str:
    """``"Ad Topic Line"`` → ``ad_topic_line``; ``"InvoiceDate"`` → ``invoice_date``;
    ``"CustomerID"`` → ``customer_id``; ``"emp.var.rate"`` → ``emp_var_rate``."""
    text = unicodedata.normalize("NFKD", name.strip()).encode("ascii", "ignore").decode()
    text = _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", text))
    text = _NON_WORD.sub("_", text).strip("_").lower()
    text = re.sub(r"_+", "_", text)[:MAX_NAME].rstrip("_")
    if text and text[0].isdigit():
        text = f"c_{text}"
    return text


def visible(name: str) -> str:
    """``name`` without Unicode format characters (category Cf: bidi controls, zero-width
    spaces and joiners, BOMs), which would make columns look alike or read backwards."""
    return "".join(ch for ch in name if unicodedata.category(ch) != "Cf")


def normalize_names(names: list[str], *, enabled: bool = True) -> list[str]:
    """Normalise (when enabled) and de-duplicate: a blank name becomes ``column_<n>``, a repeat
    gets ``_2``, ``_3``… The result always has one unique, non-empty name per column."""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names):
        base = snake_case(raw) if enabled else (visible(raw).strip() or "")
        base = base or f"column_{i + 1}"
        candidate, n = base, 2
        while candidate in seen:
            candidate, n = f"{base}_{n}", n + 1
        seen.add(candidate)
        out.append(candidate)
    return out
