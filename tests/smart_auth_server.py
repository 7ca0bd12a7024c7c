"""A SMART on FHIR authorization server stand-in for tests, and the FHIR server stand-in with its discovery document.

What a real EHR's authorization server does for an EHR launch (SMART App Launch 2.x), and no more:

* ``GET /authorize``: checks ``response_type=code``, the registered ``client_id`` and exact ``redirect_uri`` (a
  mismatch is a 400 page, never a redirect: RFC 6749 4.1.2.1), a ``state``, PKCE ``S256`` with a 43-character
  challenge, ``aud`` = the FHIR base, a known ``launch`` handle, and SMART v2 scopes it grants (``launch`` among
  them); then redirects to ``redirect_uri`` with a fresh single-use ``code`` and the ``state``, or with
  ``error=...`` (``invalid_request``, ``invalid_scope``, or ``access_denied`` when told to deny).
* ``POST /token``: checks the grant type, the client (public: ``client_id`` in the body; confidential: HTTP Basic),
  that the code exists, is unused and unexpired, was issued for this client and ``redirect_uri``, and that
  ``S256(code_verifier)`` equals the challenge; a code used twice is refused (``invalid_grant``). Answers the token
  response of an EHR launch: ``access_token``, ``token_type``, ``expires_in``, ``scope``, ``patient``, an
  ``id_token`` with ``fhirUser`` (when ``openid fhirUser`` was granted) and the launch's ``appContext``.

Faults a test switches on: ``deny`` (access_denied), ``token_down`` (HTTP 503 HTML), ``token_error`` (an OAuth2
error), ``token_delay`` (seconds before answering), ``omit_patient``, ``code_lifetime`` (0: every code has expired),
``pkce_methods`` and ``configuration_override`` (the discovery document).

``running_smart_fhir_server`` serves ``tests.fhir_server``'s store (bearer token checked) plus
``/.well-known/smart-configuration`` pointing at this authorization server (no token needed, as SMART requires).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from flask import Flask, Response, request
from werkzeug.serving import make_server

from tests.fhir_server import FhirStore, _handler, serving

V2_SCOPE = re.compile(r"^patient/[A-Z][A-Za-z]+\.(?:c?r?u?d?s?)$")
GRANTABLE = frozenset({"launch", "openid", "fhirUser", "online_access"})


@dataclass
class IssuedCode:
    client_id: str
    redirect_uri: str
    challenge: str
    launch: str
    scope: str
    expires: float
    used: bool = False


@dataclass
class LaunchContext:
    patient: str
    app_context: str | None = None
    fhir_user: str | None = None


@dataclass
class AuthServer:
    """The stand-in's registrations, issued codes and fault switches (one per test module; reset per test)."""

    client_id: str
    redirect_uri: str
    fhir_base: str = ""
    base: str = ""
    client_secret: str | None = None
    access_token: str = field(default_factory=lambda: "at-" + secrets.token_urlsafe(24))
    pkce_methods: list[str] = field(default_factory=lambda: ["S256"])
    launches: dict[str, LaunchContext] = field(default_factory=dict)
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    token_bodies: list[dict[str, str]] = field(default_factory=list)
    deny: bool = False
    token_down: bool = False
    token_error: str | None = None
    token_delay: float = 0.0
    omit_patient: bool = False
    code_lifetime: float = 60.0
    configuration_override: bytes | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.deny = self.token_down = self.omit_patient = False
        self.token_error = None
        self.token_delay = 0.0
        self.code_lifetime = 60.0
        self.pkce_methods = ["S256"]
        self.configuration_override = None
        self.seen.clear()
        self.token_bodies.clear()

    def register_launch(self, patient: str, *, app_context: str | None = None, fhir_user: str | None = None) -> str:
        """What the EHR does before it opens the app: an opaque ``launch`` handle bound to the patient in context."""
        handle = secrets.token_urlsafe(12)
        self.launches[handle] = LaunchContext(patient, app_context, fhir_user)
        return handle

    def configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.base,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
            "grant_types_supported": ["authorization_code"],
            "scopes_supported": ["launch", "openid", "fhirUser", "patient/*.rs"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": self.pkce_methods,
            "capabilities": [
                "launch-ehr",
                "client-public",
                "context-ehr-patient",
                "permission-v2",
                "sso-openid-connect",
            ],
        }


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def _oauth_error(error: str, status: int = 400) -> Response:
    return Response(json.dumps({"error": error}), status=status, mimetype="application/json")


