"""Deployment settings, read once at start-up from the Flask config (environment variables ``CDS_*``).

* ``CDS_TIMEZONE`` (``Europe/Copenhagen``): local dates for dateTimes and for "today".
* ``CDS_LANGUAGE`` (``en``): card language, ``en`` or ``da``; a request may override it with
  ``extension["sid-igrt"]["language"]``.
* ``CDS_GUIDELINE_URL``: link for the Opsummering (default: the Medicinrådet SID page; its slug is UNVERIFIED,
  check it at deployment).
* ``CDS_ADDENDUM_URL``: link for the CAR-T/bsAb addendum (default: the same page, where it is published).
* ``CDS_GUIDELINE_LISTING_URL``: Medicinrådet's guideline listing (verified), the second link on every card.
* ``CDS_PID_GUIDELINE_URL``: Medicinrådet's PID page (verified), linked when a primary immunodeficiency is coded.
* ``CDS_OPTIONAL_PREFETCH`` (``["medicationStatements", "procedures",
  "immunizations"]``): keys the decision may go without.
* ``CDS_GUIDELINE__<NAME>``: interpretation settings of ``guideline/parameters.py``,
  e.g. ``CDS_GUIDELINE__ON_IGRT_RECENT_DAYS=35``. Source-fixed thresholds cannot be set.
* ``CDS_FIXED_DATE`` (unset): evaluate as of this date; for tests and fixture review only.
* ``CDS_MAX_CONTENT_LENGTH`` (10 MiB): larger request bodies are answered 413.
* ``CDS_CORS_ORIGINS`` (none): browser origins allowed; ``*`` only for local trials (refused with
  ``CDS_AUTH=required`` unless ``CDS_TRUST_SANDBOX`` is on).

Client authentication (``cds_service.auth.client_jwt``):

* ``CDS_AUTH`` (``required``): ``required`` or ``off`` (local trials only; said at start-up and in discovery).
* ``CDS_PUBLIC_BASE_URL`` (required with ``CDS_AUTH=required``; unset with auth off: the URL the request arrived
  on): the externally visible base URL, e.g. ``https://cds.example.dk/igrt``; JWT ``aud`` must equal it plus the
  endpoint path. Never derived from the request's ``Host`` when tokens are checked (a caller would choose ``aud``).
* ``CDS_TRUSTED_ISSUERS`` (JSON) and/or ``CDS_TRUSTED_ISSUERS_FILE`` (a JSON file):
  ``{"<iss>": {"jwks_file": "...", "jwks_url": "https://...", "jku": ["https://..."]}}``.
* ``CDS_TRUST_SANDBOX`` (false): trust the CDS Hooks Sandbox issuer (its private key is public: testers only).
* ``CDS_JWT_LEEWAY_SECONDS`` (30), ``CDS_JWT_MAX_LIFETIME_SECONDS`` (3600), ``CDS_JWKS_CACHE_SECONDS`` (3600).

FHIR server fallback (``cds_service.ehr.fhir_client``):

* ``CDS_FHIR_SERVER_ALLOWLIST`` (none: no fallback): FHIR base URLs the service may query.
* ``CDS_FHIR_ALLOW_HTTP`` (false): allow ``http://`` FHIR servers (local testing only).
* ``CDS_FHIR_CONNECT_TIMEOUT`` (1 s), ``CDS_FHIR_READ_TIMEOUT`` (2 s of silence), ``CDS_FHIR_BUDGET_SECONDS``
  (3 s for all fetches of one call, added to the latency budget: time on the EHR's side is not the service's),
  ``CDS_FHIR_MAX_PAGES`` (10 per query), ``CDS_FHIR_MAX_CONCURRENCY`` (8), ``CDS_FHIR_MAX_RESPONSE_BYTES`` (8 MiB per
  answer), ``CDS_FHIR_MAX_CALL_BYTES`` (16 MiB over all answers of one call). Why these defaults: docs/integrating.md,
  "FHIR server fallback".

Serving (``cds_service.serving``, ``cds_service.observability``):

* ``CDS_LATENCY_BUDGET_MS`` (400): the service's own budget for one hook call (CDS Hooks asks for answers "on the
  order of 500 ms"); time waiting on the EHR's FHIR server (at most ``CDS_FHIR_BUDGET_SECONDS``) is added to it, not
  taken from it. Past it the call is answered without the late cards (``{"cards": []}``), logged, counted and
  audited as ``budget-exceeded``.
* ``CDS_LARGE_REQUEST_BYTES`` (1 MiB): hook calls with a larger body (chunked ones counted as read) are
  evaluated one at a time per worker process, so that a worker's memory stays bounded; one that gets no turn
  within the latency budget is answered 503 with ``Retry-After`` (``cds_service.http.large_requests``).
* ``CDS_METRICS_TOKEN`` (unset: ``/metrics`` open, for scraping inside the cluster only): when set, ``/metrics``
  requires ``Authorization: Bearer <token>``.

Storage (``storage``):

* ``DATABASE_URL`` or ``CDS_DATABASE_URL`` (``sqlite:///var/sid-igrt.sqlite3``): PostgreSQL in production.
* ``CDS_AUDIT_HMAC_KEY`` (required with ``CDS_AUTH=required``; at least 32 characters): the secret for the keyed
  hash of patient ids in the audit. Unset with auth off: a random key per process (pseudonyms not linkable).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cds_service.auth.client_jwt import SANDBOX_ISSUER, TrustedIssuer, sandbox_issuer
from cds_service.ehr.fhir_client import FhirClientSettings
from cds_service.observability import log_format, log_level
from cds_service.wire.definitions import PREFETCH
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
    "LANGUAGE": "en",
    "LOG_FORMAT": None,
    "LOG_LEVEL": "INFO",
    "GUIDELINE_URL": SID_GUIDELINE_URL,
    "ADDENDUM_URL": SID_GUIDELINE_URL,
    "GUIDELINE_LISTING_URL": GUIDELINE_LISTING_URL,
    "PID_GUIDELINE_URL": PID_GUIDELINE_URL,
    "OPTIONAL_PREFETCH": ["medicationStatements", "procedures", "immunizations"],
    "GUIDELINE": {},
    "FIXED_DATE": None,
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    "CORS_ORIGINS": [],
    "AUTH": "required",
    "PUBLIC_BASE_URL": None,
    "TRUSTED_ISSUERS": {},
    "TRUSTED_ISSUERS_FILE": None,
    "TRUST_SANDBOX": False,
    "JWT_LEEWAY_SECONDS": 30,
    "JWT_MAX_LIFETIME_SECONDS": 3600,
    "JWKS_CACHE_SECONDS": 3600,
    "FHIR_SERVER_ALLOWLIST": [],
    "FHIR_ALLOW_HTTP": False,
    "FHIR_CONNECT_TIMEOUT": 1.0,
    "FHIR_READ_TIMEOUT": 2.0,
    "FHIR_BUDGET_SECONDS": 3.0,
    "FHIR_MAX_PAGES": 10,
    "FHIR_MAX_CONCURRENCY": 8,
    "FHIR_MAX_RESPONSE_BYTES": 8 * 1024 * 1024,
    "FHIR_MAX_CALL_BYTES": 16 * 1024 * 1024,
    "DATABASE_URL": None,
    "AUDIT_HMAC_KEY": None,
    "LATENCY_BUDGET_MS": 400,
    "LARGE_REQUEST_BYTES": 1024 * 1024,
    "METRICS_TOKEN": None,
}
DEFAULT_DATABASE_URL = "sqlite:///var/sid-igrt.sqlite3"


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
    auth_required: bool = True
    public_base_url: str | None = None
    trusted_issuers: Mapping[str, TrustedIssuer] = field(default_factory=dict)
    jwt_leeway_seconds: int = 30
    jwt_max_lifetime_seconds: int = 3600
    jwks_cache_seconds: int = 3600
    fhir: FhirClientSettings = field(default_factory=FhirClientSettings)
    database_url: str = DEFAULT_DATABASE_URL
    audit_hmac_key: bytes | None = field(default=None, repr=False)
    language: str = "en"
    latency_budget: float = 0.4
    large_request_bytes: int = 1024 * 1024
    metrics_token: str | None = field(default=None, repr=False)

    def today(self) -> date:
        """Return the evaluation date: ``CDS_FIXED_DATE`` if set, else today in the configured time zone."""
        return self.fixed_date or datetime.now(self.tz).date()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Validate the Flask config.

        Raises:
            SettingsError: unknown time zone, bad date, an unknown / source-fixed guideline setting, or an unsafe
                combination (auth required without trusted issuers, HMAC key or public base URL; CORS ``*`` with auth
                required).
        """
        for check in (log_format, log_level):  # read from the environment by the logging set-up itself
            try:
                check()
            except ValueError as error:
                raise SettingsError(str(error)) from error
        try:
            tz = ZoneInfo(str(config["TIMEZONE"]))
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(f"CDS_TIMEZONE: unknown time zone {config['TIMEZONE']!r}") from error
        try:
            parameters = DEFAULT_PARAMETERS.with_interpretations(dict(config.get("GUIDELINE") or {}))
        except ValueError as error:
            name, _, why = str(error).partition(": ")
            raise SettingsError(f"CDS_GUIDELINE__{name.upper()}: {why}") from error
        fixed = config.get("FIXED_DATE")
        try:
            fixed_date = date.fromisoformat(str(fixed)) if fixed else None
        except ValueError as error:
            raise SettingsError(f"CDS_FIXED_DATE: not a date: {fixed!r}") from error
        auth = str(config.get("AUTH") or "required").strip().lower()
        if auth not in ("required", "off"):
            raise SettingsError(f"CDS_AUTH: 'required' or 'off', not {auth!r}")
        trust_sandbox = _as_bool(config.get("TRUST_SANDBOX"), "CDS_TRUST_SANDBOX")
        issuers = _trusted_issuers(config, trust_sandbox=trust_sandbox)
        cors_origins = tuple(_as_list(config.get("CORS_ORIGINS")))
        key = config.get("AUDIT_HMAC_KEY")
        if key is not None and len(str(key)) < 32:
            raise SettingsError("CDS_AUDIT_HMAC_KEY: at least 32 characters")
        if auth == "required":
            if not issuers:
                raise SettingsError(
                    "CDS_AUTH=required but no trusted issuers: set CDS_TRUSTED_ISSUERS or CDS_TRUSTED_ISSUERS_FILE "
                    "(or CDS_TRUST_SANDBOX=true for testers, or CDS_AUTH=off for a local trial)"
                )
            if key is None:
                raise SettingsError("CDS_AUTH=required needs CDS_AUDIT_HMAC_KEY (the audit's patient-id hash key)")
            if "*" in cors_origins and not trust_sandbox:
                raise SettingsError("CDS_CORS_ORIGINS=* is for local trials only (CDS_AUTH=off or CDS_TRUST_SANDBOX)")
            if not config.get("PUBLIC_BASE_URL"):
                # Without it the JWT aud would be built from the caller's Host / X-Forwarded-* headers, so a token
                # minted for another site's URL would be accepted here.
                raise SettingsError(
                    "CDS_AUTH=required needs CDS_PUBLIC_BASE_URL (the URL the EHR calls, e.g. https://cds.example.dk): "
                    "the JWT aud is checked against it, never against the request's Host header"
                )
        database_url = str(config.get("DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
        if trust_sandbox and database_url.startswith(("postgres:", "postgresql:", "postgresql+")):
            # The Sandbox's private key is public: anyone can sign as it. A PostgreSQL database means production.
            raise SettingsError("CDS_TRUST_SANDBOX=true is for testers: refused with a PostgreSQL DATABASE_URL")
        public_base_url = config.get("PUBLIC_BASE_URL") or None
        if public_base_url is not None:
            parts = urlsplit(str(public_base_url))
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
                raise SettingsError(f"CDS_PUBLIC_BASE_URL: not an http(s) base URL: {public_base_url!r}")
            public_base_url = str(public_base_url).rstrip("/")
        fhir = FhirClientSettings(
            allowlist=tuple(_as_list(config.get("FHIR_SERVER_ALLOWLIST"))),
            allow_http=_as_bool(config.get("FHIR_ALLOW_HTTP"), "CDS_FHIR_ALLOW_HTTP"),
            connect_timeout=_positive(config, "FHIR_CONNECT_TIMEOUT", float),
            read_timeout=_positive(config, "FHIR_READ_TIMEOUT", float),
            budget=_positive(config, "FHIR_BUDGET_SECONDS", float),
            max_pages=_positive(config, "FHIR_MAX_PAGES", int),
            max_concurrency=_positive(config, "FHIR_MAX_CONCURRENCY", int),
            max_response_bytes=_positive(config, "FHIR_MAX_RESPONSE_BYTES", int),
            max_call_bytes=_positive(config, "FHIR_MAX_CALL_BYTES", int),
        )
        latency_budget = _positive(config, "LATENCY_BUDGET_MS", int) / 1000
        _positive(config, "MAX_CONTENT_LENGTH", int)  # read by Flask; checked here so a bad value stops the start
        metrics_token = config.get("METRICS_TOKEN") or None
        if metrics_token is not None and len(str(metrics_token)) < 16:
            raise SettingsError("CDS_METRICS_TOKEN: at least 16 characters")
        return cls(
            tz=tz,
            latency_budget=latency_budget,
            large_request_bytes=_positive(config, "LARGE_REQUEST_BYTES", int),
            metrics_token=str(metrics_token) if metrics_token is not None else None,
            language=_language(config.get("LANGUAGE", "en")),
            guideline_url=str(config["GUIDELINE_URL"]),
            addendum_url=str(config["ADDENDUM_URL"]),
            listing_url=str(config["GUIDELINE_LISTING_URL"]),
            pid_guideline_url=str(config["PID_GUIDELINE_URL"]),
            optional_prefetch=_optional_prefetch(config),
            parameters=parameters,
            fixed_date=fixed_date,
            cors_origins=cors_origins,
            auth_required=auth == "required",
            public_base_url=public_base_url,
            trusted_issuers=issuers,
            jwt_leeway_seconds=_positive(config, "JWT_LEEWAY_SECONDS", int),
            jwt_max_lifetime_seconds=_positive(config, "JWT_MAX_LIFETIME_SECONDS", int),
            jwks_cache_seconds=_positive(config, "JWKS_CACHE_SECONDS", int),
            fhir=fhir,
            database_url=database_url,
            audit_hmac_key=str(key).encode("utf-8") if key is not None else None,
        )

    @property
    def trusts_sandbox(self) -> bool:
        """Whether the CDS Hooks Sandbox issuer is trusted (testers only)."""
        return SANDBOX_ISSUER in self.trusted_issuers


def _trusted_issuers(config: Mapping[str, Any], *, trust_sandbox: bool) -> dict[str, TrustedIssuer]:
    entries: dict[str, Any] = {}
    path = config.get("TRUSTED_ISSUERS_FILE")
    if path:
        try:
            entries.update(json.loads(Path(str(path)).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as error:
            raise SettingsError(f"CDS_TRUSTED_ISSUERS_FILE: cannot read {path}: {error}") from error
    inline = config.get("TRUSTED_ISSUERS") or {}
    if isinstance(inline, str):
        try:
            inline = json.loads(inline)
        except ValueError as error:
            raise SettingsError("CDS_TRUSTED_ISSUERS: not JSON") from error
    if not isinstance(inline, Mapping):
        raise SettingsError("CDS_TRUSTED_ISSUERS: a JSON object of issuer -> key sources")
    entries.update(inline)
    issuers: dict[str, TrustedIssuer] = {}
    for iss, entry in entries.items():
        if not isinstance(entry, Mapping):
            raise SettingsError(f"trusted issuer {iss}: an object with jwks_file, jwks_url and/or jku")
        try:
            issuers[str(iss)] = TrustedIssuer.from_config(str(iss), entry)
        except ValueError as error:
            raise SettingsError(str(error)) from error
    if trust_sandbox:
        issuers[SANDBOX_ISSUER] = sandbox_issuer()
    return issuers


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name}: true or false, not {value!r}")


def _positive(config: Mapping[str, Any], name: str, kind: type[int] | type[float]) -> Any:
    what = "a positive whole number" if kind is int else "a positive number"
    try:
        value = kind(config.get(name, DEFAULTS[name]))
    except (TypeError, ValueError) as error:
        raise SettingsError(f"CDS_{name}: must be {what}, not {config.get(name)!r}") from error
    if value <= 0:
        raise SettingsError(f"CDS_{name}: must be positive ({what}), not {config.get(name)!r}")
    return value


def _optional_prefetch(config: Mapping[str, Any]) -> frozenset[str]:
    keys = frozenset(_as_list(config.get("OPTIONAL_PREFETCH")))
    unknown = sorted(keys - set(PREFETCH))
    if unknown:
        raise SettingsError(f"CDS_OPTIONAL_PREFETCH: unknown prefetch key {unknown[0]!r} (keys: {', '.join(PREFETCH)})")
    return keys


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(v) for v in value]


def _language(value: Any) -> str:
    if value not in ("en", "da"):
        raise SettingsError(f"CDS_LANGUAGE: {value!r} is not a supported card language (en, da)")
    return str(value)
