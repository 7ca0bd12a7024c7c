"""Not indicated: no start criterion holds; and the checks a not-indicated passes before it is issued.

Source: Opsummering, "Kriterier for opstart" ("Primær profylakse med immunglobulin anbefales ikke"; targeted
antibiotic prophylaxis). A confident not-indicated is never issued where a newer preliminary IgG or infections not
yet verified as bacterial would change it: the card names that data instead (issue "clinical fidelity 3" §9).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from guideline import sources
from guideline.calendar import add_calendar_months
from guideline.concepts import InfectionKind, Recommendation, RuleId
from guideline.criteria import (
    NOT_INDICATED_NOTE,
    RECOMMENDATION_WORDS,
    Decide,
    clinical_notes,
    index_date_criterion,
    insufficient_data,
    make_finding,
    population_criterion,
)
from guideline.evidence import infection_evidence, lab_evidence
from guideline.facts import Facts, derive
from guideline.igg_criteria import IGG_INTERPRETATIONS, LATEST, igg_below_4, low_igg, shown_igg
from guideline.infections import (
    EPISODE_INTERPRETATIONS,
    SEVERE_OR_RECURRENT_INTERPRETATIONS,
    igg_below_6_infection_criterion,
    severe_or_recurrent,
)
from guideline.model import Criterion, Finding
from guideline.text import msg

NotIndicatedCheck = Callable[[Facts, Decide], Finding | None]
"""A check before not-indicated: the facts and the start decision (to decide a counterfactual record)."""


def not_indicated(facts: Facts) -> Finding:
    """No start criterion holds: not indicated; suggest antibiotic prophylaxis.

    Source: Opsummering, "Kriterier for opstart", 1.-4. ("Recidiverende ikke-alvorlige infektioner er ikke sufficient
    indikation"; "Primær profylakse med immunglobulin anbefales ikke"). Every criterion is shown for information.
    """
    lab = facts.igg_recent
    p = facts.p
    criteria = [
        *(population_criterion(facts, pop) for pop in sorted(facts.populations)),
        igg_below_4(facts, lab),
        low_igg(facts, lab, p.igg_consider_below_g_per_l, criterion_id="igg-below-6", label=LATEST),
    ]
    if facts.index is not None:
        criteria.append(index_date_criterion(facts))
    criteria.append(severe_or_recurrent(facts.episodes, on=facts.as_of, p=p))
    criteria.append(igg_below_6_infection_criterion(facts.episodes, on=facts.as_of, p=p))
    return make_finding(
        facts,
        rule=RuleId.NOT_INDICATED,
        recommendation=Recommendation.NOT_INDICATED,
        population=facts.primary,
        criteria=[replace(c, required=False) for c in criteria],
        source=sources.START_POP1,
        summary=msg("IgRT not indicated by Medicinrådet SID criteria (latest IgG {igg})", igg=shown_igg(criteria)),
        notes=(NOT_INDICATED_NOTE, *clinical_notes(facts, start_like=False)),
        interpretations=(*IGG_INTERPRETATIONS, "pop2_igg_must_follow_t0", *SEVERE_OR_RECURRENT_INTERPRETATIONS),
    )


def preliminary_igg_pending(facts: Facts, decide: Decide) -> Finding | None:
    """A newer preliminary IgG below 6 g/L (or its reference low) awaits confirmation: no confident not-indicated.

    Source: Opsummering, "Monitorering af effekt" (the decision rests on measured IgG); issue "clinical fidelity 3"
    §9: a newer preliminary result is never silently outweighed by an older final one. (``decide`` is not needed.)
    """
    lab = facts.preliminary_igg
    if lab is None:
        return None
    low = lab.reference_low_g_per_l
    if not (lab.is_below(facts.p.igg_consider_below_g_per_l) or (low is not None and lab.is_below(low))):
        return None
    return insufficient_data(
        facts,
        RuleId.PRELIMINARY_IGG,
        (Criterion.unmet("igg-final", msg("The newest IgG is a final result"), lab_evidence(lab)),),
        source=sources.MONITORING,
        summary=msg("A newer IgG is still preliminary: decide when the final result is reported"),
        action=msg(
            "A newer IgG of {value} on {on} is still preliminary; the older final results would give "
            "not-indicated. Decide when the final result is reported.",
            value=lab.shown(),
            on=lab.effective,
        ),
        interpretations=IGG_INTERPRETATIONS,
    )


def infection_not_verified(facts: Facts, decide: Decide) -> Finding | None:
    """Infections not verified as bacterial would decide the start: say how many and what would verify them.

    Source: Opsummering, "Kriterier for opstart" ("svære eller tilbagevendende verificerede bakterielle
    infektioner"; "verificerede bakterielle infektioner med definitivt behov for antibiotika"); issue "clinical
    fidelity 3" §9. Read counterfactually: were the infections coded without organism and antibiotic (not counted),
    and the bacterial ones not confirmed, verified bacterial infections, would a start or consider follow (``decide``
    on that record)? Then the answer rests on their verification: insufficient data, never a silent not-indicated.
    """
    given = facts.given
    months = facts.p.severe_or_recurrent_lookback_calendar_months
    since = add_calendar_months(facts.as_of, -months)
    uncounted = {i.ref for i in facts.not_verified if since <= i.onset <= facts.as_of}
    unconfirmed = {ref for e in facts.episodes if since <= e.onset <= facts.as_of and not e.verified for ref in e.refs}
    if given is None or not (uncounted or unconfirmed):
        return None
    verified = tuple(
        replace(i, kinds=i.kinds | {InfectionKind.BACTERIAL}, verification="confirmed")
        if i.ref in uncounted or i.ref in unconfirmed
        else i
        for i in given.infections
    )
    counterfactual = decide(derive(given.model_copy(update={"infections": verified}), as_of=facts.as_of, p=facts.p))
    if counterfactual.recommendation not in (Recommendation.START, Recommendation.CONSIDER):
        return None
    named = [i for i in facts.record.infections if i.ref in uncounted or i.ref in unconfirmed]
    words = RECOMMENDATION_WORDS[counterfactual.recommendation]
    not_verified = Criterion.unmet(
        "infections-verified-as-bacterial",
        msg(
            "Infections in the last {months} months verified as bacterial: not verified: {count}",
            months=months,
            count=len(named),
        ),
        *(infection_evidence(i) for i in named),
    )
    if_verified = msg("If they were verified bacterial infections: {recommendation}", recommendation=words)
    return insufficient_data(
        facts,
        RuleId.INFECTION_NOT_VERIFIED,
        (not_verified, Criterion.for_information("if-verified", if_verified)),
        source=sources.START_POP1,
        summary=msg("IgRT decision rests on infections not verified as bacterial: verify them (organism, antibiotic)"),
        action=msg(
            "Infection not verified as bacterial: {count}. What would verify it: the organism (a culture, or a "
            "code that names the bacterium), a systemic antibiotic (ATC J01) given for it, or the diagnosis "
            "recorded as confirmed. Verified, the start criteria would give: {recommendation}.",
            count=len(named),
            recommendation=words,
        ),
        interpretations=(*SEVERE_OR_RECURRENT_INTERPRETATIONS, *EPISODE_INTERPRETATIONS),
    )
