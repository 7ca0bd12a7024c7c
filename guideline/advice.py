"""The cards beside the decision: ``advise(facts, finding, orders=...) -> tuple[Advice, ...]``.

Each rule is its own module with its source section (issue "clinical depth"): ``dose``, ``product_choice``,
``m_component`` (card here), ``monitoring`` and ``prerequisites``. Advice never changes the decision; it is shown
with it. Which advice goes with which decision (issue "clinical fidelity 4" §2, §5, §8):

* **Dose range**: every IgRT order gets its dose card, whatever the decision, population or rule (primary
  immunodeficiency, unknown age and children after CAR-T/bsAb included): the dose range is a fact about the order.
  An immunomodulatory order (``guideline.dose.order_purpose``: ICANS, ITP, ..., or >= 1 g/kg per course) is not
  IgRT and gets no advice at all.
* **Product** (IVIG "can be considered", fSCIG in small children, switching): only beside a decision to start,
  consider or continue, and for children after CAR-T/bsAb (outside the start and stop criteria only, addendum §4);
  never beside not-indicated, stop, pause or insufficient data.
* **Trough** (dose adjustment): only when the decision is to continue, for children after CAR-T/bsAb, and on IgRT
  under individual assessment: never beside stop or pause (the same data must not say "pause" and "adjust the dose
  up").
* The other advice (M-component, measurements before a start, prerequisites, stop markers, infections after a
  stop, follow-up) follows the SID criteria: none for children after CAR-T/bsAb, primary immunodeficiency or an
  unknown age, whose decision is outside these criteria.
"""

from __future__ import annotations

from dataclasses import replace

from guideline import sources
from guideline.concepts import AdviceKind, AdviceRule, Recommendation, RuleId
from guideline.dose import order_dose_advice, order_purpose, trough_advice
from guideline.evidence import lab_evidence
from guideline.facts import Facts
from guideline.follow_up import follow_up_advice
from guideline.model import Advice, Criterion, Evidence, Finding, OrderedDose
from guideline.monitoring import before_start_advice, infections_after_stop_advice, stop_markers_advice
from guideline.prerequisites import prerequisites_advice
from guideline.product_choice import ivig_advice, switch_advice, with_small_child_fscig
from guideline.text import msg

_OUTSIDE_CRITERIA = frozenset(
    {RuleId.CHILD_AFTER_CAR_T_OR_BSAB, RuleId.PRIMARY_IMMUNODEFICIENCY, RuleId.AGE_UNKNOWN, RuleId.PATIENT_DECEASED}
)
"""Decisions outside the SID start and stop criteria: no SID advice beyond the dose card (and, for children after
CAR-T/bsAb, the trough and product advice)."""
_PRODUCT_RECOMMENDATIONS = frozenset({Recommendation.START, Recommendation.CONSIDER, Recommendation.CONTINUE})
"""Decisions beside which product advice is given: a start, a considered start, a continuation."""


def advise(
    facts: Facts,
    finding: Finding,
    *,
    orders: tuple[OrderedDose, ...] = (),
    follow_up: bool = False,
    orders_are_igrt: bool = False,
) -> tuple[Advice, ...]:
    """Return the advice cards for one evaluation, in a stable order.

    Args:
        facts: the facts the decision was made on (``guideline.facts.derive``).
        finding: the decision.
        orders: draft immunoglobulin orders with their doses (order hooks); immunomodulatory ones are skipped.
        follow_up: include the follow-up reminder (patient-view).
        orders_are_igrt: the caller left out the immunomodulatory orders already (``order_purpose`` on this
            patient, date and settings: ``decision.decide``), so they are not judged twice.
    """
    if finding.rule == RuleId.PATIENT_DECEASED:
        return ()
    igrt_orders = (
        orders
        if orders_are_igrt
        else tuple(
            o for o in orders if not order_purpose(o, facts.record, as_of=facts.as_of, p=facts.p).immunomodulation
        )
    )
    child = finding.rule == RuleId.CHILD_AFTER_CAR_T_OR_BSAB
    products = child or finding.recommendation in _PRODUCT_RECOMMENDATIONS
    found: list[Advice | None] = []
    if finding.rule not in _OUTSIDE_CRITERIA:
        found.append(m_component_advice(facts))
    for order in igrt_orders:
        dose_card = order_dose_advice(facts, order)
        if not products:
            found.append(dose_card)
            continue
        found += [
            with_small_child_fscig(facts, order, dose_card),
            ivig_advice(facts, order),
            switch_advice(facts, order),
        ]
    if trough_allowed(finding):
        found.append(trough_advice(facts))
    if finding.rule in _OUTSIDE_CRITERIA:
        return tuple(a for a in found if a is not None)
    found += [
        before_start_advice(facts, finding),
        prerequisites_advice(facts, finding),
        stop_markers_advice(facts, finding),
        infections_after_stop_advice(facts),
    ]
    if follow_up and finding.recommendation != Recommendation.STOP:
        # A stop card's next step is the stop itself: a follow-up reminder beside it would show a second,
        # conflicting next date.
        found.append(follow_up_advice(facts))
    return tuple(a for a in found if a is not None)


