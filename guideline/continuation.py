"""Rules for patients on IgRT: continue, pause or stop.

Sources: addendum §4.2 (population 2 short course: stop 6 months after T0) and Opsummering "Kriterier for
seponering" (standard: follow-up at 3 and 6 months, stop attempt 6-12 months after start with the winter months
inside the treatment period, reassess every 6 months, summer pause 1 May - 1 October).
"""

from __future__ import annotations

from datetime import date

from guideline import sources
from guideline.calendar import add_calendar_months, date_when_winter_days_reach, is_summer, winter_days_between
from guideline.concepts import Population, Recommendation, RuleId
from guideline.criteria import clinical_notes, default_dates, make_finding, t0_evidence
from guideline.facts import Facts
from guideline.igrt import IgrtEpisode
from guideline.infections import SEVERE_OR_RECURRENT_INTERPRETATIONS, severe_or_recurrent
from guideline.model import Criterion, Evidence, Finding
from guideline.start_rules import age_unknown, child_after_car_t_or_bsab, primary_immunodeficiency
from guideline.text import Message, msg

_IGRT_INTERPRETATIONS = ("on_igrt_recent_days",)
EXTENSION_NOTE = msg(
    "With a significant community risk of antibiotic-requiring bacterial infections a short extension may be "
    "relevant (addendum §4.2)."
)
RECOVERY_NOTE = msg(
    "Immune recovery (IgG > 4 g/L) can only be judged from an IgG measured in a period without IgRT "
    "(addendum §3.4); rising IgA/IgM support a stop or pause (Opsummering, Kriterier for seponering)."
)
RESTART_NOTE = msg(
    "If infections recur after a stop or pause, antibiotic prophylaxis can be tried before restarting "
    "(Opsummering, Pausering)."
)


def decide_continuation(facts: Facts) -> Finding:
    """Return continue, pause or stop (or individual assessment / insufficient data) for a patient on IgRT."""
    for rule in (child_after_car_t_or_bsab, primary_immunodeficiency, age_unknown, igrt_start_unknown):
        finding = rule(facts)
        if finding is not None:
            return finding
    episode = facts.igrt.current
    assert episode is not None
    return pop2_short_course(facts, episode) or standard(facts, episode)


def igrt_start_unknown(facts: Facts) -> Finding | None:
    """On IgRT by an active order/statement without any date: the stop dates cannot be computed."""
    refs = facts.igrt.start_unknown_refs
    if not refs:
        return None
    return make_finding(
        facts,
        rule=RuleId.IGRT_START_UNKNOWN,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=facts.primary,
        criteria=(
            Criterion(
                id="igrt-start-known",
                description=msg("IgRT start date known (active immunoglobulin order/statement has no date)"),
                held=False,
                evidence=tuple(Evidence(text=msg("active, undated"), ref=r) for r in refs),
            ),
        ),
        source=sources.STOP_STANDARD,
        interpretations=_IGRT_INTERPRETATIONS,
    )


def pop2_short_course(facts: Facts, episode: IgrtEpisode) -> Finding | None:
    """IgRT started inside the window on IgG < 4 g/L alone: stop at T0 + 6 months (addendum §4.2)."""
    index, end = facts.index, facts.window_end
    if Population.CAR_T_OR_BSAB not in facts.populations or index is None or end is None:
        return None
    started_in_window = index.t0 <= episode.start < end
    prior = severe_or_recurrent(facts.episodes, on=episode.start, p=facts.p)
    if not started_in_window or prior.held:
        return None
    criteria = (
        _igrt_start_criterion(episode),
        Criterion(
            id="igrt-started-inside-window",
            description=msg(
                "IgRT started inside the window T0 {t0} <= {start} < {end}", t0=index.t0, start=episode.start, end=end
            ),
            held=True,
            evidence=t0_evidence(index),
        ),
        prior.model_copy(
            update={
                "id": "no-severe-or-recurrent-infection-before-start",
                "description": msg(
                    "Not met before the IgRT start (started on IgG < 4 g/L alone): {criterion}",
                    criterion=prior.description,
                ),
                "held": True,
            }
        ),
        Criterion(
            id="t0-plus-6-months-reached",
            description=msg("{as_of} >= T0 + 6 months ({end})", as_of=facts.as_of, end=end),
            held=facts.as_of >= end,
        ),
    )
    stop = facts.as_of >= end
    follow_up = add_calendar_months(episode.start, 3)
    return make_finding(
        facts,
        rule=RuleId.POP2_SHORT_COURSE_STOP if stop else RuleId.POP2_SHORT_COURSE_CONTINUE,
        recommendation=Recommendation.STOP if stop else Recommendation.CONTINUE,
        population=Population.CAR_T_OR_BSAB,
        criteria=criteria,
        source=sources.STOP_POP2,
        dates=default_dates(
            facts,
            igrt_start=episode.start,
            stop_due=end,
            next_follow_up=follow_up if facts.as_of <= follow_up < end else end,
        ),
        notes=(EXTENSION_NOTE, RECOVERY_NOTE, *clinical_notes(facts, start_like=False)),
        interpretations=(*_IGRT_INTERPRETATIONS, "bsab_new_course_gap_days", *SEVERE_OR_RECURRENT_INTERPRETATIONS),
    )


