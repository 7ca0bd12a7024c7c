"""Medications as real EHRs code them: ATC, RxNorm, SNOMED CT or words only, in English or Danish (issue 16).

Codes are taken from ``codes.csv`` only (never invented here): where no verified RxNorm or SNOMED CT code exists for
an immunoglobulin product, the order carries a coding of that system with its display and no code we know, as an
EHR whose local codes we do not hold sends it; the display is what identifies the product.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fhir_mappers.codes import EDQM, RXNORM, SNOMED, code_table
from fhir_mappers.context import MappingContext
from fhir_mappers.medication import igrt_route, map_medication, medication_match
from fhir_mappers.orders import immunoglobulin_orders, ordered_dose
from guideline.concepts import IgrtRoute, TherapyKind
from guideline.model import TherapyAdministration
from tests.cases import CASES, case_dir
from tests.conftest import make_app

CTX = MappingContext(tz=ZoneInfo("Europe/Copenhagen"), codes=code_table())
CASE = next(c for c in CASES if c.name == "pop2-window-igg-below-4-start")
REQUEST = json.loads((case_dir(CASE) / "request.json").read_text(encoding="utf-8"))

IVIG_BY = {
    "ATC": {"coding": [{"system": "http://www.whocc.no/atc", "code": "J06BA02"}]},
    "RxNorm display": {
        "coding": [{"system": RXNORM, "display": "immune globulin G, human 100 MG/ML Injectable Solution"}]
    },
    "SNOMED CT display": {
        "coding": [{"system": SNOMED, "display": "Product containing human immunoglobulin G (medicinal product)"}]
    },
    "text only (Danish)": {"text": "Normalt humant immunglobulin 100 mg/ml infusionsvæske"},
    "text only (US generic)": {"text": "Immune Globulin Intravenous (Human) 10%"},
    "text only (abbreviation)": {"text": "IVIG 10 %"},
}


def order_with(concept: dict[str, Any], **extra: Any) -> dict[str, Any]:
    request = copy.deepcopy(REQUEST)
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    draft["medicationCodeableConcept"] = concept
    draft.update(extra)
    return request


def decision(request: dict[str, Any]) -> tuple[str, str] | None:
    response = make_app(FIXED_DATE=CASE.as_of).test_client().post(f"/cds-services/{CASE.service}", json=request)
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    if not cards:
        return None
    found = cards[0]["extension"]["sid-igrt"]
    return found["rule"], found["recommendation"]


@pytest.mark.parametrize("concept", IVIG_BY.values(), ids=IVIG_BY.keys())
def test_an_immunoglobulin_order_gives_the_same_decision_however_it_is_coded(concept: dict[str, Any]) -> None:
    assert decision(order_with(concept)) == decision(order_with(IVIG_BY["ATC"])) == ("start-pop2-window", "start")


NOT_IGRT = {
    "ATC J06BB (specific immunoglobulin)": {"coding": [{"system": "http://www.whocc.no/atc", "code": "J06BB04"}]},
    "hepatitis B immune globulin": {"text": "Hepatitis B Immune Globulin (Human)"},
    "anti-D": {"text": "Rho(D) immune globulin 300 mcg"},
    "antithymocyte globulin": {"text": "anti-thymocyte immunoglobulin (rabbit)"},
    "an unrelated drug": {"coding": [{"system": RXNORM, "display": "Lovastatin 40 MG Oral Tablet [Mevacor]"}]},
}


@pytest.mark.parametrize("concept", NOT_IGRT.values(), ids=NOT_IGRT.keys())
def test_specific_immunoglobulins_and_other_drugs_are_not_igrt_orders(concept: dict[str, Any]) -> None:
    assert decision(order_with(concept)) is None
    assert medication_match({"resourceType": "MedicationRequest", "medicationCodeableConcept": concept}, CTX) is None


ROUTES = {
    "SNOMED CT subcutaneous route": ({"coding": [{"system": SNOMED, "code": "34206005"}]}, IgrtRoute.SCIG),
    "SNOMED CT intravenous route": ({"coding": [{"system": SNOMED, "code": "47625008"}]}, IgrtRoute.IVIG),
    "EDQM subcutaneous use": ({"coding": [{"system": EDQM, "code": "20066000"}]}, IgrtRoute.SCIG),
    "EDQM intravenous use": ({"coding": [{"system": EDQM, "code": "20045000"}]}, IgrtRoute.IVIG),
    "route text (Danish)": ({"text": "subkutant"}, IgrtRoute.SCIG),
    "route text IV": ({"text": "IV"}, IgrtRoute.IVIG),
    "no route": (None, IgrtRoute.UNKNOWN),
    "both named": ({"text": "IV or SC"}, IgrtRoute.UNKNOWN),
}


@pytest.mark.parametrize(("route", "expected"), ROUTES.values(), ids=ROUTES.keys())
def test_the_route_of_a_generic_immunoglobulin_comes_from_the_dosage(route: Any, expected: IgrtRoute) -> None:
    order = {
        "resourceType": "MedicationRequest",
        "medicationCodeableConcept": {"text": "immunglobulin"},
        "dosageInstruction": [{"route": route}] if route else [],
    }
    match = medication_match(order, CTX)
    assert match is not None and match.concept == "igrt"
    assert igrt_route(order, CTX, match) is expected
    administration = {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "effectiveDateTime": "2026-10-01",
        "medicationCodeableConcept": {"text": "immune globulin"},
        "dosage": {"route": route} if route else {},
    }
    (record,) = map_medication(administration, CTX, "MedicationAdministration/a1")
    assert record.route is expected  # type: ignore[union-attr]


def test_the_products_own_route_wins_over_the_dosage() -> None:
    order = {
        "resourceType": "MedicationRequest",
        "medicationCodeableConcept": {"text": "Immune Globulin Subcutaneous (Human) 20%"},
        "dosageInstruction": [{"route": {"text": "intravenous"}}],
    }
    match = medication_match(order, CTX)
    assert match is not None and igrt_route(order, CTX, match) is IgrtRoute.SCIG


def test_a_car_t_infusion_coded_in_rxnorm_only_sets_t0() -> None:
    administration = {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "effectiveDateTime": "2026-09-15",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "1987402"}]},  # Yescarta (codes.csv)
    }
    (therapy,) = map_medication(administration, CTX, "MedicationAdministration/car-t")
    assert isinstance(therapy, TherapyAdministration) and therapy.kind is TherapyKind.CAR_T
    assert therapy.substance_key == "axicabtagene ciloleucel"


def test_a_sandbox_pill_dose_is_read_as_no_dose_stated_not_as_a_wrong_unit() -> None:
    draft = {
        "resourceType": "MedicationRequest",
        "id": "sandbox-draft",
        "status": "draft",
        "medicationCodeableConcept": {"text": "immune globulin G, human 100 MG/ML Injectable Solution"},
        "dosageInstruction": [
            {
                "doseAndRate": [
                    {"doseQuantity": {"value": 1, "unit": "{pill}", "system": "http://unitsofmeasure.org"}}
                ],
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            }
        ],
    }
    (order,) = immunoglobulin_orders([draft], CTX)
    dose = ordered_dose(draft, CTX, order)
    assert (dose.dose_value, dose.problem, dose.interval_days) == (None, None, 1.0)


def test_a_sandbox_order_select_without_a_medication_yet_gives_no_card() -> None:
    request = copy.deepcopy(REQUEST)
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    del draft["medicationCodeableConcept"]
    request["context"]["draftOrders"].pop("type", None)
    assert decision(request) is None


@pytest.mark.parametrize(
    ("text", "systemic"),
    [
        ("Amoxicillin 500 mg tablet", True),
        ("Piperacillin/tazobactam 4 g/0,5 g", True),
        ("Ciprofloxacin eye drops", False),
    ],
)
def test_a_systemic_antibiotic_named_in_words_links_infections(text: str, systemic: bool) -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "status": "completed",
        "effectiveDateTime": "2026-10-01",
        "medicationCodeableConcept": {"text": text},
    }
    records = map_medication(statement, CTX, "MedicationStatement/ab")
    assert [type(r).__name__ for r in records] == (["AntibioticRecord"] if systemic else [])
