"""Trough IgG on IgRT: the Dosisjustering advice a trough supports, and when to draw one.

Source: Opsummering, "Dosisjustering": > 8 g/L "higher values are not recommended"; < 6 g/L with continued severe
infections: adjust dose or interval towards 6-8 g/L; < 6 g/L otherwise: adjust the dose to reach the aim "en
IgG-dalværdi på 6 g/l"; high in the interval (>= ``trough_high_in_range_g_per_l``) and free of bacterial infections
for ``dose_reduction_infection_free_calendar_months``: a dose reduction can be tried. Only an IgG drawn at the end of
a dosing interval is a trough (``guideline.dose.trough_timing``): one drawn earlier is no ground for "above 8 g/L" or
a dose reduction, but one below 6 g/L still proves the trough is below 6 g/L.
"""

from __future__ import annotations

from datetime import date, timedelta

from guideline import sources
from guideline.calendar import add_calendar_months
from guideline.concepts import AdviceKind, AdviceRule, Analyte
from guideline.dose.trough_timing import TroughTiming, timing_notes, timing_values, trough_timing
from guideline.evidence import lab_evidence
from guideline.facts import Facts
from guideline.labs import latest
from guideline.model import Advice, Criterion, LabResult
from guideline.text import Message, msg


def trough_advice(facts: Facts) -> Advice | None:
    """Return the trough-IgG card for a patient on IgRT, when one of the Dosisjustering rules applies.

    Source: Opsummering, "Dosisjustering" (trough aim 6 g/L; 6-8 g/L with continued severe infections; higher values not
    recommended; a dose reduction when high in the interval and free of bacterial infections). Only a trough
    (``trough_timing``) supports "above 8 g/L" and a dose reduction. An IgG below 6 g/L drawn before the trough (or when
    the interval is unknown) still gives the low-trough advice: the trough is lower still.
    """
    episode = facts.igrt.current
    if episode is None:
        return None
    p = facts.p
    trough = latest(facts.record.labs, Analyte.IGG, as_of=facts.as_of)
    if trough is None or trough.effective < episode.start:
        return None
    value = trough.value_g_per_l
    below_6 = trough.is_below(p.trough_target_low_g_per_l) is True
    if trough.comparator is not None and not below_6:
        return None
    timing = trough_timing(facts, trough.effective)
    at_trough = timing.at_trough is True
    if not at_trough and not below_6:
        # Not a trough: neither "above 8 g/L" nor a dose reduction rests on it; say when to draw the trough.
        return _not_at_trough_advice(trough, timing, episode.start)
    # The words for when the IgG was drawn: at the trough, before it, or at an unknown point of the interval (only
    # the message said is made; issue 32).
    if at_trough:
        description = msg("Trough IgG measured on IgRT (since {start})", start=episode.start)
    elif timing.at_trough is False:
        description = msg(
            "IgG measured on IgRT (since {start}), drawn before the trough: the trough is lower still",
            start=episode.start,
        )
    else:
        description = msg(
            "IgG measured on IgRT (since {start}); trough timing unknown: the trough is at most this value",
            start=episode.start,
        )
    lines = (Criterion.met("trough-igg-on-igrt", description, lab_evidence(trough)), timing.criterion)
    if at_trough and value > p.trough_target_high_g_per_l:
        summary = msg(
            "Trough IgG {value} g/L > 8 g/L on IgRT: higher values are not recommended; consider a dose reduction",
            value=trough.number(),
        )
        return _dose_advice(AdviceRule.TROUGH_ABOVE_8, summary, lines, timing)
    severe_since = add_calendar_months(facts.as_of, -p.trough_severe_infection_lookback_calendar_months)
    severe = [e for e in facts.episodes if e.severe and max(episode.start, severe_since) <= e.onset <= facts.as_of]
    if below_6 and severe:
        if at_trough:
            summary = msg(
                "Trough IgG {value} g/L < 6 g/L with severe infections on IgRT: adjust dose or interval towards "
                "6-8 g/L",
                value=trough.number(),
            )
        elif timing.at_trough is False:
            summary = msg(
                "IgG {value} < 6 g/L before the trough, with severe infections on IgRT: adjust dose or interval "
                "towards 6-8 g/L",
                value=trough.shown(),
            )
        else:
            summary = msg(
                "IgG {value} < 6 g/L (trough timing unknown) with severe infections on IgRT: adjust dose or interval "
                "towards 6-8 g/L",
                value=trough.shown(),
            )
        infections = Criterion.met(
            "severe-infection-on-igrt",
            msg(
                "Severe bacterial infection on IgRT in the last {months} months",
                months=p.trough_severe_infection_lookback_calendar_months,
            ),
            *(e.evidence() for e in severe),
        )
        return _dose_advice(
            AdviceRule.TROUGH_LOW_WITH_SEVERE_INFECTIONS,
            summary,
            (*lines, infections),
            timing,
            interpretations=("trough_severe_infection_lookback_calendar_months", "trough_tolerance_days"),
        )
    if below_6:
        if at_trough:
            summary = msg(
                "Trough IgG {value} < 6 g/L on IgRT: adjust dose or interval to reach the trough aim of 6 g/L",
                value=trough.shown(),
            )
        elif timing.at_trough is False:
            summary = msg(
                "IgG {value} < 6 g/L drawn before the trough (the trough is lower): adjust dose or interval to reach "
                "6 g/L",
                value=trough.shown(),
            )
        else:
            summary = msg(
                "IgG {value} < 6 g/L on IgRT, trough timing unknown: adjust dose or interval to reach the trough aim "
                "of 6 g/L",
                value=trough.shown(),
            )
        dose_note = msg(
            "Dosisjustering: the dose is adjusted towards a cumulative monthly dose of 0.4-0.8 g/kg, aiming at "
            "an IgG trough of 6 g/L; measure the trough just before a dose."
        )
        return _dose_advice(AdviceRule.TROUGH_BELOW_6, summary, lines, timing, notes=(dose_note, *timing_notes(timing)))
    free_since = add_calendar_months(facts.as_of, -p.dose_reduction_infection_free_calendar_months)
    recent = [e for e in facts.episodes if free_since <= e.onset <= facts.as_of]
    high = p.trough_high_in_range_g_per_l <= value <= p.trough_target_high_g_per_l
    on_igrt_long_enough = episode.start <= free_since
    if high and not recent and on_igrt_long_enough:
        summary = msg(
            "Trough IgG {value} g/L is high in 6-8 g/L and no bacterial infection for {months} months: a dose "
            "reduction can be tried",
            value=trough.number(),
            months=p.dose_reduction_infection_free_calendar_months,
        )
        infection_free = Criterion.met(
            "no-bacterial-infection", msg("No bacterial infection since {since} (on IgRT throughout)", since=free_since)
        )
        return _dose_advice(
            AdviceRule.TROUGH_HIGH_INFECTION_FREE,
            summary,
            (*lines, infection_free),
            timing,
            warning=False,
            interpretations=(
                "trough_high_in_range_g_per_l",
                "dose_reduction_infection_free_calendar_months",
                "trough_tolerance_days",
            ),
        )
    return None


