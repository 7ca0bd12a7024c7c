"""An immunoglobulin order's regimen: its steps as arithmetic (courses, g/kg, grams) and in words.

Source: Opsummering, "Dosisjustering" (doses in g/kg per month) and Tabel 1 (the products' concentrations). A dose
in g or mL needs the body weight (at most ``weight_max_age_days`` old, **interpretation**); a dose in mL or mL/kg the
product's concentration. Frequencies are said in words ("twice weekly", "every 4 weeks").
"""

from __future__ import annotations

from datetime import date

from guideline.concepts import MeasurementKind
from guideline.facts import Facts
from guideline.model import Measurement, PatientRecord
from guideline.ordered_dose import DoseRegimen, OrderedDose
from guideline.text import Message, msg, plural

COURSE_MAX_DAYS = 7
"""A bounded dosage step whose administrations all fall within this many days (``count`` x interval; daily x 5 = 5
days) is a **course**, not a maintenance regimen; its dose per course is all of its administrations.
Immunomodulatory courses run 1-5 days (seed 002: IVIG 1-2 g/kg over 3-5 days); IgRT loading courses (about 0.2-0.5
g/kg over a few days) also fit. **Interpretation** (wanted as a setting)."""


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
    # Only the message said is made (issue 32): one branch per unit, each template a literal for the extractor.
    n = whole or period
    if frequency == 1:
        if whole == 1:
            if unit == "h":
                return msg("hourly")
            if unit == "d":
                return msg("daily")
            if unit == "wk":
                return msg("weekly")
            return _unit_checked(unit, msg("monthly"))
        if unit == "h":
            return msg("every {n} hours", n=n)
        if unit == "d":
            return msg("every {n} days", n=n)
        if unit == "wk":
            return msg("every {n} weeks", n=n)
        return _unit_checked(unit, msg("every {n} months", n=n))
    if whole == 1:
        if frequency == 2:
            if unit == "h":
                return msg("twice hourly")
            if unit == "d":
                return msg("twice daily")
            if unit == "wk":
                return msg("twice weekly")
            return _unit_checked(unit, msg("twice monthly"))
        if unit == "h":
            return msg("{times} times hourly", times=frequency)
        if unit == "d":
            return msg("{times} times daily", times=frequency)
        if unit == "wk":
            return msg("{times} times weekly", times=frequency)
        return _unit_checked(unit, msg("{times} times monthly", times=frequency))
    if unit == "h":
        return msg("{times} times every {n} hours", times=frequency, n=n)
    if unit == "d":
        return msg("{times} times every {n} days", times=frequency, n=n)
    if unit == "wk":
        return msg("{times} times every {n} weeks", times=frequency, n=n)
    return _unit_checked(unit, msg("{times} times every {n} months", times=frequency, n=n))


def _unit_checked(unit: str, monthly: Message) -> Message:
    """Return ``monthly`` for the unit ``"mo"``; raise ``KeyError`` for another, as the unit's table look-up did."""
    if unit != "mo":
        raise KeyError(unit)
    return monthly


def dose_words(step: DoseRegimen, order: OrderedDose) -> Message:
    """Return one administration in words: "10 g", "0.4 g/kg", "50 mL (10 g at 200 mg/mL)", "2 mL/kg (0.4 g/kg ...)"."""
    value, unit, concentration = step.dose_value, step.dose_unit, order.concentration_mg_per_ml
    if value is None or unit is None:
        return msg("dose not stated")
    if unit == "mL" and concentration:
        grams = _grams(value, concentration, places=2)
        return msg("{ml} mL ({grams} g at {concentration} mg/mL)", ml=value, grams=grams, concentration=concentration)
    if unit == "mL/kg" and concentration:
        gpk = _grams(value, concentration, places=3)
        return msg("{ml} mL/kg ({gpk} g/kg at {concentration} mg/mL)", ml=value, gpk=gpk, concentration=concentration)
    return msg("{dose} {unit}", dose=value, unit=unit)


def _grams(ml: float, concentration_mg_per_ml: float, *, places: int) -> float:
    """Return the grams of immunoglobulin in ``ml`` millilitres (or mL/kg: g/kg) at the concentration, rounded."""
    return round(ml * concentration_mg_per_ml / 1000, places)


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
