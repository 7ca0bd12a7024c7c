"""Truth tables for issue "clinical fidelity 3": stop, pause and restart see the whole patient.

One section per item; every threshold and date boundary is tested on both sides. The safety checks have a property
(no stop or pause while one holds) and a test per check that the property depends on it: without the check, its
patient is stopped or paused.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from guideline import DEFAULT_PARAMETERS, Recommendation, RuleId, assess, evaluate
from guideline import safety as safety_module
from guideline.concepts import Analyte, DiagnosisKind, InfectionKind
from guideline.facts import derive
from guideline.model import Diagnosis, InfectionRecord, LabResult, PatientRecord, PreliminaryLab
from guideline.relevance import in_scope
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

PROPERTIES = settings(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
WEEKLY_SCIG_FROM = "2025-11-03"
SUMMER = "2026-06-15"  # 7 months on IgRT, summer: the standard rules propose a pause


def on_igrt(**extra: object) -> PatientRecord:
    """Population 1 on weekly immunoglobulin since 2025-11-03, started on IgG 3.0 with two severe infections."""
    parts: dict[str, object] = {
        "diagnoses": (HAEM,),
        "labs": (igg(3.0, "2025-10-20"),),
        "igrt": ivig_every(WEEKLY_SCIG_FROM, "2026-12-31", 7),
    }
    parts.update(extra)
    return record(**parts)


def notes_of(finding: object) -> str:
    return " | ".join(n.english() for n in finding.notes)  # type: ignore[attr-defined]


def plus(day: str, days: int) -> str:
    return (d(day) + timedelta(days=days)).isoformat()


# -- 1. Treatment failing ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("infection_on", "severe", "verification", "expected"),
    [
        (None, False, "confirmed", RuleId.STANDARD_PAUSE_SUMMER),  # nothing on IgRT: the pause stands
        ("2025-12-15", True, "confirmed", RuleId.CONTINUE_TREATMENT_FAILING),  # severe, on IgRT, 6 months back
        ("2025-12-14", True, "confirmed", RuleId.STANDARD_PAUSE_SUMMER),  # 6 months + 1 day ago
        ("2026-05-01", False, "confirmed", RuleId.CONTINUE_TREATMENT_FAILING),  # verified, not severe
        ("2026-05-01", True, None, RuleId.CONTINUE_TREATMENT_FAILING),  # severe, not verified
        ("2026-05-01", False, "provisional", RuleId.INFECTION_NOT_VERIFIED_ON_IGRT),  # would count if verified
        ("2025-11-02", True, "confirmed", RuleId.STANDARD_PAUSE_SUMMER),  # the day before IgRT started
    ],
    ids=["none", "severe-6-months", "severe-6-months-1-day", "verified", "severe-unverified", "provisional", "before"],
)
def test_a_failing_treatment_is_adjusted_never_paused(
    infection_on: str | None, severe: bool, verification: str | None, expected: RuleId
) -> None:
    infections = (infection(infection_on, severe=severe, verification=verification),) if infection_on else ()
    finding = evaluate(on_igrt(infections=infections), as_of=d(SUMMER))
    assert finding.rule == expected
    if expected == RuleId.CONTINUE_TREATMENT_FAILING:
        assert finding.recommendation == Recommendation.CONTINUE
        assert finding.overruled is not None and finding.overruled.proposed == Recommendation.PAUSE
        assert finding.overruled.check == "treatment-failing"
        assert "6-8 g/L" in finding.notes[0].english()  # the one line says why and what instead
        assert finding.dates.stop_due is None


@pytest.mark.parametrize(
    ("trough", "with_infection", "expected"),
    [
        (5.9, True, RuleId.CONTINUE_TREATMENT_FAILING),
        (6.0, True, RuleId.INFECTION_NOT_VERIFIED_ON_IGRT),  # not low: the unverified infection decides
        (5.9, False, RuleId.STANDARD_PAUSE_SUMMER),  # low trough alone: no check holds
    ],
)
def test_a_trough_below_6_with_infections_is_a_failing_treatment(
    trough: float, with_infection: bool, expected: RuleId
) -> None:
    infections = (infection("2026-05-01", verification="provisional"),) if with_infection else ()
    rec = on_igrt(labs=(igg(3.0, "2025-10-20"), igg(trough, "2026-06-01")), infections=infections)
    assert evaluate(rec, as_of=d(SUMMER)).rule == expected


def test_treatment_failing_overrules_a_short_course_stop_and_a_stop_attempt() -> None:
    # Short course (CAR-T, IgRT on IgG < 4 alone) due to stop, but a verified pneumonia on IgRT a month ago.
    short = record(
        therapies=(car_t("2026-04-10"),),
        labs=(igg(3.0, "2026-04-25"),),
        igrt=ivig_every("2026-05-01", "2026-12-31"),
        infections=(infection("2026-09-20"),),
    )
    finding = evaluate(short, as_of=d("2026-10-20"))
    assert finding.rule == RuleId.CONTINUE_TREATMENT_FAILING
    assert finding.overruled is not None and finding.overruled.proposed_rule == RuleId.POP2_SHORT_COURSE_STOP
    # The card never carries "pause" and "adjust the dose up": a continue with the dose advice.
    result = assess(
        on_igrt(labs=(igg(3.0, "2025-10-20"), igg(5.0, "2026-06-01")), infections=(infection("2026-05-01"),)),
        as_of=d(SUMMER),
    )
    assert result.finding.recommendation == Recommendation.CONTINUE


# -- 2. A new high-risk period -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("therapies", "diagnoses", "expected", "stop_due"),
    [
        ((car_t("2025-12-16"),), (HAEM,), RuleId.CONTINUE_NEW_HIGH_RISK_PERIOD, "2026-06-16"),  # window ends tomorrow
        ((car_t("2025-12-15"),), (HAEM,), RuleId.STANDARD_PAUSE_SUMMER, None),  # window ended today
        ((bsab("2026-03-01", "teclistamab"),), (HAEM,), RuleId.CONTINUE_NEW_HIGH_RISK_PERIOD, "2026-09-01"),
        (
            (bsab("2025-10-01", "teclistamab"), bsab("2025-10-08", "teclistamab"), bsab("2026-02-01", "talquetamab")),
            (HAEM,),
            RuleId.CONTINUE_NEW_HIGH_RISK_PERIOD,  # a switch of substance is a new course
            "2026-08-01",
        ),
        (
            (),
            (HAEM, replace(ALLO, recorded=d("2026-01-01"))),
            RuleId.CONTINUE_NEW_HIGH_RISK_PERIOD,
            "2026-07-01",
        ),
        ((), (HAEM, replace(ALLO, recorded=d("2025-12-15"))), RuleId.STANDARD_PAUSE_SUMMER, None),
    ],
    ids=["car-t-window", "car-t-window-ended", "bsab-start", "bsab-switch", "allo-hsct-5-months", "allo-hsct-6-months"],
)
def test_no_stop_or_pause_in_a_new_high_risk_period(
    therapies: tuple[object, ...], diagnoses: tuple[Diagnosis, ...], expected: RuleId, stop_due: str | None
) -> None:
    finding = evaluate(on_igrt(therapies=therapies, diagnoses=diagnoses), as_of=d(SUMMER))
    assert finding.rule == expected
    if stop_due is not None:
        assert finding.dates.stop_due == d(stop_due)  # the stop moves to the end of the new period
        assert "reassess the stop on" in finding.notes[0].english()


def test_a_standard_stop_attempt_waits_for_the_end_of_a_new_car_t_window() -> None:
    # On IgRT since 2025-11 (standard), stop attempt due in winter; a CAR-T on 2026-02-01 intervenes.
    finding = evaluate(on_igrt(therapies=(car_t("2026-02-01"),)), as_of=d("2026-07-20"))
    assert finding.rule == RuleId.CONTINUE_NEW_HIGH_RISK_PERIOD
    assert finding.overruled is not None and finding.dates.stop_due == d("2026-08-01")


# -- 3. Population 3 takes precedence ----------------------------------------------------------------------------------
def test_after_an_allogeneic_hsct_the_population_3_stop_rules_apply_also_after_car_t() -> None:
    # CAR-T 2025-09-01, IgRT from 2025-10-15 on IgG 3.0 alone (a short course), allogeneic HSCT 2025-09-20.
    transplant = Diagnosis(
        ref="Condition/allo", kind=DiagnosisKind.ALLO_HSCT, display="Allogent", recorded=d("2025-09-20")
    )
    rec = record(
        therapies=(car_t("2025-09-01"),),
        diagnoses=(transplant,),
        labs=(igg(3.0, "2025-10-10"),),
        igrt=ivig_every("2025-10-15", "2026-12-31"),
    )
    finding = evaluate(rec, as_of=d("2026-03-25"))  # T0 + 6 months passed; 6 months after the IgRT start not yet
    assert finding.rule == RuleId.STANDARD_CONTINUE
    assert finding.population == 3
    reason = next(c for c in finding.criteria if c.id == "standard-stop-rules-apply").description.english()
    assert "allogeneic HSCT (Allogent, 2025-09-20)" in reason
    start = evaluate(rec.model_copy(update={"igrt": ()}), as_of=d("2025-10-12"))
    assert (start.rule, start.dates.stop_due) == (RuleId.START_POP3, None)  # no "stop by T0 + 6 months"


# -- The property: no stop or pause while a safety check holds --------------------------------------------------------
AS_OF = date(2026, 11, 20)
day_before = st.integers(min_value=0, max_value=500).map(lambda n: AS_OF - timedelta(days=n))


@st.composite
def patient_on_igrt(draw: st.DrawFn) -> PatientRecord:
    """A patient on immunoglobulin (weekly or monthly since a random start) with random therapies, HSCT, infections."""
    start = draw(st.integers(min_value=30, max_value=700).map(lambda n: AS_OF - timedelta(days=n)))
    every = draw(st.sampled_from([7, 28]))
    therapies = draw(
        st.lists(st.sampled_from([car_t, bsab]).flatmap(lambda f: day_before.map(lambda x: f(str(x)))), max_size=2)
    )
    infections = draw(
        st.lists(
            st.builds(
                lambda on, severe, verification, kind: infection(
                    str(on), severe=severe, verification=verification, kinds=frozenset({kind})
                ),
                day_before,
                st.booleans(),
                st.sampled_from(["confirmed", "provisional", None]),
                st.sampled_from([InfectionKind.BACTERIAL, InfectionKind.POSSIBLY_BACTERIAL]),
            ),
            max_size=3,
        )
    )
    labs = draw(st.lists(st.tuples(st.sampled_from([2.0, 3.5, 5.9, 6.0, 7.5, 9.0]), day_before), max_size=3))
    diagnoses = [HAEM]
    if draw(st.booleans()):
        diagnoses.append(replace(ALLO, recorded=draw(day_before)))
    return record(
        therapies=tuple(therapies),
        infections=tuple(infections),
        labs=tuple(igg(v, str(on)) for v, on in labs),
        diagnoses=tuple(diagnoses),
        igrt=ivig_every(str(start), str(AS_OF), every),
    )


@PROPERTIES
@given(patient_on_igrt(), st.integers(min_value=0, max_value=60))
def test_no_stop_or_pause_while_a_safety_check_holds(rec: PatientRecord, days_back: int) -> None:
    as_of = AS_OF - timedelta(days=days_back)
    facts = derive(rec, as_of=as_of, p=DEFAULT_PARAMETERS)
    episode = facts.igrt.current
    assume(episode is not None)
    assert episode is not None
    finding = evaluate(rec, as_of=as_of)
    if safety_module.holding(facts, episode):
        assert finding.recommendation not in (Recommendation.STOP, Recommendation.PAUSE), finding.rule


SAFETY_PATIENTS = {
    "treatment-failing": (on_igrt(infections=(infection("2026-05-01", severe=True),)), SUMMER),
    "new-high-risk-period": (on_igrt(therapies=(car_t("2026-02-01"),)), SUMMER),
    "infection-not-verified": (on_igrt(infections=(infection("2026-05-01", verification="provisional"),)), SUMMER),
}


@pytest.mark.parametrize("check", [c.__name__ for c in safety_module.SAFETY_CHECKS])
def test_each_safety_check_is_what_keeps_its_patient_from_a_stop_or_pause(
    check: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The property above fails when a check is removed: its patient is then stopped or paused."""
    rec, as_of = SAFETY_PATIENTS[check.replace("_", "-")]
    assert evaluate(rec, as_of=d(as_of)).recommendation not in (Recommendation.STOP, Recommendation.PAUSE)
    without = tuple(c for c in safety_module.SAFETY_CHECKS if c.__name__ != check)
    monkeypatch.setattr(safety_module, "SAFETY_CHECKS", without)
    assert evaluate(rec, as_of=d(as_of)).recommendation in (Recommendation.STOP, Recommendation.PAUSE)


