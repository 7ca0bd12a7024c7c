"""The combinations of settings the service refuses to start with, each with the line it prints and why.

``Settings`` checks every rule at once and prints one line per rule broken; ``docs/configuration.md`` lists them
(generated from ``RULES``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cds_service.settings.smart import is_loopback_http

if TYPE_CHECKING:
    from cds_service.settings.model import Settings


@dataclass(frozen=True)
class Rule:
    """A combination of settings the service refuses to start with."""

    refusal: str
    """The line printed: what is refused and what to set instead."""
    why: str
    """Why it is refused (docs/configuration.md)."""
    breaks: Callable[[Settings], bool]
    """Whether these settings break the rule."""


RULES = (
    Rule(
        "CDS_AUTH=required but no trusted issuers: set CDS_TRUSTED_ISSUERS or CDS_TRUSTED_ISSUERS_FILE (or "
        "CDS_TRUST_SANDBOX=true for testers, or CDS_AUTH=off for a local trial)",
        "no caller could ever be authenticated",
        lambda s: s.auth.required and not s.auth.trusted_issuers,
    ),
    Rule(
        "CDS_AUTH=required needs CDS_AUDIT_HMAC_KEY (the audit's patient-id hash key)",
        "a random key per process would leave the audit's pseudonyms unlinkable across processes and restarts",
        lambda s: s.auth.required and s.audit.hmac_key is None,
    ),
    Rule(
        "CDS_CORS_ORIGINS=* is for local trials only (CDS_AUTH=off or CDS_TRUST_SANDBOX)",
        "in production the EHR's own origins are listed; `*` lets any web page's scripts call the service and read "
        "its answers",
        lambda s: s.auth.required and "*" in s.cors_origins and not s.auth.trust_sandbox,
    ),
    Rule(
        "CDS_AUTH=required needs CDS_PUBLIC_BASE_URL (the URL the EHR calls, e.g. https://cds.example.dk): the JWT "
        "aud is checked against it, never against the request's Host header",
        "without it the JWT `aud` would be built from the caller's `Host` / `X-Forwarded-*` headers, so a token "
        "minted for another site's URL would be accepted here",
        lambda s: s.auth.required and s.auth.public_base_url is None,
    ),
    Rule(
        "CDS_TRUST_SANDBOX=true is for testers: refused with a PostgreSQL DATABASE_URL",
        "the Sandbox's private key is public, so anyone can sign as it; a PostgreSQL database means production",
        lambda s: s.auth.trust_sandbox and s.audit.is_postgresql,
    ),
    Rule(
        "CDS_SMART_CLIENT_ID needs CDS_SMART_REDIRECT_URI or CDS_PUBLIC_BASE_URL (the redirect URI registered at "
        "the EHR)",
        "the redirect URI is never built from the request's `Host` header, which the caller chooses",
        lambda s: s.smart.enabled and s.smart.redirect_uri_with(s.auth.public_base_url) is None,
    ),
    Rule(
        "CDS_SMART_CLIENT_ID needs CDS_FHIR_SERVER_ALLOWLIST (the FHIR servers whose launches are accepted)",
        "a launch's `iss` must be on the allowlist: without one every launch would be refused",
        lambda s: s.smart.enabled and not s.ehr.allowlist,
    ),
    Rule(
        "CDS_SMART_COOKIE_SAMESITE=none needs CDS_SMART_COOKIE_SECURE=true",
        "browsers drop a `SameSite=None` cookie that is not `Secure`, so no launch could finish",
        lambda s: s.smart.cookie_same_site == "none" and not s.smart.cookie_secure,
    ),
    Rule(
        "CDS_SMART_COOKIE_SECURE=false is for local trials only: the redirect URI must be http://127.0.0.1 or "
        "http://localhost",
        "the launch cookie would travel unencrypted to any other address",
        lambda s: (
            s.smart.enabled
            and not s.smart.cookie_secure
            and not is_loopback_http(s.smart.redirect_uri_with(s.auth.public_base_url))
        ),
    ),
)
"""The unsafe combinations, in the order their lines are printed."""
