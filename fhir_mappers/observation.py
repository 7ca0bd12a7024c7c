"""Observation -> ``LabResult`` for IgG, IgA, IgM and M-protein (LOINC and NPU codes), values in g/L."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mappers.context import MappingContext
from fhir_mappers.dates import first_date
from fhir_mappers.elements import as_list, concept_text
from fhir_mappers.errors import InvalidElementError, MappingError, MissingElementError
from fhir_mappers.units import quantity_in_g_per_l
from guideline.concepts import Analyte
from guideline.model import Comparator, LabResult

_ANALYTES = {
    "lab-igg": Analyte.IGG,
    "lab-iga": Analyte.IGA,
    "lab-igm": Analyte.IGM,
    "lab-m-protein": Analyte.M_PROTEIN,
}
USABLE_STATUSES = frozenset({"final", "amended", "corrected"})
_EFFECTIVE = ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued")


def map_observation(resource: Mapping[str, Any], ctx: MappingContext, ref: str) -> LabResult | None:
    """Map a final/amended/corrected immunoglobulin or M-protein Observation to a ``LabResult``.

    Returns:
        ``None`` when the code is not one of the guideline's analytes.

    Raises:
        MappingError: not final, no value, an unconvertible unit, or no effective date.
    """
    analyte = next(
        (_ANALYTES[m.concept] for m in ctx.codes.matches(resource.get("code")) if m.concept in _ANALYTES), None
    )
    if analyte is None:
        return None
    name = concept_text(resource.get("code"))
    status = resource.get("status")
    if status not in USABLE_STATUSES:
        raise InvalidElementError(f"{name}: status '{status}' is not a final result", path="Observation.status")
    if resource.get("dataAbsentReason") is not None:
        raise MissingElementError(f"{name}: no value (dataAbsentReason)", path="Observation.dataAbsentReason")
    if "valueQuantity" not in resource:
        raise MissingElementError(f"{name}: value is not a Quantity", path="Observation.valueQuantity")
    value, comparator, reported = quantity_in_g_per_l(resource["valueQuantity"], path="Observation.valueQuantity")
    effective = first_date(resource, _EFFECTIVE, tz=ctx.tz, type_name="Observation")
    if effective is None:
        raise MissingElementError(f"{name}: no effective date", path="Observation.effective[x]")
    comparator_value: Comparator | None = comparator  # type: ignore[assignment]
    return LabResult(
        analyte=analyte,
        value_g_per_l=value,
        comparator=comparator_value,
        effective=effective[0],
        ref=ref,
        reported=reported,
        reference_low_g_per_l=_reference_low(resource),
    )


def _reference_low(resource: Mapping[str, Any]) -> float | None:
    for reference_range in as_list(resource.get("referenceRange")):
        low = reference_range.get("low") if isinstance(reference_range, Mapping) else None
        if isinstance(low, Mapping):
            try:
                return quantity_in_g_per_l(low, path="Observation.referenceRange.low")[0]
            except MappingError:
                return None
    return None
