"""Truth tables of issue "clinical fidelity 4" (the dose as ordered) and "clinical fidelity 3" §6 and §8.

Monthly dose from the maintenance regimen (0.4-0.8 g/kg per month, Dosisjustering), loading courses on their own,
frequencies in words, the dose check for every patient, product advice only beside a start or continuation, fSCIG
in small children, immunomodulatory orders (>= 1 g/kg per course or an immunomodulatory reason), and a trough that
is a trough (interval - 1 / interval days after a dose).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from guideline import assess, sources
from guideline.advice import trough_allowed
from guideline.concepts import (
    AdviceKind,
    AdviceRule,
    DiagnosisKind,
    IgrtRoute,
    MeasurementKind,
    Recommendation,
    RuleId,
)
from guideline.dose import (
    IMMUNOMODULATION_COURSE_MIN_G_PER_KG,
    dose_words,
    doses_per_course,
    frequency_words,
    is_course,
    order_purpose,
    regimen_words,
    trough_timing,
)
from guideline.facts import derive
from guideline.model import Advice, Diagnosis, Finding, IgrtRecord, KeyDates, Measurement, PatientRecord
from guideline.ordered_dose import DOSE_REGIMEN_FIELDS, DoseRegimen, DoseUnit, OrderedDose, PeriodUnit, interval_of
from guideline.parameters import DEFAULT_PARAMETERS
from guideline.text import msg
from tests.guideline.records import ADULT, HAEM, car_t, d, dx, igg, infection, ivig, ivig_every, record

AS_OF = "2026-11-20"
KG70 = Measurement(
    kind=MeasurementKind.BODY_WEIGHT, value=70, unit="kg", effective=d("2026-11-01"), ref="Observation/w"
)


def step(
    value: float | None,
    unit: DoseUnit | None = "g/kg",
    *,
    frequency: int = 1,
    period: float = 4,
    period_unit: PeriodUnit = "wk",
    count: int | None = None,
    sequence: int | None = None,
) -> DoseRegimen:
    days, months = interval_of(frequency, period, period_unit)
    return DoseRegimen(
        sequence=sequence,
        dose_value=value,
        dose_unit=unit,
        frequency=frequency,
        period=period,
        period_unit=period_unit,
        interval_days=days,
        interval_months=months,
        count=count,
    )


def order(
    maintenance: DoseRegimen | None = None,
    *loading: DoseRegimen,
    display: str = "Privigen 100 mg/ml",
    route: IgrtRoute = IgrtRoute.IVIG,
    product: str | None = "Privigen",
    concentration: float | None = 100,
    **extra: Any,
) -> OrderedDose:
    fields = {} if maintenance is None else {n: getattr(maintenance, n) for n in DOSE_REGIMEN_FIELDS}
    return OrderedDose(
        ref="MedicationRequest/draft",
        display=display,
        route=route,
        product=product,
        concentration_mg_per_ml=concentration,
        loading=loading,
        **fields,
        **extra,
    )


def dose_card(advice: tuple[Advice, ...]) -> Advice:
    return next(
        a for a in advice if a.rule.value.startswith("dose-monthly") or a.rule == AdviceRule.DOSE_NOT_COMPUTABLE
    )


def values(advice: Advice) -> dict[str, Any]:
    return dict(advice.values)


def advice_for(rec: PatientRecord, *orders: OrderedDose, as_of: str = AS_OF) -> tuple[Advice, ...]:
    return assess(rec, as_of=d(as_of), orders=orders).advice


HAEM_START = record(
    diagnoses=(HAEM,),
    labs=(igg(3.0, "2026-11-01"), igg(3.2, "2026-10-01", ref="Observation/b")),
    infections=(infection("2026-07-01", severe=True),),
    measurements=(KG70,),
)
"""Population 1, persistent IgG < 4 and a severe infection: start."""


# -- 1. the maintenance regimen's monthly dose, loading courses on their own ---------------------------------------
@pytest.mark.parametrize(
    ("per_dose", "rule", "monthly"),
    [
        (0.39, AdviceRule.DOSE_OUT_OF_RANGE, 0.39),
        (0.4, AdviceRule.DOSE_IN_RANGE, 0.4),
        (0.79, AdviceRule.DOSE_IN_RANGE, 0.79),
        (0.8, AdviceRule.DOSE_IN_RANGE, 0.8),
        (0.81, AdviceRule.DOSE_OUT_OF_RANGE, 0.81),
    ],
)
def test_monthly_dose_boundaries_every_4_weeks(per_dose: float, rule: AdviceRule, monthly: float) -> None:
    card = dose_card(advice_for(HAEM_START, order(step(per_dose))))
    assert (card.rule, values(card)["monthlyDoseGPerKg"], card.warning) == (
        rule,
        monthly,
        rule != AdviceRule.DOSE_IN_RANGE,
    )


def test_the_monthly_dose_is_the_maintenance_and_the_loading_course_its_own_total() -> None:
    loading = step(0.1, period=1, period_unit="d", count=5, sequence=1)
    card = dose_card(advice_for(HAEM_START, order(step(0.1, period=1, sequence=2), loading)))
    assert card.rule == AdviceRule.DOSE_IN_RANGE
    assert values(card)["monthlyDoseGPerKg"] == 0.4  # weekly 0.1 g/kg, not 5 daily doses as a month
    assert (values(card)["loadingCourseGPerKg"], values(card)["loadingCourseG"], values(card)["loadingDoses"]) == (
        0.5,
        35.0,
        5,
    )
    line = next(c for c in card.criteria if c.id == "loading-course")
    assert line.evidence[0].text.english() == "0.1 g/kg daily for 5 days = 0.5 g/kg in total"
    assert line.required is False


def test_an_order_holding_only_a_course_gives_no_monthly_dose() -> None:
    card = dose_card(advice_for(HAEM_START, order(step(0.1, period=1, period_unit="d", count=5))))
    assert card.rule == AdviceRule.DOSE_NOT_COMPUTABLE
    assert card.summary.english() == (
        "Monthly IgRT dose not computed: the order holds only a course of 5 doses, no maintenance regimen"
    )
    assert values(card)["loadingCourseGPerKg"] == 0.5


def test_an_order_with_a_dose_is_never_an_order_without_a_dose() -> None:
    loading = step(0.1, period=1, period_unit="d", count=5)
    card = dose_card(advice_for(HAEM_START, order(step(None, None), loading)))
    assert "the maintenance step states no dose" in card.summary.english()
    assert "the order has no dose" in dose_card(advice_for(HAEM_START, order())).summary.english()


@pytest.mark.parametrize(
    ("count", "days", "course"),
    [(None, 1, False), (1, 28, True), (5, 1, True), (7, 1, True), (8, 1, False), (2, 3.5, True), (4, 7, False)],
)
def test_a_course_is_a_bounded_step_within_7_days(count: int | None, days: float, course: bool) -> None:
    regimen = DoseRegimen(dose_value=0.1, dose_unit="g/kg", interval_days=days, count=count)
    assert is_course(regimen) is course


def test_a_single_dose_without_timing_is_a_course_of_one() -> None:
    single = DoseRegimen(dose_value=20, dose_unit="g")
    assert (is_course(single), doses_per_course(single)) == (True, 1)
    assert doses_per_course(DoseRegimen(dose_value=1, dose_unit="g", interval_days=1, count=5)) == 5


# -- 3. frequencies and doses in words ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("frequency", "period", "unit", "count", "words"),
    [
        (2, 1, "wk", None, "twice weekly"),
        (1, 1, "wk", None, "weekly"),
        (1, 4, "wk", None, "every 4 weeks"),
        (1, 28, "d", None, "every 4 weeks"),
        (1, 21, "d", None, "every 3 weeks"),
        (1, 3, "wk", None, "every 3 weeks"),
        (1, 1, "mo", None, "monthly"),
        (1, 2, "mo", None, "every 2 months"),
        (1, 1, "d", None, "daily"),
        (1, 10, "d", None, "every 10 days"),
        (3, 1, "wk", None, "3 times weekly"),
        (2, 1, "d", None, "twice daily"),
        (1, 1, "d", 5, "daily for 5 days"),
        (1, 1, "wk", 4, "weekly, 4 doses"),
        (1, 4, "wk", 1, "once"),
    ],
)
def test_frequency_in_words(frequency: int, period: float, unit: PeriodUnit, count: int | None, words: str) -> None:
    regimen = step(10, "g", frequency=frequency, period=period, period_unit=unit, count=count)
    assert regimen_words(regimen, order()).english() == f"10 g {words}"


def test_frequency_in_words_from_the_interval_alone() -> None:
    assert frequency_words(DoseRegimen(interval_days=7)).english() == "weekly"
    assert frequency_words(DoseRegimen(interval_days=3.5)).english() == "every 3.5 days"
    assert frequency_words(DoseRegimen()).english() == "interval not stated"


@pytest.mark.parametrize(
    ("value", "unit", "concentration", "words"),
    [
        (50, "mL", 200, "50 mL (10 g at 200 mg/mL)"),
        (30, "mL", 165, "30 mL (4.95 g at 165 mg/mL)"),
        (50, "mL", None, "50 mL"),
        (2, "mL/kg", 200, "2 mL/kg (0.4 g/kg at 200 mg/mL)"),
        (10, "g", 200, "10 g"),
        (0.4, "g/kg", 200, "0.4 g/kg"),
    ],
)
def test_dose_in_words_with_grams_at_the_concentration(
    value: float, unit: DoseUnit, concentration: float | None, words: str
) -> None:
    regimen = DoseRegimen(dose_value=value, dose_unit=unit)
    assert dose_words(regimen, order(concentration=concentration)).english() == words


def test_the_machine_readable_interval_stays_numeric() -> None:
    twice = step(5, "g", frequency=2, period=1)
    card = dose_card(advice_for(HAEM_START, order(twice, display="Hizentra 200 mg/ml", concentration=200)))
    assert (values(card)["intervalDays"], values(card)["monthlyDoseGPerKg"]) == (3.5, 0.57)
    assert "5 g twice weekly" in card.summary.english()


# -- 2. the dose check for every patient ----------------------------------------------------------------------------
OVERDOSE = step(1.8)  # 1.8 g/kg every 4 weeks: an IgRT regimen far above 0.8 g/kg per month
PID = record(diagnoses=(dx(DiagnosisKind.PRIMARY_IMMUNODEFICIENCY),), labs=(igg(2.0, "2026-11-01"),))
AGE_UNKNOWN = record(birth_date=None, therapies=(car_t("2026-09-01"),), labs=(igg(3.0, "2026-11-01"),))
CHILD = record(birth_date=date(2016, 1, 1), therapies=(car_t("2026-09-01"),), labs=(igg(3.0, "2026-11-01"),))
NOT_INDICATED = record(diagnoses=(HAEM,), labs=(igg(7.5, "2026-11-01"),))
STOP = record(diagnoses=(HAEM,), igrt=ivig_every("2025-10-13", "2026-11-09"), labs=(igg(7.0, "2026-11-09"),))


@pytest.mark.parametrize(
    ("rec", "rule"),
    [
        (PID, RuleId.PRIMARY_IMMUNODEFICIENCY),
        (AGE_UNKNOWN, RuleId.AGE_UNKNOWN),
        (CHILD, RuleId.CHILD_AFTER_CAR_T_OR_BSAB),
        (NOT_INDICATED, RuleId.NOT_INDICATED),
        (HAEM_START, RuleId.START_POP1),
    ],
    ids=["primary-immunodeficiency", "age-unknown", "child", "not-indicated", "start"],
)
def test_an_overdose_is_flagged_whatever_the_rule(rec: PatientRecord, rule: RuleId) -> None:
    result = assess(rec, as_of=d(AS_OF), orders=(order(OVERDOSE),))
    assert result.finding.rule == rule
    card = dose_card(result.advice)
    assert (card.rule, card.warning, values(card)["monthlyDoseGPerKg"]) == (AdviceRule.DOSE_OUT_OF_RANGE, True, 1.8)


def test_an_overdose_is_flagged_beside_a_stop() -> None:
    result = assess(STOP, as_of=d(AS_OF), orders=(order(OVERDOSE),))
    assert result.finding.recommendation == Recommendation.STOP
    assert dose_card(result.advice).rule == AdviceRule.DOSE_OUT_OF_RANGE


def test_outside_the_criteria_only_the_dose_card_or_for_children_also_product_and_trough() -> None:
    assert [a.kind for a in advice_for(PID, order(OVERDOSE))] == [AdviceKind.DOSE]
    assert [a.kind for a in advice_for(AGE_UNKNOWN, order(OVERDOSE))] == [AdviceKind.DOSE]
    assert [a.rule for a in advice_for(CHILD, order(OVERDOSE))] == [
        AdviceRule.DOSE_OUT_OF_RANGE,
        AdviceRule.PRODUCT_IVIG_ORDERED,
    ]


def test_a_child_on_igrt_gets_the_trough_advice() -> None:
    child = record(
        birth_date=date(2014, 5, 5),
        therapies=(car_t("2026-03-02"),),
        igrt=ivig_every("2026-04-27", "2026-11-09"),
        labs=(igg(4.6, "2026-11-09"),),
    )
    result = assess(child, as_of=d(AS_OF))
    assert result.finding.rule == RuleId.CHILD_AFTER_CAR_T_OR_BSAB
    assert [a.rule for a in result.advice] == [AdviceRule.TROUGH_BELOW_6]


# -- 5. product advice only beside a start or continuation ----------------------------------------------------------
@pytest.mark.parametrize(
    ("rec", "shown"),
    [(HAEM_START, True), (CHILD, True), (NOT_INDICATED, False), (STOP, False), (AGE_UNKNOWN, False), (PID, False)],
    ids=["start", "child", "not-indicated", "stop", "age-unknown", "primary-immunodeficiency"],
)
def test_ivig_advice_only_beside_a_start_or_continuation(rec: PatientRecord, shown: bool) -> None:
    found = [a for a in advice_for(rec, order(step(0.4))) if a.kind == AdviceKind.PRODUCT]
    assert bool(found) is shown
    if shown:
        assert "IVIG can be considered" in found[0].summary.english()
        assert "reasonable" not in " ".join(c.description.english() for c in found[0].criteria)


def test_no_switch_advice_beside_a_stop() -> None:
    scig = order(step(0.1, period=1), display="Hizentra 200 mg/ml", route=IgrtRoute.SCIG, product="Hizentra")
    assert [a for a in advice_for(STOP, scig) if a.kind == AdviceKind.PRODUCT] == []


# -- 4. fSCIG (HyQvia) in small children ----------------------------------------------------------------------------
def hyqvia() -> OrderedDose:
    return order(step(0.5), display="HyQvia 100 mg/ml", route=IgrtRoute.SCIG, product="HyQvia")


def small_child(born: str) -> PatientRecord:
    allo = Diagnosis(ref="Condition/allo", kind=DiagnosisKind.ALLO_HSCT, display="allo", recorded=d("2026-02-02"))
    return record(birth_date=d(born), diagnoses=(allo,), labs=(igg(3.2, "2026-11-10"),))


@pytest.mark.parametrize(
    ("born", "advised"),
    [("2020-11-21", True), ("2020-11-20", False), ("2022-03-15", True)],
    ids=["5-years-364-days", "6-years", "4-years"],
)
def test_fscig_for_a_child_under_6_gets_the_weekly_scig_advice(born: str, advised: bool) -> None:
    card = dose_card(advice_for(small_child(born), hyqvia()))
    assert (values(card).get("fscigSmallChild") == "yes") is advised
    assert card.warning is advised
    if advised:
        assert card.summary.english() == (
            "fSCIG (HyQvia) for a child under 6 years: ordinary SCIG given about once a week is preferred"
        )


def test_conventional_scig_for_a_small_child_gets_no_fscig_advice() -> None:
    hizentra = order(step(0.1, period=1), display="Hizentra 200 mg/ml", route=IgrtRoute.SCIG, product="Hizentra")
    assert "fscigSmallChild" not in values(dose_card(advice_for(small_child("2022-03-15"), hizentra)))


def test_fscig_for_a_small_child_keeps_an_out_of_range_dose_in_the_summary() -> None:
    overdose = order(step(1.2), display="HyQvia 100 mg/ml", route=IgrtRoute.SCIG, product="HyQvia")
    card = dose_card(advice_for(small_child("2022-03-15"), overdose))
    assert card.rule == AdviceRule.DOSE_OUT_OF_RANGE
    assert "1.2 g/kg per month outside 0.4-0.8 g/kg" in card.summary.english()


# -- 6. immunomodulatory orders are not IgRT ------------------------------------------------------------------------
def purpose(o: OrderedDose, rec: PatientRecord = HAEM_START) -> tuple[bool, float | None]:
    found = order_purpose(o, rec, as_of=d(AS_OF), p=DEFAULT_PARAMETERS)
    return found.immunomodulation, found.course_g_per_kg


@pytest.mark.parametrize(
    ("per_day", "immunomodulation"),
    [(0.198, False), (0.2, True), (0.4, True)],
)
def test_a_course_of_1_g_per_kg_or_more_is_immunomodulation(per_day: float, immunomodulation: bool) -> None:
    course = order(step(per_day, period=1, period_unit="d", count=5))
    assert purpose(course) == (immunomodulation, round(per_day * 5, 2))


@pytest.mark.parametrize(("grams", "immunomodulation"), [(69.3, False), (70.0, True)])
def test_a_single_dose_in_grams_is_judged_with_the_body_weight(grams: float, immunomodulation: bool) -> None:
    single = order(step(grams, "g", count=1))
    assert purpose(single)[0] is immunomodulation
    no_weight = HAEM_START.model_copy(update={"measurements": ()})
    assert purpose(single, no_weight) == (False, None)  # the dose card says the weight is missing


@pytest.mark.parametrize("per_dose", [0.3, 1.2, 1.8])
def test_a_repeating_maintenance_regimen_is_igrt_whatever_its_dose(per_dose: float) -> None:
    every_4_weeks = order(step(per_dose))  # open-ended: an overdose is flagged on the dose card, never hidden
    assert purpose(every_4_weeks) == (False, None)
    weekly_for_a_year = order(step(per_dose, period=1, count=52))
    assert purpose(weekly_for_a_year) == (False, None)
    assert IMMUNOMODULATION_COURSE_MIN_G_PER_KG == 1.0


def test_ivig_1_2_g_per_kg_every_4_weeks_is_an_igrt_overdose() -> None:
    card = dose_card(advice_for(HAEM_START, order(step(1.2))))
    assert (card.rule, values(card)["monthlyDoseGPerKg"]) == (AdviceRule.DOSE_OUT_OF_RANGE, 1.2)


def test_a_loading_course_counts_per_course_too() -> None:
    loading = step(0.25, period=1, period_unit="d", count=4)
    assert purpose(order(step(0.1, period=1), loading)) == (True, 1.0)
    igrt_loading = step(0.1, period=1, period_unit="d", count=5)
    assert purpose(order(step(0.1, period=1), igrt_loading)) == (False, 0.5)


def test_an_immunomodulatory_reason_decides_whatever_the_dose() -> None:
    found = order_purpose(order(reason_indication="ICANS"), HAEM_START, as_of=d(AS_OF), p=DEFAULT_PARAMETERS)
    assert found.immunomodulation and found.reason is not None
    assert found.reason.english() == "the order's reason is ICANS, an immunomodulatory indication"


def test_a_reason_reference_to_a_recorded_immunomodulatory_indication() -> None:
    itp = Diagnosis(ref="Condition/itp", kind=DiagnosisKind.IG_IMMUNOMODULATION_INDICATION, display="ITP")
    rec = HAEM_START.model_copy(update={"diagnoses": (HAEM, itp)})
    assert purpose(order(step(0.4), reason_refs=("Condition/itp",)), rec)[0] is True
    assert purpose(order(step(0.4), reason_refs=("Condition/cll",)), rec)[0] is False


def test_immunomodulatory_orders_get_no_advice() -> None:
    course = order(step(0.4, period=1, period_unit="d", count=5))
    assert [a for a in advice_for(HAEM_START, course) if a.kind in (AdviceKind.DOSE, AdviceKind.PRODUCT)] == []


# -- 8. a trough is a trough ----------------------------------------------------------------------------------------
def ivig_episode(sample: str, value: float = 7.5, *, last: str = "2026-11-16") -> PatientRecord:
    """IVIG every 28 days since 2026-05-04 (doses on 10-19 and 11-16), infection-free, one IgG on ``sample``."""
    return record(diagnoses=(HAEM,), igrt=ivig_every("2026-05-04", last), labs=(igg(value, sample),))


def timing(rec: PatientRecord, sample: str, **kwargs: Any) -> bool | None:
    facts = derive(rec, as_of=d(AS_OF), p=DEFAULT_PARAMETERS)
    return trough_timing(facts, d(sample), **kwargs).at_trough


@pytest.mark.parametrize(
    ("sample", "at_trough"),
    [
        ("2026-11-13", False),  # 25 days after 10-19: interval - 3
        ("2026-11-14", False),  # interval - 2
        ("2026-11-15", True),  # interval - 1: the day before the next dose
        ("2026-11-16", True),  # the day of the next dose, before it (28 days after 10-19)
        ("2026-11-17", False),  # the day after a dose
    ],
)
def test_a_trough_is_drawn_at_most_1_day_before_the_next_dose(sample: str, at_trough: bool) -> None:
    assert timing(ivig_episode(sample), sample) is at_trough


@pytest.mark.parametrize(("sample", "at_trough"), [("2026-11-15", False), ("2026-11-16", True)])
def test_without_tolerance_a_trough_is_a_full_interval_after_the_dose(sample: str, at_trough: bool) -> None:
    assert timing(ivig_episode(sample), sample, tolerance_days=0) is at_trough


def test_a_late_dose_makes_a_later_sample_a_trough_too() -> None:
    rec = ivig_episode("2026-11-19", last="2026-10-19")  # next dose due 11-16 not given yet
    assert timing(rec, "2026-11-19") is True


def test_weekly_scig_is_always_near_trough_and_fscig_is_timed() -> None:
    def scig(display: str, every: int) -> tuple[IgrtRecord, ...]:
        start, out = d("2026-06-01"), []
        while start <= d("2026-11-16"):
            out.append(
                IgrtRecord(
                    ref=f"MedicationAdministration/s-{start}",
                    display=display,
                    source="administration",
                    route=IgrtRoute.SCIG,
                    start=start,
                    end=start,
                )
            )
            start += timedelta(days=every)
        return tuple(out)

    weekly = record(diagnoses=(HAEM,), igrt=scig("Hizentra", 7), labs=(igg(7.5, "2026-11-17"),))
    assert timing(weekly, "2026-11-17") is True
    hyqvia_episode = record(diagnoses=(HAEM,), igrt=scig("HyQvia", 28), labs=(igg(7.5, "2026-11-17"),))
    assert timing(hyqvia_episode, "2026-11-17") is False


def test_the_interval_cannot_be_read_from_one_dose() -> None:
    rec = record(diagnoses=(HAEM,), igrt=(ivig("2026-11-02"),), labs=(igg(7.5, "2026-11-19"),))
    assert timing(rec, "2026-11-19") is None


def trough_cards(rec: PatientRecord) -> list[Advice]:
    return [a for a in advice_for(rec) if a.kind == AdviceKind.DOSE]


@pytest.mark.parametrize(
    ("sample", "value", "rule", "at"),
    [
        ("2026-11-15", 8.6, AdviceRule.TROUGH_ABOVE_8, "yes"),
        ("2026-11-14", 8.6, AdviceRule.IGG_NOT_AT_TROUGH, "no"),  # not a trough: no "above 8 g/L", when to draw
        ("2026-11-15", 7.5, AdviceRule.TROUGH_HIGH_INFECTION_FREE, "yes"),
        ("2026-11-14", 7.5, AdviceRule.IGG_NOT_AT_TROUGH, "no"),  # not a trough: no dose reduction
        ("2026-11-14", 5.9, AdviceRule.TROUGH_BELOW_6, "no"),  # below 6 before the trough: lower still
        ("2026-11-15", 5.9, AdviceRule.TROUGH_BELOW_6, "yes"),
    ],
)
def test_only_a_trough_supports_above_8_or_a_dose_reduction(
    sample: str, value: float, rule: AdviceRule | None, at: str | None
) -> None:
    found = trough_cards(ivig_episode(sample, value))
    assert [a.rule for a in found] == ([rule] if rule else [])
    if rule is not None:
        assert values(found[0])["atTrough"] == at
        assert values(found[0])["nextTroughDue"] == "2026-12-14"


def test_a_low_igg_before_the_trough_says_when_to_draw_the_next_one() -> None:
    (card,) = trough_cards(ivig_episode("2026-11-19", 5.1))
    assert card.summary.english() == (
        "IgG 5.1 g/L < 6 g/L drawn before the trough (the trough is lower): adjust dose or interval to reach 6 g/L"
    )
    timing_line = next(c for c in card.criteria if c.id == "igg-at-trough")
    assert timing_line.held is False
    assert [e.text.english() for e in timing_line.evidence] == [
        "drawn 3 days after the dose of 2026-11-16",
        "next trough: draw IgG on 2026-12-13 or on 2026-12-14 before the dose",
    ]


def test_an_unknown_interval_is_said_and_gives_no_dose_reduction() -> None:
    high = record(diagnoses=(HAEM,), igrt=(ivig("2026-05-04"), ivig("2026-11-02")), labs=(igg(7.5, "2026-11-19"),))
    # One dose since a gap: the episode has a single administration, so the timing is unknown: no dose advice.
    assert [a.rule for a in trough_cards(high)] == [AdviceRule.IGG_NOT_AT_TROUGH]
    assert "trough timing unknown" in trough_cards(high)[0].summary.english()
    low = record(diagnoses=(HAEM,), igrt=(ivig("2026-11-02"),), labs=(igg(5.0, "2026-11-19"),))
    (card,) = trough_cards(low)
    assert card.rule == AdviceRule.TROUGH_BELOW_6
    assert "trough timing unknown" in card.summary.english()
    assert values(card)["atTrough"] == "unknown"


# -- never "pause" or "stop" and "adjust the dose" on one card ------------------------------------------------------
def test_no_trough_advice_beside_a_summer_pause() -> None:
    rec = record(diagnoses=(HAEM,), igrt=ivig_every("2025-10-06", "2026-06-15"), labs=(igg(5.2, "2026-05-18"),))
    result = assess(rec, as_of=d("2026-06-15"))
    assert result.finding.recommendation == Recommendation.PAUSE
    assert [a for a in result.advice if a.kind == AdviceKind.DOSE] == []


def test_no_trough_advice_beside_a_stop() -> None:
    rec = STOP.model_copy(update={"labs": (igg(5.0, "2026-11-09"),)})
    result = assess(rec, as_of=d(AS_OF))
    assert result.finding.recommendation == Recommendation.STOP
    assert [a for a in result.advice if a.kind == AdviceKind.DOSE] == []


@pytest.mark.parametrize(
    ("rule", "recommendation", "on_igrt", "allowed"),
    [
        (RuleId.STANDARD_CONTINUE, Recommendation.CONTINUE, True, True),
        (RuleId.STANDARD_PAUSE_SUMMER, Recommendation.PAUSE, True, False),
        (RuleId.STANDARD_STOP_ATTEMPT, Recommendation.STOP, True, False),
        (RuleId.CHILD_AFTER_CAR_T_OR_BSAB, Recommendation.INDIVIDUAL_ASSESSMENT, True, True),
        (RuleId.START_CRITERIA_NOT_MET, Recommendation.INDIVIDUAL_ASSESSMENT, True, True),
        (RuleId.PRIMARY_IMMUNODEFICIENCY, Recommendation.INDIVIDUAL_ASSESSMENT, True, False),
        (RuleId.IGRT_START_BASIS_UNKNOWN, Recommendation.INSUFFICIENT_DATA, True, False),
        (RuleId.NOT_INDICATED, Recommendation.NOT_INDICATED, False, False),
    ],
)
def test_trough_advice_only_beside_continue_or_individual_assessment_on_igrt(
    rule: RuleId, recommendation: Recommendation, on_igrt: bool, allowed: bool
) -> None:
    finding = Finding(
        rule=rule,
        recommendation=recommendation,
        population=None,
        as_of=d(AS_OF),
        criteria=(),
        dates=KeyDates(),
        source=sources.DOSE,
        summary=msg("a summary"),
        on_igrt=on_igrt,
    )
    assert trough_allowed(finding) is allowed


def test_adult_is_the_default_of_the_records() -> None:
    assert HAEM_START.birth_date == ADULT