# -- 4. A low IgG under or after immunoglobulin proves a low own IgG --------------------------------------------------
def _after_stop(*labs: LabResult) -> PatientRecord:
    """IgRT stopped (last dose 2026-08-01); two severe infections since; IgG values inside the 90-day washout."""
    return record(
        diagnoses=(HAEM,),
        igrt=ivig_every("2025-08-01", "2026-08-01"),
        infections=(infection("2026-09-10", severe=True), infection("2026-10-05", severe=True)),
        labs=labs,
    )


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        (3.9, RuleId.START_POP1),  # below 4 under the infused IgG: the own IgG is lower still; restart now
        (4.0, RuleId.IGG_NOT_OWN),  # at the threshold: decides nothing until the washout ends
    ],
)
def test_a_restart_after_a_stop_does_not_wait_for_a_washout_when_the_igg_is_low(
    latest: float, expected: RuleId
) -> None:
    rec = _after_stop(igg(3.5, "2026-09-01"), igg(latest, "2026-10-15"))
    finding = evaluate(rec, as_of=d("2026-10-20"))
    if latest == 4.0:
        # The newest (4.0) is unusable; the earlier 3.5 is still the newest usable value, but it is alone.
        assert finding.rule in (RuleId.IGG_NOT_OWN, RuleId.UNCONFIRMED_LOW_IGG)
        assert finding.recommendation == Recommendation.INSUFFICIENT_DATA
    else:
        assert finding.rule == expected
        cited = [e.text.english() for c in finding.criteria for e in c.evidence if e.ref and "igg" in e.ref]
        assert any("the own IgG is at most this" in text for text in cited)


