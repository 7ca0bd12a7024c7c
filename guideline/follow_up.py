"""Follow-up on IgRT: 3 and 6 months after the start, then every 6 months; the date the clinician acts on.

Source: Opsummering, "Monitorering af effekt" ("Samme parametre samt bivirkninger vurderes og dokumenteres efter 3 og
6 måneder"; "Ved fortsat behandling ud over 6 måneder vurderes effekt og bivirkninger hver 6. måned") and "Kriterier
for seponering". A reminder when a follow-up is due within ``follow_up_due_soon_days`` or overdue (no IgG measured
from ``follow_up_done_tolerance_days`` before it, **interpretations**), with the infection history it must review
(12 months: count, type, severity). The decision card, the reminder and the worklist all read ``follow_up_due``.
"""

from __future__ import annotations

from datetime import date, timedelta

from guideline import sources
from guideline.calendar import add_calendar_months
from guideline.concepts import AdviceKind, AdviceRule, Analyte
from guideline.facts import Facts
from guideline.igrt import IgrtEpisode
from guideline.infections import InfectionEpisode
from guideline.labs import results
from guideline.model import Advice, Criterion
from guideline.text import msg, plural


def next_follow_up(start: date, as_of: date, facts: Facts) -> date:
    """Return the first scheduled follow-up on or after ``as_of``: 3 and 6 months after start, then every 6 months."""
    p = facts.p
    months = list(p.follow_up_calendar_months)
    while add_calendar_months(start, months[-1]) < as_of:
        months.append(months[-1] + p.reassess_every_calendar_months)
    return next(add_calendar_months(start, m) for m in months if add_calendar_months(start, m) >= as_of)


def follow_up_due(facts: Facts, episode: IgrtEpisode) -> tuple[date, bool]:
    """Return the follow-up the clinician must act on, and whether it is overdue; the same date on every hook.

    Source: Opsummering, "Monitorering af effekt" and "Kriterier for seponering": follow-up 3 and 6 months after the
    start, then every 6 months. The latest scheduled follow-up up to ``as_of`` is overdue when no IgG was measured
    from ``follow_up_done_tolerance_days`` before it (**interpretation**), unless the next one is due within
    ``follow_up_due_soon_days`` (then that one is what to prepare); otherwise the next one after ``as_of`` is due.
    The decision card, the follow-up reminder and the worklist all read this (issue "clinical fidelity 4" §7).
    """
    as_of = facts.as_of
    upcoming = next_follow_up(episode.start, as_of + timedelta(days=1), facts)
    past = _scheduled(episode.start, as_of, facts)
    soon = upcoming <= as_of + timedelta(days=facts.p.follow_up_due_soon_days)
    if past is not None and (past == as_of or not soon) and not _done(facts, past):
        return past, True
    return upcoming, False


def _done(facts: Facts, scheduled: date) -> bool:
    """Whether an IgG was measured for the follow-up of ``scheduled`` (from the tolerance before it, up to today)."""
    done_from = scheduled - timedelta(days=facts.p.follow_up_done_tolerance_days)
    return any(lab.effective >= done_from for lab in results(facts.record.labs, Analyte.IGG, as_of=facts.as_of))


def follow_up_advice(facts: Facts) -> Advice | None:
    """Return the follow-up reminder for a patient on IgRT when a follow-up is due soon or overdue.

    Source: Opsummering, "Monitorering af effekt" (at 3 and 6 months, then every 6 months: IgG, the infections of the
    last 12 months and side effects; continue, pause or stop).

    The date is ``follow_up_due``'s, the one the decision card shows.
    """
    episode = facts.igrt.current
    if episode is None:
        return None
    p, as_of = facts.p, facts.as_of
    scheduled, overdue = follow_up_due(facts, episode)
    if not overdue and (scheduled > as_of + timedelta(days=p.follow_up_due_soon_days) or _done(facts, scheduled)):
        return None
    done_from = scheduled - timedelta(days=p.follow_up_done_tolerance_days)
    history = _history(facts)
    months_on = _months_between(episode.start, scheduled)
    summary = (
        msg(
            "IgRT follow-up ({months} months) overdue since {due}: review effect, infections and side effects",
            months=months_on,
            due=scheduled,
        )
        if overdue
        else msg(
            "IgRT follow-up ({months} months) due {due}: review effect, infections and side effects",
            months=months_on,
            due=scheduled,
        )
    )
    return Advice(
        kind=AdviceKind.MONITORING,
        rule=AdviceRule.MONITORING_FOLLOW_UP,
        summary=summary,
        warning=overdue,
        criteria=(
            Criterion(
                id="follow-up-done",
                description=msg(
                    "Follow-up {due} ({months} months after the IgRT start {start}): IgG measured from {done_from}",
                    due=scheduled,
                    months=months_on,
                    start=episode.start,
                    done_from=done_from,
                ),
                held=False,
            ),
            history,
        ),
        notes=(
            msg(
                "Monitorering af effekt: at 3 and 6 months, then every 6 months, assess and document IgG (trough), "
                "the infections of the last 12 months (number, type: organ and microorganism, severity: admission, "
                "life-threatening, sepsis) and side effects; decide to continue (possibly adjusting the dose), "
                "pause or stop."
            ),
        ),
        source=sources.MONITORING,
        interpretations=("follow_up_due_soon_days", "follow_up_done_tolerance_days"),
        values=(("followUpDue", scheduled.isoformat()), ("status", "overdue" if overdue else "due")),
        lab_orders=(Analyte.IGG, Analyte.IGA, Analyte.IGM),
    )


def _scheduled(start: date, until: date, facts: Facts) -> date | None:
    """Return the latest follow-up date (3, 6, then every 6 months after ``start``) on or before ``until``."""
    p = facts.p
    months = list(p.follow_up_calendar_months)
    while add_calendar_months(start, months[-1]) <= until:
        months.append(months[-1] + p.reassess_every_calendar_months)
    dates = [add_calendar_months(start, m) for m in months if add_calendar_months(start, m) <= until]
    return dates[-1] if dates else None


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def _history(facts: Facts) -> Criterion:
    months = facts.p.infection_history_calendar_months
    since = add_calendar_months(facts.as_of, -months)
    episodes: list[InfectionEpisode] = [e for e in facts.episodes if since <= e.onset <= facts.as_of]
    severe = sum(1 for e in episodes if e.severe)
    septic = sum(1 for e in episodes if e.life_threatening)
    return Criterion(
        id="infection-history-12-months",
        description=msg(
            "Infection history, last {months} months: {infections}, {severe}, {septic}",
            months=months,
            infections=plural("{count} bacterial infection", "{count} bacterial infections", len(episodes)),
            severe=plural("{count} severe", "{count} severe", severe),
            septic=plural("{count} life-threatening", "{count} life-threatening", septic),
        ),
        held=None,
        required=False,
        evidence=tuple(e.evidence() for e in episodes),
    )
