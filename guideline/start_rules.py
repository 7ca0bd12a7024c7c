"""Rules for patients not on IgRT: one function per row of the decision table's start criteria.

``START_RULES`` lists them in precedence order; the first that returns a ``Finding`` decides. The order encodes
the decision table: scope and data checks first, then population 2 inside the window, population 3, population
1 / 2 after the window, population 4, the IgG < 6 "kan overvejes" criterion, and finally not-indicated.
Sources: Opsummering v1.1 "Kriterier for opstart"; addendum §4 and §4.1.
"""

from __future__ import annotations

from collections.abc import Callable

from guideline import sources
from guideline.calendar import add_calendar_months
from guideline.concepts import DiagnosisKind, InfectionKind, Population, Recommendation, RuleId
from guideline.criteria import (
    LATEST,
    NOT_INDICATED_NOTE,
    RECOMMENDATION_WORDS,
    adult_criterion,
    clinical_notes,
    default_dates,
    diagnosis_evidence,
    igg_below_consider,
    index_date_criterion,
    lab_evidence,
    low_igg,
    make_finding,
    persistence,
    population_criterion,
)
from guideline.facts import Facts, derive
from guideline.infections import (
    EPISODE_INTERPRETATIONS,
    SEVERE_OR_RECURRENT_INTERPRETATIONS,
    igg_below_6_infection_criterion,
    severe_or_recurrent,
)
from guideline.model import Criterion, Evidence, Finding
from guideline.text import Message, msg

Rule = Callable[[Facts], Finding | None]

_IGG_INTERPRETATIONS = ("igg_recent_max_age_days", "igg_washout_days")
_PERSISTENCE_INTERPRETATIONS = ("igg_confirm_max_span_days", "active_infection_days")
POP4_WORK_UP_NOTE = msg(
    "Population 4: immunoglobulin can be considered in special situations, after specialised work-up including "
    "vaccination responses and extended immunological examination with clinical immunology."
)
CONFIRMATION_MISSING_NOTE = msg(
    "The confirming second IgG is missing (measurement rule, Monitorering af effekt: IgG twice at least 3 weeks "
    "apart, at least one sample without active infection): one IgG < 4 g/L suffices here ('uanset'), but measure "
    "the second."
)
RECENT_IGG = msg("Recent IgG")
CHILD_NOTES = (
    msg(
        "Children are outside the CAR-T/bsAb start and stop criteria (addendum §4; Opsummering, population 2): the "
        "need for immunoglobulin is an individual assessment, and routine treatment can be used where the clinician "
        "finds it relevant."
    ),
    msg(
        "Reasoning (addendum §4.3): international societies recommend routine immunoglobulin for children with "
        "CAR-T because of immunological immaturity and a higher infection risk; in Danish practice the need after "
        "CAR-T is assessed individually, as routine treatment is far from always relevant. Children on bsAb get "
        "immunoglobulin routinely, but clinical experience is limited and based on protocol studies."
    ),
)


def patient_deceased(facts: Facts) -> Finding:
    """The patient has died (``Patient.deceased[x]``): no recommendation; the hooks show no card.

    Checked before every other rule, on and off IgRT (issue "clinical fidelity 3" §9).
    """
    return make_finding(
        facts,
        rule=RuleId.PATIENT_DECEASED,
        recommendation=Recommendation.INDIVIDUAL_ASSESSMENT,
        population=None,
        criteria=(Criterion(id="patient-alive", description=msg("Patient alive (Patient.deceased)"), held=False),),
        source=sources.SCOPE,
    )


def child_after_car_t_or_bsab(facts: Facts) -> Finding | None:
    """Children after CAR-T/bsAb: individual assessment, never the adult criteria (addendum §4, §4.3)."""
    if not facts.child_after_therapy:
        return None
    return make_finding(
        facts,
        rule=RuleId.CHILD_AFTER_CAR_T_OR_BSAB,
        recommendation=Recommendation.INDIVIDUAL_ASSESSMENT,
        population=None,
        criteria=(adult_criterion(facts), index_date_criterion(facts, required=False)),
        source=sources.CHILDREN,
        notes=CHILD_NOTES,
    )


