"""API tokens: minting, storing (hashed), checking — and who the caller is.

A token reads ``peso_<id>_<secret>``: ``id`` (16 hex digits) names the stored record, the
secret is ``secrets.token_urlsafe(32)`` (256 random bits). Only ``sha256(token)`` is stored; a
plain fast hash is the right tool for a long random secret (a password hash defends guessable
inputs, which these are not). Checking looks the record up by id and compares the hashes with
``hmac.compare_digest``, so response time says nothing about how much of a guess was right.

Roles: ``reader`` < ``writer`` < ``admin`` (each includes the ones before it); the ``pii``
permission is separate and lets a token read personal data unmasked. Anonymous callers may
read unless ``PESO_AUTH=required``; every write needs at least a writer token. A
``collector`` token (for machines: ad servers, pixels, devices) may only post events to
``/api/v1/collect/{namespace}/…`` for the namespaces named when it was made.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from server.errors import PesoError, ValidationError
from server.ids import check_namespace
from server.models import ApiToken, Role
from server.storage.graph import GraphStore

PREFIX = "peso_"
_ID_RE = re.compile(r"^[0-9a-f]{16}\Z")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\Z")
RESERVED_NAMES = frozenset({"anonymous", "cli", "system", "peso"})
AUTH_MODES = ("writes", "required")
MAX_NAMESPACES = 100


class AuthError(PesoError):
    """No valid credentials (HTTP 401)."""

    code = "UNAUTHENTICATED"


class ForbiddenError(PesoError):
    """Valid credentials, not enough rights (HTTP 403)."""

    code = "FORBIDDEN"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a token's name, role and PII permission; or anonymous (no role)."""

    name: str
    role: Role | None = None
    pii: bool = False
    token_id: str | None = None
    namespaces: tuple[str, ...] = ()

    def may_collect(self, namespace: str) -> bool:
        """Writers and admins post events anywhere; a collector only to its namespaces."""
        if self.role is Role.COLLECTOR:
            return namespace in self.namespaces
        return self.has(Role.WRITER)

    @property
    def authenticated(self) -> bool:
        return self.role is not None

    def has(self, role: Role) -> bool:
        return self.role is not None and self.role.rank >= role.rank


ANONYMOUS = Principal("anonymous")
# the command line writes to the stores directly: it is the local administrator
LOCAL_ADMIN = Principal("cli", Role.ADMIN, pii=True)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_token_name(name: str) -> str:
    """A token's name becomes an actor in the audit log: short, plain, not reserved."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValidationError("a token name is 1-64 letters, digits, '.', '_', '@' or '-', "
                              "starting with a letter or digit", field="name")
    if name.lower() in RESERVED_NAMES:
        raise ValidationError(f"{name!r} is reserved; choose another token name", field="name")
    return name


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError as exc:
        raise ValidationError(f"role must be one of {', '.join(r.value for r in Role)}, "
                              f"not {text!r}", field="role") from exc


def check_namespaces(role: Role, namespaces: Sequence[str]) -> tuple[str, ...]:
    """A collector token names at least one namespace; the other roles name none."""
    unique = tuple(dict.fromkeys(namespaces))
    if role is not Role.COLLECTOR:
        if unique:
            raise ValidationError("only a collector token is limited to namespaces; a "
                                  f"{role.value} token reaches every namespace",
                                  field="namespaces")
        return ()
    if not unique:
        raise ValidationError("a collector token needs at least one namespace it may post "
                              "events to (--namespace NS, repeatable)", field="namespaces")
    if len(unique) > MAX_NAMESPACES:
        raise ValidationError(f"a token names at most {MAX_NAMESPACES} namespaces",
                              field="namespaces")
    return tuple(check_namespace(ns, field="namespaces") for ns in unique)


async def create_token(graph: GraphStore, *, name: str, role: Role, pii: bool,
                       actor: str, namespaces: Sequence[str] = ()) -> tuple[str, ApiToken]:
    """Mint and store a token; return ``(the token, its record)``. The token itself is
    shown to the caller once and never stored."""
    allowed = check_namespaces(role, namespaces)
    token_id = secrets.token_hex(8)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    record = await graph.create_token(token_id=token_id, name=check_token_name(name),
                                      role=role, pii=pii, secret_hash=hash_token(token),
                                      actor=actor, namespaces=allowed)
    return token, record


def token_id_of(token: str) -> str | None:
    """The id part of a well-formed token, else None."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    token_id, sep, secret = token[len(PREFIX):].partition("_")
    if not sep or not secret or not _ID_RE.match(token_id):
        return None
    return token_id


async def verify_token(graph: GraphStore, token: str) -> Principal:
    """The principal a token stands for; AuthError when it is malformed, unknown or revoked
    (one message for all three, so a caller learns nothing about which)."""
    token_id = token_id_of(token)
    record = await graph.get_token(token_id) if token_id else None
    presented = hash_token(token)
    stored = record.secret_hash if record is not None else hash_token(PREFIX)
    if not hmac.compare_digest(presented, stored) or record is None \
            or record.revoked_at is not None:
        raise AuthError("invalid or revoked API token")
    return Principal(record.name, record.role, record.pii, record.id, record.namespaces)


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header; None when there is no header;
    AuthError for another scheme or an empty token."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthError("send the API token as `Authorization: Bearer <token>`")
    return value.strip()


async def authenticate(graph: GraphStore, header: str | None) -> Principal:
    """The caller of a request, from its Authorization header (anonymous without one)."""
    token = bearer(header)
    if token is None:
        return ANONYMOUS
    return await verify_token(graph, token)


def require(principal: Principal, role: Role, what: str) -> None:
    """AuthError for an anonymous caller, ForbiddenError for a token below ``role``."""
    if not principal.authenticated:
        raise AuthError(f"{what} needs an API token with the {role.value} role: send "
                        "`Authorization: Bearer <token>`")
    if not principal.has(role):
        held = principal.role.value if principal.role else "no role"
        raise ForbiddenError(f"{what} needs the {role.value} role; token "
                             f"{principal.name!r} has {held}")


def may_read(principal: Principal, mode: str) -> bool:
    """Whether ``principal`` may read under ``PESO_AUTH=mode``."""
    return mode == "writes" or principal.has(Role.READER)
