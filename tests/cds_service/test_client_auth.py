"""Client JWT authentication (CDS Hooks 2.0.1 "Trusting CDS Clients") with real ES384 and RS384 keys."""

from __future__ import annotations

import json
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask

from cds_service.auth.client_jwt import KeySetCache
from cds_service.http.runtime import runtime_of
from cds_service.settings import SettingsError
from cds_service.wire.definitions import usage_requirements
from tests.cds_service.test_audit_feedback import issue
from tests.conftest import TEST_HMAC_KEY, make_app
from tests.jwt_keys import ISSUER, SigningKey, client_jwt, es384_key, jwks, rs384_key

HOST = "http://localhost"
DISCOVERY = f"{HOST}/cds-services"
SERVICE = f"{DISCOVERY}/sid-igrt-patient-view"
JKU = "https://keys.ehr.test.example/jwks.json"
ES = es384_key("es-1")
RS = rs384_key("rs-1")


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "client.jwks.json"
    path.write_text(json.dumps(jwks(ES, RS)), encoding="utf-8")
    return path


def auth_app(jwks_file: Path, **config: Any) -> Flask:
    issuers = {ISSUER: {"jwks_file": str(jwks_file), "jku": [JKU]}}
    return make_app(AUTH="required", TRUSTED_ISSUERS=issuers, AUDIT_HMAC_KEY=TEST_HMAC_KEY, **config)


def get(app: Flask, token: str | None, url: str = DISCOVERY) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return app.test_client().get(url.removeprefix(HOST), headers=headers)


@pytest.mark.parametrize("key", [ES, RS], ids=["ES384", "RS384"])
def test_a_valid_token_is_accepted_on_discovery_service_and_feedback(jwks_file: Path, key: SigningKey) -> None:
    app = auth_app(jwks_file)
    client = app.test_client()
    assert get(app, client_jwt(key, DISCOVERY)).status_code == 200
    issue(app, "c1", service_id="sid-igrt-patient-view", client_issuer=ISSUER)
    body = {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-20T10:00:00Z"}]}
    feedback_url = f"{SERVICE}/feedback"
    ok = client.post(
        "/cds-services/sid-igrt-patient-view/feedback",
        json=body,
        headers={"Authorization": f"Bearer {client_jwt(key, feedback_url)}"},
    )
    assert ok.status_code == 200
    assert client.post("/cds-services/sid-igrt-patient-view/feedback", json=body).status_code == 401


def test_feedback_is_accepted_only_from_the_client_the_card_was_issued_to(tmp_path: Path) -> None:
    other_issuer, other_key = "https://other-ehr.test.example", es384_key("other-1")
    files = {}
    for name, key in (("ehr", ES), ("other", other_key)):
        files[name] = tmp_path / f"{name}.jwks.json"
        files[name].write_text(json.dumps(jwks(key)), encoding="utf-8")
    issuers = {ISSUER: {"jwks_file": str(files["ehr"])}, other_issuer: {"jwks_file": str(files["other"])}}
    app = make_app(AUTH="required", TRUSTED_ISSUERS=issuers)
    issue(app, "c1", service_id="sid-igrt-patient-view", client_issuer=ISSUER)
    path, url = "/cds-services/sid-igrt-patient-view/feedback", f"{SERVICE}/feedback"
    forged = {"card": "c1", "outcome": "overridden", "outcomeTimestamp": "9999-12-31T00:00:00Z"}
    token = client_jwt(other_key, url, issuer=other_issuer)
    response = app.test_client().post(path, json={"feedback": [forged]}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert runtime_of(app).store.feedback() == []


def _hs256() -> str:
    return jwt.encode(
        {"iss": ISSUER, "aud": DISCOVERY, "iat": 1, "exp": 2**31, "jti": "x"},
        "s" * 48,
        algorithm="HS256",
        headers={"kid": "es-1"},
    )


def _none() -> str:
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "kid": "es-1", "typ": "JWT"}).encode())
    claims = jwt.utils.base64url_encode(json.dumps({"iss": ISSUER, "aud": DISCOVERY, "jti": "y"}).encode())
    return f"{header.decode()}.{claims.decode()}."