def test_a_low_igg_drawn_in_the_washout_never_gives_not_indicated_on_a_high_value() -> None:
    rec = _after_stop(igg(7.5, "2026-10-15"))
    finding = evaluate(rec, as_of=d("2026-10-20"))
    assert finding.rule == RuleId.IGG_NOT_OWN


# -- 5. A start that did not meet the criteria is not "continue" -------------------------------------------------------
@pytest.mark.parametrize(
    ("pre_start", "infections", "expected"),
    [
        (3.9, (), RuleId.STANDARD_CONTINUE),
        (4.0, (), RuleId.START_CRITERIA_NOT_MET),
        (7.0, (), RuleId.START_CRITERIA_NOT_MET),
        # IgG < 6 with two severe admitted infections in the 6 months before the start: "kan overvejes" was met.
        (5.0, ("2025-09-01", "2025-10-01"), RuleId.STANDARD_CONTINUE),
        (6.0, ("2025-09-01", "2025-10-01"), RuleId.START_CRITERIA_NOT_MET),
        (None, (), RuleId.STANDARD_CONTINUE),  # nothing recorded before the start: nothing to say
    ],
)
def test_igrt_started_without_a_start_criterion_is_reviewed_never_continued(
    pre_start: float | None, infections: tuple[str, ...], expected: RuleId
) -> None:
    admitted = tuple(infection(on, severe=True, encounter=f"Encounter/adm-{on}") for on in infections)
    admissions = tuple(admission(on, plus(on, 3), ref=f"Encounter/adm-{on}") for on in infections)
    labs = () if pre_start is None else (igg(pre_start, "2025-10-20"),)
    rec = on_igrt(labs=labs, infections=admitted, admissions=admissions)
    finding = evaluate(rec, as_of=d("2026-03-01"))
    assert finding.rule == expected
    if expected == RuleId.START_CRITERIA_NOT_MET:
        assert finding.recommendation == Recommendation.INDIVIDUAL_ASSESSMENT
        assert "primary prophylaxis" in finding.notes[0].english()
        assert any(c.id == "igrt-start-criteria-met" and c.held is False and c.evidence for c in finding.criteria)


