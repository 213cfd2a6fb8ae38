"""The data of a harvested dataset, for a source added with ``--fetch-data``: its first
tabular distribution (CSV/TSV, JSON / JSON Lines, XLSX, Parquet; by media type, format or
the URL's extension) is downloaded through the harvest ``Fetcher`` — so the same refusal of
private, loopback and link-local addresses (PESO_HARVEST_ALLOW_HOSTS aside), robots.txt,
retries and PESO_HARVEST_MAX_BYTES apply — and loaded with ``peso load``'s pipeline as a
version of the harvested dataset (its raw copy kept, cleaned and typed Parquet, profile).

Only created or changed records are fetched (an unchanged one has its data already); a
distribution that cannot be fetched or loaded leaves the metadata in place and is reported
with its reason (``RunReport.data_refused``), never fails the run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from loaders.harvest.fetch import Fetcher, FetchError
from loaders.harvest.records import Distribution, HarvestRecord, Refusal
from server.errors import PesoError
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

# media type / format word / file extension → the suffix the loader's sniffer likes best
TABULAR = {"text/csv": ".csv", "csv": ".csv", ".csv": ".csv",
           "text/tab-separated-values": ".tsv", "tsv": ".tsv", ".tsv": ".tsv",
           "application/json": ".json", "json": ".json", ".json": ".json",
           "application/x-ndjson": ".jsonl", "application/jsonl": ".jsonl", "jsonl": ".jsonl",
           ".jsonl": ".jsonl", ".ndjson": ".jsonl",
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
           "xlsx": ".xlsx", ".xlsx": ".xlsx",
           "application/vnd.apache.parquet": ".parquet", "application/x-parquet": ".parquet",
           "parquet": ".parquet", ".parquet": ".parquet"}
ACCEPT = "text/csv, application/json, application/x-ndjson, application/vnd.apache.parquet, " \
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;q=0.9, */*;q=0.1"


def tabular(record: HarvestRecord) -> tuple[Distribution, str] | None:
    """The record's first downloadable tabular distribution and its file suffix."""
    for d in record.distributions:
        if d.access or not d.url.startswith(("http://", "https://")):
            continue
        extension = PurePosixPath(urlsplit(d.url).path).suffix.lower()
        for hint in ((d.media_type or "").split(";")[0].strip().lower(),
                     (d.format or "").strip().lower(), extension):
            if hint in TABULAR:
                return d, TABULAR[hint]
    return None


async def load_data(graph: GraphStore, objects: ObjectStore, fetcher: Fetcher,
                    record: HarvestRecord, namespace: str, name: str, *, source: str,
                    tmp_dir: Path, actor: str) -> str | Refusal | None:
    """Fetch and load the record's data: ``"ns/name vN"`` when a version was registered,
    a Refusal saying why not, None when the record has no tabular distribution."""
    from loaders.pipeline import LoadRequest, load_file

    chosen = tabular(record)
    if chosen is None:
        return None
    distribution, suffix = chosen
    label = f"{record.identifier} data {distribution.url[:200]}"
    try:
        fetched = await fetcher.get(distribution.url, accept=ACCEPT)
    except (FetchError, PesoError) as exc:
        return Refusal(label, f"not fetched: {exc}")
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="peso-load-harvest-", suffix=suffix, dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as out, fetched.stream() as body:
            while chunk := body.read(1 << 20):
                out.write(chunk)
        original = PurePosixPath(urlsplit(distribution.url).path).name or f"data{suffix}"
        result = await load_file(LoadRequest(path=Path(path), namespace=namespace, name=name,
                                             source=source, original_name=original[:200]),
                                 graph=graph, objects=objects, actor=actor, tmp_dir=tmp_dir)
    except PesoError as exc:
        return Refusal(label, f"not loaded: {exc.message}")
    finally:
        fetched.close()
        Path(path).unlink(missing_ok=True)
    version = result.curated.version
    return f"{namespace}/{name} v{version.version} ({version.row_count} rows)"
