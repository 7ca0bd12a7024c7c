"""FHIR date and dateTime values as calendar dates in the deployment's time zone.

A dateTime with an offset is converted to the local date (a 23:30Z sample is the next day in Copenhagen); one
without an offset is read as local time. Partial dates (``2026`` or ``2026-03``) are too imprecise for month
windows and thresholds in days, so they are rejected with a reason the card can show.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fhir_mappers.errors import InvalidElementError
from guideline.text import msg

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL = re.compile(r"^\d{4}(-\d{2})?$")


def to_local_date(value: Any, *, tz: ZoneInfo, path: str) -> date:
    """Return the local calendar date of a FHIR ``date`` or ``dateTime`` string.

    Raises:
        InvalidElementError: not a string, a partial date, or an impossible date such as 2026-02-30.
    """
    if not isinstance(value, str):
        raise InvalidElementError(msg("expected a date string, got {type}", type=type(value).__name__), path=path)
    known = _LOCAL_DATES.get(tz)
    if known is None:
        known = _LOCAL_DATES[tz] = {}
    found = known.get(value)
    if found is not None:
        return found
    local = _parse_local_date(value, tz=tz, path=path)
    if len(known) >= _LOCAL_DATES_LIMIT:
        known.clear()
    known[value] = local
    return local


_LOCAL_DATES: dict[ZoneInfo, dict[str, date]] = {}
"""Per time zone, a date or dateTime string -> its local date (``to_local_date``): a patient's history and a
population repeat the same days, and parsing a dateTime and converting its zone costs far more than a look-up. Only
valid values are kept (an invalid one raises each time, with its message)."""
_LOCAL_DATES_LIMIT = 65_536
"""Strings kept per time zone before the memo starts again (bounded memory: a few MB)."""


def _parse_local_date(value: str, *, tz: ZoneInfo, path: str) -> date:
    """``to_local_date``'s parse of a string, without the memo."""
    text = value.strip()
    # Length first: most values are full dateTimes, which then skip both patterns.
    if len(text) <= 7 and _PARTIAL.match(text):
        raise InvalidElementError(msg("date '{text}' is only a year or month", text=text), path=path)
    try:
        if len(text) == 10 and _DATE.match(text):
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidElementError(msg("invalid date '{text}'", text=text[:40]), path=path) from error
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(tz).date()


def first_date(resource: Any, candidates: tuple[str, ...], *, tz: ZoneInfo, type_name: str) -> tuple[date, str] | None:
    """Return the first present date among element names such as ``"onsetDateTime"`` or ``"onsetPeriod.start"``.

    Returns:
        ``(date, element name)``, or ``None`` if none is present.

    Raises:
        InvalidElementError: the first present element is not a valid date.
    """
    for candidate in candidates:
        try:
            parts = _PARTS[candidate]
        except KeyError:
            parts = _PARTS[candidate] = tuple(candidate.split("."))
        value: Any = resource
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return to_local_date(value, tz=tz, path=f"{type_name}.{candidate}"), candidate
    return None


_PARTS: dict[str, tuple[str, ...]] = {}
"""Element name -> its dotted parts (the mappers name a few dozen, each read for every resource)."""
