"""Encounter -> ``Admission`` for inpatient (IMP) and emergency (EMER) stays, the "severe" infection signal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mappers.context import MappingContext
from fhir_mappers.dates import first_date
from fhir_mappers.elements import as_list, coded_value
from fhir_mappers.errors import InvalidElementError, MissingElementError
from guideline.model import Admission
from guideline.text import msg

ADMISSION_CLASSES = {"IMP": "IMP", "ACUTE": "IMP", "NONAC": "IMP", "EMER": "EMER"}
"""v3-ActCode classes: IMP and its specialisations ACUTE/NONAC are admissions; EMER is the emergency ward."""
_SKIPPED_STATUSES = frozenset({"planned", "cancelled"})


def map_encounter(resource: Mapping[str, Any], ctx: MappingContext, ref: str) -> Admission | None:
    """Map an inpatient or emergency Encounter (``Encounter.class``, a Coding in R4) to an ``Admission``.

    Returns:
        ``None`` for other classes, and for planned or cancelled encounters.

    Raises:
        MissingElementError: no ``period.start``.
        InvalidElementError: a ``status`` that is not a code (planned or cancelled cannot be told).
    """
    encounter_class = ADMISSION_CLASSES.get(coded_value(resource.get("class")) or "")
    status = resource.get("status")
    if encounter_class is None:
        return None
    if not isinstance(status, str | None):
        reason = msg("admission with a status that is not a code: {status}", status=str(status)[:40])
        raise InvalidElementError(reason, path="Encounter.status")
    if status in _SKIPPED_STATUSES:
        return None
    start = first_date(resource, ("period.start",), tz=ctx.tz, type_name="Encounter")
    if start is None:
        raise MissingElementError(msg("admission without period.start"), path="Encounter.period.start")
    end = first_date(resource, ("period.end",), tz=ctx.tz, type_name="Encounter")
    diagnoses = [d.get("condition") for d in as_list(resource.get("diagnosis")) if isinstance(d, Mapping)]
    return Admission(
        ref=ref,
        encounter_class="IMP" if encounter_class == "IMP" else "EMER",
        start=start[0],
        end=end[0] if end else None,
        diagnosis_refs=ctx.refs(diagnoses),
    )
