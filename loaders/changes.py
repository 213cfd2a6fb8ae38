"""What changed between two versions of a dataset: columns added, removed and retyped, and
the row-count difference. Recorded with each new version (``DatasetVersion.changes``)."""

from __future__ import annotations

from typing import Any

from server.models import DatasetVersion, FieldSpec, SchemaField


def diff(previous: DatasetVersion | None, previous_fields: list[SchemaField],
         fields: list[FieldSpec], row_count: int) -> dict[str, Any]:
    if previous is None:
        return {"previous_version": None, "added": [f.name for f in fields], "removed": [],
                "retyped": [], "row_count_change": row_count, "first_version": True}
    before = {f.name: f.arrow_type for f in previous_fields}
    after = {f.name: f.arrow_type for f in fields}
    return {
        "previous_version": previous.version,
        "added": [n for n in after if n not in before],
        "removed": [n for n in before if n not in after],
        "retyped": [{"name": n, "from": before[n], "to": after[n]}
                    for n in after if n in before and before[n] != after[n]],
        "row_count_change": row_count - previous.row_count,
        "first_version": False,
    }
