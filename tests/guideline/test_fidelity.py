"""Truth tables for issue "clinical fidelity at the edges": each rule where the source says the data cannot decide.

One section per item of the issue; every threshold and date boundary is tested on both sides.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from guideline import DEFAULT_PARAMETERS, Recommendation, RuleId, assess, evaluate
from guideline.concepts import AdviceRule, Analyte, DiagnosisKind, InfectionKind, Population
from guideline.index_dates import index_dates
from guideline.model import Diagnosis, Finding, IgrtRecord, LabResult, MProteinTyping, PatientRecord
from tests.guideline.records import (
    ALLO,
    HAEM,
    admission,
    bsab,
    car_t,
    d,
    dx,
    igg,
    infection,
    ivig,
    ivig_every,
    lab,
    record,
)

AS_OF = "2026-11-20"


def plus(day: str, days: int) -> str:
    return (d(day) + timedelta(days=days)).isoformat()


def notes_of(finding: Finding) -> str:
    return " | ".join(n.english() for n in finding.notes)


def issues_of(finding: Finding) -> str:
    return " | ".join(f"{i.ref}: {i.reason.english()}" for i in finding.data_issues)


# -- 1. Own IgG only ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("days_after_dose", "expected"),
    [(0, RuleId.IGG_NOT_OWN), (1, RuleId.IGG_NOT_OWN), (89, RuleId.IGG_NOT_OWN), (90, RuleId.NOT_INDICATED)],
    ids=["same-day", "next-day", "day-89", "day-90-own"],
)
def test_igg_within_the_washout_after_any_immunoglobulin_is_not_own(days_after_dose: int, expected: RuleId) -> None:
    # IVIG given once for ICANS (immunomodulation, not IgRT); IgG 8 g/L afterwards.
    dose = "2026-07-01"
    rec = record(
        diagnoses=(HAEM,), labs=(igg(8.0, plus(dose, days_after_dose)),), igrt=(ivig(dose, immunomodulation=True),)
    )
    finding = evaluate(rec, as_of=d(plus(dose, days_after_dose)))
    assert finding.rule == expected
    assert finding.on_igrt is False  # immunomodulatory IVIG opens no IgRT episode
    if expected == RuleId.IGG_NOT_OWN:
        assert finding.recommendation == Recommendation.INSUFFICIENT_DATA
        assert finding.dates.own_igg_from == d("2026-09-29")
        assert finding.order_lab_tests
        assert "Privigen" in notes_of(finding) and "2026-09-29" in notes_of(finding)
        assert "not the patient's own" in issues_of(finding)


def test_washout_is_a_setting() -> None:
    rec = record(diagnoses=(HAEM,), labs=(igg(8.0, "2026-11-10"),), igrt=(ivig("2026-10-01", immunomodulation=True),))
    assert evaluate(rec, as_of=d(AS_OF)).rule == RuleId.IGG_NOT_OWN
    shorter = DEFAULT_PARAMETERS.with_interpretations({"igg_washout_days": 30})
    assert evaluate(rec, as_of=d(AS_OF), p=shorter).rule == RuleId.NOT_INDICATED


def test_a_reason_condition_coded_as_itp_makes_the_dose_immunomodulatory() -> None:
    itp = Diagnosis(ref="Condition/itp", kind=DiagnosisKind.IG_IMMUNOMODULATION_INDICATION, display="ITP")
    dose = replace(ivig("2026-11-01"), reason_refs=("Condition/itp",))
    rec = record(diagnoses=(HAEM, itp), labs=(igg(9.0, "2026-11-10"),), igrt=(dose,))
    finding = evaluate(rec, as_of=d(AS_OF))
    assert finding.on_igrt is False
    assert finding.rule == RuleId.IGG_NOT_OWN
    # The same dose without the reason is IgRT: continuation rules, the IgG is a trough.
    assert evaluate(rec.model_copy(update={"igrt": (ivig("2026-11-01"),)}), as_of=d(AS_OF)).on_igrt is True


def test_an_own_igg_before_the_dose_still_decides_and_the_confounded_one_is_named() -> None:
    rec = record(
        therapies=(car_t("2026-09-01"),),
        labs=(igg(2.9, "2026-09-20"), igg(11.0, "2026-10-20")),
        igrt=(ivig("2026-10-05", immunomodulation=True),),
    )
    finding = evaluate(rec, as_of=d(AS_OF))
    assert finding.rule == RuleId.START_POP2_WINDOW
    assert any(e.ref == "Observation/igg-2026-09-20" for c in finding.criteria for e in c.evidence)
    assert "Observation/igg-2026-10-20" in issues_of(finding)


def test_after_an_igrt_stop_the_igg_of_the_washout_is_not_own_never_not_indicated() -> None:
    doses = (*ivig_every("2026-01-05", "2026-09-14"),)  # last dose 2026-09-14: 67 days before, off IgRT
    rec = record(diagnoses=(HAEM,), labs=(igg(6.5, "2026-11-10"),), igrt=doses)
    finding = evaluate(rec, as_of=d(AS_OF))
    assert finding.on_igrt is False
    assert finding.rule == RuleId.IGG_NOT_OWN
    assert finding.dates.own_igg_from == d("2026-12-13")


def test_on_igrt_the_igg_is_a_trough_for_the_dose_advice_only() -> None:
    rec = record(diagnoses=(HAEM,), labs=(igg(5.1, "2026-11-09"),), igrt=ivig_every("2026-06-01", "2026-11-09"))
    result = assess(rec, as_of=d(AS_OF))
    assert result.finding.on_igrt
    assert [a.rule for a in result.advice if a.kind == "dose"] == [AdviceRule.TROUGH_BELOW_6]
    assert result.finding.data_issues == ()  # a trough is used, not dropped


def test_immune_recovery_needs_an_own_igg() -> None:
    start = "2025-11-03"
    rec = record(diagnoses=(HAEM,), labs=(igg(7.0, "2026-11-18"),), igrt=ivig_every(start, "2026-11-16"))
    result = assess(rec, as_of=d(AS_OF))
    markers = next(a for a in result.advice if a.rule == AdviceRule.MONITORING_STOP_MARKERS)
    recovery = next(c for c in markers.criteria if c.id == "igg-without-igrt")
    assert recovery.held is None and recovery.evidence == ()  # the 7.0 of 2 days after a dose is not own


# -- 2. At least one sample without active infection ---------------------------------------------------------------
def _pop1(infections: tuple[object, ...]) -> PatientRecord:
    return record(
        diagnoses=(HAEM,),
        labs=(igg(3.1, "2026-11-05"), igg(3.4, "2026-10-05")),
        infections=(infection("2026-03-01", severe=True), *infections),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("abatement", "expected"),
    [("2026-11-05", RuleId.UNCONFIRMED_LOW_IGG), ("2026-11-04", RuleId.START_POP1)],
    ids=["abated-on-sample-day", "abated-day-before"],
)
def test_active_from_onset_to_abatement(abatement: str, expected: RuleId) -> None:
    # The earlier sample (2026-10-05) lies inside the other infection; the newer one decides.
    both = (
        infection("2026-10-01", abatement="2026-10-06", kinds=frozenset({InfectionKind.POSSIBLY_BACTERIAL})),
        infection("2026-11-02", abatement=abatement, kinds=frozenset({InfectionKind.POSSIBLY_BACTERIAL})),
    )
    assert evaluate(_pop1(both), as_of=d(AS_OF)).rule == expected


@pytest.mark.parametrize(
    ("onset", "expected"),
    [("2026-10-22", RuleId.UNCONFIRMED_LOW_IGG), ("2026-10-21", RuleId.START_POP1)],
    ids=["14-days-covers-sample", "15-days-before"],
)
def test_without_abatement_an_infection_is_active_for_14_days(onset: str, expected: RuleId) -> None:
    both = (
        infection("2026-10-01", kinds=frozenset({InfectionKind.POSSIBLY_BACTERIAL})),
        infection(onset, kinds=frozenset({InfectionKind.POSSIBLY_BACTERIAL})),
    )
    finding = evaluate(_pop1(both), as_of=d(AS_OF))
    assert finding.rule == expected
    if expected == RuleId.UNCONFIRMED_LOW_IGG:
        assert "without active infection" in notes_of(finding)
        assert finding.order_lab_tests


def test_an_unclassified_infection_also_marks_a_sample_and_is_named() -> None:
    viral = (
        infection("2026-10-01", classified=False),
        infection("2026-11-01", classified=False),
    )
    finding = evaluate(_pop1(viral), as_of=d(AS_OF))
    assert finding.rule == RuleId.UNCONFIRMED_LOW_IGG
    assert "do not classify as bacterial" in issues_of(finding)


# -- 3. The measurement rule on every start path -------------------------------------------------------------------
def test_pop2_after_the_window_needs_persistent_igg_like_pop1() -> None:
    rec = record(
        therapies=(car_t("2026-01-10"),),
        labs=(igg(3.0, "2026-11-10"),),
        infections=(infection("2026-09-01", severe=True),),
    )
    assert evaluate(rec, as_of=d(AS_OF)).rule == RuleId.UNCONFIRMED_LOW_IGG
    confirmed = rec.model_copy(update={"labs": (igg(3.0, "2026-11-10"), igg(3.3, "2026-10-15"))})
    assert evaluate(confirmed, as_of=d(AS_OF)).rule == RuleId.START_POP2_AFTER_WINDOW


@pytest.mark.parametrize("population", ["pop2-window", "pop3"])
def test_one_value_suffices_uanset_but_the_card_says_the_confirming_value_is_missing(population: str) -> None:
    base = {"therapies": (car_t("2026-09-01"),)} if population == "pop2-window" else {"diagnoses": (ALLO,)}
    finding = evaluate(record(labs=(igg(3.0, "2026-11-10"),), **base), as_of=d(AS_OF))  # type: ignore[arg-type]
    assert finding.recommendation == Recommendation.START
    assert "confirming second IgG is missing" in notes_of(finding)
    persistent = next(c for c in finding.criteria if c.id == "igg-persistent")
    assert persistent.required is False and persistent.held is False
    confirmed = evaluate(
        record(labs=(igg(3.0, "2026-11-10"), igg(3.2, "2026-10-15")), **base),  # type: ignore[arg-type]
        as_of=d(AS_OF),
    )
    assert "confirming second IgG is missing" not in notes_of(confirmed)


# -- 4. Age-related reference range at every age -------------------------------------------------------------------
@pytest.mark.parametrize(("value", "low", "held"), [(6.4, 6.5, True), (6.5, 6.5, False), (5.9, None, True)])
def test_reference_low_is_strict_and_applies_to_adults(value: float, low: float | None, held: bool) -> None:
    result = LabResult(
        analyte=Analyte.IGG,
        value_g_per_l=value,
        effective=d("2026-11-10"),
        ref="Observation/r",
        reported="x",
        reference_low_g_per_l=low,
    )
    rec = record(
        diagnoses=(HAEM,),
        labs=(result,),
        infections=(infection("2026-09-01", kinds=frozenset({InfectionKind.BACTERIAL_SEPSIS})),),
    )
    finding = evaluate(rec, as_of=d(AS_OF))
    assert (finding.rule == RuleId.CONSIDER_IGG_BELOW_6) is held


# -- 6. IgG M-component --------------------------------------------------------------------------------------------
MP = lab(Analyte.M_PROTEIN, 8.0, "2026-11-10", "Observation/mp")
TWO_SEVERE = (infection("2026-05-01", severe=True), infection("2026-09-01", severe=True))


def _myeloma(*labs: LabResult, typing: str | None = None, infections: tuple[object, ...] = TWO_SEVERE) -> PatientRecord:
    typings = (
        (MProteinTyping(isotypes=frozenset({typing}), text=typing, effective=d("2026-11-10"), ref="Observation/ifx"),)
        if typing
        else ()
    )
    return record(diagnoses=(HAEM,), labs=(MP, *labs), m_protein_typings=typings, infections=infections)  # type: ignore[arg-type]


def test_untyped_m_component_with_normal_total_igg_is_insufficient_data_never_not_indicated() -> None:
    finding = evaluate(_myeloma(igg(9.0, "2026-11-10")), as_of=d(AS_OF))
    assert finding.rule == RuleId.M_COMPONENT_UNTYPED
    assert finding.order_lab_tests
    assert "Type the M-component" in notes_of(finding)


def test_untyped_m_component_without_infection_criteria_is_not_indicated_on_the_infections() -> None:
    finding = evaluate(_myeloma(igg(9.0, "2026-11-10"), infections=()), as_of=d(AS_OF))
    assert finding.rule == RuleId.NOT_INDICATED
    below_4 = next(c for c in finding.criteria if c.id == "igg-below-4")
    assert below_4.held is None  # undetermined, never "not met" on total IgG


def test_a_low_total_igg_still_counts_with_an_untyped_m_component() -> None:
    rec = _myeloma(igg(3.0, "2026-11-10"), igg(3.2, "2026-10-12"))
    assert evaluate(rec, as_of=d(AS_OF)).rule == RuleId.START_POP1


@pytest.mark.parametrize(
    ("iga", "igm", "expected"),
    [
        (0.69, 0.39, RuleId.START_POP1),  # both below the adult defaults 0.7 / 0.4: immunoparesis
        (0.7, 0.39, RuleId.M_COMPONENT_UNTYPED),  # IgA at the default low is not below it
        (0.69, 0.4, RuleId.M_COMPONENT_UNTYPED),
    ],
)
def test_immunoparesis_takes_the_place_of_low_igg_with_default_reference_lows(
    iga: float, igm: float, expected: RuleId
) -> None:
    rec = _myeloma(
        igg(9.0, "2026-11-10"),
        lab(Analyte.IGA, iga, "2026-11-10", "Observation/iga"),
        lab(Analyte.IGM, igm, "2026-11-10", "Observation/igm"),
    )
    finding = evaluate(rec, as_of=d(AS_OF))
    assert finding.rule == expected
    assert finding.rests_on_immunoparesis is (expected == RuleId.START_POP1)


def test_the_labs_reference_low_wins_over_the_default() -> None:
    rec = _myeloma(
        igg(9.0, "2026-11-10"),
        lab(Analyte.IGA, 0.8, "2026-11-10", "Observation/iga", low=0.88),
        lab(Analyte.IGM, 0.3, "2026-11-10", "Observation/igm", low=0.34),
    )
    assert evaluate(rec, as_of=d(AS_OF)).rule == RuleId.START_POP1


def test_m_component_typed_iga_leaves_total_igg_valid() -> None:
    finding = evaluate(_myeloma(igg(9.0, "2026-11-10"), typing="IgA"), as_of=d(AS_OF))
    assert finding.rule == RuleId.NOT_INDICATED


# -- 7. HSCT type ----------------------------------------------------------------------------------------------------
UNKNOWN_HSCT = dx(DiagnosisKind.HSCT_UNKNOWN_TYPE)
AUTO_HSCT = dx(DiagnosisKind.AUTOLOGOUS_HSCT)


@pytest.mark.parametrize(("value", "expected"), [(3.99, RuleId.HSCT_TYPE_UNKNOWN), (4.0, RuleId.NOT_INDICATED)])
def test_hsct_of_unknown_type_with_igg_below_4_names_the_missing_type(value: float, expected: RuleId) -> None:
    finding = evaluate(record(diagnoses=(UNKNOWN_HSCT,), labs=(igg(value, "2026-11-10"),)), as_of=d(AS_OF))
    assert finding.rule == expected
    assert finding.population != Population.OTHER_HYPOGAMMAGLOBULINAEMIA  # population 4 excludes any HSCT


def test_autologous_hsct_follows_the_haematological_disease_not_population_4() -> None:
    rec = record(
        diagnoses=(AUTO_HSCT,),
        labs=(igg(3.0, "2026-11-10"), igg(3.1, "2026-10-10")),
        infections=(infection("2026-06-01", severe=True),),
    )
    finding = evaluate(rec, as_of=d(AS_OF))
    assert (finding.rule, finding.population) == (RuleId.START_POP1, Population.HAEMATOLOGICAL)
    assert evaluate(rec.model_copy(update={"infections": ()}), as_of=d(AS_OF)).rule == RuleId.NOT_INDICATED


# -- 8. A switch of bispecific is a new start ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("second", "gap_days", "t0"),
    [
        ("talquetamab", 14, "2026-06-15"),  # another substance: new course whatever the gap
        ("teclistamab", 14, "2026-06-01"),  # same substance: same course
        ("teclistamab", 90, "2026-06-01"),  # same substance, gap at the setting: same course
        ("teclistamab", 91, "2026-08-31"),  # same substance, longer gap: new course
    ],
)
def test_bsab_switch_starts_a_new_course(second: str, gap_days: int, t0: str) -> None:
    first = bsab("2026-06-01")
    then = bsab(plus("2026-06-01", gap_days), substance=second)
    found = index_dates((first, then), as_of=d(AS_OF), p=DEFAULT_PARAMETERS)
    assert found[-1].t0 == d(t0)
    if t0 != "2026-06-01":
        assert found[-1].substance.lower() == second


def test_the_start_card_names_the_drug_whose_start_is_t0() -> None:
    rec = record(
        therapies=(bsab("2026-03-02"), bsab("2026-08-31"), bsab("2026-09-14", substance="talquetamab")),
        labs=(igg(3.0, "2026-11-10"),),
    )
    finding = evaluate(rec, as_of=d(AS_OF))
    assert finding.rule == RuleId.START_POP2_WINDOW and finding.dates.t0 == d("2026-09-14")
    window = next(c for c in finding.criteria if c.id == "inside-car-t-bsab-window")
    assert "Talquetamab" in window.description.english()


# -- 9. Short-course stop only for the case the source names --------------------------------------------------------
T0 = "2026-03-02"


def _pop2_on_igrt(
    *labs: LabResult, igrt: tuple[IgrtRecord, ...] | None = None, infections: tuple[object, ...] = ()
) -> PatientRecord:
    return record(
        therapies=(car_t(T0),),
        labs=labs,
        igrt=igrt if igrt is not None else ivig_every("2026-04-01", "2026-11-11"),
        infections=infections,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("pre_start_igg", "as_of", "expected"),
    [
        (3.2, "2026-09-01", RuleId.POP2_SHORT_COURSE_CONTINUE),
        (3.2, "2026-09-02", RuleId.POP2_SHORT_COURSE_STOP),
        (4.0, "2026-09-02", RuleId.START_CRITERIA_NOT_MET),  # no start criterion met: review, never "continue"
        (None, "2026-09-01", RuleId.POP2_SHORT_COURSE_CONTINUE),
        (None, "2026-09-02", RuleId.IGRT_START_BASIS_UNKNOWN),
    ],
)
def test_short_course_needs_an_own_igg_below_4_before_the_start(
    pre_start_igg: float | None, as_of: str, expected: RuleId
) -> None:
    labs = () if pre_start_igg is None else (igg(pre_start_igg, "2026-03-25"),)
    finding = evaluate(_pop2_on_igrt(*labs), as_of=d(as_of))
    assert finding.rule == expected
    if pre_start_igg == 4.0:
        assert finding.recommendation == Recommendation.INDIVIDUAL_ASSESSMENT
        assert "without IgG < 4 g/L before the start" in notes_of(finding)
    if expected == RuleId.IGRT_START_BASIS_UNKNOWN:
        assert finding.recommendation == Recommendation.INSUFFICIENT_DATA


def test_a_pre_start_igg_drawn_on_the_first_dose_day_is_the_baseline() -> None:
    finding = evaluate(_pop2_on_igrt(igg(3.0, "2026-04-01")), as_of=d("2026-09-02"))
    assert finding.rule == RuleId.POP2_SHORT_COURSE_STOP


@pytest.mark.parametrize(
    ("gap_days", "expected"), [(90, RuleId.STANDARD_CONTINUE), (91, RuleId.POP2_SHORT_COURSE_STOP)]
)
def test_igrt_before_t0_only_interrupted_around_car_t_follows_the_standard_rules(
    gap_days: int, expected: RuleId
) -> None:
    before = (*ivig_every("2025-10-01", "2026-01-21"), ivig("2026-02-02"))  # last dose 2026-02-02, T0 2026-03-02
    restart = plus("2026-02-02", gap_days)
    igrt = (*before, *ivig_every(restart, "2026-11-11"))
    finding = evaluate(_pop2_on_igrt(igg(3.0, restart), igrt=igrt), as_of=d("2026-09-10"))
    assert finding.rule == expected


# -- 10. An overdue stop attempt ---------------------------------------------------------------------------------------
START = "2025-06-02"


@pytest.mark.parametrize(
    ("as_of", "infection_on", "expected"),
    [
        ("2026-06-01", None, RuleId.STANDARD_PAUSE_SUMMER),  # last day of 6-12 months, summer
        ("2026-06-02", None, RuleId.STANDARD_STOP_OVERDUE),  # 12 months: the attempt is overdue
        ("2026-11-20", "2026-05-20", RuleId.STANDARD_CONTINUE_REASSESS),  # infection exactly 6 months ago
        ("2026-11-20", "2026-05-19", RuleId.STANDARD_STOP_OVERDUE),  # infection just over 6 months ago
    ],
)
def test_overdue_stop_attempt(as_of: str, infection_on: str | None, expected: RuleId) -> None:
    infections = (infection(infection_on),) if infection_on else ()
    rec = record(diagnoses=(HAEM,), igrt=ivig_every(START, "2026-11-16", 7), infections=infections)
    finding = evaluate(rec, as_of=d(as_of))
    assert finding.rule == expected
    dates = finding.dates
    if finding.recommendation == Recommendation.STOP:
        assert dates.next_follow_up is None and dates.stop_due is not None  # one next date only
    elif expected == RuleId.STANDARD_CONTINUE_REASSESS:
        assert dates.stop_due is None and dates.next_follow_up == d("2026-12-02")


def test_no_response_shows_a_follow_up_beside_a_stop() -> None:
    rec = record(diagnoses=(HAEM,), igrt=ivig_every(START, "2026-11-16", 7))
    result = assess(rec, as_of=d(AS_OF), follow_up=True)
    assert result.finding.recommendation == Recommendation.STOP
    assert all(a.rule != AdviceRule.MONITORING_FOLLOW_UP for a in result.advice)


# -- 11. No summer pause inside the first 6 months after CAR-T/bsAb ---------------------------------------------------
@pytest.mark.parametrize(
    ("t0", "expected"),
    [("2026-01-16", RuleId.CONTINUE_NEW_HIGH_RISK_PERIOD), ("2026-01-15", RuleId.STANDARD_PAUSE_SUMMER)],
    ids=["window-ends-next-day", "window-ended"],
)
def test_no_summer_pause_inside_the_window(t0: str, expected: RuleId) -> None:
    # IgRT from before T0 (standard rules); on 2026-07-15 it has run 6 months; a new CAR-T T0 in January.
    rec = record(therapies=(car_t(t0),), igrt=ivig_every("2025-12-01", "2026-07-13"))
    finding = evaluate(rec, as_of=d("2026-07-15"))
    assert finding.rule == expected
    if expected == RuleId.CONTINUE_NEW_HIGH_RISK_PERIOD:
        assert finding.overruled is not None and finding.overruled.proposed == Recommendation.PAUSE
        assert finding.dates.stop_due == d("2026-07-16")  # the stop date moves to the end of the window


# -- 12. Population 4, dose details, admission -------------------------------------------------------------------------
def test_every_population_4_consider_card_carries_the_work_up() -> None:
    rec = record(
        labs=(igg(5.0, "2026-11-10"),),
        infections=(infection("2026-09-01", kinds=frozenset({InfectionKind.BACTERIAL_SEPSIS})),),
    )
    finding = evaluate(rec, as_of=d(AS_OF))
    assert (finding.rule, finding.population) == (RuleId.CONSIDER_IGG_BELOW_6, 4)
    assert "clinical immunology" in notes_of(finding)


@pytest.mark.parametrize(("trough", "rule"), [(5.99, AdviceRule.TROUGH_BELOW_6), (6.0, AdviceRule.IGG_NOT_AT_TROUGH)])
def test_trough_below_6_gives_the_dose_advice(trough: float, rule: AdviceRule | None) -> None:
    rec = record(diagnoses=(HAEM,), labs=(igg(trough, "2026-11-09"),), igrt=ivig_every("2026-08-03", "2026-11-09"))
    found = [a.rule for a in assess(rec, as_of=d(AS_OF)).advice if a.kind == "dose"]
    assert found == ([rule] if rule else [])


def test_severity_severe_without_admission_is_not_admission_requiring() -> None:
    rec = record(
        diagnoses=(HAEM,),
        labs=(igg(5.0, "2026-11-10"),),
        infections=(infection("2026-07-01", severe=True), infection("2026-09-01", severe=True)),
    )
    assert evaluate(rec, as_of=d(AS_OF)).rule == RuleId.NOT_INDICATED
    admitted = rec.model_copy(
        update={
            "admissions": (
                admission("2026-07-01", "2026-07-04", ref="Encounter/1"),
                admission("2026-09-01", "2026-09-03", ref="Encounter/2"),
            )
        }
    )
    assert evaluate(admitted, as_of=d(AS_OF)).rule == RuleId.CONSIDER_IGG_BELOW_6


def test_meningitis_is_severe_by_its_code() -> None:
    meningitis = infection("2026-06-01", severe_by_code=True)
    rec = record(diagnoses=(HAEM,), labs=(igg(3.0, "2026-11-10"), igg(3.3, "2026-10-10")), infections=(meningitis,))
    assert evaluate(rec, as_of=d(AS_OF)).rule == RuleId.START_POP1
    plain = rec.model_copy(update={"infections": (infection("2026-06-01"),)})
    assert evaluate(plain, as_of=d(AS_OF)).rule != RuleId.START_POP1


# -- 13. Population 3 in time ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("as_of", "expected"),
    [("2026-11-19", RuleId.START_POP3), ("2026-11-20", RuleId.NOT_INDICATED)],
    ids=["last-day-of-24-months", "past-24-months-population-1"],
)
def test_population_3_applies_for_24_months_after_the_transplant(as_of: str, expected: RuleId) -> None:
    allo = Diagnosis(ref="Condition/allo", kind=DiagnosisKind.ALLO_HSCT, display="allo", recorded=d("2024-11-20"))
    finding = evaluate(record(diagnoses=(allo,), labs=(igg(3.0, "2026-11-10"),)), as_of=d(as_of))
    assert finding.rule == expected
    if expected == RuleId.START_POP3:
        population = next(c for c in finding.criteria if c.id == "population-3")
        assert "until 2026-11-20" in population.description.english()
    else:
        assert finding.population == Population.HAEMATOLOGICAL


def test_population_3_with_an_undated_transplant_says_so() -> None:
    allo = Diagnosis(ref="Condition/allo", kind=DiagnosisKind.ALLO_HSCT, display="allo")
    finding = evaluate(record(diagnoses=(allo,), labs=(igg(3.0, "2026-11-10"),)), as_of=d(AS_OF))
    assert finding.rule == RuleId.START_POP3
    population = next(c for c in finding.criteria if c.id == "population-3")
    assert "date not recorded" in population.description.english()
