"""Synthetic cohorts as FHIR Bulk NDJSON, for tests, the benchmark and demos (``cds-service synth-cohort``).

A realistic mix: most patients are of no concern to the guideline (a Patient and nothing the rules read, or, for a
fifth of them, a hypertension diagnosis and a blood pressure, as in a general export such as Synthea's); the rest
are copies of the synthetic fixture patients (after CAR-T or bsAb, on IgRT, with missing data ...), each under a new
id with every resource id and reference renamed, so the copies are separate patients. 2 % of all patients are
deceased (``deceasedBoolean`` or ``deceasedDateTime``). Deterministic for a seed.

**Profiles.** ``basic`` (the default) is the mix above, a few resources per patient. ``realistic``
(``cohort.synth_density``) adds to every patient what a Synthea export carries: encounters with vitals and lab
Observations, claims and explanations of benefit, DocumentReferences and DiagnosticReports with base64 notes,
procedures, immunizations, conditions, medications, care plans: about 450 resources and 450 KB a patient, most of
them of types or codes the rules never read. With ``gzip`` the files are ``<Type>.ndjson.gz``; large types are split
into several files (``Observation.ndjson``, ``Observation_2.ndjson`` ...), and a Bulk Data ``manifest.json`` lists
them, as a server's export does.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

from cohort.ownership import patient_of
from cohort.synth_density import DensityWriter
from fhir_mappers.references import with_references_renamed

PROFILES = ("basic", "realistic")
"""``write_synthetic_cohort`` profiles: a few resources a patient, or Synthea-like density."""

CONCERNED_SHARE = 0.3
"""Share of patients copied from the fixture patients; the rest have no data the guideline reads."""
UNRELATED_DATA_SHARE = 0.2
"""Share of the other patients with a hypertension Condition and a blood pressure Observation (data no rule reads)."""
DECEASED_SHARE = 0.02
"""Share of all patients whose Patient says they have died (half ``deceasedBoolean``, half ``deceasedDateTime``)."""


def templates_by_patient(
    resources: Sequence[Mapping[str, Any]],
) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Group fixture resources into one list per patient; return them and the patient-less Medications."""
    groups: dict[str, list[dict[str, Any]]] = {}
    shared: list[dict[str, Any]] = []
    for resource in resources:
        patient = patient_of(dict(resource))
        if not isinstance(patient, str):  # no patient (the fixtures reference none on another server)
            shared.append(dict(resource))
        else:
            groups.setdefault(patient, []).append(dict(resource))
    return [groups[key] for key in sorted(groups)], shared


def write_synthetic_cohort(
    count: int,
    out_dir: Path,
    *,
    templates: Sequence[Sequence[Mapping[str, Any]]],
    shared: Sequence[Mapping[str, Any]] = (),
    as_of: date,
    seed: int = 1,
    profile: str = "basic",
    gzip: bool = False,
) -> dict[str, int]:
    """Write ``count`` patients as ``<Type>.ndjson`` files in ``out_dir``; return resources written per type.

    Args:
        count: patients to write.
        out_dir: the directory (created).
        templates: one resource list per fixture patient, dated for ``as_of`` (copies are made of these).
        shared: resources of no patient (Medication), written once.
        as_of: the date the cohort will be evaluated on (birth dates of the plain patients are drawn before it).
        seed: the random seed (the same seed gives the same files).
        profile: ``basic`` or ``realistic`` (``PROFILES``; see the module docstring).
        gzip: write ``.ndjson.gz`` files (realistic profile: a tenth of the disk).

    Raises:
        ValueError: an unknown profile.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r} ({', '.join(PROFILES)})")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    handles: dict[str, IO[bytes]] = {}
    written: dict[str, int] = {}
    density = (
        DensityWriter(out_dir, rng=random.Random(seed + 1), as_of=as_of, gzip=gzip) if profile != "basic" else None
    )

    def emit(resource: Mapping[str, Any]) -> None:
        kind = str(resource["resourceType"])
        if density is not None:
            density.write(kind, orjson.dumps(resource))
            return
        if kind not in handles:
            handles[kind] = (out_dir / f"{kind}.ndjson").open("wb")
        handles[kind].write(orjson.dumps(resource) + b"\n")
        written[kind] = written.get(kind, 0) + 1

    try:
        for resource in shared:
            emit(resource)
        for number in range(count):
            patient_id = f"synth-{number:07d}"
            if templates and rng.random() < CONCERNED_SHARE:
                resources = copy_patient(templates[rng.randrange(len(templates))], patient_id)
            else:
                born = as_of - timedelta(days=rng.randrange(20 * 365, 90 * 365))
                resources = [{"resourceType": "Patient", "id": patient_id, "birthDate": born.isoformat()}]
                if rng.random() < UNRELATED_DATA_SHARE:
                    resources += unrelated_data(patient_id, on=as_of - timedelta(days=rng.randrange(1, 3 * 365)))
            if rng.random() < DECEASED_SHARE:
                patient = next(r for r in resources if r["resourceType"] == "Patient")
                if rng.random() < 0.5:
                    patient["deceasedBoolean"] = True
                else:
                    patient["deceasedDateTime"] = (as_of - timedelta(days=rng.randrange(1, 365))).isoformat()
            for resource in resources:
                emit(resource)
            if density is not None:
                density.patient(patient_id)
    finally:
        for handle in handles.values():
            handle.close()
        if density is not None:
            density.close()
    return density.written if density is not None else written


def unrelated_data(patient_id: str, *, on: date) -> list[dict[str, Any]]:
    """A hypertension Condition and a blood pressure Observation of ``patient_id`` on ``on``: data no rule reads."""
    subject = {"reference": f"Patient/{patient_id}"}
    return [
        {
            "resourceType": "Condition",
            "id": f"{patient_id}-hypertension",
            "clinicalStatus": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
            },
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003", "display": "Hypertension"}]},
            "subject": subject,
            "onsetDateTime": on.isoformat(),
            "recordedDate": on.isoformat(),
        },
        {
            "resourceType": "Observation",
            "id": f"{patient_id}-blood-pressure",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel"}]},
            "subject": subject,
            "effectiveDateTime": on.isoformat(),
            "component": [
                {
                    "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                    "valueQuantity": {"value": value, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org"},
                }
                for code, value in (("8480-6", 142), ("8462-4", 91))
            ],
        },
    ]


def copy_patient(resources: Sequence[Mapping[str, Any]], patient_id: str) -> list[dict[str, Any]]:
    """Return one patient's resources as ``patient_id``'s: every id prefixed, every reference to them renamed."""
    old_patient = next(str(r["id"]) for r in resources if r.get("resourceType") == "Patient")
    renamed = {f"{r['resourceType']}/{r['id']}": f"{r['resourceType']}/{patient_id}-{r['id']}" for r in resources}
    renamed[f"Patient/{old_patient}"] = f"Patient/{patient_id}"
    copies = []
    for resource in resources:
        copy = with_references_renamed(resource, renamed)
        copy["id"] = patient_id if resource.get("resourceType") == "Patient" else f"{patient_id}-{resource['id']}"
        copies.append(copy)
    return copies
