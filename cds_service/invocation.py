"""One service call, from a validated hook request to the CDS Hooks response; shared by HTTP and the CLI.

Steps: find the immunoglobulin orders (order hooks; none -> no card), read the prefetch (412 if required data is
missing), map FHIR to the guideline model, evaluate on today's date, decide whether to show the card, render it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

from cds_service.cards import render_card
from cds_service.definitions import ServiceDefinition
from cds_service.prefetch import gather
from cds_service.protocol import HookRequest
from cds_service.settings import Settings
from fhir_mappers import (
    ImmunoglobulinOrder,
    MappingContext,
    code_table,
    immunoglobulin_orders,
    medications_by_key,
    summarize,
)
from fhir_mappers.orders import draft_resources
from guideline import evaluate
from guideline.relevance import concerns, worth_showing

logger = logging.getLogger(__name__)

NO_CARDS: Mapping[str, Any] = {"cards": []}


def invoke(service: ServiceDefinition, request: HookRequest, settings: Settings, *, as_of: date) -> dict[str, Any]:
    """Answer one hook call.

    Returns:
        ``{"cards": [...]}`` with at most one decision card.

    Raises:
        InvalidHookRequestError: a malformed prefetch value.
        PrefetchUnavailableError: required data neither prefetched nor fetchable (412).
    """
    context = request.context
    drafts = draft_resources(context.draftOrders)
    draft_medications = medications_by_key(drafts)
    orders: tuple[ImmunoglobulinOrder, ...] = ()
    if service.hook in ("order-select", "order-sign"):
        ctx = MappingContext(tz=settings.tz, codes=code_table(), medications=draft_medications)
        selections = context.selections if service.hook == "order-select" else None
        orders = immunoglobulin_orders(drafts, ctx, selections=selections)
        if not orders:
            _log(service, request, outcome="no-immunoglobulin-order")
            return dict(NO_CARDS)
    gathered = gather(request.prefetch, optional_keys=settings.optional_prefetch)
    ctx = MappingContext(
        tz=settings.tz,
        codes=code_table(),
        medications={**medications_by_key(gathered.resources), **draft_medications},
        full_urls=gathered.full_urls,
    )
    record = summarize(gathered.resources, patient_id=context.patientId, ctx=ctx, issues=gathered.issues)
    finding = evaluate(record, as_of=as_of, p=settings.parameters)
    if service.hook == "patient-view":
        concerned = concerns(record, as_of=as_of, p=settings.parameters)
        if not worth_showing(finding, concerned=concerned):
            _log(service, request, outcome=f"quiet:{finding.rule.value}")
            return dict(NO_CARDS)
    card = render_card(
        finding,
        hook=service.hook,
        hook_instance=request.hookInstance,
        patient_id=context.patientId,
        orders=orders,
        settings=settings,
    )
    _log(service, request, outcome=f"{finding.recommendation.value}:{finding.rule.value}")
    return {"cards": [card]}


def _log(service: ServiceDefinition, request: HookRequest, *, outcome: str) -> None:
    # No patient identifiers and no tokens: the hookInstance is the client's correlation id.
    logger.info("service=%s hookInstance=%s outcome=%s", service.id, request.hookInstance[:64], outcome)
