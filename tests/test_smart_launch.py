"""The evidence page's SMART on FHIR EHR launch, tested as a clinician's browser and an EHR would use it.

Against real HTTP stand-ins (``tests/smart_auth_server.py``: an authorization server that checks what real ones
check, and ``tests/fhir_server.py``'s FHIR server with its SMART configuration, bearer token required):

* the whole launch in-process (Flask test client as the browser, ``requests`` following the authorization server's
  redirect): PKCE S256, ``state``, ``aud``, scopes from the prefetch, the cookie's flags, nothing secret stored, the
  page with its timeline, every strict header;
* every bad launch gets its clear HTML page and status, never a 500 (unknown ``iss``, missing ``launch``, no S256,
  wrong or replayed ``state``, ``access_denied``, expired or reused code, token endpoint down or slow, no patient,
  FHIR fetch failure, database down);
* the token never reaches a log line, a URL, a cookie or the page;
* in CI, real headless Chromium follows the launch against ``cds-service serve`` (gunicorn) and lands on the page;
  its SVG parts are checked and screenshots saved under ``test-artifacts/smart/`` (``e2e``; skipped only when
  Debian's ``chromium`` or PyPI ``playwright`` is missing, failing instead under ``CDS_TEST_REQUIRE_SANDBOX=1``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import cds_service.smart.errors as launch_errors
import tests.factories as f
from cds_service.settings import Settings, SettingsError
from cds_service.smart.errors import AuthorizationServerError, LaunchContextError, LaunchError, launch_error_for
from cds_service.smart.hook_request import patient_view_request
from cds_service.smart.oauth import SmartClient, grant_from
from cds_service.smart.scopes import prefetch_scopes, resource_types
from cds_service.wire.definitions import PREFETCH
from cds_service.wire.errors import PrefetchUnavailableError
from storage import Database, LaunchStore, PendingLaunch, StorageError
from storage.schema import SmartLaunch
from tests.conftest import make_app, sqlite_url
from tests.fhir_server import FhirStore
from tests.live_server import LiveService, free_port, start, stop, wait_ready
from tests.smart_auth_server import AuthServer, running_auth_server, running_smart_fhir_server

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "smart"
CLIENT_ID = "sid-igrt-evidence"
BASE = "https://cds.test"
REDIRECT_URI = f"{BASE}/evidence/callback"
PATIENT = "sid-smart-story"
USER = "Practitioner/dr-hansen"
APP_CONTEXT = json.dumps({"serviceId": "sid-igrt-order-select", "cardUuid": "1b0c7f9e-7d1e-4c1b-9d1e-5a7f00c0ffee"})
SVG_PARTS = ("igg-points", "threshold-4", "window", "igrt-course", "infection")
"""What the timeline must show for the story patient: IgG points, the 4 g/L line, the 6-month window after T0,
the earlier IVIG course and the infections."""
STRICT_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
CSP = re.compile(
    r"^default-src 'none'; style-src 'nonce-([A-Za-z0-9_-]{22})'; style-src-attr 'unsafe-inline'; img-src data:; "
    r"base-uri 'none'; form-action 'none'; frame-ancestors (.+)$"
)


def story_patient(pid: str = PATIENT) -> list[dict[str, Any]]:
    """A synthetic myeloma patient: an IVIG course in 2025, teclistamab from June 2026 (T0), IgG below 4 g/L since,
    a pneumonia with admission and a urinary tract infection; seen on 2026-11-20."""
    return [
        f.patient(pid, "1953-04-11"),
        f.condition(pid, "mm", "DC900", "Myelomatose", "2023-05-10", category="problem-list-item"),
        *f.administrations(pid, "ivig", "J06BA02", "Privigen 100 mg/ml infusionsvæske", "2025-02-03", "2025-07-21", 28),
        *f.administrations(pid, "tec", "L01FX24", "Tecvayli (teclistamab)", "2026-06-01", "2026-07-27", 7),
        f.lab(pid, "igg-1", "igg", 5.1, "2026-05-20"),
        f.lab(pid, "igg-2", "igg", 3.2, "2026-07-15"),
        f.lab(pid, "igg-3", "igg", 3.6, "2026-09-01"),
        f.lab(pid, "igg-4", "igg", 3.4, "2026-11-02"),
        f.lab(pid, "iga-4", "iga", 0.3, "2026-11-02"),
        f.lab(pid, "igm-4", "igm", 0.2, "2026-11-02"),
        f.admission(pid, "adm-pneu", "2026-08-10", "2026-08-16", diagnosis="pneumonia"),
        f.condition(pid, "pneumonia", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-08-10",
                    encounter="adm-pneu"),
        f.condition(pid, "uti", "DN390", "Urinvejsinfektion UNS", "2026-10-05"),
    ]  # fmt: skip


def fill(store: FhirStore, resources: list[dict[str, Any]]) -> None:
    for resource in resources:
        store.resources[f"{resource['resourceType']}/{resource['id']}"] = resource


# --- the stand-ins and the app ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth() -> Iterator[AuthServer]:
    server = AuthServer(client_id=CLIENT_ID, redirect_uri=REDIRECT_URI)
    with running_auth_server(server):
        yield server


@pytest.fixture(scope="module")
def fhir(auth: AuthServer) -> Iterator[tuple[FhirStore, str]]:
    store = FhirStore(page_size=50, token=auth.access_token)
    fill(store, story_patient())
    with running_smart_fhir_server(store, auth) as base:
        yield store, base


@pytest.fixture(autouse=True)
def _fresh_stand_ins(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "auth" in request.fixturenames:
        request.getfixturevalue("auth").reset()


def smart_app(fhir_base: str, **config: Any) -> Flask:
    return make_app(
        SMART_CLIENT_ID=CLIENT_ID,
        PUBLIC_BASE_URL=BASE,
        FHIR_SERVER_ALLOWLIST=fhir_base,
        FHIR_ALLOW_HTTP="true",
        SMART_TIMEOUT_SECONDS=2,
        **config,
    )


@pytest.fixture
def app(fhir: tuple[FhirStore, str]) -> Flask:
    return smart_app(fhir[1])


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- what the browser does -------------------------------------------------------------------------------------------


def begin(client: FlaskClient, iss: str, handle: str | None) -> Any:
    """The EHR opens the launch URL in the browser."""
    query = {"iss": iss} | ({"launch": handle} if handle is not None else {})
    return client.get("/evidence/launch", query_string=query, base_url=BASE)


def authorize(location: str) -> str:
    """The browser follows the redirect to the authorization server, which redirects back: the callback URL."""
    answer = requests.get(location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback = answer.headers["Location"]
    assert callback.startswith(REDIRECT_URI + "?")
    return str(callback)


def finish(client: FlaskClient, callback: str) -> Any:
    """The browser follows the authorization server's redirect back to the service."""
    parts = urlsplit(callback)
    return client.get(parts.path, query_string=parts.query, base_url=BASE)


