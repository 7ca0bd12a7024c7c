"""Reading searchset Bundles and single resources as the client sent them.

OperationOutcome entries are not patient data: an issue with severity ``error`` or ``fatal`` (other than
``not-found``, which Epic uses for "no results") means the search failed, and the caller must not decide on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir_mappers.elements import as_list
from fhir_mappers.references import resource_key


@dataclass(frozen=True)
class SearchResult:
    """The resources of one prefetch value, the search errors it reported, and its fullUrl map."""

    resources: tuple[Mapping[str, Any], ...] = ()
    errors: tuple[str, ...] = ()
    full_urls: Mapping[str, str] = field(default_factory=dict)


def outcome_errors(outcome: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the error/fatal issues of an OperationOutcome as text (``not-found`` issues excluded)."""
    errors = []
    for issue in as_list(outcome.get("issue")):
        if not isinstance(issue, Mapping) or issue.get("severity") not in ("error", "fatal"):
            continue
        if issue.get("code") == "not-found":
            continue
        details = issue.get("details")
        text = details.get("text") if isinstance(details, Mapping) else None
        errors.append(str(text or issue.get("diagnostics") or issue.get("code") or "error")[:200])
    return tuple(errors)


def read_value(value: Mapping[str, Any]) -> SearchResult:
    """Read a prefetch value that is a resource, a Bundle, or an OperationOutcome.

    A Bundle without ``type`` is accepted (the CDS Hooks Sandbox sends those).
    """
    kind = value.get("resourceType")
    if kind == "OperationOutcome":
        return SearchResult(errors=outcome_errors(value) or ("OperationOutcome without detail",))
    if kind != "Bundle":
        return SearchResult(resources=(value,))
    resources: list[Mapping[str, Any]] = []
    errors: list[str] = []
    full_urls: dict[str, str] = {}
    for entry in as_list(value.get("entry")):
        # ``dict`` first: parsed JSON is dicts, and the ``Mapping`` ABC check is several times slower (every entry).
        resource = entry.get("resource") if isinstance(entry, dict) or isinstance(entry, Mapping) else None
        if not (isinstance(resource, dict) or isinstance(resource, Mapping)):
            continue
        if resource.get("resourceType") == "OperationOutcome":
            errors.extend(outcome_errors(resource))
            continue
        resources.append(resource)
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            full_urls[full_url] = resource_key(resource)
    return SearchResult(tuple(resources), tuple(errors), full_urls)