# -- 9. EHR data shapes ------------------------------------------------------------------------------------------------
def _coded(on: str, ref: str, date_source: str = "onsetDateTime", code: str = "icd|J159") -> InfectionRecord:
    return replace(infection(on), ref=ref, date_source=date_source, code_key=code)


@pytest.mark.parametrize(
    ("copy_recorded", "code", "expected"),
    [
        ("2026-07-31", "icd|J159", RuleId.NOT_INDICATED),  # copy 60 days later, no onset: one infection
        ("2026-08-01", "icd|J159", RuleId.START_POP1),  # 61 days: a second infection
        ("2026-06-20", "icd|J189", RuleId.START_POP1),  # another code, 19 days later: a second infection
    ],
)
def test_an_infection_recorded_twice_counts_once(copy_recorded: str, code: str, expected: RuleId) -> None:
    encounter_dx = _coded("2026-06-01", "Condition/encounter-dx")
    problem_list = _coded(copy_recorded, "Condition/problem-list", date_source="recordedDate", code=code)
    rec = record(
        diagnoses=(HAEM,),
        labs=(igg(3.0, "2026-11-10"), igg(3.1, "2026-10-01")),
        infections=(encounter_dx, problem_list),
    )
    finding = evaluate(rec, as_of=d("2026-11-20"))
    assert finding.rule == expected
    if expected == RuleId.NOT_INDICATED:
        assert any("counted once" in i.reason.english() for i in finding.data_issues)


