"""The cards beside the decision: ``advise(facts, finding, orders=...) -> tuple[Advice, ...]``.

Each rule is its own module with its source section (issue "clinical depth"): ``dose``, ``product_choice``,
``m_component`` (card here), ``monitoring`` and ``prerequisites``. Advice never changes the decision; it is shown
with it. Children after CAR-T/bsAb and primary immunodeficiency get no advice: their decision is an individual
assessment outside these criteria.
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import AdviceKind, AdviceRule, Recommendation, RuleId
from guideline.criteria import lab_evidence
from guideline.dose import order_dose_advice, trough_advice
from guideline.facts import Facts
from guideline.model import Advice, Criterion, Evidence, Finding, OrderedDose
from guideline.monitoring import (
    before_start_advice,
    follow_up_advice,
    infections_after_stop_advice,
    stop_markers_advice,
)
from guideline.prerequisites import prerequisites_advice
from guideline.product_choice import ivig_advice, switch_advice
from guideline.text import msg

_NO_ADVICE = {RuleId.CHILD_AFTER_CAR_T_OR_BSAB, RuleId.PRIMARY_IMMUNODEFICIENCY, RuleId.AGE_UNKNOWN}


def advise(
    facts: Facts, finding: Finding, *, orders: tuple[OrderedDose, ...] = (), follow_up: bool = False
) -> tuple[Advice, ...]:
    """Return the advice cards for one evaluation, in a stable order.

    Args:
        facts: the facts the decision was made on (``guideline.facts.derive``).
        finding: the decision.
        orders: draft immunoglobulin orders with their doses (order hooks).
        follow_up: include the follow-up reminder (patient-view).
    """
    if finding.rule in _NO_ADVICE:
        return ()
    found: list[Advice | None] = [m_component_advice(facts)]
    for order in orders:
        found += [order_dose_advice(facts, order), ivig_advice(facts, order), switch_advice(facts, order)]
    if finding.recommendation != Recommendation.STOP:
        found.append(trough_advice(facts))
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


def m_component_advice(facts: Facts) -> Advice | None:
    """Return the M-component card: the polyclonal estimate the decision used, or an unknown isotype."""
    status = facts.m_component
    assert facts.immunoparesis is not None
    immunoparesis = facts.immunoparesis.model_copy(update={"required": False})
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
            Criterion(
                id="m-component-isotype-known",
                description=msg("M-component isotype known (immunofixation)"),
                held=False,
                evidence=(lab_evidence(mp),),
            ),
            immunoparesis,
        ]
        values: tuple[tuple[str, float | str | None], ...] = ()
        if total is not None:
            guess = round(max(total.value_g_per_l - mp.value_g_per_l, 0.0), 2)
            criteria.insert(
                1,
                Criterion(
                    id="polyclonal-igg-if-igg-type",
                    description=msg(
                        "If the M-component is IgG: estimated polyclonal IgG {guess} g/L (total {total} g/L minus "
                        "M-protein {m_protein} g/L); not used for the decision",
                        guess=guess,
                        total=total.value_g_per_l,
                        m_protein=mp.value_g_per_l,
                    ),
                    held=None,
                    required=False,
                    evidence=(lab_evidence(total),),
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
