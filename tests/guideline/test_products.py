"""``guideline.products.find_product``: whole-word, case-insensitive product names; the first in Tabel 1 order wins."""

from __future__ import annotations

import pytest

from guideline.products import PRODUCTS, find_product


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hizentra 200 mg/ml", "Hizentra"),
        ("HYQVIA 100 mg/ml", "HyQvia"),
        ("immunglobulin (Kiovig) 10 %", "Kiovig"),
        ("Octagam 5 %", "Octagam"),
        ("Gamunex", "Gamunex"),
        ("Privigen, Hizentra", "Hizentra"),  # both named: the first in Tabel 1 order, not in the text
        ("Hizentrax", None),  # part of a longer word
        ("pre-Hizentra", None),  # hyphen-joined: not the product itself
        ("Hizentra-like", None),
        ("Hizentra_2", None),
        ("", None),
        ("normalt humant immunglobulin", None),
    ],
)
def test_find_product(text: str, name: str | None) -> None:
    found = find_product(text)
    assert (found.name if found else None) == name
    assert find_product(text) is found  # cached by text: the same answer again


def test_every_product_is_found_by_its_name() -> None:
    for product in PRODUCTS:
        assert find_product(f"{product.name.upper()} infusion") is product
