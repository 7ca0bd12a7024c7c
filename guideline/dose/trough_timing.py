"""Whether an IgG drawn on IgRT is a trough: drawn at the end of a dosing interval, just before a dose.

Source: Opsummering, "Dosisjustering" ("IgG-dalniveauerne bør måles og vurderes"). The interval is read from the
episode's administrations; conventional SCIG at least weekly gives steady levels (any sample is near trough).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from operator import attrgetter
from statistics import median

from guideline.concepts import IgrtRoute
from guideline.facts import Facts
from guideline.model import Criterion, Evidence, IgrtRecord
from guideline.products import find_product
from guideline.quick_init import quick_init
from guideline.text import Message, msg

SAME_DAY_SAMPLE_IS_PRE_DOSE = True
"""An IgG dated the same day as a dose is read as drawn **before** that dose (the usual practice: the trough is drawn
just before the infusion), so its trough timing is measured from the dose before. A date cannot tell pre- from
post-dose; ``False`` reads it as drawn after the dose (never a trough). **Interpretation** (wanted as a setting)."""

STEADY_SCIG_MAX_INTERVAL_DAYS = 7
"""Conventional (not facilitated) SCIG given at least this often (weekly or more often) gives steady IgG levels: any
sample is near trough ("SCIG weekly is always near trough"). Facilitated SCIG (HyQvia, every 3-4 weeks) and IVIG
are timed like IVIG."""

INTERVAL_GAPS_READ = 3
"""The dosing interval of an IgRT episode is the median of the gaps between its last this-many-plus-one
administration dates (one late dose does not change it)."""


@quick_init
@dataclass(frozen=True, slots=True)
class TroughTiming:
    """Whether an IgG drawn on IgRT is a trough (drawn at the end of a dosing interval).

    Attributes:
        at_trough: ``True`` a trough; ``False`` drawn within the interval after a dose (the trough is lower);
            ``None`` the interval cannot be read.
        criterion: the check as a card criterion, with the dose it was measured from.
        last_dose: the last dose before the sample (a dose the same day counts as after it,
            ``SAME_DAY_SAMPLE_IS_PRE_DOSE``).
        interval_days: the episode's dosing interval read from its administrations.
        next_dose: the latest dose + the interval: the day to draw the next trough (or the day before).
        steady: conventional SCIG at least weekly: levels are steady, any sample is near trough.
    """

    at_trough: bool | None
    criterion: Criterion
    last_dose: date | None = None
    interval_days: int | None = None
    next_dose: date | None = None
    steady: bool = False


def dosing_interval(dates: list[date]) -> int | None:
    """Return the dosing interval in days: the median of the last ``INTERVAL_GAPS_READ`` gaps between dose dates.

    ``dates`` are distinct and sorted; fewer than two give ``None``.
    """
    last = dates[-(INTERVAL_GAPS_READ + 1) :]  # the dates of the last gaps only: a long history holds hundreds
    gaps = [(b - a).days for a, b in zip(last, last[1:], strict=False)]
    return round(median(gaps)) if gaps else None


_START_REF = attrgetter("start", "ref")


def trough_timing(facts: Facts, sample: date, *, tolerance_days: int | None = None) -> TroughTiming:
    """Return whether an IgG of ``sample`` on the current IgRT episode is a trough.

    Source: Opsummering, "Dosisjustering" (the trough IgG is measured and judged). The interval is read from the
    episode's administrations (``PatientRecord.igrt``, ``source == "administration"``: dates and route). Conventional
    SCIG at least weekly: always near trough. Otherwise a trough is drawn at least ``interval - tolerance_days`` days
    after the last dose (or later: a late dose lowers it further); ``tolerance_days`` defaults to
    ``p.trough_tolerance_days`` (**interpretation**, 1 day).
    """
    if tolerance_days is None:
        tolerance_days = facts.p.trough_tolerance_days
    episode = facts.igrt.current
    refs = set(episode.refs) if episode is not None else set()
    records = [r for r in facts.record.igrt if r.ref in refs and r.start is not None and r.start <= facts.as_of]
    given = sorted({r.start for r in records if r.source == "administration" and r.start is not None})
    interval = dosing_interval(given)
    latest = max(records, key=_START_REF) if records else None  # every start is set (above)
    if latest is not None and _steady_scig(latest, interval):
        return TroughTiming(
            at_trough=True,
            criterion=Criterion(
                id="igg-at-trough",
                description=msg(
                    "IgG on conventional SCIG (weekly or more often): levels are steady, any sample is a trough"
                ),
                held=True,
                required=False,
            ),
            interval_days=interval,
            steady=True,
        )
    before = [d for d in given if (d < sample if SAME_DAY_SAMPLE_IS_PRE_DOSE else d <= sample)]
    last = before[-1] if before else None
    if interval is None or last is None:
        return TroughTiming(
            at_trough=None,
            criterion=Criterion(
                id="igg-at-trough",
                description=msg(
                    "IgG drawn at trough: not known, the dosing interval cannot be read from the recorded doses"
                ),
                held=None,
                required=False,
                evidence=(Evidence(text=msg("draw the next IgG just before a dose")),),
            ),
            last_dose=last,
        )
    days = (sample - last).days
    at_trough = days >= interval - tolerance_days
    next_dose = given[-1] + timedelta(days=interval)
    return TroughTiming(
        at_trough=at_trough,
        criterion=Criterion(
            id="igg-at-trough",
            description=msg(
                "IgG drawn at trough: at least {min_days} days after the last dose (dosing interval {interval} days)",
                min_days=interval - tolerance_days,
                interval=interval,
            ),
            held=at_trough,
            required=False,
            evidence=(
                Evidence(
                    text=msg("drawn {days} days after the dose of {last}", days=days, last=last),
                    value=days,
                    unit="d",
                    on=sample,
                ),
                Evidence(
                    text=msg(
                        "next trough: draw IgG on {day_before} or on {next_dose} before the dose",
                        day_before=next_dose - timedelta(days=1),
                        next_dose=next_dose,
                    ),
                    on=next_dose,
                ),
            ),
        ),
        last_dose=last,
        interval_days=interval,
        next_dose=next_dose,
    )


def _steady_scig(record: IgrtRecord, interval: int | None) -> bool:
    product = find_product(record.display)
    facilitated = product is not None and product.facilitated
    short = interval is None or interval <= STEADY_SCIG_MAX_INTERVAL_DAYS
    return record.route == IgrtRoute.SCIG and not facilitated and short


def timing_notes(timing: TroughTiming) -> tuple[Message, ...]:
    """What the card says about when to draw the next trough (or that the interval is not known)."""
    if timing.steady:
        return (msg("On weekly SCIG the IgG level is steady: the next IgG can be drawn at any time before a dose."),)
    if timing.next_dose is None or timing.interval_days is None:
        return (
            msg(
                "The dosing interval cannot be read from the recorded doses, so whether this IgG is a trough is not "
                "known and no dose reduction is advised from it: draw the next IgG just before a dose."
            ),
        )
    notes = []
    if timing.at_trough is False:
        notes.append(
            msg(
                "This IgG was drawn within the dosing interval after a dose: it is not a trough (the trough is lower), "
                "so it supports neither a dose reduction nor 'above 8 g/L'."
            )
        )
    notes.append(
        msg(
            "Draw the next trough IgG on {day_before} or on {next_dose} before the dose (last dose {last} + {interval} "
            "days).",
            day_before=timing.next_dose - timedelta(days=1),
            next_dose=timing.next_dose,
            last=timing.next_dose - timedelta(days=timing.interval_days),
            interval=timing.interval_days,
        )
    )
    return tuple(notes)


def timing_values(timing: TroughTiming) -> tuple[tuple[str, float | str | None], ...]:
    """The trough timing as machine-readable card values (``extension["sid-igrt"].advice[].values``)."""
    at = {True: "yes", False: "no", None: "unknown"}[timing.at_trough]
    return (
        ("atTrough", at),
        ("dosingIntervalDays", timing.interval_days),
        ("lastDose", timing.last_dose.isoformat() if timing.last_dose else None),
        ("nextTroughDue", timing.next_dose.isoformat() if timing.next_dose else None),
    )
