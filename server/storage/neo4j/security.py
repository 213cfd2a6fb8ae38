"""API tokens and the audit-log page on Neo4j: the security part of the graph-store protocol.

    (:ApiToken {id, name, role, pii, secret_hash, created_at, created_by, revoked_at})

Only the sha256 of a token is stored. Constraints (unique id and name) and the audit-log
indexes are created with the rest of the schema (``cypher.SCHEMA``). The Cypher for this part
lives here, beside the code that runs it; values always go in as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.errors import ConflictError, NotFoundError
from server.models import ApiToken, AuditEvent, AuditFilter, Page, Role
from server.storage.neo4j import records
from server.storage.neo4j.base import Neo4jBase, Tx, audit, now, one, rows, run

SELECT_BY_ID = "MATCH (t:ApiToken {id: $id}) RETURN t {.*} AS t"
SELECT_BY_NAME = "MATCH (t:ApiToken {name: $name}) RETURN t {.*} AS t"
CREATE_ROW = """
CREATE (t:ApiToken {id: $id, name: $name, role: $role, pii: $pii, secret_hash: $secret_hash,
                    created_at: $now, created_by: $actor, namespaces: $namespaces})
"""
SELECT_ALL = "MATCH (t:ApiToken) RETURN t {.*} AS t ORDER BY t.name"
# revoking twice is a no-op: only a live token matches
REVOKE = """
MATCH (t:ApiToken {id: $id}) WHERE t.revoked_at IS NULL
SET t.revoked_at = $now
RETURN t.id AS id
"""
# every filter is optional (null matches all); newest first, below the cursor's id
AUDIT_PAGE = """
MATCH (a:AuditEvent)
WHERE ($actor IS NULL OR a.actor = $actor) AND ($action IS NULL OR a.action = $action)
  AND ($target_id IS NULL OR a.target_id = $target_id) AND ($before IS NULL OR a.id < $before)
RETURN a {.*} AS a ORDER BY a.id DESC LIMIT $limit
"""
AUDIT_COUNT = """
MATCH (a:AuditEvent)
WHERE ($actor IS NULL OR a.actor = $actor) AND ($action IS NULL OR a.action = $action)
  AND ($target_id IS NULL OR a.target_id = $target_id)
RETURN count(a) AS n
"""


def token(m: dict[str, Any]) -> ApiToken:
    revoked = m.get("revoked_at")
    return ApiToken(id=m["id"], name=m["name"], role=Role(m["role"]), pii=bool(m["pii"]),
                    secret_hash=m["secret_hash"], created_at=records.ts(m["created_at"]),
                    created_by=m["created_by"],
                    revoked_at=records.ts(revoked) if revoked is not None else None,
                    namespaces=tuple(m.get("namespaces") or ()))


async def _token(tx: Tx, token_id: str) -> ApiToken | None:
    found = await one(tx, SELECT_BY_ID, id=token_id)
    return token(found["t"]) if found else None


class SecurityMixin(Neo4jBase):
    # --- API tokens ------------------------------------------------------------------------
    async def create_token(self, *, token_id: str, name: str, role: Role, pii: bool,
                           secret_hash: str, actor: str,
                           namespaces: Sequence[str] = ()) -> ApiToken:
        async def work(tx: Tx) -> ApiToken:
            if await one(tx, SELECT_BY_NAME, name=name) is not None:
                raise ConflictError(f"a token named {name!r} already exists (names are never "
                                    "reused: they identify actors in the audit log)",
                                    field="name")
            await run(tx, CREATE_ROW, id=token_id, name=name, role=role.value, pii=pii,
                      secret_hash=secret_hash, now=now(), actor=actor,
                      namespaces=list(namespaces))
            detail: dict[str, Any] = {"name": name, "role": role.value, "pii": pii}
            if namespaces:
                detail["namespaces"] = list(namespaces)
            await audit(tx, actor, "token.created", "ApiToken", token_id, detail)
            created = await _token(tx, token_id)
            assert created is not None
            return created
        return await self._write(work)

    async def get_token(self, token_id: str) -> ApiToken | None:
        async def work(tx: Tx) -> ApiToken | None:
            return await _token(tx, token_id)
        return await self._read(work)

    async def list_tokens(self) -> list[ApiToken]:
        async def work(tx: Tx) -> list[ApiToken]:
            return [token(r["t"]) for r in await rows(tx, SELECT_ALL)]
        return await self._read(work)

    async def revoke_token(self, name_or_id: str, *, actor: str) -> ApiToken:
        async def work(tx: Tx) -> ApiToken:
            found = (await one(tx, SELECT_BY_ID, id=name_or_id)
                     or await one(tx, SELECT_BY_NAME, name=name_or_id))
            if found is None:
                raise NotFoundError(f"no token named or with id {name_or_id!r}", field="token")
            t = token(found["t"])
            if await one(tx, REVOKE, id=t.id, now=now()) is not None:
                await audit(tx, actor, "token.revoked", "ApiToken", t.id, {"name": t.name})
            again = await _token(tx, t.id)
            assert again is not None
            return again
        return await self._write(work)

    # --- the audit log, newest first, in pages ---------------------------------------------
    async def list_audit_page(self, flt: AuditFilter, *, first: int,
                              before_id: int | None = None) -> Page[AuditEvent]:
        params = {"actor": flt.actor, "action": flt.action, "target_id": flt.target_id}

        async def work(tx: Tx) -> Page[AuditEvent]:
            found = [records.audit(r["a"]) for r in await rows(
                tx, AUDIT_PAGE, **params, before=before_id, limit=first + 1)]
            total = await one(tx, AUDIT_COUNT, **params)
            items = found[:first]
            return Page(items, [[e.id] for e in items], len(found) > first,
                        int(total["n"]) if total else 0)
        return await self._read(work)