def trough_allowed(finding: Finding) -> bool:
    """Whether trough and dose-adjustment advice may stand beside ``finding``.

    Continue; a child after CAR-T/bsAb; on IgRT under individual assessment (not primary immunodeficiency, whose
    trough aims are not this guideline's). Never beside stop, pause, not-indicated or insufficient data.
    """
    if finding.rule == RuleId.CHILD_AFTER_CAR_T_OR_BSAB or finding.recommendation == Recommendation.CONTINUE:
        return True
    return (
        finding.recommendation == Recommendation.INDIVIDUAL_ASSESSMENT
        and finding.on_igrt
        and finding.rule not in _OUTSIDE_CRITERIA
    )


def m_component_advice(facts: Facts) -> Advice | None:
    """Return the M-component card: the polyclonal estimate the decision used, or an unknown isotype.

    Source: Opsummering, "Kriterier for opstart", 1. (with an IgG M-component total IgG is not a true measure of the
    humoral immune function; documented general immunoparesis can take the place of low IgG); addendum table 8-7
    (COMMIT: total IgG minus the M-protein).
    """
    status = facts.m_component
    assert facts.immunoparesis is not None
    immunoparesis = replace(facts.immunoparesis, required=False)
    if status.igg_type:
        estimate = facts.igg_latest
        typing = status.typing
        assert typing is not None
        criteria = [
            Criterion(
                id="igg-m-component-typed",
                description=msg("IgG M-component on immunofixation"),
                held=True,
                evidence=(Evidence(text=msg("{display}", display=typing.text), ref=typing.ref, on=typing.effective),),
            ),
            Criterion(
                id="polyclonal-igg-estimate",
                description=msg("Estimated polyclonal IgG = total IgG minus M-protein (COMMIT)"),
                held=estimate is not None and estimate.estimate is not None,
                evidence=() if estimate is None else (lab_evidence(estimate),),
            ),
            immunoparesis,
        ]
        summary = (
            msg(
                "IgG myeloma: decision uses estimated polyclonal IgG {estimate} g/L (total {total} g/L minus "
                "M-protein)",
                estimate=estimate.value_g_per_l,
                total=estimate.estimate.total_g_per_l,
            )
            if estimate is not None and estimate.estimate is not None
            else msg("IgG myeloma: no IgG with an M-protein measured within the pairing days; total IgG not used")
        )
        return Advice(
            kind=AdviceKind.M_COMPONENT,
            rule=AdviceRule.M_COMPONENT_ESTIMATE,
            summary=summary,
            warning=True,
            criteria=tuple(criteria),
            notes=(_M_NOTE, msg("This decision rests on the estimate, not on total IgG.")),
            source=sources.M_COMPONENT,
            interpretations=("m_protein_pairing_max_days",),
            values=(
                ("polyclonalIggGPerL", estimate.value_g_per_l if estimate else None),
                ("totalIggGPerL", estimate.estimate.total_g_per_l if estimate and estimate.estimate else None),
            ),
        )
    if status.igg_type is None and status.measurable:
        mp = status.m_protein
        assert mp is not None
        total = facts.igg_latest
        criteria = [
            Criterion.unmet(
                "m-component-isotype-known", msg("M-component isotype known (immunofixation)"), lab_evidence(mp)
            ),
            immunoparesis,
        ]
        values: tuple[tuple[str, float | str | None], ...] = ()
        if total is not None:
            guess = round(max(total.value_g_per_l - mp.value_g_per_l, 0.0), 2)
            criteria.insert(
                1,
                Criterion.for_information(
                    "polyclonal-igg-if-igg-type",
                    msg(
                        "If the M-component is IgG: estimated polyclonal IgG {guess} g/L (total {total} g/L minus "
                        "M-protein {m_protein} g/L); not used for the decision",
                        guess=guess,
                        total=total.value_g_per_l,
                        m_protein=mp.value_g_per_l,
                    ),
                    lab_evidence(total),
                ),
            )
            values = (("totalIggGPerL", total.value_g_per_l), ("polyclonalIggIfIggType", guess))
        return Advice(
            kind=AdviceKind.M_COMPONENT,
            rule=AdviceRule.M_COMPONENT_ISOTYPE_UNKNOWN,
            summary=msg(
                "M-component {value} with unknown isotype: total IgG does not decide; type it", value=mp.shown()
            ),
            warning=True,
            criteria=tuple(criteria),
            notes=(_M_NOTE,),
            source=sources.M_COMPONENT,
            values=values,
        )
    return None


_M_NOTE = msg(
    "With an IgG M-component, total IgG does not reflect humoral immunity: documented general immunoparesis (low IgA "
    "and IgM) can take the place of low IgG, and IgM, IgA, the kappa/lambda ratio and B-cell counts help judge it "
    "(Opsummering, Kriterier for opstart). COMMIT subtracts the monoclonal component when judging IgG (addendum "
    "table 8-7)."
)
