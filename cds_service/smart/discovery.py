"""The EHR's SMART configuration, ``{iss}/.well-known/smart-configuration``.

SMART App Launch 2.x, "Discovery of Server Capabilities and Configuration".

Read once per launch, within ``CDS_SMART_TIMEOUT_SECONDS`` and ``MAX_ANSWER_BYTES``, without following redirects.
The app needs the authorization and token endpoints and PKCE ``S256`` in ``code_challenge_methods_supported``
(SMART 2.x requires servers to support it); a configuration without ``S256`` is refused, never worked around.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from cds_service.smart.bounded import MAX_ANSWER_BYTES, AnswerTooLargeError, AnswerTooSlowError, read_limited
from cds_service.smart.errors import RELAUNCH, AuthorizationServerError

WELL_KNOWN = "/.well-known/smart-configuration"
PKCE_METHOD = "S256"


@dataclass(frozen=True)
class SmartConfiguration:
    """The parts of a SMART configuration the launch uses.

    Attributes:
        authorization_endpoint: where the browser is sent to authorize (absolute https URL, or http when
            ``CDS_FHIR_ALLOW_HTTP``).
        token_endpoint: where the code is exchanged (same rules).
        code_challenge_methods: ``code_challenge_methods_supported``; always contains ``S256`` here.
    """

    authorization_endpoint: str
    token_endpoint: str
    code_challenge_methods: tuple[str, ...]


def discover(iss: str, *, session: requests.Session, timeout: float, allow_http: bool) -> SmartConfiguration:
    """Fetch and check ``{iss}/.well-known/smart-configuration``.

    Args:
        iss: the FHIR base URL (already checked against the allowlist).
        session: the HTTP session (pooled per process).
        timeout: seconds for the whole answer (connect, wait and read together).
        allow_http: accept ``http://`` endpoints (``CDS_FHIR_ALLOW_HTTP``, local testing only).

    Raises:
        AuthorizationServerError: unreachable, not 200, too slow, larger than ``MAX_ANSWER_BYTES``, not a JSON
            object, an endpoint missing or not an absolute http(s) URL, or no ``S256`` PKCE.
    """
    deadline = time.monotonic() + timeout
    url = iss.rstrip("/") + WELL_KNOWN
    try:
        with session.get(
            url, headers={"Accept": "application/json"}, timeout=timeout, allow_redirects=False, stream=True
        ) as response:
            if response.status_code != 200:
                raise _refused(f"its SMART configuration answered HTTP {response.status_code}")
            raw = read_limited(response, limit=MAX_ANSWER_BYTES, deadline=deadline)
    except (requests.RequestException, AnswerTooSlowError) as error:
        raise _refused(f"its SMART configuration could not be read in time ({type(error).__name__})") from error
    except AnswerTooLargeError as error:
        raise _refused(f"its SMART configuration is larger than {MAX_ANSWER_BYTES} bytes") from error
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise _refused("its SMART configuration is not JSON") from error
    if not isinstance(document, dict):
        raise _refused("its SMART configuration is not a JSON object")
    return _configuration(document, allow_http=allow_http)


def _configuration(document: dict[str, Any], *, allow_http: bool) -> SmartConfiguration:
    methods = document.get("code_challenge_methods_supported")
    if not isinstance(methods, list) or PKCE_METHOD not in methods:
        raise _refused("it does not offer PKCE S256 (code_challenge_methods_supported), which this app requires")
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint"):
        value = document.get(name)
        if not isinstance(value, str) or not _absolute(value, allow_http=allow_http):
            raise _refused(f"its SMART configuration has no usable {name}")
        endpoints[name] = value
    return SmartConfiguration(
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        code_challenge_methods=tuple(str(m) for m in methods),
    )


def _absolute(url: str, *, allow_http: bool) -> bool:
    if len(url) > 2048:
        return False
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    return parts.scheme in schemes and bool(parts.hostname) and not parts.fragment


def _refused(why: str) -> AuthorizationServerError:
    return AuthorizationServerError(f"The EHR's sign-in service cannot be used: {why}. {RELAUNCH}")