def primary_immunodeficiency(facts: Facts) -> Finding | None:
    """A primary immunodeficiency is coded: the SID guideline does not apply (Opsummering, "SID og ...")."""
    found = facts.diagnoses_of(DiagnosisKind.PRIMARY_IMMUNODEFICIENCY)
    if not found:
        return None
    criterion = Criterion(
        id="primary-immunodeficiency",
        description=msg("Primary immunodeficiency recorded: Medicinrådet's PID guideline applies, not the SID one"),
        held=True,
        evidence=tuple(diagnosis_evidence(d) for d in found),
    )
    return make_finding(
        facts,
        rule=RuleId.PRIMARY_IMMUNODEFICIENCY,
        recommendation=Recommendation.INDIVIDUAL_ASSESSMENT,
        population=None,
        criteria=(criterion,),
        source=sources.SCOPE,
    )


def age_unknown(facts: Facts) -> Finding | None:
    """A CAR-T/bsAb patient without a birth date: adult and child criteria differ, so age is needed."""
    if not facts.after_therapy or facts.adult is not None:
        return None
    return make_finding(
        facts,
        rule=RuleId.AGE_UNKNOWN,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=None,
        criteria=(adult_criterion(facts), index_date_criterion(facts, required=False)),
        source=sources.CHILDREN,
    )


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
    criterion = Criterion(
        id="igg-own",
        description=msg(
            "Own IgG: drawn {days} days or more after any immunoglobulin dose (IgG cannot be used as a marker under "
            "immunoglobulin)",
            days=p.igg_washout_days,
        ),
        held=False,
        evidence=(
            *(lab_evidence(c.lab) for c in sorted(recent, key=lambda c: c.lab.effective, reverse=True)[:3]),
            Evidence(
                text=msg(
                    "immunoglobulin {drug}{purpose}",
                    drug=dose.display,
                    purpose=msg(" (immunomodulation, not IgRT)") if dose.immunomodulation else "",
                ),
                ref=dose.ref,
                on=dose.end,
            ),
        ),
    )
    return make_finding(
        facts,
        rule=RuleId.IGG_NOT_OWN,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=facts.primary,
        criteria=(criterion,),
        source=sources.OWN_IGG,
        dates=default_dates(facts, own_igg_from=own_from),
        notes=(
            msg(
                "Measure IgG, IgA and IgM from {own_from}, {days} days after the last immunoglobulin dose ({drug}, "
                "{dose_on}): the IgG measured since reflects the infused immunoglobulin, not the patient's own.",
                own_from=own_from,
                days=p.igg_washout_days,
                drug=dose.display,
                dose_on=dose.end,
            ),
            *clinical_notes(facts, start_like=False),
        ),
        interpretations=_IGG_INTERPRETATIONS,
        order_lab_tests=True,
    )


def m_component_untyped(facts: Facts) -> Finding | None:
    """An untyped M-component left the IgG criterion undetermined: type it, measure IgA and IgM; never not-indicated.

    Source: Opsummering, "Kriterier for opstart", 1.: with an IgG M-component "er det totale IgG-niveau ikke et
    retvisende udtryk for den humorale immunfunktion"; "dokumentation af en generel immunparese [kan] træde i stedet
    for lavt IgG". Runs after every start rule: a low total IgG still decides (monoclonal IgG only raises it), so this
    fires only where the IgG part is what is missing: inside the CAR-T/bsAb window, in population 3, or where an
    infection criterion holds. Where no infection criterion holds, not-indicated rests on the infections alone.
    """
    status = facts.m_component
    mp = status.m_protein
    if not status.isotype_unknown or mp is None or facts.immunoparesis_substitutes or facts.igg_recent is None:
        return None
    p = facts.p
    igg_decides = (
        (Population.CAR_T_OR_BSAB in facts.populations and facts.in_window)
        or Population.ALLO_HSCT in facts.populations
        or severe_or_recurrent(facts.episodes, on=facts.as_of, p=p).held
        or igg_below_6_infection_criterion(facts.episodes, on=facts.as_of, p=p).held
    )
    if not igg_decides:
        return None
    paresis = facts.immunoparesis
    criteria = [
        Criterion(
            id="m-component-typed",
            description=msg("M-component isotype known (immunofixation): not typed"),
            held=False,
            evidence=(lab_evidence(mp),),
        ),
        low_igg(facts, facts.igg_recent, p.igg_start_below_g_per_l, criterion_id="igg-below-4", label=LATEST),
    ]
    if paresis is not None:
        criteria.append(paresis)
    return make_finding(
        facts,
        rule=RuleId.M_COMPONENT_UNTYPED,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=facts.primary,
        criteria=criteria,
        source=sources.M_COMPONENT,
        notes=(
            msg(
                "Type the M-component (immunofixation) and measure IgA and IgM: with an IgG M-component total IgG "
                "does not reflect humoral immunity, and documented general immunoparesis (IgA and IgM below their "
                "reference low) takes the place of low IgG."
            ),
            *clinical_notes(facts, start_like=False),
        ),
        interpretations=("iga_reference_low_default_g_per_l", "igm_reference_low_default_g_per_l"),
        order_lab_tests=True,
    )


