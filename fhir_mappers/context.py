"""What every resource mapper needs besides the resource: time zone, code table, and Bundle-wide lookups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from fhir_mappers.codes import CodeTable
from fhir_mappers.elements import as_list
from fhir_mappers.references import reference_key


@dataclass(frozen=True)
class MappingContext:
    """Shared mapping inputs.

    Attributes:
        tz: the deployment's time zone; dateTimes become local dates in it.
        medications: ``"Medication/id"`` to Medication resource, for ``medicationReference`` (Epic puts them in
            draftOrders; prefetch may carry them too).
        full_urls: Bundle fullUrl to ``"Type/id"``, for ``urn:uuid`` references.
    """

    tz: ZoneInfo
    codes: CodeTable
    medications: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    full_urls: Mapping[str, str] = field(default_factory=dict)

    _resolved: dict[str, str | None] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Reference string -> ``"Type/id"``, for this context's lifetime (one call): every resource names its
    subject, mostly the same one."""
    medications_read: dict[bytes, tuple[Any, str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    """A medication concept (its JSON, orjson) -> what ``fhir_mappers.medication.medication_read`` made of it, for
    this context's lifetime (one call): a long history repeats the same few products in every administration."""

    def ref(self, reference: Any) -> str | None:
        """Return ``"Type/id"`` of a Reference, resolving ``urn:uuid`` through the fullUrl map."""
        text = reference.get("reference") if isinstance(reference, dict) else reference
        if not isinstance(text, str):
            return reference_key(reference, full_urls=self.full_urls)
        try:
            return self._resolved[text]
        except KeyError:
            key = self._resolved[text] = reference_key(text, full_urls=self.full_urls)
            return key

    def refs(self, references: Any) -> tuple[str, ...]:
        """Return the ``"Type/id"`` of every Reference in a list (unresolvable ones left out)."""
        keys = (self.ref(r) for r in as_list(references))
        return tuple(k for k in keys if k is not None)

    def medication_code(self, resource: Mapping[str, Any]) -> Any:
        """Return the medication CodeableConcept of a Medication* resource (inline, contained or referenced)."""
        if resource.get("medicationCodeableConcept") is not None:
            return resource["medicationCodeableConcept"]
        reference = resource.get("medicationReference")
        text = reference.get("reference") if isinstance(reference, Mapping) else None
        if isinstance(text, str) and text.startswith("#"):
            for contained in as_list(resource.get("contained")):
                if isinstance(contained, Mapping) and contained.get("id") == text[1:]:
                    return contained.get("code")
            return None
        key = self.ref(reference)
        medication = self.medications.get(key) if key else None
        if medication is not None:
            return medication.get("code")
        display = reference.get("display") if isinstance(reference, Mapping) else None
        return {"text": display} if isinstance(display, str) else None
