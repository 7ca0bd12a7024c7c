"""Dose rules (Opsummering, "Dosisjustering"), one module per job: what an order is for, its dose, trough IgG.

* ``purpose``: whether a draft order is IgRT or an immunomodulatory dose (``order_purpose``), which is outside this
  guideline: the order hooks show no card for it, and ``guideline.advice.advise`` gives it no advice.
* ``regimen``: an order's steps as arithmetic (courses, g/kg, grams, the body weight) and in words.
* ``monthly``: the order's dose card, its cumulative monthly dose against 0.4-0.8 g/kg (``order_dose_advice``).
* ``trough_timing``: whether an IgG drawn on IgRT is a trough (``trough_timing``).
* ``trough``: the trough advice on IgRT (``trough_advice``).

The names below are this package's public ones, importable from ``guideline.dose``.
"""

from __future__ import annotations

from guideline.dose.monthly import order_dose_advice
from guideline.dose.purpose import IMMUNOMODULATION_COURSE_MIN_G_PER_KG, OrderPurpose, order_purpose
from guideline.dose.regimen import (
    COURSE_MAX_DAYS,
    body_weight,
    dose_words,
    doses_per_course,
    frequency_words,
    grams_of,
    grams_per_kg,
    is_course,
    latest_weight,
    regimen_words,
)
from guideline.dose.trough import trough_advice
from guideline.dose.trough_timing import TroughTiming, dosing_interval, trough_timing

__all__ = [
    "COURSE_MAX_DAYS",
    "IMMUNOMODULATION_COURSE_MIN_G_PER_KG",
    "OrderPurpose",
    "TroughTiming",
    "body_weight",
    "dose_words",
    "doses_per_course",
    "dosing_interval",
    "frequency_words",
    "grams_of",
    "grams_per_kg",
    "is_course",
    "latest_weight",
    "order_dose_advice",
    "order_purpose",
    "regimen_words",
    "trough_advice",
    "trough_timing",
]