def launch(client: FlaskClient, auth: AuthServer, iss: str, **context: Any) -> Any:
    """The whole launch; returns the callback's response."""
    handle = auth.register_launch(PATIENT, **context)
    started = begin(client, iss, handle)
    assert started.status_code == 302, started.get_data(as_text=True)
    return finish(client, authorize(started.location))


def assert_strict_headers(response: Any, *, frame_ancestors: str = "'self'") -> str:
    """Every evidence response's headers; returns the CSP nonce."""
    for name, value in STRICT_HEADERS.items():
        assert response.headers[name] == value, name
    match = CSP.match(response.headers["Content-Security-Policy"])
    assert match, response.headers["Content-Security-Policy"]
    assert match.group(2) == frame_ancestors
    return match.group(1)


def assert_error_page(response: Any, status: int, code: str, token: str) -> str:
    """A clear HTML page with this status and code, the strict headers and a nonce'd style; no token, no trace."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    nonce = assert_strict_headers(response)
    text = response.get_data(as_text=True)
    assert f'<style nonce="{nonce}">' in text
    assert f"<code>{code}</code>" in text and "<h1>" in text
    assert "Traceback" not in text and token not in text
    return text


def set_cookie_headers(response: Any) -> list[str]:
    return [value for name, value in response.headers.items() if name == "Set-Cookie"]


# --- scopes ----------------------------------------------------------------------------------------------------------


def test_scopes_are_derived_from_the_prefetch_templates() -> None:
    scopes = prefetch_scopes()
    assert scopes[:3] == ("launch", "openid", "fhirUser")
    assert set(scopes[3:]) == {f"patient/{t}.rs" for t in resource_types(PREFETCH.values())}
    assert "patient/Observation.rs" in scopes and "patient/Patient.rs" in scopes
    assert all(not s.startswith("user/") and "*" not in s for s in scopes)  # never wider than the patient
    assert prefetch_scopes({"goals": "Goal?patient={{context.patientId}}"}) == (
        "launch",
        "openid",
        "fhirUser",
        "patient/Goal.rs",
    )
    with pytest.raises(ValueError, match="resource type"):
        resource_types(["{{context.userId}}"])


# --- the launch, step by step ----------------------------------------------------------------------------------------


def test_launch_sends_the_browser_to_authorize_with_pkce_state_aud_and_a_strict_cookie(
    app: Flask, client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]
) -> None:
    iss = fhir[1]
    handle = auth.register_launch(PATIENT)
    started = begin(client, iss, handle)
    assert started.status_code == 302
    assert_strict_headers(started)
    target = urlsplit(started.location)
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{auth.base}/authorize"
    query = {key: values[0] for key, values in parse_qs(target.query).items()}
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["aud"] == iss and query["launch"] == handle
    assert query["code_challenge_method"] == "S256" and re.fullmatch(r"[A-Za-z0-9_-]{43}", query["code_challenge"])
    assert tuple(query["scope"].split()) == prefetch_scopes()
    state = query["state"]
    assert len(state) >= 43
    (cookie,) = set_cookie_headers(started)
    name, _, rest = cookie.partition("=")
    session_id = rest.split(";")[0]
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in rest.split(";")[1:]}
    assert name == f"__Host-igrt-launch-{hashlib.sha256(state.encode()).hexdigest()[:16]}"
    assert {"secure", "httponly", "samesite", "path", "max-age"} <= set(flags)
    assert flags["samesite"] == "SameSite=Lax" and flags["path"] == "Path=/" and flags["max-age"] == "Max-Age=600"
    assert "domain" not in flags  # __Host-: this host only
    assert session_id not in started.location and len(session_id) >= 43
    # The database holds the session's hash, the FHIR server and its token endpoint: nothing that finishes a launch.
    database = app.extensions["smart_launch"].launches.database
    with database.connection() as connection:
        rows = connection.execute(select(SmartLaunch)).all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    assert rows[0].session_hash == hashlib.sha256(session_id.encode()).hexdigest()
    assert session_id not in stored and state not in stored and query["code_challenge"] not in stored
    assert rows[0].iss == iss and rows[0].token_endpoint == f"{auth.base}/token"


def test_the_whole_launch_renders_the_evidence_page_and_keeps_nothing(
    app: Flask, client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]
) -> None:
    store, iss = fhir
    fetched_before = len(store.requests)
    page = launch(client, auth, iss, app_context=APP_CONTEXT, fhir_user=f"{iss}/{USER}")
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    assert page.mimetype == "text/html"
    nonce = assert_strict_headers(page)
    html = page.get_data(as_text=True)
    assert f'nonce="{nonce}"' in html
    for part in SVG_PARTS:
        assert f'id="{part}' in html, part
    assert "<script" not in html.lower()
    assert auth.access_token not in html
    # The data came from the FHIR server, with the token (the store refuses any other), through the service's client.
    fetched = store.requests[fetched_before:]
    assert any(path.startswith(f"/fhir/Patient/{PATIENT}") for path in fetched)
    assert any(path.startswith("/fhir/Observation?") for path in fetched)
    # The code was exchanged once, with the verifier, by a public client (no secret), to the registered redirect URI.
    (body,) = auth.token_bodies
    assert body["grant_type"] == "authorization_code" and body["redirect_uri"] == REDIRECT_URI
    assert body["client_id"] == CLIENT_ID and re.fullmatch(r"[A-Za-z0-9_-]{43}", body["code_verifier"])
    # The launch cookie is deleted and the pending launch is gone: nothing outlives the response.
    (deleted,) = set_cookie_headers(page)
    assert deleted.startswith("__Host-igrt-launch-") and "Max-Age=0" in deleted and "Secure" in deleted
    database = app.extensions["smart_launch"].launches.database
    with database.connection() as connection:
        assert connection.execute(select(SmartLaunch)).all() == []


def test_a_reload_or_replay_of_the_callback_is_refused(client: FlaskClient, auth: AuthServer, fhir: Any) -> None:
    handle = auth.register_launch(PATIENT)
    started = begin(client, fhir[1], handle)
    (cookie,) = set_cookie_headers(started)
    name, _, rest = cookie.partition("=")
    callback = authorize(started.location)
    assert finish(client, callback).status_code == 200
    # The browser dropped the cookie: a reload finds no launch.
    assert_error_page(finish(client, callback), 400, "launch-state", auth.access_token)
    # An attacker who kept the cookie replays the callback: the launch was claimed once, for good.
    client.set_cookie(name, rest.split(";")[0], domain="cds.test", path="/", secure=True)
    assert_error_page(finish(client, callback), 400, "launch-state", auth.access_token)
    assert len(auth.token_bodies) == 1  # the code was never sent a second time


def test_two_launches_in_two_tabs_both_finish(client: FlaskClient, auth: AuthServer, fhir: Any) -> None:
    first = begin(client, fhir[1], auth.register_launch(PATIENT))
    second = begin(client, fhir[1], auth.register_launch(PATIENT))
    first_callback, second_callback = authorize(first.location), authorize(second.location)
    assert finish(client, second_callback).status_code == 200
    assert finish(client, first_callback).status_code == 200


def test_the_callback_may_reach_another_instance(auth: AuthServer, fhir: tuple[FhirStore, str]) -> None:
    """Launch on one instance, callback on another sharing the database: no sticky sessions needed."""
    database = sqlite_url()
    first = smart_app(fhir[1], DATABASE_URL=database).test_client()
    second = smart_app(fhir[1], DATABASE_URL=database).test_client()
    started = begin(first, fhir[1], auth.register_launch(PATIENT))
    (cookie,) = set_cookie_headers(started)
    name, _, rest = cookie.partition("=")
    second.set_cookie(name, rest.split(";")[0], domain="cds.test", path="/", secure=True)
    assert finish(second, authorize(started.location)).status_code == 200


def test_a_confidential_client_authenticates_with_its_secret(auth: AuthServer, fhir: tuple[FhirStore, str]) -> None:
    secret = "a-confidential-client-secret-0123"
    auth.client_secret = secret
    try:
        client = smart_app(fhir[1], SMART_CLIENT_SECRET=secret).test_client()
        assert launch(client, auth, fhir[1]).status_code == 200
        assert "client_id" not in auth.token_bodies[-1]  # HTTP Basic, not the body
    finally:
        auth.client_secret = None


# --- bad launches: a clear page with the right status, never a 500 ---------------------------------------------------

Case = Callable[[FlaskClient, AuthServer, tuple[FhirStore, str]], Any]


def _without(parameter: str) -> Case:
    def run(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
        query = {"iss": fhir[1], "launch": auth.register_launch(PATIENT)}
        query.pop(parameter)
        return client.get("/evidence/launch", query_string=query, base_url=BASE)

    return run


def _unknown_iss(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    return begin(client, "https://fhir.elsewhere.example/r4", auth.register_launch(PATIENT))


def _iss_outside_the_allowed_path(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    return begin(client, fhir[1] + "/../other", auth.register_launch(PATIENT))


def _no_s256(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    auth.pkce_methods = ["plain"]
    return begin(client, fhir[1], auth.register_launch(PATIENT))


def _huge_configuration(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    auth.configuration_override = json.dumps({**auth.configuration(), "padding": "x" * 100_000}).encode()
    return begin(client, fhir[1], auth.register_launch(PATIENT))


def _wrong_state(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    started = begin(client, fhir[1], auth.register_launch(PATIENT))
    callback = authorize(started.location)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    return finish(client, callback.replace(state, state[:-4] + "AAAA"))


def _other_browser(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    started = begin(client, fhir[1], auth.register_launch(PATIENT))
    callback = authorize(started.location)
    return finish(client.application.test_client(), callback)  # no cookie: a forged or leaked callback


def _no_state(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    return client.get("/evidence/callback", query_string={"code": "x"}, base_url=BASE)


def _expired_launch(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    started = begin(client, fhir[1], auth.register_launch(PATIENT))
    callback = authorize(started.location)
    database = client.application.extensions["smart_launch"].launches.database
    with database.connection() as connection:
        connection.execute(SmartLaunch.__table__.update().values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    return finish(client, callback)


def _access_denied(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    auth.deny = True
    return launch(client, auth, fhir[1])


def _invalid_scope(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    app = smart_app(fhir[1], SMART_SCOPES="launch openid user/*.*")
    return launch(app.test_client(), auth, fhir[1])


def _expired_code(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    auth.code_lifetime = 0
    return launch(client, auth, fhir[1])


def _reused_code(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    used = launch(client, auth, fhir[1])
    assert used.status_code == 200
    old_code = next(code for code, issued in auth.codes.items() if issued.used)
    started = begin(client, fhir[1], auth.register_launch(PATIENT))
    callback = authorize(started.location)
    new_code = parse_qs(urlsplit(callback).query)["code"][0]
    return finish(client, callback.replace(new_code, old_code))


def _token_endpoint_down(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    auth.token_down = True
    return launch(client, auth, fhir[1])


def _token_endpoint_slow(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    auth.token_delay = 3.0  # the app waits CDS_SMART_TIMEOUT_SECONDS=2
    return launch(client, auth, fhir[1])


def _token_error(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    auth.token_error = "server_error"
    return launch(client, auth, fhir[1])


def _no_patient(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    auth.omit_patient = True
    return launch(client, auth, fhir[1])


def _fhir_refuses_the_token(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    store = fhir[0]
    store.token = "another-token"
    try:
        return launch(client, auth, fhir[1])
    finally:
        store.token = auth.access_token


def _database_down(client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]) -> Any:
    launches = client.application.extensions["smart_launch"].launches

    def down(*_args: Any, **_kwargs: Any) -> None:
        raise StorageError("database error: OperationalError")

    launches.begin = down
    return begin(client, fhir[1], auth.register_launch(PATIENT))


BAD_LAUNCHES: dict[str, tuple[Case, int, str]] = {
    "missing-launch": (_without("launch"), 400, "invalid-launch"),
    "missing-iss": (_without("iss"), 400, "invalid-launch"),
    "unknown-iss": (_unknown_iss, 400, "unknown-iss"),
    "iss-dot-segments": (_iss_outside_the_allowed_path, 400, "unknown-iss"),
    "no-pkce-s256": (_no_s256, 502, "authorization-server"),
    "configuration-too-large": (_huge_configuration, 502, "authorization-server"),
    "wrong-state": (_wrong_state, 400, "launch-state"),
    "callback-in-another-browser": (_other_browser, 400, "launch-state"),
    "callback-without-state": (_no_state, 400, "launch-state"),
    "launch-expired": (_expired_launch, 400, "launch-state"),
    "access-denied": (_access_denied, 403, "access-denied"),
    "invalid-scope": (_invalid_scope, 502, "authorization-server"),
    "expired-code": (_expired_code, 401, "token-refused"),
    "reused-code": (_reused_code, 401, "token-refused"),
    "token-endpoint-down": (_token_endpoint_down, 502, "authorization-server"),
    "token-endpoint-slow": (_token_endpoint_slow, 502, "authorization-server"),
    "token-error": (_token_error, 502, "authorization-server"),
    "no-patient-in-context": (_no_patient, 502, "launch-context"),
    "fhir-refuses-the-token": (_fhir_refuses_the_token, 502, "fhir-data"),
    "database-down": (_database_down, 503, "launch-store"),
}


@pytest.mark.parametrize("case", BAD_LAUNCHES, ids=str)
def test_a_bad_launch_gets_a_clear_page_and_its_status(
    case: str, client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]
) -> None:
    run, status, code = BAD_LAUNCHES[case]
    answer = run(client, auth, fhir)
    assert_error_page(answer, status, code, auth.access_token)


def test_the_app_is_off_without_a_client_id(fhir: tuple[FhirStore, str], auth: AuthServer) -> None:
    client = make_app(FHIR_SERVER_ALLOWLIST=fhir[1], FHIR_ALLOW_HTTP="true").test_client()
    answer = begin(client, fhir[1], auth.register_launch(PATIENT))
    text = assert_error_page(answer, 404, "app-off", auth.access_token)
    assert "CDS_SMART_CLIENT_ID" in text
    assert auth.seen == []  # nothing contacted


def test_a_reused_code_is_refused_by_the_authorization_server_not_by_the_app(
    client: FlaskClient, auth: AuthServer, fhir: tuple[FhirStore, str]
) -> None:
    """The reused-code case above really reaches the token endpoint with a valid verifier (not a state mismatch)."""
    _reused_code(client, auth, fhir)
    assert len(auth.token_bodies) == 2


# --- the token response, read -------------------------------------------------------------------------------------

SMART_CLIENT = SmartClient(CLIENT_ID, None, REDIRECT_URI, prefetch_scopes(), 2.0)


def id_token(**claims: Any) -> str:
    return jwt.encode({"aud": CLIENT_ID, **claims}, "any-key-the-app-does-not-check-0123", algorithm="HS256")


def test_the_token_response_becomes_the_patient_view_request() -> None:
    grant = grant_from(
        {
            "access_token": "secret-token",
            "token_type": "bearer",
            "expires_in": 300,
            "scope": "launch patient/Observation.rs",
            "patient": PATIENT,
            "id_token": id_token(fhirUser=f"https://ehr.example/fhir/{USER}"),
            "appContext": {"serviceId": "sid-igrt-order-sign"},
        },
        client=SMART_CLIENT,
    )
    assert "secret-token" not in repr(grant)
    assert grant.user == USER and grant.app_context == '{"serviceId":"sid-igrt-order-sign"}'
    request = patient_view_request(grant, iss="https://ehr.example/fhir", client_id=CLIENT_ID)
    assert request.hook == "patient-view" and request.prefetch is None
    assert request.fhirServer == "https://ehr.example/fhir"
    assert request.context.patientId == PATIENT and request.context.userId == USER
    authorization = request.fhirAuthorization
    assert authorization is not None and authorization.access_token.get_secret_value() == "secret-token"
    assert (authorization.subject, authorization.expires_in, authorization.patient) == (CLIENT_ID, 300, PATIENT)
    assert "secret-token" not in repr(request)
    other = patient_view_request(grant, iss="https://ehr.example/fhir", client_id=CLIENT_ID)
    assert other.hookInstance != request.hookInstance  # a fresh hookInstance per page


@pytest.mark.parametrize(
    ("token", "user"),
    [
        ({"id_token": id_token(fhirUser="Practitioner/p1")}, "Practitioner/p1"),
        ({"id_token": id_token(fhirUser="https://ehr.example/fhir/Practitioner/p1")}, "Practitioner/p1"),
        ({"id_token": jwt.encode({"aud": "another-app", "fhirUser": "Practitioner/p1"}, "k" * 32)}, None),
        ({"id_token": id_token(fhirUser="https://ehr.example/fhir/Observation/o1")}, None),
        ({"id_token": "not a jwt"}, None),
        ({}, None),
    ],
    ids=["relative", "absolute", "other-audience", "not-a-user", "garbage", "none"],
)
def test_the_user_is_read_from_the_id_tokens_fhir_user_only_when_it_is_for_this_app(
    token: dict[str, Any], user: str | None
) -> None:
    body = {"access_token": "t", "token_type": "Bearer", "patient": PATIENT, **token}
    assert grant_from(body, client=SMART_CLIENT).user == user


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ({"token_type": "Bearer", "patient": PATIENT}, AuthorizationServerError),
        ({"access_token": "t", "token_type": "mac", "patient": PATIENT}, AuthorizationServerError),
        ({"access_token": "t", "token_type": "Bearer"}, LaunchContextError),
        ({"access_token": "t", "token_type": "Bearer", "patient": "../Patient/x"}, LaunchContextError),
        ({"access_token": "t", "token_type": "Bearer", "patient": ".."}, LaunchContextError),
    ],
    ids=["no-token", "not-bearer", "no-patient", "patient-path", "patient-dot-segment"],
)
def test_an_unusable_token_response_is_refused(token: dict[str, Any], error: type[LaunchError]) -> None:
    with pytest.raises(error):
        grant_from(token, client=SMART_CLIENT)


# --- secrets stay secret ---------------------------------------------------------------------------------------------


def test_the_token_code_and_patient_never_reach_a_log_line_or_url(
    client: FlaskClient,
    auth: AuthServer,
    fhir: tuple[FhirStore, str],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    handle = auth.register_launch(PATIENT, fhir_user=f"{fhir[1]}/{USER}")
    started = begin(client, fhir[1], handle)
    callback = authorize(started.location)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert finish(client, callback).status_code == 200
    auth.token_down = True
    assert launch(client, auth, fhir[1]).status_code == 502
    logs = caplog.text + capfd.readouterr().err
    assert "evidence callback rendered the page" in logs and "evidence callback refused: 502" in logs
    assert auth.access_token not in logs and code not in logs
    service_lines = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("cds_service"))
    assert PATIENT not in service_lines and "dr-hansen" not in service_lines
    urls = [started.location, callback, *auth.seen, *fhir[0].requests]
    assert not any(auth.access_token in url for url in urls)


# --- settings, cookie flavours, CSP ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "refusal"),
    [
        ({"SMART_CLIENT_ID": "x", "FHIR_SERVER_ALLOWLIST": "https://f"}, "needs CDS_SMART_REDIRECT_URI"),
        ({"SMART_CLIENT_ID": "x", "PUBLIC_BASE_URL": "https://c"}, "CDS_SMART_CLIENT_ID needs CDS_FHIR_SERVER_ALLOW"),
        ({"SMART_COOKIE_SAMESITE": "none", "SMART_COOKIE_SECURE": "false"}, "SAMESITE=none needs"),
        (
            {"SMART_CLIENT_ID": "x", "PUBLIC_BASE_URL": "https://c", "FHIR_SERVER_ALLOWLIST": "https://f",
             "SMART_COOKIE_SECURE": "false"},
            "CDS_SMART_COOKIE_SECURE=false is for local trials only",
        ),
        ({"SMART_COOKIE_SAMESITE": "strict"}, "CDS_SMART_COOKIE_SAMESITE: must be lax or none"),
        ({"SMART_FRAME_ANCESTORS": "'self'; script-src *"}, "CDS_SMART_FRAME_ANCESTORS: must be CSP"),
        ({"SMART_FRAME_ANCESTORS": "'none' https://ehr.dk"}, "CDS_SMART_FRAME_ANCESTORS: must be CSP"),
        ({"SMART_SCOPES": "openid patient/Patient.rs"}, "CDS_SMART_SCOPES: must be SMART scopes"),
        ({"SMART_SESSION_SECONDS": "86400"}, "CDS_SMART_SESSION_SECONDS: must be a whole number of seconds"),
        ({"SMART_CLIENT_ID": "two words"}, "CDS_SMART_CLIENT_ID: must be printable ASCII"),
        ({"SMART_CLIENT_SECRET": "short"}, "CDS_SMART_CLIENT_SECRET: must be at least 16 characters"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)  # fmt: skip
def test_unsafe_smart_settings_stop_the_start(config: dict[str, str], refusal: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(refusal)) as raised:
        Settings.from_config({"AUTH": "off", **config})
    assert "short" not in str(raised.value)  # a secret is never repeated


def test_local_trial_cookies_may_be_plain_on_loopback_only() -> None:
    settings = Settings.from_config(
        {"AUTH": "off", "SMART_CLIENT_ID": "x", "PUBLIC_BASE_URL": "http://127.0.0.1:8080",
         "FHIR_SERVER_ALLOWLIST": "http://127.0.0.1:8081/fhir", "SMART_COOKIE_SECURE": "false"}
    )  # fmt: skip
    assert not settings.smart.cookie_secure
    assert settings.smart.redirect_uri_with(settings.auth.public_base_url) == "http://127.0.0.1:8080/evidence/callback"


def test_an_embedded_app_gets_a_secure_partitioned_same_site_none_cookie_and_its_frame_ancestors(
    auth: AuthServer, fhir: tuple[FhirStore, str]
) -> None:
    ehr = "https://ehr.example.dk"
    client = smart_app(fhir[1], SMART_COOKIE_SAMESITE="none", SMART_FRAME_ANCESTORS=f"'self' {ehr}").test_client()
    started = begin(client, fhir[1], auth.register_launch(PATIENT))
    assert_strict_headers(started, frame_ancestors=f"'self' {ehr}")
    (cookie,) = set_cookie_headers(started)
    assert "SameSite=None" in cookie and "Secure" in cookie and "Partitioned" in cookie and "HttpOnly" in cookie
    page = finish(client, authorize(started.location))
    assert page.status_code == 200
    assert_strict_headers(page, frame_ancestors=f"'self' {ehr}")


# --- the launch store and the error tree -----------------------------------------------------------------------------


def test_a_pending_launch_is_claimed_once_and_not_after_it_expires(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    store = LaunchStore(database)
    now = datetime.now(UTC)
    pending = PendingLaunch("https://fhir.example/r4", "https://auth.example/token", now + timedelta(minutes=10))
    store.begin("a" * 64, pending)
    store.begin("b" * 64, PendingLaunch(pending.iss, pending.token_endpoint, now - timedelta(seconds=1)))
    assert store.claim("a" * 64) == pending
    assert store.claim("a" * 64) is None  # claimed: a replay finds nothing
    assert store.claim("b" * 64) is None  # expired (and removed)
    assert store.claim("c" * 64) is None
    store.begin("d" * 64, PendingLaunch(pending.iss, pending.token_endpoint, now - timedelta(seconds=1)))
    assert store.purge() == 1
    with pytest.raises(StorageError, match="naive"):
        store.begin("e" * 64, PendingLaunch(pending.iss, pending.token_endpoint, datetime.now()))
    database.dispose()


def launch_error_classes() -> list[type[LaunchError]]:
    found: list[type[LaunchError]] = []
    pending: list[type[LaunchError]] = [LaunchError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_launch_error_is_in_the_tree_with_its_status_and_code() -> None:
    tree = launch_errors.__doc__ or ""
    classes = launch_error_classes()
    defined = {c for c in vars(launch_errors).values() if isinstance(c, type) and issubclass(c, LaunchError)}
    assert set(classes) == defined
    assert len({c.code for c in classes}) == len(classes)
    for cls in classes:
        assert re.search(rf"\b{cls.__name__}\s+{cls.status}\s+{re.escape(cls.code)}\b", tree), cls.__name__
        assert 400 <= cls.status <= 599


def test_foreign_errors_map_to_launch_errors() -> None:
    assert launch_error_for(StorageError("down")).status == 503
    assert launch_error_for(PrefetchUnavailableError("no data")).code == "fhir-data"
    unexpected = launch_error_for(KeyError("secret detail"))
    assert (unexpected.status, unexpected.code) == (500, "internal-error")
    assert "secret detail" not in unexpected.detail


# --- a real browser against the real server --------------------------------------------------------------------------


def _browser_missing() -> str | None:
    if shutil.which("chromium") is None:
        return "Debian's chromium is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "PyPI playwright is not installed"
    return None


_BROWSER_MISSING = _browser_missing()
if _BROWSER_MISSING is not None and os.environ.get("CDS_TEST_REQUIRE_SANDBOX") == "1":
    raise RuntimeError(f"CDS_TEST_REQUIRE_SANDBOX=1 but {_BROWSER_MISSING}")
needs_browser = pytest.mark.skipif(_BROWSER_MISSING is not None, reason=_BROWSER_MISSING or "")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveService, AuthServer, FhirStore, str]]:
    """``cds-service serve`` (gunicorn, 2 workers) with the SMART app on, the stand-ins beside it."""
    directory = tmp_path_factory.mktemp("smart-live")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = AuthServer(client_id=CLIENT_ID, redirect_uri=f"{base}/evidence/callback")
    store = FhirStore(page_size=50)
    fill(store, story_patient())
    with running_auth_server(server), running_smart_fhir_server(store, server) as fhir_base:
        store.token = server.access_token
        env = {
            "DATABASE_URL": f"sqlite:///{directory / 'audit.sqlite3'}",
            "CDS_PUBLIC_BASE_URL": base,
            "CDS_SMART_CLIENT_ID": CLIENT_ID,
            "CDS_FHIR_SERVER_ALLOWLIST": fhir_base,
            "CDS_FHIR_ALLOW_HTTP": "true",
            "CDS_LOG_FORMAT": "json",
        }
        service = start(env, directory / "service.log", port=port, workers=2)
        wait_ready(service)
        try:
            yield service, server, store, fhir_base
        finally:
            stop(service)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """One browser tab: every URL it requested, every console error, what it was answered."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.urls: list[str] = []
        self.console_errors: list[str] = []
        self.statuses: dict[str, int] = {}
        self.page.on("request", lambda r: self.urls.append(r.url))
        self.page.on("response", lambda r: self.statuses.__setitem__(r.url, r.status))
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def close(self) -> None:
        self.context.close()


