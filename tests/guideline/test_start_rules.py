"""Truth tables for the start rules at every threshold and date boundary (decision-table.md, "Start criteria")."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from guideline import DEFAULT_PARAMETERS, Recommendation, RuleId, evaluate
from guideline.concepts import DiagnosisKind, InfectionKind, TherapyKind
from guideline.model import AntibioticRecord, PatientRecord, TherapyAdministration
from tests.guideline.records import (
    ALLO,
    HAEM,
    admission,
    antibiotic,
    bsab,
    car_t,
    d,
    dx,
    igg,
    infection,
    record,
)

TWO_TREATED = (infection("2026-09-01"), infection("2026-10-20"))
TWO_ANTIBIOTICS = (antibiotic("2026-09-02"), antibiotic("2026-10-21"))


def rule_of(rec: PatientRecord, as_of: str, **overrides: object) -> RuleId:
    p = DEFAULT_PARAMETERS.with_interpretations(overrides) if overrides else DEFAULT_PARAMETERS
    return evaluate(rec, as_of=d(as_of), p=p).rule


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3.99, RuleId.START_POP2_WINDOW), (4.0, RuleId.NOT_INDICATED), (0.5, RuleId.START_POP2_WINDOW)],
    ids=["3.99-start", "exactly-4-not", "0.5-start"],
)
def test_pop2_window_igg_threshold_is_strict(value: float, expected: RuleId) -> None:
    rec = record(therapies=(car_t("2026-08-31"),), labs=(igg(value, "2026-10-01"),))
    assert rule_of(rec, "2026-11-20") == expected


@pytest.mark.parametrize(
    ("t0", "as_of", "expected"),
    [
        ("2025-08-31", "2026-02-27", RuleId.START_POP2_WINDOW),
        ("2025-08-31", "2026-02-28", RuleId.UNCONFIRMED_LOW_IGG),
        ("2026-05-01", "2026-10-31", RuleId.START_POP2_WINDOW),
        ("2026-05-01", "2026-11-01", RuleId.UNCONFIRMED_LOW_IGG),
        ("2026-10-01", "2027-03-31", RuleId.START_POP2_WINDOW),
        ("2026-10-01", "2027-04-01", RuleId.UNCONFIRMED_LOW_IGG),
    ],
)
def test_pop2_window_ends_at_t0_plus_6_calendar_months(t0: str, as_of: str, expected: RuleId) -> None:
    # One severe infection: after the window the population-1 start criteria apply, but persistence is unshown.
    lab_day = (d(as_of).replace(day=1)).isoformat()
    rec = record(
        therapies=(car_t(t0),),
        labs=(igg(3.0, lab_day),),
        infections=(infection(t0, severe=True),),
    )
    assert rule_of(rec, as_of) == expected


def test_pop2_window_stop_due_is_t0_plus_6_months_from_31_august() -> None:
    rec = record(therapies=(car_t("2025-08-31"),), labs=(igg(3.0, "2025-10-01"),))
    finding = evaluate(rec, as_of=d("2025-11-01"))
    assert finding.dates.stop_due == date(2026, 2, 28)
    assert finding.population == 2


def test_pop2_window_uses_only_igg_since_t0_by_default() -> None:
    rec = record(therapies=(car_t("2026-10-01"),), labs=(igg(3.0, "2026-09-30"),))
    assert rule_of(rec, "2026-11-20") == RuleId.NO_IGG_SINCE_T0
    assert rule_of(rec, "2026-11-20", pop2_igg_must_follow_t0=False) == RuleId.START_POP2_WINDOW


@pytest.mark.parametrize(
    ("latest", "earlier", "earlier_on", "expected"),
    [
        (3.99, 3.99, "2026-10-20", RuleId.START_POP1),  # 21 days apart, both < 4
        (3.99, 3.99, "2026-10-21", RuleId.UNCONFIRMED_LOW_IGG),  # 20 days apart: not a confirming sample
        (4.0, 3.0, "2026-10-01", RuleId.NOT_INDICATED),  # latest exactly 4
        (3.5, 4.0, "2026-10-01", RuleId.UNCONFIRMED_LOW_IGG),  # earlier exactly 4: not persistent
    ],
)
def test_pop1_persistent_igg_below_4(latest: float, earlier: float, earlier_on: str, expected: RuleId) -> None:
    rec = record(
        diagnoses=(HAEM,),
        labs=(igg(latest, "2026-11-10"), igg(earlier, earlier_on)),
        infections=(infection("2026-06-01", severe=True),),
    )
    assert rule_of(rec, "2026-11-20") == expected


@pytest.mark.parametrize(
    ("infections", "expected"),
    [
        ((infection("2026-06-01", severe=True),), RuleId.START_POP1),
        ((infection("2026-06-01"),), RuleId.NOT_INDICATED),
        ((infection("2026-03-01"), infection("2026-06-01")), RuleId.START_POP1),
        ((infection("2025-11-19"), infection("2026-06-01")), RuleId.NOT_INDICATED),  # first one 12 months + 1 day ago
        ((infection("2025-11-20"), infection("2026-06-01")), RuleId.START_POP1),  # exactly 12 calendar months
        # One verified infection and one that is not: verified, they would make a start; the card says so.
        ((infection("2026-03-01", verification="provisional"), infection("2026-06-01")), RuleId.INFECTION_NOT_VERIFIED),
        ((infection("2026-03-01", verification=None), infection("2026-06-01")), RuleId.INFECTION_NOT_VERIFIED),
    ],
    ids=["1-severe", "1-mild", "2-verified", "outside-12-months", "at-12-months", "provisional", "no-verification"],
)
def test_severe_or_recurrent_verified_infections(infections: tuple[object, ...], expected: RuleId) -> None:
    rec = record(diagnoses=(HAEM,), labs=(igg(3.0, "2026-11-10"), igg(3.1, "2026-10-01")), infections=infections)
    assert rule_of(rec, "2026-11-20") == expected


def test_missing_verification_setting_counts_unverified_conditions() -> None:
    rec = record(
        diagnoses=(HAEM,),
        labs=(igg(3.0, "2026-11-10"), igg(3.1, "2026-10-01")),
        infections=(infection("2026-03-01", verification=None), infection("2026-06-01", verification=None)),
    )
    assert rule_of(rec, "2026-11-20") == RuleId.INFECTION_NOT_VERIFIED  # never a silent not-indicated
    assert rule_of(rec, "2026-11-20", missing_verification_counts_as_confirmed=True) == RuleId.START_POP1


def test_infections_within_merge_days_are_one_episode() -> None:
    base = {"diagnoses": (HAEM,), "labs": (igg(3.0, "2026-11-10"), igg(3.1, "2026-10-01"))}
    same_episode = (infection("2026-06-01"), infection("2026-06-15"))
    separate = (infection("2026-06-01"), infection("2026-06-16"))
    assert rule_of(record(**base, infections=same_episode), "2026-11-20") == RuleId.NOT_INDICATED
    assert rule_of(record(**base, infections=separate), "2026-11-20") == RuleId.START_POP1


def test_admission_by_reference_or_period_makes_an_infection_severe() -> None:
    base = {"diagnoses": (HAEM,), "labs": (igg(3.0, "2026-11-10"), igg(3.1, "2026-10-01"))}
    linked = record(
        **base,
        infections=(infection("2026-06-01", encounter="Encounter/a"),),
        admissions=(admission("2026-01-01", "2026-01-02", ref="Encounter/a"),),
    )
    during = record(**base, infections=(infection("2026-06-03"),), admissions=(admission("2026-06-01", "2026-06-05"),))
    after = record(**base, infections=(infection("2026-06-06"),), admissions=(admission("2026-06-01", "2026-06-05"),))
    emergency = record(
        **base, infections=(infection("2026-06-03"),), admissions=(admission("2026-06-01", "2026-06-05", cls="EMER"),)
    )
    assert rule_of(linked, "2026-11-20") == RuleId.START_POP1
    assert rule_of(during, "2026-11-20") == RuleId.START_POP1
    assert rule_of(after, "2026-11-20") == RuleId.NOT_INDICATED
    assert rule_of(emergency, "2026-11-20") == RuleId.NOT_INDICATED
    assert rule_of(emergency, "2026-11-20", emergency_encounter_counts_as_admission=True) == RuleId.START_POP1


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5.99, RuleId.CONSIDER_IGG_BELOW_6), (6.0, RuleId.NOT_INDICATED)],
)
def test_consider_igg_below_6_is_strict(value: float, expected: RuleId) -> None:
    rec = record(
        diagnoses=(HAEM,), labs=(igg(value, "2026-11-10"),), infections=TWO_TREATED, antibiotics=TWO_ANTIBIOTICS
    )
    assert rule_of(rec, "2026-11-20") == expected


@pytest.mark.parametrize(
    ("antibiotic_day", "treated"),
    [("2026-08-29", True), ("2026-08-28", False), ("2026-09-15", True), ("2026-09-16", False)],
    ids=["3-days-before", "4-days-before", "14-days-after", "15-days-after"],
)
def test_antibiotic_link_window(antibiotic_day: str, treated: bool) -> None:
    rec = record(
        diagnoses=(HAEM,),
        labs=(igg(5.0, "2026-11-10"),),
        infections=TWO_TREATED,
        antibiotics=(antibiotic(antibiotic_day), antibiotic("2026-10-21")),
    )
    expected = RuleId.CONSIDER_IGG_BELOW_6 if treated else RuleId.NOT_INDICATED
    assert rule_of(rec, "2026-11-20") == expected


@pytest.mark.parametrize(
    ("infections", "expected"),
    [
        (
            (infection("2026-05-21", kinds=frozenset({InfectionKind.BACTERIAL_SEPSIS}), verification=None),),
            RuleId.CONSIDER_IGG_BELOW_6,
        ),  # life-threatening sepsis, exactly 6 calendar months ago
        ((infection("2026-05-19", kinds=frozenset({InfectionKind.BACTERIAL_SEPSIS})),), RuleId.NOT_INDICATED),
        (
            (
                infection("2026-06-01", severe=True, verification="provisional"),
                infection("2026-08-01", severe=True, verification="provisional"),
            ),
            RuleId.NOT_INDICATED,
        ),  # severity Severe without an admission is not "indlæggelseskrævende"
        (
            (
                infection("2026-06-01", verification="provisional", encounter="Encounter/a1"),
                infection("2026-08-01", verification="provisional", encounter="Encounter/a2"),
            ),
            RuleId.CONSIDER_IGG_BELOW_6,
        ),
    ],
    ids=["sepsis-at-6-months", "sepsis-before-6-months", "two-severity-severe-not-admitted", "two-admitted"],
)
def test_igg_below_6_infection_criterion(infections: tuple[object, ...], expected: RuleId) -> None:
    linked = {ref for i in infections for ref in i.encounter_refs}  # type: ignore[attr-defined]
    admissions = tuple(
        a
        for a in (
            admission("2026-06-01", "2026-06-05", ref="Encounter/a1"),
            admission("2026-08-01", "2026-08-04", ref="Encounter/a2"),
        )
        if a.ref in linked
    )
    rec = record(diagnoses=(HAEM,), labs=(igg(5.0, "2026-11-10"),), infections=infections, admissions=admissions)
    assert rule_of(rec, "2026-11-20") == expected


def test_possibly_bacterial_needs_an_antibiotic() -> None:
    uti = frozenset({InfectionKind.POSSIBLY_BACTERIAL})
    rec = record(
        diagnoses=(HAEM,),
        labs=(igg(5.0, "2026-11-10"),),
        infections=(infection("2026-09-01", kinds=uti), infection("2026-10-20", kinds=uti)),
    )
    assert rule_of(rec, "2026-11-20") == RuleId.NOT_INDICATED
    assert rule_of(rec.model_copy(update={"antibiotics": TWO_ANTIBIOTICS}), "2026-11-20") == RuleId.CONSIDER_IGG_BELOW_6


@pytest.mark.parametrize(("value", "expected"), [(3.99, RuleId.START_POP3), (4.0, RuleId.NOT_INDICATED)])
def test_pop3_igg_below_4_whatever_infections(value: float, expected: RuleId) -> None:
    assert rule_of(record(diagnoses=(ALLO,), labs=(igg(value, "2026-11-10"),)), "2026-11-20") == expected


def test_pop3_takes_precedence_over_pop1() -> None:
    rec = record(diagnoses=(ALLO, HAEM), labs=(igg(3.5, "2026-11-10"),))
    assert rule_of(rec, "2026-11-20") == RuleId.START_POP3


def test_pop4_meeting_pop1_criteria_is_consider_with_work_up() -> None:
    rec = record(
        labs=(igg(3.0, "2026-11-10"), igg(3.2, "2026-10-01")), infections=(infection("2026-06-01", severe=True),)
    )
    finding = evaluate(rec, as_of=d("2026-11-20"))
    assert (finding.rule, finding.recommendation, finding.population) == (
        RuleId.CONSIDER_POP4,
        Recommendation.CONSIDER,
        4,
    )


@pytest.mark.parametrize(("days_old", "expected"), [(90, RuleId.START_POP3), (91, RuleId.NO_RECENT_IGG)])
def test_igg_recency_90_days(days_old: int, expected: RuleId) -> None:
    from datetime import timedelta

    on = (d("2026-11-20") - timedelta(days=days_old)).isoformat()
    assert rule_of(record(diagnoses=(ALLO,), labs=(igg(3.0, on),)), "2026-11-20") == expected


def test_no_igg_at_all_is_insufficient_data_with_lab_orders() -> None:
    finding = evaluate(record(diagnoses=(HAEM,)), as_of=d("2026-11-20"))
    assert finding.recommendation == Recommendation.INSUFFICIENT_DATA
    assert finding.order_lab_tests


@pytest.mark.parametrize(
    ("birth", "expected"),
    [("2008-11-21", RuleId.CHILD_AFTER_CAR_T_OR_BSAB), ("2008-11-20", RuleId.START_POP2_WINDOW)],
    ids=["17-years", "18th-birthday"],
)
def test_children_after_car_t_get_individual_assessment(birth: str, expected: RuleId) -> None:
    rec = record(birth_date=d(birth), therapies=(car_t("2026-09-01"),), labs=(igg(2.0, "2026-10-01"),))
    assert rule_of(rec, "2026-11-20") == expected


def test_unknown_age_after_car_t_is_insufficient_data() -> None:
    rec = PatientRecord(therapies=(car_t("2026-09-01"),), labs=(igg(2.0, "2026-10-01"),))
    assert rule_of(rec, "2026-11-20") == RuleId.AGE_UNKNOWN


@pytest.mark.parametrize(
    ("second", "t0"),
    [("2026-05-31", "2026-03-02"), ("2026-06-01", "2026-06-01")],
    ids=["90-days-same-course", "91-days-new-course"],
)
def test_bsab_gap_over_90_days_starts_a_new_course(second: str, t0: str) -> None:
    rec = record(therapies=(bsab("2026-03-02"), bsab(second)), labs=(igg(3.0, "2026-06-10"),))
    assert evaluate(rec, as_of=d("2026-06-20")).dates.t0 == d(t0)


def test_most_recent_t0_counts() -> None:
    rec = record(therapies=(car_t("2024-01-10"), bsab("2026-09-01")), labs=(igg(3.0, "2026-10-01"),))
    finding = evaluate(rec, as_of=d("2026-11-20"))
    assert (finding.rule, finding.dates.t0) == (RuleId.START_POP2_WINDOW, d("2026-09-01"))


def _history(on: str) -> TherapyAdministration:
    return TherapyAdministration(
        kind=TherapyKind.CAR_T, substance="(history code DZ948D)", on=d(on), ref="Condition/h", date_certain=False
    )


@pytest.mark.parametrize(
    ("recorded", "labs", "infections", "expected"),
    [
        # Recorded 2026-10-01: the window may run until 2027-04-01. IgG 3.0 alone: start inside, not after.
        ("2026-10-01", ((3.0, "2026-10-15"),), False, RuleId.CAR_T_DATE_UNKNOWN),
        # Both readings agree (persistent IgG < 4 with a severe infection: start either way): no window dates.
        ("2026-10-01", ((3.0, "2026-10-15"), (3.2, "2026-09-10")), True, RuleId.START_POP2_AFTER_WINDOW),
        # IgG 8: not indicated either way.
        ("2026-10-01", ((8.0, "2026-10-15"),), False, RuleId.NOT_INDICATED),
        # Recorded 2026-05-20, as of 2026-11-20: the window ended on 2026-11-20 at the latest (boundary: ended).
        ("2026-05-20", ((3.0, "2026-10-15"),), False, RuleId.NOT_INDICATED),
        # Recorded 2026-05-21: the window may still run on 2026-11-20.
        ("2026-05-21", ((3.0, "2026-10-15"),), False, RuleId.CAR_T_DATE_UNKNOWN),
    ],
)
def test_a_car_t_history_code_is_no_t0_and_decides_only_where_every_date_agrees(
    recorded: str, labs: tuple[tuple[float, str], ...], infections: bool, expected: RuleId
) -> None:
    rec = record(
        therapies=(_history(recorded),),
        labs=tuple(igg(value, on) for value, on in labs),
        infections=(infection("2026-08-01", severe=True),) if infections else (),
    )
    finding = evaluate(rec, as_of=d("2026-11-20"))
    assert finding.rule == expected
    assert finding.dates.t0 is None and finding.dates.stop_due is None  # never a firm "stop by" date
    if expected == RuleId.CAR_T_DATE_UNKNOWN:
        assert finding.recommendation == Recommendation.INSUFFICIENT_DATA
        assert "Record the CAR-T infusion date" in finding.notes[0].english()


def test_a_dated_infusion_wins_over_a_history_code() -> None:
    rec = record(therapies=(_history("2026-10-01"), car_t("2025-01-01")), labs=(igg(3.0, "2026-10-15"),))
    assert evaluate(rec, as_of=d("2026-11-20")).dates.t0 == d("2025-01-01")


def test_lab_bound_below_detection_counts_as_below() -> None:
    rec = record(diagnoses=(ALLO,), labs=(igg(1.5, "2026-11-10", comparator="<"),))
    assert rule_of(rec, "2026-11-20") == RuleId.START_POP3


def test_primary_immunodeficiency_is_out_of_scope() -> None:
    rec = record(diagnoses=(dx(DiagnosisKind.PRIMARY_IMMUNODEFICIENCY),), labs=(igg(2.0, "2026-11-10"),))
    assert rule_of(rec, "2026-11-20") == RuleId.PRIMARY_IMMUNODEFICIENCY


def test_age_related_reference_low_applies_at_every_age() -> None:
    from guideline.concepts import Analyte
    from guideline.model import LabResult

    lab = LabResult(
        analyte=Analyte.IGG,
        value_g_per_l=6.5,
        effective=d("2026-11-10"),
        ref="Observation/c",
        reported="6.5 g/L",
        reference_low_g_per_l=7.0,
    )
    base = {"diagnoses": (HAEM,), "labs": (lab,), "infections": TWO_TREATED, "antibiotics": TWO_ANTIBIOTICS}
    assert rule_of(record(birth_date=d("2016-01-01"), **base), "2026-11-20") == RuleId.CONSIDER_IGG_BELOW_6
    adult = evaluate(record(**base), as_of=d("2026-11-20"))
    assert adult.rule == RuleId.CONSIDER_IGG_BELOW_6
    below = next(c for c in adult.criteria if c.id == "igg-below-6")
    assert "reference-range low (7 g/L) (not below 6 g/L)" in below.description.english()
    without_range = replace(lab, reference_low_g_per_l=None)
    assert rule_of(record(**{**base, "labs": (without_range,)}), "2026-11-20") == RuleId.NOT_INDICATED


def test_source_fixed_thresholds_cannot_be_configured() -> None:
    with pytest.raises(ValueError, match="fixed by the guideline"):
        DEFAULT_PARAMETERS.with_interpretations({"igg_start_below_g_per_l": 5})
    with pytest.raises(ValueError, match="nonsense: not a guideline setting"):
        DEFAULT_PARAMETERS.with_interpretations({"nonsense": 1})


def test_an_antibiotic_naming_the_infection_as_reason_links_outside_the_date_window() -> None:
    first = TWO_TREATED[0]
    far_away = AntibioticRecord(
        ref="MedicationRequest/ab-reason", display="amoxicillin", start=d("2026-07-01"), reason_refs=(first.ref,)
    )
    rec = record(
        diagnoses=(HAEM,),
        labs=(igg(5.0, "2026-11-10"),),
        infections=TWO_TREATED,
        antibiotics=(far_away, antibiotic("2026-10-21")),
    )
    assert rule_of(rec, "2026-11-20") == RuleId.CONSIDER_IGG_BELOW_6
    unlinked = replace(far_away, reason_refs=())
    rec = record(
        diagnoses=(HAEM,),
        labs=(igg(5.0, "2026-11-10"),),
        infections=TWO_TREATED,
        antibiotics=(unlinked, antibiotic("2026-10-21")),
    )
    assert rule_of(rec, "2026-11-20") == RuleId.NOT_INDICATED
