"""Mapper tests per resource type and code system, unit conversion, and unusable data named, never raised."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fhir_mappers import MappingContext, code_table, summarize
from fhir_mappers.codes import CodeRow, CodeTable
from fhir_mappers.dates import to_local_date
from fhir_mappers.errors import CodeTableError, InvalidElementError, UnsupportedUnitError
from fhir_mappers.references import reference_key
from fhir_mappers.units import quantity_in_g_per_l
from guideline.concepts import Analyte, DiagnosisKind, IgrtRoute, InfectionKind, TherapyKind
from tests import factories as f

CTX = MappingContext(tz=ZoneInfo("Europe/Copenhagen"), codes=code_table())
PID = "p1"


def mapped(*resources: dict[str, Any]) -> Any:
    return summarize(resources, patient_id=PID, ctx=CTX)


@pytest.mark.parametrize(
    ("value", "unit", "g_per_l"),
    [
        (4, "g/L", 4.0),
        (400, "mg/dL", 4.0),
        (600, "mg/dL", 6.0),
        (4, "mg/mL", 4.0),
        (0.4, "g/dL", 4.0),
        (4000, "mg/L", 4.0),
        (5.5, "g/l", 5.5),
    ],
)
def test_units_convert_to_g_per_l(value: float, unit: str, g_per_l: float) -> None:
    assert quantity_in_g_per_l({"value": value, "code": unit}, path="q")[0] == pytest.approx(g_per_l)


@pytest.mark.parametrize("unit", ["umol/L", "mmol/L", "%"])
def test_unsupported_units_raise(unit: str) -> None:
    with pytest.raises(UnsupportedUnitError):
        quantity_in_g_per_l({"value": 4, "code": unit}, path="q")


@pytest.mark.parametrize(
    ("system", "code", "analyte"),
    [
        (f.NPU, "NPU19814", Analyte.IGG),
        (f.NPU_LEGACY, "NPU19814", Analyte.IGG),
        (f.LOINC, "2465-3", Analyte.IGG),
        (f.NPU, "NPU19795", Analyte.IGA),
        (f.LOINC, "2472-9", Analyte.IGM),
        (f.LOINC, "33358-3", Analyte.M_PROTEIN),
    ],
)
def test_observation_lab_codes(system: str, code: str, analyte: Analyte) -> None:
    obs = f.lab(PID, "o", "igg", 3.0, "2026-11-01")
    obs["code"] = {"coding": [{"system": system, "code": code}]}
    assert mapped(obs).labs[0].analyte == analyte


def test_observation_date_in_copenhagen_time() -> None:
    obs = f.lab(PID, "o", "igg", 3.0, "2026-11-01")
    obs["effectiveDateTime"] = "2026-10-31T23:30:00Z"
    assert mapped(obs).labs[0].effective.isoformat() == "2026-11-01"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": "registered"}, "not a final result"),
        ({"status": "entered-in-error"}, "entered-in-error"),
        ({"valueQuantity": {"value": 3.0, "unit": "umol/L"}}, "cannot be converted"),
        ({"valueQuantity": {"value": 3.0}}, "no unit"),
        ({"valueQuantity": {"value": "low", "unit": "g/L"}}, "not a number"),
        ({"effectiveDateTime": "2026-02-30"}, "invalid date"),
        ({"effectiveDateTime": "2026-02"}, "only a year or month"),
        ({"subject": {"reference": "Patient/other"}}, "different patient"),
    ],
)
def test_unusable_observations_are_named_not_raised(change: dict[str, Any], reason: str) -> None:
    rec = mapped({**f.lab(PID, "o", "igg", 3.0, "2026-11-01"), **change})
    assert rec.labs == ()
    assert rec.data_issues[0].ref == "Observation/o"
    assert reason in rec.data_issues[0].reason.english()


@pytest.mark.parametrize(
    ("atc", "display", "named"),
    [
        ("J06BA01", "Hizentra", True),  # IgRT: read by the guideline, so an excluded one is named
        ("L01FX24", "Teclistamab", True),
        ("N02BE01", "Panodil", False),  # paracetamol: never read, so never named
        ("J07AL02", "Prevenar 13", False),  # a vaccine as a MedicationAdministration: map_medication ignores it
    ],
)
@pytest.mark.parametrize("change", [{"status": "entered-in-error"}, {"subject": {"reference": "Patient/other"}}])
def test_an_excluded_medication_is_named_only_if_the_guideline_reads_it(
    atc: str, display: str, named: bool, change: dict[str, Any]
) -> None:
    given = {**f.administration(PID, "a1", atc, display, "2026-06-01"), **change}
    issues = mapped(given).data_issues
    assert [i.ref for i in issues] == (["MedicationAdministration/a1"] if named else [])


@pytest.mark.parametrize(
    ("system", "code", "kinds"),
    [
        (f.SKS_D, "DA419C", {InfectionKind.BACTERIAL_SEPSIS}),
        (f.SKS_D, "DA499A", {InfectionKind.BACTERIAL}),
        (f.SKS_D, "DJ139", {InfectionKind.BACTERIAL}),
        (f.ICD10, "A41.9", {InfectionKind.BACTERIAL_SEPSIS}),
        (f.ICD10, "A39.2", {InfectionKind.BACTERIAL_SEPSIS}),
        (f.ICD10, "A39.0", {InfectionKind.BACTERIAL}),
        (f.SKS_D, "DJ189", {InfectionKind.POSSIBLY_BACTERIAL}),
        (f.SNOMED, "10001005", {InfectionKind.BACTERIAL_SEPSIS}),
        (f.SNOMED, "91302008", {InfectionKind.SEPSIS_UNSPECIFIED}),
        (f.SKS_D, "DR572", {InfectionKind.BACTERIAL_SEPSIS}),
    ],
)
def test_infection_codes(system: str, code: str, kinds: set[InfectionKind]) -> None:
    rec = mapped(f.condition(PID, "c", code, "x", "2026-06-01", system=system, severe=True, encounter="e1"))
    infection = rec.infections[0]
    assert infection.kinds == kinds
    assert infection.severity_severe and infection.encounter_refs == ("Encounter/e1",)


@pytest.mark.parametrize(
    ("system", "code", "kind"),
    [
        (f.SKS_D, "DC900", DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY),
        (f.ICD10, "C83.3", DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY),
        (f.SNOMED, "92814006", DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY),
        (f.SKS_D, "DZ948E1", DiagnosisKind.ALLO_HSCT),
        (f.SKS_D, "DZ948E2", DiagnosisKind.AUTOLOGOUS_HSCT),
        (f.SKS_D, "DZ948E", DiagnosisKind.HSCT_UNKNOWN_TYPE),
        (f.SKS_D, "DD801C", DiagnosisKind.PRIMARY_IMMUNODEFICIENCY),
        (f.SKS_D, "DD83", DiagnosisKind.PRIMARY_IMMUNODEFICIENCY),
    ],
)
def test_diagnosis_codes(system: str, code: str, kind: DiagnosisKind) -> None:
    assert mapped(f.condition(PID, "c", code, "x", "2020-01-01", system=system)).diagnoses[0].kind == kind


def test_malignancy_without_site_is_not_haematological() -> None:
    assert mapped(f.condition(PID, "c", "DC80", "Malign neoplasma UNS", "2020-01-01")).diagnoses == ()


def test_car_t_history_code_gives_uncertain_t0() -> None:
    rec = mapped(f.condition(PID, "c", "DZ948D", "Tidl beh m CAR-T", "2026-09-01"))
    assert rec.therapies[0].kind == TherapyKind.CAR_T and not rec.therapies[0].date_certain


def test_refuted_condition_is_named() -> None:
    rec = mapped(f.condition(PID, "c", "DA419C", "Svær sepsis", "2026-06-01", verification="refuted"))
    assert rec.infections == () and "refuted" in rec.data_issues[0].reason.english()


@pytest.mark.parametrize(
    ("atc", "display", "kind"),
    [
        ("L01XL03", "Yescarta", TherapyKind.CAR_T),
        ("L01FX24", "Tecvayli", TherapyKind.BSAB),
        ("XXX", "linvoseltamab 200 mg", TherapyKind.BSAB),
        ("XXX", "Carvykti infusion", TherapyKind.CAR_T),
    ],
)
def test_car_t_and_bsab_by_atc_or_name(atc: str, display: str, kind: TherapyKind) -> None:
    rec = mapped(f.administration(PID, "m", atc, display, "2026-09-01"))
    assert rec.therapies[0].kind == kind


def test_tarlatamab_is_not_population_2() -> None:
    rec = mapped(f.administration(PID, "m", "XXX", "Imdelltra (tarlatamab)", "2026-09-01"))
    assert rec.therapies == () and "not population 2" in rec.data_issues[0].reason.english()


def test_car_t_order_is_not_an_infusion() -> None:
    rec = mapped(f.order(PID, "m", "L01XL03", "Yescarta", "2026-09-01"))
    assert rec.therapies == () and "not an administration" in rec.data_issues[0].reason.english()


@pytest.mark.parametrize(
    ("resource", "route", "active"),
    [
        (f.administration(PID, "m", "J06BA02", "Privigen", "2026-09-01"), IgrtRoute.IVIG, False),
        (f.order(PID, "m", "J06BA01", "Hizentra", "2026-09-01"), IgrtRoute.SCIG, True),
        (f.statement(PID, "m", "J06BA01", "HyQvia", "2026-09-01"), IgrtRoute.SCIG, True),
        (f.administration(PID, "m", "local-123", "Kiovig 100 mg/ml", "2026-09-01"), IgrtRoute.IVIG, False),
    ],
)
def test_immunoglobulin_records(resource: dict[str, Any], route: IgrtRoute, active: bool) -> None:
    igrt = mapped(resource).igrt[0]
    assert (igrt.route, igrt.active, igrt.start.isoformat() if igrt.start else None) == (route, active, "2026-09-01")


def test_draft_and_not_done_medications_are_not_history() -> None:
    draft = f.order(PID, "d", "J06BA02", "Privigen", "2026-09-01", status="draft")
    not_done = f.administration(PID, "n", "J06BA02", "Privigen", "2026-09-01", status="not-done")
    rec = mapped(draft, not_done)
    assert rec.igrt == ()
    assert [i.ref for i in rec.data_issues] == ["MedicationAdministration/n"]


def test_contained_medication_reference() -> None:
    resource = {
        "resourceType": "MedicationAdministration",
        "id": "m",
        "status": "completed",
        "subject": f.ref("Patient", PID),
        "contained": [{"resourceType": "Medication", "id": "med", "code": f.medication("J06BA02", "Octagam")}],
        "medicationReference": {"reference": "#med"},
        "effectiveDateTime": "2026-09-01",
    }
    assert mapped(resource).igrt[0].route == IgrtRoute.IVIG


def test_antibiotic_with_reason_reference() -> None:
    rec = mapped(f.order(PID, "a", "J01CA04", "Amoxicillin", "2026-09-01", reason="inf"))
    assert rec.antibiotics[0].reason_refs == ("Condition/inf",)


def test_encounters() -> None:
    rec = mapped(
        f.admission(PID, "e", "2026-06-01", "2026-06-05", diagnosis="c1"),
        f.admission(PID, "amb", "2026-06-01", "2026-06-01", cls="AMB"),
    )
    assert [(a.ref, a.encounter_class, a.diagnosis_refs) for a in rec.admissions] == [
        ("Encounter/e", "IMP", ("Condition/c1",))
    ]


def test_patient_birth_date_and_other_patient() -> None:
    assert mapped(f.patient(PID, "1960-02-29")).birth_date.isoformat() == "1960-02-29"
    other = mapped(f.patient("other", "1960-02-29"))
    assert other.birth_date is None and "different patient" in other.data_issues[0].reason.english()


def test_malformed_shapes_never_raise() -> None:
    weird = [
        {"resourceType": "Observation", "id": "x", "code": "NPU19814", "status": "final"},
        {"resourceType": "Observation", "id": "y", "code": {"coding": "bad"}},
        {
            "resourceType": "Condition",
            "id": "z",
            "code": [{"coding": [{"system": f.SKS_D, "code": "DA419C"}]}],
            "onsetDateTime": 20260101,
        },
        {"resourceType": "MedicationRequest", "id": "w", "medicationCodeableConcept": None, "status": "active"},
        {"resourceType": "Encounter", "id": "v", "class": [{"code": "IMP"}], "period": "2026"},
    ]
    rec = mapped(*weird)
    assert {i.ref for i in rec.data_issues} == {"Condition/z", "Encounter/v"}


@pytest.mark.parametrize(
    ("reference", "key"),
    [
        ("Encounter/1", "Encounter/1"),
        ("https://ehr.example/fhir/Encounter/1/_history/2", "Encounter/1"),
        ({"reference": "Condition/c"}, "Condition/c"),
        ("#contained", None),
        ("urn:uuid:abc", "Encounter/9"),
    ],
)
def test_reference_key(reference: Any, key: str | None) -> None:
    assert reference_key(reference, full_urls={"urn:uuid:abc": "Encounter/9"}) == key


def test_dates() -> None:
    tz = ZoneInfo("Europe/Copenhagen")
    assert to_local_date("2026-03-28T23:30:00Z", tz=tz, path="p").isoformat() == "2026-03-29"
    assert to_local_date("2026-07-01T22:30:00Z", tz=tz, path="p").isoformat() == "2026-07-02"
    with pytest.raises(InvalidElementError):
        to_local_date("2026", tz=tz, path="p")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([CodeRow("nope", "s", "c", "exact", "", "", "")], "unknown concept"),
        ([CodeRow("lab-igg", "s", "c", "exact", "", "", "")] * 2, "duplicate"),
        ([CodeRow("lab-igg", "s", "c", "fuzzy", "", "", "")], "bad match"),
    ],
)
def test_code_table_validation(rows: list[CodeRow], message: str) -> None:
    with pytest.raises(CodeTableError, match=message):
        CodeTable(rows)


def test_packaged_code_table_loads() -> None:
    assert len(code_table().rows) > 100


@pytest.mark.parametrize(
    ("birth", "earliest", "latest"),
    [
        ("1999", "1999-01-01", "1999-12-31"),
        ("2009-04", "2009-04-01", "2009-04-30"),
        ("2008-02", "2008-02-01", "2008-02-29"),
        ("1960-05-17", "1960-05-17", None),
    ],
)
def test_a_partial_birth_date_is_read_as_its_range(birth: str, earliest: str, latest: str | None) -> None:
    patient = f.patient(PID, "1960-01-01")
    patient["birthDate"] = birth
    rec = mapped(patient)
    assert (rec.birth_date, rec.birth_date_latest) == (
        date.fromisoformat(earliest),
        latest and date.fromisoformat(latest),
    )
    assert not rec.data_issues


@pytest.mark.parametrize(
    ("deceased", "expected"),
    [
        ({"deceasedBoolean": True}, True),
        ({"deceasedDateTime": "2026-11-12"}, True),
        ({"deceasedBoolean": False}, False),
        ({}, False),
    ],
)
def test_deceased_is_read_also_without_a_birth_date(deceased: dict[str, Any], expected: bool) -> None:
    patient = {"resourceType": "Patient", "id": PID, **deceased}
    assert mapped(patient).deceased is expected
    assert mapped({**patient, "birthDate": "1950-01-01"}).deceased is expected


def test_a_preliminary_igg_is_kept_apart_and_never_decides() -> None:
    rec = mapped(f.lab(PID, "prelim", "igg", 3.0, "2026-11-01", status="preliminary"))
    assert rec.labs == () and len(rec.preliminary_labs) == 1
    assert rec.preliminary_labs[0].lab.value_g_per_l == 3.0
