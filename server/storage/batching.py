"""Shaping batch-getter results the way the graph-store protocol promises: one result per
requested id, in input order, so they plug straight into DataLoaders. Shared by every
backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from server.models import Page


def by_id(items: list[Any], ids: Sequence[str]) -> list[Any]:
    """``items`` (each with an ``.id``) in the order of ``ids``; None for a missing id."""
    found = {item.id: item for item in items}
    return [found.get(i) for i in ids]


def grouped(pairs: list[tuple[str, Any]], ids: Sequence[str]) -> list[list[Any]]:
    """``(id, value)`` pairs as one list per id, in the order of ``ids`` (empty when none);
    pairs for ids not asked for are ignored."""
    groups: dict[str, list[Any]] = {i: [] for i in ids}
    for key, value in pairs:
        if key in groups:
            groups[key].append(value)
    return [groups[i] for i in ids]


def first_pages(owner_ids: Sequence[str], items: list[Any], owner: Callable[[Any], str],
                totals: dict[str, int], first: int, cursor: Callable[[Any], list[Any]]
                ) -> list[Page[Any]]:
    """The first page of each owner's list, in the order of ``owner_ids``, from ``items``
    holding at most ``first + 1`` of each owner's (in list order): one batched read serves a
    whole list of nested connections."""
    found = grouped([(owner(i), i) for i in items], owner_ids)
    return [Page(got[:first], [cursor(i) for i in got[:first]], len(got) > first,
                 int(totals.get(oid, 0))) for oid, got in zip(owner_ids, found, strict=True)]
