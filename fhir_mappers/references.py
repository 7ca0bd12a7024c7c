"""FHIR references normalised to ``"Type/id"``: relative, absolute (Epic), versioned, or ``urn:uuid`` fullUrls."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")
FHIR_ID_PATTERN = r"[A-Za-z0-9\-.]{1,64}"
"""The FHIR R4 ``id`` datatype's regular expression (match it whole: ``re.fullmatch``)."""
FHIR_ID = re.compile(FHIR_ID_PATTERN)
"""``FHIR_ID_PATTERN`` compiled; use ``is_fhir_id`` (``fullmatch``: ``re.match`` with ``$`` admits a final newline)."""
DOT_SEGMENTS = frozenset({".", ".."})
"""Ids the pattern allows that a URL resolver removes (RFC 3986 §5.2.4: ``Patient/..`` is the server's base)."""


def reference_key(reference: Any, *, full_urls: Mapping[str, str] | None = None) -> str | None:
    """Return ``"Type/id"`` for a Reference (or reference string), or ``None`` when it names no resource.

    ``https://ehr.example/fhir/Encounter/12/_history/3`` and ``Encounter/12`` both give ``"Encounter/12"``;
    a ``urn:uuid:`` reference is looked up in ``full_urls`` (Bundle fullUrl to ``"Type/id"``); contained
    references (``"#med1"``) give ``None`` (callers resolve them inside the resource).
    """
    text = reference.get("reference") if isinstance(reference, Mapping) else reference
    if not isinstance(text, str) or not text or text.startswith("#"):
        return None
    if text.startswith("urn:"):
        return (full_urls or {}).get(text)
    kind, slash, rid = text.partition("/")
    if slash and rid and "/" not in rid and "?" not in rid and _TYPE.match(kind):
        return text  # the common relative form "Type/id"
    parts = [p for p in text.split("?")[0].split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and _TYPE.match(parts[-2]):
        return f"{parts[-2]}/{parts[-1]}"
    return None


def resource_key(resource: Mapping[str, Any]) -> str:
    """Return ``"Type/id"`` of a resource; a resource without an id gets ``"Type/(no id)"``."""
    rid = resource.get("id")
    return f"{resource.get('resourceType')}/{rid if isinstance(rid, str) and rid else '(no id)'}"


def with_references_renamed(value: Any, renamed: Mapping[str, str]) -> Any:
    """Return a copy of ``value`` (a resource or any part of one) with each ``reference`` renamed.

    A reference is renamed when its last two path segments (``"Type/id"``) are a key of ``renamed``; the whole
    reference becomes that key's value (``"Patient/p1"`` -> ``"Patient/synth-0000001"``). Used to copy synthetic
    patients under new ids (fixtures, synthetic cohorts).
    """
    if isinstance(value, Mapping):
        out = {key: with_references_renamed(child, renamed) for key, child in value.items()}
        reference = out.get("reference")
        if isinstance(reference, str):
            tail = "/".join(reference.rsplit("/", 2)[-2:])
            if tail in renamed:
                out["reference"] = renamed[tail]
        return out
    if isinstance(value, list):
        return [with_references_renamed(child, renamed) for child in value]
    return value


def is_fhir_id(value: object) -> bool:
    r"""Whether ``value`` is a string usable as a FHIR ``id``: the whole of it matches ``FHIR_ID_PATTERN``.

    ``"."`` and ``".."`` match the pattern but are refused (``DOT_SEGMENTS``). ``"abc\n"`` is refused (a trailing
    newline that ``re.match(r"^...$")`` would let through).
    """
    return isinstance(value, str) and FHIR_ID.fullmatch(value) is not None and value not in DOT_SEGMENTS