def hsct_type_unknown(facts: Facts) -> Finding | None:
    """HSCT of unknown type with IgG < 4 g/L that no other start rule met: the type decides (population 3 or 1).

    Source: Opsummering, "Kriterier for opstart": population 3 is allogeneic HSCT (IgG < 4 g/L "uanset"
    infections); autologous HSCT follows the haematological disease behind it (population 1, which needs severe or
    recurrent infections); population 4 excludes anyone who "har gennemgået HSCT".
    """
    unknown = facts.diagnoses_of(DiagnosisKind.HSCT_UNKNOWN_TYPE)
    lab = facts.igg_recent
    if not unknown or Population.ALLO_HSCT in facts.populations or lab is None:
        return None
    low = low_igg(facts, lab, facts.p.igg_start_below_g_per_l, criterion_id="igg-below-4", label=LATEST)
    if not low.held:
        return None
    return make_finding(
        facts,
        rule=RuleId.HSCT_TYPE_UNKNOWN,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=Population.HAEMATOLOGICAL,
        criteria=(
            Criterion(
                id="hsct-type-known",
                description=msg("HSCT type recorded (allogeneic: population 3; autologous: population 1)"),
                held=False,
                evidence=tuple(diagnosis_evidence(d) for d in unknown),
            ),
            low,
        ),
        source=sources.START_POP3,
        notes=(
            msg(
                "Record whether the HSCT was allogeneic or autologous: after allogeneic HSCT, IgG < 4 g/L is a start "
                "criterion whatever the infections (population 3); after autologous HSCT the population-1 criteria "
                "(persistent IgG < 4 g/L and severe or recurrent bacterial infections) apply."
            ),
            *clinical_notes(facts, start_like=False),
        ),
        interpretations=(*_IGG_INTERPRETATIONS, "allo_hsct_population_calendar_months"),
    )


def no_igg_since_t0(facts: Facts) -> Finding | None:
    """Population 2 inside the window without a recent IgG measured on or after T0: order IgG, IgA, IgM."""
    if Population.CAR_T_OR_BSAB not in facts.populations or not facts.in_window or facts.igg_since_t0:
        return None
    label = msg("Recent IgG measured on or after T0 (before T0 not used)") if facts.igg_recent else RECENT_IGG
    return make_finding(
        facts,
        rule=RuleId.NO_IGG_SINCE_T0,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=Population.CAR_T_OR_BSAB,
        criteria=(
            index_date_criterion(facts),
            _igg_present(facts, label),
        ),
        source=sources.START_POP2,
        interpretations=(*_IGG_INTERPRETATIONS, "pop2_igg_must_follow_t0"),
        order_lab_tests=True,
    )


def no_recent_igg(facts: Facts) -> Finding | None:
    """No IgG result, or none recent enough (**interpretation** 90 days): order IgG, IgA, IgM."""
    if facts.igg_recent is not None:
        return None
    return make_finding(
        facts,
        rule=RuleId.NO_RECENT_IGG,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=facts.primary,
        criteria=(_igg_present(facts, RECENT_IGG),),
        source=sources.MONITORING,
        interpretations=_IGG_INTERPRETATIONS,
        order_lab_tests=True,
    )


