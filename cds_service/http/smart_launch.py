"""The evidence page as a SMART on FHIR app (SMART App Launch 2.x, "EHR Launch"): two routes.

1. ``/evidence/launch?iss=<FHIR base>&launch=<opaque>``: ``iss`` must be on ``CDS_FHIR_SERVER_ALLOWLIST``; its
   ``.well-known/smart-configuration`` is read (``cds_service.smart.discovery``); a new launch is stored under the
   hash of a random session id (``storage.launches``), the id goes into a ``Secure; HttpOnly; SameSite`` cookie,
   and the browser is sent to the authorization endpoint (code flow, PKCE S256, ``state``, ``aud=iss``, the
   ``launch`` handle, the scopes derived from the prefetch: ``cds_service.smart.oauth``, ``cds_service.smart.scopes``).
2. ``/evidence/callback?code=..&state=..``: the cookie named after ``state`` gives the session id; the launch is
   claimed once (a replay finds nothing); Authlib checks ``state`` and exchanges the code with the verifier; the
   token response's patient and token make a patient-view request (``cds_service.smart.hook_request``), which the
   service decides through its own FHIR client, and the evidence page is rendered in this same response.

Nothing outlives the callback response: the token is dropped with the request and never stored, logged, put in a
URL or a cookie; the cookie is deleted. A reload of the page therefore launches again from the EHR.

Every response carries the strict headers of ``cds_service.smart.pages``; every failure is an HTML page with the
status of ``cds_service.smart.errors`` (400/401/403/404/502/503), never a stack trace. Each launch step is logged
and counted (``cds_smart_launches_total{step, outcome}``) by outcome code only: no token, code, patient or user.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from flask import Blueprint, Flask, Response, current_app, g, redirect, request
from flask.typing import ResponseReturnValue
from prometheus_client import Counter
from requests.adapters import HTTPAdapter

from cds_service.cards.options import negotiate
from cds_service.ehr.fhir_client import FhirAccessError, FhirClient
from cds_service.evidence.context import EvidenceContext
from cds_service.evidence.page import explain_request
from cds_service.http.runtime import runtime_of
from cds_service.settings import Settings
from cds_service.settings.smart import CALLBACK_PATH
from cds_service.smart.discovery import discover
from cds_service.smart.errors import (
    RELAUNCH,
    AppOffError,
    AuthorizationDeniedError,
    AuthorizationServerError,
    InvalidLaunchError,
    LaunchError,
    LaunchStateError,
    UnknownIssuerError,
    launch_error_for,
)
from cds_service.smart.hook_request import patient_view_request
from cds_service.smart.oauth import SmartClient, authorization_url, exchange_code
from cds_service.smart.pages import error_page, new_nonce, security_headers
from cds_service.smart.scopes import requested_scopes
from cds_service.smart.session import MAX_SESSION_ID_LENGTH, LaunchSecrets, cookie_name
from cds_service.time_limits import Deadline
from cds_service.wire.definitions import SERVICES, ServiceDefinition
from storage import LaunchStore, PendingLaunch

logger = logging.getLogger(__name__)

bp = Blueprint("smart_launch", __name__, url_prefix="/evidence")
LAUNCH_PATH = "/evidence/launch"

LAUNCHES = Counter(
    "cds_smart_launches_total",
    "SMART launches of the evidence page by step (launch, callback) and outcome (redirected, rendered, or the "
    "error code).",
    ["step", "outcome"],
)
MAX_ISS_LENGTH = 2048
MAX_LAUNCH_LENGTH = 1024
MAX_STATE_LENGTH = 200
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")


@dataclass(frozen=True)
class SmartLaunchRuntime:
    """What the launch routes hold for the worker's lifetime.

    Attributes:
        settings: the validated settings.
        launches: pending launches, in the audit database.
        http: the pooled session for SMART configurations (no retries, no redirects followed).
        fhir_client: the service's FHIR client (allowlist, budgets, byte caps), also used to check ``iss``.
        client: this app as registered at the EHR, or ``None`` when the app is off.
        service: the patient-view service whose decision the page shows.
    """

    settings: Settings
    launches: LaunchStore
    http: requests.Session
    fhir_client: FhirClient
    client: SmartClient | None
    service: ServiceDefinition


def init_app(app: Flask) -> None:
    """Build the launch runtime from the app's runtime (``cds_service.http.runtime``) and register the routes."""
    runtime = runtime_of(app)
    settings = runtime.settings
    smart = settings.smart
    client = None
    redirect_uri = smart.redirect_uri_with(settings.auth.public_base_url)
    if smart.client_id is not None and redirect_uri is not None:  # the settings refuse one without the other
        client = SmartClient(
            client_id=smart.client_id,
            client_secret=smart.client_secret,
            redirect_uri=redirect_uri,
            scopes=requested_scopes(smart.scopes),
            timeout=smart.timeout_seconds,
        )
    http = requests.Session()
    http.mount("https://", HTTPAdapter(max_retries=0))
    http.mount("http://", HTTPAdapter(max_retries=0))
    app.extensions["smart_launch"] = SmartLaunchRuntime(
        settings=settings,
        launches=LaunchStore(runtime.store.database),
        http=http,
        fhir_client=runtime.fhir_client,
        client=client,
        service=next(s for s in SERVICES if s.hook == "patient-view"),
    )
    app.register_blueprint(bp)


