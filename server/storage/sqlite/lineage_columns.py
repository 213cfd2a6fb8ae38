"""Column lineage (FIELD_DERIVED_FROM) on SQLite, inside the caller's write transaction:
the records an OpenLineage event carries (``put_columns``, from ``lineage_apply``) and the
direct form (``put_column_lineage``, no job or run). A record is new, or its meaning
(description, masking) or origin (job, run) changed; only new records and changes of meaning
are audited.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from server.errors import ConflictError, NotFoundError
from server.lineage_event import ColumnLineageSpec
from server.models import ColumnLineageEdge, DatasetKey
from server.storage.sqlite import lineage_rows as lr
from server.storage.sqlite import lineage_sql as L
from server.storage.sqlite import rows, sql
from server.storage.sqlite.helpers import _audit


def put_columns(c: sqlite3.Connection, specs: tuple[ColumnLineageSpec, ...],
                ids: dict[DatasetKey, str], job_id: str | None, run_id: str | None,
                actor: str) -> None:
    """The event's column-lineage records (``put_column`` for each, in order), with one read
    of those already held and one write per kind."""
    wanted: dict[tuple[str, str, str, str, str, str], ColumnLineageSpec] = {}
    for spec in specs:
        down, up = ids[spec.downstream], ids[spec.upstream]
        if (down, spec.downstream_field) != (up, spec.upstream_field):
            wanted.setdefault((down, spec.downstream_field, up, spec.upstream_field,
                               spec.transformation_type, spec.transformation_subtype), spec)
    if not wanted:
        return
    held: dict[tuple[Any, ...], tuple[Any, ...]] = {
        tuple(r[:6]): (r[6], r[7], r[8], r[9])   # description, masking, job_id, run_id
        for r in c.execute(L.COLUMNS_BY_IDENTS, (json.dumps(list(wanted)),))}
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    changed: dict[str, int] = {}
    for spec in specs:
        down, up = ids[spec.downstream], ids[spec.upstream]
        if (down, spec.downstream_field) == (up, spec.upstream_field):
            continue
        ident = (down, spec.downstream_field, up, spec.upstream_field,
                 spec.transformation_type, spec.transformation_subtype)
        meaning = (spec.description, int(spec.masking))
        before = held.get(ident)
        if before is None:
            inserts.append((*ident, *meaning, job_id, run_id, rows.now()))
            held[ident] = (*meaning, job_id, run_id)
            changed[down] = changed.get(down, 0) + 1
            continue
        origin = (job_id or before[2], run_id or before[3])
        if (*meaning, *origin) != before:
            updates.append((*meaning, *origin, *ident))
            held[ident] = (*meaning, *origin)
        if meaning != before[:2]:
            changed[down] = changed.get(down, 0) + 1
    c.executemany(L.COLUMN_INSERT, inserts)
    c.executemany(L.COLUMN_UPDATE, updates)
    for down, count in changed.items():
        _audit(c, actor, "column_lineage.added", "Dataset", down, {"fields": count})


def put_column(c: sqlite3.Connection, down: str, spec: ColumnLineageSpec, up: str,
               job_id: str | None, run_id: str | None) -> bool:
    """Insert or refresh one record; True when it is new or its meaning changed."""
    ident = (down, spec.downstream_field, up, spec.upstream_field, spec.transformation_type,
             spec.transformation_subtype)
    before = c.execute(L.COLUMN_GET, ident).fetchone()
    if before is None:
        c.execute(L.COLUMN_INSERT, (*ident, spec.description, int(spec.masking), job_id,
                                    run_id, rows.now()))
        return True
    meaning = (spec.description, int(spec.masking))
    origin = (job_id or before["job_id"], run_id or before["run_id"])
    if meaning != (before["description"], before["masking"]) \
            or origin != (before["job_id"], before["run_id"]):
        c.execute(L.COLUMN_UPDATE, (*meaning, *origin, *ident))
    return meaning != (before["description"], before["masking"])


def put_column_lineage(c: sqlite3.Connection, spec: ColumnLineageSpec,
                       actor: str) -> ColumnLineageEdge:
    """The direct form (no job, no run): both datasets must be live."""
    ids = {}
    for key in (spec.downstream, spec.upstream):
        row = c.execute(sql.DATASET_BY_KEY, (key.namespace, key.name)).fetchone()
        if row is None or row["deleted_at"] is not None:
            raise NotFoundError(f"dataset {key} does not exist")
        ids[key] = row["id"]
    down, up = ids[spec.downstream], ids[spec.upstream]
    if (down, spec.downstream_field) == (up, spec.upstream_field):
        raise ConflictError(f"field {spec.downstream_field!r} of {spec.downstream} cannot be "
                            "derived from itself")
    if put_column(c, down, spec, up, None, None):
        _audit(c, actor, "column_lineage.added", "Dataset", down,
              {"field": spec.downstream_field, "upstream": str(spec.upstream),
               "upstreamField": spec.upstream_field})
    row = c.execute(L.COLUMN_GET, (down, spec.downstream_field, up, spec.upstream_field,
                                   spec.transformation_type,
                                   spec.transformation_subtype)).fetchone()
    return lr.column(row)
