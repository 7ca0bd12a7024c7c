"""The ``smart`` block: the evidence page as a SMART on FHIR app (SMART App Launch 2.x, "EHR Launch").

Read by ``cds_service.smart`` and ``cds_service.http.smart_launch``. The app is off until ``CDS_SMART_CLIENT_ID`` is
set; the settings that only make sense together (redirect URI, cookie flags, allowlist) are checked as combinations
in ``cds_service.settings.rules``. How an EHR registers the app: docs/smart-launch.md.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_settings import NoDecode

from cds_service.settings.values import Flag, Kind, PositiveNumber, choices, one_of, refuse, secret

SAME_SITE = ("lax", "none")
"""``SameSite`` values the launch cookie may take. ``Strict`` is not offered: the authorization server's redirect
back to ``/evidence/callback`` is a cross-site navigation, on which a ``Strict`` cookie is not sent."""
CALLBACK_PATH = "/evidence/callback"
"""Where the authorization server sends the browser back (``cds_service.http.smart_launch``)."""
MAX_SESSION_SECONDS = 3600
"""The longest a launch may wait for its callback (the clinician logging in at the EHR's authorization server)."""

_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,200}$")
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,200}$")  # RFC 6749 3.3 scope-token
_SOURCE = re.compile(
    r"^(?:'self'|'none'|[a-z][a-z0-9+.-]*:|(?:[a-z][a-z0-9+.-]*://)?(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*"
    r"(?::(?:\d{1,5}|\*))?(?:/[^\s;,']*)?)$",
    re.IGNORECASE,
)  # CSP Level 3 source expressions a frame-ancestors list may hold (no keywords but 'self' and 'none')

CLIENT_ID = "printable ASCII without spaces, at most 200 characters"
REDIRECT_URI = "an http(s) URL without fragment, e.g. https://cds.example.dk/evidence/callback"
SCOPES = "SMART scopes separated by spaces or commas, including launch"
SOURCES = "CSP frame-ancestors sources separated by spaces, e.g. 'self' https://ehr.example.dk"
SESSION = f"a whole number of seconds from 1 to {MAX_SESSION_SECONDS}"


def _client_id(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()  # Flask reads an all-digit id as a number
    if not _CLIENT_ID.match(text):
        raise refuse(CLIENT_ID, value)
    return text


def _redirect_uri(value: Any) -> str | None:
    """Kept exactly as written (the authorization server compares it character by character)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment or len(text) > 2000:
        raise refuse(REDIRECT_URI, value)
    return text


def _scopes(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return ()
    if isinstance(value, list | tuple):
        if not value:
            return ()
        found = [str(v) for v in value]
    elif isinstance(value, str):
        found = value.replace(",", " ").split()
    else:
        raise refuse(SCOPES, value)
    if not all(_SCOPE_TOKEN.match(scope) for scope in found) or "launch" not in found:
        raise refuse(SCOPES, value)
    return tuple(dict.fromkeys(found))


def _sources(value: Any) -> tuple[str, ...]:
    text = " ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value or "")
    found = tuple(text.split())
    if not found or not all(_SOURCE.match(source) for source in found):
        raise refuse(SOURCES, value)
    if "'none'" in (s.lower() for s in found) and len(found) > 1:
        raise refuse(SOURCES + " ('none' alone)", value)
    return found


def _session_seconds(value: Any) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else 0
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_SESSION_SECONDS:
        raise refuse(SESSION, value)
    return number


ClientId = Annotated[str | None, BeforeValidator(_client_id), Kind(CLIENT_ID)]
RedirectUri = Annotated[str | None, BeforeValidator(_redirect_uri), Kind(REDIRECT_URI)]
Scopes = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_scopes), Kind(SCOPES)]
Sources = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_sources), Kind(SOURCES)]
SessionSeconds = Annotated[int, BeforeValidator(_session_seconds), Kind(SESSION)]


class SmartSettings(BaseModel):
    """SMART on FHIR evidence page.

    Read by `cds_service.smart` and `cds_service.http.smart_launch`: the EHR launch of the evidence page (the card's
    "Evidence and timeline" link), off until `CDS_SMART_CLIENT_ID` is set. See [smart-launch.md](smart-launch.md).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    client_id: ClientId = Field(
        None,
        validation_alias="CDS_SMART_CLIENT_ID",
        description="the app's OAuth2 `client_id` at the EHR's authorization server; unset: the app is off and "
        "`/evidence/launch` says so (404)",
    )
    client_secret: Annotated[str | None, secret(16), Kind("at least 16 characters")] = Field(
        None,
        validation_alias="CDS_SMART_CLIENT_SECRET",
        repr=False,
        description="set only if the EHR registered the app as a confidential client (`client_secret_basic`); "
        "unset: a public client, protected by PKCE S256",
    )
    redirect_uri: RedirectUri = Field(
        None,
        validation_alias="CDS_SMART_REDIRECT_URI",
        description="the redirect URI registered at the EHR (never built from the request's `Host`)",
        json_schema_extra={"shown": "`CDS_PUBLIC_BASE_URL` + `/evidence/callback`"},
    )
    scopes: Scopes = Field(
        (),
        validation_alias="CDS_SMART_SCOPES",
        description="the scopes asked for; unset: `launch openid fhirUser` and `patient/<Type>.rs` for each resource "
        "type the prefetch templates read (the narrowest that let the page read what the card reads)",
        json_schema_extra={"shown": "derived from the prefetch templates"},
    )
    cookie_same_site: Annotated[str, one_of(SAME_SITE, unset=True, empty="lax"), Kind(choices(SAME_SITE))] = Field(
        "lax",
        validation_alias="CDS_SMART_COOKIE_SAMESITE",
        description="`SameSite` of the launch cookie: `lax` when the EHR opens the app in a window or tab; `none` "
        "(then also `Partitioned`) when it embeds the app in an iframe of another site",
    )
    cookie_secure: Flag = Field(
        True,
        validation_alias="CDS_SMART_COOKIE_SECURE",
        description="mark the launch cookie `Secure` (https only); `false` only for a plain-http loopback "
        "redirect URI (local trials)",
    )
    frame_ancestors: Sources = Field(
        ("'self'",),
        validation_alias="CDS_SMART_FRAME_ANCESTORS",
        description="who may frame the pages (CSP `frame-ancestors`): the EHR's origins when it embeds the app",
        json_schema_extra={"shown": "`'self'`"},
    )
    session_seconds: SessionSeconds = Field(
        600,
        validation_alias="CDS_SMART_SESSION_SECONDS",
        description="how long a launch waits for the authorization server's redirect back, seconds",
    )
    timeout_seconds: PositiveNumber = Field(
        5.0,
        validation_alias="CDS_SMART_TIMEOUT_SECONDS",
        description="the longest wait for the EHR's SMART configuration and for its token endpoint, seconds, each",
    )

    @property
    def enabled(self) -> bool:
        """Whether the SMART app is on (a client id is set)."""
        return self.client_id is not None

    def redirect_uri_with(self, public_base_url: str | None) -> str | None:
        """Return the redirect URI: ``CDS_SMART_REDIRECT_URI``, else ``public_base_url`` + ``/evidence/callback``.

        ``None`` when neither is set (refused at start-up while the app is on: ``cds_service.settings.rules``).
        """
        if self.redirect_uri is not None:
            return self.redirect_uri
        return None if public_base_url is None else public_base_url + CALLBACK_PATH


def is_loopback_http(url: str | None) -> bool:
    """Whether ``url`` is a plain-http URL on the loopback interface (``127.0.0.1``, ``localhost``, ``::1``)."""
    if url is None:
        return False
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")
