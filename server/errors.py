"""Error types shared by every layer.

Stores and services raise these; the GraphQL layer turns them into typed user errors
(mutations) or GraphQL errors (queries); the CLI prints their message on one line.
Anything else that escapes is a bug and is masked from clients.
"""

from __future__ import annotations


class PesoError(Exception):
    """Base class: a problem a user can act on. ``str(err)`` is the whole message."""

    code = "PESO_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigError(PesoError):
    """A setting is missing, malformed or names an unknown backend."""

    code = "CONFIG_ERROR"


class ValidationError(PesoError):
    """An argument is out of range or malformed (names, keys, cursors, page sizes)."""

    code = "INVALID_INPUT"


class NotFoundError(PesoError):
    """The thing asked for does not exist (or was deleted)."""

    code = "NOT_FOUND"


class ConflictError(PesoError):
    """The change conflicts with what is stored (e.g. a lineage edge onto itself)."""

    code = "CONFLICT"


class LoadError(PesoError):
    """A file could not be loaded. The message names the file and, when known, where."""

    code = "LOAD_ERROR"


class StoreUnavailableError(PesoError):
    """A backend did not answer (database down, bucket unreachable)."""

    code = "STORE_UNAVAILABLE"
