"""Synthea-like density for synthetic cohorts (``cds-service synth-cohort --profile realistic``).

A Synthea patient's export is hundreds of resources, most of them of types the rules never read (claims,
explanations of benefit, notes) or of codes they never use (vitals, routine labs, surveys). ``DensityWriter`` adds
that to each patient: per encounter (15-60 a patient, 3 % emergency visits, the rest ambulatory) a claim and its
explanation of benefit, a DocumentReference with a base64 note (1.5-3 KB), mostly vital signs (blood pressure
panel, heart rate, respiratory rate, height, body weight, BMI, pain), sometimes a lab panel with its
DiagnosticReport (and a base64 report) or a depression survey, often a procedure; and per patient conditions,
medication requests, yearly immunizations, allergies, care plans and teams, devices, imaging, supplies and a
provenance. None of its codes is in ``fhir_mappers/codesets/codes.csv`` except body weight (LOINC 29463-7), which
the rules read as Synthea's exports carry it (``tests/cohort/test_synth_density.py`` checks).

Lines are rendered from byte templates (``%`` formatting), not built as dicts, so 100,000 patients (45 million
lines) take minutes. Large types are split into files of ``LINES_PER_FILE`` lines (``Observation.ndjson``,
``Observation_2.ndjson`` ...), and ``close`` writes a Bulk Data ``manifest.json`` listing them.
"""

from __future__ import annotations

import base64
import gzip as gzip_module
import random
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any, cast

import orjson

LINES_PER_FILE = 1_000_000
"""Lines per output file before the next part (``Observation_2.ndjson``): Bulk servers split large types too."""
MANIFEST_REQUEST = "https://synthea.example/fhir/$export"
"""The ``request`` of the written manifest (this export's server base: ``https://synthea.example/fhir``)."""

_VITALS = (
    ("8302-2", "Body Height", "cm", 150, 195),
    ("29463-7", "Body Weight", "kg", 50, 110),
    ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 18, 35),
    ("8867-4", "Heart rate", "/min", 55, 100),
    ("9279-1", "Respiratory rate", "/min", 12, 20),
    ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported", "{score}", 0, 6),
)
_LABS = (
    ("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", 70, 130),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 1, 2),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 11, 17),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 4, 11),
    ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 150, 260),
)
_CONDITIONS = (
    ("444814009", "Viral sinusitis (disorder)"),
    ("10509002", "Acute bronchitis (disorder)"),
    ("195662009", "Acute viral pharyngitis (disorder)"),
    ("162864005", "Body mass index 30+ - obesity (finding)"),
    ("59621000", "Essential hypertension (disorder)"),
    ("15777000", "Prediabetes"),
    ("271737000", "Anemia (disorder)"),
    ("40055000", "Chronic sinusitis (disorder)"),
)
_PROCEDURES = (
    ("430193006", "Medication Reconciliation (procedure)"),
    ("710824005", "Assessment of health and social care needs (procedure)"),
    ("171207006", "Depression screening (procedure)"),
    ("428191000124101", "Documentation of current medications (procedure)"),
)
_MEDICATIONS = (
    ("313782", "Acetaminophen 325 MG Oral Tablet"),
    ("308136", "amlodipine 2.5 MG Oral Tablet"),
    ("314076", "lisinopril 10 MG Oral Tablet"),
    ("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"),
)
_VACCINES = (("140", "Influenza, seasonal, injectable, preservative free"), ("113", "Td (adult) preservative free"))
_NOTE_WORDS = (
    "patient presents with mild symptoms history reviewed vitals stable no acute distress plan follow up in clinic "
    "continue current medications counselled on diet exercise and smoking cessation labs ordered results pending"
).split()


def _template(resource: dict[str, Any]) -> bytes:
    """Serialise a resource whose ``@name@`` (text) and ``"@name#"`` (number) parts are slots: a ``%(name)s`` bytes."""
    text = orjson.dumps(resource).replace(b"%", b"%%")
    text = _NUMBER_SLOT.sub(rb"%(\1)s", text)
    return _TEXT_SLOT.sub(rb"%(\1)s", text)


