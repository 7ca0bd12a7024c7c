"""Route FHIR resources to their mappers and collect a ``PatientRecord``.

A resource the service cannot use never fails the request: it becomes a ``DataIssue`` named on the card. Resources
with ``entered-in-error`` status, or that belong to another patient, are left out and named too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, get_args, get_origin

from fhir_mappers.condition import map_condition
from fhir_mappers.context import MappingContext
from fhir_mappers.elements import coded_value
from fhir_mappers.encounter import ADMISSION_CLASSES, map_encounter
from fhir_mappers.errors import MappingError
from fhir_mappers.immunization import map_immunization
from fhir_mappers.medication import map_medication, medication_read
from fhir_mappers.observation import map_observation
from fhir_mappers.patient import Demographics, map_deceased, map_patient
from fhir_mappers.procedure import map_procedure
from fhir_mappers.references import resource_key
from guideline.model import DataIssue, PatientRecord
from guideline.text import Message, msg

Mapper = Callable[[Mapping[str, Any], MappingContext, str], Any]

MAPPERS: Mapping[str, Mapper] = {
    "Observation": map_observation,
    "Condition": map_condition,
    "Encounter": map_encounter,
    "MedicationAdministration": map_medication,
    "MedicationRequest": map_medication,
    "MedicationStatement": map_medication,
    "Procedure": map_procedure,
    "Immunization": map_immunization,
}
"""resourceType -> mapper. Patient is handled separately (one per request); other types are ignored."""
READ_TYPES: tuple[str, ...] = ("Patient", *MAPPERS, "Medication")
"""Every resource type the mapping reads: ``Patient``, the ``MAPPERS`` types, and ``Medication`` (the product a
medication resource references). The Bulk Data client asks for these (``_type``) and the worklist opens only these."""

_MEDICATION_KINDS = frozenset(kind for kind, mapper in MAPPERS.items() if mapper is map_medication)


def _parts_by_type() -> Mapping[type, str]:
    """Each kind of record a mapper returns, to the ``PatientRecord`` field that collects it (``tuple[kind, ...]``)."""
    fields = PatientRecord.model_fields.items()
    return {get_args(f.annotation)[0]: name for name, f in fields if get_origin(f.annotation) is tuple}


_PARTS = _parts_by_type()


def summarize(
    resources: Iterable[Mapping[str, Any]],
    *,
    patient_id: str | None,
    ctx: MappingContext,
    issues: Iterable[DataIssue] = (),
) -> PatientRecord:
    """Map every resource into one ``PatientRecord`` for the patient ``patient_id``.

    Args:
        resources: FHIR R4 resources (JSON objects) from prefetch or the FHIR server, any order.
        patient_id: ``context.patientId``; resources whose subject/patient names another patient are left out.
        ctx: time zone, code table and lookups.
        issues: data issues found before mapping (e.g. an optional prefetch key that was unavailable).
    """
    collected: dict[str, list[Any]] = {name: [] for name in _PARTS.values()}
    collected["data_issues"].extend(issues)
    demographics = Demographics(None, None, deceased=False)
    seen: set[str] = set()
    subject_ref = None if patient_id is None else f"Patient/{patient_id}"
    for resource in resources:
        kind = resource.get("resourceType")
        if not isinstance(kind, str) or (kind != "Patient" and kind not in MAPPERS):
            continue  # another type, or not a resource at all (a resourceType that is not a string)
        read = match = None
        if kind in _MEDICATION_KINDS:
            read = medication_read(resource, ctx)
            match = read[0]
            if match is None:
                continue  # e.g. paracetamol: nothing the guideline reads, so nothing to report even if excluded
        ref = resource_key(resource)
        if ref in seen and not ref.endswith("(no id)"):
            continue
        seen.add(ref)
        problem = _excluded(resource, kind, patient_id, subject_ref, ctx)
        try:
            if problem is not None:
                if match is not None or _is_relevant(resource, kind, ctx):
                    collected["data_issues"].append(DataIssue(ref=ref, reason=problem))
                continue
            if kind == "Patient":
                # Deceased is read first: a Patient without a birthDate is still known to have died.
                demographics = Demographics(None, None, deceased=map_deceased(resource))
                demographics = map_patient(resource, ctx)
                continue
            if read is not None:
                result = map_medication(resource, ctx, ref, read=read)
            else:
                result = MAPPERS[kind](resource, ctx, ref)
        except MappingError as error:
            collected["data_issues"].append(DataIssue(ref=ref, reason=error.message()))
            continue
        if type(result) is list:
            for part in result:
                if part is not None:
                    collected[_PARTS[type(part)]].append(part)
        elif result is not None:
            collected[_PARTS[type(result)]].append(result)
    return PatientRecord(
        birth_date=demographics.birth_date,
        birth_date_latest=demographics.birth_date_latest,
        deceased=demographics.deceased,
        **{name: tuple(parts) for name, parts in collected.items()},
    )


def _excluded(
    resource: Mapping[str, Any], kind: Any, patient_id: str | None, subject_ref: str | None, ctx: MappingContext
) -> Message | None:
    """Why ``resource`` is left out (entered in error, another patient's), or ``None``.

    ``subject_ref``: the ``"Patient/<patient_id>"`` its subject must name (built once per call, not per resource).
    """
    if resource.get("status") == "entered-in-error":
        return msg("entered-in-error: not used")
    verification = resource.get("verificationStatus")
    if verification is not None and coded_value(verification) == "entered-in-error":
        return msg("entered-in-error: not used")
    if patient_id is None:
        return None
    if kind == "Patient":
        rid = resource.get("id")
        return (
            None if rid in (None, patient_id) else msg("a different patient than context.patientId ({id})", id=str(rid))
        )
    named = resource.get("subject") or resource.get("patient")
    if type(named) is dict and named.get("reference") == subject_ref:
        return None  # the common case, "Patient/<id>" itself: what ctx.ref would give, without resolving it
    subject = ctx.ref(named)
    if subject is not None and subject != subject_ref:
        return msg("belongs to a different patient than context.patientId: not used")
    return None


def _is_relevant(resource: Mapping[str, Any], kind: str, ctx: MappingContext) -> bool:
    """Whether an excluded resource is one the guideline would have read (so it is worth naming on the card).

    Medication* resources are decided by the caller: relevant exactly when ``medication_match`` finds a concept.
    """
    if kind == "Patient":
        return True
    if kind == "Encounter":
        return coded_value(resource.get("class")) in ADMISSION_CLASSES
    concept = resource.get("vaccineCode" if kind == "Immunization" else "code")
    return bool(ctx.codes.matches(concept, by_name=True))
