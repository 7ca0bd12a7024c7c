"""Patient -> birth date (exact, or the range a partial date allows) and whether the patient is deceased.

The age on the evaluation date is computed in the guideline core (``guideline.facts``): a partial birth date
(``"1999"``, ``"2009-04"``) decides adult or child whenever every possible birth date gives the same answer
(issue "clinical fidelity 4" §9). ``Patient.deceased[x]`` (``deceasedBoolean`` true, or any ``deceasedDateTime``)
stops every recommendation (issue "clinical fidelity 3" §9).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir_mappers.context import MappingContext
from fhir_mappers.dates import to_local_date
from fhir_mappers.errors import InvalidElementError, MissingElementError
from guideline.text import msg

_YEAR = re.compile(r"^(\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Demographics:
    """What the guideline reads of a Patient.

    Attributes:
        birth_date: the birth date, or the earliest possible one for a partial ``birthDate``.
        birth_date_latest: the latest possible birth date of a partial ``birthDate``; ``None`` when exact.
        deceased: ``deceasedBoolean`` true or a ``deceasedDateTime`` present.
    """

    birth_date: date | None
    birth_date_latest: date | None
    deceased: bool


def map_patient(resource: Mapping[str, Any], ctx: MappingContext) -> Demographics:
    """Return the Patient's birth date (or its range) and deceased status.

    Raises:
        MissingElementError: no birthDate (the deceased status is then lost too: ``map_deceased`` reads it alone).
        InvalidElementError: an impossible birthDate.
    """
    value = resource.get("birthDate")
    if value is None:
        raise MissingElementError(msg("no birthDate: age (adult or child) unknown"), path="Patient.birthDate")
    earliest, latest = birth_date_range(value, ctx)
    return Demographics(earliest, None if latest == earliest else latest, map_deceased(resource))


def map_deceased(resource: Mapping[str, Any]) -> bool:
    """Return whether ``Patient.deceased[x]`` says the patient has died (``deceasedBoolean`` false: alive)."""
    if resource.get("deceasedBoolean") is True:
        return True
    return isinstance(resource.get("deceasedDateTime"), str)


def birth_date_range(value: Any, ctx: MappingContext) -> tuple[date, date]:
    """Return the earliest and latest possible birth date of a FHIR ``date`` (equal for a full date).

    Raises:
        InvalidElementError: not a date, or an impossible one (month 13, 2001-02-29).
    """
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and (year := _YEAR.match(text)):
        return date(int(year.group(1)), 1, 1), date(int(year.group(1)), 12, 31)
    if isinstance(text, str) and (month := _YEAR_MONTH.match(text)):
        y, m = int(month.group(1)), int(month.group(2))
        if not 1 <= m <= 12:
            raise InvalidElementError(msg("invalid date '{text}'", text=text), path="Patient.birthDate")
        return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])
    exact = to_local_date(value, tz=ctx.tz, path="Patient.birthDate")
    return exact, exact