def _preliminary(value: float, on: str) -> PreliminaryLab:
    return PreliminaryLab(lab=igg(value, on, ref="Observation/prelim"))


@pytest.mark.parametrize(
    ("value", "on", "expected"),
    [
        (5.9, "2026-11-18", RuleId.PRELIMINARY_IGG),  # newer and low: no confident not-indicated
        (6.0, "2026-11-18", RuleId.NOT_INDICATED),  # newer, not low
        (3.0, "2026-11-01", RuleId.NOT_INDICATED),  # older than the final result
    ],
)
def test_a_newer_preliminary_low_igg_is_never_silently_outweighed(value: float, on: str, expected: RuleId) -> None:
    rec = record(diagnoses=(HAEM,), labs=(igg(7.0, "2026-11-10"),), preliminary_labs=(_preliminary(value, on),))
    finding = evaluate(rec, as_of=d("2026-11-20"))
    assert finding.rule == expected
    named = [i.reason.english() for i in finding.data_issues if i.ref.startswith("Observation/prelim")]
    assert named == [f"IgG {value:g} g/L of {on} is preliminary: not used until the final result"]


@pytest.mark.parametrize("on_igrt_now", [False, True])
def test_a_deceased_patient_gets_no_recommendation(on_igrt_now: bool) -> None:
    rec = record(diagnoses=(HAEM,), labs=(igg(2.0, "2026-11-10"),), deceased=True)
    if on_igrt_now:
        rec = rec.model_copy(update={"igrt": ivig_every("2026-06-01", "2026-11-15")})
    result = assess(rec, as_of=d("2026-11-20"))
    assert result.deceased and result.finding.rule == RuleId.PATIENT_DECEASED
    assert result.advice == ()


