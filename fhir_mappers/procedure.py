"""Procedure -> HSCT ``Diagnosis`` (SKS BOQF1 allogeneic, BOQF0 autologous) or a CAR-T infusion (by product name)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mappers.condition import DIAGNOSIS_KINDS
from fhir_mappers.context import MappingContext
from fhir_mappers.dates import first_date
from fhir_mappers.elements import as_list, concept_text
from fhir_mappers.errors import InvalidElementError, MissingElementError
from guideline.concepts import TherapyKind
from guideline.model import Diagnosis, TherapyAdministration
from guideline.text import msg

_PERFORMED = ("performedDateTime", "performedPeriod.start")


def map_procedure(
    resource: Mapping[str, Any], ctx: MappingContext, ref: str
) -> list[Diagnosis | TherapyAdministration]:
    """Map a completed Procedure; a CAR-T infusion is recognised by a product in ``code`` or ``usedCode``.

    Raises:
        MappingError: a relevant procedure that is not completed, or a CAR-T infusion without a date.
    """
    concepts = {m.concept for m in ctx.codes.matches(resource.get("code"), by_name=True)}
    for used in as_list(resource.get("usedCode")):
        concepts |= {m.concept for m in ctx.codes.matches(used, by_name=True)}
    kinds = [DIAGNOSIS_KINDS[c] for c in concepts if c in DIAGNOSIS_KINDS]
    if not kinds and "car-t" not in concepts:
        return []
    display = concept_text(resource.get("code"))
    if resource.get("status") != "completed":
        raise InvalidElementError(
            msg("{name}: status '{status}'", name=display, status=str(resource.get("status"))), path="Procedure.status"
        )
    performed = first_date(resource, _PERFORMED, tz=ctx.tz, type_name="Procedure")
    parts: list[Diagnosis | TherapyAdministration] = [
        Diagnosis(ref=ref, kind=kind, display=display, recorded=performed[0] if performed else None) for kind in kinds
    ]
    if "car-t" in concepts:
        if performed is None:
            raise MissingElementError(
                msg("{name}: CAR-T infusion without a date", name=display), path="Procedure.performed[x]"
            )
        parts.append(TherapyAdministration(kind=TherapyKind.CAR_T, substance=display, on=performed[0], ref=ref))
    return parts
