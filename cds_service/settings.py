"""Deployment settings, read once at start-up from the Flask config (environment variables ``CDS_*``).

* ``CDS_TIMEZONE`` (``Europe/Copenhagen``): local dates for dateTimes and for "today".
* ``CDS_GUIDELINE_URL``: link for the Opsummering (default: the Medicinrådet SID page; its slug is UNVERIFIED,
  check it at deployment).
* ``CDS_ADDENDUM_URL``: link for the CAR-T/bsAb addendum (default: the same page, where it is published).
* ``CDS_GUIDELINE_LISTING_URL``: Medicinrådet's guideline listing (verified), the second link on every card.
* ``CDS_PID_GUIDELINE_URL``: Medicinrådet's PID page (verified), linked when a primary immunodeficiency is coded.
* ``CDS_OPTIONAL_PREFETCH`` (``["medicationStatements", "procedures"]``): keys the decision may go without.
* ``CDS_GUIDELINE__<NAME>``: interpretation settings of ``guideline/parameters.py``,
  e.g. ``CDS_GUIDELINE__ON_IGRT_RECENT_DAYS=35``. Source-fixed thresholds cannot be set.
* ``CDS_FIXED_DATE`` (unset): evaluate as of this date; for tests and fixture review only.
* ``CDS_MAX_CONTENT_LENGTH`` (10 MiB): larger request bodies are answered 413.
* ``CDS_CORS_ORIGINS`` (none): browser origins allowed; ``*`` only for local trials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from guideline.parameters import DEFAULT_PARAMETERS, Parameters

SID_GUIDELINE_URL = (
    "https://medicinraadet.dk/anbefalinger-og-vejledninger/behandlingsvejledninger-og-laegemiddelrekommandationer/"
    "behandling-med-immunoglobuliner-behandling-af-sekundaer-immundefekt"
)
GUIDELINE_LISTING_URL = "https://medicinraadet.dk/anbefalinger-og-vejledninger"
PID_GUIDELINE_URL = (
    "https://medicinraadet.dk/anbefalinger-og-vejledninger/behandlingsvejledninger-og-laegemiddelrekommandationer/"
    "behandling-med-immunoglobuliner-behandling-af-primaer-immundefekt"
)

DEFAULTS: Mapping[str, Any] = {
    "TIMEZONE": "Europe/Copenhagen",
    "GUIDELINE_URL": SID_GUIDELINE_URL,
    "ADDENDUM_URL": SID_GUIDELINE_URL,
    "GUIDELINE_LISTING_URL": GUIDELINE_LISTING_URL,
    "PID_GUIDELINE_URL": PID_GUIDELINE_URL,
    "OPTIONAL_PREFETCH": ["medicationStatements", "procedures"],
    "GUIDELINE": {},
    "FIXED_DATE": None,
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    "CORS_ORIGINS": [],
}


class SettingsError(ValueError):
    """A setting has an invalid value; the service refuses to start."""


@dataclass(frozen=True)
class Settings:
    """The validated settings. ``parameters`` carries the guideline interpretation settings."""

    tz: ZoneInfo
    guideline_url: str
    addendum_url: str
    listing_url: str
    pid_guideline_url: str
    optional_prefetch: frozenset[str]
    parameters: Parameters
    fixed_date: date | None
    cors_origins: tuple[str, ...]

    def today(self) -> date:
        """Return the evaluation date: ``CDS_FIXED_DATE`` if set, else today in the configured time zone."""
        return self.fixed_date or datetime.now(self.tz).date()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Validate the Flask config.

        Raises:
            SettingsError: unknown time zone, bad date, or an unknown / source-fixed guideline setting.
        """
        try:
            tz = ZoneInfo(str(config["TIMEZONE"]))
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(f"CDS_TIMEZONE: unknown time zone {config['TIMEZONE']!r}") from error
        try:
            parameters = DEFAULT_PARAMETERS.with_interpretations(dict(config.get("GUIDELINE") or {}))
        except ValueError as error:
            raise SettingsError(f"CDS_GUIDELINE__*: {error}") from error
        fixed = config.get("FIXED_DATE")
        try:
            fixed_date = date.fromisoformat(str(fixed)) if fixed else None
        except ValueError as error:
            raise SettingsError(f"CDS_FIXED_DATE: not a date: {fixed!r}") from error
        return cls(
            tz=tz,
            guideline_url=str(config["GUIDELINE_URL"]),
            addendum_url=str(config["ADDENDUM_URL"]),
            listing_url=str(config["GUIDELINE_LISTING_URL"]),
            pid_guideline_url=str(config["PID_GUIDELINE_URL"]),
            optional_prefetch=frozenset(_as_list(config.get("OPTIONAL_PREFETCH"))),
            parameters=parameters,
            fixed_date=fixed_date,
            cors_origins=tuple(_as_list(config.get("CORS_ORIGINS"))),
        )


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(v) for v in value]
