"""Observation -> guideline facts.

* IgG, IgA, IgM and M-protein (LOINC and NPU codes) -> ``LabResult`` in g/L.
* Body weight (LOINC 29463-7, kg or g) and CD19 B cells (LOINC 8116-6, 8117-4) -> ``Measurement``.
* M-component typing (immunofixation, LOINC 25700-6) -> ``MProteinTyping``: the heavy chains its result names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fhir_mappers.context import MappingContext
from fhir_mappers.dates import first_date
from fhir_mappers.elements import as_list, concept_names, concept_text
from fhir_mappers.errors import InvalidElementError, MappingError, MissingElementError, UnsupportedUnitError
from fhir_mappers.units import quantity_in_g_per_l, reported_decimals
from guideline.concepts import Analyte, MeasurementKind
from guideline.model import Comparator, LabResult, Measurement, MProteinTyping, PreliminaryLab
from guideline.text import msg

_ANALYTES = {
    "lab-igg": Analyte.IGG,
    "lab-iga": Analyte.IGA,
    "lab-igm": Analyte.IGM,
    "lab-m-protein": Analyte.M_PROTEIN,
}
USABLE_STATUSES = frozenset({"final", "amended", "corrected"})
_EFFECTIVE = ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued")


_MEASUREMENTS = {
    "body-weight": MeasurementKind.BODY_WEIGHT,
    "lab-cd19-absolute": MeasurementKind.CD19_ABSOLUTE,
    "lab-cd19-percent": MeasurementKind.CD19_PERCENT,
}
M_PROTEIN_TYPING = "lab-m-protein-typing"
OBSERVATION_CONCEPTS = frozenset({*_ANALYTES, *_MEASUREMENTS, M_PROTEIN_TYPING})
"""The code-table concepts ``map_observation`` reads; an Observation of any other code maps to nothing. The Bulk
Data client's ``_typeFilter`` and the worklist's byte pre-filter (``cohort.relevance``) ask for exactly these."""
_WEIGHT_TO_KG = {"kg": 1.0, "g": 0.001}
_ISOTYPE = re.compile(r"(?<![a-z])ig\s*([gam])(?![a-z])", re.IGNORECASE)


def map_observation(
    resource: Mapping[str, Any], ctx: MappingContext, ref: str
) -> LabResult | PreliminaryLab | Measurement | MProteinTyping | None:
    """Map a final/amended/corrected Observation the guideline reads.

    A ``preliminary`` IgG becomes a ``PreliminaryLab``: it never decides, but the card names it, and a newer low one
    keeps a confident not-indicated from being issued (issue "clinical fidelity 3" §9).

    Returns:
        ``None`` when the code is not one the guideline reads.

    Raises:
        MappingError: not final, no value, an unconvertible unit, or no effective date.
    """
    analyte = measurement = None
    typing = False
    for match in ctx.codes.matches(resource.get("code")):  # in the code table's order: the first of a kind decides
        concept = match.concept
        if analyte is None and concept in _ANALYTES:
            analyte = _ANALYTES[concept]
        elif measurement is None and concept in _MEASUREMENTS:
            measurement = _MEASUREMENTS[concept]
        elif concept == M_PROTEIN_TYPING:
            typing = True
    if analyte is None and measurement is None and not typing:
        return None
    if analyte is None:
        _check_final(resource)
        effective = _effective(resource, ctx)
        if measurement is None:
            return _typing(resource, effective, ref)
        return _measurement(resource, measurement, effective, ref)
    preliminary = resource.get("status") == "preliminary" and analyte == Analyte.IGG
    if not preliminary:
        _check_final(resource)
    if "valueQuantity" not in resource:
        name = concept_text(resource.get("code"))
        raise MissingElementError(msg("{name}: value is not a Quantity", name=name), path="Observation.valueQuantity")
    value, comparator, reported = quantity_in_g_per_l(resource["valueQuantity"], path="Observation.valueQuantity")
    comparator_value: Comparator | None = comparator  # type: ignore[assignment]
    lab = LabResult(
        analyte=analyte,
        value_g_per_l=value,
        comparator=comparator_value,
        effective=_effective(resource, ctx),
        ref=ref,
        reported=reported,
        reference_low_g_per_l=_reference_low(resource),
        decimals=reported_decimals(resource["valueQuantity"]),
    )
    return PreliminaryLab(lab=lab) if preliminary else lab


def _check_final(resource: Mapping[str, Any]) -> None:
    status = resource.get("status")
    if not isinstance(status, str) or status not in USABLE_STATUSES:
        name = concept_text(resource.get("code"))
        raise InvalidElementError(
            msg("{name}: status '{status}' is not a final result", name=name, status=str(status)),
            path="Observation.status",
        )
    if resource.get("dataAbsentReason") is not None:
        name = concept_text(resource.get("code"))
        raise MissingElementError(
            msg("{name}: no value (dataAbsentReason)", name=name), path="Observation.dataAbsentReason"
        )


def _effective(resource: Mapping[str, Any], ctx: MappingContext) -> Any:
    effective = first_date(resource, _EFFECTIVE, tz=ctx.tz, type_name="Observation")
    if effective is None:
        name = concept_text(resource.get("code"))
        raise MissingElementError(msg("{name}: no effective date", name=name), path="Observation.effective[x]")
    return effective[0]


def _measurement(resource: Mapping[str, Any], kind: MeasurementKind, effective: Any, ref: str) -> Measurement:
    """Body weight in kg (kg or g); CD19 counts as reported (only compared with themselves)."""
    quantity = resource.get("valueQuantity")
    if type(quantity) is not dict and not isinstance(quantity, Mapping):  # dict first: the ABC check is slow
        name = concept_text(resource.get("code"))  # only for the message: most resources never need it
        raise MissingElementError(msg("{name}: value is not a Quantity", name=name), path="Observation.valueQuantity")
    value = quantity.get("value")
    if type(value) is not float and (isinstance(value, bool) or not isinstance(value, int | float)) or value < 0:
        raise InvalidElementError(msg("value is not a number"), path="Observation.valueQuantity.value")
    unit = quantity.get("code")
    if not isinstance(unit, str):
        unit = quantity.get("unit")
    if not isinstance(unit, str) or not unit.strip():
        raise MissingElementError(msg("no unit"), path="Observation.valueQuantity.unit")
    if kind is MeasurementKind.BODY_WEIGHT:
        factor = _WEIGHT_TO_KG.get(unit) or _WEIGHT_TO_KG.get(unit.strip().lower())
        if factor is None:
            raise UnsupportedUnitError(
                msg("unit '{unit}' cannot be converted to kg", unit=unit), path="Observation.valueQuantity.code"
            )
        return Measurement(kind=kind, value=round(float(value) * factor, 3), unit="kg", effective=effective, ref=ref)
    return Measurement(kind=kind, value=float(value), unit=unit.strip(), effective=effective, ref=ref)


def _typing(resource: Mapping[str, Any], effective: Any, ref: str) -> MProteinTyping:
    """The heavy chains (IgG, IgA, IgM) an immunofixation result names, from its coded or text value."""
    texts: list[str] = []
    value = resource.get("valueCodeableConcept")
    if isinstance(value, Mapping):
        texts += concept_names(value)
    if isinstance(resource.get("valueString"), str):
        texts.append(resource["valueString"])
    if not texts:
        name = concept_text(resource.get("code"))
        raise MissingElementError(msg("{name}: no result value", name=name), path="Observation.value[x]")
    text = "; ".join(dict.fromkeys(texts))
    isotypes = frozenset(f"Ig{m.group(1).upper()}" for m in _ISOTYPE.finditer(text))
    return MProteinTyping(isotypes=isotypes, text=text[:200], effective=effective, ref=ref)


def _reference_low(resource: Mapping[str, Any]) -> float | None:
    for reference_range in as_list(resource.get("referenceRange")):
        low = reference_range.get("low") if isinstance(reference_range, Mapping) else None
        if isinstance(low, Mapping):
            try:
                return quantity_in_g_per_l(low, path="Observation.referenceRange.low")[0]
            except MappingError:
                return None
    return None