BAD_TOKENS = {
    "wrong audience (another endpoint)": lambda: client_jwt(ES, SERVICE),
    "wrong audience (internal host behind a proxy)": lambda: client_jwt(ES, "http://10.0.0.7:8080/cds-services"),
    "expired": lambda: client_jwt(ES, DISCOVERY, iat_offset=-3600, lifetime=600),
    "issued in the future": lambda: client_jwt(ES, DISCOVERY, iat_offset=600),
    "lifetime longer than allowed": lambda: client_jwt(ES, DISCOVERY, lifetime=7200),
    "untrusted issuer": lambda: client_jwt(ES, DISCOVERY, issuer="https://evil.example"),
    "unknown kid": lambda: client_jwt(SigningKey("nope", "ES384", ES.private), DISCOVERY),
    "signed by another key with a known kid": lambda: client_jwt(es384_key("es-1"), DISCOVERY),
    "no jti": lambda: client_jwt(ES, DISCOVERY, drop=("jti",)),
    "no exp": lambda: client_jwt(ES, DISCOVERY, drop=("exp",)),
    "no iat": lambda: client_jwt(ES, DISCOVERY, drop=("iat",)),
    "no kid": lambda: jwt.encode({"iss": ISSUER, "aud": DISCOVERY}, ES.private, algorithm="ES384"),
    "jku not on the allowlist": lambda: client_jwt(ES, DISCOVERY, header={"jku": "https://evil.example/jwks"}),
    "alg HS256": _hs256,
    "alg none": _none,
    "ES384 token naming the kid of an RSA key": lambda: client_jwt(SigningKey("rs-1", "ES384", ES.private), DISCOVERY),
    "ES256 is not allowed": lambda: client_jwt(
        SigningKey("es-1", "ES256", ec.generate_private_key(ec.SECP256R1())), DISCOVERY
    ),
    "not a JWT": lambda: "abc.def",
    "exp a numeric string": lambda: client_jwt(ES, DISCOVERY, claims={"exp": str(int(time.time()) + 300)}),
    "iat a numeric string": lambda: client_jwt(ES, DISCOVERY, claims={"iat": str(int(time.time()))}),
    "exp a boolean": lambda: client_jwt(ES, DISCOVERY, claims={"exp": True}),
    "jti a number": lambda: client_jwt(ES, DISCOVERY, claims={"jti": 12345}),
}


