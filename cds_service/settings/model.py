"""``Settings``: every setting, its default and meaning in one place, read once at start-up from ``CDS_*`` variables.

Two ways in, one model: ``Settings.from_environment()`` (pydantic-settings reads the environment) and
``Settings.from_config(config)`` (a Flask config: the defaults, ``CDS_*`` variables and a test's overrides, as
``cds_service.settings.loading.load_config`` builds it). Both refuse a bad value or an unsafe combination with
``SettingsError``, one line per problem naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import replace
from datetime import date, datetime
from types import MappingProxyType
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from cds_service.cards.i18n import LANGUAGES
from cds_service.ehr.bulk.config import BulkClientSettings
from cds_service.ehr.fhir_client import FhirClientSettings
from cds_service.ehr.limits import ResourceLimits
from cds_service.observability import LOG_FORMATS, LOG_LEVELS
from cds_service.settings.blocks import AuditSettings, AuthSettings, EhrSettings, MiB
from cds_service.settings.bulk import BulkSettings
from cds_service.settings.rules import RULES
from cds_service.settings.smart import SmartSettings
from cds_service.settings.values import (
    Day,
    Kind,
    Link,
    PositiveWhole,
    SettingsError,
    Words,
    Zone,
    choices,
    error_lines,
    named,
    one_of,
    secret,
    words,
)
from cds_service.settings.variables import FlatEnvironment, variable_at, variables_of, written
from cds_service.wire.definitions import PREFETCH, SERVICES
from cds_service.wire.json_shape import JsonLimits
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
_READING_CONFIG: ContextVar[bool] = ContextVar("reading_config", default=False)
"""True while ``Settings.from_config`` validates a Flask config (which holds the environment already)."""
BLOCKS: Mapping[str, type[BaseModel]] = {
    "auth": AuthSettings,
    "ehr": EhrSettings,
    "audit": AuditSettings,
    "smart": SmartSettings,
    "bulk": BulkSettings,
}
"""The blocks of settings, by the room that owns them."""


class Settings(BaseSettings):
    """The validated settings: serving, cards, evaluation at the top; ``auth``, ``ehr``, ``audit``, ``smart``, ``bulk``.

    The attributes the rest of the service reads from before the blocks existed (``auth_required``, ``fhir``,
    ``database_url``, ...) are properties below.
    """

    model_config = SettingsConfigDict(env_prefix="CDS_", frozen=True, extra="forbid")

    # Serving (cds_service.http).
    max_content_length: PositiveWhole = Field(10 * MiB, description="request body limit, bytes (413 above)")
    latency_budget_ms: PositiveWhole = Field(
        400,
        description="the service's own budget for one hook call, milliseconds (CDS Hooks asks for answers 'on the "
        "order of 500 ms'); waiting on the EHR's FHIR server (at most `CDS_FHIR_BUDGET_SECONDS`) is added to it. "
        "Past it the call is answered without the late cards, logged, counted and audited as `budget-exceeded`",
    )
    large_request_bytes: PositiveWhole = Field(
        MiB,
        description="hook calls with a larger body (chunked ones counted as read), with more JSON values than one per "
        "20 of these bytes, or whose fallback answers grow larger, are parsed and evaluated one at a time per worker, "
        "so that a worker's memory stays bounded; 503 with `Retry-After` if no turn within the budget (a fetch: the "
        "key unavailable)",
    )
    max_json_values: PositiveWhole = Field(
        JsonLimits.max_values,
        description="JSON values (objects, arrays, strings, numbers) one hook call may hold: its body, and the FHIR "
        "answers fetched for it, each counted before it is parsed; 413 (body) or the key unavailable (fetch) above. "
        "The extreme benchmark patient (6,021 resources, 2.29 MB) is 100,191; 10 MiB of FHIR like it, about 460,000; "
        "10 MiB of `{}` entries, 7 million (about 240 MiB in a worker, which this bounds)",
    )
    max_json_depth: PositiveWhole = Field(
        JsonLimits.max_depth,
        description="nesting of objects and arrays in a body or a FHIR answer, counted before it is parsed (413 or "
        "the key unavailable above). Hook calls with FHIR resources nest 11 deep (extensions in extensions, "
        "contained resources: some 20)",
    )
    max_bundle_entries: PositiveWhole = Field(
        ResourceLimits.max_bundle_entries,
        description="entries of one Bundle: a prefetch value (413 above) or one fetched search over all its pages "
        "(the key unavailable above). The extreme benchmark patient's largest is 5,025 (MedicationAdministration)",
    )
    max_call_resources: PositiveWhole = Field(
        ResourceLimits.max_call_resources,
        description="FHIR resources one hook call may hold, prefetched and fetched together (413 for the prefetch, "
        "else the fetched key unavailable above). The extreme benchmark patient has 6,021; 10 MiB of resources like "
        "its is about 27,000",
    )
    metrics_token: Annotated[str | None, secret(16), Kind("at least 16 characters")] = Field(
        None,
        repr=False,
        description="when set, `/metrics` requires `Authorization: Bearer <token>`",
        json_schema_extra={"shown": "unset (`/metrics` open: scrape inside the cluster only)"},
    )
    cors_origins: Words = Field(
        (),
        description="browser origins allowed; `*` only for local trials (see the refused combinations below)",
        json_schema_extra={"shown": "none (`*` under `make serve`)"},
    )
    # Cards (cds_service.cards).
    language: Annotated[str, one_of(LANGUAGES), Kind(choices(LANGUAGES))] = Field(
        "en",
        description='card language when a call does not choose one (`extension["sid-igrt"]["language"]`; '
        "see [cards.md](cards.md))",
    )
    guideline_url: Link = Field(
        SID_GUIDELINE_URL,
        description="the SID guideline page (Opsummering). **The slug is inferred from the sister pages and not "
        "verified: check it before go-live**",
    )
    addendum_url: Link = Field(
        SID_GUIDELINE_URL,
        description="where the CAR-T/bsAb addendum is published",
        json_schema_extra={"shown": "same as `CDS_GUIDELINE_URL`"},
    )
    listing_url: Link = Field(
        GUIDELINE_LISTING_URL,
        validation_alias="CDS_GUIDELINE_LISTING_URL",
        description="Medicinrådet's guideline listing (verified), in every decision card's "
        '`extension["sid-igrt"].guideline.listingUrl`',
    )
    pid_guideline_url: Link = Field(
        PID_GUIDELINE_URL,
        description="Medicinrådet's PID page (verified), linked when a primary immunodeficiency is coded",
    )
    silent_services: Annotated[frozenset[str], NoDecode, Kind("service ids, comma-separated, or `all`")] = Field(
        frozenset(),
        description="services in **silent mode**: every call is evaluated and audited as usual (outcome `silent` "
        "where a card would have been shown) and answered with no cards; discovery says so. The go-live trial: "
        "`cds-service agreement-report` compares what they would have said with what clinicians did "
        '([operations.md](operations.md), "Go-live"). A request cannot switch it off',
        json_schema_extra={"shown": "none (every service speaks)"},
    )
    # Evaluation.
    tz: Zone = Field(
        ZoneInfo("Europe/Copenhagen"),
        validation_alias="CDS_TIMEZONE",
        description="dateTimes become local dates in this zone; 'today' is taken here",
    )
    fixed_date: Day = Field(
        None, description="evaluate as of this date: tests and fixture review only (logged as a warning)"
    )
    optional_prefetch: Annotated[frozenset[str], NoDecode, Kind("prefetch keys, comma-separated")] = Field(
        frozenset({"medicationStatements", "procedures", "immunizations"}),
        description="prefetch keys the decision may go without (named on the card when absent)",
    )
    parameters: Annotated[Parameters, Kind("see below")] = Field(
        DEFAULT_PARAMETERS,
        validation_alias="CDS_GUIDELINE",
        description="interpretation settings, e.g. `CDS_GUIDELINE__ON_IGRT_RECENT_DAYS=35` (source-fixed thresholds "
        "cannot be set)",
        json_schema_extra={"shown": "see below"},
    )
    # Logs (cds_service.observability reads these two from the environment itself; checked here).
    log_format: Annotated[str | None, one_of(LOG_FORMATS, unset=True), Kind(choices(LOG_FORMATS))] = Field(
        None,
        description="`text`: one line per event for a person; `json`: one JSON object per line (production)",
        json_schema_extra={"shown": "`text` at a terminal, else `json`"},
    )
    log_level: Annotated[str, one_of(LOG_LEVELS, fold=str.upper), Kind(choices(LOG_LEVELS))] = Field(
        "INFO", description="the lowest level logged"
    )

    auth: AuthSettings = Field(default_factory=AuthSettings)
    ehr: EhrSettings = Field(default_factory=EhrSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    smart: SmartSettings = Field(default_factory=SmartSettings)
    bulk: BulkSettings = Field(default_factory=BulkSettings)

    @field_validator("optional_prefetch", mode="before")
    @classmethod
    def _read_prefetch_keys(cls, value: Any) -> frozenset[str]:
        keys = words(value)
        unknown = [key for key in keys if key not in PREFETCH]
        if unknown:
            raise named([f"CDS_OPTIONAL_PREFETCH: unknown prefetch key {unknown[0]!r} (keys: {', '.join(PREFETCH)})"])
        return frozenset(keys)

    @field_validator("silent_services", mode="before")
    @classmethod
    def _read_silent_services(cls, value: Any) -> frozenset[str]:
        ids = words(value)
        known = [service.id for service in SERVICES]
        if ids == ("all",):
            return frozenset(known)
        unknown = [service_id for service_id in ids if service_id not in known]
        if unknown:
            raise named([f"CDS_SILENT_SERVICES: unknown service {unknown[0]!r} (services: {', '.join(known)}, or all)"])
        return frozenset(ids)

    @field_validator("parameters", mode="before")
    @classmethod
    def _read_interpretations(cls, value: Any) -> Parameters:
        if isinstance(value, Parameters):
            return value
        if not isinstance(value, Mapping):
            raise named([f"CDS_GUIDELINE__<NAME>: must be interpretation settings by name, not {value!r}"])
        try:
            return DEFAULT_PARAMETERS.with_interpretations(value)
        except ValueError as error:
            name, _, why = str(error).partition(": ")
            raise named([f"CDS_GUIDELINE__{name.upper()}: {why}"]) from None

    @model_validator(mode="after")
    def _refuse_unsafe_combinations(self) -> Settings:
        refused = [rule.refusal for rule in RULES if rule.breaks(self)]
        if refused:
            raise named(refused)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read arguments, then the environment, one variable per setting (no ``.env`` or secrets files).

        Not the environment under ``from_config``: a Flask config holds it already, beneath a test's overrides.
        """
        if _READING_CONFIG.get():
            return (init_settings,)
        return init_settings, FlatEnvironment(settings_cls, BLOCKS, groups=["parameters"])

    @classmethod
    def from_environment(cls) -> Settings:
        """Read and check the settings from the ``CDS_*`` environment variables (and ``DATABASE_URL``).

        Raises:
            SettingsError: one line per bad setting or unsafe combination.
        """
        try:
            return cls()
        except ValidationError as error:
            raise _settings_error(error) from None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check a Flask config: keys are the variables without ``CDS_`` (``FHIR_MAX_PAGES``, ``GUIDELINE``).

        A key that is missing or ``None`` takes the default; a variable without the ``CDS_`` prefix
        (``DATABASE_URL``) is read from the environment when the config does not set it. Other keys are ignored.

        Raises:
            SettingsError: one line per bad setting or unsafe combination.
        """
        data: dict[str, Any] = {}
        for variable in VARIABLES:
            value = config.get(variable.config_key)
            for other in variable.names[1:]:
                if value is None and not other.startswith("CDS_"):
                    value = os.environ.get(other)
            if value is not None:
                (data.setdefault(variable.block, {}) if variable.block else data)[variable.key] = value
        reading = _READING_CONFIG.set(True)
        try:
            return cls(**data)
        except ValidationError as error:
            raise _settings_error(error) from None
        finally:
            _READING_CONFIG.reset(reading)

    def today(self) -> date:
        """Return the evaluation date: ``CDS_FIXED_DATE`` if set, else today in the configured time zone."""
        return self.fixed_date or datetime.now(self.tz).date()

    @property
    def latency_budget(self) -> float:
        """``CDS_LATENCY_BUDGET_MS`` in seconds."""
        return self.latency_budget_ms / 1000

    @property
    def json_limits(self) -> JsonLimits:
        """``CDS_MAX_JSON_VALUES`` and ``CDS_MAX_JSON_DEPTH``: what a body, and a call's FHIR answers, may hold."""
        return JsonLimits(max_values=self.max_json_values, max_depth=self.max_json_depth)

    @property
    def resource_limits(self) -> ResourceLimits:
        """``CDS_MAX_BUNDLE_ENTRIES`` and ``CDS_MAX_CALL_RESOURCES``: the resources a call may hold."""
        return ResourceLimits(max_bundle_entries=self.max_bundle_entries, max_call_resources=self.max_call_resources)

    @property
    def fhir_client(self) -> FhirClientSettings:
        """The fallback fetch's limits: the ``ehr`` block's, with entries per search and the JSON limits."""
        return replace(self.ehr.client, max_entries=self.max_bundle_entries, json=self.json_limits)

    @property
    def bulk_client(self) -> BulkClientSettings:
        """The Bulk Data client's limits: the ``bulk`` block's, with the ``ehr`` block's allowlist and timeouts."""
        return self.bulk.client(self.ehr)

    @property
    def audit_hmac_key(self) -> bytes | None:
        """``audit.hmac_key`` as bytes."""
        return None if self.audit.hmac_key is None else self.audit.hmac_key.encode("utf-8")


VARIABLES = variables_of(Settings, BLOCKS)
"""Every variable the settings read, in the order of the model (the top, then each block)."""
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {v.config_key: None if v.names[1:] else written(v.field.default) for v in VARIABLES}
)
"""Every default as a Flask config holds it (``FHIR_MAX_PAGES: 10``): the Field defaults, nothing else. ``None`` for
a variable with other names (``DATABASE_URL``), which the model reads when the config does not set it."""


def _settings_error(error: ValidationError) -> SettingsError:
    return SettingsError("\n".join(error_lines(error, lambda loc: variable_at(loc, VARIABLES))))
