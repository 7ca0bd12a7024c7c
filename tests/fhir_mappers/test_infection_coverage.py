"""Infection codes clinicians use, in SKS-D, ICD-10 and SNOMED CT; unclassified infection codes named, never dropped.

Also: immunoglobulin given for another reason (reasonCode), abatement dates, and the bsAb substance key.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fhir_mappers import MappingContext, code_table, summarize
from fhir_mappers.codes import read_rows
from guideline import evaluate
from guideline.concepts import InfectionKind, InfectionSite, RuleId
from tests import factories as f

CTX = MappingContext(tz=ZoneInfo("Europe/Copenhagen"), codes=code_table())
PID = "p1"
CTX_DATE = date(2026, 11, 20)
B, PB, SEPSIS = InfectionKind.BACTERIAL, InfectionKind.POSSIBLY_BACTERIAL, InfectionKind.BACTERIAL_SEPSIS


def mapped(*resources: dict[str, Any]) -> Any:
    return summarize(resources, patient_id=PID, ctx=CTX)


@pytest.mark.parametrize(
    ("system", "code", "kind", "site", "severe_by_code"),
    [
        # sepsis / bacteraemia
        (f.SKS_D, "DA419", SEPSIS, InfectionSite.BLOODSTREAM, False),
        (f.SKS_D, "DA499A", B, InfectionSite.BLOODSTREAM, False),
        (f.SNOMED, "5758002", B, InfectionSite.BLOODSTREAM, False),
        # pneumonia, empyema, lung abscess
        (f.SKS_D, "DJ189", PB, InfectionSite.LOWER_RESPIRATORY, False),
        (f.ICD10, "J15.9", B, InfectionSite.LOWER_RESPIRATORY, False),
        (f.SKS_D, "DJ869", B, InfectionSite.PLEURA, False),
        (f.SNOMED, "58554001", B, InfectionSite.PLEURA, False),
        (f.ICD10, "J85.1", B, InfectionSite.LOWER_RESPIRATORY, False),
        (f.SNOMED, "73452002", B, InfectionSite.LOWER_RESPIRATORY, False),
        # meningitis, endocarditis: severe by code
        (f.SKS_D, "DG009", B, InfectionSite.CENTRAL_NERVOUS_SYSTEM, True),
        (f.ICD10, "A39.0", B, InfectionSite.CENTRAL_NERVOUS_SYSTEM, True),
        (f.SNOMED, "95883001", B, InfectionSite.CENTRAL_NERVOUS_SYSTEM, True),
        (f.SKS_D, "DI330", B, InfectionSite.ENDOCARDIUM, True),
        (f.ICD10, "I33.9", PB, InfectionSite.ENDOCARDIUM, True),
        (f.SNOMED, "301183007", B, InfectionSite.ENDOCARDIUM, True),
        # pyelonephritis, urinary tract infection
        (f.SKS_D, "DN109", PB, InfectionSite.URINARY_TRACT, False),
        (f.ICD10, "N12", PB, InfectionSite.URINARY_TRACT, False),
        (f.SKS_D, "DN300", PB, InfectionSite.URINARY_TRACT, False),
        (f.SKS_D, "DN390", PB, InfectionSite.URINARY_TRACT, False),
        (f.SNOMED, "45816000", PB, InfectionSite.URINARY_TRACT, False),
        (f.SNOMED, "68566005", PB, InfectionSite.URINARY_TRACT, False),
        # cellulitis / erysipelas
        (f.SKS_D, "DL031", PB, InfectionSite.SKIN_SOFT_TISSUE, False),
        (f.SKS_D, "DA469", B, InfectionSite.SKIN_SOFT_TISSUE, False),
        (f.SNOMED, "128045006", PB, InfectionSite.SKIN_SOFT_TISSUE, False),
        (f.SNOMED, "44653001", B, InfectionSite.SKIN_SOFT_TISSUE, False),
        # osteomyelitis, septic arthritis
        (f.SKS_D, "DM861", PB, InfectionSite.BONE_JOINT, False),
        (f.ICD10, "M00.0", B, InfectionSite.BONE_JOINT, False),
        (f.SNOMED, "61011009", B, InfectionSite.BONE_JOINT, False),
        (f.SNOMED, "48245008", B, InfectionSite.BONE_JOINT, False),
        # bacterial gastrointestinal infections
        (f.SKS_D, "DA047", B, InfectionSite.GASTROINTESTINAL, False),
        (f.ICD10, "A02.0", B, InfectionSite.GASTROINTESTINAL, False),
        (f.SNOMED, "186431008", B, InfectionSite.GASTROINTESTINAL, False),
        # sinusitis, otitis media
        (f.SKS_D, "DJ019", PB, InfectionSite.EAR_NOSE_THROAT, False),
        (f.SNOMED, "36971009", PB, InfectionSite.EAR_NOSE_THROAT, False),
        (f.SKS_D, "DH660", PB, InfectionSite.EAR_NOSE_THROAT, False),
        (f.SNOMED, "3110003", PB, InfectionSite.EAR_NOSE_THROAT, False),
    ],
)
def test_infection_codes_by_organ_site(
    system: str, code: str, kind: InfectionKind, site: InfectionSite, severe_by_code: bool
) -> None:
    record = mapped(f.condition(PID, "c1", code, "infection", "2026-10-01", system=system))
    assert len(record.infections) == 1, record.data_issues
    infection = record.infections[0]
    assert (infection.kinds, infection.site, infection.severe_by_code) == (frozenset({kind}), site, severe_by_code)
    assert infection.classified


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (f.ICD10, "B34.9"),  # viral infection, unspecified
        (f.SKS_D, "DJ069"),  # acute upper respiratory infection
        (f.SKS_D, "DJ209"),  # acute bronchitis
        (f.ICD10, "A09"),  # infectious gastroenteritis, unspecified
        (f.SKS_D, "DN119"),
        (f.SKS_D, "DN309"),  # cystitis, unspecified
        (f.ICD10, "L08.9"),
        (f.ICD10, "M01.0"),
        (f.SKS_D, "DG039"),  # meningitis, unspecified
        (f.SNOMED, "7180009"),  # meningitis (organism not stated)
        (f.ICD10, "H65.0"),
        (f.ICD10, "I33"),
    ],
)
def test_infection_chapter_codes_not_classified_are_named_never_dropped(system: str, code: str) -> None:
    record = mapped(f.condition(PID, "c1", code, "Infektion UNS", "2026-10-01", system=system))
    assert [i.classified for i in record.infections] == [False]
    finding = evaluate(record.model_copy(update={"birth_date": None}), as_of=CTX_DATE)
    assert any(
        issue.ref == "Condition/c1" and "do not classify as bacterial" in issue.reason.english()
        for issue in finding.data_issues
    )


def test_an_unclassified_code_never_counts_even_with_an_antibiotic() -> None:
    record = mapped(
        f.condition(PID, "c1", "DJ069", "Akut øvre luftvejsinfektion", "2026-09-01"),
        f.condition(PID, "c2", "DJ069", "Akut øvre luftvejsinfektion", "2026-10-01"),
        f.order(PID, "ab1", "J01CA04", "Amoxicillin", "2026-09-01", status="completed"),
        f.order(PID, "ab2", "J01CA04", "Amoxicillin", "2026-10-01", status="completed"),
        f.condition(PID, "mm", "DC900", "Myelomatose", "2020-01-01"),
        f.lab(PID, "igg", "igg", 5.0, "2026-11-10"),
    )
    finding = evaluate(record.model_copy(update={"birth_date": None}), as_of=CTX_DATE)
    assert finding.rule == RuleId.NOT_INDICATED


def test_every_new_code_row_names_its_source() -> None:
    text = (resources.files("fhir_mappers") / "codesets" / "codes.csv").read_text("utf-8")
    rows = read_rows(text)
    for row in rows:
        assert row.source and row.status in {"VERIFIED", "SINGLE-SOURCE", "UNVERIFIED-ATC"}, row


def test_abatement_is_read() -> None:
    condition = f.condition(PID, "c1", "DJ139", "Pneumoni", "2026-10-01", abatement="2026-10-12T10:00:00+02:00")
    assert mapped(condition).infections[0].abatement == CTX_DATE.replace(month=10, day=12)


def _ivig_for(reason: tuple[str, str, str]) -> dict[str, Any]:
    return f.administration(PID, "ivig", "J06BA02", "Privigen", "2026-10-01", reason=reason)


@pytest.mark.parametrize(
    ("reason", "purpose"),
    [
        ((f.ICD10, "D69.3", "Idiopathic thrombocytopenic purpura"), "immunomodulation"),
        (("http://hl7.org/fhir/sid/icd-10-cm", "G92.0", "ICANS"), "immunomodulation"),
        (("urn:local", "x1", "ICANS grade 3"), "immunomodulation"),  # by name
        ((f.SKS_D, "DD801A", "Hypogammaglobulinæmi UNS"), "replacement"),
    ],
)
def test_immunoglobulin_for_another_reason_is_not_igrt(reason: tuple[str, str, str], purpose: str) -> None:
    assert mapped(_ivig_for(reason)).igrt[0].purpose == purpose


def test_reason_reference_is_kept_and_an_itp_condition_is_recorded() -> None:
    dose = f.administration(PID, "ivig", "J06BA02", "Privigen", "2026-10-01")
    dose["reasonReference"] = [f.ref("Condition", "itp")]
    record = mapped(dose, f.condition(PID, "itp", "DD693", "Idiopatisk trombocytopenisk purpura", "2026-09-28"))
    assert record.igrt[0].reason_refs == ("Condition/itp",)
    assert [d.kind.value for d in record.diagnoses] == ["ig-immunomodulation-indication"]
    finding = evaluate(record.model_copy(update={"birth_date": None}), as_of=CTX_DATE)
    assert finding.on_igrt is False


@pytest.mark.parametrize(
    ("code", "display", "key"),
    [
        ("L01FX24", "Tecvayli 10 mg/ml", "teclistamab"),
        (None, "Tecvayli", "teclistamab"),
        (None, "teclistamab", "teclistamab"),
        ("L01FX29", "Talvey", "talquetamab"),
    ],
)
def test_bsab_substance_key_is_the_same_for_code_brand_and_generic_name(
    code: str | None, display: str, key: str
) -> None:
    resource = f.administration(PID, "b1", code or "x", display, "2026-10-01")
    if code is None:
        resource["medicationCodeableConcept"] = {"text": display}
    assert mapped(resource).therapies[0].substance_key == key
