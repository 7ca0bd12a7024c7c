"""Typed records passed into and out of storage; no patient ids in clear text, no tokens, no free text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class IssuedCard:
    """A card returned by a hook call: its ``uuid`` (feedback refers to it), its kind and the rule that made it.

    ``kind`` is ``decision`` or an advice kind (``dose``, ``product``, ``m-component``, ``monitoring``,
    ``prerequisites``); ``rule`` the rule id (decision) or advice rule id.
    """

    uuid: str
    kind: str
    rule: str
    suggestions: tuple[str, ...] = ()
    """The uuids of the suggestions the card offered (accepted feedback may name only these)."""


@dataclass(frozen=True)
class DecisionEntry:
    """One answered (or refused) hook call.

    Attributes:
        recorded_at: when the service answered (UTC, timezone-aware).
        service_id: the CDS service id, e.g. ``sid-igrt-order-sign``.
        hook: ``patient-view`` | ``order-select`` | ``order-sign``.
        hook_instance: the client's ``hookInstance``.
        client_issuer: the JWT ``iss`` of the caller, or ``None`` when authentication is off.
        patient_hmac: ``Pseudonymizer.patient(context.patientId)``.
        outcome: ``card`` | ``silent`` (a card the service would have shown, in silent mode) | ``quiet`` (decided,
            no card shown; also a deceased patient) | ``no-immunoglobulin-order``
            | ``immunomodulation-order`` (every immunoglobulin order is immunomodulation, not IgRT: no card) |
            ``prefetch-unavailable`` (412) | ``budget-exceeded``.
        rule_id / recommendation / population: the guideline finding (``None`` when no decision was made).
        guideline_version: the guideline documents and versions applied.
        card_uuid: the card's ``uuid`` (feedback refers to it), when a card was returned.
        as_of: the evaluation date (local calendar date).
        fetched_keys: prefetch keys read from ``fhirServer`` instead of the prefetch.
        data_issue_count: data the service could not interpret (named on the card).
        issued_cards: every card returned; the cards beside the decision card (advice shown as cards) are stored
            in ``issued_card`` so that feedback on them is attributed.
        on_igrt: whether the guideline read the patient as on IgRT (``Finding.on_igrt``); ``None`` without a
            decision. A later reader sees from it whether IgRT was started or stopped after an earlier decision.
        suggestion_uuids: the decision card's suggestions (accepted feedback may name only these).
    """

    recorded_at: datetime
    service_id: str
    hook: str
    hook_instance: str
    client_issuer: str | None
    patient_hmac: str
    outcome: str
    rule_id: str | None
    recommendation: str | None
    population: int | None
    guideline_version: str
    card_uuid: str | None
    as_of: date
    fetched_keys: tuple[str, ...] = ()
    data_issue_count: int = 0
    issued_cards: tuple[IssuedCard, ...] = ()
    on_igrt: bool | None = None
    suggestion_uuids: tuple[str, ...] = ()


@dataclass(frozen=True)
class IssuedTarget:
    """What feedback may refer to: the card's rule and the suggestions it offered.

    ``suggestions`` is ``None`` for cards recorded before revision 0005 (then not checked).
    """

    rule: str
    suggestions: frozenset[str] | None


@dataclass(frozen=True)
class FeedbackEntry:
    """One feedback item (CDS Hooks 2.0.1 "Feedback"), as stored.

    The clinician's ``userComment`` is not stored (free text may identify the patient); only whether there was one.
    """

    received_at: datetime
    service_id: str
    client_issuer: str | None
    card_uuid: str
    outcome: str
    accepted_suggestions: tuple[str, ...]
    override_reason_system: str | None
    override_reason_code: str | None
    override_reason_display: str | None
    has_user_comment: bool
    outcome_timestamp: datetime


@dataclass(frozen=True)
class ReportRow:
    """Feedback rates for one rule under one guideline version.

    ``accepted`` and ``overridden`` count cards by their latest feedback; rates are per card shown.
    ``top_override_reasons`` lists ``(reason, count)``, most frequent first.
    """

    rule_id: str
    guideline_version: str
    cards_shown: int
    cards_with_feedback: int
    accepted: int
    overridden: int
    top_override_reasons: tuple[tuple[str, int], ...]

    @property
    def accept_rate(self) -> float | None:
        """``accepted / cards_shown``, or ``None`` when no card was shown."""
        return self.accepted / self.cards_shown if self.cards_shown else None

    @property
    def override_rate(self) -> float | None:
        """``overridden / cards_shown``, or ``None`` when no card was shown."""
        return self.overridden / self.cards_shown if self.cards_shown else None
