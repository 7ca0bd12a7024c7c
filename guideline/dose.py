"""Dose rules (Opsummering, "Dosisjustering"): the monthly g/kg dose of an order, and trough IgG on IgRT.

* An immunoglobulin order with a dose and timing: cumulative monthly dose in g/kg from the latest body weight
  (at most ``weight_max_age_days`` old, **interpretation**), against 0.4-0.8 g/kg per month; mL/kg for the
  product's concentration (Tabel 1). A month is ``dose_month_days`` (**interpretation**, 28). No weight, no dose
  or no timing: the card says so and computes nothing.
* On IgRT (trough IgG = the latest IgG measured since the IgRT start): > 8 g/L "higher values are not
  recommended"; < 6 g/L with continued severe infections: adjust dose or interval towards 6-8 g/L; < 6 g/L
  otherwise: adjust the dose to reach the aim "en IgG-dalværdi på 6 g/l"; high in the
  interval (>= ``trough_high_in_range_g_per_l``) and free of bacterial infections for
  ``dose_reduction_infection_free_calendar_months``: a dose reduction can be tried.
"""

from __future__ import annotations

from guideline import sources
from guideline.calendar import add_calendar_months
from guideline.concepts import AdviceKind, AdviceRule, Analyte, MeasurementKind
from guideline.criteria import lab_evidence
from guideline.facts import Facts
from guideline.labs import results
from guideline.model import Advice, Criterion, Evidence, Measurement, OrderedDose
from guideline.text import Message, msg

_DOSE_INTERPRETATIONS = ("weight_max_age_days", "dose_month_days")


def latest_weight(facts: Facts) -> Measurement | None:
    """Return the newest body weight (kg) on or before the date, at most ``weight_max_age_days`` old."""
    weights = [
        m
        for m in facts.record.measurements
        if m.kind == MeasurementKind.BODY_WEIGHT
        and m.effective <= facts.as_of
        and (facts.as_of - m.effective).days <= facts.p.weight_max_age_days
    ]
    return max(weights, key=lambda m: (m.effective, m.ref)) if weights else None


def order_dose_advice(facts: Facts, order: OrderedDose) -> Advice:
    """Return the dose card for one draft immunoglobulin order (in range, out of range, or not computable)."""
    p = facts.p
    weight = latest_weight(facts)
    order_line = _order_criterion(order)
    problem = order.problem or _missing(order, weight, p.weight_max_age_days)
    if problem is not None:
        return Advice(
            kind=AdviceKind.DOSE,
            rule=AdviceRule.DOSE_NOT_COMPUTABLE,
            summary=msg("Monthly IgRT dose not computed: {problem}", problem=problem),
            criteria=(order_line, _weight_criterion(weight, p.weight_max_age_days)),
            notes=(_range_note(),),
            source=sources.DOSE,
            interpretations=_DOSE_INTERPRETATIONS,
        )
    assert order.dose_value is not None
    grams_per_dose = _grams(order)
    if order.interval_months is not None:
        per_month = 1 / order.interval_months
    else:
        assert order.interval_days is not None
        per_month = p.dose_month_days / order.interval_days
    if order.dose_unit == "g/kg":
        monthly = order.dose_value * per_month
    else:
        assert weight is not None and grams_per_dose is not None
        monthly = grams_per_dose * per_month / weight.value
    monthly = round(monthly, 2)
    within = p.dose_min_g_per_kg_month <= monthly <= p.dose_max_g_per_kg_month
    concentration = order.concentration_mg_per_ml
    ml_per_kg = round(monthly / (concentration / 1000), 1) if concentration else None
    criteria = [
        order_line,
        _weight_criterion(weight, p.weight_max_age_days, required=order.dose_unit != "g/kg"),
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
    if within:
        summary = msg("IgRT dose {monthly} g/kg per month: within 0.4-0.8 g/kg", monthly=monthly)
    else:
        summary = msg(
            "IgRT dose {monthly} g/kg per month is outside 0.4-0.8 g/kg: check dose and interval", monthly=monthly
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
            ("intervalDays", order.interval_days),
            ("intervalMonths", order.interval_months),
        ),
    )


