"""The standard stop rules: follow-up, summer pause, and a stop attempt 6-12 months after the start.

Source: Opsummering, "Kriterier for seponering" (follow-up at 3 and 6 months, a stop attempt 6-12 months after the
start with the winter months inside the treatment period, reassessment every 6 months) and "Pausering" (summer pause
1 May - 1 October); addendum §4.2, second paragraph (the same rules for CAR-T/bsAb patients outside the short course).
"""

from __future__ import annotations

from datetime import date

from guideline import sources
from guideline.calendar import add_calendar_months, date_when_winter_days_reach, is_summer, winter_days_between
from guideline.concepts import Recommendation, RuleId
from guideline.continuation.episode import IGRT_INTERPRETATIONS, RECOVERY_NOTE, igrt_start_criterion
from guideline.continuation.short_course import WindowStart
from guideline.criteria import clinical_notes, default_dates, make_finding
from guideline.facts import Facts
from guideline.follow_up import follow_up_due
from guideline.igrt import IgrtEpisode
from guideline.infections import EPISODE_INTERPRETATIONS
from guideline.model import Criterion, Finding
from guideline.text import Message, msg

RESTART_NOTE = msg(
    "If infections recur after a stop or pause, antibiotic prophylaxis can be tried before restarting "
    "(Opsummering, Pausering)."
)


def standard(facts: Facts, episode: IgrtEpisode, window: WindowStart | None = None) -> Finding:
    """Standard follow-up, summer pause and stop attempt 6-12 months after start.

    Source: Opsummering, "Kriterier for seponering" and "Pausering"; addendum §4.2. Past 12 months of continuous IgRT no
    stop attempt was made ("Seponering bør forsøges 6-12 måneder efter opstart ... ved fortsat behandling revurderes
    hver 6. måned", addendum §4.2; "man tilstræber kortvarig behandling", Opsummering): the attempt is overdue, so
    **stop** unless a bacterial infection occurred on IgRT in the last ``overdue_stop_infection_free_calendar_months``
    months; then continue and reassess every 6 months. No summer pause inside the first 6 months after CAR-T/bsAb, the
    period of highest infection risk (addendum §3.4, §4.3). A stop finding carries no follow-up date; a
    continue-and-reassess finding no stop date.
    """
    p, as_of, start = facts.p, facts.as_of, episode.start
    stop_from = add_calendar_months(start, p.stop_attempt_from_calendar_months)
    stop_until = add_calendar_months(start, p.stop_attempt_until_calendar_months)
    stop_due = date_when_winter_days_reach(start, stop_from, p.stop_min_winter_days_on_igrt)
    winter = winter_days_between(start, as_of)
    follow_up, overdue = follow_up_due(facts, episode)
    criteria: list[Criterion] = [
        igrt_start_criterion(episode),
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
    notes: list[Message] = []
    if window is not None and window.standard_reason is not None:
        criteria.append(
            Criterion(
                id="standard-stop-rules-apply",
                description=msg(
                    "Standard stop rules apply to this CAR-T/bsAb patient: {reason}", reason=window.standard_reason
                ),
                held=True,
            )
        )
    summer_pause = is_summer(as_of)
    dates = default_dates(
        facts,
        igrt_start=start,
        stop_due=stop_due,
        stop_attempt_until=stop_until,
        next_follow_up=follow_up,
        follow_up_overdue=overdue,
    )
    interpretations = [*IGRT_INTERPRETATIONS, "stop_min_winter_days_on_igrt"]
    continuing = _continue_summary(start, follow_up, overdue, stop_due, as_of)
    if as_of < stop_from:
        rule, recommendation, source = RuleId.STANDARD_CONTINUE, Recommendation.CONTINUE, sources.STOP_STANDARD
        summary = continuing
    elif as_of >= stop_until:
        recent = _infections_on_igrt(facts, episode)
        criteria.append(recent)
        interpretations = [*IGRT_INTERPRETATIONS, *EPISODE_INTERPRETATIONS]
        if not recent.held:
            rule, recommendation, source = RuleId.STANDARD_STOP_OVERDUE, Recommendation.STOP, sources.STOP_STANDARD
            dates = default_dates(facts, igrt_start=start, stop_due=stop_due, stop_attempt_until=stop_until)
            summary = msg(
                "Attempt to stop IgRT: stop attempt overdue since {stop_due}, no bacterial infection in 6 months",
                stop_due=stop_due,
            )
            notes.append(
                msg(
                    "A stop attempt was due 6-12 months after the start ({stop_from} to {stop_until}) and is overdue "
                    "since {stop_due}; with no bacterial infection on IgRT in the last {months} months, attempt the "
                    "stop now (Opsummering, Kriterier for seponering; addendum §4.2).",
                    stop_from=stop_from,
                    stop_until=stop_until,
                    stop_due=stop_due,
                    months=p.overdue_stop_infection_free_calendar_months,
                )
            )
        else:
            # A bacterial infection on IgRT in the last 6 months: continue and reassess (no summer pause either).
            rule, recommendation = RuleId.STANDARD_CONTINUE_REASSESS, Recommendation.CONTINUE
            source = sources.STOP_STANDARD
            dates = default_dates(facts, igrt_start=start, next_follow_up=follow_up, follow_up_overdue=overdue)
            summary = msg(
                "Continue IgRT (infection on IgRT in the last 6 months); reassess on {follow_up}", follow_up=follow_up
            )
            notes.append(
                msg(
                    "Bacterial infection on IgRT in the last {months} months: continue, and reassess continue, pause "
                    "or stop every 6 months (next {next}) (Opsummering, Kriterier for seponering).",
                    months=p.overdue_stop_infection_free_calendar_months,
                    next=follow_up,
                )
            )
    elif summer_pause:
        criteria.append(
            Criterion(
                id="summer", description=msg("Summer: {as_of} is between 1 May and 1 October", as_of=as_of), held=True
            )
        )
        rule, recommendation, source = RuleId.STANDARD_PAUSE_SUMMER, Recommendation.PAUSE, sources.PAUSE
        summary = msg("Consider pausing IgRT over the summer (1 May-1 Oct); on IgRT since {start}", start=start)
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
        attempt = stop_due <= as_of
        rule = RuleId.STANDARD_STOP_ATTEMPT if attempt else RuleId.STANDARD_CONTINUE
        recommendation = Recommendation.STOP if attempt else Recommendation.CONTINUE
        source = sources.STOP_STANDARD
        summary = continuing
        if attempt:
            dates = default_dates(facts, igrt_start=start, stop_due=stop_due, stop_attempt_until=stop_until)
            summary = msg("Attempt to stop IgRT: 6-12 months since start {start}, winter included", start=start)
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
        summary=summary,
        dates=dates,
        notes=(*notes, *clinical_notes(facts, start_like=False)),
        interpretations=interpretations,
    )