def _runtime() -> SmartLaunchRuntime:
    value = current_app.extensions["smart_launch"]
    assert isinstance(value, SmartLaunchRuntime)
    return value


def _client(current: SmartLaunchRuntime) -> SmartClient:
    if current.client is None:
        raise AppOffError(
            "The evidence page is a SMART on FHIR app that this service has not been set up for "
            "(CDS_SMART_CLIENT_ID is not set). Ask the service's administrator; see docs/smart-launch.md."
        )
    return current.client


@bp.before_request
def _prepare() -> None:
    g.metric_hook = "evidence"
    g.style_nonce = new_nonce()
    g.clear_cookie = None


@bp.after_request
def _secure(response: Response) -> Response:
    """Set the strict headers on every response, and delete the launch cookie once its launch is over."""
    smart = _runtime().settings.smart
    response.headers.update(security_headers(g.style_nonce, smart.frame_ancestors))
    name = g.get("clear_cookie")
    if name is not None:
        none = smart.cookie_same_site == "none"
        response.delete_cookie(
            name, path="/", secure=smart.cookie_secure, httponly=True, samesite=_same_site(none), partitioned=none
        )
    return response


@bp.errorhandler(Exception)
def _failed(error: Exception) -> Response:
    """Answer any failure with its HTML page (``launch_error_for``), logged and counted by code."""
    launch_error = launch_error_for(error)
    step = "callback" if request.path.endswith(CALLBACK_PATH) else "launch"
    if type(launch_error) is LaunchError:
        logger.error("evidence %s failed unexpectedly (%s)", step, type(error).__name__, exc_info=error)
    else:
        logger.info("evidence %s refused: %d %s", step, launch_error.status, launch_error.code)
    LAUNCHES.labels(step, launch_error.code).inc()
    return Response(error_page(launch_error, nonce=g.style_nonce), status=launch_error.status, mimetype="text/html")


@bp.get("/launch")
def launch() -> ResponseReturnValue:
    """``GET /evidence/launch?iss=..&launch=..``: check, discover, remember, redirect to the authorization endpoint.

    Raises:
        AppOffError: 404. InvalidLaunchError: 400. UnknownIssuerError: 400. AuthorizationServerError: 502.
        storage.StorageError: 503.
    """
    current = _runtime()
    client = _client(current)
    iss, launch_handle = _launch_parameters(request.args)
    try:
        current.fhir_client.check_server(iss)
    except FhirAccessError:
        raise UnknownIssuerError(
            "The EHR that opened this page (its FHIR server, 'iss') is not on this service's list of FHIR servers "
            "(CDS_FHIR_SERVER_ALLOWLIST), so the service will not contact it."
        ) from None
    smart = current.settings.smart
    configuration = discover(
        iss, session=current.http, timeout=smart.timeout_seconds, allow_http=current.settings.ehr.allow_http
    )
    launch_secrets = LaunchSecrets.new()
    expires_at = datetime.now(UTC) + timedelta(seconds=smart.session_seconds)
    current.launches.begin(
        launch_secrets.session_hash,
        PendingLaunch(iss=iss, token_endpoint=configuration.token_endpoint, expires_at=expires_at),
    )
    target = authorization_url(client, configuration, launch_secrets, iss=iss, launch=launch_handle)
    response = redirect(target, code=302)
    none = smart.cookie_same_site == "none"
    response.set_cookie(
        cookie_name(launch_secrets.state, secure=smart.cookie_secure),
        launch_secrets.session_id,
        max_age=smart.session_seconds,
        path="/",
        secure=smart.cookie_secure,
        httponly=True,
        samesite=_same_site(none),
        partitioned=none,
    )
    logger.info("evidence launch redirected to the authorization server")
    LAUNCHES.labels("launch", "redirected").inc()
    return response


