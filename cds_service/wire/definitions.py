"""The three CDS services (one per hook) and their prefetch templates, as data.

Prefetch templates use R4 search syntax (``_sort=-date``; cds-hooks-spec.md pitfall 6) and only the CDS Hooks
query subset: reference, token (with comma-separated OR) and ``_sort`` parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cds_service.cards.options import DISCOVERY_EXTENSION, discovery_options
from cds_service.wire.errors import UnknownServiceError
from decision import Policy
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
IMMUNIZATIONS = "immunizations"

_LAB_CONCEPTS = (
    "lab-igg",
    "lab-iga",
    "lab-igm",
    "lab-m-protein",
    "lab-m-protein-typing",
    "body-weight",
    "lab-cd19-absolute",
    "lab-cd19-percent",
)


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
    IMMUNIZATIONS: "Immunization?patient={{context.patientId}}",
}
"""Prefetch key -> FHIR query template; the fallback fetch from ``fhirServer`` runs the same queries."""

_TOKEN = re.compile(r"\{\{context\.(\w+)\}\}")


def render_query(template: str, context: Mapping[str, Any]) -> str:
    """Fill ``{{context.<field>}}`` tokens (CDS Hooks 2.0.1 "Prefetch tokens") with the request's context values.

    Only root-level string fields are used; ``patientId`` is already validated as a FHIR id, so it is URL-safe.

    Raises:
        KeyError: the context lacks a field the template names (a defect: every template uses patientId only).
    """

    def value(match: re.Match[str]) -> str:
        field_value = context[match.group(1)]
        if not isinstance(field_value, str):
            raise KeyError(match.group(1))
        return field_value

    return _TOKEN.sub(value, template)


@dataclass(frozen=True)
class ServiceDefinition:
    """One CDS service as discovery lists it (CDS Hooks 2.0.1 "Discovery"), and how it decides (``policy``).

    ``policy`` (``decision.Policy``): whether it reads draft orders (only the selected ones for order-select),
    stays quiet unless the guideline concerns the patient (patient-view), and adds the follow-up reminder.
    """

    id: str
    hook: str
    title: str
    description: str
    policy: Policy = Policy()

    def discovery(
        self, *, usage_requirements: str | None = None, default_language: str = "en", silent: bool = False
    ) -> dict[str, object]:
        """Return the discovery entry with the shared prefetch templates and the card configuration options.

        The options are ``extension["sid-igrt.configuration-options"]`` (``cds_service.cards.options``). A service
        in silent mode (``CDS_SILENT_SERVICES``) says so in its description and in ``extension["sid-igrt.silent"]``,
        so that nobody takes its empty answers for a broken service.
        """
        description = self.description + (SILENT_NOTE if silent else "")
        extension: dict[str, object] = {DISCOVERY_EXTENSION: discovery_options(default_language, silent=silent)}
        if silent:
            extension[SILENT_EXTENSION] = True
        entry: dict[str, object] = {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": description,
            "prefetch": dict(PREFETCH),
            "extension": extension,
        }
        if usage_requirements:
            entry["usageRequirements"] = usage_requirements
        return entry


SILENT_NOTE = (
    " SILENT MODE: every call is evaluated and recorded as usual, but answered with no cards (the go-live trial; "
    "see docs/operations.md, Go-live)."
)
SILENT_EXTENSION = "sid-igrt.silent"
"""Discovery ``extension`` key: ``true`` while the service is in silent mode."""


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
        policy=Policy(reads_orders=True, selected_orders_only=True),
    ),
    ServiceDefinition(
        id="sid-igrt-order-sign",
        hook="order-sign",
        title="IgRT in secondary immunodeficiency (order-sign)",
        description=f"{_ABOUT} Answers when the draft orders include an immunoglobulin (ATC J06BA).",
        policy=Policy(reads_orders=True),
    ),
    ServiceDefinition(
        id="sid-igrt-patient-view",
        hook="patient-view",
        title="IgRT in secondary immunodeficiency (patient-view)",
        description=(
            f"{_ABOUT} Shows a card for patients after CAR-T/bsAb (12 months), on IgRT, or with haematological "
            "disease or HSCT and IgG < 6 g/L, when a decision needs the clinician's attention."
        ),
        policy=Policy(quiet_unless_concerned=True, follow_up=True),
    ),
)
USAGE_REQUIREMENTS = (
    "Needs the listed prefetch (all keys except medicationStatements, procedures and immunizations are required). "
    "Keys the client "
    "does not prefetch are fetched from fhirServer when the request carries fhirAuthorization and the server is on "
    "the service's allowlist; otherwise the service answers 412. Dates are evaluated in the Europe/Copenhagen time "
    "zone by default."
)
AUTH_REQUIRED_NOTICE = "Calls need a signed client JWT (ES384 or RS384) from a trusted issuer. "
AUTH_OFF_NOTICE = "AUTHENTICATION IS OFF (CDS_AUTH=off): this instance trusts any caller and is for local trials only. "


def usage_requirements(*, auth_required: bool) -> str:
    """Return the discovery ``usageRequirements`` text: whether a client JWT is needed (loudly when it is not)."""
    return (AUTH_REQUIRED_NOTICE if auth_required else AUTH_OFF_NOTICE) + USAGE_REQUIREMENTS


def find(service_id: str) -> ServiceDefinition | None:
    """Return the service with this id, or ``None``."""
    return next((s for s in SERVICES if s.id == service_id), None)


def lookup(service_id: str) -> ServiceDefinition:
    """Return the service with this id.

    Raises:
        UnknownServiceError: no such service (404).
    """
    service = find(service_id)
    if service is None:
        raise UnknownServiceError(f"No CDS service '{service_id[:80]}'. See GET /cds-services.")
    return service
