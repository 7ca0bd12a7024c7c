"""Dose rules (Opsummering, "Dosisjustering"): an order's purpose, its monthly g/kg dose, and trough IgG on IgRT.

* **Purpose** (``order_purpose``): an order whose reason names an immunomodulatory indication (ICANS, immune-mediated
  neuropathy, Guillain-Barré, CIDP, ITP, myasthenia, Kawasaki: code concept ``dx-ig-immunomodulation-indication``),
  or whose dose is ``IMMUNOMODULATION_COURSE_MIN_G_PER_KG`` (1 g/kg) or more per course, is not IgRT (seed 002: IVIG
  1-2 g/kg for ICANS and neuropathy). It is outside this guideline's scope: the order hooks show **no card** for it
  (``cds_service.invocation``), and ``guideline.advice.advise`` gives it no advice.
* **Monthly dose** (``order_dose_advice``): the cumulative monthly dose in g/kg of the order's **maintenance** regimen
  from the latest body weight (at most ``weight_max_age_days`` old, **interpretation**), against 0.4-0.8 g/kg per
  month; mL/kg for the product's concentration (Tabel 1). A month is ``dose_month_days`` (**interpretation**, 28). A
  loading course is reported as such, with its own total, never as a month of doses. No weight, no dose or no
  timing: the card says so and computes nothing. Frequencies are said in words ("twice weekly", "every 4 weeks").
* **Trough** (``trough_advice``; the latest IgG measured since the IgRT start): > 8 g/L "higher values are not
  recommended"; < 6 g/L with continued severe infections: adjust dose or interval towards 6-8 g/L; < 6 g/L
  otherwise: adjust the dose to reach the aim "en IgG-dalværdi på 6 g/l"; high in the interval
  (>= ``trough_high_in_range_g_per_l``) and free of bacterial infections for
  ``dose_reduction_infection_free_calendar_months``: a dose reduction can be tried. Only an IgG drawn at the end of
  a dosing interval is a trough (``trough_timing``): one drawn earlier is no ground for "above 8 g/L" or a dose
  reduction, but one below 6 g/L still proves the trough is below 6 g/L.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

from pydantic import BaseModel, ConfigDict

from guideline import sources
from guideline.calendar import add_calendar_months
from guideline.concepts import AdviceKind, AdviceRule, Analyte, IgrtRoute, MeasurementKind
from guideline.criteria import lab_evidence
from guideline.facts import Facts
from guideline.labs import results
from guideline.model import Advice, Criterion, Evidence, IgrtRecord, LabResult, Measurement, PatientRecord
from guideline.ordered_dose import DoseRegimen, OrderedDose
from guideline.own_igg import immunomodulation_reasons
from guideline.parameters import DEFAULT_PARAMETERS, Parameters
from guideline.products import find_product
from guideline.text import Message, msg, plural

_DOSE_INTERPRETATIONS = ("weight_max_age_days", "dose_month_days", "immunomodulation_course_min_g_per_kg")

COURSE_MAX_DAYS = 7
"""A bounded dosage step whose administrations all fall within this many days (``count`` x interval; daily x 5 = 5
days) is a **course**, not a maintenance regimen; its dose per course is all of its administrations.
Immunomodulatory courses run 1-5 days (seed 002: IVIG 1-2 g/kg over 3-5 days); IgRT loading courses (about 0.2-0.5
g/kg over a few days) also fit. **Interpretation** (wanted as a setting)."""

IMMUNOMODULATION_COURSE_MIN_G_PER_KG = DEFAULT_PARAMETERS.immunomodulation_course_min_g_per_kg
"""The default of ``Parameters.immunomodulation_course_min_g_per_kg`` (**interpretation**): a course of 1 g/kg or
more is an immunomodulatory dose, not IgRT: seed 002 gives IVIG 1-2 g/kg for ICANS and neuropathy, while IgRT is
0.4-0.8 g/kg per **month** (Dosisjustering) and its loading courses stay below 1 g/kg."""

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


# -- weight ---------------------------------------------------------------------------------------------------------
def body_weight(record: PatientRecord, *, as_of: date, max_age_days: int) -> Measurement | None:
    """Return the newest body weight (kg) on or before ``as_of``, at most ``max_age_days`` old, or ``None``."""
    weights = [
        m
        for m in record.measurements
        if m.kind == MeasurementKind.BODY_WEIGHT and m.effective <= as_of and (as_of - m.effective).days <= max_age_days
    ]
    return max(weights, key=lambda m: (m.effective, m.ref)) if weights else None


def latest_weight(facts: Facts) -> Measurement | None:
    """Return the newest body weight (kg) on or before the date, at most ``weight_max_age_days`` old."""
    return body_weight(facts.record, as_of=facts.as_of, max_age_days=facts.p.weight_max_age_days)


# -- order arithmetic -----------------------------------------------------------------------------------------------
def is_course(step: DoseRegimen) -> bool:
    """Whether a dosage step is a course, not a maintenance regimen.

    A course is a single administration (no repeating interval, or ``count`` 1) or a bounded series whose
    administrations all fall within ``COURSE_MAX_DAYS`` (daily x 5). An open-ended repeating step, or a bounded one
    spanning longer (30 g every 4 weeks x 6), is a maintenance regimen.
    """
    if step.count == 1 or (step.count is None and not step.has_timing and step.has_dose):
        return True
    span = step.span_days
    return step.count is not None and span is not None and span <= COURSE_MAX_DAYS


def grams_per_kg(step: DoseRegimen, order: OrderedDose, weight: Measurement | None) -> float | None:
    """Return one administration of ``step`` in g/kg, or ``None`` when it cannot be computed.

    g and mL need the body weight; mL and mL/kg need the product's concentration (mg/mL).
    """
    if step.dose_value is None or step.dose_unit is None:
        return None
    concentration = order.concentration_mg_per_ml
    if step.dose_unit == "g/kg":
        return step.dose_value
    if step.dose_unit == "mL/kg":
        return step.dose_value * concentration / 1000 if concentration else None
    grams = grams_of(step, order)
    return grams / weight.value if grams is not None and weight is not None and weight.value > 0 else None


def grams_of(step: DoseRegimen, order: OrderedDose) -> float | None:
    """Return one administration of ``step`` in grams when it is in g, or in mL with a known concentration."""
    if step.dose_value is None:
        return None
    if step.dose_unit == "g":
        return step.dose_value
    if step.dose_unit == "mL" and order.concentration_mg_per_ml:
        return step.dose_value * order.concentration_mg_per_ml / 1000
    return None


def doses_per_course(step: DoseRegimen) -> int:
    """Return the administrations of a course step (``is_course``): its ``count``, or 1 for a single dose."""
    return step.count or 1


class OrderPurpose(BaseModel):
    """What a draft immunoglobulin order is for.

    Attributes:
        immunomodulation: ``True`` when the order is not IgRT (an immunomodulatory reason or dose).
        reason: why, in words, when ``immunomodulation``.
        course_g_per_kg: the largest dose per course among the order's steps (g/kg), when computable.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    immunomodulation: bool
    reason: Message | None = None
    course_g_per_kg: float | None = None


