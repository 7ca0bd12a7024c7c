"""Counting a JSON text before parsing it (``cds_service.wire.json_shape``): exact against a parse, and its limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cds_service.wire.json_shape import JsonLimits, JsonShape, measure

WIDE = JsonLimits(max_values=10**9, max_depth=10**6)
"""Limits nothing reaches here, so that values and depth are counted exactly."""


def reference(value: Any) -> tuple[int, int]:
    """``(values, depth)`` of a parsed value, as ``measure`` defines them (an empty object or array counts twice)."""
    if isinstance(value, dict | list):
        children = list(value.values()) if isinstance(value, dict) else value
        counted = [reference(child) for child in children]
        values = 1 + sum(v for v, _ in counted) + (1 if not children else 0)
        return values, 1 + max((d for _, d in counted), default=0)
    return 1, 0


def shape_of(text: str | bytes) -> JsonShape:
    raw = text.encode() if isinstance(text, str) else text
    return measure(raw, WIDE)


# Strings hold what could fool a byte count: brackets, commas, quotes, backslashes and escapes of each.
TRICKY_TEXT = st.text(alphabet=st.sampled_from(list('{}[],:"\\/ aæ\n\t\u2028')), max_size=8)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TRICKY_TEXT, inner, max_size=5),
    max_leaves=40,
)


@given(JSON_VALUES, st.booleans(), st.booleans())
def test_values_and_depth_match_a_parse_of_any_json(value: Any, ascii_only: bool, spaced: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=1 if spaced else None)
    values, depth = reference(value)
    assert shape_of(text) == JsonShape(values, depth)


@pytest.mark.parametrize(
    ("text", "values", "depth"),
    [
        ("1", 1, 0),
        ('"x"', 1, 0),
        ("{}", 2, 1),  # an empty object counts twice
        ("[[], {}]", 5, 2),
        ('{"a": 1, "b": [1, 2]}', 5, 2),
        ('["]", "[", "{", "}", ","]', 6, 1),  # brackets and commas inside strings are not structure
        ('["\\"]", "\\\\", "\\\\\\"[", "a\\\\"]', 5, 1),  # escaped quotes and backslashes end strings where JSON does
        ('{"[[[": {"]]]": "{,}"}}', 3, 2),
        ('["\\u005b", "\\u007b"]', 3, 1),  # escaped brackets are text
        ("[" * 200 + "]" * 200, 201, 200),
    ],
    ids=[
        "number",
        "string",
        "empty-object",
        "empties",
        "object",
        "brackets-in-strings",
        "escapes",
        "keys-with-brackets",
        "unicode-escapes",
        "200-deep",
    ],
)
def test_examples(text: str, values: int, depth: int) -> None:
    assert shape_of(text) == JsonShape(values, depth)
    assert reference(json.loads(text)) == (values, depth)


@pytest.mark.parametrize(
    ("count", "limit", "refused"),
    [(999, 1000, False), (1000, 1000, True)],  # [0, 0, ...] with n zeros holds n + 1 values
    ids=["just-inside", "just-outside"],
)
def test_values_limit(count: int, limit: int, refused: bool) -> None:
    raw = json.dumps([0] * count).encode()
    limits = JsonLimits(max_values=limit, max_depth=64)
    refusal = measure(raw, limits).refusal(limits, what="The body")
    assert (refusal is not None) is refused
    if refused:
        assert refusal == "The body holds more than 1,000 JSON values (objects, arrays, strings, numbers)."


@pytest.mark.parametrize(
    ("depth", "refused"),
    [(64, False), (65, True), (100_000, True)],
    ids=["just-inside", "just-outside", "100000-deep"],
)
def test_depth_limit(depth: int, refused: bool) -> None:
    raw = b'{"a":' * depth + b"1" + b"}" * depth
    limits = JsonLimits(max_values=10**6, max_depth=64)
    shape = measure(raw, limits)
    assert shape.depth == min(depth, 65)
    refusal = shape.refusal(limits, what="The body")
    assert (refusal is not None) is refused
    if refused:
        assert refusal == "The body nests deeper than 64 levels of objects and arrays."


def test_depth_is_not_fooled_by_brackets_in_strings_that_balance_the_count() -> None:
    """``[ "]" [[ ]] "[" ]`` reads 2 deep if the strings' brackets are counted; it is 3."""
    assert shape_of('[ "]", [[ ]], "[" ]').depth == 3
    assert shape_of("[" + '"]",' * 70 + "[" * 70 + "]" * 70 + ',"["' * 70 + "]").depth == 71


def test_more_strings_than_values_allow_stop_the_count_early() -> None:
    """Every string is a value or a key (no more keys than values): over twice the limit, refused uncounted."""
    raw = json.dumps([",", ","] * 1000).encode()
    shape = measure(raw, JsonLimits(max_values=999, max_depth=64))
    assert shape.values > 999 and shape.depth == 0


def test_unbalanced_text_is_measured_and_left_to_the_parser() -> None:
    assert shape_of("[[[}").depth == 1
    assert shape_of("]]]").depth == 0


@pytest.mark.parametrize(
    ("escapes", "tail"),
    [(3, '"a\\"]"'), (3, '"a\\\\"'), (3, '"a"'), (3_000, '"a\\"]"'), (3_000, '"a"')],
    ids=["few-then-quote", "few-then-backslash", "few-only", "dense-then-quote", "dense-only"],
)
def test_escaped_quotes_and_backslashes_are_found_among_unicode_escapes(escapes: int, tail: str) -> None:
    """Backslashes are looked at one by one while few (1 in 128 bytes); past that both passes run.

    An escaped quote or backslash after many ``\\u`` escapes, or none at all, is measured as a parse sees it,
    whether the text holds few escapes (each looked at) or so many that the looking stops early.
    """
    text = '{"text": "' + "\\u00e6" * escapes + "x" * 4_000 + '", "more": [' + tail + ', "]"]}'
    assert reference(json.loads(text)) == (5, 2)
    assert shape_of(text) == JsonShape(5, 2)


def test_a_backslash_at_the_very_end_is_measured_without_error() -> None:
    assert shape_of('["a", "b"]\\') == JsonShape(3, 1)