@bp.get("/callback")
def callback() -> Response:
    """``GET /evidence/callback?code=..&state=..``: claim the launch, exchange the code, decide, render the page.

    Raises:
        AppOffError: 404. LaunchStateError: 400. TokenRefusedError: 401. AuthorizationDeniedError: 403.
        AuthorizationServerError, LaunchContextError, FhirDataError (and the page's PrefetchUnavailableError): 502.
        storage.StorageError: 503.
    """
    current = _runtime()
    client = _client(current)
    launch_secrets, pending = _claim(current)
    _refuse_authorization_error(request.args)
    grant = exchange_code(client, pending.token_endpoint, launch_secrets, callback=request.url)
    hook_request = patient_view_request(grant, iss=pending.iss, client_id=client.client_id)
    settings = current.settings
    # The page's fallback fetch goes through the large-call gate as a hook call's does: a large FHIR answer is
    # parsed only in the worker's slot (issue 29).
    budget = settings.ehr.budget
    admission = runtime_of(current_app).large_requests.admit(0, Deadline(time.monotonic() + budget, budget))
    try:
        html = explain_request(
            current.service,
            hook_request,
            settings,
            as_of=settings.today(),
            language=negotiate(request.headers.get("Accept-Language")) or settings.language,
            fhir_client=current.fhir_client,
            card_context=EvidenceContext.from_app_context(grant.app_context),
            style_nonce=g.style_nonce,
            admission=admission,
        )
    finally:
        admission.release()
    logger.info("evidence callback rendered the page")
    LAUNCHES.labels("callback", "rendered").inc()
    return Response(html, status=200, mimetype="text/html")


def _launch_parameters(args: Mapping[str, str]) -> tuple[str, str]:
    iss, launch_handle = args.get("iss", ""), args.get("launch", "")
    if not iss or not launch_handle:
        missing = " or ".join(name for name, value in (("iss", iss), ("launch", launch_handle)) if not value)
        raise InvalidLaunchError(
            f"The address that opened this page has no {missing} parameter. The evidence page is opened by the EHR "
            "from a card's 'Evidence and timeline' link, not directly."
        )
    if len(iss) > MAX_ISS_LENGTH or len(launch_handle) > MAX_LAUNCH_LENGTH or not _PRINTABLE.match(launch_handle):
        raise InvalidLaunchError("The EHR's launch parameters are too long or malformed. " + RELAUNCH)
    return iss, launch_handle


def _claim(current: SmartLaunchRuntime) -> tuple[LaunchSecrets, PendingLaunch]:
    """Find this browser's launch from ``state`` and its cookie, and claim it (once).

    Raises:
        LaunchStateError: no or a too long ``state``, no cookie for it, or no pending launch (used, expired).
    """
    state = request.args.get("state", "")
    refused = LaunchStateError(
        "This sign-in answer matches no launch waiting in this browser: it was used already, has expired, or "
        "cookies are blocked for this site. " + RELAUNCH
    )
    if not state or len(state) > MAX_STATE_LENGTH:
        raise refused
    smart = current.settings.smart
    name = cookie_name(state, secure=smart.cookie_secure)
    session_id = request.cookies.get(name, "")
    if not session_id:
        raise refused
    g.clear_cookie = name
    launch_secrets = LaunchSecrets(session_id[:MAX_SESSION_ID_LENGTH])
    if not launch_secrets.matches(state):
        raise refused
    pending = current.launches.claim(launch_secrets.session_hash)
    if pending is None:
        raise refused
    return launch_secrets, pending


def _refuse_authorization_error(args: Mapping[str, str]) -> None:
    """Answer the authorization server's ``error`` redirect (RFC 6749 4.1.2.1) with its page."""
    error = args.get("error")
    if error is None:
        return
    if error == "access_denied":
        raise AuthorizationDeniedError(
            "The EHR's sign-in declined access to this patient's record for the evidence page (access_denied). "
            "If that was not intended, open the page again from the card and allow access."
        )
    shown = error if _ERROR_CODE.match(error) else "an error"
    raise AuthorizationServerError(
        f"The EHR's sign-in service refused the app's request ({shown}): the app's registration at the EHR may "
        "not match this service's settings (client id, redirect URI, scopes; see docs/smart-launch.md)."
    )


def _same_site(none: bool) -> str:
    """The cookie's ``SameSite``: ``None`` (then also ``Partitioned``) or ``Lax``.

    ``Partitioned`` (CHIPS): the cookie works in an iframe of the EHR without being a third-party cookie.
    """
    return "None" if none else "Lax"