@pytest.mark.parametrize("make_token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_bad_tokens_get_401_without_detail(jwks_file: Path, make_token: Any) -> None:
    response = get(auth_app(jwks_file), make_token())
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == "application/fhir+json"
    assert response.get_json()["issue"][0]["details"]["text"] == "Authentication failed."


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer "])
def test_missing_or_non_bearer_authorization_is_401(jwks_file: Path, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    assert auth_app(jwks_file).test_client().get("/cds-services", headers=headers).status_code == 401


def test_a_replayed_jti_is_refused(jwks_file: Path) -> None:
    app = auth_app(jwks_file)
    token = client_jwt(ES, DISCOVERY)
    assert get(app, token).status_code == 200
    assert get(app, token).status_code == 401


def test_audience_is_the_public_base_url_behind_a_proxy(jwks_file: Path) -> None:
    app = auth_app(jwks_file, PUBLIC_BASE_URL="https://cds.region.example/igrt/")
    assert get(app, client_jwt(ES, "https://cds.region.example/igrt/cds-services")).status_code == 200
    assert get(app, client_jwt(ES, DISCOVERY)).status_code == 401


def test_aud_is_never_taken_from_the_callers_host_headers(jwks_file: Path) -> None:
    app = auth_app(jwks_file, PUBLIC_BASE_URL="https://cds.region.example")
    forged_aud = "https://other-site.example/cds-services"
    for headers in ({"Host": "other-site.example"}, {"X-Forwarded-Host": "other-site.example"}):
        token = client_jwt(ES, forged_aud)
        response = app.test_client().get(
            "/cds-services", headers={"Authorization": f"Bearer {token}", **headers}, base_url="https://x"
        )
        assert response.status_code == 401


def test_rsa_keys_below_2048_bits_are_refused(tmp_path: Path) -> None:
    weak = rs384_key("weak", bits=1024)
    path = tmp_path / "weak.json"
    path.write_text(json.dumps(jwks(weak)), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        token = client_jwt(weak, DISCOVERY)
    assert get(auth_app(path), token).status_code == 401


@responses.activate
def test_an_allowlisted_jku_is_fetched_and_cached(jwks_file: Path) -> None:
    rotated = es384_key("es-rotated")
    responses.get(JKU, json=jwks(rotated))
    app = auth_app(jwks_file)
    for _ in range(3):
        assert get(app, client_jwt(rotated, DISCOVERY, header={"jku": JKU})).status_code == 200
    assert len(responses.calls) == 1


@responses.activate
def test_a_jwks_url_issuer_without_file() -> None:
    url = "https://keys.other.example/jwks"
    responses.get(url, json=jwks(RS))
    app = make_app(AUTH="required", TRUSTED_ISSUERS={ISSUER: {"jwks_url": url}}, AUDIT_HMAC_KEY=TEST_HMAC_KEY)
    assert get(app, client_jwt(RS, DISCOVERY)).status_code == 200


def test_key_rotation_refetches_at_most_once_per_interval() -> None:
    now = [1000.0]
    calls: list[str] = []

    class Session:
        def get(self, url: str, **_: Any) -> Any:
            calls.append(url)
            keys = [ES] if len(calls) == 1 else [ES, RS]
            response = requests.Response()
            response.status_code = 200
            response._content = json.dumps(jwks(*keys)).encode()
            return response

    cache = KeySetCache(Session(), ttl=3600, min_refresh=60, clock=lambda: now[0])  # type: ignore[arg-type]
    assert cache.key("u", "es-1") is not None
    assert cache.key("u", "rs-1") is None  # unknown kid, but fetched less than 60 s ago
    now[0] += 61
    assert cache.key("u", "rs-1") is not None  # rotated key found on refetch
    assert cache.key("u", "random") is None and len(calls) == 2


def test_preflight_needs_no_token(jwks_file: Path) -> None:
    app = auth_app(jwks_file, CORS_ORIGINS=["https://ehr.test.example"])
    preflight = app.test_client().options(
        "/cds-services/sid-igrt-patient-view",
        headers={
            "Origin": "https://ehr.test.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://ehr.test.example"
    denied = get(app, None)
    assert denied.status_code == 401


def test_discovery_says_loudly_when_auth_is_off() -> None:
    services = make_app().test_client().get("/cds-services").get_json()["services"]
    assert all(s["usageRequirements"].startswith("AUTHENTICATION IS OFF") for s in services)
    assert not any("signed client JWT" in s["usageRequirements"] for s in services)  # never both
    assert usage_requirements(auth_required=True).startswith("Calls need a signed client JWT")
    assert "AUTHENTICATION IS OFF" not in usage_requirements(auth_required=True)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"AUTH": "required"}, "no trusted issuers"),
        ({"AUTH": "required", "TRUST_SANDBOX": True, "AUDIT_HMAC_KEY": None}, "CDS_AUDIT_HMAC_KEY"),
        ({"AUTH": "required", "TRUST_SANDBOX": True, "PUBLIC_BASE_URL": None}, "needs CDS_PUBLIC_BASE_URL"),
        ({"AUTH": "maybe"}, "CDS_AUTH"),
        ({"AUTH": "required", "TRUSTED_ISSUERS": {ISSUER: {"jwks_url": "https://k"}}, "CORS_ORIGINS": "*"}, "CORS"),
        ({"TRUSTED_ISSUERS": {ISSUER: {}}}, "jwks_file, jwks_url or jku"),
        ({"AUDIT_HMAC_KEY": "short"}, "at least 32"),
        ({"PUBLIC_BASE_URL": "cds.example"}, "CDS_PUBLIC_BASE_URL"),
        ({"FHIR_BUDGET_SECONDS": 0}, "CDS_FHIR_BUDGET_SECONDS: must be a positive number, not 0"),
        ({"LATENCY_BUDGET_MS": "abc"}, r"CDS_LATENCY_BUDGET_MS: must be a positive whole number, not 'abc'"),
        ({"MAX_CONTENT_LENGTH": "big"}, "CDS_MAX_CONTENT_LENGTH: must be a positive whole number"),
        ({"OPTIONAL_PREFETCH": "observations,x"}, r"CDS_OPTIONAL_PREFETCH: unknown prefetch key 'x' \(keys: patient"),
        ({"GUIDELINE": {"NOPE": 1}}, "CDS_GUIDELINE__NOPE: not a guideline setting"),
        ({"GUIDELINE": {"ADULT_AGE_YEARS": 16}}, "CDS_GUIDELINE__ADULT_AGE_YEARS: fixed by the guideline text"),
        (
            {"GUIDELINE": {"IGG_WASHOUT_DAYS": "x"}},
            "CDS_GUIDELINE__IGG_WASHOUT_DAYS: must be a whole number from 21 to",
        ),
        ({"TRUST_SANDBOX": True, "DATABASE_URL": "postgresql://cds:x@db.internal/cds"}, "CDS_TRUST_SANDBOX"),
    ],
)
def test_unsafe_settings_refuse_to_start(config: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        make_app(**config)


def test_sandbox_issuer_is_trusted_only_when_asked() -> None:
    app = make_app(AUTH="required", TRUST_SANDBOX=True, CORS_ORIGINS="*")
    assert runtime_of(app).settings.auth.trusts_sandbox


class _CountingSession:
    """A JWKS server stand-in: each URL answers from ``answers`` (a status, or an exception to raise)."""

    def __init__(self, answers: dict[str, Any], gate: threading.Event | None = None) -> None:
        self.answers = answers
        self.gate = gate
        self.calls: list[str] = []

    def get(self, url: str, **_: Any) -> Any:
        self.calls.append(url)
        if self.gate is not None and url == "slow":
            self.gate.wait(10)
        answer = self.answers[url]
        if isinstance(answer, Exception):
            raise answer
        response = requests.Response()
        response.status_code = answer
        response._content = json.dumps(jwks(ES)).encode()
        return response


def test_a_failing_jwks_url_is_fetched_at_most_once_per_interval() -> None:
    now = [1000.0]
    session = _CountingSession({"u404": 404, "down": requests.ConnectionError("refused")})
    cache = KeySetCache(session, min_refresh=60, clock=lambda: now[0])  # type: ignore[arg-type]
    for i in range(50):
        assert cache.key("u404", f"forged-{i}") is None
        assert cache.key("down", f"forged-{i}") is None
    assert session.calls == ["u404", "down"]
    now[0] += 61
    cache.key("u404", "again")
    assert session.calls.count("u404") == 2


def test_a_hanging_jwks_url_holds_no_other_caller() -> None:
    gate = threading.Event()
    session = _CountingSession({"slow": 200, "fast": 200}, gate=gate)
    cache = KeySetCache(session, max_wait=0.2)  # type: ignore[arg-type]
    first = threading.Thread(target=cache.key, args=("slow", "es-1"))
    first.start()
    time.sleep(0.1)  # the first caller is now inside the hanging fetch
    started = time.monotonic()
    assert cache.key("fast", "es-1") is not None  # another URL: not blocked
    assert cache.key("slow", "other") is None  # the same URL: waits at most max_wait, no second fetch
    assert time.monotonic() - started < 1.0
    assert session.calls.count("slow") == 1
    gate.set()
    first.join(5)


def test_keys_are_fetched_at_start_up() -> None:
    session = _CountingSession({"issuer-keys": 200})
    cache = KeySetCache(session)  # type: ignore[arg-type]
    cache.warm(["issuer-keys"])
    deadline = time.monotonic() + 5
    while not session.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert session.calls == ["issuer-keys"]
    assert cache.key("issuer-keys", "es-1") is not None and session.calls == ["issuer-keys"]


def test_cors_headers_only_on_cors_requests_and_vary_on_origin() -> None:
    client = make_app(CORS_ORIGINS="https://ehr.example").test_client()
    plain = client.get("/health/live")
    assert "Access-Control-Allow-Origin" not in plain.headers
    cors = client.get("/health/live", headers={"Origin": "https://ehr.example"})
    assert cors.headers["Access-Control-Allow-Origin"] == "https://ehr.example"
    assert "Origin" in cors.headers.get("Vary", "")


def test_the_sqlite_audit_file_is_created_private(tmp_path: Path) -> None:
    import stat

    database = tmp_path / "audit" / "cds.sqlite3"
    app = make_app(DATABASE_URL=f"sqlite:///{database}")
    assert app.test_client().get("/health/live").status_code == 200
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