def order_purpose(order: OrderedDose, record: PatientRecord, *, as_of: date, p: Parameters) -> OrderPurpose:
    """Decide whether a draft immunoglobulin order is IgRT or immunomodulation (issue "clinical fidelity 3" §6).

    Pure: reads only the order, the patient's recorded diagnoses and body weights.

    Immunomodulation when (first that holds):

    1. the order's own reason names an immunomodulatory indication (``OrderedDose.reason_indication``);
    2. a ``reasonReference`` names a recorded Condition coded as one (``DiagnosisKind.IG_IMMUNOMODULATION_INDICATION``);
    3. a course (``is_course``: a single dose, or a bounded series within ``COURSE_MAX_DAYS``, a loading course
       included) totals ``p.immunomodulation_course_min_g_per_kg`` (**interpretation**, 1 g/kg) or more (one
       administration in g/kg x its ``count``; with the body weight when the dose is in g or mL). A repeating
       maintenance regimen is IgRT whatever its dose: its monthly dose is checked against 0.4-0.8 g/kg and an
       overdose is flagged, never hidden (IVIG 1.2 g/kg every 4 weeks is an IgRT overdose, IVIG 1.2 g/kg once an
       immunomodulatory dose). Without a weight a dose in grams cannot be judged and the order counts as IgRT (its
       dose card says the weight is missing).

    Args:
        order: the draft order's dose and reason.
        record: the patient's record (``diagnoses``, ``measurements``).
        as_of: the evaluation date (the weight must be at most ``p.weight_max_age_days`` old).
        p: the settings.
    """
    weight = body_weight(record, as_of=as_of, max_age_days=p.weight_max_age_days)
    courses = [
        per_dose * doses_per_course(step)
        for step in order.regimens
        if is_course(step) and (per_dose := grams_per_kg(step, order, weight)) is not None
    ]
    largest = round(max(courses), 2) if courses else None
    if order.reason_indication is not None:
        reason = msg(
            "the order's reason is {indication}, an immunomodulatory indication", indication=order.reason_indication
        )
        return OrderPurpose(immunomodulation=True, reason=reason, course_g_per_kg=largest)
    reasons = immunomodulation_reasons(record)
    named = [d for d in record.diagnoses if d.ref in reasons and d.ref in order.reason_refs]
    if named:
        reason = msg("the order's reason is {indication}, an immunomodulatory indication", indication=named[0].display)
        return OrderPurpose(immunomodulation=True, reason=reason, course_g_per_kg=largest)
    if largest is not None and largest >= p.immunomodulation_course_min_g_per_kg:
        reason = msg(
            "a dose of {dose} g/kg per course is an immunomodulatory dose (>= {limit} g/kg), not IgRT",
            dose=largest,
            limit=p.immunomodulation_course_min_g_per_kg,
        )
        return OrderPurpose(immunomodulation=True, reason=reason, course_g_per_kg=largest)
    return OrderPurpose(immunomodulation=False, course_g_per_kg=largest)


