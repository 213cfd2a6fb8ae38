"""Peso as a portal: the catalog exported as DCAT-US 1.1 ``data.json``, DCAT (Turtle and
JSON-LD, built with rdflib) and schema.org ``Dataset`` JSON-LD per dataset.

Mapping: a dataset's ``namespace.name`` is its POD ``identifier``, its description (or, when
it has none, a sentence naming it: POD requires one) the ``description``, its tags the
``keyword`` list (POD requires one keyword: the namespace is always added), its source the
``publisher`` (an organization; "Peso" when it has none), its latest version's
``created_at`` (else the dataset's ``updated_at``) ``modified``, and its owners the
``contactPoint``.

PII policy (schema/pii.py): an owner's name and email are personal data. A caller whose
token lacks the ``pii`` permission (anonymous callers included) gets the contact point masked:
``fn`` is ``***`` and ``hasEmail`` the placeholder ``mailto:masked@redacted.invalid`` (POD
requires both, the ``.invalid`` top-level domain can never be delivered to). A team owner's
name is not personal and stays visible; its email is masked all the same.

``bureauCode``/``programCode`` are required by the POD schema for US federal agencies only;
Peso is not one and writes the "no agency" codes ``000:00`` and ``000:000``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, XSD
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.auth import Principal
from server.guard import authorize
from server.models import Dataset, DatasetFilter, Owner, OwnerKind, PageRequest, Source
from server.storage.graph import GraphStore

POD_SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"
POD_CONTEXT = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
MASK = "***"
MASKED_EMAIL = "mailto:masked@redacted.invalid"
PAGE = 500
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")


@dataclass(frozen=True, slots=True)
class Entry:
    """One dataset with what the exports need about it."""

    dataset: Dataset
    tags: list[str]
    owners: list[Owner]
    source: Source | None
    modified: datetime
    harvested: dict[str, Any] | None = None  # the peso_harvest facet of a harvested dataset


async def entries(graph: GraphStore) -> list[Entry]:
    """Every live dataset with its tags, owners, source and last change, in name order."""
    out: list[Entry] = []
    after: list[Any] | None = None
    while True:
        page = await graph.list_datasets(DatasetFilter(), PageRequest(first=PAGE, after=after))
        ids = [d.id for d in page.items]
        if ids:
            tags = await graph.get_tags(ids)
            owners = await graph.get_owners(ids)
            latest = await graph.get_latest_versions(ids)
            facets = await graph.get_dataset_facets(ids)
            source_ids = sorted({d.source_id for d in page.items if d.source_id})
            sources = {s.id: s for s in await graph.get_sources(source_ids) if s is not None}
            for d, t, o, v, f in zip(page.items, tags, owners, latest, facets, strict=True):
                h = f.get(HARVEST_FACET)
                out.append(Entry(d, sorted(x.name for x in t), list(o),
                                 sources.get(d.source_id) if d.source_id else None,
                                 v.created_at if v is not None else d.updated_at,
                                 h if isinstance(h, dict) else None))
        if not page.has_next or not page.cursors:
            return out
        after = page.cursors[-1]


def identifier(d: Dataset) -> str:
    return f"{d.namespace}.{d.name}"


def description(d: Dataset) -> str:
    return d.description or f"The dataset {d.name} in the namespace {d.namespace}."


def keywords(e: Entry) -> list[str]:
    return list(dict.fromkeys([*e.tags, e.dataset.namespace]))


def contact(owners: Sequence[Owner], pii: bool) -> dict[str, str]:
    """The POD vcard of a dataset's first owner, masked for callers without ``pii``."""
    if not owners:
        return {"@type": "vcard:Contact", "fn": "Peso catalog", "hasEmail": MASKED_EMAIL}
    owner = owners[0]
    personal = owner.kind == OwnerKind.USER
    fn = owner.name if (pii or not personal) else MASK
    # an address POD's pattern refuses would make the whole file invalid: the placeholder
    shown = pii and owner.email is not None and _POD_EMAIL.match(owner.email) is not None
    email = f"mailto:{owner.email}" if shown else MASKED_EMAIL
    return {"@type": "vcard:Contact", "fn": fn, "hasEmail": email}


_POD_EMAIL = re.compile(r"^[\w_~!$&'()*+,;=:.-]+@[\w.-]+\.[\w.-]+?\Z")
_SPDX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}\Z")


def license_uri(e: Entry) -> str | None:
    """The source's license as a URI (POD wants one): a URL as is, an SPDX identifier such
    as ``CC-BY-4.0`` as its spdx.org page; anything else is left out."""
    text = (e.source.license or "").strip() if e.source is not None else ""
    if text.startswith(("https://", "http://")) and " " not in text:
        return text
    if _SPDX_ID.match(text):
        return f"https://spdx.org/licenses/{text}.html"
    return None


