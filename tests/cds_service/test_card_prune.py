"""``cds_service.cards.extension.prune``: CDS Hooks forbids null and empty values, so cards drop them, recursively."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.cards.extension import prune


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": None, "b": "", "c": [], "d": {}}, {}),
        ({"a": 0, "b": False, "c": "0", "d": 0.0, "e": " "}, {"a": 0, "b": False, "c": "0", "d": 0.0, "e": " "}),
        ({"a": {"b": {"c": None}}, "d": 1}, {"d": 1}),  # emptied by pruning: dropped too
        ({"a": [None, "", {}, [], [[]], {"b": None}]}, {}),
        ({"a": [None, 1, "", "x", {"b": None, "c": 2}, [None, 3]]}, {"a": [1, "x", {"c": 2}, [3]]}),
        ([{"a": None}, {"a": 1}], [{"a": 1}]),
        ("", ""),  # a bare value is returned as it is
        (None, None),
        ((None, ""), (None, "")),  # tuples are not card containers
    ],
)
def test_prune(value: Any, expected: Any) -> None:
    assert prune(value) == expected


def test_prune_keeps_key_order_and_leaves_the_input_alone() -> None:
    card = {"z": 1, "a": {"y": None, "b": 2}, "m": [3, None]}
    assert list(prune(card)) == ["z", "a", "m"]
    assert card == {"z": 1, "a": {"y": None, "b": 2}, "m": [3, None]}