@pytest.mark.parametrize(
    ("kinds", "antibiotic", "expected"),
    [
        ({InfectionKind.POSSIBLY_BACTERIAL}, False, RuleId.INFECTION_NOT_VERIFIED),  # UTI, no organism, no J01
        ({InfectionKind.POSSIBLY_BACTERIAL}, True, RuleId.START_POP1),  # the J01 makes it bacterial
        ({InfectionKind.BACTERIAL}, False, RuleId.START_POP1),
    ],
)
def test_infections_without_organism_or_antibiotic_are_named_where_they_decide(
    kinds: set[InfectionKind], antibiotic: bool, expected: RuleId
) -> None:
    from tests.guideline.records import antibiotic as j01

    rec = record(
        diagnoses=(HAEM,),
        labs=(igg(3.0, "2026-11-10"), igg(3.1, "2026-10-01")),
        infections=(infection("2026-03-01", kinds=frozenset(kinds)), infection("2026-06-01")),
        antibiotics=(j01("2026-03-02"),) if antibiotic else (),
    )
    finding = evaluate(rec, as_of=d("2026-11-20"))
    assert finding.rule == expected
    if expected == RuleId.INFECTION_NOT_VERIFIED:
        assert "Infection not verified as bacterial: 1" in finding.notes[0].english()


def test_unverified_infections_that_would_not_decide_leave_not_indicated() -> None:
    # IgG 8: not indicated however the infections are read.
    rec = record(
        diagnoses=(HAEM,),
        labs=(igg(8.0, "2026-11-10"),),
        infections=(infection("2026-03-01", kinds=frozenset({InfectionKind.POSSIBLY_BACTERIAL})),),
    )
    assert evaluate(rec, as_of=d("2026-11-20")).rule == RuleId.NOT_INDICATED


# -- 10. Patients the guideline does not concern ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ({}, False),
        ({"labs": (lab(Analyte.IGA, 0.2, "2026-11-01", "Observation/iga"),)}, False),
        ({"labs": (igg(6.0, "2026-11-01"),)}, False),
        ({"labs": (igg(5.9, "2026-11-01"),)}, True),
        ({"diagnoses": (HAEM,)}, True),
        ({"diagnoses": (dx(DiagnosisKind.AUTOLOGOUS_HSCT),)}, True),
        ({"therapies": (car_t("2020-01-01"),)}, True),
        ({"igrt": (ivig("2020-01-01"),)}, True),
    ],
)
def test_in_scope_only_with_haematological_disease_hsct_therapy_igrt_or_low_igg(
    parts: dict[str, object], expected: bool
) -> None:
    assert in_scope(record(**parts), as_of=d("2026-11-20"), p=DEFAULT_PARAMETERS) is expected


OVERRULED = {
    **SAFETY_PATIENTS,
    # An overdue stop attempt (12 months on IgRT) overruled by a CAR-T in September.
    "overdue-stop": (on_igrt(therapies=(car_t("2026-09-01"),)), "2026-11-20"),
}


@pytest.mark.parametrize("case", sorted(OVERRULED))
def test_an_overruled_card_keeps_no_note_that_argues_for_the_stop(case: str) -> None:
    rec, as_of = OVERRULED[case]
    finding = evaluate(rec, as_of=d(as_of))
    assert finding.overruled is not None and finding.notes[0] == finding.overruled.reason
    for note in finding.notes:
        text = note.english()
        assert "attempt the stop now" not in text and "short extension" not in text and "restarting" not in text