def standard(facts: Facts, episode: IgrtEpisode) -> Finding:
    """Standard follow-up, summer pause and stop attempt 6-12 months after start (Opsummering, seponering)."""
    p, as_of, start = facts.p, facts.as_of, episode.start
    stop_from = add_calendar_months(start, p.stop_attempt_from_calendar_months)
    stop_until = add_calendar_months(start, p.stop_attempt_until_calendar_months)
    stop_due = date_when_winter_days_reach(start, stop_from, p.stop_min_winter_days_on_igrt)
    winter = winter_days_between(start, as_of)
    dates = default_dates(
        facts, igrt_start=start, stop_due=stop_due, next_follow_up=next_follow_up(start, as_of, facts)
    )
    criteria: list[Criterion] = [
        _igrt_start_criterion(episode),
        Criterion(
            id="igrt-at-least-6-months",
            description=msg(
                "On IgRT for at least {months} months (from {stop_from})",
                months=p.stop_attempt_from_calendar_months,
                stop_from=stop_from,
            ),
            held=as_of >= stop_from,
        ),
    ]
    if facts.index is not None:
        criteria.append(_standard_reason_criterion(facts, episode))
    if as_of < stop_from:
        rule, recommendation, source = RuleId.STANDARD_CONTINUE, Recommendation.CONTINUE, sources.STOP_STANDARD
    elif is_summer(as_of):
        criteria.append(
            Criterion(id="summer", description=msg("{as_of} lies in 1 May - 1 October", as_of=as_of), held=True)
        )
        rule, recommendation, source = RuleId.STANDARD_PAUSE_SUMMER, Recommendation.PAUSE, sources.PAUSE
    else:
        criteria.append(
            Criterion(
                id="winter-covered",
                description=msg(
                    "Winter months inside the treatment period: {winter} of >= {needed} days between 1 Oct and "
                    "30 Apr on IgRT (reached {stop_due})",
                    winter=winter,
                    needed=p.stop_min_winter_days_on_igrt,
                    stop_due=stop_due,
                ),
                held=as_of >= stop_due,
            )
        )
        criteria.append(
            Criterion(
                id="within-stop-attempt-period",
                description=msg(
                    "Within the stop-attempt period 6-12 months after start ({stop_from} to {stop_until})",
                    stop_from=stop_from,
                    stop_until=stop_until,
                ),
                held=stop_from <= as_of < stop_until,
            )
        )
        attempt = stop_due <= as_of < stop_until
        rule = RuleId.STANDARD_STOP_ATTEMPT if attempt else RuleId.STANDARD_CONTINUE
        recommendation = Recommendation.STOP if attempt else Recommendation.CONTINUE
        source = sources.STOP_STANDARD
    notes: list[Message] = []
    if as_of >= stop_until:
        notes.append(
            msg(
                "A stop attempt was due 6-12 months after start ({stop_from} to {stop_until}); while IgRT continues, "
                "reassess continue, pause or stop every 6 months (Opsummering, Kriterier for seponering).",
                stop_from=stop_from,
                stop_until=stop_until,
            )
        )
    if recommendation in (Recommendation.STOP, Recommendation.PAUSE):
        notes.append(RESTART_NOTE)
        notes.append(RECOVERY_NOTE)
    return make_finding(
        facts,
        rule=rule,
        recommendation=recommendation,
        population=facts.primary,
        criteria=criteria,
        source=source,
        dates=dates,
        notes=(*notes, *clinical_notes(facts, start_like=False)),
        interpretations=(*_IGRT_INTERPRETATIONS, "stop_min_winter_days_on_igrt"),
    )


def next_follow_up(start: date, as_of: date, facts: Facts) -> date:
    """Return the first follow-up on or after ``as_of``: 3 and 6 months after start, then every 6 months."""
    p = facts.p
    months = list(p.follow_up_calendar_months)
    while add_calendar_months(start, months[-1]) < as_of:
        months.append(months[-1] + p.reassess_every_calendar_months)
    return next(add_calendar_months(start, m) for m in months if add_calendar_months(start, m) >= as_of)


def _igrt_start_criterion(episode: IgrtEpisode) -> Criterion:
    return Criterion(
        id="on-igrt",
        description=msg("On IgRT since {start} (last recorded exposure {end})", start=episode.start, end=episode.end),
        held=True,
        evidence=tuple(Evidence(text=msg("immunoglobulin"), ref=r) for r in episode.refs[-5:]),
    )


def _standard_reason_criterion(facts: Facts, episode: IgrtEpisode) -> Criterion:
    """Why a CAR-T/bsAb patient follows the standard stop rules (addendum §4.2, second paragraph)."""
    index = facts.index
    assert index is not None
    if episode.start < index.t0:
        reason = msg("IgRT started before T0 ({t0})", t0=index.t0)
    elif facts.window_end is not None and episode.start >= facts.window_end:
        reason = msg("IgRT started 6 months or more after T0 ({t0})", t0=index.t0)
    else:
        reason = msg("IgRT started inside the window after severe or recurrent bacterial infections")
    return Criterion(
        id="standard-stop-rules-apply",
        description=msg("Standard stop rules apply to this CAR-T/bsAb patient: {reason}", reason=reason),
        held=True,
    )
