"""API-token management over GraphQL, for administrators (the CLI does the same locally)."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from schema.context import Info
from schema.payloads import UserError, attempt
from schema.permissions import needs
from server import auth, models


@strawberry.enum(description="What a token may do; each role includes the ones before it: "
                             "READER reads, WRITER also changes the catalog, ADMIN also "
                             "manages tokens and reads the audit log. COLLECTOR stands "
                             "apart: it may only post events to the collection endpoint "
                             "(`/api/v1/collect/{namespace}/{name}`) of its namespaces.")
class TokenRole(enum.Enum):
    READER = "reader"
    WRITER = "writer"
    ADMIN = "admin"
    COLLECTOR = "collector"


@strawberry.type(description="An API token as stored: its secret is never shown again.")
class ApiToken:
    id: strawberry.ID
    name: str
    role: TokenRole
    pii: bool = strawberry.field(description="May read personal data unmasked.")
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    namespaces: list[str] = strawberry.field(
        description="Where a COLLECTOR token may post events; empty for the other roles.")

    @classmethod
    def from_model(cls, t: models.ApiToken) -> ApiToken:
        return cls(id=strawberry.ID(t.id), name=t.name, role=TokenRole(t.role.value),
                   pii=t.pii, created_at=t.created_at, created_by=t.created_by,
                   revoked_at=t.revoked_at, namespaces=list(t.namespaces))


@strawberry.input
class CreateApiTokenInput:
    name: str = strawberry.field(description="Unique forever; recorded as the actor of every "
                                             "change made with the token.")
    role: TokenRole = TokenRole.READER
    pii: bool = False
    namespaces: list[str] = strawberry.field(
        default_factory=list, description="For a COLLECTOR token (required there, at most "
                                          "100): the namespaces it may post events to.")


@strawberry.input
class RevokeApiTokenInput:
    token: str = strawberry.field(description="The token's name or id.")


@strawberry.type
class CreateApiTokenPayload:
    api_token: ApiToken | None = None
    secret: str | None = strawberry.field(
        default=None, description="The token to send as `Authorization: Bearer …`. Shown "
                                  "once: only its sha256 is stored.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RevokeApiTokenPayload:
    api_token: ApiToken | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TokenQuery:
    @strawberry.field(description="Every API token, revoked ones included, by name. "
                                  "Admins only.", extensions=needs(models.Role.ADMIN))
    async def api_tokens(self, info: Info) -> list[ApiToken]:
        return [ApiToken.from_model(t) for t in await info.context.graph.list_tokens()]


@strawberry.type
class TokenMutation:
    @strawberry.mutation(description="Create an API token; the payload's `secret` is shown "
                                     "once. Admins only.",
                         extensions=needs(models.Role.ADMIN))
    async def create_api_token(self, info: Info, input: CreateApiTokenInput
                               ) -> CreateApiTokenPayload:
        ctx = info.context
        made, errors = await attempt(auth.create_token(
            ctx.graph, name=input.name, role=models.Role(input.role.value), pii=input.pii,
            actor=ctx.actor, namespaces=input.namespaces[:auth.MAX_NAMESPACES + 1]))
        if made is None:
            return CreateApiTokenPayload(errors=errors)
        secret, record = made
        return CreateApiTokenPayload(api_token=ApiToken.from_model(record), secret=secret)

    @strawberry.mutation(description="Revoke an API token by name or id (at once, for every "
                                     "replica). Admins only.",
                         extensions=needs(models.Role.ADMIN))
    async def revoke_api_token(self, info: Info, input: RevokeApiTokenInput
                               ) -> RevokeApiTokenPayload:
        ctx = info.context
        found, errors = await attempt(ctx.graph.revoke_token(input.token[:200],
                                                             actor=ctx.actor))
        return RevokeApiTokenPayload(api_token=ApiToken.from_model(found) if found else None,
                                     errors=errors)
