r"""FHIR ids in the worklist: one definition of a usable FHIR ``id``, and the ids and subjects made from a patient's.

A Bulk export's ``Patient.id`` is data, not a promise: ``../../etc/passwd``, ``=HYPERLINK(...)`` or 200 characters
arrive as they are. FHIR R4 (datatypes, ``id``: https://hl7.org/fhir/R4/datatypes.html#id) allows "any combination
of upper- or lower-case ASCII letters ('A'..'Z', and 'a'..'z'), numerals ('0'..'9'), '-' and '.', with a length
limit of 64 characters": ``[A-Za-z0-9\-\.]{1,64}``. Such a patient is still evaluated and listed; what is built
from the id is made safe here:

* ``guidance_response_id``: ``sid-igrt-<patient id>`` for a FHIR id that fits, else ``sid-igrt.`` and 55 hex digits of
  the id's SHA-256. The two forms differ in their ninth character, so a hashed id never equals a readable one, and
  two hashed ids are equal only for a SHA-256 collision in 220 bits (none is known; a chance one among 10^9
  patients has odds below 10^-48). Cutting the id (what this replaced) made ``x...x1`` and ``x...x2`` one id.
* ``subject_of``: ``{"reference": "Patient/<id>"}`` for a FHIR id; otherwise a logical reference,
  ``{"type": "Patient", "identifier": {"system": BULK_PATIENT_ID_SYSTEM, "value": <id>}}``. FHIR's
  ``Reference.identifier`` is for exactly this ("when there is no way to reference the other resource directly"):
  a literal ``Patient/../../etc/passwd`` is a URL that a receiving server resolves against its base (a path outside
  ``Patient``), refuses as malformed, or fails on referential integrity, losing the whole GuidanceResponse. The
  identifier keeps the id exactly, as a value, for a receiver to match.

``commands.worklist_pages`` names its files by ``is_fhir_id`` too: one definition for every use.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fhir_mappers.references import FHIR_ID_PATTERN, is_fhir_id

READABLE_PREFIX = "sid-igrt-"
"""``GuidanceResponse.id`` of a patient whose id fits after it: ``sid-igrt-<patient id>``."""
HASHED_PREFIX = "sid-igrt."
"""``GuidanceResponse.id`` of any other patient: ``sid-igrt.`` and the first hex digits of SHA-256(patient id)."""
BULK_PATIENT_ID_SYSTEM = "urn:sid-igrt:bulk-export:patient-id"
"""``Identifier.system`` of a subject whose ``Patient.id`` is not a FHIR id: the value is that id, as exported."""
MAX_ID = 64
"""The longest FHIR id, in characters."""
__all__ = ["BULK_PATIENT_ID_SYSTEM", "FHIR_ID_PATTERN", "guidance_response_id", "is_fhir_id", "subject_of"]


def guidance_response_id(patient_id: str) -> str:
    """Return the ``GuidanceResponse.id`` for a patient: a FHIR id, distinct for distinct patient ids.

    ``sid-igrt-<patient id>`` when the patient id is a FHIR id (``is_fhir_id``) of up to 55 characters; else
    ``sid-igrt.<the first 55 hex digits of SHA-256 of the UTF-8 patient id>`` (64 characters). Plain, unkeyed
    SHA-256: the same patient gets the same id in every run (a receiver updates it rather than adding another), and
    nothing is hidden by a key: ``subject`` names the patient anyway.
    """
    readable = READABLE_PREFIX + patient_id
    if is_fhir_id(patient_id) and len(readable) <= MAX_ID:
        return readable
    digest = hashlib.sha256(patient_id.encode("utf-8", "surrogatepass")).hexdigest()
    return HASHED_PREFIX + digest[: MAX_ID - len(HASHED_PREFIX)]


def subject_of(patient_id: str) -> dict[str, Any]:
    """Return the ``Reference`` to a patient for a resource the worklist writes (``GuidanceResponse.subject``).

    A literal ``Patient/<id>`` when the id is a FHIR id; else a logical reference by ``Reference.identifier``
    (``BULK_PATIENT_ID_SYSTEM``, the id as exported) with ``type`` ``Patient``: see the module docstring for why.
    """
    if is_fhir_id(patient_id):
        return {"reference": f"Patient/{patient_id}"}
    return {"type": "Patient", "identifier": {"system": BULK_PATIENT_ID_SYSTEM, "value": patient_id}}
