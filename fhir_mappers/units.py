"""UCUM normalisation of immunoglobulin and M-protein mass concentrations to g/L (terminology.md §2.3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mappers.errors import InvalidElementError, MissingElementError, UnsupportedUnitError
from guideline.text import msg

TO_G_PER_L: Mapping[str, float] = {"g/L": 1.0, "mg/mL": 1.0, "mg/dL": 0.01, "g/dL": 10.0, "mg/L": 0.001}
"""Factor from each accepted UCUM unit to g/L. Molar units (umol/L) are not used for immunoglobulins."""

_BY_LOWER = {unit.lower(): unit for unit in TO_G_PER_L}
COMPARATORS = frozenset({"<", "<=", ">", ">="})


def quantity_in_g_per_l(quantity: Any, *, path: str) -> tuple[float, str | None, str]:
    """Convert a FHIR Quantity to g/L.

    The UCUM ``code`` is used when present, else ``unit``; a unit written in another case ("g/l") is accepted
    because labs write it so in ``unit``.

    Returns:
        ``(value in g/L, comparator or None, the value as reported, e.g. "340 mg/dL")``.

    Raises:
        MissingElementError: no value, or neither code nor unit (DK-core invariant dk-core-observation-mandatory-units).
        UnsupportedUnitError: a unit that is not a mass concentration this service converts.
        InvalidElementError: a non-numeric or negative value, or an unknown comparator.
    """
    if not isinstance(quantity, dict):
        raise MissingElementError(msg("no valueQuantity"), path=path)
    value = quantity.get("value")
    if value is None:
        raise MissingElementError(msg("no value"), path=f"{path}.value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidElementError(msg("value is not a number"), path=f"{path}.value")
    if value < 0:
        raise InvalidElementError(msg("negative value {value}", value=value), path=f"{path}.value")
    comparator = quantity.get("comparator")
    if comparator is not None and (not isinstance(comparator, str) or comparator not in COMPARATORS):
        raise InvalidElementError(
            msg("unknown comparator {comparator}", comparator=repr(comparator)), path=f"{path}.comparator"
        )
    raw_unit = quantity.get("code") if isinstance(quantity.get("code"), str) else quantity.get("unit")
    if not isinstance(raw_unit, str) or not raw_unit.strip():
        raise MissingElementError(msg("no unit"), path=f"{path}.unit")
    unit = raw_unit if raw_unit in TO_G_PER_L else _BY_LOWER.get(raw_unit.strip().lower())
    if unit is None:
        raise UnsupportedUnitError(msg("unit '{unit}' cannot be converted to g/L", unit=raw_unit), path=f"{path}.code")
    reported = f"{comparator or ''}{value:g} {raw_unit}"
    return round(float(value) * TO_G_PER_L[unit], 6), comparator, reported


def reported_decimals(quantity: Any) -> int | None:
    """Return how many decimals the lab reported a g/L-scale value with (``3.0`` g/L: 1), else ``None``.

    Only for units that are g/L already (g/L, mg/mL): a converted value (mg/dL) has no reported precision in g/L.
    JSON keeps ``3.0`` apart from ``3`` (a float and an int), so "3,0 g/L" is shown as the lab wrote it; trailing
    zeros beyond the first (``3.10``) are lost in parsing and shown as ``3.1``.
    """
    if not isinstance(quantity, Mapping):
        return None
    value = quantity.get("value")
    raw_unit = quantity.get("code") if isinstance(quantity.get("code"), str) else quantity.get("unit")
    unit = _BY_LOWER.get(raw_unit.strip().lower()) if isinstance(raw_unit, str) else None
    if unit is None or TO_G_PER_L[unit] != 1.0 or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return 0
    if not isinstance(value, float):
        return None
    text = repr(value)
    if "e" in text or "." not in text:
        return None
    return min(len(text.split(".", 1)[1]), 3)