# -- words ----------------------------------------------------------------------------------------------------------
def frequency_words(step: DoseRegimen) -> Message:
    """Return how often ``step`` is given, in words: "weekly", "twice weekly", "every 4 weeks", "monthly", ...

    From ``frequency`` per ``period`` ``period_unit`` as ordered; else from the interval (7 days -> "weekly").
    A period in days that is a whole number of weeks is said in weeks (28 days -> "every 4 weeks").
    """
    frequency, period, unit = step.frequency, step.period, step.period_unit
    if frequency is None or period is None or unit is None:
        if step.interval_months is not None:
            frequency, period, unit = 1, step.interval_months, "mo"
        elif step.interval_days is not None:
            frequency, period, unit = 1, step.interval_days, "d"
        else:
            return msg("interval not stated")
    if unit == "h" and period % 24 == 0:
        period, unit = period / 24, "d"
    if unit == "d" and period % 7 == 0:
        period, unit = period / 7, "wk"
    whole = int(period) if float(period).is_integer() else None
    if frequency == 1:
        if whole == 1:
            return {"h": msg("hourly"), "d": msg("daily"), "wk": msg("weekly"), "mo": msg("monthly")}[unit]
        every = {
            "h": msg("every {n} hours", n=whole or period),
            "d": msg("every {n} days", n=whole or period),
            "wk": msg("every {n} weeks", n=whole or period),
            "mo": msg("every {n} months", n=whole or period),
        }
        return every[unit]
    if whole == 1:
        if frequency == 2:
            return {
                "h": msg("twice hourly"),
                "d": msg("twice daily"),
                "wk": msg("twice weekly"),
                "mo": msg("twice monthly"),
            }[unit]
        return {
            "h": msg("{times} times hourly", times=frequency),
            "d": msg("{times} times daily", times=frequency),
            "wk": msg("{times} times weekly", times=frequency),
            "mo": msg("{times} times monthly", times=frequency),
        }[unit]
    return {
        "h": msg("{times} times every {n} hours", times=frequency, n=whole or period),
        "d": msg("{times} times every {n} days", times=frequency, n=whole or period),
        "wk": msg("{times} times every {n} weeks", times=frequency, n=whole or period),
        "mo": msg("{times} times every {n} months", times=frequency, n=whole or period),
    }[unit]


def dose_words(step: DoseRegimen, order: OrderedDose) -> Message:
    """Return one administration in words: "10 g", "0.4 g/kg", "50 mL (10 g at 200 mg/mL)", "2 mL/kg (0.4 g/kg ...)"."""
    value, unit, concentration = step.dose_value, step.dose_unit, order.concentration_mg_per_ml
    if value is None or unit is None:
        return msg("dose not stated")
    if unit == "mL" and concentration:
        return msg(
            "{ml} mL ({grams} g at {concentration} mg/mL)",
            ml=value,
            grams=round(value * concentration / 1000, 2),
            concentration=concentration,
        )
    if unit == "mL/kg" and concentration:
        return msg(
            "{ml} mL/kg ({gpk} g/kg at {concentration} mg/mL)",
            ml=value,
            gpk=round(value * concentration / 1000, 3),
            concentration=concentration,
        )
    return msg("{dose} {unit}", dose=value, unit=unit)


