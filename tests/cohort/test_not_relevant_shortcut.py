"""The worklist counts a patient the guideline does not concern without deciding (``evaluate_patient``).

The row it writes must be the one the whole decision gives (``cohort.evaluation._row`` of ``decide_patient``), for
every fixture patient (every scenario the suite has: haematological disease, HSCT, CAR-T, bsAb, IgRT, low IgG,
deceased, primary immunodeficiency ...), for patients with only unrelated data, living and deceased, and under
settings that move the IgG threshold of "in scope".
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import orjson
import pytest

from cohort.evaluation import NOT_RELEVANT, _row, decide_patient, evaluate_patient
from cohort.synth import copy_patient, templates_by_patient, unrelated_data
from commands.upload import DEFAULT_FIXTURES, fixture_transaction
from guideline.parameters import DEFAULT_PARAMETERS, Parameters

AS_OF = date(2026, 11, 20)
TZ = ZoneInfo("Europe/Copenhagen")


def _patients() -> tuple[list[tuple[str, list[bytes]]], dict[str, dict[str, object]]]:
    bundle, _ = fixture_transaction(DEFAULT_FIXTURES, today=AS_OF)
    templates, shared = templates_by_patient([entry["resource"] for entry in bundle["entry"]])
    medications = {f"Medication/{r['id']}": r for r in shared if r["resourceType"] == "Medication"}
    patients = []
    for number, template in enumerate(templates):
        pid = f"fx-{number:03d}"
        patients.append((pid, [orjson.dumps(r) for r in copy_patient(template, pid)]))
    for deceased in (False, True):
        pid = f"plain-{deceased}"
        patient = {"resourceType": "Patient", "id": pid, "birthDate": "1950-01-01", "deceasedBoolean": deceased}
        lines = [patient, *unrelated_data(pid, on=date(2026, 1, 5))]
        patients.append((pid, [orjson.dumps(r) for r in lines]))
    return patients, medications


@pytest.mark.parametrize("threshold", [DEFAULT_PARAMETERS.igg_consider_below_g_per_l, 4.0, 9.0])
def test_a_patient_counted_without_deciding_gets_the_row_the_decision_gives(threshold: float) -> None:
    parameters: Parameters = DEFAULT_PARAMETERS.model_copy(update={"igg_consider_below_g_per_l": threshold})
    patients, medications = _patients()
    shortcuts = decided = 0
    for pid, lines in patients:
        row, other = evaluate_patient(pid, lines, as_of=AS_OF, parameters=parameters, tz=TZ, medications=medications)
        decision = decide_patient(pid, lines, as_of=AS_OF, parameters=parameters, tz=TZ, medications=medications)
        assert other is None
        assert row == _row(pid, decision), pid
        shortcuts += row.recommendation == NOT_RELEVANT
        decided += row.recommendation != NOT_RELEVANT
    # Both ways are taken (the plain living patient is not relevant; most fixture patients are), so it can fail.
    assert shortcuts >= 1 and decided > 20
