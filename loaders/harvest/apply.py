"""One harvest run: fetch, parse, compare with what the catalog holds, write, report.

What a record becomes (metadata only: no file is downloaded):

- the portal is a Source of kind ``public_portal`` named after the harvest source; every
  dataset of the run is in namespace ``<harvest name>``, named after the record's identifier
  (made safe, with a short hash of the identifier when it had to be changed), layer EXTERNAL;
- title → the dataset's description's first line (with the description after it), keywords →
  tags, publisher → an ORGANIZATION entity linked as ``publisher``, contact point → an owner
  (name and e-mail: personal data, masked for callers without ``pii`` like every owner);
- everything else (title, themes, license, modified, issued, periodicity, temporal, spatial,
  landing page, distributions, the content hash) → the dataset facet ``peso_harvest``, sent as
  an OpenLineage DatasetEvent, so ``Dataset.lineageFacets`` shows it on both backends.

Incremental: a record whose content hash equals the stored one is ``unchanged`` and not
written; a changed one is ``updated`` with the list of what changed. Datasets of the source
missing from the run are soft-deleted, unless that would remove more than
``PESO_HARVEST_MAX_REMOVE_SHARE`` of the source's datasets: then the run aborts before
writing anything and says so.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loaders.harvest import ckan, dcat_rdf, dcat_us, schema_org
from loaders.harvest.data import load_data
from loaders.harvest.fetch import Fetcher
from loaders.harvest.records import HarvestRecord, Refusal, RunReport
from loaders.harvest.sources import HarvestSource, save
from server.errors import PesoError
from server.ids import normalize_tag
from server.models import (
    DatasetFilter,
    DatasetKey,
    DatasetLayer,
    EntityKind,
    OwnerKind,
    PageRequest,
    SourceKind,
)
from server.openlineage.consumer import ingest
from server.openlineage.producer import DatasetRef, Emitter
from server.openlineage.validate import SPEC_2_0_2
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

FACET = "peso_harvest"
PRODUCER = "urn:peso:harvest"
MAX_NAME = 150
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_TAG_UNSAFE = re.compile(r"[^a-z0-9._:-]+")


def dataset_name(identifier: str) -> str:
    """A catalog name for a record identifier (URLs and DOIs included), stable across runs."""
    slug = _UNSAFE.sub("-", identifier).strip("-._")[:MAX_NAME] or "record"
    if slug != identifier:
        slug = f"{slug}-{hashlib.sha256(identifier.encode()).hexdigest()[:8]}"
    return slug


PERSONAL = ("contact_name", "contact_email")  # stored as an owner (masked), never in the facet


def public_metadata(record: HarvestRecord) -> dict[str, Any]:
    return {k: v for k, v in record.metadata().items() if k not in PERSONAL}


def _changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new)
                  if k not in ("content_hash", "harvest") and not k.startswith("_")
                  and old.get(k) != new.get(k))


def tag_of(keyword: str) -> str:
    """A keyword as a tag: lower case, runs of other characters as '-' ("Machine learning"
    → "machine-learning")."""
    return normalize_tag(_TAG_UNSAFE.sub("-", keyword.lower()).strip("-._:")[:100])


async def _existing(graph: GraphStore, source: str) -> dict[str, str]:
    """name → id of the source's live harvested datasets (layer EXTERNAL: the raw copies of
    data a ``fetch_data`` source loaded are not records of the portal)."""
    found: dict[str, str] = {}
    after: list[Any] | None = None
    while True:
        page = await graph.list_datasets(DatasetFilter(source=source,
                                                       layer=DatasetLayer.EXTERNAL),
                                         PageRequest(first=500, after=after))
        found.update({d.name: d.id for d in page.items})
        if not page.has_next or not page.cursors:
            return found
        after = page.cursors[-1]


async def _write(graph: GraphStore, namespace: str, name: str, record: HarvestRecord,
                 source: HarvestSource, *, actor: str) -> None:
    text = record.title if not record.description else f"{record.title}\n\n{record.description}"
    await graph.upsert_dataset(namespace=namespace, name=name, layer=DatasetLayer.EXTERNAL,
                               description=text[:20_000], source_name=source.name, actor=actor)
    key = DatasetKey(namespace, name)
    for keyword in record.keywords:
        try:
            await graph.add_tag(key, tag_of(keyword), actor=actor)
        except PesoError:
            continue  # a keyword that cannot be a tag stays in the facet only
    if record.publisher:
        entity = await graph.upsert_entity(kind=EntityKind.ORGANIZATION,
                                           name=record.publisher[:200], actor=actor)
        await graph.link_entity(key, entity.id, role="publisher", actor=actor)
    if record.contact_name or record.contact_email:
        await graph.add_owner(key, name=(record.contact_name or record.contact_email or "")[:200],
                              kind=OwnerKind.USER, email=record.contact_email, actor=actor)
    facet = {"_producer": PRODUCER, "_schemaURL": f"{PRODUCER}#/{FACET}",
             **public_metadata(record), "content_hash": record.content_hash(),
             "harvest": {"source": source.name, "url": source.url, "kind": source.kind}}
    await ingest(graph, {
        "eventTime": datetime.now(UTC).isoformat(timespec="microseconds"),
        "producer": PRODUCER, "schemaURL": f"{SPEC_2_0_2}#/$defs/DatasetEvent",
        "dataset": {"namespace": namespace, "name": name, "facets": {FACET: facet}}},
        actor=actor)


async def fetch_records(source: HarvestSource, fetcher: Fetcher, report: RunReport,
                        schema_dir: Path | None) -> tuple[list[HarvestRecord], HarvestSource]:
    if source.kind == "ckan":
        async def get(url: str) -> bytes:
            fetched = await fetcher.get(url)
            try:
                return fetched.body
            finally:
                fetched.close()
        records, refused = await ckan.harvest(source.url, get)
        report.refused += refused
        return records, source
    accept = {"dcat-rdf": "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8",
              "schema-org": "text/html, application/ld+json;q=0.9"}.get(source.kind,
                                                                         "application/json")
    fetched = await fetcher.get(source.url, etag=source.etag,
                                last_modified=source.last_modified, accept=accept)
    if fetched.status == 304:
        report.not_modified = True
        return [], source
    try:
        if source.kind == "dcat-rdf":
            records, refused = dcat_rdf.parse(fetched.body, where=source.url,
                                              content_type=fetched.content_type)
        elif source.kind == "schema-org":
            records, refused = schema_org.parse(fetched.body, where=source.url,
                                                content_type=fetched.content_type)
        else:
            records, refused = dcat_us.parse(fetched.stream(), where=source.url,
                                             schema_dir=schema_dir)
    finally:
        fetched.close()
    report.refused += refused
    return records, replace(source, etag=fetched.etag, last_modified=fetched.last_modified)


async def run_harvest(graph: GraphStore, source: HarvestSource, fetcher: Fetcher, *,
                      max_remove_share: float, schema_dir: Path | None = None,
                      actor: str = "harvest", objects: ObjectStore | None = None,
                      tmp_dir: Path | None = None) -> RunReport:
    """Harvest ``source`` once; the run is an OpenLineage run of job ``peso.harvest``.
    ``objects`` and ``tmp_dir``: where the data of a ``fetch_data`` source goes."""
    if source.fetch_data and (objects is None or tmp_dir is None):
        raise ValueError(f"harvest {source.name} fetches data: it needs the object store")
    report = RunReport(source=source.name, url=source.url, kind=source.kind)
    run = Emitter(graph, actor=actor).run(f"peso.harvest.{source.name}",
                                          f"Harvest {source.kind} catalog {source.url}")
    await run.start()
    try:
        outputs = await _run(graph, source, fetcher, report, max_remove_share, schema_dir,
                             actor, (objects, tmp_dir) if source.fetch_data else None)
    except Exception as exc:
        await run.fail(exc if isinstance(exc, PesoError) else str(exc))
        raise
    if report.aborted:
        await run.fail(report.aborted)
    else:
        await run.complete(outputs=outputs)
    return report


async def _run(graph: GraphStore, source: HarvestSource, fetcher: Fetcher, report: RunReport,
               max_remove_share: float, schema_dir: Path | None, actor: str,
               data: tuple[ObjectStore | None, Path | None] | None) -> list[DatasetRef]:
    records, fetched_source = await fetch_records(source, fetcher, report, schema_dir)
    if report.not_modified:
        return []
    report.read = len(records) + len(report.refused)
    namespace = source.name
    await graph.upsert_source(name=source.name, kind=SourceKind.PUBLIC_PORTAL, url=source.url,
                              description=f"{source.kind} portal harvested by Peso",
                              actor=actor)
    existing = await _existing(graph, source.name)
    wanted = {dataset_name(r.identifier): r for r in records}
    stale = sorted(set(existing) - set(wanted))
    if existing and len(stale) > max_remove_share * len(existing):
        report.aborted = (f"{len(stale)} of the source's {len(existing)} datasets are missing "
                          f"from this run, more than PESO_HARVEST_MAX_REMOVE_SHARE "
                          f"({max_remove_share:.0%}); nothing was removed or written (a "
                          "broken portal page looks like this; check it, or raise the share)")
        return []
    facets = await graph.get_dataset_facets([existing[n] for n in wanted if n in existing])
    held = dict(zip([n for n in wanted if n in existing], facets, strict=True))
    outputs = []
    for name, record in wanted.items():
        old = held.get(name, {}).get(FACET) if name in held else None
        if isinstance(old, dict) and old.get("content_hash") == record.content_hash():
            report.unchanged += 1
            continue
        try:
            await _write(graph, namespace, name, record, source, actor=actor)
        except PesoError as exc:
            report.refused.append(Refusal(record.identifier, exc.message))
            continue
        outputs.append(DatasetRef(namespace, name))
        if data is not None and data[0] is not None and data[1] is not None:
            loaded = await load_data(graph, data[0], fetcher, record, namespace, name,
                                     source=source.name, tmp_dir=data[1], actor=actor)
            if isinstance(loaded, Refusal):
                report.data_refused.append(loaded)
            elif loaded is not None:
                report.data_loaded.append(loaded)
        if isinstance(old, dict):
            report.updated.append({"dataset": f"{namespace}/{name}",
                                   "changed": _changed(old, public_metadata(record))})
        else:
            report.created.append(f"{namespace}/{name}")
    for name in stale:
        await graph.delete_dataset(namespace, name, actor=actor)
        report.removed.append(f"{namespace}/{name}")
    if fetched_source != source:  # the validators of this fetch, for the next run's request
        await save(graph, fetched_source, actor=actor)
    return outputs
