"""Population 2 inside the window: an adult in the first 6 months after CAR-T or the start of a bsAb course.

Source: addendum §4.1 "Opstartskriterier": IgG < 4 g/L whatever the infections, from T0 (the CAR-T infusion or the
first dose of the bsAb course) to T0 + 6 calendar months; §4.2 for the stop date the start card gives.
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import Population, Recommendation, RuleId
from guideline.criteria import adult_criterion, clinical_notes, default_dates, index_date_criterion, make_finding
from guideline.facts import Facts
from guideline.igg_criteria import (
    IGG_INTERPRETATIONS,
    PERSISTENCE_INTERPRETATIONS,
    confirmation_for_information,
    igg_below_4,
    shown_igg,
)
from guideline.infections import SEVERE_OR_RECURRENT_INTERPRETATIONS, severe_or_recurrent
from guideline.model import Finding
from guideline.text import msg


def start_pop2_window(facts: Facts) -> Finding | None:
    """Population 2 inside the window: IgG < 4 g/L whatever the infections.

    Source: addendum §4.1 "Opstartskriterier"; §4.2 "Seponeringskriterier" for the stop. The stop is due at T0 + 6
    months only for a start on IgG < 4 g/L alone; after severe or recurrent bacterial infections the standard stop
    rules apply (addendum §4.2), so the card gives no 6-month stop date then, and the later continue card agrees
    (``guideline.continuation.short_course.window_start`` reads the same criterion on the start day).
    """
    lab = facts.igg_since_t0
    if Population.CAR_T_OR_BSAB not in facts.populations or not facts.in_window or lab is None:
        return None
    low = igg_below_4(facts, lab, label=msg("Latest (since T0)"))
    if not low.held:
        return None
    confirmation, confirmation_notes = confirmation_for_information(facts, lab)
    prior = severe_or_recurrent(facts.episodes, on=facts.as_of, p=facts.p)
    igg = shown_igg((low,))
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
    summary = (
        msg("Start IgRT: IgG {igg} < 4 g/L within 6 months of CAR-T/bsAb; standard stop rules (infections)", igg=igg)
        if stop_due is None
        else msg(
            "Start IgRT: IgG {igg} < 4 g/L within 6 months of CAR-T/bsAb; stop by {stop_due}",
            igg=igg,
            stop_due=stop_due,
        )
    )
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
            prior.restated(
                msg(
                    "No severe or recurrent bacterial infections before the start, so the stop 6 months after "
                    "CAR-T/bsAb applies ({criterion})",
                    criterion=prior.description,
                ),
                not prior.held,
                id="no-severe-or-recurrent-infection-before-start",
                required=False,
            ),
        ),
        source=sources.START_POP2,
        summary=summary,
        immunoparesis_summary=None
        if stop_due is None
        else msg("Start IgRT within 6 months of CAR-T/bsAb: immunoparesis in place of low IgG"),
        dates=default_dates(facts, stop_due=stop_due),
        notes=(*confirmation_notes, course, *clinical_notes(facts, start_like=True)),
        interpretations=(
            *IGG_INTERPRETATIONS,
            "pop2_igg_must_follow_t0",
            "bsab_new_course_gap_days",
            *PERSISTENCE_INTERPRETATIONS,
            *SEVERE_OR_RECURRENT_INTERPRETATIONS,
        ),
    )
