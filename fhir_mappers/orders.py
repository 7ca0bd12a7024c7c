"""Immunoglobulin orders in a hook's ``draftOrders`` (and ``selections`` for order-select).

draftOrders as real clients send them: Bundles without ``type``; MedicationRequests without ``intent``;
Epic's absolute ``selections`` and its Medication entries alongside the orders; DSTU2 MedicationOrder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fhir_mappers.bundle import read_value
from fhir_mappers.context import MappingContext
from fhir_mappers.elements import concept_text
from fhir_mappers.medication import medication_match
from fhir_mappers.references import reference_key, resource_key

ORDER_TYPES = frozenset({"MedicationRequest", "MedicationOrder"})


@dataclass(frozen=True)
class ImmunoglobulinOrder:
    """A draft immunoglobulin order: ``ref`` is ``"MedicationRequest/id"``; ``matched`` says how it was recognised."""

    ref: str
    display: str
    matched: str


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
        if resource.get("resourceType") not in ORDER_TYPES:
            continue
        ref = resource_key(resource)
        if wanted is not None and ref not in wanted:
            continue
        match = medication_match(resource, ctx)
        if match is not None and match.concept.startswith("igrt"):
            found.append(ImmunoglobulinOrder(ref, concept_text(ctx.medication_code(resource)), match.matched))
    return tuple(found)
