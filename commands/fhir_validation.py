"""Is a resource valid FHIR R4? The ``fhir.resources`` R4B models, and FHIR JSON's rules those models leave out.

Used by ``cds-service validate`` (``commands.validate``) on what a client sends, and by the tests on everything the
service and the worklist emit (``tests/fhir_validity.py``). Never on the request path: the service reads FHIR
leniently (``fhir_mappers``), and validating every resource of every call would cost more than deciding on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import ValidationError

__all__ = ["R4B_NOTE", "FhirProblem", "fhir_problems"]

R4B_NOTE = (
    "Checked with the FHIR R4B (4.3.0) models of fhir.resources (they have no R4 models): R4B changed mainly the "
    "evidence, medication-definition and subscription resources, so for the types this service reads (Patient, "
    "Observation, Condition, Encounter, Procedure, Immunization, Medication*, Bundle, OperationOutcome) it is close "
    "enough to R4 (4.0.1) that what it reports is a problem in R4 too."
)
"""Said in ``cds-service validate --help`` and the docs."""


@dataclass(frozen=True)
class FhirProblem:
    """One place where a resource is not valid FHIR: ``path`` inside the resource ("" for the whole) and why."""

    path: str
    message: str


def fhir_problems(resource: Any) -> tuple[FhirProblem, ...]:
    """Return where ``resource`` is not valid FHIR R4 (the R4B models; no null, empty array or empty object)."""
    if not isinstance(resource, Mapping):
        return (FhirProblem("", "not a FHIR resource (a JSON object)"),)
    kind = resource.get("resourceType")
    model = _model(kind)
    if model is None:
        return (FhirProblem("resourceType", f"{str(kind)[:40]!r} is not a FHIR R4 resource type"),)
    problems = list(_json_rules(resource, ""))
    try:
        model.model_validate(resource)
    except ValidationError as error:
        problems += [FhirProblem(_path(e["loc"]), _message(e["type"], e["msg"])) for e in error.errors()]
    except (KeyError, ValueError, TypeError) as error:  # fhir_core: a nested resource of an unknown type
        problems.append(FhirProblem("", f"a nested resource is not FHIR R4 ({type(error).__name__}: {error})"))
    return tuple(problems)


def _model(kind: Any) -> type[FHIRAbstractModel] | None:
    if not isinstance(kind, str) or not kind.isalpha():
        return None
    try:
        model = get_fhir_model_class(kind)
    except ValueError:
        return None
    return model if issubclass(model, Resource) else None


def _json_rules(value: Any, path: str) -> Iterator[FhirProblem]:
    """FHIR JSON: an element is left out, never ``null``, ``[]`` or ``{}`` (null stays allowed inside arrays)."""
    if isinstance(value, Mapping):
        if not value:
            yield FhirProblem(path, "an empty object is not allowed in FHIR JSON")
        for name, child in value.items():
            where = f"{path}.{name}" if path else str(name)
            if child is None:
                yield FhirProblem(where, "null is not allowed in FHIR JSON (leave the element out)")
            else:
                yield from _json_rules(child, where)
    elif isinstance(value, list):
        if not value:
            yield FhirProblem(path, "an empty array is not allowed in FHIR JSON (leave the element out)")
        for index, child in enumerate(value):
            yield from _json_rules(child, f"{path}[{index}]")


def _path(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _message(kind: str, message: str) -> str:
    if kind == "extra_forbidden":
        return "not an element of this resource type in FHIR R4"
    if kind in ("missing", "model_field_validation.missing"):
        return "a required element is missing"
    return message.removeprefix("Value error, ")
