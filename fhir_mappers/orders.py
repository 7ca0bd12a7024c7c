"""Immunoglobulin orders in a hook's ``draftOrders`` (and ``selections`` for order-select).

draftOrders as real clients send them: Bundles without ``type``; MedicationRequests without ``intent``;
Epic's absolute ``selections`` and its Medication entries alongside the orders; DSTU2 MedicationOrder.

The dose is read from **every** ``dosageInstruction`` (``ordered_dose``): steps in ``sequence`` order, the last one
the maintenance regimen and the earlier ones a loading course; in each step the ``doseAndRate`` entry that holds a
``doseQuantity`` (an infusion ``rateQuantity`` beside it is skipped). What cannot be read is named, with its step.
The order's reason (``reasonCode``, a contained or drafted reason Condition) is read so that the guideline can tell
an immunomodulatory order (ICANS, ITP, ...) from IgRT (``guideline.dose.order_purpose``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeGuard

from fhir_mappers.bundle import read_value
from fhir_mappers.context import MappingContext
from fhir_mappers.elements import as_list, codings, concept_text
from fhir_mappers.medication import igrt_route, medication_match, medication_read
from fhir_mappers.references import reference_key, resource_key
from guideline.concepts import IgrtRoute
from guideline.ordered_dose import DOSE_REGIMEN_FIELDS, DoseRegimen, DoseUnit, OrderedDose, PeriodUnit, interval_of
from guideline.products import find_product, stated_concentration
from guideline.text import Message, msg

ORDER_TYPES = frozenset({"MedicationRequest", "MedicationOrder"})
_IMMUNOMODULATION = "dx-ig-immunomodulation-indication"


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
    drafts = tuple(drafts)
    wanted = None if selections is None else {reference_key(s) for s in selections}
    conditions = {resource_key(r): r for r in drafts if r.get("resourceType") == "Condition"}
    found = []
    for resource in drafts:
        kind = resource.get("resourceType")
        if not isinstance(kind, str) or kind not in ORDER_TYPES:
            continue
        ref = resource_key(resource)
        if wanted is not None and ref not in wanted:
            continue
        match, name = medication_read(resource, ctx)
        if match is not None and match.concept.startswith("igrt"):
            order = ImmunoglobulinOrder(ref, name, match.matched)
            found.append(replace(order, dose=ordered_dose(resource, ctx, order, conditions=conditions)))
    return tuple(found)


def ordered_dose(
    resource: Mapping[str, Any],
    ctx: MappingContext,
    order: ImmunoglobulinOrder,
    *,
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
) -> OrderedDose:
    """Read the dose, timing and reason of a draft immunoglobulin order.

    Steps: every ``dosageInstruction`` that states a dose, a timing or a problem, in ``sequence`` order when every
    step has one (else as listed); the last is the maintenance regimen (``OrderedDose``'s own fields), the earlier
    ones its ``loading`` steps. Per step: the dose is the ``doseQuantity`` of the ``doseAndRate`` entry of type
    ``ordered``, else the first entry that has one (R4), or ``doseQuantity`` itself (STU3/DSTU2), in g, mg, mL, g/kg,
    mg/kg or mL/kg; the timing is ``timing.repeat`` (frequency per period in h, d, wk or mo; ``dayOfWeek`` counts
    as the frequency per week; ``count`` and ``boundsDuration`` bound it) or a ``timing.code`` (QD, BID, QOD, WK,
    MO, ...). A dose stated only as text, a dose range or an unknown unit is named in ``problem``, with its step
    when the order has several.

    Args:
        resource: the draft MedicationRequest (or DSTU2 MedicationOrder).
        ctx: mapping context (code table for the reason codes).
        order: the order as ``immunoglobulin_orders`` recognised it.
        conditions: ``"Condition/id"`` -> Condition of the draft Bundle, for ``reasonReference``.
    """
    match = medication_match(resource, ctx)
    route = igrt_route(resource, ctx, match) if match else IgrtRoute.UNKNOWN
    product = find_product(order.display)
    concentration = stated_concentration(order.display) or (product.concentration_mg_per_ml if product else None)
    indication, refs = _reason(resource, ctx, conditions or {})
    base = OrderedDose(
        ref=order.ref,
        display=order.display,
        route=product.route if product else route,
        product=product.name if product else None,
        concentration_mg_per_ml=concentration,
        reason_indication=indication,
        reason_refs=refs,
    )
    dosages = [d for d in as_list(resource.get("dosageInstruction")) if isinstance(d, Mapping)]
    if not dosages:
        return base
    several = len(dosages) > 1
    steps = [_step(d, i + 1 if several else None) for i, d in enumerate(dosages)]
    if all(s.sequence is not None for s in steps):
        steps.sort(key=lambda s: s.sequence or 0)
    read = [s for s in steps if s.has_dose or s.has_timing or s.problem is not None]
    if not read:
        texts = [d["text"].strip() for d in dosages if isinstance(d.get("text"), str) and d["text"].strip()]
        if texts:
            return replace(base, problem=msg("the dose is only free text ('{text}'), not a coded dose", text=texts[0]))
        return base
    maintenance, loading = read[-1], tuple(read[:-1])
    updates: dict[str, Any] = {name: getattr(maintenance, name) for name in DOSE_REGIMEN_FIELDS}
    updates["loading"] = loading
    concurrent = maintenance.sequence is not None and any(s.sequence == maintenance.sequence for s in loading)
    if concurrent and updates["problem"] is None:
        updates["problem"] = msg(
            "several dosage steps share sequence {sequence} (given together): they are not added up",
            sequence=maintenance.sequence,
        )
    return replace(base, **updates)


def _step(dosage: Mapping[str, Any], step: int | None) -> DoseRegimen:
    """Read one ``dosageInstruction``; ``step`` (1-based) names it in problems when the order has several."""
    sequence = dosage.get("sequence")
    updates: dict[str, Any] = {"sequence": sequence if _is_number(sequence) and isinstance(sequence, int) else None}
    problems: list[Message] = []
    dose, dose_problem = _dose(dosage)
    if dose is not None:
        updates["dose_value"], updates["dose_unit"] = dose
    if dose_problem is not None:
        problems.append(dose_problem)
    timing, timing_problem = _timing(dosage.get("timing"))
    if timing is not None:
        frequency, period, unit, count = timing
        interval_days, interval_months = interval_of(frequency, period, unit)
        updates |= {
            "frequency": frequency,
            "period": period,
            "period_unit": unit,
            "interval_days": interval_days,
            "interval_months": interval_months,
            "count": _administrations(count, _bounds_days(dosage.get("timing")), interval_days),
        }
    if timing_problem is not None:
        problems.append(timing_problem)
    if problems:
        problem = problems[0]
        updates["problem"] = (
            problem if step is None else msg("dosage step {step}: {problem}", step=step, problem=problem)
        )
    return DoseRegimen(**updates)


_DOSE_UNITS: dict[str, tuple[DoseUnit, float]] = {
    "g": ("g", 1.0),
    "mg": ("g", 0.001),
    "ml": ("mL", 1.0),
    "g/kg": ("g/kg", 1.0),
    "mg/kg": ("g/kg", 0.001),
    "ml/kg": ("mL/kg", 1.0),
}


def _dose(dosage: Mapping[str, Any]) -> tuple[tuple[float, DoseUnit] | None, Message | None]:
    """Return ``((value, unit), None)``, ``(None, problem)``, or ``(None, None)`` when no dose is stated."""
    entries = [e for e in as_list(dosage.get("doseAndRate")) if isinstance(e, Mapping)]
    with_dose = [e for e in entries if isinstance(e.get("doseQuantity"), Mapping)]
    ordered = [e for e in with_dose if any(c.get("code") == "ordered" for c in codings(e.get("type")))]
    quantity: Any = (ordered or with_dose)[0]["doseQuantity"] if with_dose else dosage.get("doseQuantity")
    if not isinstance(quantity, Mapping):
        if any(isinstance(e.get("doseRange"), Mapping) for e in entries) or isinstance(
            dosage.get("doseRange"), Mapping
        ):
            return None, msg("the dose is a range (doseRange), not one dose")
        return None, None
    if _annotation_only(quantity):
        return None, None
    value = quantity.get("value")
    raw_unit = quantity.get("code") if isinstance(quantity.get("code"), str) else quantity.get("unit")
    unit = _DOSE_UNITS.get(raw_unit.strip().lower()) if isinstance(raw_unit, str) else None
    if not _is_number(value) or value <= 0:
        return None, msg("the dose value is not a positive number")
    if unit is None:
        return None, msg("dose unit '{unit}' is not g, mg, mL, g/kg or mL/kg", unit=str(raw_unit))
    return (round(float(value) * unit[1], 4), unit[0]), None


def _annotation_only(quantity: Mapping[str, Any]) -> bool:
    """Whether the dose's unit is only a UCUM annotation such as ``{pill}`` (a count with no amount of drug).

    The CDS Hooks Sandbox puts ``1 {pill}`` on every draft it builds; no immunoglobulin amount can be read from
    it, so it is read as "no dose stated yet", not as a wrong unit.
    """
    unit = quantity.get("code") if isinstance(quantity.get("code"), str) else quantity.get("unit")
    return isinstance(unit, str) and unit.strip().startswith("{") and unit.strip().endswith("}")


_PERIOD_UNITS: frozenset[str] = frozenset({"h", "d", "wk", "mo"})
_TIMING_CODES: dict[str, tuple[int, float, PeriodUnit]] = {
    "QD": (1, 1, "d"),
    "BID": (2, 1, "d"),
    "TID": (3, 1, "d"),
    "QID": (4, 1, "d"),
    "QOD": (1, 2, "d"),
    "WK": (1, 1, "wk"),
    "MO": (1, 1, "mo"),
}
"""HL7 v3 GTSAbbreviation codes of ``Timing.code`` that name a frequency."""
_DURATION_DAYS = {"h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0}


def _timing(timing: Any) -> tuple[tuple[int, float, PeriodUnit, int | None] | None, Message | None]:
    """Return ``((frequency, period, unit, count), None)``, ``(None, problem)`` or ``(None, None)`` (no timing)."""
    if not isinstance(timing, Mapping):
        return None, None
    repeat = timing.get("repeat")
    repeat = repeat if isinstance(repeat, Mapping) else {}
    count_value = repeat.get("count")
    count = count_value if _is_number(count_value) and isinstance(count_value, int) and count_value > 0 else None
    days = [d for d in as_list(repeat.get("dayOfWeek")) if isinstance(d, str)]
    frequency: Any = repeat.get("frequency", len(days) if days else 1)
    period: Any = repeat.get("period", 1 if days else None)
    unit: Any = repeat.get("periodUnit", "wk" if days else None)
    if period is None:
        code = next((c.get("code") for c in codings(timing.get("code")) if c.get("code") in _TIMING_CODES), None)
        if isinstance(code, str):
            frequency, period, unit = _TIMING_CODES[code]
        elif not any(key in repeat for key in ("frequency", "periodUnit")) and timing.get("code") is None:
            return None, None  # no interval stated (a single administration, or bounds only)
    if not (_is_number(frequency) and _is_number(period) and frequency > 0 and period > 0):
        return None, msg("the order's timing is not a frequency per h, d, wk or mo")
    if not isinstance(unit, str) or unit not in _PERIOD_UNITS:
        return None, msg("the order's timing is not a frequency per h, d, wk or mo")
    whole = int(frequency) if float(frequency).is_integer() else None
    if whole is None:
        return None, msg("the order's timing is not a frequency per h, d, wk or mo")
    period_unit: PeriodUnit = unit  # type: ignore[assignment]  # checked against _PERIOD_UNITS above
    return (whole, float(period), period_unit, count), None


def _bounds_days(timing: Any) -> float | None:
    """Return ``timing.repeat.boundsDuration`` in days (h, d, wk; a month as 30 days), or ``None``."""
    repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
    bounds = repeat.get("boundsDuration") if isinstance(repeat, Mapping) else None
    if not isinstance(bounds, Mapping):
        return None
    value = bounds.get("value")
    unit = bounds.get("code") if isinstance(bounds.get("code"), str) else bounds.get("unit")
    if not _is_number(value) or value <= 0 or not isinstance(unit, str) or unit not in _DURATION_DAYS:
        return None
    return float(value) * _DURATION_DAYS[unit]


def _administrations(count: int | None, bounds_days: float | None, interval_days: float | None) -> int | None:
    """Return the administrations of a bounded step: ``count``, or the bounds over the interval, the smaller."""
    by_bounds = None
    if bounds_days is not None and interval_days:
        by_bounds = max(1, math.floor(bounds_days / interval_days + 1e-9))
    found = [n for n in (count, by_bounds) if n is not None]
    return min(found) if found else None


def _reason(
    resource: Mapping[str, Any], ctx: MappingContext, conditions: Mapping[str, Mapping[str, Any]]
) -> tuple[str | None, tuple[str, ...]]:
    """Return the immunomodulatory indication the order itself names (or ``None``) and its other reason refs.

    ``reasonCode`` (codes or words), a contained Condition (``"#id"``) or a Condition drafted in the same Bundle
    that is coded as an immunomodulatory indication name it; any other ``reasonReference`` is returned for the
    guideline to look up among the patient's recorded diagnoses.
    """
    for concept in as_list(resource.get("reasonCode")):
        if _immunomodulatory(concept, ctx):
            return concept_text(concept), ()
    contained = {
        f"#{c.get('id')}": c
        for c in as_list(resource.get("contained"))
        if isinstance(c, Mapping) and c.get("resourceType") == "Condition"
    }
    refs: list[str] = []
    for reference in as_list(resource.get("reasonReference")):
        text = reference.get("reference") if isinstance(reference, Mapping) else None
        key = ctx.ref(reference)
        condition = contained.get(text) if isinstance(text, str) else None
        condition = condition if condition is not None else (conditions.get(key) if key else None)
        if condition is not None and _immunomodulatory(condition.get("code"), ctx):
            return concept_text(condition.get("code")), ()
        if key is not None:
            refs.append(key)
    return None, tuple(refs)


def _immunomodulatory(concept: Any, ctx: MappingContext) -> bool:
    return any(m.concept == _IMMUNOMODULATION for m in ctx.codes.matches(concept, by_name=True))


def _is_number(value: Any) -> TypeGuard[int | float]:
    """Whether ``value`` is a finite JSON number (a bool is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
