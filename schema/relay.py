"""Relay plumbing: the Node interface, PageInfo, and page-size / cursor checks."""

from __future__ import annotations

from typing import Any

import strawberry

from server.errors import ValidationError
from server.ids import decode_cursor, encode_cursor, to_global_id

DEFAULT_PAGE_SIZE = 20


@strawberry.interface(description="An object with a global id, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def global_id(type_name: str, raw_id: str) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, raw_id))


def check_first(first: int | None, max_page_size: int) -> int:
    """Validate ``first`` against the page-size cap (an explicit, documented limit)."""
    if first is None:
        return min(DEFAULT_PAGE_SIZE, max_page_size)
    if not 1 <= first <= max_page_size:
        raise ValidationError(f"first must be between 1 and {max_page_size}, got {first}",
                              field="first")
    return first


def tagged_cursor(tag: str, values: list[Any]) -> str:
    """A keyset cursor that names its list and sort order, so it cannot be replayed on
    another list (``["datasets:name", ns, name]``)."""
    return encode_cursor([tag, *values])


def decode_after(after: str | None, length: int, tag: str) -> list[Any] | None:
    """Decode a cursor made by ``tagged_cursor(tag, …)`` holding ``length`` sort values."""
    if after is None:
        return None
    values = decode_cursor(after, expected_length=length + 1)
    if values[0] != tag:
        raise ValidationError(f"cursor {after[:80]!r} belongs to another list or sort order",
                              field="after")
    return values[1:]


def offset_after(after: str | None) -> int:
    """Offset cursors (used for ranked search results): ``["o", n]``."""
    if after is None:
        return 0
    kind, value = decode_cursor(after, expected_length=2)
    if kind != "o" or not isinstance(value, int) or value < 0:
        raise ValidationError("cursor does not belong to this list", field="after")
    return value


def offset_cursor(offset: int) -> str:
    return encode_cursor(["o", offset])


def page_info(cursors: list[str], has_next: bool, has_previous: bool) -> PageInfo:
    return PageInfo(has_next_page=has_next, has_previous_page=has_previous,
                    start_cursor=cursors[0] if cursors else None,
                    end_cursor=cursors[-1] if cursors else None)
