"""Population 1 is every haematological disease: myeloid neoplasms, MGUS and smouldering myeloma included.

Opsummering, "Kriterier for opstart": "1. Ved hæmatologisk sygdom" and population 4 "hypogammaglobulinæmi, der ikke er
relateret til hæmatologisk sygdom eller HSCT". Each code goes through the real mapper and code table, so a card never
says "no haematological disease recorded" when one is (issue "Clinical fidelity 3", item 7).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fhir_mappers import MappingContext, code_table, summarize
from guideline import evaluate
from guideline.concepts import DiagnosisKind, Population, RuleId
from guideline.model import Finding
from tests import factories as f

CTX = MappingContext(tz=ZoneInfo("Europe/Copenhagen"), codes=code_table())
PID = "p1"
AS_OF = date(2026, 11, 20)
DK_EXT = "http://hl7.dk/fhir/core/CodeSystem/icd10-danish-extensions"

NEW_CODES = [
    # ICD-10 (WHO): myeloproliferative and myelodysplastic neoplasms, MGUS
    (f.ICD10, "D45", "Polycythaemia vera"),
    (f.ICD10, "D46.9", "Myelodysplastic syndrome, unspecified"),
    (f.ICD10, "D47.1", "Chronic myeloproliferative disease"),
    (f.ICD10, "D47.2", "Monoclonal gammopathy (MGUS)"),
    (f.ICD10, "D47.3", "Essential (haemorrhagic) thrombocythaemia"),
    (f.ICD10, "D47.4", "Osteomyelofibrosis"),
    (f.ICD10, "D47.5", "Chronic eosinophilic leukaemia [hypereosinophilic syndrome]"),
    # SKS D-register: "D" + ICD-10 without the dot, Danish extensions included
    (f.SKS_D, "DD459", "Polycythaemia vera"),
    (f.SKS_D, "DD460A", "Refraktær anæmi uden sideroblaster"),
    (f.SKS_D, "DD462B", "Refraktær anæmi med overskud af blastceller, RAEB II"),
    (f.SKS_D, "DD469", "Myelodysplastisk syndrom UNS"),
    (f.SKS_D, "DD471", "Kronisk myeloproliferativt syndrom"),
    (f.SKS_D, "DD471B", "Myeloproliferativ sygdom UNS"),
    (f.SKS_D, "DD472", "Monoklonal gammopati med ubestemt signifikans (MGUS)"),
    (f.SKS_D, "DD472A", "MGUS af IgM type"),
    (f.SKS_D, "DD472B", "MGUS af non-IGM type"),
    (f.SKS_D, "DD473", "Essentiel trombocytæmi"),
    (f.SKS_D, "DD474", "Primær og sekundær myelofibrose"),
    (f.SKS_D, "DD474A", "Primær myelofibrose"),
    (f.SKS_D, "DD475", "Hypereosinofilt syndrom"),
    (f.SKS_D, "DD479B", "Monoklonal B-celle lymfocytose (MBL)"),
    (f.SKS_D, "DC931A", "Kronisk myelomonocytær leukæmi, CMML-1"),  # CMML: C93.1 (already C93)
    (f.SKS_D, "DC900A", "Asymptomatisk myelomatose (smoldering)"),  # smouldering myeloma: C90 (already C90)
    (DK_EXT, "D47.2B", "MGUS af non-IGM type"),
    (DK_EXT, "C90.0A", "Asymptomatisk myelomatose (smoldering)"),
    # SNOMED CT (exact codes)
    (f.SNOMED, "109995007", "Myelodysplastic syndrome"),
    (f.SNOMED, "109992005", "Polycythemia vera"),
    (f.SNOMED, "109994006", "Essential thrombocythemia"),
    (f.SNOMED, "307651005", "Myelosclerosis with myeloid metaplasia"),
    (f.SNOMED, "188733003", "Chronic eosinophilic leukemia"),
    (f.SNOMED, "277577000", "Monoclonal gammopathy of uncertain significance"),
    (f.SNOMED, "91861009", "Acute myeloid leukemia"),
    (f.SNOMED, "92818009", "Chronic myeloid leukemia"),
    (f.SNOMED, "118599009", "Hodgkin's disease"),
    (f.SNOMED, "118601006", "Non-Hodgkin's lymphoma"),
    (f.SNOMED, "118600007", "Malignant lymphoma"),
    (f.SNOMED, "93143009", "Leukemia"),
]


def mapped(*resources: dict[str, Any]) -> Any:
    return summarize(resources, patient_id=PID, ctx=CTX)


def low_igg_and_sepsis(*extra: dict[str, Any]) -> Any:
    """Persistent IgG < 4 g/L (two samples 40 days apart) and one severe verified bacterial sepsis in 12 months."""
    return mapped(
        *extra,
        f.lab(PID, "igg1", "igg", 3.1, "2026-10-01"),
        f.lab(PID, "igg2", "igg", 3.0, "2026-11-10"),
        f.condition(PID, "sepsis", "DA419C", "Svær sepsis", "2026-06-01", severe=True),
    ).model_copy(update={"birth_date": None})


def population_criteria(finding: Finding) -> list[str]:
    return [c.description.english() for c in finding.criteria if c.id.startswith("population-")]


@pytest.mark.parametrize(("system", "code", "display"), NEW_CODES, ids=[c for _, c, _ in NEW_CODES])
def test_each_code_maps_to_a_haematological_disease(system: str, code: str, display: str) -> None:
    record = mapped(f.condition(PID, "dx", code, display, "2024-03-01", system=system))
    assert [d.kind for d in record.diagnoses] == [DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY], record.data_issues
    assert record.diagnoses[0].ref == "Condition/dx"


@pytest.mark.parametrize(
    ("system", "code", "display"),
    [
        (f.SKS_D, "DD469", "Myelodysplastisk syndrom UNS"),
        (f.SKS_D, "DD472B", "MGUS af non-IGM type"),
        (f.SKS_D, "DC900A", "Asymptomatisk myelomatose (smoldering)"),
        (f.SNOMED, "109992005", "Polycythemia vera"),
        (f.SNOMED, "277577000", "Monoclonal gammopathy of uncertain significance"),
    ],
    ids=["MDS", "MGUS", "smouldering-myeloma", "PV-snomed", "MGUS-snomed"],
)
def test_patient_with_the_disease_is_population_1_not_4(system: str, code: str, display: str) -> None:
    finding = evaluate(
        low_igg_and_sepsis(f.condition(PID, "dx", code, display, "2024-03-01", system=system)), as_of=AS_OF
    )
    assert (finding.rule, finding.population) == (RuleId.START_POP1, Population.HAEMATOLOGICAL)
    population = next(c for c in finding.criteria if c.id == f"population-{Population.HAEMATOLOGICAL.value}")
    assert population.held and [e.ref for e in population.evidence] == ["Condition/dx"]
    assert not any(text.startswith("Population 4") for text in population_criteria(finding))


def test_without_the_disease_the_same_patient_is_population_4() -> None:
    finding = evaluate(low_igg_and_sepsis(), as_of=AS_OF)
    assert (finding.rule, finding.population) == (RuleId.CONSIDER_POP4, Population.OTHER_HYPOGAMMAGLOBULINAEMIA)


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (f.SKS_D, "DD480"),  # D48: neoplasm of uncertain behaviour of other sites (bone, cartilage)
        (f.SKS_D, "DD447A"),  # D44: endocrine glands (paraganglion)
        (f.SKS_D, "DD751"),  # D75.1 secondary polycythaemia: not a neoplasm
        (f.SKS_D, "DD693"),  # D69.3 ITP: immunomodulation indication, not population 1
        (f.ICD10, "D80.1"),  # non-familial hypogammaglobulinaemia itself
    ],
)
def test_neighbouring_d_codes_are_not_haematological_neoplasms(system: str, code: str) -> None:
    kinds = [d.kind for d in mapped(f.condition(PID, "dx", code, "x", "2024-03-01", system=system)).diagnoses]
    assert DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY not in kinds