def publisher_name(e: Entry) -> str:
    return e.source.name if e.source is not None else "Peso"


HARVEST_FACET = "peso_harvest"  # loaders/harvest/apply.py
_MEDIA_TYPE = re.compile(r"^[-\w]+/[-\w]+(\.[-\w]+)*([+][-\w]+)?\Z")
# POD fields a harvested DCAT-US record keeps as it was (other kinds' values may not match
# POD's patterns, and one bad value would make the whole file invalid)
_POD_KEPT = (("issued", "issued"), ("accrualPeriodicity", "periodicity"),
             ("temporal", "temporal"), ("spatial", "spatial"))


def _harvested_record(record: dict[str, Any], e: Entry, h: dict[str, Any]) -> None:
    """A harvested dataset exported as the portal described it: what harvesting the export
    gives back is the same dataset, keywords and distributions (issue 12's round trip)."""
    record["title"] = h.get("title") or record["title"]
    record["identifier"] = h.get("identifier") or record["identifier"]
    record["description"] = h.get("description") or record["description"]
    record["keyword"] = e.tags or record["keyword"]
    if h.get("modified"):
        record["modified"] = h["modified"]
    if h.get("publisher"):
        record["publisher"] = {"@type": "org:Organization", "name": h["publisher"]}
    if h.get("landing_page"):
        record["landingPage"] = h["landing_page"]
    if isinstance(h.get("license"), str) and h["license"].startswith(("http://", "https://")):
        record["license"] = h["license"]
    if (h.get("harvest") or {}).get("kind") == "dcat-us":
        for pod, ours in _POD_KEPT:
            if h.get(ours):
                record[pod] = h[ours]
        if h.get("themes"):
            record["theme"] = list(h["themes"])
    distributions = []
    for d in h.get("distributions") or []:
        if not isinstance(d, dict) or not str(d.get("url", "")).startswith(("http", "ftp")):
            continue
        media = d.get("media_type") if isinstance(d.get("media_type"), str) and \
            _MEDIA_TYPE.match(d["media_type"]) else None
        # POD: a downloadURL needs its mediaType; without one it is an accessURL
        kind = "accessURL" if d.get("access") or media is None else "downloadURL"
        out: dict[str, Any] = {"@type": "dcat:Distribution", kind: d["url"]}
        if media is not None:
            out["mediaType"] = media
        if d.get("format"):
            out["format"] = str(d["format"])
        if d.get("title"):
            out["title"] = str(d["title"])
        distributions.append(out)
    if distributions:
        record["distribution"] = distributions


def data_json(items: Sequence[Entry], *, pii: bool, base_url: str) -> dict[str, Any]:
    """The catalog as a DCAT-US (Project Open Data) 1.1 ``data.json`` document."""
    datasets = []
    for e in items:
        d = e.dataset
        record: dict[str, Any] = {
            "@type": "dcat:Dataset",
            "title": d.name,
            "description": description(d),
            "keyword": keywords(e),
            "modified": e.modified.isoformat(),
            "publisher": {"@type": "org:Organization", "name": publisher_name(e)},
            "contactPoint": contact(e.owners, pii),
            "identifier": identifier(d),
            "accessLevel": "public",
            "bureauCode": ["000:00"],
            "programCode": ["000:000"],
            "landingPage": f"{base_url}/catalog/datasets/{d.id}.jsonld",
        }
        if (license := license_uri(e)) is not None:
            record["license"] = license
        if e.harvested is not None:
            _harvested_record(record, e, e.harvested)
        datasets.append(record)
    return {"@context": POD_CONTEXT, "@id": f"{base_url}/catalog/data.json",
            "@type": "dcat:Catalog", "conformsTo": POD_SCHEMA,
            "describedBy": f"{POD_SCHEMA}/catalog.json", "dataset": datasets}


