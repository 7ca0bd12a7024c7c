"""Patient -> birth date (the age on the evaluation date is computed in the guideline core)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from fhir_mappers.context import MappingContext
from fhir_mappers.dates import to_local_date
from fhir_mappers.errors import MissingElementError
from guideline.text import msg


def map_patient(resource: Mapping[str, Any], ctx: MappingContext) -> date:
    """Return ``Patient.birthDate``.

    Raises:
        MissingElementError: no birthDate.
        InvalidElementError: a partial (year-only) or impossible birthDate.
    """
    value = resource.get("birthDate")
    if value is None:
        raise MissingElementError(msg("no birthDate: age (adult or child) unknown"), path="Patient.birthDate")
    return to_local_date(value, tz=ctx.tz, path="Patient.birthDate")