def trough_advice(facts: Facts) -> Advice | None:
    """Return the trough-IgG card for a patient on IgRT, when one of the three Dosisjustering rules applies."""
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
    trough_line = Criterion(
        id="trough-igg-on-igrt",
        description=msg("Trough IgG measured on IgRT (since {start})", start=episode.start),
        held=True,
        evidence=(lab_evidence(trough),),
    )
    if value > p.trough_target_high_g_per_l:
        return Advice(
            kind=AdviceKind.DOSE,
            rule=AdviceRule.TROUGH_ABOVE_8,
            summary=msg(
                "Trough IgG {value} g/L > 8 g/L on IgRT: higher values are not recommended; consider a dose reduction",
                value=value,
            ),
            warning=True,
            criteria=(trough_line,),
            notes=(_trough_note(),),
            source=sources.DOSE,
        )
    severe_since = add_calendar_months(facts.as_of, -p.trough_severe_infection_lookback_calendar_months)
    severe = [e for e in facts.episodes if e.severe and max(episode.start, severe_since) <= e.onset <= facts.as_of]
    if below_6 and severe:
        return Advice(
            kind=AdviceKind.DOSE,
            rule=AdviceRule.TROUGH_LOW_WITH_SEVERE_INFECTIONS,
            summary=msg(
                "Trough IgG {value} g/L < 6 g/L with severe infections on IgRT: adjust dose or interval towards "
                "6-8 g/L",
                value=value,
            ),
            warning=True,
            criteria=(
                trough_line,
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
            notes=(_trough_note(),),
            source=sources.DOSE,
            interpretations=("trough_severe_infection_lookback_calendar_months",),
        )
    if below_6:
        return Advice(
            kind=AdviceKind.DOSE,
            rule=AdviceRule.TROUGH_BELOW_6,
            summary=msg(
                "Trough IgG {value} < 6 g/L on IgRT: adjust dose or interval to reach the trough aim of 6 g/L",
                value=trough.shown(),
            ),
            warning=True,
            criteria=(trough_line,),
            notes=(
                msg(
                    "Dosisjustering: the dose is adjusted towards a cumulative monthly dose of 0.4-0.8 g/kg, aiming at "
                    "an IgG trough of 6 g/L; measure the trough just before a dose."
                ),
            ),
            source=sources.DOSE,
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
                value=value,
                months=p.dose_reduction_infection_free_calendar_months,
            ),
            criteria=(
                trough_line,
                Criterion(
                    id="no-bacterial-infection",
                    description=msg("No bacterial infection since {since} (on IgRT throughout)", since=free_since),
                    held=True,
                ),
            ),
            notes=(_trough_note(),),
            source=sources.DOSE,
            interpretations=("trough_high_in_range_g_per_l", "dose_reduction_infection_free_calendar_months"),
        )
    return None


def _grams(order: OrderedDose) -> float | None:
    if order.dose_value is None:
        return None
    if order.dose_unit == "g":
        return order.dose_value
    if order.dose_unit == "mL" and order.concentration_mg_per_ml:
        return order.dose_value * order.concentration_mg_per_ml / 1000
    return None


def _missing(order: OrderedDose, weight: Measurement | None, max_days: int) -> Message | None:
    if order.dose_value is None or order.dose_unit is None:
        return msg("the order has no dose")
    if order.interval_days is None and order.interval_months is None:
        return msg("the order has no dosing interval (timing)")
    if order.dose_unit == "mL" and not order.concentration_mg_per_ml:
        return msg("dose in mL but the product's concentration is unknown")
    if order.dose_unit != "g/kg" and weight is None:
        return msg("no body weight recorded in the last {days} days", days=max_days)
    return None


def _order_criterion(order: OrderedDose) -> Criterion:
    stated = order.dose_value is not None and (order.interval_days or order.interval_months) is not None
    if not stated:
        text = msg("{display}: dose or interval not stated", display=order.display)
    elif order.interval_months is not None:
        text = msg(
            "{display}: {dose} {unit} every {interval} months",
            display=order.display,
            dose=order.dose_value,
            unit=order.dose_unit or "",
            interval=order.interval_months,
        )
    else:
        text = msg(
            "{display}: {dose} {unit} every {interval} days",
            display=order.display,
            dose=order.dose_value,
            unit=order.dose_unit or "",
            interval=order.interval_days,
        )
    return Criterion(
        id="ordered-dose",
        description=msg("Dose and interval stated in the order"),
        held=stated and order.problem is None,
        evidence=(Evidence(text=text, ref=order.ref),),
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


def _trough_note() -> Message:
    return msg(
        "Dosisjustering: aim at an IgG trough of 6 g/L; with continued severe infections adjust dose and/or interval "
        "towards a trough of 6-8 g/L. Higher values are not recommended. A dose reduction can be tried when the "
        "trough is high in the interval and the patient has been free of bacterial infections for 6-12 months."
    )
