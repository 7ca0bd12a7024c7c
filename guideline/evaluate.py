"""The guideline's entry points: ``evaluate`` (the decision) and ``assess`` (the decision and its advice cards)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from guideline.advice import advise
from guideline.concepts import RuleId
from guideline.continuation import decide_continuation
from guideline.facts import Facts, derive
from guideline.model import Advice, Finding, OrderedDose, PatientRecord
from guideline.parameters import DEFAULT_PARAMETERS, Parameters
from guideline.relevance import concerns, in_scope
from guideline.scope import patient_deceased
from guideline.start import decide_start
from guideline.t0_unknown import decide_t0_unknown


@dataclass(frozen=True)
class Assessment:
    """One evaluation: the decision, the advice shown beside it, and whether patient-view concerns the patient.

    ``concerned`` is ``guideline.relevance.concerns`` on the facts' record (IgG estimates applied): patient-view
    shows a card. ``in_scope`` is ``guideline.relevance.in_scope``: ``False`` for a patient the guideline does not
    concern at all (the worklist's "not relevant"). ``deceased``: the record says the patient has died; the finding
    is then ``RuleId.PATIENT_DECEASED`` and no hook shows a card.
    """

    finding: Finding
    advice: tuple[Advice, ...]
    concerned: bool
    in_scope: bool = True

    @property
    def deceased(self) -> bool:
        """Whether the patient has died (no recommendation on any hook; excluded from the worklist)."""
        return self.finding.rule == RuleId.PATIENT_DECEASED


def evaluate(record: PatientRecord, *, as_of: date, p: Parameters = DEFAULT_PARAMETERS) -> Finding:
    """Apply Medicinrådet's SID guideline v1.1 and CAR-T/bsAb addendum to one patient on one date.

    Args:
        record: the patient's mapped data (lab values in g/L).
        as_of: the evaluation date (the clinician's "today" in the deployment's time zone).
        p: thresholds and interpretation settings.

    Returns:
        Exactly one ``Finding``: continuation rules for a patient on IgRT, start rules otherwise.
    """
    return _decide(derive(record, as_of=as_of, p=p))


def assess(
    record: PatientRecord,
    *,
    as_of: date,
    p: Parameters = DEFAULT_PARAMETERS,
    orders: tuple[OrderedDose, ...] = (),
    follow_up: bool = False,
    orders_are_igrt: bool = False,
) -> Assessment:
    """Return the decision (as ``evaluate``) and the advice cards for it (``guideline.advice.advise``).

    Args:
        record: the patient's mapped data (lab values in g/L).
        as_of: the evaluation date.
        p: thresholds and interpretation settings.
        orders: draft immunoglobulin orders with their doses (order hooks).
        follow_up: include the follow-up reminder (patient-view).
        orders_are_igrt: ``orders`` holds no immunomodulatory order (the caller applied
            ``guideline.dose.order_purpose`` on this record, date and settings), so advice does not judge them again.
    """
    facts = derive(record, as_of=as_of, p=p)
    finding = _decide(facts)
    if finding.rule == RuleId.PATIENT_DECEASED:
        return Assessment(finding, (), concerned=False, in_scope=in_scope(record, as_of=as_of, p=p))
    advice = advise(facts, finding, orders=orders, follow_up=follow_up, orders_are_igrt=orders_are_igrt)
    return Assessment(finding, advice, concerns(facts.record, as_of=as_of, p=p), in_scope(record, as_of=as_of, p=p))


def _decide(facts: Facts) -> Finding:
    if facts.record.deceased:
        return patient_deceased(facts)
    return decide_t0_unknown(facts, _decide_known) or _decide_known(facts)


def _decide_known(facts: Facts) -> Finding:
    if facts.igrt.on_igrt:
        return decide_continuation(facts)
    return decide_start(facts)
