"""A CAR-T recorded only as history (no infusion date): decide when every possible T0 gives the same answer.

Source: addendum §4.1-§4.2: inside the first 6 months after the CAR-T infusion the start and stop criteria differ
from those after it, so the window needs the infusion date. A history code ("tidligere behandling med genetisk
modificerede autologe blodceller", SKS DZ948D) without an administration date is no T0 (issue "clinical fidelity
3" §9): the infusion was on or before the day the code was recorded, so

* from the recorded day + 6 months on, the window has ended whatever the date: the standard (population 1)
  criteria decide, and nothing here is needed;
* before that, the window may still run. Both readings are decided: the window has ended (no T0), or it runs from
  the recorded day (the latest possible T0). When they agree, the answer stands without any date the data cannot
  support (no "stop by" date); when they differ, the card asks for the infusion date (insufficient data).
"""

from __future__ import annotations

from dataclasses import replace

from guideline import sources
from guideline.calendar import add_calendar_months
from guideline.concepts import Recommendation, RuleId
from guideline.criteria import RECOMMENDATION_WORDS, Decide, make_finding
from guideline.evidence import recorded_evidence
from guideline.facts import Facts, derive
from guideline.model import Criterion, Finding, KeyDates
from guideline.text import msg


def decide_t0_unknown(facts: Facts, decide: Decide) -> Finding | None:
    """Return the finding for an adult whose only CAR-T is a history code recorded less than 6 months ago.

    Source: addendum §4.1 and §4.2 (inside the first 6 months after the infusion other start and stop criteria).

    Args:
        facts: the facts (``car_t_undated`` set, no dated T0).
        decide: the decision for known facts (start or continuation rules).

    Returns:
        ``None`` when the unknown date cannot matter (no undated CAR-T, a dated T0, not an adult, or the window has
        ended for every possible date); else the agreed finding without window dates, or insufficient data.
    """
    undated = facts.car_t_undated
    if undated is None or facts.index is not None or facts.adult is not True or facts.given is None:
        return None
    latest_end = add_calendar_months(undated.on, facts.p.window_calendar_months)
    if facts.as_of >= latest_end:
        return None
    ended = decide(facts)
    infusion = replace(undated, date_certain=True)
    therapies = tuple(infusion if t.ref == undated.ref else t for t in facts.given.therapies)
    running = decide(derive(facts.given.model_copy(update={"therapies": therapies}), as_of=facts.as_of, p=facts.p))
    dated = Criterion.unmet(
        "car-t-infusion-date-recorded",
        msg(
            "CAR-T infusion date recorded (only a history code of {recorded}: the infusion was on or before it)",
            recorded=undated.on,
        ),
        recorded_evidence(undated.substance, undated.ref, undated.on),
    )
    if ended.recommendation == running.recommendation:
        note = msg(
            "The CAR-T infusion date is not recorded (history code of {recorded}), so it is unknown whether the "
            "first 6 months after it have passed; the answer is the same either way. Record the infusion date: "
            "inside those 6 months a stop is due 6 months after it (addendum §4.2).",
            recorded=undated.on,
        )
        return replace(
            ended,
            criteria=(*ended.criteria, replace(dated, required=False)),
            notes=(*ended.notes, note),
            dates=replace(ended.dates, t0=None, window_end=None),
        )
    readings = (
        Criterion.for_information(
            "reading-window-running",
            msg(
                "If the infusion was less than 6 months ago (the window runs until {end} at the latest): "
                "{recommendation}",
                end=latest_end,
                recommendation=RECOMMENDATION_WORDS[running.recommendation],
            ),
        ),
        Criterion.for_information(
            "reading-window-ended",
            msg(
                "If the infusion was 6 months ago or more: {recommendation}",
                recommendation=RECOMMENDATION_WORDS[ended.recommendation],
            ),
        ),
    )
    return make_finding(
        facts,
        rule=RuleId.CAR_T_DATE_UNKNOWN,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=facts.primary,
        criteria=(dated, *readings),
        source=sources.START_POP2,
        summary=msg("CAR-T recorded without the infusion date, which decides here: record it"),
        dates=KeyDates(),
        notes=(
            msg(
                "Record the CAR-T infusion date (the administration, or the date in the history record): inside "
                "the first 6 months after CAR-T, IgG < 4 g/L alone is a start criterion and IgRT is stopped 6 "
                "months after the infusion; later the population-1 criteria apply (addendum §4.1, §4.2). The "
                "history code of {recorded} does not say when it was given.",
                recorded=undated.on,
            ),
        ),
        interpretations=running.interpretations,
    )
