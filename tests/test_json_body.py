"""server.json_body: the text-depth bound is the character scan it replaced (kept here as
the reference), on any text — strings, escapes, unclosed strings, unbalanced brackets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.json_body import BadJson, _text_depth, load


def reference_depth(text: str) -> int:
    """The scan as it was: brackets outside strings, one character at a time."""
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


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet='"\\[]{}a \n\u00e9', max_size=60))
def test_the_bound_is_the_character_scan(text: str) -> None:
    assert _text_depth(text) == reference_depth(text)


@pytest.mark.parametrize("text", [
    "", "[]", '["]"]', '["\\"]"]', '"\\', '["\\\\"]]', '[{"a": [1, {"b": "}}}"}]}]',
    "]]][[", '"unclosed [[[', '[["\\u00e9", "\\\\", "x\\"y"]]', "[" * 10_000])
def test_known_texts(text: str) -> None:
    assert _text_depth(text) == reference_depth(text)


def test_load_refuses_what_nests_too_deep_and_reads_the_rest() -> None:
    value = {"a": [{"b": ["[[[[", "\\"]}]}
    assert load(json.dumps(value).encode(), max_depth=4) == value
    with pytest.raises(BadJson, match="deeper than 3 levels"):
        load(json.dumps(value), max_depth=3)
