"""Mutation payloads: the result or user errors as data (never a GraphQL error for bad input)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry

from schema.types import Dataset, Entity, LineageEdge, Source
from server.errors import PesoError

T = TypeVar("T")


@strawberry.type(description="A problem with the input that the caller can fix.")
class UserError:
    message: str
    field: str | None
    code: str


@strawberry.type
class DatasetPayload:
    dataset: Dataset | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SourcePayload:
    source: Source | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EntityPayload:
    entity: Entity | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LineagePayload:
    edge: LineageEdge | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def user_error(exc: PesoError) -> UserError:
    return UserError(message=exc.message, field=exc.field, code=exc.code)


async def attempt(work: Awaitable[T]) -> tuple[T | None, list[UserError]]:
    """Run a mutation's work; a PesoError becomes a user error, anything else propagates
    (and is masked by the server as an unexpected error)."""
    try:
        return await work, []
    except PesoError as exc:
        return None, [user_error(exc)]
