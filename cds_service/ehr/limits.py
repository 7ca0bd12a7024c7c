"""How many FHIR resources one hook call may bring, prefetched and fetched together (issue 29, item 1).

The byte limits (``CDS_MAX_CONTENT_LENGTH``, ``CDS_FHIR_MAX_CALL_BYTES``) and the JSON value count
(``cds_service.wire.json_shape``) bound memory; these two bound the work and give the refusal its words: a Bundle
with more entries, or a call with more resources, than any real patient has. Over them, the prefetch is refused with
413 (``RequestTooLargeError``) and a fetched key is unavailable (412 if required, else named on the card), as every
other fallback failure is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceLimits:
    """Resources per call (``CDS_MAX_BUNDLE_ENTRIES``, ``CDS_MAX_CALL_RESOURCES``); defaults and why: the settings.

    Attributes:
        max_bundle_entries: entries of one Bundle: a prefetch value, or one fetched search over all its pages.
        max_call_resources: resources of one call: every prefetch key and every fetched answer together.
    """

    max_bundle_entries: int = 20_000
    max_call_resources: int = 25_000
