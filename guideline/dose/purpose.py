"""What a draft immunoglobulin order is for: IgRT, or an immunomodulatory dose outside this guideline.

Source: Opsummering, "Dosisjustering" (IgRT is 0.4-0.8 g/kg per month) and seed 002 (IVIG 1-2 g/kg for ICANS and
immune-mediated neuropathy); issue "clinical fidelity 3" §6. An order whose reason names an immunomodulatory
indication (ICANS, immune-mediated neuropathy, Guillain-Barré, CIDP, ITP, myasthenia, Kawasaki: code concept
``dx-ig-immunomodulation-indication``), or whose dose is ``immunomodulation_course_min_g_per_kg`` (1 g/kg) or more per
course, is not IgRT: the order hooks show **no card** for it, and ``guideline.advice.advise`` gives it no advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from guideline.dose.regimen import body_weight, doses_per_course, grams_per_kg, is_course
from guideline.model import PatientRecord
from guideline.ordered_dose import OrderedDose
from guideline.own_igg import immunomodulation_reasons
from guideline.parameters import DEFAULT_PARAMETERS, Parameters
from guideline.quick_init import quick_init
from guideline.text import Message, msg

IMMUNOMODULATION_COURSE_MIN_G_PER_KG = DEFAULT_PARAMETERS.immunomodulation_course_min_g_per_kg
"""The default of ``Parameters.immunomodulation_course_min_g_per_kg`` (**interpretation**): a course of 1 g/kg or
more is an immunomodulatory dose, not IgRT: seed 002 gives IVIG 1-2 g/kg for ICANS and neuropathy, while IgRT is
0.4-0.8 g/kg per **month** (Dosisjustering) and its loading courses stay below 1 g/kg."""


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPurpose:
    """What a draft immunoglobulin order is for.

    Attributes:
        immunomodulation: ``True`` when the order is not IgRT (an immunomodulatory reason or dose).
        reason: why, in words, when ``immunomodulation``.
        course_g_per_kg: the largest dose per course among the order's steps (g/kg), when computable.
    """

    immunomodulation: bool
    reason: Message | None = None
    course_g_per_kg: float | None = None


def order_purpose(order: OrderedDose, record: PatientRecord, *, as_of: date, p: Parameters) -> OrderPurpose:
    """Decide whether a draft immunoglobulin order is IgRT or immunomodulation (issue "clinical fidelity 3" §6).

    Source: Opsummering, "Dosisjustering" (IgRT 0.4-0.8 g/kg per month); seed 002 (IVIG 1-2 g/kg as immunomodulation).
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
    course_steps = [step for step in order.regimens if is_course(step)]
    # The weight is looked up only for a course (a maintenance regimen is IgRT whatever its dose).
    weight = body_weight(record, as_of=as_of, max_age_days=p.weight_max_age_days) if course_steps else None
    courses = [
        per_dose * doses_per_course(step)
        for step in course_steps
        if (per_dose := grams_per_kg(step, order, weight)) is not None
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
