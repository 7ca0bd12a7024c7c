"""One service call, from a validated hook request to the CDS Hooks response; shared by HTTP and the CLI.

Steps: find the immunoglobulin orders (services whose policy reads orders; none -> no card), gather the prefetch and
fetch what it lacks (412 if required data stays missing), ``decision.decide`` (map, drop immunomodulatory orders,
assess on today's date, show or stay quiet under the service's policy), render the cards.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from cds_service.cards.i18n import LANGUAGES, translator
from cds_service.cards.options import CardOptions, resolve
from cds_service.cards.render import CardCall, render_advice_card, render_card
from cds_service.ehr.fhir_client import Fetched, FhirAccessError, FhirClient, LargeCallGate
from cds_service.ehr.prefetch import Fetch, gather, prefetch_complete
from cds_service.observability import FHIR_FETCH_FAILURES, FHIR_FETCH_SECONDS
from cds_service.settings import Settings
from cds_service.time_limits import Deadline
from cds_service.wire.definitions import ServiceDefinition
from cds_service.wire.requests import HookRequest
from decision import Decision, decide
from fhir_mappers import ImmunoglobulinOrder, MappingContext, code_table, immunoglobulin_orders, medications_by_key
from fhir_mappers.orders import draft_resources
from guideline.model import Finding
from storage import IssuedCard

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """The response body and what was decided, for the audit.

    Attributes:
        response: ``{"cards": [...]}``, with at most one decision card.
        outcome: ``card`` | ``silent`` (a card not shown: the service is in silent mode, ``silenced``) | ``quiet``
            (decided, nothing to show) | ``no-immunoglobulin-order`` |
            ``immunomodulation-order`` (every immunoglobulin order is immunomodulatory, not IgRT: no card) |
            ``budget-exceeded`` (set by the HTTP layer: not decided within the latency budget).
        finding: the guideline finding, when a decision was made.
        fetched_keys: prefetch keys read from ``fhirServer``.
        data_issue_count: data the service could not interpret.
        issued: every card returned (uuid, kind, rule), the decision card first, so feedback on any of them is
            attributed.
        decision: the whole decision (mapped record, assessment, orders) the card was rendered from; the evidence
            page (``cds_service.evidence``) renders the same object, so page and card cannot disagree.
    """

    response: dict[str, Any]
    outcome: str
    finding: Finding | None = None
    fetched_keys: tuple[str, ...] = field(default=())
    data_issue_count: int = 0
    issued: tuple[IssuedCard, ...] = ()
    decision: Decision | None = None

    @property
    def described(self) -> str:
        """The outcome for the access log, e.g. ``start:pop2-...`` or ``quiet:<rule>``.

        ``<recommendation>:<rule>`` for a card (``silent:`` before it in silent mode), ``quiet:<rule>``, else
        ``outcome`` (``no-immunoglobulin-order``, ``budget-exceeded``, ...).
        """
        finding = self.finding
        if finding is None:
            return self.outcome
        if self.outcome == "quiet":
            return f"quiet:{finding.rule.value}"
        shown = f"{finding.recommendation.value}:{finding.rule.value}"
        return f"silent:{shown}" if self.outcome == "silent" else shown

    @property
    def card_uuid(self) -> str | None:
        """The decision card's uuid, when a card is returned."""
        return self.issued[0].uuid if self.issued else None