def _continue_summary(start: date, follow_up: date, overdue: bool, stop_due: date, as_of: date) -> Message:
    """The continue card's one line: the follow-up that is overdue, or the next follow-up and stop attempt."""
    if overdue:
        return msg(
            "Continue IgRT (since {start}); follow-up overdue since {follow_up}: reassess now",
            start=start,
            follow_up=follow_up,
        )
    if stop_due >= as_of:
        return msg(
            "Continue IgRT (since {start}); next follow-up {follow_up}, stop attempt due {stop_due}",
            start=start,
            follow_up=follow_up,
            stop_due=stop_due,
        )
    return msg(
        "Continue IgRT (since {start}); next follow-up {follow_up}: reassess continue, pause or stop",
        start=start,
        follow_up=follow_up,
    )


def _infections_on_igrt(facts: Facts, episode: IgrtEpisode) -> Criterion:
    """Bacterial infection episodes on IgRT in the last ``overdue_stop_infection_free_calendar_months`` months."""
    months = facts.p.overdue_stop_infection_free_calendar_months
    since = max(episode.start, add_calendar_months(facts.as_of, -months))
    found = [e for e in facts.episodes if since <= e.onset <= facts.as_of]
    return Criterion(
        id="bacterial-infection-on-igrt-last-6-months",
        description=msg(
            "Bacterial infection on IgRT in the last {months} months (since {since}): {count} found",
            months=months,
            since=since,
            count=len(found),
        ),
        held=bool(found),
        evidence=tuple(e.evidence() for e in found),
    )
