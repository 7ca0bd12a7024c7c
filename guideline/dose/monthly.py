"""The dose card of a draft immunoglobulin order: its cumulative monthly dose in g/kg against 0.4-0.8 g/kg.

Source: Opsummering, "Dosisjustering" ("en kumulativ månedlig dosis i størrelsesordenen 0,4 til 0,8 g/kg (2,0 til 4,0
ml/kg)") and Tabel 1 (mL/kg for the product's concentration). The monthly dose is the **maintenance** regimen's, from
the latest body weight (at most ``weight_max_age_days`` old, **interpretation**); a month is ``dose_month_days``
(**interpretation**, 28). A loading course is reported as such, with its own total, never as a month of doses. No
weight, no dose or no timing: the card says so and computes nothing.
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import AdviceKind, AdviceRule
from guideline.dose.regimen import dose_words, grams_of, grams_per_kg, is_course, latest_weight, regimen_words
from guideline.facts import Facts
from guideline.model import Advice, Criterion, Evidence, Measurement
from guideline.ordered_dose import DoseRegimen, OrderedDose
from guideline.text import Message, msg, plural

_DOSE_INTERPRETATIONS = ("weight_max_age_days", "dose_month_days", "immunomodulation_course_min_g_per_kg")


def order_dose_advice(facts: Facts, order: OrderedDose) -> Advice:
    """Return the dose card for one draft immunoglobulin order (in range, out of range, or not computable).

    Source: Opsummering, "Dosisjustering" (a cumulative monthly dose of 0.4-0.8 g/kg) and Tabel 1. The monthly dose is
    the maintenance regimen's; loading steps (and an order holding only a course) are shown with their own totals and
    never counted as a month of doses. Shown for every patient and every decision: the dose range is a fact about the
    order (issue "clinical fidelity 4" §2).
    """
    p = facts.p
    weight = latest_weight(facts)
    maintenance = order.maintenance
    course_only = maintenance.has_timing and is_course(maintenance)  # a dose without timing: "no interval"
    loading = (*order.loading, maintenance) if course_only else order.loading
    stated = maintenance.has_dose and maintenance.has_timing and not course_only
    # The regimen in words, made once for the order line and the summary (issue 32).
    regimen = regimen_words(maintenance, order) if stated and order.problem is None else None
    order_line = _order_criterion(order, maintenance, course_only=course_only, stated=stated, regimen=regimen)
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
    assert regimen is not None  # no problem: the order states its maintenance dose and interval
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


def _order_criterion(
    order: OrderedDose, maintenance: DoseRegimen, *, course_only: bool, stated: bool, regimen: Message | None
) -> Criterion:
    """The order line: ``stated`` (dose and interval, not a course only), ``regimen`` its words when stated."""
    if order.problem is not None:
        text = msg("{display}: {problem}", display=order.display, problem=order.problem)
    elif stated:
        text = msg("{display}: {regimen}", display=order.display, regimen=regimen)
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
