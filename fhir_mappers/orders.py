"""Immunoglobulin orders in a hook's ``draftOrders`` (and ``selections`` for order-select).

draftOrders as real clients send them: Bundles without ``type``; MedicationRequests without ``intent``;
Epic's absolute ``selections`` and its Medication entries alongside the orders; DSTU2 MedicationOrder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from fhir_mappers.bundle import read_value
from fhir_mappers.context import MappingContext
from fhir_mappers.elements import as_list, concept_text
from fhir_mappers.medication import igrt_route, medication_match
from fhir_mappers.references import reference_key, resource_key
from guideline.concepts import IgrtRoute
from guideline.model import OrderedDose
from guideline.products import find_product, stated_concentration
from guideline.text import msg

ORDER_TYPES = frozenset({"MedicationRequest", "MedicationOrder"})


@dataclass(frozen=True)
class ImmunoglobulinOrder:
    """A draft immunoglobulin order: ``ref`` is ``"MedicationRequest/id"``; ``matched`` says how it was recognised."""

    ref: str
    display: str
    matched: str
    dose: OrderedDose | None = None


def draft_resources(draft_orders: Any) -> tuple[Mapping[str, Any], ...]:
    """Return the resources of a draftOrders Bundle (entries without a resource are skipped)."""
    if not isinstance(draft_orders, Mapping):
        return ()
    return read_value(draft_orders).resources


def medications_by_key(resources: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Return ``"Medication/id"`` -> Medication for the Medication resources among ``resources``."""
    return {resource_key(r): r for r in resources if r.get("resourceType") == "Medication"}


def immunoglobulin_orders(
    drafts: Iterable[Mapping[str, Any]], ctx: MappingContext, *, selections: Iterable[str] | None = None
) -> tuple[ImmunoglobulinOrder, ...]:
    """Return the immunoglobulin (ATC J06BA or product name) orders among the draft orders.

    Args:
        drafts: the resources of the ``context.draftOrders`` Bundle (``draft_resources``).
        ctx: mapping context whose ``medications`` include the Bundle's Medication entries.
        selections: for order-select, only orders named here (``"Type/id"`` or absolute URLs) count.
    """
    wanted = None if selections is None else {reference_key(s) for s in selections}
    found = []
    for resource in drafts:
        kind = resource.get("resourceType")
        if not isinstance(kind, str) or kind not in ORDER_TYPES:
            continue
        ref = resource_key(resource)
        if wanted is not None and ref not in wanted:
            continue
        match = medication_match(resource, ctx)
        if match is not None and match.concept.startswith("igrt"):
            order = ImmunoglobulinOrder(ref, concept_text(ctx.medication_code(resource)), match.matched)
            found.append(replace(order, dose=ordered_dose(resource, ctx, order)))
    return tuple(found)


def _annotation_only(quantity: Mapping[str, Any]) -> bool:
    """Whether the dose's unit is only a UCUM annotation such as ``{pill}`` (a count with no amount of drug).

    The CDS Hooks Sandbox puts ``1 {pill}`` on every draft it builds; no immunoglobulin amount can be read from
    it, so it is read as "no dose stated yet", not as a wrong unit.
    """
    unit = quantity.get("code") if isinstance(quantity.get("code"), str) else quantity.get("unit")
    return isinstance(unit, str) and unit.strip().startswith("{") and unit.strip().endswith("}")


_DOSE_UNITS = {"g": ("g", 1.0), "mg": ("g", 0.001), "ml": ("mL", 1.0), "g/kg": ("g/kg", 1.0), "mg/kg": ("g/kg", 0.001)}
_PERIOD_DAYS = {"h": 1 / 24, "d": 1.0, "wk": 7.0}


def ordered_dose(resource: Mapping[str, Any], ctx: MappingContext, order: ImmunoglobulinOrder) -> OrderedDose:
    """Read the dose and timing of a draft immunoglobulin order (first ``dosageInstruction``).

    Dose: ``doseAndRate[0].doseQuantity`` (R4) or ``doseQuantity`` (STU3/DSTU2), in g, mg, mL, g/kg or mg/kg.
    Timing: ``timing.repeat`` frequency per period (h, d, wk, mo). What cannot be read is named in ``problem``.
    """
    match = medication_match(resource, ctx)
    route = igrt_route(resource, ctx, match) if match else IgrtRoute.UNKNOWN
    product = find_product(order.display)
    concentration = stated_concentration(order.display) or (product.concentration_mg_per_ml if product else None)
    base = OrderedDose(
        ref=order.ref,
        display=order.display,
        route=product.route if product else route,
        product=product.name if product else None,
        concentration_mg_per_ml=concentration,
    )
    dosages = [d for d in as_list(resource.get("dosageInstruction")) if isinstance(d, Mapping)]
    if not dosages:
        return base
    dosage = dosages[0]
    rates = [r for r in as_list(dosage.get("doseAndRate")) if isinstance(r, Mapping)]
    quantity = rates[0].get("doseQuantity") if rates else dosage.get("doseQuantity")
    updates: dict[str, Any] = {}
    if isinstance(quantity, Mapping) and not _annotation_only(quantity):
        value = quantity.get("value")
        raw_unit = quantity.get("code") if isinstance(quantity.get("code"), str) else quantity.get("unit")
        unit = _DOSE_UNITS.get(raw_unit.strip().lower()) if isinstance(raw_unit, str) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            updates["problem"] = msg("the dose value is not a positive number")
        elif unit is None:
            updates["problem"] = msg("dose unit '{unit}' is not g, mg, mL or g/kg", unit=str(raw_unit))
        else:
            updates["dose_value"] = round(float(value) * unit[1], 4)
            updates["dose_unit"] = unit[0]
    timing = dosage.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
    if isinstance(repeat, Mapping):
        frequency = repeat.get("frequency", 1)
        period, period_unit = repeat.get("period"), repeat.get("periodUnit")
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in (frequency, period))
        if numeric and isinstance(period, int | float) and period_unit == "mo":
            updates["interval_months"] = round(period / frequency, 4)
        elif (
            numeric and isinstance(period, int | float) and isinstance(period_unit, str) and period_unit in _PERIOD_DAYS
        ):
            updates["interval_days"] = round(period * _PERIOD_DAYS[period_unit] / frequency, 4)
        elif "problem" not in updates:
            updates["problem"] = msg("the order's timing is not a frequency per h, d, wk or mo")
    return base.model_copy(update=updates)
