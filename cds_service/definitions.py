"""The three CDS services (one per hook) and their prefetch templates, as data.

Prefetch templates use R4 search syntax (``_sort=-date``; cds-hooks-spec.md pitfall 6) and only the CDS Hooks
query subset: reference, token (with comma-separated OR) and ``_sort`` parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fhir_mappers.codes import LOINC, NPU, NPU_LEGACY, code_table
from guideline.sources import GUIDELINE_LABEL

PATIENT = "patient"
OBSERVATIONS = "observations"
CONDITIONS = "conditions"
MEDICATION_ADMINISTRATIONS = "medicationAdministrations"
MEDICATION_REQUESTS = "medicationRequests"
MEDICATION_STATEMENTS = "medicationStatements"
ENCOUNTERS = "encounters"
PROCEDURES = "procedures"

_LAB_CONCEPTS = ("lab-igg", "lab-iga", "lab-igm", "lab-m-protein")


def _lab_codes() -> str:
    """LOINC codes, and NPU codes under both the current and the legacy NPU system URI."""
    tokens: list[str] = []
    for concept in _LAB_CONCEPTS:
        for system, code, _ in code_table().codings_for(concept, systems=(LOINC, NPU)):
            tokens.append(f"{system}|{code}")
            if system == NPU:
                tokens.append(f"{NPU_LEGACY}|{code}")
    return ",".join(tokens)


_V3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PREFETCH: Mapping[str, str] = {
    PATIENT: "Patient/{{context.patientId}}",
    OBSERVATIONS: "Observation?patient={{context.patientId}}&code=" + _lab_codes() + "&_sort=-date",
    CONDITIONS: "Condition?patient={{context.patientId}}",
    MEDICATION_ADMINISTRATIONS: "MedicationAdministration?patient={{context.patientId}}",
    MEDICATION_REQUESTS: "MedicationRequest?patient={{context.patientId}}",
    MEDICATION_STATEMENTS: "MedicationStatement?patient={{context.patientId}}",
    ENCOUNTERS: f"Encounter?patient={{{{context.patientId}}}}&class={_V3}|IMP,{_V3}|ACUTE,{_V3}|NONAC,{_V3}|EMER",
    PROCEDURES: "Procedure?patient={{context.patientId}}",
}
"""Prefetch key -> FHIR query template; the same queries a later fallback fetch will run."""


@dataclass(frozen=True)
class ServiceDefinition:
    """One CDS service as discovery lists it (CDS Hooks 2.0.1 "Discovery")."""

    id: str
    hook: str
    title: str
    description: str

    def discovery(self, *, usage_requirements: str | None = None) -> dict[str, object]:
        """Return the discovery entry with the shared prefetch templates."""
        entry: dict[str, object] = {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": dict(PREFETCH),
        }
        if usage_requirements:
            entry["usageRequirements"] = usage_requirements
        return entry


_ABOUT = (
    f"Applies {GUIDELINE_LABEL}: start, continue, pause or stop immunoglobulin replacement therapy (IgRT) in "
    "secondary immunodeficiency, including after CAR-T or bispecific antibodies."
)
SERVICES: tuple[ServiceDefinition, ...] = (
    ServiceDefinition(
        id="sid-igrt-order-select",
        hook="order-select",
        title="IgRT in secondary immunodeficiency (order-select)",
        description=f"{_ABOUT} Answers when a selected order is an immunoglobulin (ATC J06BA).",
    ),
    ServiceDefinition(
        id="sid-igrt-order-sign",
        hook="order-sign",
        title="IgRT in secondary immunodeficiency (order-sign)",
        description=f"{_ABOUT} Answers when the draft orders include an immunoglobulin (ATC J06BA).",
    ),
    ServiceDefinition(
        id="sid-igrt-patient-view",
        hook="patient-view",
        title="IgRT in secondary immunodeficiency (patient-view)",
        description=(
            f"{_ABOUT} Shows a card for patients after CAR-T/bsAb (12 months), on IgRT, or with haematological "
            "disease or HSCT and IgG < 6 g/L, when a decision needs the clinician's attention."
        ),
    ),
)
USAGE_REQUIREMENTS = (
    "Needs the listed prefetch (all keys except medicationStatements and procedures are required; without them "
    "the service answers 412). Dates are evaluated in the Europe/Copenhagen time zone by default."
)


def lookup(service_id: str) -> ServiceDefinition | None:
    """Return the service with this id, or ``None``."""
    return next((s for s in SERVICES if s.id == service_id), None)
