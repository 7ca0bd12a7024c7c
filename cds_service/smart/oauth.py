"""The OAuth2 authorization code flow with PKCE S256, through Authlib.

SMART App Launch 2.x, "EHR Launch": steps "Obtain authorization code" and "Obtain access token".

Authlib's ``OAuth2Session`` (``authlib.integrations.requests_client``, ``code_challenge_method="S256"``) builds the
authorization URL (``response_type=code``, ``client_id``, ``redirect_uri``, ``scope``, ``state``,
``code_challenge``), checks ``state`` on the callback and exchanges the code with the ``code_verifier``. Why Authlib
and not requests-oauthlib or smart-on-fhir's ``fhirclient``: docs/smart-launch.md, "Security choices".

The token response is read within ``CDS_SMART_TIMEOUT_SECONDS`` and ``MAX_ANSWER_BYTES``, then checked
(``TokenGrant``). The access token lives in a ``SecretStr`` for the rest of the request and is never logged,
stored, put in a URL or in a cookie.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from authlib.common.errors import AuthlibBaseError  # type: ignore[import-untyped]
from authlib.integrations.requests_client import OAuth2Session  # type: ignore[import-untyped]
from pydantic import SecretStr

from cds_service.smart.bounded import MAX_ANSWER_BYTES, AnswerTooLargeError, AnswerTooSlowError, read_limited
from cds_service.smart.discovery import PKCE_METHOD, SmartConfiguration
from cds_service.smart.errors import (
    RELAUNCH,
    AuthorizationServerError,
    LaunchContextError,
    LaunchStateError,
    TokenRefusedError,
)
from cds_service.smart.session import LaunchSecrets
from fhir_mappers.references import is_fhir_id

MAX_APP_CONTEXT = 4096
"""Characters of the token response's ``appContext`` kept (the card's is well under 300)."""
REFUSED_GRANT = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})
"""Token endpoint errors that mean "this code (or this client) is not accepted": 401, launch again."""
_USER_TYPES = frozenset({"Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "Person"})


@dataclass(frozen=True)
class SmartClient:
    """This app as registered at the EHR (``CDS_SMART_*``).

    Attributes:
        client_id: the OAuth2 client id.
        client_secret: set for a confidential client (``client_secret_basic``), else ``None`` (public + PKCE).
        redirect_uri: the registered redirect URI (``/evidence/callback``).
        scopes: the scopes asked for, in order.
        timeout: seconds for the token endpoint's whole answer.
    """

    client_id: str
    client_secret: str | None = field(repr=False)
    redirect_uri: str
    scopes: tuple[str, ...]
    timeout: float

    def session(self) -> Any:
        """Return a new Authlib ``OAuth2Session`` for one launch step (PKCE S256; public unless a secret is set)."""
        return OAuth2Session(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none",
            scope=" ".join(self.scopes),
            redirect_uri=self.redirect_uri,
            code_challenge_method=PKCE_METHOD,
        )


@dataclass(frozen=True)
class TokenGrant:
    """What the token response gave the page.

    Attributes:
        access_token: the bearer token (never logged: ``SecretStr``).
        scope: the scopes granted (the requested ones when the response omits ``scope``).
        expires_in: seconds the token lives, when said.
        patient: the FHIR id of the patient in context (SMART launch context ``patient``).
        user: the user as a relative reference (``Practitioner/123``) from the id_token's ``fhirUser``, or ``None``.
        app_context: the card link's ``appContext`` as the EHR passed it on (untrusted, at most ``MAX_APP_CONTEXT``
            characters), or ``None``.
    """

    access_token: SecretStr
    scope: str
    expires_in: int | None
    patient: str
    user: str | None
    app_context: str | None


def authorization_url(
    client: SmartClient, configuration: SmartConfiguration, launch_secrets: LaunchSecrets, *, iss: str, launch: str
) -> str:
    """Return the authorization endpoint URL the browser is sent to (state, PKCE S256 challenge, ``aud``, ``launch``).

    ``aud`` is the FHIR server (SMART 2.x: the resource the token is for); ``launch`` the EHR's opaque handle.
    """
    with client.session() as oauth:
        url, _state = oauth.create_authorization_url(
            configuration.authorization_endpoint,
            state=launch_secrets.state,
            code_verifier=launch_secrets.code_verifier,
            aud=iss,
            launch=launch,
        )
    return str(url)


def exchange_code(
    client: SmartClient, token_endpoint: str, launch_secrets: LaunchSecrets, *, callback: str
) -> TokenGrant:
    """Exchange the callback's code for a token (Authlib checks ``state`` and sends the ``code_verifier``).

    Args:
        client: this app.
        token_endpoint: from the launch's SMART configuration.
        launch_secrets: the launch's state and verifier (from its cookie).
        callback: the callback URL as the browser requested it (its query: ``code`` and ``state``).

    Raises:
        LaunchStateError: no ``code`` or a ``state`` that is not this launch's (400).
        TokenRefusedError: ``invalid_grant`` (used or expired code), ``invalid_client``, ``unauthorized_client`` (401).
        AuthorizationServerError: unreachable, too slow, too large, HTTP 5xx, not JSON, another OAuth2 error (502).
        LaunchContextError: a token response without a usable token or patient (502).
    """
    deadline = time.monotonic() + client.timeout

    def bounded(response: requests.Response) -> requests.Response:
        response._content = read_limited(response, limit=MAX_ANSWER_BYTES, deadline=deadline)  # parsed from here
        return response

    with client.session() as oauth:
        oauth.register_compliance_hook("access_token_response", bounded)
        try:
            token = oauth.fetch_token(
                token_endpoint,
                authorization_response=callback,
                state=launch_secrets.state,
                code_verifier=launch_secrets.code_verifier,
                timeout=client.timeout,
                allow_redirects=False,
                stream=True,
            )
        except AuthlibBaseError as error:
            raise _oauth_error(str(getattr(error, "error", "") or "")) from None
        except (requests.RequestException, AnswerTooSlowError) as error:
            raise _server(f"its token endpoint did not answer in time or failed ({type(error).__name__})") from None
        except AnswerTooLargeError:
            raise _server(f"its token response is larger than {MAX_ANSWER_BYTES} bytes") from None
        except ValueError:
            raise _server("its token response is not a JSON object") from None
    return grant_from(dict(token), client=client)


def grant_from(token: dict[str, Any], *, client: SmartClient) -> TokenGrant:
    """Check a token response and return what the page uses.

    Raises:
        AuthorizationServerError: no access token, or not a Bearer token.
        LaunchContextError: no ``patient``, or not a FHIR id.
    """
    access_token = token.get("access_token")
    if not isinstance(access_token, str) or not access_token or len(access_token) > MAX_ANSWER_BYTES:
        raise _server("its token response has no access token")
    if str(token.get("token_type", "")).lower() != "bearer":
        raise _server("its token response is not a Bearer token")
    patient = token.get("patient")
    if not isinstance(patient, str) or not is_fhir_id(patient):
        raise LaunchContextError(
            "The EHR launched the page without a patient in context (no 'patient' in its token response). "
            "Open the page from a card in a patient's record."
        )
    scope = token.get("scope")
    expires_in = token.get("expires_in")
    return TokenGrant(
        access_token=SecretStr(access_token),
        scope=scope if isinstance(scope, str) and scope else " ".join(client.scopes),
        expires_in=expires_in if isinstance(expires_in, int) and not isinstance(expires_in, bool) else None,
        patient=patient,
        user=_user(token.get("id_token"), client_id=client.client_id),
        app_context=_app_context(token.get("appContext")),
    )


def _user(id_token: Any, *, client_id: str) -> str | None:
    """The ``fhirUser`` claim as a relative reference, or ``None``.

    The id_token came straight from the token endpoint over TLS, so its signature need not be checked to trust
    its issuer (OpenID Connect Core 1.0, 3.1.3.7, item 6); its ``aud`` must still name this client. Only
    ``fhirUser`` is read, and only to fill the page's ``userId``: it decides nothing.
    """
    if not isinstance(id_token, str):
        return None
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    audience = claims.get("aud")
    if client_id not in (audience if isinstance(audience, list) else [audience]):
        return None
    fhir_user = claims.get("fhirUser")
    if not isinstance(fhir_user, str):
        return None
    parts = urlsplit(fhir_user).path.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] not in _USER_TYPES or not is_fhir_id(parts[-1]):
        return None
    return f"{parts[-2]}/{parts[-1]}"


def _app_context(value: Any) -> str | None:
    """``appContext`` as text (SMART: a string; an object is accepted and written as JSON), bounded."""
    if isinstance(value, dict):
        value = json.dumps(value, separators=(",", ":"))
    if not isinstance(value, str) or not value or len(value) > MAX_APP_CONTEXT:
        return None
    return value


def _oauth_error(code: str) -> Exception:
    if code in ("mismatching_state", "missing_code"):
        return LaunchStateError("The sign-in answer does not belong to a launch in this browser. " + RELAUNCH)
    if code in REFUSED_GRANT:
        return TokenRefusedError(
            f"The EHR refused the sign-in code ({code}): it was used already or has expired. " + RELAUNCH
        )
    shown = code if re.fullmatch(r"[a-z_]{1,40}", code) else "an error"
    return _server(f"its token endpoint answered {shown}")


def _server(why: str) -> AuthorizationServerError:
    return AuthorizationServerError(f"The EHR's sign-in service cannot be used: {why}. {RELAUNCH}")
