"""FHIR R4 validity of what the service and the worklist emit: the R4B models, FHIR JSON, and required bindings.

``problems(resource)`` is ``commands.validate.fhir_problems`` (the ``fhir.resources`` R4B models, plus no ``null``,
``[]`` or ``{}``) and what those models leave out for the elements we emit: the codes of required bindings
(``OperationOutcome.issue.code`` from IssueType ...), Parameters' inv-1, and dom-3 (a contained resource is
referenced from its container).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from commands.fhir_validation import fhir_problems

ISSUE_TYPES = frozenset(
    "invalid structure required value invariant security login unknown expired forbidden suppressed processing "
    "not-supported duplicate multiple-matches not-found deleted too-long code-invalid extension too-costly "
    "business-rule conflict transient lock-error no-store exception timeout incomplete throttled informational".split()
)
"""FHIR R4 IssueType (required binding of ``OperationOutcome.issue.code``)."""

_BINDINGS = {
    ("OperationOutcome", "issue.severity"): "fatal error warning information",
    ("OperationOutcome", "issue.code"): " ".join(sorted(ISSUE_TYPES)),
    ("GuidanceResponse", "status"): "success data-requested data-required in-progress failure entered-in-error",
    ("ServiceRequest", "status"): "draft active on-hold revoked completed entered-in-error unknown",
    ("ServiceRequest", "intent"): "proposal plan directive order original-order reflex-order filler-order "
    "instance-order option",
    ("Bundle", "type"): "document message transaction transaction-response batch batch-response history searchset "
    "collection",
    ("Bundle", "entry.request.method"): "GET HEAD POST PUT DELETE PATCH",
    ("Patient", "gender"): "male female other unknown",
    ("Observation", "status"): "registered preliminary final amended corrected cancelled entered-in-error unknown",
    ("Condition", "clinicalStatus.coding.code"): "active recurrence relapse inactive remission resolved",
    ("Condition", "verificationStatus.coding.code"): "unconfirmed provisional differential confirmed refuted "
    "entered-in-error",
    ("MedicationAdministration", "status"): "in-progress not-done on-hold completed entered-in-error stopped unknown",
    ("MedicationRequest", "status"): "active on-hold cancelled completed entered-in-error stopped draft unknown",
    ("MedicationStatement", "status"): "active completed entered-in-error intended stopped on-hold unknown not-taken",
    ("Immunization", "status"): "completed entered-in-error not-done",
    ("Procedure", "status"): "preparation in-progress not-done on-hold stopped completed entered-in-error unknown",
    ("Encounter", "status"): "planned arrived triaged in-progress onleave finished cancelled entered-in-error unknown",
}
REQUIRED_BINDINGS: Mapping[tuple[str, str], frozenset[str]] = {
    key: frozenset(codes.split()) for key, codes in _BINDINGS.items()
}
"""Required bindings of the coded elements the service, the worklist and the uploader emit: ``(type, path)``
(``.``-separated, through arrays) -> the allowed codes. The coded ``Condition`` statuses are checked on every coding
(what we emit codes them in HL7's condition-clinical and condition-ver-status systems only)."""


def problems(resource: Any) -> list[str]:
    """Return every way ``resource`` (and each resource inside it) is not valid FHIR R4, as ``path: why``."""
    found = [f"{p.path}: {p.message}" if p.path else p.message for p in fhir_problems(resource)]
    for path, inner in _resources(resource, ""):
        found += [f"{path}{problem}" for problem in _bindings(inner) + _invariants(inner)]
    return found


def assert_valid(resource: Any, where: str = "") -> None:
    """Fail with every problem of ``resource`` (``where`` names it in the message)."""
    found = problems(resource)
    assert not found, f"{where or resource.get('resourceType')}: not valid FHIR R4: " + "; ".join(found)


def _resources(resource: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The resource and each resource it holds (contained, Bundle entries), with where it is."""
    if not isinstance(resource, Mapping):
        return
    yield path, resource
    for index, inner in enumerate(resource.get("contained") or []):
        yield from _resources(inner, f"{path}contained[{index}]: ")
    for index, entry in enumerate(resource.get("entry") or []):
        if isinstance(entry, Mapping):
            yield from _resources(entry.get("resource"), f"{path}entry[{index}].resource: ")


def _values(value: Any, parts: list[str]) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _values(item, parts)
    elif not parts:
        yield value
    elif isinstance(value, Mapping) and parts[0] in value:
        yield from _values(value[parts[0]], parts[1:])


def _bindings(resource: Mapping[str, Any]) -> list[str]:
    kind = resource.get("resourceType")
    found = []
    for (bound_kind, path), allowed in REQUIRED_BINDINGS.items():
        if bound_kind != kind:
            continue
        for value in _values(resource, path.split(".")):
            if value not in allowed:
                found.append(f"{path}: {value!r} is not a code of its required value set")
    return found


def _invariants(resource: Mapping[str, Any]) -> list[str]:
    found = []
    if resource.get("resourceType") == "Parameters":  # inv-1: one of value[x], resource or part
        for index, parameter in enumerate(resource.get("parameter") or []):
            kinds = [k for k in parameter if k.startswith("value") or k in ("resource", "part")]
            if len(kinds) != 1:
                found.append(f"parameter[{index}]: inv-1: exactly one of value[x], resource, part (has {kinds})")
    text = repr(resource)
    for index, inner in enumerate(resource.get("contained") or []):  # dom-3: contained resources are referenced
        if f"'#{inner.get('id')}'" not in text:
            found.append(f"contained[{index}]: dom-3: not referenced from its container")
    return found
