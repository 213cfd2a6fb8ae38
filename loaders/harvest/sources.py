"""Harvest sources, kept in the graph store so every Peso process sees the same ones.

A harvest source is an OpenLineage job of namespace ``peso.harvest`` whose facet
``peso_harvest_source`` holds its definition (URL, kind, schedule) and the validators of its
last fetch (ETag, Last-Modified); it is written with a JobEvent, so both backends store it
with no store method of its own, and ``jobs`` in GraphQL lists it. Removing one marks it
``removed`` (its history stays).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from server.errors import NotFoundError, ValidationError
from server.openlineage.consumer import ingest
from server.openlineage.validate import SPEC_2_0_2
from server.storage.graph import GraphStore

NAMESPACE = "peso.harvest"
FACET = "peso_harvest_source"
KINDS = ("dcat-us", "ckan", "dcat-rdf", "schema-org")
PRODUCER = "urn:peso:harvest"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}\Z")
_EVERY = re.compile(r"^(\d+)([smhd])\Z")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_EVERY = 60


@dataclass(frozen=True, slots=True)
class HarvestSource:
    name: str
    url: str
    kind: str
    every_seconds: int
    etag: str | None = None
    last_modified: str | None = None
    removed: bool = False
    fetch_data: bool = False   # also download and load each dataset's tabular distribution

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValidationError(f"harvest name {name!r}: use 1-64 lower-case letters, digits, "
                              "'.', '_' or '-', starting with a letter or digit", field="name")
    return name


def parse_every(text: str) -> int:
    """``6h``, ``30m``, ``1d``, ``3600s`` → seconds (at least a minute)."""
    match = _EVERY.match(text.strip().lower())
    if not match:
        raise ValidationError(f"--every {text!r}: write a number and a unit, e.g. 30m, 6h, 1d",
                              field="every")
    seconds = int(match.group(1)) * UNITS[match.group(2)]
    if seconds < MIN_EVERY:
        raise ValidationError(f"--every {text!r}: at least {MIN_EVERY} seconds", field="every")
    return seconds


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationError(f"harvest kind {kind!r} is not one of {', '.join(KINDS)}",
                              field="kind")
    return kind


async def save(graph: GraphStore, source: HarvestSource, *, actor: str) -> HarvestSource:
    stamp = datetime.now(UTC).isoformat(timespec="microseconds")
    body = {k: v for k, v in source.as_dict().items() if k != "name"}
    await ingest(graph, {
        "eventTime": stamp, "producer": PRODUCER, "schemaURL": f"{SPEC_2_0_2}#/$defs/JobEvent",
        "job": {"namespace": NAMESPACE, "name": source.name, "facets": {
            FACET: {"_producer": PRODUCER, "_schemaURL": f"{PRODUCER}#/{FACET}", **body}}},
        "inputs": [], "outputs": []}, actor=actor)
    return source


def _from_facets(name: str, facets: dict[str, Any]) -> HarvestSource | None:
    body = facets.get(FACET)
    if not isinstance(body, dict):
        return None
    return HarvestSource(name=name, url=str(body.get("url", "")), kind=str(body.get("kind", "")),
                         every_seconds=int(body.get("every_seconds") or 0),
                         etag=body.get("etag"), last_modified=body.get("last_modified"),
                         removed=bool(body.get("removed")),
                         fetch_data=bool(body.get("fetch_data")))


async def get(graph: GraphStore, name: str) -> HarvestSource:
    job = await graph.get_job(NAMESPACE, check_name(name))
    found = _from_facets(name, job.facets) if job else None
    if found is None or found.removed:
        raise NotFoundError(f"no harvest source named {name!r} (see `peso harvest list`)")
    return found


async def list_all(graph: GraphStore) -> list[HarvestSource]:
    out: list[HarvestSource] = []
    after: list[Any] | None = None
    while True:
        page = await graph.list_jobs(namespace=NAMESPACE, first=500, after=after)
        for job in page.items:
            found = _from_facets(job.name, job.facets)
            if found is not None and not found.removed:
                out.append(found)
        if not page.has_next or not page.cursors:
            return sorted(out, key=lambda s: s.name)
        after = page.cursors[-1]


async def remove(graph: GraphStore, name: str, *, actor: str) -> HarvestSource:
    found = await get(graph, name)
    return await save(graph, replace(found, removed=True), actor=actor)