def start_pop2_window(facts: Facts) -> Finding | None:
    """Population 2 inside the window: IgG < 4 g/L whatever the infections (addendum §4.1).

    The stop is due at T0 + 6 months only for a start on IgG < 4 g/L alone; after severe or recurrent bacterial
    infections the standard stop rules apply (addendum §4.2), so the card gives no 6-month stop date then, and the
    later continue card agrees (``guideline.continuation.window_start`` reads the same criterion on the start day).
    """
    lab = facts.igg_since_t0
    if Population.CAR_T_OR_BSAB not in facts.populations or not facts.in_window or lab is None:
        return None
    low = low_igg(
        facts, lab, facts.p.igg_start_below_g_per_l, criterion_id="igg-below-4", label=msg("Latest (since T0)")
    )
    if not low.held:
        return None
    confirmation = persistence(facts, lab, required=False)
    prior = severe_or_recurrent(facts.episodes, on=facts.as_of, p=facts.p)
    if prior.held:
        # Addendum §4.2: the 6-month stop is for IgRT started on IgG < 4 g/L alone, "uden forudgående svære eller
        # tilbagevendende bakterielle infektioner"; with them the standard stop rules apply (6-12 months after).
        course = msg(
            "Severe or recurrent bacterial infections before the start: the standard stop rules apply, a stop "
            "attempt 6-12 months after the IgRT start (addendum §4.2), not the stop 6 months after CAR-T/bsAb."
        )
        stop_due = None
    else:
        course = msg(
            "Treatment must be paused/stopped at the latest 6 months after the CAR-T infusion or bsAb start "
            "(addendum §4.1, §4.2)."
        )
        stop_due = facts.window_end
    return make_finding(
        facts,
        rule=RuleId.START_POP2_WINDOW,
        recommendation=Recommendation.START,
        population=Population.CAR_T_OR_BSAB,
        criteria=(
            adult_criterion(facts),
            index_date_criterion(facts),
            low,
            confirmation,
            prior.model_copy(
                update={
                    "id": "no-severe-or-recurrent-infection-before-start",
                    "description": msg(
                        "No severe or recurrent bacterial infections before the start, so the stop 6 months after "
                        "CAR-T/bsAb applies ({criterion})",
                        criterion=prior.description,
                    ),
                    "held": not prior.held,
                    "required": False,
                }
            ),
        ),
        source=sources.START_POP2,
        dates=default_dates(facts, stop_due=stop_due),
        notes=(
            *(() if confirmation.held else (CONFIRMATION_MISSING_NOTE,)),
            course,
            *clinical_notes(facts, start_like=True),
        ),
        interpretations=(
            *_IGG_INTERPRETATIONS,
            "pop2_igg_must_follow_t0",
            "bsab_new_course_gap_days",
            *_PERSISTENCE_INTERPRETATIONS,
            *SEVERE_OR_RECURRENT_INTERPRETATIONS,
        ),
    )


def start_pop3(facts: Facts) -> Finding | None:
    """Population 3 (allogeneic HSCT): IgG < 4 g/L whatever the infections (Opsummering, population 3)."""
    lab = facts.igg_recent
    if Population.ALLO_HSCT not in facts.populations or lab is None:
        return None
    low = low_igg(facts, lab, facts.p.igg_start_below_g_per_l, criterion_id="igg-below-4", label=LATEST)
    if not low.held:
        return None
    confirmation = persistence(facts, lab, required=False)
    return make_finding(
        facts,
        rule=RuleId.START_POP3,
        recommendation=Recommendation.START,
        population=Population.ALLO_HSCT,
        criteria=(population_criterion(facts, Population.ALLO_HSCT), low, confirmation),
        source=sources.START_POP3,
        notes=(
            *(() if confirmation.held else (CONFIRMATION_MISSING_NOTE,)),
            *clinical_notes(facts, start_like=True),
        ),
        interpretations=(*_IGG_INTERPRETATIONS, *_PERSISTENCE_INTERPRETATIONS, "allo_hsct_population_calendar_months"),
    )