_NUMBER_SLOT = re.compile(rb'"@([a-z]+)#"')
_TEXT_SLOT = re.compile(rb"@([a-z]+)@")


def _ref(kind: str, slot: str) -> dict[str, str]:
    return {"reference": f"{kind}/@{slot}@"}


def _code(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


_SUBJECT = _ref("Patient", "pid")
_LOINC, _SNOMED = "http://loinc.org", "http://snomed.info/sct"
_VITAL_CATEGORY = [_code("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital signs")]
_LAB_CATEGORY = [_code("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")]
_ENCOUNTER_TYPE = [_code(_SNOMED, "185349003", "Encounter for check up (procedure)")]
_MONEY = {"value": "@amount#", "currency": "USD"}


def _observation(code: str, display: str, unit: str, category: list[Any], value: str = "value") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "@rid@",
        "status": "final",
        "category": category,
        "code": _code(_LOINC, code, display),
        "subject": _SUBJECT,
        "encounter": _ref("Encounter", "enc"),
        "effectiveDateTime": "@when@",
        "issued": "@when@",
        "valueQuantity": {"value": f"@{value}#", "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


_TEMPLATES: dict[str, bytes] = {
    "Encounter": _template(
        {
            "resourceType": "Encounter",
            "id": "@rid@",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "@class@"},
            "type": _ENCOUNTER_TYPE,
            "subject": _SUBJECT,
            "participant": [{"individual": _ref("Practitioner", "practitioner")}],
            "period": {"start": "@when@", "end": "@when@"},
            "serviceProvider": _ref("Organization", "organization"),
        }
    ),
    "Claim": _template(
        {
            "resourceType": "Claim",
            "id": "@rid@",
            "status": "active",
            "type": _code("http://terminology.hl7.org/CodeSystem/claim-type", "professional", "Professional"),
            "use": "claim",
            "patient": _SUBJECT,
            "billablePeriod": {"start": "@when@", "end": "@when@"},
            "created": "@when@",
            "provider": _ref("Organization", "organization"),
            "priority": _code("http://terminology.hl7.org/CodeSystem/processpriority", "normal", "Normal"),
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Medicare"}}],
            "item": [
                {"sequence": n, "productOrService": _ENCOUNTER_TYPE[0], "encounter": [_ref("Encounter", "enc")]}
                for n in (1, 2)
            ],
            "total": _MONEY,
        }
    ),
    "ExplanationOfBenefit": _template(
        {
            "resourceType": "ExplanationOfBenefit",
            "id": "@rid@",
            "status": "active",
            "type": _code("http://terminology.hl7.org/CodeSystem/claim-type", "professional", "Professional"),
            "use": "claim",
            "patient": _SUBJECT,
            "billablePeriod": {"start": "@when@", "end": "@when@"},
            "created": "@when@",
            "insurer": {"display": "Medicare"},
            "provider": _ref("Practitioner", "practitioner"),
            "claim": _ref("Claim", "claim"),
            "outcome": "complete",
            "careTeam": [{"sequence": 1, "provider": _ref("Practitioner", "practitioner"), "role": _MONEY}],
            "insurance": [{"focal": True, "coverage": {"display": "Medicare"}}],
            "item": [
                {
                    "sequence": n,
                    "productOrService": _ENCOUNTER_TYPE[0],
                    "servicedPeriod": {"start": "@when@", "end": "@when@"},
                    "encounter": [_ref("Encounter", "enc")],
                    "net": _MONEY,
                    "adjudication": [
                        {"category": _code("https://bluebutton.cms.gov/resources/codesystem/adjudication", k, k)}
                        for k in ("https://bluebutton.cms.gov/resources/variables/line_coinsrnc_amt", "denialreason")
                    ],
                }
                for n in (1, 2, 3)
            ],
            "total": [
                {
                    "category": _code("http://terminology.hl7.org/CodeSystem/adjudication", "submitted", "x"),
                    "amount": _MONEY,
                }
            ],  # fmt: skip
            "payment": {"amount": _MONEY},
        }
    ),
    "DocumentReference": _template(
        {
            "resourceType": "DocumentReference",
            "id": "@rid@",
            "status": "superseded",
            "type": _code(_LOINC, "34117-2", "History and physical note"),
            "category": [
                _code(
                    "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                    "clinical-note",
                    "Clinical Note",
                )
            ],  # fmt: skip
            "subject": _SUBJECT,
            "date": "@when@",
            "author": [_ref("Practitioner", "practitioner")],
            "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": "@note@"}}],
            "context": {"encounter": [_ref("Encounter", "enc")], "period": {"start": "@when@", "end": "@when@"}},
        }
    ),
    "DiagnosticReport": _template(
        {
            "resourceType": "DiagnosticReport",
            "id": "@rid@",
            "status": "final",
            "category": _LAB_CATEGORY,
            "code": _code(_LOINC, "51990-0", "Basic metabolic panel - Blood"),
            "subject": _SUBJECT,
            "encounter": _ref("Encounter", "enc"),
            "effectiveDateTime": "@when@",
            "issued": "@when@",
            "presentedForm": [{"contentType": "text/plain; charset=utf-8", "data": "@note@"}],
        }
    ),
    "Procedure": _template(
        {
            "resourceType": "Procedure",
            "id": "@rid@",
            "status": "completed",
            "code": _code(_SNOMED, "@code@", "@display@"),
            "subject": _SUBJECT,
            "encounter": _ref("Encounter", "enc"),
            "performedPeriod": {"start": "@when@", "end": "@when@"},
        }
    ),
    "Condition": _template(
        {
            "resourceType": "Condition",
            "id": "@rid@",
            "clinicalStatus": _code("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved", "x"),
            "verificationStatus": _code("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "x"),
            "category": [
                _code(
                    "http://terminology.hl7.org/CodeSystem/condition-category",
                    "encounter-diagnosis",
                    "Encounter Diagnosis",
                )
            ],  # fmt: skip
            "code": _code(_SNOMED, "@code@", "@display@"),
            "subject": _SUBJECT,
            "encounter": _ref("Encounter", "enc"),
            "onsetDateTime": "@when@",
            "recordedDate": "@when@",
        }
    ),
    "MedicationRequest": _template(
        {
            "resourceType": "MedicationRequest",
            "id": "@rid@",
            "status": "stopped",
            "intent": "order",
            "medicationCodeableConcept": _code("http://www.nlm.nih.gov/research/umls/rxnorm", "@code@", "@display@"),
            "subject": _SUBJECT,
            "encounter": _ref("Encounter", "enc"),
            "authoredOn": "@when@",
            "requester": _ref("Practitioner", "practitioner"),
            "dosageInstruction": [
                {"sequence": 1, "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}
            ],  # fmt: skip
        }
    ),
    "Immunization": _template(
        {
            "resourceType": "Immunization",
            "id": "@rid@",
            "status": "completed",
            "vaccineCode": _code("http://hl7.org/fhir/sid/cvx", "@code@", "@display@"),
            "patient": _SUBJECT,
            "encounter": _ref("Encounter", "enc"),
            "occurrenceDateTime": "@when@",
            "primarySource": True,
        }
    ),
    "Vital": _template(_observation("@code@", "@display@", "@unit@", _VITAL_CATEGORY)),
    "Lab": _template(_observation("@code@", "@display@", "@unit@", _LAB_CATEGORY)),
    "BloodPressure": _template(
        {
            **_observation("85354-9", "Blood pressure panel with all children optional", "mm[Hg]", _VITAL_CATEGORY),
            "valueQuantity": None,
            "component": [
                {
                    "code": _code(_LOINC, code, display),
                    "valueQuantity": {"value": f"@{slot}#", "unit": "mm[Hg]", "system": "http://unitsofmeasure.org"},
                }
                for code, display, slot in (
                    ("8462-4", "Diastolic Blood Pressure", "low"),
                    ("8480-6", "Systolic Blood Pressure", "high"),
                )  # fmt: skip
            ],
        }
    ),
    "Survey": _template(
        {
            **_observation(
                "55757-9",
                "Patient Health Questionnaire 2 item (PHQ-2) [Reported]",
                "{score}",
                [_code("http://terminology.hl7.org/CodeSystem/observation-category", "survey", "Survey")],
            ),
            "component": [
                {"code": _code(_LOINC, code, "PHQ-2 item"), "valueInteger": "@value#"}
                for code in ("44250-9", "44255-8")
            ],
        }  # fmt: skip
    ),
}
_PLAIN = {
    kind: _template({"resourceType": kind, "id": "@rid@", "status": status, patient_key: _SUBJECT, **extra})
    for kind, status, patient_key, extra in (
        ("CarePlan", "completed", "subject", {"intent": "order", "period": {"start": "@when@"},
                                              "category": [_code(_SNOMED, "734163000", "Care plan")]}),
        ("CareTeam", "inactive", "subject", {"period": {"start": "@when@"},
                                             "participant": [{"member": _ref("Practitioner", "practitioner")}]}),
        ("AllergyIntolerance", "active", "patient", {"code": _code(_SNOMED, "300916003", "Latex allergy"),
                                                     "recordedDate": "@when@"}),
        ("Device", "active", "patient", {"type": _code(_SNOMED, "337414009", "Blood glucose meter"),
                                         "manufactureDate": "@when@"}),
        ("ImagingStudy", "available", "subject", {"started": "@when@", "numberOfSeries": 1, "numberOfInstances": 2}),
        ("SupplyDelivery", "completed", "patient", {"occurrenceDateTime": "@when@",
                                                    "suppliedItem": {"quantity": {"value": 1}}}),
        ("Provenance", "active", "patient", {"recorded": "@when@", "target": [_ref("Patient", "pid")]}),
    )
}  # fmt: skip
_TEMPLATES.update(_PLAIN)
_TEMPLATES["BloodPressure"] = _TEMPLATES["BloodPressure"].replace(b'"valueQuantity":null,', b"")


class DensityWriter:
    """Writes resources into per-type NDJSON files (split, optionally gzipped) and adds each patient's density.

    Args:
        out_dir: the export directory.
        rng: the random source (seeded by the caller: the same seed, the same files).
        as_of: the export's date (every generated date is within the ten years before it).
        gzip: write ``.ndjson.gz`` (compression level 1: fast, about a tenth of the size on these files).
    """

    def __init__(self, out_dir: Path, *, rng: random.Random, as_of: date, gzip: bool) -> None:
        self.out_dir, self.rng, self.as_of, self.gzip = out_dir, rng, as_of, gzip
        self.written: dict[str, int] = {}
        self._handles: dict[str, IO[bytes]] = {}
        self._files: list[tuple[str, str]] = []
        self._notes = [self._note(n) for n in range(24)]
        self._days = [(as_of - timedelta(days=d)).isoformat() for d in range(3650)]

    def _note(self, n: int) -> bytes:
        words = [self.rng.choice(_NOTE_WORDS) for _ in range(self.rng.randrange(220, 460))]
        return base64.b64encode(f"Note {n}: {' '.join(words)}".encode())

    def write(self, kind: str, line: bytes) -> None:
        """Append one resource line (no line break) to its type's current file."""
        count = self.written.get(kind, 0)
        if count % LINES_PER_FILE == 0:
            part = count // LINES_PER_FILE + 1
            name = f"{kind}{'' if part == 1 else f'_{part}'}.ndjson{'.gz' if self.gzip else ''}"
            if kind in self._handles:
                self._handles[kind].close()
            path = self.out_dir / name
            opener: Callable[..., IO[bytes]] = (
                (lambda p: cast(IO[bytes], gzip_module.open(p, "wb", compresslevel=1)))
                if self.gzip
                else (lambda p: p.open("wb"))
            )
            self._handles[kind] = opener(path)
            self._files.append((kind, name))
        self._handles[kind].write(line + b"\n")
        self.written[kind] = count + 1

    def patient(self, pid: str) -> None:
        """Add one patient's Synthea-like resources (see the module docstring)."""
        rng, days, notes = self.rng, self._days, self._notes
        p = pid.encode()
        serial = [0]

        def emit(kind: str, template: str, **values: Any) -> bytes:
            serial[0] += 1
            rid = b"%s-%s%d" % (p, kind[:3].lower().encode(), serial[0])
            args = {b"pid": p, b"rid": rid, b"practitioner": b"pr1", b"organization": b"org1"}
            args.update({k.encode(): v if isinstance(v, bytes) else str(v).encode() for k, v in values.items()})
            self.write(kind, _TEMPLATES[template] % args)
            return rid

        for code, display in rng.sample(_CONDITIONS, rng.randrange(2, 7)):
            emit(
                "Condition", "Condition", enc=b"%s-enc0" % p, when=days[rng.randrange(3650)], code=code, display=display
            )
        for _ in range(rng.randrange(0, 10)):
            code, display = rng.choice(_MEDICATIONS)
            when = days[rng.randrange(3650)]
            emit("MedicationRequest", "MedicationRequest", enc=b"%s-enc0" % p, when=when, code=code, display=display)
            claim = emit("Claim", "Claim", enc=b"%s-enc0" % p, when=when, amount=rng.randrange(10, 500))
            emit("ExplanationOfBenefit", "ExplanationOfBenefit", enc=b"%s-enc0" % p, claim=claim, when=when, amount=250)
        for year in range(rng.randrange(2, 9)):
            code, display = _VACCINES[0] if year % 5 else _VACCINES[1]
            emit(
                "Immunization",
                "Immunization",
                enc=b"%s-enc0" % p,
                when=days[365 * year + 30],
                code=code,
                display=display,
            )
        for kind, most in (("CarePlan", 3), ("CareTeam", 3), ("AllergyIntolerance", 3), ("Device", 2),
                           ("ImagingStudy", 2), ("SupplyDelivery", 5), ("Provenance", 1)):  # fmt: skip
            for _ in range(rng.randrange(0, most + 1) if kind != "Provenance" else 1):
                emit(kind, kind, when=days[rng.randrange(3650)])
        for _ in range(rng.randrange(15, 61)):
            when = days[rng.randrange(3650)]
            enc_class = b"EMER" if rng.random() < 0.03 else b"AMB"
            enc = emit("Encounter", "Encounter", when=when, **{"class": enc_class})
            claim = emit("Claim", "Claim", enc=enc, when=when, amount=rng.randrange(50, 900))
            emit("ExplanationOfBenefit", "ExplanationOfBenefit", enc=enc, claim=claim, when=when, amount=400)
            emit("DocumentReference", "DocumentReference", enc=enc, when=when, note=rng.choice(notes))
            draw = rng.random()
            if draw < 0.7:
                emit("Observation", "BloodPressure", enc=enc, when=when, low=rng.randrange(60, 95),
                     high=rng.randrange(100, 160))  # fmt: skip
                for code, display, unit, low, high in _VITALS:
                    value = rng.randrange(low, high + 1)
                    emit("Observation", "Vital", enc=enc, when=when, code=code, display=display, unit=unit, value=value)
            if draw > 0.7 or draw < 0.1:
                for code, display, unit, low, high in _LABS:
                    value = rng.randrange(low, high + 1)
                    emit("Observation", "Lab", enc=enc, when=when, code=code, display=display, unit=unit, value=value)
                emit("DiagnosticReport", "DiagnosticReport", enc=enc, when=when, note=rng.choice(notes)[:1500])
            if draw < 0.1:
                emit("Observation", "Survey", enc=enc, when=when, value=rng.randrange(0, 4))
            if rng.random() < 0.5:
                code, display = rng.choice(_PROCEDURES)
                emit("Procedure", "Procedure", enc=enc, when=when, code=code, display=display)

    def close(self) -> None:
        """Close every file and write ``manifest.json`` (Bulk Data Access 2.0 "Complete Status" body)."""
        for handle in self._handles.values():
            handle.close()
        manifest = {
            "transactionTime": f"{self.as_of.isoformat()}T00:00:00Z",
            "request": MANIFEST_REQUEST,
            "requiresAccessToken": False,
            "output": [{"type": kind, "url": name} for kind, name in sorted(self._files, key=lambda f: f[1])],
            "error": [],
        }
        (self.out_dir / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
