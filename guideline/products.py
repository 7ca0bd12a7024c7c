"""Medicinrådet's immunoglobulin products (Opsummering v1.1, Tabel 1): category, route and concentration.

Tabel 1: SCIG and fSCIG are "anvend" (first choice for about 70 % of patients), IVIG "overvej"; all are equal gram
for gram. Concentrations in mg/mL as Tabel 1 gives them. Reviewed like code: a change here changes cards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from guideline.concepts import IgrtRoute


@dataclass(frozen=True)
class Product:
    """One Tabel 1 product."""

    name: str
    route: IgrtRoute
    concentration_mg_per_ml: float
    category: str
    facilitated: bool = False


PRODUCTS: tuple[Product, ...] = (
    Product("Hizentra", IgrtRoute.SCIG, 200, "anvend"),
    Product("Cutaquig", IgrtRoute.SCIG, 165, "anvend"),
    Product("HyQvia", IgrtRoute.SCIG, 100, "anvend", facilitated=True),
    Product("Xembify", IgrtRoute.SCIG, 200, "anvend"),
    Product("Kiovig", IgrtRoute.IVIG, 100, "overvej"),
    Product("Octagam", IgrtRoute.IVIG, 100, "overvej"),
    Product("Privigen", IgrtRoute.IVIG, 100, "overvej"),
    Product("Gamunex", IgrtRoute.IVIG, 100, "overvej"),
)

_MG_PER_ML = re.compile(r"(\d+(?:[.,]\d+)?)\s*mg\s*/\s*ml", re.IGNORECASE)
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")


_NAMED = tuple((re.compile(rf"(?<![\w-]){re.escape(p.name.lower())}(?![\w-])"), p) for p in PRODUCTS)
"""Each product with its whole-word pattern, compiled once."""


@lru_cache(maxsize=1024)
def find_product(text: str) -> Product | None:
    """Return the Tabel 1 product named in ``text`` (whole word, case-insensitive), or ``None``.

    The first product of ``PRODUCTS`` named wins. Cached by text: a hospital names its few products the same way.
    """
    lowered = text.lower()
    return next((product for pattern, product in _NAMED if pattern.search(lowered)), None)


def stated_concentration(text: str) -> float | None:
    """Return a concentration stated in a product text in mg/mL ("200 mg/ml" -> 200; "10 %" -> 100), or ``None``.

    A stated concentration wins over the Tabel 1 default (Octagam also exists as 5 % = 50 mg/mL).
    """
    found = _MG_PER_ML.search(text)
    if found:
        return float(found.group(1).replace(",", "."))
    found = _PERCENT.search(text)
    if found:
        return float(found.group(1).replace(",", ".")) * 10
    return None
