"""Bearer tokens for a Bulk Data export: SMART Backend Services (SMART App Launch 2.x, "Backend Services").

The client authenticates with a signed JWT (``private_key_jwt``; RFC 7523) and the ``client_credentials`` grant:

* **Discovery.** The token endpoint is read from ``[BASE]/.well-known/smart-configuration`` (within the SMART
  timeout and ``MAX_ANSWER_BYTES``, no redirects); it must be https (plain http only for a loopback address or with
  ``CDS_FHIR_ALLOW_HTTP``). A configuration that lists its auth methods, signing algorithms or grant types without
  ``private_key_jwt``, this key's algorithm or ``client_credentials`` is refused, never worked around.
* **The assertion.** Header ``alg`` RS384 (an RSA key of at least 2048 bits) or ES384 (a P-384 key), taken from the
  key itself, ``kid`` (``CDS_BULK_KEY_ID``) and ``typ: JWT``; claims ``iss`` = ``sub`` = the client id, ``aud`` = the
  token endpoint, ``exp`` 4.5 minutes ahead (SMART: at most five), ``iat``, and a random ``jti`` per assertion.
* **The token** is kept until shortly before ``expires_in`` runs out (a tenth of its life, at most a minute) and
  shared by the download threads; ``refresh`` replaces a token the server refused (401) with one new request, however
  many threads saw the 401. The private key is read from its PEM file when the first token is needed, kept in memory
  only, and neither it nor a token is ever logged, repeated in an error or written anywhere.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from cds_service.ehr.bulk.errors import BulkExportError, ErrorKind, printable
from cds_service.smart.bounded import MAX_ANSWER_BYTES, AnswerTooLargeError, AnswerTooSlowError, read_limited

WELL_KNOWN = "/.well-known/smart-configuration"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 270
"""Seconds an assertion is valid (SMART Backend Services: ``exp`` at most five minutes after now; 30 s kept for the
clocks' difference)."""
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class BackendClient:
    """This client as registered at the EHR's authorization server (``CDS_BULK_*``).

    Attributes:
        client_id: the client id (``iss`` and ``sub`` of the assertion).
        key_file: the private key, PEM (PKCS#8 or traditional), not encrypted.
        key_id: the ``kid`` of the key in the JWK Set registered with the EHR.
        scopes: the scopes asked for, space-separated (``system/Patient.rs ...``).
        timeout: seconds for the SMART configuration's and the token endpoint's whole answer, each.
        allow_http: accept a plain-http token endpoint (``CDS_FHIR_ALLOW_HTTP``; loopback always may).
    """

    client_id: str
    key_file: Path
    key_id: str
    scopes: str
    timeout: float = 5.0
    allow_http: bool = False


@dataclass(frozen=True)
class SigningKey:
    """A loaded private key and the algorithm it signs with (``RS384`` or ``ES384``)."""

    key: Any = field(repr=False)
    alg: str


def load_signing_key(path: Path) -> SigningKey:
    """Read a PEM private key and choose its algorithm: RSA (>= 2048 bits) -> RS384, EC P-384 -> ES384.

    Raises:
        BulkExportError: unreadable, not a PEM private key, encrypted, or another kind or size of key (``auth``).
    """
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as error:
        raise BulkExportError(f"CDS_BULK_PRIVATE_KEY_FILE: cannot read {path} ({error.strerror})", "auth") from None
    except (ValueError, TypeError):
        raise BulkExportError(
            f"CDS_BULK_PRIVATE_KEY_FILE: {path} is not an unencrypted PEM private key", "auth"
        ) from None
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        return SigningKey(key, "RS384")
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP384R1):
        return SigningKey(key, "ES384")
    raise BulkExportError(
        f"CDS_BULK_PRIVATE_KEY_FILE: {path} must be an RSA key of at least 2048 bits (RS384) or an EC P-384 key "
        "(ES384)",
        "auth",
    )