def auth_app(server: AuthServer) -> Flask:
    app = Flask("smart_auth_server")

    @app.before_request
    def _record() -> None:
        with server.lock:
            server.seen.append(request.full_path)

    @app.get("/authorize")
    def authorize() -> Response:
        args = request.args
        if args.get("client_id") != server.client_id or args.get("redirect_uri") != server.redirect_uri:
            return Response("unknown client or redirect_uri", status=400, mimetype="text/plain")
        state = args.get("state", "")

        def back(**params: str) -> Response:
            return Response(
                status=302, headers={"Location": f"{server.redirect_uri}?{urlencode({**params, 'state': state})}"}
            )

        challenge = args.get("code_challenge", "")
        if (
            args.get("response_type") != "code"
            or not state
            or args.get("code_challenge_method") != "S256"
            or not re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge)
            or args.get("aud") != server.fhir_base
            or args.get("launch") not in server.launches
        ):
            return back(error="invalid_request")
        scopes = args.get("scope", "").split()
        if "launch" not in scopes or not all(s in GRANTABLE or V2_SCOPE.match(s) for s in scopes):
            return back(error="invalid_scope")
        if server.deny:
            return back(error="access_denied")
        code = secrets.token_urlsafe(24)
        with server.lock:
            server.codes[code] = IssuedCode(
                server.client_id,
                server.redirect_uri,
                challenge,
                args["launch"],
                " ".join(scopes),
                time.monotonic() + server.code_lifetime,
            )
        return back(code=code)

    @app.post("/token")
    def token() -> Response:
        form = request.form.to_dict()
        with server.lock:
            server.token_bodies.append(form)  # recorded on arrival: a late answer cannot touch a later test
        if server.token_delay:
            time.sleep(server.token_delay)
        if server.token_down:
            return Response("<html><body>503 Service Unavailable</body></html>", status=503, mimetype="text/html")
        if server.client_secret is not None:
            auth = request.authorization
            if auth is None or (auth.username, auth.password) != (server.client_id, server.client_secret):
                return _oauth_error("invalid_client", 401)
        elif form.get("client_id") != server.client_id:
            return _oauth_error("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type")
        with server.lock:
            issued = server.codes.get(form.get("code", ""))
            if issued is None or issued.used or issued.expires <= time.monotonic():
                return _oauth_error("invalid_grant")
            issued.used = True
        if issued.redirect_uri != form.get("redirect_uri") or issued.client_id != server.client_id:
            return _oauth_error("invalid_grant")
        if _s256(form.get("code_verifier", "")) != issued.challenge:
            return _oauth_error("invalid_grant")
        if server.token_error:
            return _oauth_error(server.token_error)
        context = server.launches[issued.launch]
        body: dict[str, Any] = {
            "access_token": server.access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": issued.scope,
            "need_patient_banner": True,
        }
        if not server.omit_patient:
            body["patient"] = context.patient
        if context.app_context is not None:
            body["appContext"] = context.app_context
        if {"openid", "fhirUser"} <= set(issued.scope.split()) and context.fhir_user:
            claims = {
                "iss": server.base,
                "sub": "user-1",
                "aud": server.client_id,
                "exp": int(time.time()) + 300,
                "iat": int(time.time()),
                "fhirUser": context.fhir_user,
            }
            body["id_token"] = jwt.encode(claims, "stand-in-signing-secret-0123456789abcdef", algorithm="HS256")
        return Response(
            json.dumps(body), status=200, mimetype="application/json", headers={"Cache-Control": "no-store"}
        )

    return app


@contextmanager
def running_auth_server(server: AuthServer) -> Iterator[str]:
    """Serve the stand-in on a free loopback port (threaded); sets and yields ``server.base``."""
    http = make_server("127.0.0.1", 0, auth_app(server), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    server.base = f"http://127.0.0.1:{http.server_port}"
    try:
        yield server.base
    finally:
        http.shutdown()
        http.server_close()


@contextmanager
def running_smart_fhir_server(store: FhirStore, server: AuthServer, base_path: str = "/fhir") -> Iterator[str]:
    """Serve ``store`` (``tests.fhir_server``) plus ``{base}/.well-known/smart-configuration``; sets ``fhir_base``."""
    fhir = _handler(store, base_path)
    well_known = f"{base_path}/.well-known/smart-configuration"

    class Handler(fhir):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:  # noqa: N802
            if self.path.split("?")[0] != well_known:
                return super().do_GET()
            raw = server.configuration_override or json.dumps(server.configuration()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    with serving(Handler) as base:
        server.fhir_base = f"{base}{base_path}"
        yield server.fhir_base
