"""Reading a draft immunoglobulin order's dose (issue "clinical fidelity 4" §1, §3; "clinical fidelity 3" §6).

Every ``dosageInstruction`` step (loading course, then maintenance, in ``sequence`` order), every ``doseAndRate``
entry (the rate before the dose), frequencies as ordered, the unreadable part named with its step, and the order's
reason (``reasonCode``, a contained or drafted reason Condition).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fhir_mappers import MappingContext, code_table
from fhir_mappers.orders import immunoglobulin_orders
from guideline.ordered_dose import OrderedDose
from tests import factories as f

CTX = MappingContext(tz=ZoneInfo("Europe/Copenhagen"), codes=code_table())
UCUM = "http://unitsofmeasure.org"


def draft(*dosages: dict[str, Any], display: str = "Hizentra 200 mg/ml", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "draft",
        "status": "draft",
        "medicationCodeableConcept": {"coding": [{"system": f.ATC, "code": "J06BA01"}], "text": display},
        "dosageInstruction": list(dosages),
        **extra,
    }


def read(resource: dict[str, Any], *others: dict[str, Any]) -> OrderedDose:
    (order,) = immunoglobulin_orders([resource, *others], CTX)
    assert order.dose is not None
    return order.dose


def problem(dose: OrderedDose) -> str | None:
    return dose.problem.english() if dose.problem is not None else None


# -- every dosage step ------------------------------------------------------------------------------------------
def test_loading_course_then_maintenance_in_sequence_order() -> None:
    dose = read(
        draft(
            f.dosage(50, "mL", period_unit="wk", sequence=2),
            f.dosage(7, "g", period_unit="d", count=5, sequence=1),
        )
    )
    assert (dose.dose_value, dose.dose_unit, dose.interval_days, dose.count) == (50.0, "mL", 7.0, None)
    (loading,) = dose.loading
    assert (loading.dose_value, loading.dose_unit, loading.interval_days, loading.count) == (7.0, "g", 1.0, 5)
    assert dose.regimens == (loading, dose.maintenance)


def test_steps_without_sequence_are_read_as_listed() -> None:
    dose = read(draft(f.dosage(0.1, "g/kg", period_unit="d", count=5), f.dosage(0.1, "g/kg", period_unit="wk")))
    assert (dose.interval_days, len(dose.loading), dose.loading[0].count) == (7.0, 1, 5)


def test_a_rate_before_the_dose_is_skipped_not_read_as_no_dose() -> None:
    dose = read(draft(f.dosage(50, "mL", rate_ml_per_h=25)))
    assert (dose.dose_value, dose.dose_unit, dose.problem) == (50.0, "mL", None)


def test_the_ordered_dose_wins_over_a_calculated_one() -> None:
    dosage = {
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}},
        "doseAndRate": [
            {"type": {"coding": [{"code": "calculated"}]}, "doseQuantity": {"value": 9.8, "code": "g"}},
            {"type": {"coding": [{"code": "ordered"}]}, "doseQuantity": {"value": 10, "code": "g"}},
        ],
    }
    assert read(draft(dosage)).dose_value == 10.0


def test_a_text_only_step_before_the_dose_is_passed_over() -> None:
    dose = read(draft({"text": "Infusionshastighed efter skema"}, f.dosage(10, "g")))
    assert (dose.dose_value, dose.problem, dose.loading) == (10.0, None, ())


def test_a_dose_only_in_free_text_says_so() -> None:
    dose = read(draft({"text": "10 g hver uge"}))
    assert problem(dose) == "the dose is only free text ('10 g hver uge'), not a coded dose"


@pytest.mark.parametrize(
    ("dosages", "expected"),
    [
        ([f.dosage(30, "mL/h")], "dose unit 'mL/h' is not g, mg, mL, g/kg or mL/kg"),
        ([f.dosage(10, "g"), f.dosage(30, "mL/h")], "dosage step 2: dose unit 'mL/h' is not g, mg, mL, g/kg or mL/kg"),
        ([f.dosage(0, "g")], "the dose value is not a positive number"),
        ([f.dosage(10, "g", period_unit="a")], "the order's timing is not a frequency per h, d, wk or mo"),
        (
            [{"timing": {"repeat": {"period": 1, "periodUnit": "wk"}}, "doseAndRate": [{"doseRange": {}}]}],
            "the dose is a range (doseRange), not one dose",
        ),
    ],
    ids=["unit", "unit-step-2", "zero", "period-unit", "range"],
)
def test_what_cannot_be_read_is_named(dosages: list[dict[str, Any]], expected: str) -> None:
    assert problem(read(draft(*dosages))) == expected


def test_concurrent_steps_are_not_added_up_and_say_so() -> None:
    dose = read(draft(f.dosage(5, "g", sequence=1), f.dosage(5, "g", sequence=1)))
    assert problem(dose) == "several dosage steps share sequence 1 (given together): they are not added up"


def test_the_sandbox_pill_dose_is_still_no_dose_stated() -> None:
    pill = {
        "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "{pill}", "system": UCUM}}],
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
    }
    dose = read(draft(pill))
    assert (dose.dose_value, dose.problem, dose.interval_days) == (None, None, 1.0)


# -- units and timing -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [(500, "mg", (0.5, "g")), (400, "mg/kg", (0.4, "g/kg")), (2, "mL/kg", (2.0, "mL/kg")), (10, "G", (10.0, "g"))],
)
def test_dose_units(value: float, unit: str, expected: tuple[float, str]) -> None:
    dose = read(draft(f.dosage(value, unit)))
    assert (dose.dose_value, dose.dose_unit) == expected


@pytest.mark.parametrize(
    ("repeat", "expected"),
    [
        ({"frequency": 2, "period": 1, "periodUnit": "wk"}, (2, 1.0, "wk", 3.5, None)),
        ({"frequency": 1, "period": 4, "periodUnit": "wk"}, (1, 4.0, "wk", 28.0, None)),
        ({"frequency": 1, "period": 1, "periodUnit": "mo"}, (1, 1.0, "mo", None, 1.0)),
        ({"period": 3, "periodUnit": "wk"}, (1, 3.0, "wk", 21.0, None)),
        ({"dayOfWeek": ["mon", "thu"]}, (2, 1.0, "wk", 3.5, None)),
    ],
    ids=["twice-weekly", "every-4-weeks", "monthly", "no-frequency", "day-of-week"],
)
def test_timing_is_kept_as_ordered_with_its_interval(repeat: dict[str, Any], expected: tuple[Any, ...]) -> None:
    dosage = {"timing": {"repeat": repeat}, "doseAndRate": [{"doseQuantity": {"value": 5, "code": "g"}}]}
    dose = read(draft(dosage))
    assert (dose.frequency, dose.period, dose.period_unit, dose.interval_days, dose.interval_months) == expected


@pytest.mark.parametrize(("code", "interval"), [("QD", 1.0), ("QOD", 2.0), ("WK", 7.0), ("BID", 0.5)])
def test_timing_codes(code: str, interval: float) -> None:
    dosage = {
        "timing": {"code": {"coding": [{"code": code}]}},
        "doseAndRate": [{"doseQuantity": {"value": 5, "code": "g"}}],
    }
    assert read(draft(dosage)).interval_days == interval


@pytest.mark.parametrize(
    ("count", "bounds_days", "expected"),
    [(5, None, 5), (None, 5, 5), (None, 4.5, 4), (6, 5, 5), (None, None, None)],
)
def test_count_and_bounds_duration_bound_a_step(
    count: int | None, bounds_days: float | None, expected: int | None
) -> None:
    dose = read(draft(f.dosage(0.4, "g/kg", period_unit="d", count=count, bounds_days=bounds_days)))
    assert dose.count == expected


def test_a_single_dose_without_an_interval() -> None:
    dosage = {"timing": {"repeat": {"count": 1}}, "doseAndRate": [{"doseQuantity": {"value": 20, "code": "g"}}]}
    dose = read(draft(dosage))
    assert (dose.dose_value, dose.interval_days, dose.problem) == (20.0, None, None)


# -- the order's reason -----------------------------------------------------------------------------------------
ICANS = ("http://hl7.org/fhir/sid/icd-10-cm", "G92.0", "Immune effector cell-associated neurotoxicity syndrome")


def test_reason_code_names_an_immunomodulatory_indication() -> None:
    dose = read(draft(reasonCode=[{"coding": [{"system": ICANS[0], "code": ICANS[1]}], "text": "ICANS grad 2"}]))
    assert dose.reason_indication == "ICANS grad 2"


def test_reason_code_words_count_too() -> None:
    assert read(draft(reasonCode=[{"text": "Immun trombocytopeni"}])).reason_indication == "Immun trombocytopeni"


def test_a_replacement_reason_is_no_indication() -> None:
    dose = read(draft(reasonCode=[{"text": "Hypogammaglobulinæmi efter CAR-T"}]))
    assert (dose.reason_indication, dose.reason_refs) == (None, ())


ITP = {
    "resourceType": "Condition",
    "id": "itp",
    "code": {"coding": [{"system": f.ICD10, "code": "D69.3", "display": "Idiopathic thrombocytopenic purpura"}]},
}


def test_a_contained_reason_condition_is_read() -> None:
    contained = {**ITP, "id": "reason"}
    dose = read(draft(contained=[contained], reasonReference=[{"reference": "#reason"}]))
    assert dose.reason_indication == "Idiopathic thrombocytopenic purpura"


def test_a_reason_condition_drafted_in_the_same_bundle_is_read() -> None:
    dose = read(draft(reasonReference=[{"reference": "Condition/itp"}]), ITP)
    assert dose.reason_indication == "Idiopathic thrombocytopenic purpura"


def test_other_reason_references_are_left_for_the_guideline() -> None:
    dose = read(draft(reasonReference=[{"reference": "Condition/itp-in-the-record"}]))
    assert (dose.reason_indication, dose.reason_refs) == (None, ("Condition/itp-in-the-record",))