def _not_at_trough_advice(lab: LabResult, timing: TroughTiming, start: date) -> Advice:
    """The IgG on IgRT is not a trough (or its timing is unknown): no dose advice from it, and when to draw one.

    Source: Opsummering, "Dosisjustering": "IgG-dalniveauerne bør måles og vurderes"; a value drawn inside the dosing
    interval is above the trough, so it can neither show a trough above 8 g/L nor support a dose reduction.
    """
    summary = (
        msg(
            "IgG {value} on IgRT was not drawn at trough: no dose advice from it; draw the next trough on {day}",
            value=lab.shown(),
            day=timing.next_dose - timedelta(days=1),
        )
        if timing.at_trough is False and timing.next_dose is not None
        else msg(
            "IgG {value} on IgRT: trough timing unknown, no dose advice from it; draw the next IgG just before a dose",
            value=lab.shown(),
        )
    )
    drawn = Criterion.met(
        "trough-igg-on-igrt", msg("IgG measured on IgRT (since {start})", start=start), lab_evidence(lab)
    )
    return _dose_advice(
        AdviceRule.IGG_NOT_AT_TROUGH,
        summary,
        (drawn, timing.criterion),
        timing,
        notes=(*timing_notes(timing), _trough_note()),
        warning=False,
        interpretations=("trough_tolerance_days",),
    )


def _dose_advice(
    rule: AdviceRule,
    summary: Message,
    criteria: tuple[Criterion, ...],
    timing: TroughTiming,
    *,
    notes: tuple[Message, ...] | None = None,
    warning: bool = True,
    interpretations: tuple[str, ...] = (),
) -> Advice:
    """Return a trough card (Dosisjustering): a dose card with the trough timing's values (``timing_values``).

    ``notes`` by default: the Dosisjustering trough aims, then when to draw the trough (``timing_notes``).
    """
    return Advice(
        kind=AdviceKind.DOSE,
        rule=rule,
        summary=summary,
        warning=warning,
        criteria=criteria,
        notes=(_trough_note(), *timing_notes(timing)) if notes is None else notes,
        source=sources.DOSE,
        interpretations=interpretations,
        values=timing_values(timing),
    )


def _trough_note() -> Message:
    return msg(
        "Dosisjustering: aim at an IgG trough of 6 g/L; with continued severe infections adjust dose and/or interval "
        "towards a trough of 6-8 g/L. Higher values are not recommended. A dose reduction can be tried when the "
        "trough is high in the interval and the patient has been free of bacterial infections for 6-12 months."
    )
