"""Who may run what: Strawberry permission classes over the caller in the Context.

``IsReader`` (any valid token), ``IsWriter``, ``IsAdmin``. Put one on a field with
``extensions=needs(Role.ADMIN)`` (or ``permission_classes=[IsAdmin]``). Every Mutation and
Subscription field that declares no permission of its own gets ``IsWriter`` /
``IsReader`` from ``protect_root`` when the schema is built, so a new mutation is never
left open by accident (``tests/test_auth.py`` checks each one against each role).

A refusal is a GraphQL error with ``extensions.code`` ``UNAUTHENTICATED`` (no or anonymous
caller) or ``FORBIDDEN`` (a token whose role is too low); the field resolves to null.
"""

from __future__ import annotations

from typing import Any, ClassVar

from graphql import GraphQLError
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from server.auth import ANONYMOUS, Principal, require
from server.errors import PesoError
from server.models import Role


def principal_of(info: Info[Any, Any]) -> Principal:
    principal = getattr(info.context, "principal", None)
    return principal if isinstance(principal, Principal) else ANONYMOUS


class HasRole(BasePermission):
    role: ClassVar[Role]

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        what = f"{info.operation.operation.value} field {info.field_name!r}"
        try:
            require(principal_of(info), self.role, what)
        except PesoError as exc:
            raise GraphQLError(exc.message, extensions={"code": exc.code}) from None
        return True


class IsReader(HasRole):
    role = Role.READER


class IsWriter(HasRole):
    role = Role.WRITER


class IsAdmin(HasRole):
    role = Role.ADMIN


_BY_ROLE: dict[Role, type[HasRole]] = {Role.READER: IsReader, Role.WRITER: IsWriter,
                                       Role.ADMIN: IsAdmin}


def needs(role: Role) -> list[FieldExtension]:
    """Field extensions that let only callers with ``role`` (or above) run the field."""
    return [PermissionExtension([_BY_ROLE[role]()], use_directives=False)]


def has_permission_check(field: Any) -> bool:
    return any(isinstance(e, PermissionExtension) for e in getattr(field, "extensions", ()))


def protect_root(root: Any, role: Role) -> None:
    """Give every field of a root type (Mutation, Subscription) that has no permission
    extension of its own the ``role`` check. Idempotent: the types are module-level."""
    definition = getattr(root, "__strawberry_definition__", None)
    if definition is None:
        return
    for field in definition.fields:
        if not has_permission_check(field):
            field.extensions.extend(needs(role))


def may_see_pii(info: Info[Any, Any]) -> bool:
    """Whether the caller's token carries the ``pii`` permission."""
    return principal_of(info).pii


MASK = "***"


def mask_value(value: Any) -> Any:
    """A personal value as a caller without the pii permission sees it (null stays null)."""
    return None if value is None else MASK
