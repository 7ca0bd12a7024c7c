"""The CDS Hooks HTTP surface: discovery, service calls and feedback (CDS Hooks 2.0.1).

Every endpoint authenticates the client JWT first (unless ``CDS_AUTH=off``); CORS preflights (OPTIONS) are
answered without authentication, as browsers send them without credentials. Every decision is committed (group
commit on the audit writer's thread), or held for retry while the database is unavailable
(``cds_service.audit.queue``), before the answer is sent; every feedback item is recorded before ``{}`` is sent,
else the answer is 503 so that the EHR retries.
A hook call that is not decided within ``CDS_LATENCY_BUDGET_MS`` (counted from the request's arrival) is answered
``{"cards": []}`` and recorded as ``budget-exceeded`` (``cds_service.time_limits``).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, current_app, g, request

from cds_service.http.json_body import parse_body
from cds_service.http.request_body import read_body
from cds_service.http.runtime import Runtime, runtime_of
from cds_service.invocation import Answer, invoke, may_wait_on_ehr, silenced
from cds_service.observability import (
    BUDGET_OVERRUNS,
    DECISIONS,
    FEEDBACK_OUTCOMES,
    FEEDBACK_REFUSED,
    HOOK_INSTANCE,
    LARGE_REQUESTS_REFUSED,
    SILENT_DECISIONS,
)
from cds_service.settings import Settings
from cds_service.time_limits import BudgetExceededError, Deadline
from cds_service.wire.definitions import SERVICES, ServiceDefinition, lookup, usage_requirements
from cds_service.wire.errors import (
    AuthenticationError,
    PrefetchUnavailableError,
    ServiceBusyError,
    UnknownCardError,
)
from cds_service.wire.feedback import FEEDBACK_JSON_LIMITS, parse_feedback
from cds_service.wire.requests import HookRequest, parse_hook_request
from guideline.sources import GUIDELINE_VERSION
from storage import DecisionEntry, StorageError

logger = logging.getLogger(__name__)

bp = Blueprint("cds_services", __name__, url_prefix="/cds-services")

FEEDBACK_BODY_SECONDS = 10.0
"""Time for a feedback body to arrive (not on the clinician's path; 100 items are a few kB)."""


def runtime() -> Runtime:
    """Return the runtime built at start-up for the current app."""
    return runtime_of(current_app)


def settings() -> Settings:
    """Return the settings validated at start-up."""
    return runtime().settings


@bp.before_request
def authenticate_client() -> None:
    """Validate the client JWT against the public URL of this endpoint; sets ``g.client_issuer``.

    Raises:
        AuthenticationError: 401 with no detail.
    """
    g.client_issuer = None
    current = runtime()
    if request.method == "OPTIONS" or current.authenticator is None:
        return
    # Settings refuse CDS_AUTH=required without a public base URL: aud never comes from the caller's Host header.
    audience = f"{current.settings.auth.public_base_url}{request.path}"
    try:
        identity = current.authenticator.authenticate(request.headers.get("Authorization"), audience=audience)
    except AuthenticationError as error:
        logger.info("401 for %s: %s", request.path[:100], error.reason)
        raise
    g.client_issuer = identity.issuer


@bp.get("")
def discovery() -> dict[str, Any]:
    """``GET /cds-services``: one service per hook, with prefetch templates."""
    g.metric_hook = "discovery"
    requirements = usage_requirements(auth_required=settings().auth.required)
    language = settings().language
    silent = settings().silent_services
    return {
        "services": [
            s.discovery(usage_requirements=requirements, default_language=language, silent=s.id in silent)
            for s in SERVICES
        ]
    }


@bp.post("/<service_id>")
def call_service(service_id: str) -> dict[str, Any]:
    """``POST /cds-services/{id}``: validate, evaluate, record and answer with cards.

    Raises:
        UnknownServiceError: 404. InvalidHookRequestError: 400. PrefetchUnavailableError: 412.
        RequestTooLargeError: 413 (more JSON values, nesting, Bundle entries or resources than a call may hold).
        AuditQueueFullError: 503 (the decision can be neither recorded nor queued).
        ServiceBusyError: 503 (a large call got no large-request slot within the budget; body not parsed).
    """
    service = lookup(service_id)
    g.metric_hook = service.hook
    current = runtime()
    deadline = Deadline(g.started + current.settings.latency_budget, current.settings.latency_budget)
    # The body is read before the large-request slot is taken, within the budget: a client uploading slowly holds
    # its own thread until the deadline (then 408), never the slot other large calls need.
    raw = read_body(deadline)
    try:
        admission = current.large_requests.admit(len(raw), deadline)
    except ServiceBusyError:
        LARGE_REQUESTS_REFUSED.labels(service.hook).inc()
        logger.warning("service=%s outcome=busy: a large call got no slot within the latency budget", service.id)
        raise
    try:
        body = parse_body(raw, current.settings.json_limits, admission, deadline)  # measured, then parsed
        hook_request = parse_hook_request(body, hook=service.hook)
    except BaseException:
        admission.release()
        raise
    HOOK_INSTANCE.set(hook_request.hookInstance[:64])
    as_of = current.settings.today()
    accept_language = request.headers.get("Accept-Language")  # read here: evaluate() may run on another thread
    evidence_base_url = evidence_base(current.settings)
    patient = current.pseudonymizer.patient(hook_request.context.patientId)
    card_seed = current.pseudonymizer.card_seed(service.id, g.client_issuer, hook_request.hookInstance, patient)
    fhir_client = current.fhir_client

    def evaluate() -> Answer:
        return invoke(
            service,
            hook_request,
            current.settings,
            as_of=as_of,
            fhir_client=fhir_client,
            deadline=deadline,
            accept_language=accept_language,
            card_seed=card_seed,
            evidence_base_url=evidence_base_url,
            admission=admission,
        )

    # Only a call that may wait on the EHR needs a thread the request can stop waiting for; the others only compute,
    # inline, and check the deadline between their steps (cds_service.http.evaluator).
    run = current.evaluator.run if may_wait_on_ehr(hook_request, fhir_client) else current.evaluator.run_inline
    try:
        # The large-request slot is held until the evaluation is over, even one that runs on past the budget.
        answer = run(evaluate, deadline, on_done=admission.release)
    except PrefetchUnavailableError:
        _record(
            current, service, hook_request, Answer({"cards": []}, "prefetch-unavailable"), as_of=as_of, patient=patient
        )
        raise
    except BudgetExceededError as error:
        BUDGET_OVERRUNS.labels(service.hook).inc()
        logger.warning("service=%s outcome=budget-exceeded: answered without cards, %s", service.id, error)
        answer = Answer({"cards": []}, "budget-exceeded")
    if service.id in current.settings.silent_services:
        answer = silenced(answer)
    g.access_fields = {"service": service.id, "outcome": answer.described}  # on the request's one log line
    _record(current, service, hook_request, answer, as_of=as_of, patient=patient)
    if answer.finding is not None:
        labels = (service.hook, answer.finding.recommendation.value, answer.finding.rule.value)
        DECISIONS.labels(*labels).inc()
        if answer.outcome == "silent":
            SILENT_DECISIONS.labels(*labels).inc()
    return answer.response


def evidence_base(settings: Settings) -> str | None:
    """The base URL of the evidence page's SMART launch in this call's cards; ``None`` while the app is off.

    The card links the evidence page only when the SMART app is configured (``CDS_SMART_CLIENT_ID``): a link that
    can only lead to "not enabled" would cost the clinician a click for nothing. The base is ``CDS_PUBLIC_BASE_URL``
    where set (required in production, with authentication); in a local trial without it, the URL this request came
    in on, so that the Sandbox's launch reaches this server.
    """
    if not settings.smart.enabled:
        return None
    configured = settings.auth.public_base_url
    return str(configured) if configured is not None else request.url_root


@bp.post("/<service_id>/feedback")
def feedback(service_id: str) -> dict[str, Any]:
    """``POST /cds-services/{id}/feedback``: validate and store every item (all or none).

    Accepted only about cards this service issued at this endpoint to this client (the JWT issuer; ``None`` with
    authentication off); an item already stored is not stored again (idempotent, so an EHR may retry). The report
    orders feedback by time received, not by the client's ``outcomeTimestamp``.

    Raises:
        UnknownServiceError: 404. InvalidHookRequestError: 400. UnknownCardError: 404 (nothing stored).
        StorageError: 503, also when the card is unknown while this process still queues unwritten decisions
        (the card may be among them: the EHR retries).
    """
    service = lookup(service_id)
    g.metric_hook = "feedback"
    raw = read_body(Deadline(g.started + FEEDBACK_BODY_SECONDS, FEEDBACK_BODY_SECONDS))
    body = parse_feedback(parse_body(raw, FEEDBACK_JSON_LIMITS))
    received_at = datetime.now(UTC)
    entries = [
        item.entry(service_id=service.id, client_issuer=g.client_issuer, received_at=received_at)
        for item in body.feedback
    ]
    current = runtime()
    targets = current.store.issued(entries)
    rules = [target.rule if target is not None else None for target in targets]
    unknown = [i for i, rule in enumerate(rules) if rule is None]
    if unknown:
        if current.decisions.pending():
            raise StorageError("decisions are still queued for the audit database; the card may be among them")
        FEEDBACK_REFUSED.inc()
        logger.info("service=%s feedback refused: %d item(s) about cards not issued here", service.id, len(unknown))
        raise UnknownCardError(
            f"feedback[{unknown[0]}].card: no card with this uuid was issued by this service to this client; "
            "nothing was stored.",
            expression=f"feedback[{unknown[0]}].card",
        )
    not_offered = [
        i
        for i, (entry, target) in enumerate(zip(entries, targets, strict=True))
        if target is not None
        and target.suggestions is not None
        and not set(entry.accepted_suggestions) <= target.suggestions
    ]
    if not_offered:
        FEEDBACK_REFUSED.inc()
        logger.info("service=%s feedback refused: a suggestion the card never offered", service.id)
        raise UnknownCardError(
            f"feedback[{not_offered[0]}].acceptedSuggestions: this card offered no suggestion with that id; "
            "nothing was stored.",
            expression=f"feedback[{not_offered[0]}].acceptedSuggestions",
        )
    stored = current.store.record_feedback(entries)
    rule_of = {e.card_uuid: rule for e, rule in zip(entries, rules, strict=True)}
    for entry in stored:  # new items only: a retried body is not counted twice
        FEEDBACK_OUTCOMES.labels(service.hook, rule_of[entry.card_uuid] or "?", entry.outcome).inc()
    logger.info("service=%s feedback items=%d new=%d", service.id, len(entries), len(stored))
    return {}


def _record(
    current: Runtime,
    service: ServiceDefinition,
    hook_request: HookRequest,
    answer: Answer,
    *,
    as_of: date,
    patient: str,
) -> None:
    """Record the call's decision row: return once committed or held (``DecisionWriter.record``).

    ``patient`` is its pseudonym (``Pseudonymizer.patient``, computed once).
    """
    finding = answer.finding
    current.decisions.record(
        DecisionEntry(
            recorded_at=datetime.now(UTC),
            service_id=service.id,
            hook=service.hook,
            hook_instance=hook_request.hookInstance,
            client_issuer=g.client_issuer,
            patient_hmac=patient,
            outcome=answer.outcome,
            rule_id=finding.rule.value if finding else None,
            recommendation=finding.recommendation.value if finding else None,
            population=int(finding.population) if finding and finding.population else None,
            guideline_version=GUIDELINE_VERSION,
            card_uuid=answer.card_uuid,
            as_of=as_of,
            fetched_keys=answer.fetched_keys,
            data_issue_count=answer.data_issue_count,
            issued_cards=answer.issued if answer.outcome != "silent" else (),
            on_igrt=finding.on_igrt if finding else None,
            suggestion_uuids=answer.issued[0].suggestions if answer.issued else (),
        )
    )
