"""Render a guideline ``Finding`` as one CDS Hooks 2.0.1 card, with the ``sid-igrt`` extension; advice as cards.

The card states the recommendation in ``summary`` (< 140 characters, ``cds_service.cards.summary``), every evaluated
criterion with its data in ``detail`` (Markdown, ``cds_service.cards.detail``), the Medicinrådet document and section
in ``source`` and ``links``, and, where they help the clinician act, ``suggestions`` (remove the draft immunoglobulin
order; order IgG, IgA, IgM) and ``overrideReasons`` (``cds_service.cards.actions``); the machine-readable trace is in
``extension["sid-igrt"]`` (``cds_service.cards.extension``). Optional fields without a value are left out (CDS Hooks
"Use of JSON").
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cds_service.cards.actions import evidence_link, lab_order, links, override_reasons, source_json, suggestions
from cds_service.cards.detail import DEFAULT_OPTIONS, advice_detail, detail
from cds_service.cards.extension import advice_extension, decision_extension, prune
from cds_service.cards.i18n import Translator
from cds_service.cards.options import CardOptions
from cds_service.cards.summary import summary
from cds_service.settings import Settings
from cds_service.wire.responses import SUMMARY_MAX_LENGTH as SUMMARY_MAX
from fhir_mappers import ImmunoglobulinOrder
from guideline.concepts import Recommendation, RuleId
from guideline.model import Advice, Finding

CARD_NAMESPACE = uuid.UUID("8f1d0b9e-3c55-4c43-9a4e-6f2f6c1c2b7a")
"""uuid5 namespace: card uuid = uuid5(namespace, card seed + rule), unique per call and reproducible."""
EXTENSION_KEY = "sid-igrt"
_INDICATOR_ORDER = {
    Recommendation.NOT_INDICATED: "warning",
    Recommendation.INSUFFICIENT_DATA: "warning",
    Recommendation.STOP: "warning",
}
_INDICATOR_PATIENT_VIEW = {Recommendation.START: "warning", Recommendation.STOP: "warning"}

__all__ = [
    "CARD_NAMESPACE",
    "CardCall",
    "EXTENSION_KEY",
    "SUMMARY_MAX",
    "card_uuid",
    "indicator",
    "render_advice_card",
    "render_card",
]


@dataclass(frozen=True)
class CardCall:
    """What every card of one call is rendered with.

    Attributes:
        card_seed: the call's secret seed (``Pseudonymizer.card_seed``; the ``hookInstance`` where no feedback is
            taken, as in the CLI), so that card and suggestion uuids cannot be guessed.
        patient_id: ``context.patientId``, named in the lab-order suggestions.
        settings: the service settings (the card's source, links and extension).
        t: the translator of the card language.
        options: the call's card options (``cds_service.cards.options``).
        service_id: the CDS service answering (named in the evidence link's ``appContext``).
        evidence_base_url: the service's public base URL, under which the evidence page's SMART launch lives;
            ``None``: no evidence link (the CLI, or the evidence app not enabled).
    """

    card_seed: str
    patient_id: str
    settings: Settings
    t: Translator
    options: CardOptions = DEFAULT_OPTIONS
    service_id: str = ""
    evidence_base_url: str | None = None


def indicator(finding: Finding, *, about_orders: bool) -> str:
    """Return ``info`` or ``warning``: warnings where the clinician should act or reconsider an order.

    ``about_orders``: the card answers a draft immunoglobulin order (the service's policy reads orders), where
    not-indicated, missing data and stop ask the clinician to reconsider it.
    """
    table = _INDICATOR_ORDER if about_orders else _INDICATOR_PATIENT_VIEW
    return table.get(finding.recommendation, "info")


def render_card(
    finding: Finding,
    call: CardCall,
    *,
    about_orders: bool,
    orders: Sequence[ImmunoglobulinOrder],
    advice: Sequence[Advice] = (),
) -> dict[str, Any]:
    """Return the decision card as CDS Hooks JSON (no null or empty fields).

    With ``call.options.advice == "lines"`` the advice is folded into this card (its lab orders become this card's
    suggestions); with ``"cards"`` the indicator is raised to the highest advice card's, so a client that sorts by
    indicator never shows the decision below its advice (Sandbox pitfall).
    """
    settings, t, options = call.settings, call.t, call.options
    folded = tuple(advice) if options.advice == "lines" else ()
    uid = card_uuid(call.card_seed, finding.rule.value)
    offered = suggestions(finding, card=uid, patient_id=call.patient_id, orders=orders, t=t, advice=folded)
    level = indicator(finding, about_orders=about_orders)
    if options.advice == "cards" and any(a.warning for a in advice):
        level = "warning" if level == "info" else level
    card: dict[str, Any] = {
        "uuid": uid,
        "summary": summary(finding, t),
        "indicator": level,
        "detail": detail(finding, orders=orders, settings=settings, t=t, advice=folded, options=options),
        "source": source_json(finding.source, finding.rule.value, settings),
        "links": links(
            finding.source,
            settings,
            t,
            pid=finding.rule == RuleId.PRIMARY_IMMUNODEFICIENCY,
            evidence=None
            if call.evidence_base_url is None
            else evidence_link(call.evidence_base_url, service_id=call.service_id, card=uid, finding=finding),
        ),
        "overrideReasons": override_reasons(finding, t),
    }
    extension = decision_extension(finding, orders=orders, settings=settings, t=t, advice=advice)
    return _finished(card, extension, offered)


def card_uuid(card_seed: str, *parts: object) -> str:
    """Return the uuid of a card of this call: uuid5 of the call's card seed and the card's rule (and index)."""
    return _CARD_UUIDS(":".join((card_seed, *map(str, parts))))


class _Uuid5:
    """``uuid.uuid5`` in one namespace, as text, with the namespace hashed once (``uuid5`` hashes it every time)."""

    def __init__(self, namespace: uuid.UUID) -> None:
        self._namespace = hashlib.sha1(namespace.bytes)

    def __call__(self, name: str) -> str:
        """Return ``str(uuid.uuid5(namespace, name))``."""
        digest = self._namespace.copy()
        digest.update(name.encode("utf-8"))
        return str(uuid.UUID(bytes=digest.digest()[:16], version=5))


_CARD_UUIDS = _Uuid5(CARD_NAMESPACE)


def render_advice_card(advice: Advice, call: CardCall, *, index: int) -> dict[str, Any]:
    """Return one advice card (dose, product, M-component, monitoring, prerequisites) as CDS Hooks JSON.

    Only with the ``advice: cards`` option; the same content is otherwise folded into the decision card.
    """
    settings, t = call.settings, call.t
    uid = card_uuid(call.card_seed, advice.rule.value, index)
    card: dict[str, Any] = {
        "uuid": uid,
        "summary": summary(advice, t),
        "indicator": "warning" if advice.warning else "info",
        "detail": advice_detail(advice, settings=settings, t=t),
        "source": source_json(advice.source, advice.rule.value, settings),
        "links": links(advice.source, settings, t),
    }
    extension = advice_extension(advice, settings=settings, t=t)
    return _finished(card, extension, [lab_order(uid, analyte, call.patient_id, t) for analyte in advice.lab_orders])


def _finished(card: dict[str, Any], extension: dict[str, Any], offered: list[dict[str, Any]]) -> dict[str, Any]:
    """The card with its extension and suggestions (``selectionBehavior`` exactly when there are some), no empty fields.

    ``source``, ``links``, ``overrideReasons`` and the extension are built without empty values
    (``cds_service.cards.actions``, ``cds_service.cards.extension``); the extension is never empty (it has a
    ``kind``). So only the card's texts, its lists and the suggestions are checked here: the card is as ``prune``
    would leave it, keys in the same order, without walking all of it again.
    """
    # The texts, and source / links / override reasons: each left out only when empty.
    finished = {key: value for key, value in card.items() if value}
    finished["extension"] = {EXTENSION_KEY: extension}
    if offered:
        kept = prune(offered)
        if kept:
            finished["suggestions"] = kept
        finished["selectionBehavior"] = "any"
    return finished