@pytest.mark.e2e
@needs_browser
def test_a_browser_follows_the_ehr_launch_and_sees_the_timeline(
    live: tuple[LiveService, AuthServer, FhirStore, str], browser: Any
) -> None:
    service, server, store, fhir_base = live
    handle = server.register_launch(PATIENT, app_context=APP_CONTEXT, fhir_user=f"{fhir_base}/{USER}")
    visit = Visit(browser)
    try:
        visit.page.goto(f"{service.base}/evidence/launch?iss={fhir_base}&launch={handle}", wait_until="load")
        page = visit.page
        assert page.url.startswith(f"{service.base}/evidence/callback?code="), page.url
        assert visit.statuses[page.url] == 200
        assert any(url.startswith(f"{server.base}/authorize?") for url in visit.urls)
        assert page.title()
        for part in SVG_PARTS:
            assert page.locator(f"svg [id^='{part}']").count() > 0, part
        assert page.locator("svg title").count() > 0  # readable without the picture
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "evidence-page.png"), full_page=True)
        page.locator("svg").first.screenshot(path=str(ARTIFACTS / "evidence-timeline.png"))
        assert visit.console_errors == []  # no CSP violation: every style is nonce'd or an attribute
        # Nothing secret in the browser: not in a URL it visited, not in a cookie; the launch cookie is gone.
        assert not any(server.access_token in url for url in visit.urls)
        cookies = visit.context.cookies()
        assert not any("igrt-launch" in c["name"] or server.access_token in c["value"] for c in cookies), cookies
        assert not any(server.access_token in path for path in store.requests)
        log = service.log_text()
        assert "evidence callback rendered the page" in log
        assert server.access_token not in log and PATIENT not in log
    finally:
        visit.close()


@pytest.mark.e2e
@needs_browser
def test_a_browser_gets_a_clear_page_for_a_declined_or_unknown_launch(
    live: tuple[LiveService, AuthServer, FhirStore, str], browser: Any
) -> None:
    service, server, _store, fhir_base = live
    visit = Visit(browser)
    try:
        server.deny = True
        visit.page.goto(f"{service.base}/evidence/launch?iss={fhir_base}&launch={server.register_launch(PATIENT)}")
        assert visit.statuses[visit.page.url] == 403
        assert "declined" in visit.page.locator("h1").inner_text()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        visit.page.screenshot(path=str(ARTIFACTS / "access-denied.png"))
        unknown = f"{service.base}/evidence/launch?iss=https://fhir.elsewhere.example/r4&launch=x"
        visit.page.goto(unknown)
        assert visit.statuses[unknown] == 400
        assert "not known" in visit.page.locator("h1").inner_text()
        visit.page.screenshot(path=str(ARTIFACTS / "unknown-iss.png"))
        assert visit.console_errors == [] or all("403" in e or "400" in e for e in visit.console_errors)
        assert "Traceback" not in service.log_text()
    finally:
        server.reset()
        visit.close()
