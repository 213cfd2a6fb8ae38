"""The enricher interface, what an enricher sees (``EnrichContext``), and the registry.

An enricher is any object with ``name``, ``version`` and ``async enrich(context) ->
list[NewSuggestion]``. It reads the context (the dataset, one version, its fields and a row
sample of the curated Parquet) and returns suggestions; it never writes to a store. Enrichers
are found through the Python entry-point group ``peso.enrichers`` (Peso declares its own in
pyproject.toml), so a third-party package adds one by declaring::

    [project.entry-points."peso.enrichers"]
    my_enricher = "my_package.module:MyEnricher"

The entry point names a class (built with no arguments) or an instance.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from server.errors import ConfigError
from server.models import Dataset, DatasetVersion, SchemaField, Source
from server.models_suggestions import NewSuggestion, SuggestionKind
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

log = logging.getLogger("peso.enrich")

ENTRY_POINT_GROUP = "peso.enrichers"


@dataclass
class EnrichContext:
    """One dataset version as the enrichers see it. ``table`` holds at most
    ``settings.enrich_sample_rows`` rows (``sample_rows``) of ``total_rows``; it is None for a
    version without curated data (e.g. one registered from OpenLineage)."""

    graph: GraphStore
    objects: ObjectStore
    settings: Settings
    dataset: Dataset
    version: DatasetVersion
    fields: list[SchemaField]
    source: Source | None
    table: pa.Table | None
    total_rows: int
    sample_rows: int
    shared: dict[str, Any] = field(default_factory=dict)   # results enrichers may reuse

    @property
    def sampled(self) -> bool:
        return self.table is not None and self.sample_rows < self.total_rows

    def sample_evidence(self) -> dict[str, Any]:
        """The sample every suggestion's evidence states."""
        return {"sample_rows": self.sample_rows, "total_rows": self.total_rows,
                "sampled": self.sampled}

    def suggestion(self, enricher: Enricher, kind: SuggestionKind, target: str,
                   value: dict[str, Any], confidence: float,
                   evidence: dict[str, Any]) -> NewSuggestion:
        return NewSuggestion(
            dataset_id=self.dataset.id, version_id=self.version.id,
            version=self.version.version, kind=kind, target=target, value=value,
            confidence=round(max(0.0, min(1.0, confidence)), 3),
            evidence={**self.sample_evidence(), **evidence}, enricher=enricher.name,
            enricher_version=enricher.version)


@runtime_checkable
class Enricher(Protocol):
    name: str
    version: str

    async def enrich(self, context: EnrichContext) -> list[NewSuggestion]: ...


def load_enrichers(names: Sequence[str] | None = None) -> list[Enricher]:
    """Every enricher registered under ``peso.enrichers`` (by entry-point name), or only
    ``names``; ConfigError for an unknown name or an entry point that is not an enricher."""
    found: dict[str, Enricher] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if names is not None and ep.name not in names:
            continue
        try:
            obj = ep.load()
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"enricher entry point {ep.name!r} ({ep.value}) does not "
                              f"load: {exc}") from exc
        enricher = obj() if isinstance(obj, type) else obj
        if not isinstance(enricher, Enricher):
            raise ConfigError(f"enricher entry point {ep.name!r} ({ep.value}) has no name, "
                              "version and async enrich(context)")
        found[ep.name] = enricher
    if names is not None:
        missing = sorted(set(names) - set(found))
        if missing:
            known = ", ".join(sorted(e.name for e in entry_points(group=ENTRY_POINT_GROUP)))
            raise ConfigError(f"no enricher named {', '.join(missing)} (known: {known})")
    return list(found.values())
