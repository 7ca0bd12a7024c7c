"""Properties of the guideline core on generated patients (Hypothesis).

* Monotonicity in IgG: lowering IgG never turns ``start`` into ``not-indicated`` (same patient, same date).
* Monotonicity in infections: adding a severe bacterial infection never removes a ``start``.
* Date boundaries: the CAR-T/bsAb window rule applies exactly while ``T0 <= as_of < T0 + 6 calendar months``;
  the evaluation never depends on facts dated after ``as_of``.
* Own IgG: no not-indicated, start or consider ever rests on an IgG drawn within the washout after any
  immunoglobulin dose (replacement or immunomodulatory).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from guideline import DEFAULT_PARAMETERS, Recommendation, RuleId, evaluate
from guideline.calendar import add_calendar_months, in_window
from guideline.concepts import DiagnosisKind, InfectionKind
from guideline.model import LabResult, PatientRecord
from guideline.own_igg import exposures, split_igg
from tests.guideline.records import (
    ALLO,
    HAEM,
    admission,
    antibiotic,
    bsab,
    car_t,
    dx,
    igg,
    infection,
    ivig,
    record,
)

AS_OF = date(2026, 11, 20)
# Examples per property: the Hypothesis profile (tests/conftest.py: 100 by default, 400 in CI).
PROPERTIES = settings(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])

# Mostly within the last year, where the start rules look; sometimes older.
day_before = st.integers(min_value=0, max_value=200) | st.integers(min_value=0, max_value=600)
day_before = day_before.map(lambda n: AS_OF - timedelta(days=n))
igg_value = st.sampled_from([0.5, 2.0, 3.0, 3.99, 4.0, 4.5, 5.99, 6.0, 7.0, 9.0]) | st.floats(0.1, 15.0)


@st.composite
def patient(draw: st.DrawFn) -> PatientRecord:
    """A plausible haematology patient: some therapies, IgG values, infections, admissions and antibiotics."""
    therapies = draw(
        st.lists(st.sampled_from([car_t, bsab]).flatmap(lambda f: day_before.map(lambda d: f(str(d)))), max_size=2)
    )
    labs = draw(
        st.lists(st.tuples(igg_value, day_before).map(lambda t: igg(round(t[0], 2), str(t[1]))), min_size=1, max_size=4)
    )
    infections = draw(
        st.lists(
            st.builds(
                lambda on, severe, kind, verification: infection(
                    str(on), severe=severe, kinds=frozenset({kind}), verification=verification
                ),
                day_before,
                st.booleans(),
                st.sampled_from([InfectionKind.BACTERIAL, InfectionKind.POSSIBLY_BACTERIAL]),
                st.sampled_from(["confirmed", "provisional", None]),
            ),
            max_size=3,
        )
    )
    admissions = draw(
        st.lists(
            st.tuples(day_before, st.integers(0, 14)).map(
                lambda t: admission(str(t[0]), str(min(t[0] + timedelta(days=t[1]), AS_OF)), ref=f"Encounter/{t[0]}")
            ),
            max_size=2,
        )
    )
    antibiotics = draw(st.lists(day_before.map(lambda d: antibiotic(str(d))), max_size=3))
    others = draw(
        st.lists(
            st.sampled_from([ALLO, dx(DiagnosisKind.AUTOLOGOUS_HSCT), dx(DiagnosisKind.BRONCHIECTASIS)]),
            max_size=2,
            unique=True,
        )
    )
    diagnoses = ([HAEM] if draw(st.integers(0, 4)) else []) + others
    on_igrt = draw(st.integers(0, 4)) == 0
    igrt = draw(st.lists(day_before.map(lambda d: ivig(str(d))), min_size=1, max_size=2).map(tuple)) if on_igrt else ()
    birth = draw(st.sampled_from([date(1960, 1, 1), date(2015, 6, 1)]))
    return record(
        birth_date=birth,
        therapies=tuple(therapies),
        labs=tuple(labs),
        infections=tuple(infections),
        admissions=tuple(admissions),
        antibiotics=tuple(antibiotics),
        diagnoses=tuple(diagnoses),
        igrt=igrt,
    )


def lowered(lab: LabResult, factor: float) -> LabResult:
    value = round(lab.value_g_per_l * factor, 2) if lab.value_g_per_l is not None else None
    return replace(lab, value_g_per_l=value, reported=f"{value} g/L")


@PROPERTIES
@given(patient(), st.floats(0.05, 1.0), st.booleans())
def test_lowering_igg_never_turns_start_into_not_indicated(
    rec: PatientRecord, factor: float, all_of_them: bool
) -> None:
    assume(evaluate(rec, as_of=AS_OF).recommendation == Recommendation.START)
    labs = tuple(lowered(lab, factor) if all_of_them or i == 0 else lab for i, lab in enumerate(rec.labs))
    after = evaluate(rec.model_copy(update={"labs": labs}), as_of=AS_OF)
    assert after.recommendation != Recommendation.NOT_INDICATED, after.rule


@PROPERTIES
@given(patient(), day_before.filter(lambda d: d >= AS_OF - timedelta(days=365)), st.booleans())
def test_adding_a_severe_bacterial_infection_never_removes_a_start(
    rec: PatientRecord, on: date, admitted: bool
) -> None:
    assume(evaluate(rec, as_of=AS_OF).recommendation == Recommendation.START)
    # An infection active when an IgG was drawn may rightly unsettle persistence (Monitorering af effekt).
    active = timedelta(days=DEFAULT_PARAMETERS.active_infection_days)
    assume(not any(on <= lab.effective <= on + active for lab in rec.labs))
    severe = infection(str(on), severe=True, encounter=f"Encounter/sev-{on}" if admitted else None)
    update: dict[str, object] = {"infections": (*rec.infections, replace(severe, ref=f"Condition/sev-{on}"))}
    if admitted:
        update["admissions"] = (*rec.admissions, admission(str(on), str(on), ref=f"Encounter/sev-{on}"))
    after = evaluate(rec.model_copy(update=update), as_of=AS_OF)
    assert after.recommendation == Recommendation.START, after.rule


@PROPERTIES
@given(patient(), day_before)
def test_nothing_dated_after_as_of_changes_the_decision(rec: PatientRecord, as_of: date) -> None:
    def until(day: date) -> PatientRecord:
        return rec.model_copy(
            update={
                "labs": tuple(x for x in rec.labs if x.effective <= day),
                "therapies": tuple(x for x in rec.therapies if x.on <= day),
                "infections": tuple(x for x in rec.infections if x.onset is not None and x.onset <= day),
                "antibiotics": tuple(x for x in rec.antibiotics if x.start is not None and x.start <= day),
                "admissions": tuple(x for x in rec.admissions if x.start is not None and x.start <= day),
                "igrt": tuple(x for x in rec.igrt if x.start is not None and x.start <= day),
            }
        )

    assert evaluate(rec, as_of=as_of).rule == evaluate(until(as_of), as_of=as_of).rule


@PROPERTIES
@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=30),
    st.sampled_from([car_t, bsab]),
    st.booleans(),
)
def test_the_window_rule_applies_exactly_within_t0_plus_6_calendar_months(
    t0: date, days_after: int, lab_days_before: int, therapy: object, severe_infection: bool
) -> None:
    as_of = t0 + timedelta(days=days_after)
    lab_day = max(t0, as_of - timedelta(days=lab_days_before))
    infections = (infection(str(t0), severe=True),) if severe_infection else ()
    rec = record(therapies=(therapy(str(t0)),), labs=(igg(3.0, str(lab_day)),), infections=infections)  # type: ignore[operator]
    finding = evaluate(rec, as_of=as_of)
    assert (finding.rule == RuleId.START_POP2_WINDOW) == in_window(t0, as_of, months=6)
    if finding.rule == RuleId.START_POP2_WINDOW:
        # The 6-month stop only for a start on IgG < 4 g/L alone (addendum §4.2); after a severe infection the
        # standard stop rules apply, so no stop date.
        assert finding.dates.stop_due == (None if severe_infection else add_calendar_months(t0, 6))


@st.composite
def patient_given_immunoglobulin(draw: st.DrawFn) -> PatientRecord:
    """A patient with one to three immunoglobulin doses, replacement or immunomodulatory, anywhere in the history."""
    rec = draw(patient())
    doses = draw(
        st.lists(
            st.tuples(day_before, st.booleans()).map(lambda t: ivig(str(t[0]), immunomodulation=t[1])),
            min_size=1,
            max_size=3,
        )
    )
    return rec.model_copy(update={"igrt": (*rec.igrt, *doses)})


@PROPERTIES
@given(patient_given_immunoglobulin())
def test_no_not_indicated_start_or_consider_rests_on_an_igg_that_is_not_own(rec: PatientRecord) -> None:
    """A not-own IgG is read only as an upper bound: cited, it is below 4 g/L, so it can only prove a low own IgG."""
    finding = evaluate(rec, as_of=AS_OF)
    assume(finding.recommendation in (Recommendation.NOT_INDICATED, Recommendation.START, Recommendation.CONSIDER))
    found = exposures(rec, as_of=AS_OF)
    _, confounded = split_igg(rec.labs, found, washout_days=DEFAULT_PARAMETERS.igg_washout_days)
    not_own = {(c.lab.ref, c.lab.effective, c.lab.value_g_per_l) for c in confounded}
    for criterion in finding.criteria:
        for evidence in criterion.evidence:
            if (evidence.ref, evidence.on, evidence.value) in not_own:
                assert evidence.value is not None
                assert evidence.value < DEFAULT_PARAMETERS.igg_start_below_g_per_l, (finding.rule, criterion.id)


@st.composite
def patient_with_low_igg_under_immunomodulation(draw: st.DrawFn) -> PatientRecord:
    """A patient off IgRT given immunoglobulin for another reason (ICANS, ITP), with IgG values all below 4 g/L."""
    rec = draw(patient()).model_copy(update={"igrt": ()})
    low = tuple(replace(lab, value_g_per_l=min(lab.value_g_per_l, 3.9)) for lab in rec.labs)
    doses = draw(st.lists(day_before.map(lambda d: ivig(str(d), immunomodulation=True)), min_size=1, max_size=3))
    return rec.model_copy(update={"labs": low, "igrt": tuple(doses)})


@PROPERTIES
@given(patient_with_low_igg_under_immunomodulation())
def test_an_igg_below_4_under_immunoglobulin_decides_as_an_own_one(rec: PatientRecord) -> None:
    """The mirror: infused IgG only raises IgG, so a value below 4 g/L under it proves the own IgG is below 4 too.

    The decision is the one the same values would give as own IgG (no washout wait, no "IgG not own").
    """
    found = exposures(rec, as_of=AS_OF)
    _, confounded = split_igg(rec.labs, found, washout_days=DEFAULT_PARAMETERS.igg_washout_days)
    assume(any(c.lab.effective <= AS_OF for c in confounded))
    with_doses = evaluate(rec, as_of=AS_OF)
    without = evaluate(rec.model_copy(update={"igrt": ()}), as_of=AS_OF)
    assert with_doses.rule != RuleId.IGG_NOT_OWN
    assert with_doses.rule == without.rule, (with_doses.rule, without.rule)


@PROPERTIES
@given(
    st.lists(
        st.tuples(day_before, st.integers(0, 60), st.booleans()),
        max_size=8,
    ),
    day_before,
    st.integers(0, 120),
)
def test_the_exposure_index_finds_what_a_scan_finds(
    spans: list[tuple[date, int, bool]], sample: date, washout: int
) -> None:
    from guideline.own_igg import Exposure, ExposureIndex

    found = tuple(
        Exposure(start, start + timedelta(days=length), f"MedicationAdministration/{i}", "Privigen", flag)
        for i, (start, length, flag) in enumerate(spans)
    )
    scanned = [e for e in found if e.start <= sample < e.end + timedelta(days=washout)]
    indexed = ExposureIndex(found).confounding(sample, washout_days=washout)
    if not scanned:
        assert indexed is None
    else:
        assert indexed is not None and indexed.end == max(e.end for e in scanned)