def start_pop1_or_pop2_after_window(facts: Facts) -> Finding | None:
    """Population 1, or 2 from T0 + 6 months: persistent IgG < 4 g/L and severe or recurrent infections."""
    population = _pop1_like(facts)
    lab = facts.igg_recent
    if population is None or lab is None:
        return None
    criteria = _pop1_start_criteria(facts, population)
    if not all(c.held for c in criteria if c.required):
        return None
    after_window = population == Population.CAR_T_OR_BSAB
    return make_finding(
        facts,
        rule=RuleId.START_POP2_AFTER_WINDOW if after_window else RuleId.START_POP1,
        recommendation=Recommendation.START,
        population=population,
        criteria=criteria,
        source=sources.START_POP2 if after_window else sources.START_POP1,
        notes=clinical_notes(facts, start_like=True),
        interpretations=(*_IGG_INTERPRETATIONS, *_PERSISTENCE_INTERPRETATIONS, *SEVERE_OR_RECURRENT_INTERPRETATIONS),
    )


def consider_pop4(facts: Facts) -> Finding | None:
    """Population 4 meeting the population-1 start criteria: consider, after specialised work-up."""
    if facts.primary != Population.OTHER_HYPOGAMMAGLOBULINAEMIA or facts.igg_recent is None:
        return None
    criteria = _pop1_start_criteria(facts, Population.OTHER_HYPOGAMMAGLOBULINAEMIA)
    if not all(c.held for c in criteria if c.required):
        return None
    return make_finding(
        facts,
        rule=RuleId.CONSIDER_POP4,
        recommendation=Recommendation.CONSIDER,
        population=Population.OTHER_HYPOGAMMAGLOBULINAEMIA,
        criteria=criteria,
        source=sources.START_POP4,
        notes=(POP4_WORK_UP_NOTE, *clinical_notes(facts, start_like=True)),
        interpretations=(*_IGG_INTERPRETATIONS, *_PERSISTENCE_INTERPRETATIONS, *SEVERE_OR_RECURRENT_INTERPRETATIONS),
    )


def consider_igg_below_6(facts: Facts) -> Finding | None:
    """Populations 1, 2 (whole period) and 4: IgG < 6 g/L and the 6-month infection criterion ("kan overvejes")."""
    lab = facts.igg_recent
    population = facts.primary
    eligible = {Population.HAEMATOLOGICAL, Population.CAR_T_OR_BSAB, Population.OTHER_HYPOGAMMAGLOBULINAEMIA}
    if lab is None or not facts.populations & eligible:
        return None
    if population not in eligible:
        population = min(facts.populations & eligible)
    low = igg_below_consider(facts, lab)
    infections = igg_below_6_infection_criterion(facts.episodes, on=facts.as_of, p=facts.p)
    if not (low.held and infections.held):
        return None
    source = {
        Population.CAR_T_OR_BSAB: sources.START_POP2,
        Population.OTHER_HYPOGAMMAGLOBULINAEMIA: sources.START_POP4,
    }.get(population, sources.START_POP1)
    return make_finding(
        facts,
        rule=RuleId.CONSIDER_IGG_BELOW_6,
        recommendation=Recommendation.CONSIDER,
        population=population,
        criteria=(population_criterion(facts, population), low, infections),
        source=source,
        notes=(
            *((POP4_WORK_UP_NOTE,) if population == Population.OTHER_HYPOGAMMAGLOBULINAEMIA else ()),
            msg(
                "Immunoglobulin can be considered where the clinician judges low IgG a decisive single factor for "
                "the infections. Weigh: has antibiotic prophylaxis been tried; total immune competence; "
                "reversibility; vaccination responses (pneumococcal, diphtheria/tetanus)."
            ),
            *clinical_notes(facts, start_like=True),
        ),
        interpretations=(*_IGG_INTERPRETATIONS, *EPISODE_INTERPRETATIONS),
    )


