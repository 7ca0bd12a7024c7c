"""The IgG the start decision needs: recent, since T0 inside the CAR-T/bsAb window, the patient's own, confirmed.

Sources: Opsummering, "Monitorering af effekt" (IgG, IgA and IgM measured; IgG twice at least 3 weeks apart) and
"Kriterier for seponering" (under immunoglobulin IgG is no marker of the own production); addendum §3.4 and §4.1.
Each check names what is missing and offers IgG, IgA and IgM as lab orders.
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import Population, RuleId
from guideline.criteria import default_dates, index_date_criterion, insufficient_data
from guideline.evidence import lab_evidence
from guideline.facts import Facts
from guideline.igg_criteria import IGG_INTERPRETATIONS, shown_igg
from guideline.model import Criterion, Evidence, Finding
from guideline.start.pop1 import POP1_INTERPRETATIONS, pop1_like, pop1_start_criteria
from guideline.text import Message, msg

RECENT_IGG = msg("Recent IgG")


def igg_not_own(facts: Facts) -> Finding | None:
    """The IgG the decision needs is not the patient's own: drawn under or soon after immunoglobulin.

    Source: Opsummering, "Kriterier for seponering" ("Under immunglobulinsubstitution kan IgG ikke anvendes isoleret
    som markør"); addendum §3.4 (IgG "i en periode uden immunglobulinsubstitution"). Fires when no recent own IgG
    is left (inside the CAR-T/bsAb window: none since T0) but a recent confounded one at or above 4 g/L exists (one
    below 4 g/L proves a low own IgG and decides as such: ``guideline.own_igg``). Names the dose and the first date
    an own IgG can be drawn.
    """
    p = facts.p
    window_rule = Population.CAR_T_OR_BSAB in facts.populations and facts.in_window
    needed = facts.igg_since_t0 if window_rule else facts.igg_recent
    since = facts.index.t0 if window_rule and facts.index is not None and p.pop2_igg_must_follow_t0 else None
    recent = [
        c
        for c in facts.igg_not_own
        if c.lab.effective <= facts.as_of
        and (facts.as_of - c.lab.effective).days <= p.igg_recent_max_age_days
        and (since is None or c.lab.effective >= since)
        and c.lab.is_below(p.igg_start_below_g_per_l) is not True
    ]
    if needed is not None or not recent:
        return None
    newest = max(recent, key=lambda c: (c.lab.effective, c.lab.ref))
    own_from = facts.own_igg_from or newest.own_from
    dose = newest.exposure
    given = Evidence(
        text=msg(
            "immunoglobulin {drug}{purpose}",
            drug=dose.display,
            purpose=msg(" (immunomodulation, not IgRT)") if dose.immunomodulation else "",
        ),
        ref=dose.ref,
        on=dose.end,
    )
    criterion = Criterion.unmet(
        "igg-own",
        msg(
            "Own IgG: drawn {days} days or more after any immunoglobulin dose (IgG cannot be used as a marker under "
            "immunoglobulin)",
            days=p.igg_washout_days,
        ),
        *(lab_evidence(c.lab) for c in sorted(recent, key=lambda c: c.lab.effective, reverse=True)[:3]),
        given,
    )
    return insufficient_data(
        facts,
        RuleId.IGG_NOT_OWN,
        (criterion,),
        source=sources.OWN_IGG,
        summary=msg(
            "IgG reflects given immunoglobulin, not own IgG: measure IgG, IgA, IgM from {own_from}", own_from=own_from
        ),
        action=msg(
            "Measure IgG, IgA and IgM from {own_from}, {days} days after the last immunoglobulin dose ({drug}, "
            "{dose_on}): the IgG measured since reflects the infused immunoglobulin, not the patient's own.",
            own_from=own_from,
            days=p.igg_washout_days,
            drug=dose.display,
            dose_on=dose.end,
        ),
        dates=default_dates(facts, own_igg_from=own_from),
        interpretations=IGG_INTERPRETATIONS,
        order_lab_tests=True,
    )


def no_igg_since_t0(facts: Facts) -> Finding | None:
    """Population 2 inside the window without a recent IgG measured on or after T0: order IgG, IgA, IgM.

    Source: addendum §4.1 (the window rule reads an IgG after T0, ``pop2_igg_must_follow_t0``); Opsummering,
    "Monitorering af effekt".
    """
    if Population.CAR_T_OR_BSAB not in facts.populations or not facts.in_window or facts.igg_since_t0:
        return None
    label = msg("Recent IgG measured on or after T0 (before T0 not used)") if facts.igg_recent else RECENT_IGG
    return insufficient_data(
        facts,
        RuleId.NO_IGG_SINCE_T0,
        (index_date_criterion(facts), _igg_present(facts, label)),
        population=Population.CAR_T_OR_BSAB,
        source=sources.START_POP2,
        summary=msg(
            "IgRT decision needs an IgG taken after CAR-T/bsAb T0 {t0}: order IgG, IgA, IgM",
            t0=facts.index.t0 if facts.index else None,
        ),
        interpretations=(*IGG_INTERPRETATIONS, "pop2_igg_must_follow_t0"),
        order_lab_tests=True,
    )


def no_recent_igg(facts: Facts) -> Finding | None:
    """No IgG result, or none recent enough (**interpretation** ``igg_recent_max_age_days``): order IgG, IgA, IgM.

    Source: Opsummering, "Monitorering af effekt" (every start criterion reads a measured IgG).
    """
    if facts.igg_recent is not None:
        return None
    return insufficient_data(
        facts,
        RuleId.NO_RECENT_IGG,
        (_igg_present(facts, RECENT_IGG),),
        source=sources.MONITORING,
        summary=msg(
            "IgRT decision needs a recent IgG (none in the last {days} days): order IgG, IgA, IgM",
            days=facts.p.igg_recent_max_age_days,
        ),
        interpretations=IGG_INTERPRETATIONS,
        order_lab_tests=True,
    )


def unconfirmed_low_igg(facts: Facts) -> Finding | None:
    """IgG < 4 g/L with severe or recurrent infections but persistence not shown: repeat IgG.

    Source: Opsummering, "Monitorering af effekt" ("Serum IgG målt ved to forskellige tidspunkter med et interval på
    mindst 3 uger"), read by the population-1 (and population-4) criterion "persisterende IgG < 4 g/L".
    """
    population = pop1_like(facts) or (
        Population.OTHER_HYPOGAMMAGLOBULINAEMIA if facts.primary == Population.OTHER_HYPOGAMMAGLOBULINAEMIA else None
    )
    if population is None or facts.igg_recent is None:
        return None
    criteria = pop1_start_criteria(facts, population)
    persistent = next(c for c in criteria if c.id == "igg-persistent")
    if persistent.held or not all(c.held for c in criteria if c.required and c.id != "igg-persistent"):
        return None
    return insufficient_data(
        facts,
        RuleId.UNCONFIRMED_LOW_IGG,
        criteria,
        population=population,
        source=sources.MONITORING,
        summary=msg(
            "IgG {igg} < 4 g/L not confirmed: repeat IgG, IgA, IgM at least 3 weeks after", igg=shown_igg(criteria)
        ),
        action=msg(
            "The start criterion needs persistent IgG < 4 g/L: repeat IgG (with IgA and IgM) at least 3 weeks "
            "after the latest, at least one sample taken without active infection (Monitorering af effekt)."
        ),
        interpretations=POP1_INTERPRETATIONS,
        order_lab_tests=True,
    )


def _igg_present(facts: Facts, label: Message) -> Criterion:
    older = facts.igg_latest
    days = facts.p.igg_recent_max_age_days
    evidence = (
        ()
        if older is None
        else (
            Evidence(
                text=msg("latest IgG {value} is too old or before T0", value=older.shown()),
                ref=older.ref,
                on=older.effective,
            ),
        )
    )
    return Criterion.unmet(
        "igg-recent", msg("{label}: measured within the last {days} days", label=label, days=days), *evidence
    )
