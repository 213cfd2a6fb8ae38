"""DCAT / DCAT-AP as RDF (Turtle, RDF/XML, JSON-LD) → records, read with rdflib.

Every ``dcat:Dataset`` of the document is a record: ``dct:identifier`` (else the dataset's
IRI), ``dct:title``, ``dct:description`` (English, else untagged, else any language),
``dcat:keyword``, ``dcat:theme``, ``dct:license`` (of the dataset or its first distribution),
``dct:modified`` / ``dct:issued``, ``dct:accrualPeriodicity``, ``dct:temporal`` (a period's
``dcat:startDate``/``endDate`` as ``start/end``), ``dct:spatial``, ``dcat:landingPage``,
``dct:publisher`` (its ``foaf:name``), ``dcat:contactPoint`` (``vcard:fn``, ``vcard:hasEmail``)
and each ``dcat:distribution`` (``dcat:downloadURL`` or ``dcat:accessURL``, ``dcat:mediaType``,
``dct:format``, ``dcat:byteSize``). A JSON-LD document may not name a remote ``@context``:
rdflib would fetch it, and a harvest only fetches what its guard allows (inline the context).
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, Namespace
from rdflib.term import Node

from loaders.harvest.records import Distribution, HarvestRecord, Refusal

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
FORMATS = {"text/turtle": "turtle", "application/x-turtle": "turtle",
           "application/rdf+xml": "xml", "application/ld+json": "json-ld",
           "application/json": "json-ld", "text/n3": "n3", "application/n-triples": "nt"}
SUFFIXES = {".ttl": "turtle", ".rdf": "xml", ".xml": "xml", ".jsonld": "json-ld",
            ".json": "json-ld", ".nt": "nt", ".n3": "n3"}


def rdf_format(content_type: str | None, url: str, body: bytes) -> str:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in FORMATS:
        return FORMATS[media]
    for suffix, fmt in SUFFIXES.items():
        if url.lower().split("?", 1)[0].endswith(suffix):
            return fmt
    head = body.lstrip()[:200]
    if head.startswith((b"{", b"[")):
        return "json-ld"
    return "xml" if head.startswith(b"<") else "turtle"


def _remote_contexts(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "@context":
                items = inner if isinstance(inner, list) else [inner]
                found += [i for i in items if isinstance(i, str)]
            else:
                found += _remote_contexts(inner)
    elif isinstance(value, list):
        for inner in value:
            found += _remote_contexts(inner)
    return found


def _text(g: Graph, subject: Node, predicate: URIRef) -> str | None:
    values = [o for o in g.objects(subject, predicate) if isinstance(o, Literal | URIRef)]
    for lang in ("en", None):
        for o in values:
            if not isinstance(o, Literal) or o.language == lang:
                return str(o).strip() or None
    return str(values[0]).strip() or None if values else None


def _name(g: Graph, node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, Literal):
        return str(node).strip() or None
    return _text(g, node, FOAF.name) or _text(g, node, VCARD.fn) or (
        str(node) if isinstance(node, URIRef) else None)


def _temporal(g: Graph, node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, Literal):
        return str(node)
    start = _text(g, node, DCAT.startDate) or _text(g, node, URIRef(
        "http://schema.org/startDate"))
    end = _text(g, node, DCAT.endDate) or _text(g, node, URIRef("http://schema.org/endDate"))
    if start or end:
        return f"{start or '..'}/{end or '..'}"
    return str(node) if isinstance(node, URIRef) else None


def _size(g: Graph, node: Node) -> int | None:
    value = g.value(node, DCAT.byteSize)
    try:
        size = int(float(str(value))) if value is not None else None
    except ValueError:
        return None
    return size if size is not None and size >= 0 else None


def _distribution(g: Graph, node: Node) -> Distribution | None:
    download = _text(g, node, DCAT.downloadURL)
    url = download or _text(g, node, DCAT.accessURL)
    if url is None:
        return None
    media = _text(g, node, DCAT.mediaType)
    fmt = _text(g, node, DCTERMS["format"])
    return Distribution(url=url, media_type=media, format=fmt, byte_size=_size(g, node),
                        title=_text(g, node, DCTERMS.title), access=download is None)


def parse(body: bytes, *, where: str, content_type: str | None = None
          ) -> tuple[list[HarvestRecord], list[Refusal]]:
    fmt = rdf_format(content_type, where, body)
    if fmt == "json-ld":
        try:
            remote = _remote_contexts(json.loads(body))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{where}: not JSON-LD ({exc})") from exc
        if remote:
            raise ValueError(f"{where}: names a remote @context ({remote[0][:200]}), which a "
                             "harvest does not fetch; inline the context in the document")
    g = Graph()
    try:
        with warnings.catch_warnings():  # rdflib's JSON-LD parser uses its own deprecated API
            warnings.simplefilter("ignore", DeprecationWarning)
            g.parse(data=body, format=fmt, publicID=where)
    except Exception as exc:  # rdflib raises many kinds (SAX, syntax, plugin): all mean this
        raise ValueError(f"{where}: not readable as {fmt} RDF ({type(exc).__name__}: "
                         f"{str(exc)[:300]})") from exc
    records: list[HarvestRecord] = []
    refused: list[Refusal] = []
    seen: set[str] = set()
    for subject in sorted(set(g.subjects(RDF.type, DCAT.Dataset)), key=str):
        label = str(subject) if isinstance(subject, URIRef) else f"a dataset ({subject})"
        title = _text(g, subject, DCTERMS.title)
        identifier = _text(g, subject, DCTERMS.identifier) or (
            str(subject) if isinstance(subject, URIRef) else None)
        if title is None or identifier is None:
            refused.append(Refusal(label, "a dcat:Dataset needs a dct:title and a "
                                          "dct:identifier (or an IRI)"))
            continue
        if identifier in seen:
            refused.append(Refusal(label, f"identifier {identifier!r} repeats an earlier one"))
            continue
        seen.add(identifier)
        distributions = [d for n in sorted(g.objects(subject, DCAT.distribution), key=str)
                         if (d := _distribution(g, n)) is not None]
        license_ = _text(g, subject, DCTERMS.license) or next(
            (x for n in g.objects(subject, DCAT.distribution)
             if (x := _text(g, n, DCTERMS.license))), None)
        contact = g.value(subject, DCAT.contactPoint)
        email = _text(g, contact, VCARD.hasEmail) if contact is not None else None
        if email and email.lower().startswith("mailto:"):
            email = email[len("mailto:"):]
        records.append(HarvestRecord(
            identifier=identifier, title=title,
            description=_text(g, subject, DCTERMS.description),
            keywords=tuple(sorted({str(k).strip() for k in g.objects(subject, DCAT.keyword)
                                   if str(k).strip()})),
            themes=tuple(sorted({str(t) for t in g.objects(subject, DCAT.theme)})),
            license=license_, modified=_text(g, subject, DCTERMS.modified),
            issued=_text(g, subject, DCTERMS.issued),
            periodicity=_text(g, subject, DCTERMS.accrualPeriodicity),
            temporal=_temporal(g, g.value(subject, DCTERMS.temporal)),
            spatial=_name(g, g.value(subject, DCTERMS.spatial)),
            landing_page=_text(g, subject, DCAT.landingPage),
            publisher=_name(g, g.value(subject, DCTERMS.publisher)),
            contact_name=_text(g, contact, VCARD.fn) if contact is not None else None,
            contact_email=email, distributions=tuple(distributions)))
    return records, refused