def client_assertion(client: BackendClient, key: SigningKey, token_endpoint: str, *, now: float | None = None) -> str:
    """Return a signed assertion for one token request (a new ``jti`` each time)."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": token_endpoint,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME,
        "jti": secrets.token_urlsafe(24),
    }
    return jwt.encode(claims, key.key, algorithm=key.alg, headers={"kid": client.key_id, "typ": "JWT"})


class BackendAuth:
    """Tokens for one FHIR server, fetched when first needed and kept until shortly before they expire."""

    def __init__(self, client: BackendClient, *, base: str, session: requests.Session | None = None) -> None:
        """Nothing is fetched or read yet (the first ``token()`` does that)."""
        self.client = client
        self.base = base.rstrip("/")
        self.session = session or requests.Session()
        self.requests = 0
        """Token requests made (for the command's summary and the tests)."""
        self._lock = threading.Lock()
        self._key: SigningKey | None = None
        self._endpoint: str | None = None
        self._token: str | None = None
        self._good_until = 0.0

    def __repr__(self) -> str:
        return f"BackendAuth(client_id={self.client.client_id!r}, base={self.base!r})"

    def token(self) -> str:
        """The current token, or a new one when it is about to expire.

        Raises:
            BulkExportError: the key, the SMART configuration or the token endpoint failed (``auth`` or ``server``).
        """
        with self._lock:
            if self._token is None or time.monotonic() >= self._good_until:
                self._fetch()
            assert self._token is not None
            return self._token

    def refresh(self, stale: str) -> str:
        """A new token in place of ``stale``; if another thread replaced it already, that one.

        Raises:
            BulkExportError: as ``token``.
        """
        with self._lock:
            if self._token is None or self._token == stale:
                self._fetch()
            assert self._token is not None
            return self._token

    def _fetch(self) -> None:
        if self._key is None:
            self._key = load_signing_key(self.client.key_file)
        if self._endpoint is None:
            self._endpoint = self._discover(self._key.alg)
        assertion = client_assertion(self.client, self._key, self._endpoint)
        form = {
            "grant_type": "client_credentials",
            "scope": self.client.scopes,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        self.requests += 1
        body, status = self._call("POST", self._endpoint, form, "the token endpoint")
        if status != 200:
            error = body.get("error") if isinstance(body, dict) else None
            said = printable(str(error), 60) if isinstance(error, str) else f"HTTP {status}"
            kind: ErrorKind = "auth" if status in (400, 401, 403) else "server"
            raise BulkExportError(f"the token endpoint refused the client ({said})", kind)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token or len(token) > MAX_ANSWER_BYTES:
            raise BulkExportError("the token endpoint's answer has no access token", "auth")
        if str(body.get("token_type", "")).lower() != "bearer":
            raise BulkExportError("the token endpoint's answer is not a Bearer token", "auth")
        expires_in = body.get("expires_in")
        life = float(expires_in) if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) else 300.0
        self._token = token
        self._good_until = time.monotonic() + max(life - min(60.0, life / 10), 0.0)

    def _discover(self, alg: str) -> str:
        document, status = self._call("GET", self.base + WELL_KNOWN, None, "the SMART configuration")
        if status != 200 or not isinstance(document, dict):
            raise BulkExportError(
                f"the SMART configuration ({WELL_KNOWN}) answered HTTP {status}, not a JSON object", "auth"
            )
        endpoint = document.get("token_endpoint")
        if not isinstance(endpoint, str) or not self._usable(endpoint):
            raise BulkExportError("the SMART configuration has no usable https token_endpoint", "auth")
        wanted = {
            "token_endpoint_auth_methods_supported": "private_key_jwt",
            "token_endpoint_auth_signing_alg_values_supported": alg,
            "grant_types_supported": "client_credentials",
        }
        for name, value in wanted.items():
            offered = document.get(name)
            if isinstance(offered, list) and value not in offered:
                raise BulkExportError(f"the SMART configuration's {name} does not list {value}", "auth")
        return endpoint

    def _usable(self, url: str) -> bool:
        parts = urlsplit(url)
        http_ok = self.client.allow_http or (parts.hostname or "") in LOOPBACK
        return (parts.scheme == "https" or (parts.scheme == "http" and http_ok)) and bool(parts.hostname)

    def _call(self, method: str, url: str, form: dict[str, str] | None, what: str) -> tuple[Any, int]:
        deadline = time.monotonic() + self.client.timeout
        try:
            with self.session.request(
                method,
                url,
                data=form,
                headers={"Accept": "application/json"},
                timeout=self.client.timeout,
                allow_redirects=False,
                stream=True,
            ) as response:
                raw = read_limited(response, limit=MAX_ANSWER_BYTES, deadline=deadline)
                status = response.status_code
        except (requests.RequestException, AnswerTooSlowError) as error:
            raise BulkExportError(f"{what} could not be read in time ({type(error).__name__})", "server") from None
        except AnswerTooLargeError:
            raise BulkExportError(f"{what}'s answer is larger than {MAX_ANSWER_BYTES} bytes", "server") from None
        try:
            return (json.loads(raw) if raw.strip() else None), status
        except (ValueError, RecursionError):
            return None, status
