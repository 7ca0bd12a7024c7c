"""The settings of one room each: client authentication (``auth``), the FHIR fallback fetch (``ehr``), the audit.

Every field is read from its own flat variable, as before the blocks existed: a field named like its variable
(``public_base_url``: ``CDS_PUBLIC_BASE_URL``) needs nothing more; another names its variable as its alias
(``max_pages``: ``CDS_FHIR_MAX_PAGES``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

from cds_service.auth.client_jwt import SANDBOX_ISSUER, TrustedIssuer, sandbox_issuer
from cds_service.ehr.fhir_client import FhirClientSettings
from cds_service.settings.values import (
    BaseUrl,
    BaseUrls,
    File,
    Flag,
    JsonObject,
    Kind,
    PositiveNumber,
    PositiveWhole,
    choices,
    named,
    one_of,
    secret,
)

BLOCK_CONFIG = ConfigDict(frozen=True, extra="forbid", validate_default=True)
AUTH_MODES = ("required", "off")
DEFAULT_DATABASE_URL = "sqlite:///var/sid-igrt.sqlite3"
MiB = 1024 * 1024


class AuthSettings(BaseModel):
    """Client authentication.

    Read by ``cds_service.auth``: the signed JWT on every call, who may sign it (the trusted issuers), what its
    ``aud`` must be, and how long keys are kept.
    """

    model_config = BLOCK_CONFIG

    mode: Annotated[str, one_of(AUTH_MODES, unset=True, empty="required"), Kind(choices(AUTH_MODES))] = Field(
        "required",
        validation_alias="CDS_AUTH",
        description="`off` trusts any caller: local trials only (said at start-up, in the log and in discovery "
        "`usageRequirements`)",
        json_schema_extra={"shown": "`required` (`off` under `make serve`)"},
    )
    public_base_url: BaseUrl = Field(
        None,
        description="the externally visible base URL; the JWT `aud` must equal it plus the endpoint path (never "
        "taken from the request's `Host`, or a caller would choose `aud`). Unset with auth off: the URL the request "
        "arrived on",
    )
    issuers_file: File = Field(
        None,
        validation_alias="CDS_TRUSTED_ISSUERS_FILE",
        description='trusted client issuers, a JSON file: `{"<iss>": {"jwks_file": "...", "jwks_url": '
        '"https://...", "jku": ["https://..."]}}`',
    )
    issuers_json: JsonObject = Field(
        {},
        validation_alias="CDS_TRUSTED_ISSUERS",
        description="the same JSON inline (added to the file's; an issuer in both: this one)",
        json_schema_extra={"shown": "none"},
    )
    trust_sandbox: Flag = Field(
        False,
        description="trust the CDS Hooks Sandbox issuer (bundled public key, `jku` allowlisted). Its private key "
        "is public: testers only",
    )
    jwt_leeway_seconds: PositiveWhole = Field(30, description="clock skew allowed on `exp` and `iat`, seconds")
    jwt_max_lifetime_seconds: PositiveWhole = Field(3600, description="the longest `exp - iat` accepted, seconds")
    jwks_cache_seconds: PositiveWhole = Field(3600, description="how long a fetched JWK Set is used, seconds")

    _issuers: dict[str, TrustedIssuer] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _read_issuers(self) -> AuthSettings:
        """Read the trusted issuers now (their JWKS files too), so that a bad one stops the start."""
        issuers: dict[str, TrustedIssuer] = {}
        problems: list[str] = []
        for variable, iss, entry in self._issuer_entries(problems):
            if not isinstance(entry, Mapping):
                problems.append(f"{variable}: issuer {iss}: must be an object with jwks_file, jwks_url and/or jku")
                continue
            try:
                issuers[iss] = TrustedIssuer.from_config(iss, entry)
            except ValueError as error:
                problems.append(f"{variable}: {error}")
        if problems:
            raise named(problems)
        if self.trust_sandbox:
            issuers[SANDBOX_ISSUER] = sandbox_issuer()
        self._issuers = issuers
        return self

    def _issuer_entries(self, problems: list[str]) -> Iterator[tuple[str, str, Any]]:
        entries: dict[str, tuple[str, Any]] = {}
        if self.issuers_file is not None:
            variable = "CDS_TRUSTED_ISSUERS_FILE"
            try:
                found = json.loads(self.issuers_file.read_text(encoding="utf-8"))
                if not isinstance(found, Mapping):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as error:
                problems.append(f"{variable}: cannot read {self.issuers_file}: {error}")
            else:
                entries.update({str(iss): (variable, entry) for iss, entry in found.items()})
        entries.update({iss: ("CDS_TRUSTED_ISSUERS", entry) for iss, entry in self.issuers_json.items()})
        for iss, (variable, entry) in entries.items():
            yield variable, iss, entry

    @property
    def required(self) -> bool:
        """Whether calls need a signed client JWT (``CDS_AUTH=required``)."""
        return self.mode == "required"

    @property
    def trusted_issuers(self) -> Mapping[str, TrustedIssuer]:
        """Every trusted issuer: the file's, the inline ones, and the Sandbox when trusted."""
        return self._issuers

    @property
    def trusts_sandbox(self) -> bool:
        """Whether the CDS Hooks Sandbox issuer is trusted (testers only)."""
        return SANDBOX_ISSUER in self._issuers


