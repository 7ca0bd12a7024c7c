"""Condition -> ``InfectionRecord`` (coded infections) or ``Diagnosis`` (populations, scope, CAR-T history).

Infection dates follow terminology.md §4.3: onsetDateTime, then onsetPeriod.start, then recordedDate; the card
says which was used. ``abatementDateTime`` (else ``abatementPeriod.start``) ends the infection's active period
(Opsummering, "Monitorering af effekt": a sample "når patienten ikke har en aktiv infektion"). A code in an
infection chapter that the tables do not classify (``infection-unclassified``: ICD-10 A00-B99, J00-J22, ...) is
kept as an unclassified infection: never counted as bacterial, always named on the card. Refuted and
entered-in-error Conditions are not used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mappers.codes import site_table
from fhir_mappers.context import MappingContext
from fhir_mappers.dates import first_date
from fhir_mappers.elements import coded_value, codings, concept_text
from fhir_mappers.errors import InvalidElementError, MissingElementError
from guideline.concepts import SEVERE_SITES, DiagnosisKind, InfectionKind, InfectionSite, TherapyKind
from guideline.model import Diagnosis, InfectionRecord, TherapyAdministration
from guideline.text import msg

_INFECTION_KINDS = {
    "infection-bacterial": InfectionKind.BACTERIAL,
    "infection-possibly-bacterial": InfectionKind.POSSIBLY_BACTERIAL,
    "infection-bacterial-sepsis": InfectionKind.BACTERIAL_SEPSIS,
    "infection-sepsis-unspecified": InfectionKind.SEPSIS_UNSPECIFIED,
}
DIAGNOSIS_KINDS = {
    "dx-haematological-malignancy": DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY,
    "dx-allo-hsct": DiagnosisKind.ALLO_HSCT,
    "dx-autologous-hsct": DiagnosisKind.AUTOLOGOUS_HSCT,
    "dx-hsct-unknown-type": DiagnosisKind.HSCT_UNKNOWN_TYPE,
    "dx-primary-immunodeficiency": DiagnosisKind.PRIMARY_IMMUNODEFICIENCY,
    "dx-car-t-history": DiagnosisKind.CAR_T_HISTORY,
    "dx-bronchiectasis": DiagnosisKind.BRONCHIECTASIS,
    "dx-ig-immunomodulation-indication": DiagnosisKind.IG_IMMUNOMODULATION_INDICATION,
}
_SITES = {f"site-{site.value}": site for site in InfectionSite}
_ONSET = ("onsetDateTime", "onsetPeriod.start", "recordedDate")
_ABATEMENT = ("abatementDateTime", "abatementPeriod.start")
_UNCLASSIFIED = "infection-unclassified"

ConditionPart = InfectionRecord | Diagnosis | TherapyAdministration


def map_condition(resource: Mapping[str, Any], ctx: MappingContext, ref: str) -> list[ConditionPart]:
    """Map a Condition to the guideline facts it carries (none when its codes are not in the code table).

    A CAR-T history code (SKS DZ948D) also yields a CAR-T ``TherapyAdministration`` with an uncertain date,
    used for T0 only when no infusion is recorded (terminology.md §3.1).

    Raises:
        MappingError: refuted, or an infection without any usable date.
    """
    matches = ctx.codes.matches(resource.get("code"))
    concepts = {m.concept for m in matches}
    infection_kinds = frozenset(_INFECTION_KINDS[c] for c in concepts if c in _INFECTION_KINDS)
    diagnosis_kinds = [DIAGNOSIS_KINDS[c] for c in concepts if c in DIAGNOSIS_KINDS]
    unclassified = not infection_kinds and _UNCLASSIFIED in concepts
    if not infection_kinds and not diagnosis_kinds and not unclassified:
        return []
    display = concept_text(resource.get("code"))
    verification = coded_value(resource.get("verificationStatus"))
    if verification == "refuted":
        raise InvalidElementError(
            msg("{name}: verificationStatus refuted", name=display), path="Condition.verificationStatus"
        )
    onset = first_date(resource, _ONSET, tz=ctx.tz, type_name="Condition")
    parts: list[ConditionPart] = []
    if infection_kinds or unclassified:
        if onset is None:
            raise MissingElementError(msg("{name}: no onset or recordedDate", name=display), path="Condition.onset[x]")
        severity = {m.concept for m in ctx.codes.matches(resource.get("severity"))}
        site = next((_SITES[m.concept] for m in site_table().matches(resource.get("code"))), None)
        abatement = first_date(resource, _ABATEMENT, tz=ctx.tz, type_name="Condition")
        parts.append(
            InfectionRecord(
                ref=ref,
                display=display,
                kinds=infection_kinds,
                onset=onset[0],
                date_source=onset[1],
                verification=verification,
                severity_severe="severity-severe" in severity,
                encounter_refs=ctx.refs(resource.get("encounter")),
                site=site,
                abatement=abatement[0] if abatement else None,
                severe_by_code=site in SEVERE_SITES,
                classified=not unclassified,
                code_key=_code_key(resource.get("code")),
            )
        )
    for kind in diagnosis_kinds:
        recorded = onset[0] if onset else None
        parts.append(Diagnosis(ref=ref, kind=kind, display=display, recorded=recorded))
        if kind == DiagnosisKind.CAR_T_HISTORY and recorded is not None:
            parts.append(
                TherapyAdministration(
                    kind=TherapyKind.CAR_T, substance=display, on=recorded, ref=ref, date_certain=False
                )
            )
    return parts


def _code_key(concept: Any) -> str:
    """The first coding as ``system|code`` (upper case, no dots), shared by an encounter diagnosis and its copy."""
    for coding in codings(concept):
        system, code = coding.get("system"), coding.get("code")
        if isinstance(system, str) and isinstance(code, str) and code.strip():
            return f"{system}|{code.strip().upper().replace('.', '')}"
    return ""