def regimen_words(step: DoseRegimen, order: OrderedDose) -> Message:
    """Return a dosage step in words: "10 g weekly", "0.4 g/kg daily for 5 days", "30 g every 4 weeks, 6 doses"."""
    how_often = frequency_words(step)
    if step.count is not None and step.count > 1 and step.interval_days == 1:
        how_often = plural(
            "{frequency} for {count} day", "{frequency} for {count} days", step.count, frequency=how_often
        )
    elif step.count == 1:
        how_often = msg("once")
    elif step.count is not None:
        how_often = plural("{frequency}, {count} dose", "{frequency}, {count} doses", step.count, frequency=how_often)
    return msg("{dose} {frequency}", dose=dose_words(step, order), frequency=how_often)


# -- monthly dose card ----------------------------------------------------------------------------------------------
def order_dose_advice(facts: Facts, order: OrderedDose) -> Advice:
    """Return the dose card for one draft immunoglobulin order (in range, out of range, or not computable).

    The monthly dose is the maintenance regimen's; loading steps (and an order holding only a course) are shown
    with their own totals and never counted as a month of doses. Shown for every patient and every decision: the
    dose range is a fact about the order (issue "clinical fidelity 4" §2).
    """
    p = facts.p
    weight = latest_weight(facts)
    maintenance = order.maintenance
    course_only = maintenance.has_timing and is_course(maintenance)  # a dose without timing: "no interval"
    loading = (*order.loading, maintenance) if course_only else order.loading
    order_line = _order_criterion(order, course_only=course_only)
    loading_lines = tuple(_loading_criterion(step, order, weight) for step in loading)
    loading_values = _loading_values(loading, order, weight)
    problem = order.problem or _missing(order, weight, p.weight_max_age_days, course_only=course_only)
    if problem is not None:
        return Advice(
            kind=AdviceKind.DOSE,
            rule=AdviceRule.DOSE_NOT_COMPUTABLE,
            summary=msg("Monthly IgRT dose not computed: {problem}", problem=problem),
            criteria=(order_line, *loading_lines, _weight_criterion(weight, p.weight_max_age_days)),
            notes=(_range_note(),),
            source=sources.DOSE,
            interpretations=_DOSE_INTERPRETATIONS,
            values=loading_values,
        )
    per_dose = grams_per_kg(maintenance, order, weight)
    assert per_dose is not None
    if maintenance.interval_months is not None:
        per_month = 1 / maintenance.interval_months
    else:
        assert maintenance.interval_days is not None
        per_month = p.dose_month_days / maintenance.interval_days
    monthly = round(per_dose * per_month, 2)
    within = p.dose_min_g_per_kg_month <= monthly <= p.dose_max_g_per_kg_month
    concentration = order.concentration_mg_per_ml
    ml_per_kg = round(monthly / (concentration / 1000), 1) if concentration else None
    needs_weight = maintenance.dose_unit not in ("g/kg", "mL/kg")
    criteria = [
        order_line,
        *loading_lines,
        _weight_criterion(weight, p.weight_max_age_days, required=needs_weight),
        Criterion(
            id="monthly-dose-in-range",
            description=msg(
                "Cumulative monthly dose {monthly} g/kg within {low}-{high} g/kg (a month = {days} days)",
                monthly=monthly,
                low=p.dose_min_g_per_kg_month,
                high=p.dose_max_g_per_kg_month,
                days=p.dose_month_days,
            ),
            held=within,
        ),
    ]
    notes: list[Message] = [_range_note()]
    if concentration:
        notes.append(
            msg(
                "At {concentration} mg/mL ({product}): {ml_per_kg} mL/kg per month; the range 0.4-0.8 g/kg is "
                "{ml_low}-{ml_high} mL/kg.",
                concentration=concentration,
                product=order.product or order.display,
                ml_per_kg=ml_per_kg,
                ml_low=round(p.dose_min_g_per_kg_month / (concentration / 1000), 1),
                ml_high=round(p.dose_max_g_per_kg_month / (concentration / 1000), 1),
            )
        )
    else:
        notes.append(msg("The product's concentration is not known, so no mL/kg is given."))
    if loading:
        notes.append(
            msg("A loading course is given once at the start; the monthly dose is that of the maintenance regimen.")
        )
    regimen = regimen_words(maintenance, order)
    if within:
        summary = msg(
            "IgRT dose {monthly} g/kg per month ({regimen}): within 0.4-0.8 g/kg", monthly=monthly, regimen=regimen
        )
    else:
        summary = msg(
            "IgRT dose {monthly} g/kg per month ({regimen}) is outside 0.4-0.8 g/kg: check dose and interval",
            monthly=monthly,
            regimen=regimen,
        )
    return Advice(
        kind=AdviceKind.DOSE,
        rule=AdviceRule.DOSE_IN_RANGE if within else AdviceRule.DOSE_OUT_OF_RANGE,
        summary=summary,
        warning=not within,
        criteria=tuple(criteria),
        notes=tuple(notes),
        source=sources.DOSE,
        interpretations=_DOSE_INTERPRETATIONS,
        values=(
            ("monthlyDoseGPerKg", monthly),
            ("mlPerKgPerMonth", ml_per_kg),
            ("weightKg", weight.value if weight else None),
            ("intervalDays", maintenance.interval_days),
            ("intervalMonths", maintenance.interval_months),
            *loading_values,
        ),
    )