def fallback_fetch(
    request: HookRequest,
    client: FhirClient | None,
    deadline: Deadline | None = None,
    gate: LargeCallGate | None = None,
) -> tuple[Fetch | None, str]:
    """Return the fallback fetch for this request, or ``None`` and why there is none.

    The fetch may wait on the EHR up to ``CDS_FHIR_BUDGET_SECONDS`` (all keys and pages together); that time is
    added to ``deadline`` rather than taken from the service's own latency budget (``Deadline.waiting_on_ehr``).
    Its time and failures are counted (``cds_fhir_fetch_duration_seconds``, ``cds_fhir_fetch_failures_total``).
    ``gate``: the call's large-call slot, taken once its answers pass the threshold (``FhirClient.fetch_all``).
    """
    if client is None:
        return None, "no FHIR server access from this command"
    if not request.fhirServer or request.fhirAuthorization is None:
        return None, "no fhirServer and fhirAuthorization in the request"
    server = request.fhirServer
    token = request.fhirAuthorization.access_token.get_secret_value()

    def fetch(urls: Mapping[str, str]) -> Mapping[str, Fetched | FhirAccessError]:
        allowance = client.settings.budget
        waiting = deadline.waiting_on_ehr(allowance) if deadline is not None else nullcontext()
        with FHIR_FETCH_SECONDS.time(), waiting:
            results = client.fetch_all(server, token, urls, budget=allowance, gate=gate)
        for result in results.values():
            if isinstance(result, FhirAccessError):
                FHIR_FETCH_FAILURES.labels(result.kind).inc()
        return results

    return fetch, ""


def may_wait_on_ehr(request: HookRequest, client: FhirClient | None) -> bool:
    """Return whether answering ``request`` may wait on the EHR's FHIR server (a fallback fetch).

    False when no fetch can happen: no FHIR client (the command line), no ``fhirServer`` and ``fhirAuthorization``
    in the request, a ``fhirServer`` the client refuses without connecting (not on the allowlist, plain http), or a
    complete prefetch (``cds_service.ehr.prefetch.prefetch_complete``). The HTTP layer evaluates those calls inline
    on the request thread, the others on the evaluation pool (``cds_service.http.evaluator``). Never raises.
    """
    if client is None or not request.fhirServer or request.fhirAuthorization is None:
        return False
    try:
        client.check_server(request.fhirServer)
    except FhirAccessError:
        return False
    return not prefetch_complete(request.prefetch)