def unconfirmed_low_igg(facts: Facts) -> Finding | None:
    """IgG < 4 g/L with severe or recurrent infections but persistence not shown: repeat IgG (Monitorering)."""
    population = _pop1_like(facts) or (
        Population.OTHER_HYPOGAMMAGLOBULINAEMIA if facts.primary == Population.OTHER_HYPOGAMMAGLOBULINAEMIA else None
    )
    if population is None or facts.igg_recent is None:
        return None
    criteria = _pop1_start_criteria(facts, population)
    persistent = next(c for c in criteria if c.id == "igg-persistent")
    if persistent.held or not all(c.held for c in criteria if c.required and c.id != "igg-persistent"):
        return None
    return make_finding(
        facts,
        rule=RuleId.UNCONFIRMED_LOW_IGG,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=population,
        criteria=criteria,
        source=sources.MONITORING,
        notes=(
            msg(
                "The start criterion needs persistent IgG < 4 g/L: repeat IgG (with IgA and IgM) at least 3 weeks "
                "after the latest, at least one sample taken without active infection (Monitorering af effekt)."
            ),
            *clinical_notes(facts, start_like=False),
        ),
        interpretations=(*_IGG_INTERPRETATIONS, *_PERSISTENCE_INTERPRETATIONS, *SEVERE_OR_RECURRENT_INTERPRETATIONS),
        order_lab_tests=True,
    )


def not_indicated(facts: Facts) -> Finding:
    """No start criterion holds: not indicated; suggest antibiotic prophylaxis (Opsummering, Kriterier for opstart)."""
    lab = facts.igg_recent
    p = facts.p
    criteria = [
        *(population_criterion(facts, pop) for pop in sorted(facts.populations)),
        low_igg(facts, lab, p.igg_start_below_g_per_l, criterion_id="igg-below-4", label=LATEST),
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
        criteria=[c.model_copy(update={"required": False}) for c in criteria],
        source=sources.START_POP1,
        notes=(NOT_INDICATED_NOTE, *clinical_notes(facts, start_like=False)),
        interpretations=(*_IGG_INTERPRETATIONS, "pop2_igg_must_follow_t0", *SEVERE_OR_RECURRENT_INTERPRETATIONS),
    )


START_RULES: tuple[Rule, ...] = (
    child_after_car_t_or_bsab,
    primary_immunodeficiency,
    age_unknown,
    igg_not_own,
    no_igg_since_t0,
    no_recent_igg,
    start_pop3,
    start_pop2_window,
    start_pop1_or_pop2_after_window,
    hsct_type_unknown,
    consider_pop4,
    consider_igg_below_6,
    unconfirmed_low_igg,
    m_component_untyped,
)
"""Start rules in precedence order; ``not_indicated`` applies when none fires."""


def decide_start(facts: Facts) -> Finding:
    """Return the first start rule's finding, or not-indicated unless a ``NOT_INDICATED_CHECKS`` check holds."""
    for rule in START_RULES:
        finding = rule(facts)
        if finding is not None:
            return finding
    for check in NOT_INDICATED_CHECKS:
        finding = check(facts)
        if finding is not None:
            return finding
    return not_indicated(facts)


def preliminary_igg_pending(facts: Facts) -> Finding | None:
    """A newer preliminary IgG below 6 g/L (or its reference low) awaits confirmation: no confident not-indicated.

    Source: Opsummering, "Monitorering af effekt" (the decision rests on measured IgG); issue "clinical fidelity 3"
    §9: a newer preliminary result is never silently outweighed by an older final one.
    """
    lab = facts.preliminary_igg
    if lab is None:
        return None
    low = lab.reference_low_g_per_l
    if not (lab.is_below(facts.p.igg_consider_below_g_per_l) or (low is not None and lab.is_below(low))):
        return None
    return make_finding(
        facts,
        rule=RuleId.PRELIMINARY_IGG,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=facts.primary,
        criteria=(
            Criterion(
                id="igg-final",
                description=msg("The newest IgG is a final result"),
                held=False,
                evidence=(lab_evidence(lab),),
            ),
        ),
        source=sources.MONITORING,
        notes=(
            msg(
                "A newer IgG of {value} on {on} is still preliminary; the older final results would give "
                "not-indicated. Decide when the final result is reported.",
                value=lab.shown(),
                on=lab.effective,
            ),
            *clinical_notes(facts, start_like=False),
        ),
        interpretations=_IGG_INTERPRETATIONS,
    )