def _missing(order: OrderedDose, weight: Measurement | None, max_days: int, *, course_only: bool) -> Message | None:
    maintenance = order.maintenance
    if course_only:
        return plural(
            "the order holds only a course of {count} dose, no maintenance regimen",
            "the order holds only a course of {count} doses, no maintenance regimen",
            maintenance.count or 1,
        )
    if not maintenance.has_dose:
        if any(step.has_dose for step in order.loading):
            return msg("the maintenance step states no dose")
        return msg("the order has no dose")
    if not maintenance.has_timing:
        return msg("the order has no dosing interval (timing)")
    if maintenance.dose_unit in ("mL", "mL/kg") and not order.concentration_mg_per_ml:
        return msg("dose in mL but the product's concentration is unknown")
    if maintenance.dose_unit in ("g", "mL") and weight is None:
        return msg("no body weight recorded in the last {days} days", days=max_days)
    return None


def _order_criterion(order: OrderedDose, *, course_only: bool) -> Criterion:
    maintenance = order.maintenance
    stated = maintenance.has_dose and maintenance.has_timing and not course_only
    if order.problem is not None:
        text = msg("{display}: {problem}", display=order.display, problem=order.problem)
    elif stated:
        text = msg("{display}: {regimen}", display=order.display, regimen=regimen_words(maintenance, order))
    elif maintenance.has_dose and not course_only:
        text = msg("{display}: {dose}, interval not stated", display=order.display, dose=dose_words(maintenance, order))
    else:
        text = msg("{display}: maintenance dose or interval not stated", display=order.display)
    return Criterion(
        id="ordered-dose",
        description=msg("Maintenance dose and interval stated in the order"),
        held=stated and order.problem is None,
        evidence=(Evidence(text=text, ref=order.ref),),
    )


def _loading_total(
    step: DoseRegimen, order: OrderedDose, weight: Measurement | None
) -> tuple[float | None, float | None]:
    """Return the total of a loading step as ``(g/kg, g)`` (each ``None`` when it cannot be computed)."""
    doses = step.count
    if doses is None:
        return None, None
    per_kg = grams_per_kg(step, order, weight)
    grams = grams_of(step, order)
    if grams is None and per_kg is not None and weight is not None:
        grams = per_kg * weight.value
    return (
        round(per_kg * doses, 2) if per_kg is not None else None,
        round(grams * doses, 2) if grams is not None else None,
    )


def _loading_criterion(step: DoseRegimen, order: OrderedDose, weight: Measurement | None) -> Criterion:
    per_kg, grams = _loading_total(step, order, weight)
    regimen = regimen_words(step, order)
    if step.problem is not None:
        text = msg("{regimen}: {problem}", regimen=regimen, problem=step.problem)
    elif per_kg is not None and grams is not None and step.dose_unit in ("g", "mL"):
        text = msg("{regimen} = {grams} g ({per_kg} g/kg) in total", regimen=regimen, grams=grams, per_kg=per_kg)
    elif per_kg is not None:
        text = msg("{regimen} = {total} g/kg in total", regimen=regimen, total=per_kg)
    elif grams is not None:
        text = msg("{regimen} = {total} g in total", regimen=regimen, total=grams)
    else:
        text = msg("{regimen}: total not stated (no number of doses)", regimen=regimen)
    return Criterion(
        id="loading-course",
        description=msg("Loading course (given once; not counted in the monthly dose)"),
        held=step.problem is None and (per_kg is not None or grams is not None),
        required=False,
        evidence=(Evidence(text=text, ref=order.ref),),
    )