class EhrSettings(BaseModel):
    """FHIR server fallback.

    Read by ``cds_service.ehr``: what the service may fetch from the EHR's FHIR server when the prefetch is missing,
    for how long and how much. Why these defaults: [integrating.md](integrating.md), "FHIR server fallback".
    """

    model_config = BLOCK_CONFIG

    allowlist: BaseUrls = Field(
        (),
        validation_alias="CDS_FHIR_SERVER_ALLOWLIST",
        description="FHIR base URLs the service may fetch from (`fhirServer` must equal one or lie under it)",
        json_schema_extra={"shown": "none (no fallback: missing prefetch is answered 412)"},
    )
    allow_http: Flag = Field(
        False, validation_alias="CDS_FHIR_ALLOW_HTTP", description="allow `http://` FHIR servers (local testing only)"
    )
    connect_timeout: PositiveNumber = Field(
        1.0, validation_alias="CDS_FHIR_CONNECT_TIMEOUT", description="seconds to connect, per request"
    )
    read_timeout: PositiveNumber = Field(
        2.0, validation_alias="CDS_FHIR_READ_TIMEOUT", description="the longest silence while reading, seconds"
    )
    budget: PositiveNumber = Field(
        3.0,
        validation_alias="CDS_FHIR_BUDGET_SECONDS",
        description="seconds one call may wait on the EHR for all its fetches together; added to the latency "
        "budget, not taken from it (time on the EHR's side is not the service's)",
    )
    max_pages: PositiveWhole = Field(10, validation_alias="CDS_FHIR_MAX_PAGES", description="pages per query")
    max_concurrency: PositiveWhole = Field(
        8, validation_alias="CDS_FHIR_MAX_CONCURRENCY", description="parallel requests per worker process"
    )
    max_response_bytes: PositiveWhole = Field(
        8 * MiB, validation_alias="CDS_FHIR_MAX_RESPONSE_BYTES", description="the largest FHIR answer, bytes"
    )
    max_call_bytes: PositiveWhole = Field(
        16 * MiB,
        validation_alias="CDS_FHIR_MAX_CALL_BYTES",
        description="all answers of one hook call together, bytes",
    )

    @property
    def client(self) -> FhirClientSettings:
        """The FHIR client's limits."""
        return FhirClientSettings(**self.model_dump())


def _database_url(value: Any) -> str:
    return DEFAULT_DATABASE_URL if value is None or not str(value).strip() else str(value).strip()


class AuditSettings(BaseModel):
    """Audit.

    Read by ``cds_service.audit`` and ``storage``: where every decision and feedback item is recorded, and the key
    of the patient ids' keyed hash.
    """

    model_config = BLOCK_CONFIG

    database_url: Annotated[str, BeforeValidator(_database_url), Kind("a database URL")] = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("CDS_DATABASE_URL", "DATABASE_URL"),
        description="the audit database; PostgreSQL in production (`postgresql://...`)",
    )
    hmac_key: Annotated[str | None, secret(32), Kind("at least 32 characters")] = Field(
        None,
        validation_alias="CDS_AUDIT_HMAC_KEY",
        repr=False,
        description="the secret for the keyed hash of patient ids in the audit; required with `CDS_AUTH=required`. "
        "Unset with auth off: a random key per process (pseudonyms not linkable)",
    )

    @property
    def is_postgresql(self) -> bool:
        """Whether the audit is in PostgreSQL (production)."""
        return self.database_url.startswith(("postgres:", "postgresql:", "postgresql+"))
