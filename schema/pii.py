"""The personal-data policy: values of PII columns are masked for callers whose token lacks
the ``pii`` permission (anonymous callers included).

A column is personal when its field is flagged ``pii`` (set by the loader's semantic
detection: emails, phone numbers, names, postal addresses…, see ``loaders/semantic.py``).
Masked, wherever the catalog serves values:

- ``DatasetVersion.preview``: every value of a PII column becomes ``"***"`` (null stays null);
- ``Field.profile``: ``min``, ``max`` and each ``topValues.value`` of a PII field;
- ``DatasetVersion.quality``: the failing-row ``samples`` of checks on a PII column (also
  inside ``quality.raw``);
- OpenLineage facets (``Dataset.lineageFacets``, ``RunDataset.facets`` and
  ``dataQualityMetrics``): the ``min``, ``max`` and ``quantiles`` of
  ``dataQualityMetrics.columnMetrics`` for a column flagged PII in any version of the
  dataset, or classified in none (names compared without regard to case);
- ``downloadUrl`` (the whole file) is refused for a version holding any PII column.

Counts, lengths, means and the schema itself stay visible: they describe the data without
disclosing anyone's values.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Any

from graphql import GraphQLError

from schema.context import Info
from schema.permissions import mask_value, may_see_pii


async def pii_columns(info: Info, version_id: str) -> set[str]:
    """Names of the version's PII columns (one batched load per request)."""
    return {f.name for f in await info.context.loaders.fields.load(version_id) if f.pii}


def mask_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """A field profile with its sample values masked."""
    out = dict(stats)
    for key in ("min", "max"):
        if key in out:
            out[key] = mask_value(out[key])
    if out.get("top_values"):
        out["top_values"] = [{**t, "value": mask_value(t.get("value"))}
                             for t in out["top_values"]]
    return out


def mask_preview(block: dict[str, Any], pii: Collection[str]) -> dict[str, Any]:
    """A preview block ({columns, rows, …}) with the values of PII columns masked."""
    hidden = [i for i, name in enumerate(block.get("columns") or []) if name in pii]
    if not hidden:
        return block
    rows = []
    for row in block.get("rows") or []:
        masked = list(row)
        for i in hidden:
            masked[i] = mask_value(masked[i])
        rows.append(masked)
    return {**block, "rows": rows, "masked": [block["columns"][i] for i in hidden]}


def mask_quality(report: dict[str, Any], pii: Collection[str]) -> dict[str, Any]:
    """A quality report with the failing-row samples of checks on PII columns masked."""
    out = copy.deepcopy(report)
    for group in ("schema_checks", "checks"):
        for check in out.get(group) or []:
            if isinstance(check, dict) and check.get("column") in pii and check.get("samples"):
                check["samples"] = [{**s, "value": mask_value(s.get("value"))}
                                    if isinstance(s, dict) else mask_value(s)
                                    for s in check["samples"]]
    return out


async def masked_quality(info: Info, version_id: str, report: dict[str, Any] | None
                         ) -> dict[str, Any] | None:
    if not report or may_see_pii(info):
        return report
    return mask_quality(report, await pii_columns(info, version_id))


async def masked_preview(info: Info, version_id: str, block: dict[str, Any]
                         ) -> dict[str, Any]:
    if may_see_pii(info):
        return block
    return mask_preview(block, await pii_columns(info, version_id))


def mask_facets(facets: dict[str, Any], pii: Collection[str],
                known: Collection[str] | None = None) -> dict[str, Any]:
    """OpenLineage facets with the sample values of PII columns masked: the min, max and
    quantiles of ``dataQualityMetrics.columnMetrics`` (counts stay). Names match without
    regard to case (a producer may write ``EMAIL`` for the column ``email``); with
    ``known`` (the dataset's classified columns), a column not among them is masked too:
    nothing says its values are not personal."""
    metrics = facets.get("dataQualityMetrics")
    columns = metrics.get("columnMetrics") if isinstance(metrics, dict) else None
    if not isinstance(columns, dict):
        return facets
    hidden = {c.casefold() for c in pii}
    classified = None if known is None else {c.casefold() for c in known}

    def masked(name: str) -> bool:
        folded = name.casefold()
        return folded in hidden or (classified is not None and folded not in classified)
    if not any(masked(c) for c in columns):
        return facets
    out = copy.deepcopy(facets)
    for name, column in out["dataQualityMetrics"]["columnMetrics"].items():
        if masked(name) and isinstance(column, dict):
            for key in ("min", "max"):
                if key in column:
                    column[key] = mask_value(column[key])
            if isinstance(column.get("quantiles"), dict):
                column["quantiles"] = {q: mask_value(v) for q, v in column["quantiles"].items()}
    return out


async def masked_facets(info: Info, dataset_id: str, facets: dict[str, Any]
                        ) -> dict[str, Any]:
    """Facets of a dataset as this caller may see them. PII: a column flagged in ANY of the
    dataset's versions, or classified in none (a dataset known only from OpenLineage, a
    column of an older schema): its sample values are masked."""
    if may_see_pii(info) or "dataQualityMetrics" not in facets:
        return facets
    versions = await info.context.loaders.versions.load(dataset_id)  # batched per request
    pii: set[str] = set()
    known: set[str] = set()
    for fields in await info.context.loaders.fields.load_many([v.id for v in versions]):
        for f in fields:
            known.add(f.name)
            if f.pii:
                pii.add(f.name)
    return mask_facets(facets, pii, known)


async def check_download(info: Info, version_id: str) -> None:
    """Refuse a download URL for a version with PII columns unless the token has pii."""
    if may_see_pii(info):
        return
    pii = await pii_columns(info, version_id)
    if pii:
        raise GraphQLError(
            "this version holds personal data (PII columns: " + ", ".join(sorted(pii)[:10])
            + "); downloading it needs an API token with the pii permission",
            extensions={"code": "FORBIDDEN"})