def _loading_values(
    loading: tuple[DoseRegimen, ...], order: OrderedDose, weight: Measurement | None
) -> tuple[tuple[str, float | str | None], ...]:
    if not loading:
        return ()
    totals = [_loading_total(step, order, weight) for step in loading]
    per_kg = [t[0] for t in totals]
    grams = [t[1] for t in totals]
    return (
        ("loadingCourseGPerKg", round(sum(v for v in per_kg if v is not None), 2) if None not in per_kg else None),
        ("loadingCourseG", round(sum(v for v in grams if v is not None), 2) if None not in grams else None),
        ("loadingDoses", sum(step.count or 0 for step in loading) if all(s.count for s in loading) else None),
    )


def _weight_criterion(weight: Measurement | None, max_days: int, *, required: bool = True) -> Criterion:
    description = msg("Body weight recorded in the last {days} days", days=max_days)
    if weight is None:
        return Criterion(id="body-weight", description=description, held=False, required=required)
    return Criterion(
        id="body-weight",
        description=description,
        held=True,
        required=required,
        evidence=(
            Evidence(
                text=msg("{value} kg", value=weight.value),
                ref=weight.ref,
                value=weight.value,
                unit="kg",
                on=weight.effective,
            ),
        ),
    )


def _range_note() -> Message:
    return msg(
        "Dosisjustering: aim for a cumulative monthly dose of about 0.4-0.8 g/kg (2.0-4.0 mL/kg of a 200 mg/mL "
        "product) and an IgG trough of 6 g/L; judge troughs together with the clinical response."
    )


# -- trough ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
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
    gaps = [(b - a).days for a, b in zip(dates, dates[1:], strict=False)][-INTERVAL_GAPS_READ:]
    return round(median(gaps)) if gaps else None


def trough_timing(facts: Facts, sample: date, *, tolerance_days: int | None = None) -> TroughTiming:
    """Return whether an IgG of ``sample`` on the current IgRT episode is a trough.

    The interval is read from the episode's administrations (``PatientRecord.igrt``, ``source == "administration"``:
    dates and route). Conventional SCIG at least weekly: always near trough. Otherwise a trough is drawn at least
    ``interval - tolerance_days`` days after the last dose (or later: a late dose lowers it further);
    ``tolerance_days`` defaults to ``p.trough_tolerance_days`` (**interpretation**, 1 day).
    """
    if tolerance_days is None:
        tolerance_days = facts.p.trough_tolerance_days
    episode = facts.igrt.current
    refs = set(episode.refs) if episode is not None else set()
    records = [r for r in facts.record.igrt if r.ref in refs and r.start is not None and r.start <= facts.as_of]
    given = sorted({r.start for r in records if r.source == "administration" and r.start is not None})
    interval = dosing_interval(given)
    latest = max(records, key=lambda r: (r.start or date.min, r.ref)) if records else None
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