def invoke(
    service: ServiceDefinition,
    request: HookRequest,
    settings: Settings,
    *,
    as_of: date,
    fhir_client: FhirClient | None = None,
    deadline: Deadline | None = None,
    accept_language: str | None = None,
    language: str | None = None,
    card_seed: str | None = None,
    evidence_base_url: str | None = None,
    admission: LargeCallGate | None = None,
) -> Answer:
    """Answer one hook call.

    ``card_seed``: the secret seed of this call's card uuids (``Pseudonymizer.card_seed``); ``None`` uses the
    ``hookInstance`` (the CLI and tests, where no feedback is taken).

    ``deadline`` bounds the fallback fetch, and is checked between the steps (after gathering the data, after the
    decision, after the cards): past it, ``BudgetExceededError`` (the HTTP layer also stops waiting for the whole
    call at it when the call is evaluated on the pool). ``None``: no time limit (the command line).
    ``accept_language``: the HTTP ``Accept-Language`` header; ``language`` forces the card language (CLI).
    ``evidence_base_url``: where the evidence page's SMART launch lives (the card links to it); ``None``: no link.
    ``admission``: the call's place at its worker's large-call gate (``cds_service.http.large_requests``): large
    fallback answers are read and parsed only under the slot. ``None``: no gate (the command line).

    Raises:
        InvalidHookRequestError: a malformed prefetch value.
        PrefetchUnavailableError: required data neither prefetched nor fetchable (412).
        RequestTooLargeError: a prefetch Bundle with more entries, or a prefetch with more resources, than a call
            may hold (413).
        BudgetExceededError: ``deadline`` passed (at a checkpoint).
    """
    context = request.context
    policy = service.policy
    drafts = draft_resources(context.draftOrders)
    draft_medications = medications_by_key(drafts)
    orders: tuple[ImmunoglobulinOrder, ...] = ()
    if policy.reads_orders:
        ctx = MappingContext(tz=settings.tz, codes=code_table(), medications=draft_medications)
        selections = context.selections if policy.selected_orders_only else None
        orders = immunoglobulin_orders(drafts, ctx, selections=selections)
        if not orders:
            _log(service, request, outcome="no-immunoglobulin-order")
            return Answer({"cards": []}, "no-immunoglobulin-order")
    fetch, no_fetch_reason = fallback_fetch(request, fhir_client, deadline, admission)
    gathered = gather(
        request.prefetch,
        context=context.model_dump(),
        optional_keys=settings.optional_prefetch,
        fetch=fetch,
        no_fetch_reason=no_fetch_reason,
        limits=settings.resource_limits,
    )
    if deadline is not None:
        deadline.check()
    decision = decide(
        gathered.resources,
        patient_id=context.patientId,
        as_of=as_of,
        parameters=settings.parameters,
        tz=settings.tz,
        policy=policy,
        medications={**medications_by_key(gathered.resources), **draft_medications},
        full_urls=gathered.full_urls,
        orders=orders,
        issues=gathered.issues,
    )
    if deadline is not None:
        deadline.check()
    fetched = gathered.fetched_keys
    assessment = decision.assessment
    if assessment is None:
        _log(service, request, outcome=decision.outcome)
        return Answer({"cards": []}, decision.outcome, fetched_keys=fetched, decision=decision)
    finding = assessment.finding
    issue_count = len(finding.data_issues)
    if not decision.shown:
        _log(service, request, outcome=f"quiet:{finding.rule.value}")
        return Answer({"cards": []}, "quiet", finding, fetched, issue_count, decision=decision)
    orders = decision.orders
    options = card_options(request, settings, accept_language=accept_language, language=language)
    call = CardCall(
        card_seed=card_seed or request.hookInstance,
        patient_id=context.patientId,
        settings=settings,
        t=translator(options.language),
        options=options,
        service_id=service.id,
        evidence_base_url=evidence_base_url,
    )
    card = render_card(finding, call, about_orders=policy.reads_orders, orders=orders, advice=assessment.advice)
    cards = [card]
    issued = [IssuedCard(str(card["uuid"]), "decision", finding.rule.value, _offered(card))]
    if options.advice == "cards":
        for i, advice in enumerate(assessment.advice):
            extra = render_advice_card(advice, call, index=i)
            cards.append(extra)
            issued.append(IssuedCard(str(extra["uuid"]), advice.kind.value, advice.rule.value, _offered(extra)))
    _log(service, request, outcome=f"{finding.recommendation.value}:{finding.rule.value}")
    return Answer({"cards": cards}, "card", finding, fetched, issue_count, tuple(issued), decision)


def _offered(card: dict[str, Any]) -> tuple[str, ...]:
    """The uuids of the suggestions a card offers (accepted feedback may name only these)."""
    return tuple(str(s["uuid"]) for s in card.get("suggestions", ()))


def silenced(answer: Answer) -> Answer:
    """The answer of a service in silent mode: evaluated and audited as usual, answered with no cards.

    A decision that would have been a card is recorded with outcome ``silent`` and its card uuid (the agreement
    report lists disagreements by it); nothing of it reaches the client, so no feedback can come for it. Every other
    outcome is unchanged (it showed no card anyway).
    """
    if answer.outcome != "card":
        return answer
    return replace(answer, response={"cards": []}, outcome="silent")


def card_options(
    request: HookRequest, settings: Settings, *, accept_language: str | None = None, language: str | None = None
) -> CardOptions:
    """Return the card options of this call (``cds_service.cards.options``); ``language`` overrides them all (CLI).

    Never raises: configuration is ignored where it is not understood.
    """
    options = resolve(
        (request.model_extra or {}).get("extension"),
        accept_language=accept_language,
        default_language=settings.language,
    )
    if language is not None and language in LANGUAGES:
        options = replace(options, language=language)
    return options


def _log(service: ServiceDefinition, request: HookRequest, *, outcome: str) -> None:
    # DEBUG: over HTTP the request's one access-log line carries the outcome (Answer.described); no patient
    # identifiers and no tokens: the hookInstance is the client's correlation id.
    logger.debug("service=%s hookInstance=%s outcome=%s", service.id, request.hookInstance[:64], outcome)
