"""schema.org ``Dataset`` JSON-LD → records, standalone (a ``.jsonld``/JSON document) or
embedded in HTML pages (``<script type="application/ld+json">``, found with ``extruct``).

A node is a dataset when its ``@type`` — a string or an array, ``Dataset``, ``schema:Dataset``
or the full IRI — says so, at the top, in an array, in an ``@graph`` or nested anywhere.
Mapping: ``identifier`` (a string, a PropertyValue's ``value``, or the first of a list; else
``@id``, else ``url``), ``name``, ``description``, ``keywords`` (a list, or text split on
commas), ``license`` (text or an object's ``url``), ``dateModified``, ``datePublished``,
``temporalCoverage``, ``spatialCoverage`` (text or a Place's ``name``), ``url`` (the landing
page), ``publisher`` (text or an Organization's ``name``), ``creator`` (a Person's name and
e-mail: the contact point) and each ``distribution`` (DataDownload ``contentUrl``,
``encodingFormat``, ``contentSize``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from extruct.jsonld import JsonLdExtractor

from loaders.harvest.records import Distribution, HarvestRecord, Refusal

DATASET_TYPES = {"dataset", "schema:dataset", "http://schema.org/dataset",
                 "https://schema.org/dataset"}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b)?\s*$", re.I)
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 1024,
          "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def documents(body: bytes, content_type: str | None) -> list[Any]:
    """The JSON-LD documents of a page or of a JSON document."""
    head = body.lstrip()[:1]
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if head in (b"{", b"[") and "html" not in media:
        try:
            return [json.loads(body)]
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not JSON-LD ({exc})") from exc
    html = body.decode("utf-8", errors="replace")
    return list(JsonLdExtractor().extract(html))


def _is_dataset(node: dict[str, Any]) -> bool:
    types = node.get("@type")
    types = types if isinstance(types, list) else [types]
    return any(isinstance(t, str) and t.lower() in DATASET_TYPES for t in types)


def nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every Dataset node, wherever it is nested (not inside another Dataset's fields)."""
    if isinstance(value, list):
        for inner in value:
            yield from nodes(inner)
    elif isinstance(value, dict):
        if _is_dataset(value):
            yield value
            return
        for inner in value.values():
            yield from nodes(inner)


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if _text(v)), None)
    if isinstance(value, dict):
        value = value.get("@value", value.get("name", value.get("url")))
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _identifier(node: dict[str, Any]) -> str | None:
    ident = node.get("identifier")
    if isinstance(ident, list):
        ident = ident[0] if ident else None
    if isinstance(ident, dict):
        ident = ident.get("value") or ident.get("@id") or ident.get("url")
    return _text(ident) or _text(node.get("@id")) or _text(node.get("url"))


def _keywords(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    return tuple(k for k in (_text(v) for v in value) if k)


def _size(value: Any) -> int | None:
    if isinstance(value, int) and value >= 0:
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if not match:
        return None
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


def _distributions(value: Any) -> tuple[Distribution, ...]:
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    out = []
    for d in items:
        if not isinstance(d, dict):
            continue
        url = _text(d.get("contentUrl")) or _text(d.get("url"))
        if url:
            fmt = _text(d.get("encodingFormat")) or _text(d.get("fileFormat"))
            out.append(Distribution(url=url, media_type=fmt if fmt and "/" in fmt else None,
                                    format=fmt if fmt and "/" not in fmt else None,
                                    byte_size=_size(d.get("contentSize")),
                                    title=_text(d.get("name"))))
    return tuple(out)


def _person(value: Any) -> tuple[str | None, str | None]:
    items = value if isinstance(value, list) else [value]
    for p in items:
        if isinstance(p, dict) and str(p.get("@type", "")).lower() in ("person",
                                                                        "schema:person"):
            email = _text(p.get("email"))
            if email and email.lower().startswith("mailto:"):
                email = email[len("mailto:"):]
            return _text(p.get("name")), email
    return None, None


def to_record(node: dict[str, Any], identifier: str, title: str) -> HarvestRecord:
    contact_name, contact_email = _person(node.get("creator"))
    return HarvestRecord(
        identifier=identifier, title=title, description=_text(node.get("description")),
        keywords=_keywords(node.get("keywords")), themes=_keywords(node.get("about")),
        license=_text(node.get("license")), modified=_text(node.get("dateModified")),
        issued=_text(node.get("datePublished")), temporal=_text(node.get("temporalCoverage")),
        spatial=_text(node.get("spatialCoverage")), landing_page=_text(node.get("url")),
        publisher=_text(node.get("publisher")), contact_name=contact_name,
        contact_email=contact_email, distributions=_distributions(node.get("distribution")))


def parse(body: bytes, *, where: str, content_type: str | None = None
          ) -> tuple[list[HarvestRecord], list[Refusal]]:
    try:
        docs = documents(body, content_type)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc
    records: list[HarvestRecord] = []
    refused: list[Refusal] = []
    seen: set[str] = set()
    for i, node in enumerate(n for doc in docs for n in nodes(doc)):
        identifier, title = _identifier(node), _text(node.get("name"))
        label = f"Dataset[{i}]" + (f" ({identifier[:200]})" if identifier else "")
        if identifier is None or title is None:
            refused.append(Refusal(label, "a schema.org Dataset needs a name and an "
                                          "identifier (or @id, or url)"))
            continue
        if identifier in seen:
            refused.append(Refusal(label, f"identifier {identifier!r} repeats an earlier one"))
            continue
        seen.add(identifier)
        records.append(to_record(node, identifier, title))
    return records, refused
