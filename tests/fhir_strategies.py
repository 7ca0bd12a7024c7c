"""Hypothesis strategies for FHIR-shaped JSON: plausible resources whose every element may also be garbage.

Codes come from the service's own code table (so rules do fire), dates include impossible and partial ones, and
every element may be replaced by arbitrary JSON of the wrong type.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

import fhir_mappers

_CODES = Path(fhir_mappers.__file__).parent / "codesets" / "codes.csv"
with _CODES.open(encoding="utf-8") as _file:
    CODINGS = [(row["system"], row["code"]) for row in csv.DictReader(_file)]
SYSTEMS = sorted({system for system, _ in CODINGS})
PATIENT_ID = "p1"

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
any_json = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the plausible value, sometimes any JSON at all (wrong type, null, nested junk)."""
    return st.one_of(strategy, strategy, strategy, any_json)


dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 1, 1)).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-02-30",
            "2026-13-01",
            "2026",
            "2026-07",
            "",
            "not a date",
            "2026-11-20T25:00:00Z",
            "2026-11-20T10:00:00",
            "0001-01-01",
            "9999-12-31T23:59:59+14:00",
            "2026-11-20T10:00:00+99:00",
        ]
    ),
)
coding = st.fixed_dictionaries(
    {},
    optional={
        "system": maybe(st.sampled_from(SYSTEMS)),
        "code": maybe(st.sampled_from([code for _, code in CODINGS])),
        "display": st.text(max_size=20),
    },
) | st.sampled_from(CODINGS).map(lambda pair: {"system": pair[0], "code": pair[1]})
concept = st.fixed_dictionaries({}, optional={"coding": maybe(st.lists(maybe(coding), max_size=3)), "text": st.text()})
quantity = st.fixed_dictionaries(
    {},
    optional={
        "value": maybe(st.floats(min_value=-1, max_value=100, allow_nan=False) | st.integers(-5, 5000)),
        "unit": maybe(st.sampled_from(["g/L", "mg/dL", "g/dL", "mg/L", "%", "10*9/L", "kg", "mg", "g", "mL", "x"])),
        "system": maybe(st.just("http://unitsofmeasure.org")),
        "code": maybe(st.sampled_from(["g/L", "mg/dL", "g/dL", "%", "10*9/L", "kg", "mg/kg", "g"])),
        "comparator": maybe(st.sampled_from(["<", "<=", ">", ">="])),
    },
)
reference = st.fixed_dictionaries(
    {},
    optional={
        "reference": maybe(
            st.sampled_from(
                [f"Patient/{PATIENT_ID}", "Patient/other", "Encounter/e1", "Medication/m1", "#m", "urn:uuid:x"]
            )
        ),
        "display": st.text(max_size=10),
    },
)
period = st.fixed_dictionaries({}, optional={"start": maybe(dates), "end": maybe(dates)})
RESOURCE_TYPES = [
    "Observation",
    "Condition",
    "MedicationAdministration",
    "MedicationRequest",
    "MedicationStatement",
    "Encounter",
    "Procedure",
    "Immunization",
    "Medication",
    "Patient",
    "OperationOutcome",
    "Basic",
]
STATUSES = ["final", "amended", "preliminary", "entered-in-error", "completed", "active", "stopped", "in-progress",
            "cancelled", "draft", "finished", "unknown", "not-done", "on-hold"]  # fmt: skip


@st.composite
def resource(draw: st.DrawFn) -> dict[str, Any]:
    """One FHIR-shaped resource of a type the service reads (or not), every element possibly wrong."""
    kind = draw(st.sampled_from(RESOURCE_TYPES))
    body = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "id": maybe(st.from_regex(r"[A-Za-z0-9\-.]{1,12}", fullmatch=True)),
                "status": maybe(st.sampled_from(STATUSES)),
                "code": maybe(concept),
                "category": maybe(st.lists(concept, max_size=2)),
                "subject": maybe(reference),
                "patient": maybe(reference),
                "encounter": maybe(reference),
                "valueQuantity": maybe(quantity),
                "valueString": maybe(st.sampled_from(["IgG kappa", "IgA lambda", "negativ", "IgG", "< 0.5"])),
                "valueCodeableConcept": maybe(concept),
                "effectiveDateTime": maybe(dates),
                "effectivePeriod": maybe(period),
                "issued": maybe(dates),
                "onsetDateTime": maybe(dates),
                "recordedDate": maybe(dates),
                "authoredOn": maybe(dates),
                "occurrenceDateTime": maybe(dates),
                "performedDateTime": maybe(dates),
                "period": maybe(period),
                "birthDate": maybe(dates),
                "verificationStatus": maybe(concept),
                "clinicalStatus": maybe(concept),
                "severity": maybe(concept),
                "class": maybe(coding),
                "medicationCodeableConcept": maybe(concept),
                "medicationReference": maybe(reference),
                "reasonReference": maybe(st.lists(reference, max_size=2)),
                "reasonCode": maybe(st.lists(concept, max_size=2)),
                "vaccineCode": maybe(concept),
                "referenceRange": maybe(st.lists(st.fixed_dictionaries({}, optional={"low": quantity}), max_size=1)),
                "dosage": maybe(st.fixed_dictionaries({}, optional={"dose": quantity, "route": concept})),
                "dosageInstruction": maybe(
                    st.lists(st.fixed_dictionaries({}, optional={"doseAndRate": st.lists(any_json, max_size=1)}))
                ),
            },
        )
    )
    return {"resourceType": kind, **body}


def searchset(resources: list[Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


bundle_value = st.one_of(
    st.lists(resource(), max_size=6).map(searchset),
    st.lists(maybe(resource()), max_size=4).map(searchset),
    st.none(),
    any_json,
)
