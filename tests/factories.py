"""Builders for synthetic DK-core-shaped FHIR R4 resources and CDS Hooks requests (no real patients).

Codes come from ``../shared/reference/terminology.md``: NPU/LOINC labs, SKS-D/ICD-10/SNOMED diagnoses, ATC medicines.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

LOINC = "http://loinc.org"
NPU = "http://npu-terminology.org"
NPU_LEGACY = "urn:oid:1.2.208.176.2.1"
ATC = "http://www.whocc.no/atc"
SKS_D = "urn:oid:1.2.208.176.2.4.12"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CPR = "urn:oid:1.2.208.176.1.2"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

LAB_CODES = {
    ("igg", "npu"): (NPU, "NPU19814", "P—Immunoglobulin G; massekonc."),
    ("igg", "npu-legacy"): (NPU_LEGACY, "NPU19814", "P—Immunoglobulin G; massekonc."),
    ("igg", "loinc"): (LOINC, "2465-3", "IgG [Mass/volume] in Serum or Plasma"),
    ("iga", "npu"): (NPU, "NPU19795", "P—Immunoglobulin A; massekonc."),
    ("iga", "loinc"): (LOINC, "2458-8", "IgA [Mass/volume] in Serum or Plasma"),
    ("igm", "npu"): (NPU, "NPU19825", "P—Immunoglobulin M; massekonc."),
    ("m-protein", "loinc"): (LOINC, "33358-3", "Protein.monoclonal [Mass/volume] in Serum or Plasma"),
}


def ref(kind: str, rid: str) -> dict[str, str]:
    return {"reference": f"{kind}/{rid}"}


def patient(pid: str, birth: str, *, family: str = "Testesen", given: str = "Syntetisk") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"profile": ["http://hl7.dk/fhir/core/StructureDefinition/dk-core-patient"]},
        "identifier": [{"system": CPR, "value": f"{birth[8:10]}{birth[5:7]}{birth[2:4]}9999"}],
        "name": [{"family": family, "given": [given]}],
        "birthDate": birth,
    }


def lab(
    pid: str,
    oid: str,
    analyte: str,
    value: float,
    on: str,
    *,
    unit: str = "g/L",
    coding: str = "npu",
    status: str = "final",
    comparator: str | None = None,
    low: float | None = None,
) -> dict[str, Any]:
    system, code, display = LAB_CODES[(analyte, coding)]
    quantity: dict[str, Any] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    if comparator:
        quantity["comparator"] = comparator
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}
        ],
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "subject": ref("Patient", pid),
        "effectiveDateTime": f"{on}T08:30:00+01:00",
        "valueQuantity": quantity,
    }
    if low is not None:
        resource["referenceRange"] = [{"low": {"value": low, "unit": unit, "system": UCUM, "code": unit}}]
    return resource


def condition(
    pid: str,
    cid: str,
    code: str,
    display: str,
    onset: str | None,
    *,
    system: str = SKS_D,
    verification: str | None = "confirmed",
    severe: bool = False,
    encounter: str | None = None,
    category: str = "encounter-diagnosis",
    abatement: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": category}]}
        ],
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "subject": ref("Patient", pid),
    }
    if verification:
        resource["verificationStatus"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]
        }
    if onset:
        resource["onsetDateTime"] = onset
    if severe:
        resource["severity"] = {"coding": [{"system": SNOMED, "code": "24484000", "display": "Severe"}]}
    if encounter:
        resource["encounter"] = ref("Encounter", encounter)
    if abatement:
        resource["abatementDateTime"] = abatement
    return resource


def admission(
    pid: str, eid: str, start: str, end: str, *, cls: str = "IMP", diagnosis: str | None = None
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {
            "system": V3,
            "code": cls,
            "display": {"IMP": "inpatient encounter", "EMER": "emergency"}.get(cls, cls),
        },
        "subject": ref("Patient", pid),
        "period": {"start": f"{start}T10:00:00+01:00", "end": f"{end}T12:00:00+01:00"},
    }
    if diagnosis:
        resource["diagnosis"] = [{"condition": ref("Condition", diagnosis), "rank": 1}]
    return resource


def medication(atc: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": ATC, "code": atc, "display": display}], "text": display}


def administration(
    pid: str,
    mid: str,
    atc: str,
    display: str,
    on: str,
    *,
    status: str = "completed",
    reason: tuple[str, str, str] | None = None,
) -> dict[str, Any]:
    """A MedicationAdministration; ``reason`` = (system, code, display) for ``reasonCode``."""
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": mid,
        "status": status,
        "medicationCodeableConcept": medication(atc, display),
        "subject": ref("Patient", pid),
        "effectiveDateTime": f"{on}T09:00:00+01:00",
    }
    if reason:
        system, code, text = reason
        resource["reasonCode"] = [{"coding": [{"system": system, "code": code, "display": text}], "text": text}]
    return resource


def administrations(
    pid: str, prefix: str, atc: str, display: str, first: str, last: str, every_days: int
) -> list[dict[str, Any]]:
    day, end, found, n = date.fromisoformat(first), date.fromisoformat(last), [], 1
    while day <= end:
        found.append(administration(pid, f"{prefix}-{n}", atc, display, day.isoformat()))
        day += timedelta(days=every_days)
        n += 1
    return found


def order(
    pid: str,
    mid: str,
    atc: str,
    display: str,
    authored: str | None,
    *,
    status: str = "active",
    reason: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": medication(atc, display),
        "subject": ref("Patient", pid),
    }
    if authored:
        resource["authoredOn"] = authored
    if reason:
        resource["reasonReference"] = [ref("Condition", reason)]
    return resource


def statement(pid: str, sid: str, atc: str, display: str, start: str, *, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": sid,
        "status": status,
        "medicationCodeableConcept": medication(atc, display),
        "subject": ref("Patient", pid),
        "effectivePeriod": {"start": start},
    }


def searchset(*resources: dict[str, Any], base: str | None = None) -> dict[str, Any]:
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {"resource": resource}
        if base:
            entry["fullUrl"] = f"{base}/{resource['resourceType']}/{resource['id']}"
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources), "entry": entries}


PREFETCH_KEYS = {
    "Observation": "observations",
    "Condition": "conditions",
    "MedicationAdministration": "medicationAdministrations",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
    "Encounter": "encounters",
    "Procedure": "procedures",
    "Immunization": "immunizations",
}


def prefetch_for(resources: list[dict[str, Any]], *, base: str | None = None) -> dict[str, Any]:
    """Split a patient's resources into the service's prefetch keys (every key present)."""
    grouped: dict[str, list[dict[str, Any]]] = {key: [] for key in PREFETCH_KEYS.values()}
    result: dict[str, Any] = {}
    for resource in resources:
        if resource["resourceType"] == "Patient":
            result["patient"] = resource
        else:
            grouped[PREFETCH_KEYS[resource["resourceType"]]].append(resource)
    for key, items in grouped.items():
        result[key] = searchset(*items, base=base)
    return result


def hook_request(
    hook: str,
    pid: str,
    resources: list[dict[str, Any]],
    *,
    instance: str,
    draft: list[dict[str, Any]] | None = None,
    selections: list[str] | None = None,
    shape: str = "sandbox",
) -> dict[str, Any]:
    """A request as the CDS Hooks Sandbox (draftOrders Bundle without type) or Epic (absolute refs) sends it."""
    base = "https://ehr.example.org/api/FHIR/R4" if shape == "epic" else None
    context: dict[str, Any] = {"userId": "Practitioner/synthetic-clinician-1", "patientId": pid}
    if draft is not None:
        bundle: dict[str, Any] = {"resourceType": "Bundle", "entry": [{"resource": r} for r in draft]}
        if shape == "epic":
            bundle["type"] = "collection"
        context["draftOrders"] = bundle
    if selections is not None:
        context["selections"] = [f"{base}/{s}" for s in selections] if base else selections
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": instance,
        "fhirServer": base or "http://localhost:8090/fhir",
        "context": context,
        "prefetch": prefetch_for(resources, base=base),
    }
    if shape == "epic":
        body["extension"] = {"com.epic.cdshooks.request.fhir-version": "R4"}
    return body


def draft_order(pid: str, mid: str, atc: str, display: str, *, shape: str = "sandbox") -> list[dict[str, Any]]:
    """A draft order: Sandbox shape (no intent) or Epic shape (medicationReference + Medication entry)."""
    if shape == "epic":
        return [
            {
                "resourceType": "MedicationRequest",
                "id": mid,
                "status": "draft",
                "intent": "order",
                "category": {"coding": [{"code": "outpatient"}]},
                "medicationReference": {"reference": f"Medication/{mid}-med", "display": display},
                "subject": {"reference": f"https://ehr.example.org/api/FHIR/R4/Patient/{pid}"},
            },
            {"resourceType": "Medication", "id": f"{mid}-med", "code": medication(atc, display)},
        ]
    return [
        {
            "resourceType": "MedicationRequest",
            "id": mid,
            "status": "draft",
            "medicationCodeableConcept": medication(atc, display),
            "subject": ref("Patient", pid),
            "authoredOn": "2026-11-20",
        }
    ]


def weight(pid: str, oid: str, kg: float, on: str) -> dict[str, Any]:
    """A body weight Observation (LOINC 29463-7) in kg."""
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}]},
        "subject": ref("Patient", pid),
        "effectiveDateTime": on,
        "valueQuantity": {"value": kg, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    }


def immunofixation(pid: str, oid: str, result: str, on: str) -> dict[str, Any]:
    """An M-component typing (immunofixation, LOINC 25700-6) with a text result such as "IgG kappa"."""
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {
            "coding": [
                {"system": "http://loinc.org", "code": "25700-6", "display": "Immunofixation for Serum or Plasma"}
            ]
        },
        "subject": ref("Patient", pid),
        "effectiveDateTime": on,
        "valueCodeableConcept": {"text": result},
    }


def cd19(pid: str, oid: str, count: float, on: str) -> dict[str, Any]:
    """A CD19 B-cell count (LOINC 8116-6) in 10*9/L."""
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "8116-6", "display": "CD19 cells [#/volume] in Blood"}]
        },
        "subject": ref("Patient", pid),
        "effectiveDateTime": on,
        "valueQuantity": {"value": count, "unit": "10*9/L", "system": "http://unitsofmeasure.org", "code": "10*9/L"},
    }


def immunization(pid: str, iid: str, atc: str, display: str, on: str) -> dict[str, Any]:
    """A completed Immunization coded with ATC (as DK-core records from DDV carry it)."""
    return {
        "resourceType": "Immunization",
        "id": iid,
        "status": "completed",
        "vaccineCode": {
            "coding": [{"system": "http://www.whocc.no/atc", "code": atc, "display": display}],
            "text": display,
        },
        "patient": ref("Patient", pid),
        "occurrenceDateTime": on,
    }


def with_dose(order: list[dict[str, Any]], grams: float, period: int, unit: str = "wk") -> list[dict[str, Any]]:
    """Add an R4 dosageInstruction (grams per administration, once per ``period`` ``unit``) to a draft order."""
    first = dict(order[0])
    first["dosageInstruction"] = [
        {
            "timing": {"repeat": {"frequency": 1, "period": period, "periodUnit": unit}},
            "doseAndRate": [
                {"doseQuantity": {"value": grams, "unit": "g", "system": "http://unitsofmeasure.org", "code": "g"}}
            ],
        }
    ]
    return [first, *order[1:]]


def dosage(
    value: float,
    unit: str,
    *,
    frequency: int = 1,
    period: float = 1,
    period_unit: str = "wk",
    count: int | None = None,
    bounds_days: float | None = None,
    sequence: int | None = None,
    rate_ml_per_h: float | None = None,
) -> dict[str, Any]:
    """An R4 Dosage: ``value`` ``unit`` per administration, ``frequency`` per ``period`` ``period_unit``.

    ``count`` / ``bounds_days`` bound the step (``timing.repeat.count`` / ``boundsDuration`` in days); ``sequence``
    orders steps; ``rate_ml_per_h`` puts an infusion-rate ``doseAndRate`` entry before the dose (as EHRs send it).
    """
    repeat: dict[str, Any] = {"frequency": frequency, "period": period, "periodUnit": period_unit}
    if count is not None:
        repeat["count"] = count
    if bounds_days is not None:
        repeat["boundsDuration"] = {"value": bounds_days, "unit": "d", "system": UCUM, "code": "d"}
    dose_and_rate: list[dict[str, Any]] = []
    if rate_ml_per_h is not None:
        dose_and_rate.append({"rateQuantity": {"value": rate_ml_per_h, "unit": "mL/h", "system": UCUM, "code": "mL/h"}})
    dose_and_rate.append({"doseQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}})
    result: dict[str, Any] = {"timing": {"repeat": repeat}, "doseAndRate": dose_and_rate}
    if sequence is not None:
        result["sequence"] = sequence
    return result


def with_dosages(order: list[dict[str, Any]], *dosages: dict[str, Any]) -> list[dict[str, Any]]:
    """Set the draft order's ``dosageInstruction`` to ``dosages``, in the order given."""
    first = dict(order[0])
    first["dosageInstruction"] = list(dosages)
    return [first, *order[1:]]


def with_reason(
    order: list[dict[str, Any]],
    *,
    code: tuple[str, str, str] | None = None,
    condition: str | None = None,
) -> list[dict[str, Any]]:
    """Give the draft order a ``reasonCode`` (system, code, display) and/or a ``reasonReference`` to a Condition."""
    first = dict(order[0])
    if code is not None:
        system, value, display = code
        first["reasonCode"] = [{"coding": [{"system": system, "code": value, "display": display}], "text": display}]
    if condition is not None:
        first["reasonReference"] = [ref("Condition", condition)]
    return [first, *order[1:]]
