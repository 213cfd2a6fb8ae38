"""Reading a JSON request body as hostile input: a body that is not JSON, nests deeper than
``PESO_MAX_JSON_DEPTH`` (which would otherwise blow Python's recursion limit in the parser,
in ``copy.deepcopy`` or in a JSON-schema validator: a 500), or is not the shape the endpoint
takes is refused with one clear message, for a 400. The depth is measured iteratively."""

from __future__ import annotations

import json
from typing import Any


class BadJson(ValueError):
    """The body is refused; ``str(exc)`` says why."""


def depth_of(value: Any) -> int:
    """How deep arrays and objects nest (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _text_depth(text: str) -> int:
    """An upper bound of the nesting of JSON text (brackets outside strings), so a hostile
    100,000-deep body is refused before the parser recurses into it."""
    deepest = level = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            deepest = max(deepest, level)
        elif ch in "]}":
            level -= 1
    return deepest


def load(body: bytes | str, *, max_depth: int, what: str = "the request body") -> Any:
    """Parse ``body``; BadJson when it is not JSON or nests deeper than ``max_depth``."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    # fewer opening brackets in all than the limit: no nesting can pass it (the scan, a
    # Python loop over every character, is for the rest)
    if text.count("[") + text.count("{") > max_depth and _text_depth(text) > max_depth:
        raise BadJson(f"{what} nests JSON deeper than {max_depth} levels "
                      "(PESO_MAX_JSON_DEPTH)")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadJson(f"{what} is not JSON: {exc}") from exc
