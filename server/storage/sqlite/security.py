"""API tokens and the audit-log page on SQLite: the security part of the graph-store protocol,
mixed into ``SQLiteGraphStore``. Tokens live in ``api_tokens`` (migration 0004); only the
sha256 of a token is stored. Each change writes its audit event in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from server.errors import ConflictError, NotFoundError
from server.models import ApiToken, AuditEvent, AuditFilter, Page, Role
from server.requestctx import current_request_id
from server.storage.sqlite import rows, sql
from server.storage.sqlite.db import Database

ROW_COLS = "id, name, role, pii, secret_hash, created_at, created_by, revoked_at, namespaces"
INSERT_ROW = (f"INSERT INTO api_tokens ({ROW_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)")
SELECT_BY_ID = f"SELECT {ROW_COLS} FROM api_tokens WHERE id = ?"
SELECT_BY_NAME = f"SELECT {ROW_COLS} FROM api_tokens WHERE name = ?"
SELECT_ALL = f"SELECT {ROW_COLS} FROM api_tokens ORDER BY name"
REVOKE = "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"

# the audit-log filters: a closed set of column names, values always parameters
_AUDIT_FILTERS = (("actor", "actor"), ("action", "action"), ("target_id", "target_id"))


def token(r: sqlite3.Row) -> ApiToken:
    return ApiToken(id=r["id"], name=r["name"], role=Role(r["role"]), pii=bool(r["pii"]),
                    secret_hash=r["secret_hash"], created_at=rows.ts(r["created_at"]),
                    created_by=r["created_by"],
                    revoked_at=rows.ts(r["revoked_at"]) if r["revoked_at"] else None,
                    namespaces=tuple(json.loads(r["namespaces"])))


def _audit(c: sqlite3.Connection, actor: str, action: str, target_id: str,
           detail: dict[str, Any]) -> None:
    c.execute(sql.AUDIT_INSERT, (rows.now(), actor, action, "ApiToken", target_id,
                                 json.dumps(detail, sort_keys=True), current_request_id()))


def _audit_where(flt: AuditFilter) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for attr, column in _AUDIT_FILTERS:
        value = getattr(flt, attr)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return (" AND ".join(clauses) or "1"), params


class SecurityMixin:
    db: Database

    # --- API tokens ------------------------------------------------------------------------
    async def create_token(self, *, token_id: str, name: str, role: Role, pii: bool,
                           secret_hash: str, actor: str,
                           namespaces: Sequence[str] = ()) -> ApiToken:
        def run(c: sqlite3.Connection) -> ApiToken:
            if c.execute(SELECT_BY_NAME, (name,)).fetchone() is not None:
                raise ConflictError(f"a token named {name!r} already exists (names are never "
                                    "reused: they identify actors in the audit log)",
                                    field="name")
            c.execute(INSERT_ROW, (token_id, name, role.value, int(pii), secret_hash,
                                     rows.now(), actor, json.dumps(list(namespaces))))
            detail: dict[str, Any] = {"name": name, "role": role.value, "pii": pii}
            if namespaces:
                detail["namespaces"] = list(namespaces)
            _audit(c, actor, "token.created", token_id, detail)
            return token(c.execute(SELECT_BY_ID, (token_id,)).fetchone())
        return await self.db.write(run)

    async def get_token(self, token_id: str) -> ApiToken | None:
        row = await self.db.read(lambda c: c.execute(SELECT_BY_ID, (token_id,)).fetchone())
        return token(row) if row else None

    async def list_tokens(self) -> list[ApiToken]:
        return await self.db.read(lambda c: [token(r) for r in c.execute(SELECT_ALL)])

    async def revoke_token(self, name_or_id: str, *, actor: str) -> ApiToken:
        def run(c: sqlite3.Connection) -> ApiToken:
            row = (c.execute(SELECT_BY_ID, (name_or_id,)).fetchone()
                   or c.execute(SELECT_BY_NAME, (name_or_id,)).fetchone())
            if row is None:
                raise NotFoundError(f"no token named or with id {name_or_id!r}", field="token")
            if c.execute(REVOKE, (rows.now(), row["id"])).rowcount:
                _audit(c, actor, "token.revoked", row["id"], {"name": row["name"]})
            return token(c.execute(SELECT_BY_ID, (row["id"],)).fetchone())
        return await self.db.write(run)

    # --- the audit log, newest first, in pages ---------------------------------------------
    async def list_audit_page(self, flt: AuditFilter, *, first: int,
                              before_id: int | None = None) -> Page[AuditEvent]:
        where, params = _audit_where(flt)
        cursor = " AND id < ?" if before_id is not None else ""
        page_sql = (f"SELECT {sql.AUDIT_COLS} FROM audit WHERE {where}{cursor} "
                    "ORDER BY id DESC LIMIT ?")
        page_args = [*params, *([before_id] if before_id is not None else []), first + 1]

        def run(c: sqlite3.Connection) -> Page[AuditEvent]:
            found = [rows.audit(r) for r in c.execute(page_sql, page_args)]
            total = c.execute(f"SELECT count(*) FROM audit WHERE {where}", params).fetchone()[0]
            items = found[:first]
            return Page(items, [[e.id] for e in items], len(found) > first, total)
        return await self.db.read(run)