def trough_advice(facts: Facts) -> Advice | None:
    """Return the trough-IgG card for a patient on IgRT, when one of the Dosisjustering rules applies.

    Only a trough (``trough_timing``) supports "above 8 g/L" and a dose reduction. An IgG below 6 g/L drawn before
    the trough (or when the interval is unknown) still gives the low-trough advice: the trough is lower still.
    """
    episode = facts.igrt.current
    if episode is None:
        return None
    p = facts.p
    trough = next((lab for lab in results(facts.record.labs, Analyte.IGG, as_of=facts.as_of)), None)
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
    trough_line = Criterion(
        id="trough-igg-on-igrt", description=description, held=True, evidence=(lab_evidence(trough),)
    )
    lines = (trough_line, timing.criterion)
    timing_notes = _timing_notes(timing)
    values = _timing_values(timing)
    if at_trough and value > p.trough_target_high_g_per_l:
        return Advice(
            kind=AdviceKind.DOSE,
            rule=AdviceRule.TROUGH_ABOVE_8,
            summary=msg(
                "Trough IgG {value} g/L > 8 g/L on IgRT: higher values are not recommended; consider a dose reduction",
                value=trough.number(),
            ),
            warning=True,
            criteria=lines,
            notes=(_trough_note(), *timing_notes),
            source=sources.DOSE,
            values=values,
        )
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
        return Advice(
            kind=AdviceKind.DOSE,
            rule=AdviceRule.TROUGH_LOW_WITH_SEVERE_INFECTIONS,
            summary=summary,
            warning=True,
            criteria=(
                *lines,
                Criterion(
                    id="severe-infection-on-igrt",
                    description=msg(
                        "Severe bacterial infection on IgRT in the last {months} months",
                        months=p.trough_severe_infection_lookback_calendar_months,
                    ),
                    held=True,
                    evidence=tuple(e.evidence() for e in severe),
                ),
            ),
            notes=(_trough_note(), *timing_notes),
            source=sources.DOSE,
            interpretations=("trough_severe_infection_lookback_calendar_months", "trough_tolerance_days"),
            values=values,
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
        return Advice(
            kind=AdviceKind.DOSE,
            rule=AdviceRule.TROUGH_BELOW_6,
            summary=summary,
            warning=True,
            criteria=lines,
            notes=(
                msg(
                    "Dosisjustering: the dose is adjusted towards a cumulative monthly dose of 0.4-0.8 g/kg, aiming at "
                    "an IgG trough of 6 g/L; measure the trough just before a dose."
                ),
                *timing_notes,
            ),
            source=sources.DOSE,
            values=values,
        )
    free_since = add_calendar_months(facts.as_of, -p.dose_reduction_infection_free_calendar_months)
    recent = [e for e in facts.episodes if free_since <= e.onset <= facts.as_of]
    high = p.trough_high_in_range_g_per_l <= value <= p.trough_target_high_g_per_l
    on_igrt_long_enough = episode.start <= free_since
    if high and not recent and on_igrt_long_enough:
        return Advice(
            kind=AdviceKind.DOSE,
            rule=AdviceRule.TROUGH_HIGH_INFECTION_FREE,
            summary=msg(
                "Trough IgG {value} g/L is high in 6-8 g/L and no bacterial infection for {months} months: a dose "
                "reduction can be tried",
                value=trough.number(),
                months=p.dose_reduction_infection_free_calendar_months,
            ),
            criteria=(
                *lines,
                Criterion(
                    id="no-bacterial-infection",
                    description=msg("No bacterial infection since {since} (on IgRT throughout)", since=free_since),
                    held=True,
                ),
            ),
            notes=(_trough_note(), *timing_notes),
            source=sources.DOSE,
            interpretations=(
                "trough_high_in_range_g_per_l",
                "dose_reduction_infection_free_calendar_months",
                "trough_tolerance_days",
            ),
            values=values,
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
    return Advice(
        kind=AdviceKind.DOSE,
        rule=AdviceRule.IGG_NOT_AT_TROUGH,
        summary=summary,
        criteria=(
            Criterion(
                id="trough-igg-on-igrt",
                description=msg("IgG measured on IgRT (since {start})", start=start),
                held=True,
                evidence=(lab_evidence(lab),),
            ),
            timing.criterion,
        ),
        notes=(*_timing_notes(timing), _trough_note()),
        source=sources.DOSE,
        interpretations=("trough_tolerance_days",),
        values=_timing_values(timing),
    )


def _timing_notes(timing: TroughTiming) -> tuple[Message, ...]:
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


def _timing_values(timing: TroughTiming) -> tuple[tuple[str, float | str | None], ...]:
    at = {True: "yes", False: "no", None: "unknown"}[timing.at_trough]
    return (
        ("atTrough", at),
        ("dosingIntervalDays", timing.interval_days),
        ("lastDose", timing.last_dose.isoformat() if timing.last_dose else None),
        ("nextTroughDue", timing.next_dose.isoformat() if timing.next_dose else None),
    )


def _trough_note() -> Message:
    return msg(
        "Dosisjustering: aim at an IgG trough of 6 g/L; with continued severe infections adjust dose and/or interval "
        "towards a trough of 6-8 g/L. Higher values are not recommended. A dose reduction can be tried when the "
        "trough is high in the interval and the patient has been free of bacterial infections for 6-12 months."
    )