def dcat_graph(items: Sequence[Entry], *, pii: bool, base_url: str) -> Graph:
    """The catalog as a DCAT RDF graph (dcat:Catalog with one dcat:Dataset per dataset)."""
    g = Graph()
    g.bind("dcat", DCAT)
    g.bind("dct", DCTERMS)
    g.bind("foaf", FOAF)
    g.bind("vcard", VCARD)
    catalog = URIRef(f"{base_url}/catalog")
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal("Peso catalog")))
    for e in items:
        d = e.dataset
        node = URIRef(f"{base_url}/catalog/datasets/{d.id}")
        g.add((catalog, DCAT.dataset, node))
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((node, DCTERMS.identifier, Literal(identifier(d))))
        g.add((node, DCTERMS.title, Literal(d.name)))
        g.add((node, DCTERMS.description, Literal(description(d))))
        g.add((node, DCTERMS.modified, Literal(e.modified.isoformat(), datatype=XSD.dateTime)))
        for k in keywords(e):
            g.add((node, DCAT.keyword, Literal(k)))
        publisher = URIRef(f"{base_url}/catalog/publishers/"
                           f"{e.source.id if e.source else 'peso'}")
        g.add((node, DCTERMS.publisher, publisher))
        g.add((publisher, RDF.type, FOAF.Organization))
        g.add((publisher, FOAF.name, Literal(publisher_name(e))))
        if (license := license_uri(e)) is not None:
            g.add((node, DCTERMS.license, URIRef(license)))
        vcard = contact(e.owners, pii)
        point = URIRef(f"{base_url}/catalog/datasets/{d.id}#contact")
        g.add((node, DCAT.contactPoint, point))
        g.add((point, RDF.type, VCARD.Kind))
        g.add((point, VCARD.fn, Literal(vcard["fn"])))
        g.add((point, VCARD.hasEmail, URIRef(vcard["hasEmail"])))
    return g


def schema_org(e: Entry, *, pii: bool, base_url: str) -> dict[str, Any]:
    """One dataset as schema.org ``Dataset`` JSON-LD (what search engines index)."""
    d = e.dataset
    vcard = contact(e.owners, pii)
    return {
        "@context": "https://schema.org/", "@type": "Dataset",
        "@id": f"{base_url}/catalog/datasets/{d.id}",
        "identifier": identifier(d), "name": d.name, "description": description(d),
        "keywords": keywords(e), "dateModified": e.modified.isoformat(),
        "dateCreated": d.created_at.isoformat(),
        "publisher": {"@type": "Organization", "name": publisher_name(e)},
        "creator": {"@type": "Person" if e.owners and e.owners[0].kind == OwnerKind.USER
                    else "Organization", "name": vcard["fn"],
                    "email": vcard["hasEmail"].removeprefix("mailto:")},
        **({"license": license} if (license := license_uri(e)) is not None else {}),
    }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _caller(request: Request) -> Principal | Response:
    return await authorize(request, None)


async def data_json_endpoint(request: Request) -> Response:
    caller = await _caller(request)
    if isinstance(caller, Response):
        return caller
    items = await entries(request.app.state.graph)
    return JSONResponse(data_json(items, pii=caller.pii, base_url=_base(request)))


async def _rdf(request: Request, rdf_format: str, media_type: str) -> Response:
    """The whole catalog as one DCAT graph, serialized as ``rdf_format``."""
    caller = await _caller(request)
    if isinstance(caller, Response):
        return caller
    items = await entries(request.app.state.graph)
    g = dcat_graph(items, pii=caller.pii, base_url=_base(request))
    return Response(g.serialize(format=rdf_format), media_type=media_type)


async def turtle_endpoint(request: Request) -> Response:
    return await _rdf(request, "turtle", "text/turtle")


async def jsonld_endpoint(request: Request) -> Response:
    return await _rdf(request, "json-ld", "application/ld+json")


async def dataset_jsonld_endpoint(request: Request) -> Response:
    caller = await _caller(request)
    if isinstance(caller, Response):
        return caller
    graph: GraphStore = request.app.state.graph
    dataset_id = request.path_params["id"]
    found = (await graph.get_datasets([dataset_id]))[0] if len(dataset_id) <= 128 else None
    if found is None or found.deleted_at is not None:
        return JSONResponse({"errors": [{"message": f"no dataset with id {dataset_id!r}",
                                         "extensions": {"code": "NOT_FOUND"}}]},
                            status_code=404)
    tags, owners = (await graph.get_tags([found.id]))[0], (await graph.get_owners([found.id]))[0]
    latest = (await graph.get_latest_versions([found.id]))[0]
    source = ((await graph.get_sources([found.source_id]))[0] if found.source_id else None)
    entry = Entry(found, sorted(t.name for t in tags), list(owners), source,
                  latest.created_at if latest is not None else found.updated_at)
    body = json.dumps(schema_org(entry, pii=caller.pii, base_url=_base(request)))
    return Response(body, media_type="application/ld+json")


ROUTES = (
    ("/catalog/data.json", data_json_endpoint),
    ("/catalog/catalog.ttl", turtle_endpoint),
    ("/catalog/catalog.jsonld", jsonld_endpoint),
    ("/catalog/datasets/{id}.jsonld", dataset_jsonld_endpoint),
)
