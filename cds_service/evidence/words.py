"""Every word the evidence page and its timeline show, as translatable messages (``guideline.text.msg``).

The template holds no text of its own: headings, labels and sentences come from here, rendered in English or Danish
by ``cds_service.cards.i18n.translator``. Where the card says the same thing, the same message id is used, so both
say it in the same words.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from cds_service.cards.phrases import POPULATION_NAMES
from cds_service.evidence.story import IggUse, InfectionGrade
from guideline.concepts import IgrtRoute, Population, Recommendation, TherapyKind
from guideline.model import KeyDates
from guideline.text import Message, msg, plural

TITLE = msg("Evidence and timeline")
SUBTITLE = msg("Immunoglobulin replacement therapy (IgRT) in secondary immunodeficiency")
HEADINGS = {
    "timeline": msg("Timeline"),
    "criteria": msg("Criteria"),
    "dates": msg("Dates"),
    "notes": msg("Notes"),
    "advice": msg("Advice"),
    "not_used": msg("Data not used"),
    "settings": msg("Settings that shaped this answer"),
    "source": msg("Guideline source"),
}
"""Section headings, in page order."""
NONE_SHOWN = msg("None.")
FOR_INFORMATION = msg("for information")
HELD_WORDS = {True: msg("met"), False: msg("not met"), None: msg("undetermined")}
"""What ✓, ✗ and ? mean, for screen readers and the legend."""
NO_DECISION = msg("No decision on IgRT.")
IMMUNOMODULATION_ONLY = msg("Every immunoglobulin order is for immunomodulation (not IgRT): no IgRT decision is made.")
DECEASED = msg("The record says the patient has died: no recommendation.")
YES, NO = msg("yes"), msg("no")
RESOURCE_KINDS = {
    "Observation": msg("Lab result"),
    "Condition": msg("Diagnosis"),
    "MedicationAdministration": msg("Medication given"),
    "MedicationRequest": msg("Medication order"),
    "MedicationStatement": msg("Medication statement"),
    "Encounter": msg("Admission"),
    "Procedure": msg("Procedure"),
    "Immunization": msg("Vaccination"),
    "Patient": msg("Patient"),
    "Medication": msg("Medication"),
}
"""A data issue's resource type in words (the page names no resource ids)."""
OTHER_DATA = msg("Data from the EHR")
THERAPY_NAMES = {TherapyKind.CAR_T: "CAR-T", TherapyKind.BSAB: "bsAb"}

# The timeline.
TIMELINE_TITLE = msg("IgRT timeline")
AXIS_G_PER_L = msg("g/L")
LANE_IMMUNOGLOBULIN = msg("Immunoglobulin")
LANE_INFECTIONS = msg("Infections")
LANE_THERAPY = msg("CAR-T / bsAb")
IGG_LABELS = {
    IggUse.USED: msg("IgG the decision read"),
    IggUse.UPPER_BOUND: msg("IgG read as an upper bound (drawn under immunoglobulin)"),
    IggUse.EARLIER: msg("IgG not read by this decision"),
}
NOT_USED_LEGEND = msg("IgG not used (why: at the point)")
NOT_USED_REASONS = {
    IggUse.NOT_OWN: msg("not own IgG"),
    IggUse.PRELIMINARY: msg("preliminary"),
    IggUse.BEFORE_T0: msg("before T0"),
    IggUse.TOO_OLD: msg("too old"),
}
DURING_INFECTION = msg("sampled during active infection")
IGA, IGM = msg("IgA"), msg("IgM")
WINDOW = msg("6 months after T0")
T0_LEGEND = msg("T0: CAR-T infusion or bsAb course start")
ROUTES = {IgrtRoute.IVIG: msg("IVIG"), IgrtRoute.SCIG: msg("SCIG"), IgrtRoute.UNKNOWN: msg("immunoglobulin")}
IMMUNOMODULATION = msg("immunomodulation (not IgRT)")
DOSE_GIVEN = msg("dose given")
INFECTION_GRADES = {
    InfectionGrade.SEPSIS: msg("infection: life-threatening sepsis"),
    InfectionGrade.ADMITTED: msg("infection: admitted"),
    InfectionGrade.SEVERE: msg("infection: severe"),
    InfectionGrade.COUNTED: msg("infection: bacterial"),
    InfectionGrade.NOT_COUNTED: msg("infection: not counted"),
}
TODAY = msg("today")
STOP_BY = msg("stop by")
STOP_ATTEMPT = msg("stop attempt")
STOP_REASSESS = msg("reassess the stop")
FOLLOW_UP = msg("follow-up")
FOLLOW_UP_OVERDUE = msg("follow-up overdue")
OWN_IGG_FROM = msg("own IgG from")
NO_DATA = msg("No immunoglobulin results in the last 24 months.")


