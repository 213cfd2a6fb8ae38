"""What a harvester produces: records in Peso's terms, refusals, and the run report."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Distribution:
    url: str
    media_type: str | None = None
    format: str | None = None
    byte_size: int | None = None
    title: str | None = None
    access: bool = False    # an access URL (a page or an API), not a file to download


@dataclass(frozen=True, slots=True)
class HarvestRecord:
    """One portal dataset, mapped to the catalog's vocabulary (DCAT terms in comments)."""

    identifier: str                        # dct:identifier (stable across runs)
    title: str                             # dct:title
    description: str | None = None         # dct:description
    keywords: tuple[str, ...] = ()         # dcat:keyword → tags
    themes: tuple[str, ...] = ()           # dcat:theme
    license: str | None = None             # dct:license
    modified: str | None = None            # dct:modified
    issued: str | None = None              # dct:issued
    periodicity: str | None = None         # dct:accrualPeriodicity
    temporal: str | None = None            # dct:temporal
    spatial: str | None = None             # dct:spatial
    landing_page: str | None = None        # dcat:landingPage
    publisher: str | None = None           # dct:publisher → an organization entity
    contact_name: str | None = None        # dcat:contactPoint: personal data (PII)
    contact_email: str | None = None
    distributions: tuple[Distribution, ...] = ()

    def metadata(self) -> dict[str, Any]:
        """Everything a record says, as JSON (kept as the dataset's harvest facet)."""
        out = asdict(self)
        out["distributions"] = [asdict(d) for d in self.distributions]
        out["keywords"], out["themes"] = list(self.keywords), list(self.themes)
        return out

    def content_hash(self) -> str:
        """sha256 of what the record says: an unchanged record is skipped on the next run."""
        text = json.dumps(self.metadata(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Refusal:
    """A record the harvester could not accept, and why (the rest of the file still loads)."""

    where: str      # e.g. "dataset[3]" or the record's identifier
    reason: str


@dataclass
class RunReport:
    source: str
    url: str
    kind: str
    read: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)   # {"dataset", "changed"}
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    not_modified: bool = False      # the portal answered 304: nothing was read
    aborted: str | None = None      # why the run wrote nothing, if it did not
    warnings: list[str] = field(default_factory=list)
    data_loaded: list[str] = field(default_factory=list)       # "ns/name vN (rows)"
    data_refused: list[Refusal] = field(default_factory=list)  # data not fetched or loaded

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["refused"] = [asdict(r) for r in self.refused]
        out["data_refused"] = [asdict(r) for r in self.data_refused]
        return out

    def summary(self) -> str:
        if self.aborted:
            return f"harvest {self.source}: aborted, nothing written: {self.aborted}"
        if self.not_modified:
            return f"harvest {self.source}: not modified since the last run (HTTP 304)"
        return (f"harvest {self.source}: {self.read} read, {len(self.created)} created, "
                f"{len(self.updated)} updated, {self.unchanged} unchanged, "
                f"{len(self.removed)} removed, {len(self.refused)} refused"
                + (f"; data: {len(self.data_loaded)} loaded, {len(self.data_refused)} not"
                   if self.data_loaded or self.data_refused else ""))