def infection_not_verified(facts: Facts) -> Finding | None:
    """Infections not verified as bacterial would decide the start: say how many and what would verify them.

    Source: Opsummering, "Kriterier for opstart" ("svære eller tilbagevendende verificerede bakterielle
    infektioner"; "verificerede bakterielle infektioner med definitivt behov for antibiotika"); issue "clinical
    fidelity 3" §9. Read counterfactually: were the infections coded without organism and antibiotic (not counted),
    and the bacterial ones not confirmed, verified bacterial infections, would a start or consider follow? Then the
    answer rests on their verification: insufficient data, never a silent not-indicated.
    """
    given = facts.given
    months = facts.p.severe_or_recurrent_lookback_calendar_months
    since = add_calendar_months(facts.as_of, -months)
    uncounted = {i.ref for i in facts.not_verified if since <= i.onset <= facts.as_of}
    unconfirmed = {ref for e in facts.episodes if since <= e.onset <= facts.as_of and not e.verified for ref in e.refs}
    if given is None or not (uncounted or unconfirmed):
        return None
    verified = tuple(
        i.model_copy(update={"kinds": i.kinds | {InfectionKind.BACTERIAL}, "verification": "confirmed"})
        if i.ref in uncounted or i.ref in unconfirmed
        else i
        for i in given.infections
    )
    counterfactual = decide_start(
        derive(given.model_copy(update={"infections": verified}), as_of=facts.as_of, p=facts.p)
    )
    if counterfactual.recommendation not in (Recommendation.START, Recommendation.CONSIDER):
        return None
    named = [i for i in facts.record.infections if i.ref in uncounted or i.ref in unconfirmed]
    return make_finding(
        facts,
        rule=RuleId.INFECTION_NOT_VERIFIED,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=facts.primary,
        criteria=(
            Criterion(
                id="infections-verified-as-bacterial",
                description=msg(
                    "Infections in the last {months} months verified as bacterial: not verified: {count}",
                    months=months,
                    count=len(named),
                ),
                held=False,
                evidence=tuple(
                    Evidence(text=msg("{display}", display=i.display), ref=i.ref, on=i.onset) for i in named
                ),
            ),
            Criterion(
                id="if-verified",
                description=msg(
                    "If they were verified bacterial infections: {recommendation}",
                    recommendation=RECOMMENDATION_WORDS[counterfactual.recommendation],
                ),
                held=None,
                required=False,
            ),
        ),
        source=sources.START_POP1,
        notes=(
            msg(
                "Infection not verified as bacterial: {count}. What would verify it: the organism (a culture, or a "
                "code that names the bacterium), a systemic antibiotic (ATC J01) given for it, or a confirmed "
                "verificationStatus. Verified, the start criteria would give: {recommendation}.",
                count=len(named),
                recommendation=RECOMMENDATION_WORDS[counterfactual.recommendation],
            ),
            *clinical_notes(facts, start_like=False),
        ),
        interpretations=(*SEVERE_OR_RECURRENT_INTERPRETATIONS, *EPISODE_INTERPRETATIONS),
    )


NOT_INDICATED_CHECKS: tuple[Rule, ...] = (preliminary_igg_pending, infection_not_verified)
"""Checks a not-indicated passes before it is issued: the data that would change it is named instead."""


def _pop1_like(facts: Facts) -> Population | None:
    """Population 2 after the window or population 1 (same criteria), in that order of precedence."""
    if Population.CAR_T_OR_BSAB in facts.populations and not facts.in_window:
        return Population.CAR_T_OR_BSAB
    if Population.HAEMATOLOGICAL in facts.populations:
        return Population.HAEMATOLOGICAL
    return None


def _pop1_start_criteria(facts: Facts, population: Population) -> tuple[Criterion, ...]:
    lab = facts.igg_recent
    assert lab is not None
    criteria = [population_criterion(facts, population)]
    if population == Population.CAR_T_OR_BSAB:
        criteria.append(index_date_criterion(facts, required=False))
    criteria += [
        low_igg(facts, lab, facts.p.igg_start_below_g_per_l, criterion_id="igg-below-4", label=LATEST),
        persistence(facts, lab, required=True),
        severe_or_recurrent(facts.episodes, on=facts.as_of, p=facts.p),
    ]
    return tuple(criteria)


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
    return Criterion(
        id="igg-recent",
        description=msg("{label}: measured within the last {days} days", label=label, days=days),
        held=False,
        evidence=evidence,
    )
