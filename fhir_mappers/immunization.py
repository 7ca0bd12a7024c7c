"""Immunization -> ``Vaccination`` for influenza and pneumococcal vaccines (prerequisites before an IgRT start).

Codes: ATC J07BB / J07AL (DK-core Immunization, as DDV records carry them), CVX and SNOMED vaccine products; see
``codesets/codes.csv``. Only ``completed`` Immunizations count; ``not-done`` is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mappers.context import MappingContext
from fhir_mappers.dates import first_date
from fhir_mappers.elements import concept_text
from fhir_mappers.errors import MissingElementError
from guideline.concepts import VaccineKind
from guideline.model import Vaccination
from guideline.text import msg

_KINDS = {"vaccine-influenza": VaccineKind.INFLUENZA, "vaccine-pneumococcal": VaccineKind.PNEUMOCOCCAL}


def map_immunization(resource: Mapping[str, Any], ctx: MappingContext, ref: str) -> Vaccination | None:
    """Map a completed influenza or pneumococcal Immunization; other vaccines and ``not-done`` give ``None``.

    Raises:
        MappingError: a relevant vaccine without ``occurrenceDateTime`` (an ``occurrenceString`` is not a date).
    """
    kind = next(
        (_KINDS[m.concept] for m in ctx.codes.matches(resource.get("vaccineCode")) if m.concept in _KINDS), None
    )
    if kind is None or resource.get("status") != "completed":
        return None
    display = concept_text(resource.get("vaccineCode"))
    occurred = first_date(resource, ("occurrenceDateTime",), tz=ctx.tz, type_name="Immunization")
    if occurred is None:
        raise MissingElementError(msg("{name}: no occurrenceDateTime", name=display), path="Immunization.occurrence[x]")
    return Vaccination(kind=kind, display=display, on=occurred[0], ref=ref)
