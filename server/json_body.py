"""Reading a JSON request body as hostile input: a body that is not JSON, nests deeper than
``PESO_MAX_JSON_DEPTH`` (which would otherwise blow Python's recursion limit in the parser,
in ``copy.deepcopy`` or in a JSON-schema validator: a 500), or is not the shape the endpoint
takes is refused with one clear message, for a 400. The depth is measured iteratively."""

from __future__ import annotations

import itertools
import json
import re
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


# a JSON string as the scan below reads one: from a quote to the next unescaped quote (a
# backslash escapes any character), or to the end of the text when it is not closed
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _text_depth(text: str) -> int:
    """An upper bound of the nesting of JSON text (brackets outside strings), so a hostile
    100,000-deep body is refused before the parser recurses into it. Done by C string
    operations, not a Python loop over every character (~6 ms for a batch of 50 OpenLineage
    events): strings dropped (split at the quotes when no backslash can escape one), then
    the brackets left counted up and down, the deepest point kept."""
    # without a backslash, the even pieces between quotes are the text outside strings (an
    # unclosed last string is an odd piece)
    outside = _STRING.sub("", text) if "\\" in text else "".join(text.split('"')[::2])
    brackets = _NOT_BRACKET.sub("", outside)
    return max(0, max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0))


def load(body: bytes | str, *, max_depth: int, what: str = "the request body") -> Any:
    """Parse ``body``; BadJson when it is not JSON or nests deeper than ``max_depth``."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    # fewer opening brackets in all than the limit: no nesting can pass it (the scan is for
    # the rest)
    if text.count("[") + text.count("{") > max_depth and _text_depth(text) > max_depth:
        raise BadJson(f"{what} nests JSON deeper than {max_depth} levels "
                      "(PESO_MAX_JSON_DEPTH)")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadJson(f"{what} is not JSON: {exc}") from exc