def describe_timeline(
    *, start: date, end: date, igg: int, used: int, other: int, courses: int, infections: int, t0s: int
) -> Message:
    """Return the timeline's one-sentence text summary (the SVG's ``<desc>``): what is drawn, with counts."""
    return msg(
        "IgRT timeline from {start} to {end}: {igg} ({used} read by the decision), {other}, {courses}, "
        "{infections} and {t0s}.",
        start=start,
        end=end,
        igg=plural("{count} IgG result", "{count} IgG results", igg),
        used=plural("{count} result", "{count} results", used),
        other=plural("{count} IgA or IgM result", "{count} IgA or IgM results", other),
        courses=plural("{count} immunoglobulin course", "{count} immunoglobulin courses", courses),
        infections=plural("{count} infection", "{count} infections", infections),
        t0s=plural("{count} CAR-T or bsAb start (T0)", "{count} CAR-T or bsAb starts (T0)", t0s),
    )


def patient_line(age: int | None, population: Population | None, as_of: date) -> Message:
    """Return the header line about the patient: age (no identifiers), population, the evaluation date."""
    shown: Any = POPULATION_NAMES[population] if population is not None else msg("none applies")
    if age is None:
        return msg("Age unknown; population {population}; evaluated {as_of}.", population=shown, as_of=as_of)
    return msg("{age} years; population {population}; evaluated {as_of}.", age=age, population=shown, as_of=as_of)


def key_dates(dates: KeyDates) -> list[tuple[Message, date]]:
    """Return the decision's dates as (label, date), in the order a clinician acts on them."""
    labels = (
        (msg("T0 (CAR-T infusion or bsAb course start)"), dates.t0),
        (msg("End of the 6-month window (T0 + 6 calendar months)"), dates.window_end),
        (msg("IgRT start"), dates.igrt_start),
        (msg("Stop due / stop attempt due"), dates.stop_due),
        (msg("Stop attempt window ends"), dates.stop_attempt_until),
        (msg("Next follow-up"), dates.next_follow_up),
        (msg("Own IgG can be measured from"), dates.own_igg_from),
    )
    return [(label, day) for label, day in labels if day is not None]


def date_that_matters(recommendation: Recommendation, dates: KeyDates, as_of: date) -> Message | None:
    """Return the one date the clinician acts on next, in a sentence; ``None`` when the decision has none.

    Own IgG first (no decision on IgG until then), then the stop (a stop attempt is a window, from ``stop_due`` to
    ``stop_attempt_until``; the CAR-T/bsAb stop is "at the latest"), then the next follow-up.
    """
    if dates.own_igg_from is not None:
        return msg("Own IgG can be measured from {date}.", date=dates.own_igg_from)
    stop = dates.stop_due
    if stop is not None and recommendation in (Recommendation.STOP, Recommendation.START):
        if dates.stop_attempt_until is not None:
            return msg("Stop attempt due from {date} to {until}.", date=stop, until=dates.stop_attempt_until)
        if stop < as_of:
            return msg("The stop was due on {date} at the latest.", date=stop)
        return msg("Stop due {date} at the latest.", date=stop)
    if dates.next_follow_up is not None:
        if dates.follow_up_overdue:
            return msg("Follow-up overdue since {date}.", date=dates.next_follow_up)
        return msg("Next follow-up {date}.", date=dates.next_follow_up)
    return None


def threshold_label(kind: str, value: float) -> Message:
    """Return the label of a horizontal line: ``start`` (4 g/L), ``consider`` (6 g/L) or ``reference`` (lab low)."""
    if kind == "start":
        return msg("start threshold {value} g/L", value=value)
    if kind == "consider":
        return msg("{value} g/L (IgG < 6 criterion)", value=value)
    return msg("age-related reference low {value} g/L", value=value)


def t0_label(therapy: TherapyKind) -> Message:
    """Return the label of a T0 line, e.g. "T0 CAR-T"."""
    return msg("T0 {therapy}", therapy=THERAPY_NAMES[therapy])


def ordered_label(route: IgrtRoute, monthly_g_per_kg: float | None) -> Message:
    """Return the label of the draft order's bar, with the monthly dose in g/kg when it was computed."""
    if monthly_g_per_kg is None:
        return msg("ordered {route}", route=ROUTES[route])
    return msg("ordered {route}, {dose} g/kg per month", route=ROUTES[route], dose=round(monthly_g_per_kg, 2))
