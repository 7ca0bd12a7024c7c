"""Lenient, type-checked access to FHIR JSON elements.

Real clients send payloads that strict FHIR validation rejects (CodeableConcept arrays sent as one object, Bundles
without ``type``, MedicationRequests without ``intent``: cds-hooks-spec.md pitfalls 12 and 13). The mappers read
only the elements the guideline uses, through these helpers, and never trust a JSON type. A JSON object is a
``dict`` (what ``json`` and ``orjson`` give); the hot helpers test for ``dict`` rather than the slower ``Mapping``
ABC.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mappers.errors import InvalidElementError
from guideline.text import msg

Resource = Mapping[str, Any]


def as_list(value: Any) -> list[Any]:
    """Return ``value`` as a list: ``None`` gives ``[]``, a single object gives ``[value]``."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def codings(concept: Any) -> list[Mapping[str, Any]]:
    """Return the Codings of a CodeableConcept, a list of CodeableConcepts, or a bare Coding."""
    found: list[Mapping[str, Any]] = []
    for item in as_list(concept):
        if not isinstance(item, dict):
            continue
        if "coding" in item:
            found.extend(c for c in as_list(item["coding"]) if isinstance(c, dict))
        elif "code" in item:
            found.append(item)
    return found


def concept_text(concept: Any) -> str:
    """Return a human-readable name: the CodeableConcept ``text``, else the first Coding display or code."""
    for item in as_list(concept):
        if isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"].strip():
            return str(item["text"]).strip()
    for coding in codings(concept):
        for key in ("display", "code"):
            value = coding.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return "(no text)"


def concept_names(concept: Any) -> list[str]:
    """Return every free-text name in a concept (``text`` and Coding displays), for name matching."""
    names: list[str] = []
    for item in as_list(concept):
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            names.append(item["text"])
    names.extend(c["display"] for c in codings(concept) if isinstance(c.get("display"), str))
    return names


def optional_str(resource: Resource, key: str, *, path: str) -> str | None:
    """Return ``resource[key]`` if it is a string, ``None`` if absent.

    Raises:
        InvalidElementError: the element is present but not a string.
    """
    value = resource.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidElementError(msg("expected a string, got {type}", type=type(value).__name__), path=path)
    return value


def coded_value(element: Any) -> str | None:
    """Return the code of a status-like element given as a code string, a Coding or a CodeableConcept."""
    if isinstance(element, str):
        return element
    for coding in codings(element):
        code = coding.get("code")
        if isinstance(code, str):
            return code
    return None
