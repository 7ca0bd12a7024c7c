"""Reading the prefetch: the four states CDS Hooks 2.0.1 defines for each key, and the 412 rule.

| in the request                      | meaning                              | here |
|-------------------------------------|--------------------------------------|------|
| key absent                          | not provided (client chose / failed) | unavailable |
| ``null``                            | the query ran and found nothing      | no data |
| Bundle (possibly empty)             | the search result                    | its resources |
| OperationOutcome, or error entries  | the client hit an error              | unavailable |

A required key that is unavailable answers 412 (fetching from ``fhirServer`` comes later); an optional key
that is unavailable is named on the card.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cds_service.definitions import PREFETCH
from cds_service.errors import InvalidHookRequestError, PrefetchUnavailableError
from fhir_mappers import read_value
from guideline.model import DataIssue


@dataclass(frozen=True)
class Gathered:
    """The resources from all prefetch keys, fullUrls for ``urn:uuid`` references, and unavailable optional keys."""

    resources: tuple[Mapping[str, Any], ...]
    full_urls: Mapping[str, str]
    issues: tuple[DataIssue, ...]


def gather(prefetch: Mapping[str, Any] | None, *, optional_keys: frozenset[str]) -> Gathered:
    """Collect the prefetched resources for every key the service declares.

    Raises:
        InvalidHookRequestError: a prefetch value is neither an object nor ``null``.
        PrefetchUnavailableError: a required key is absent or carries an error (412, naming the keys).
    """
    prefetch = prefetch or {}
    resources: list[Mapping[str, Any]] = []
    full_urls: dict[str, str] = {}
    missing: dict[str, str] = {}
    for key in PREFETCH:
        if key not in prefetch:
            missing[key] = "not provided"
            continue
        value = prefetch[key]
        if value is None:
            continue
        if not isinstance(value, dict):
            raise InvalidHookRequestError(
                f"prefetch.{key} must be a FHIR resource or null.", expression=f"prefetch.{key}"
            )
        result = read_value(value)
        if result.errors:
            missing[key] = "the client reported an error: " + "; ".join(result.errors)[:300]
            continue
        resources.extend(result.resources)
        full_urls.update(result.full_urls)
    required = {k: v for k, v in missing.items() if k not in optional_keys}
    if required:
        listed = "; ".join(f"{key} ({reason})" for key, reason in required.items())
        raise PrefetchUnavailableError(
            f"Required data was neither prefetched nor fetchable: {listed}. No decision was made.",
            expression="prefetch",
        )
    issues = tuple(
        DataIssue(ref=f"prefetch.{key}", reason=f"{reason}: decided without {PREFETCH[key].split('?')[0]} data")
        for key, reason in missing.items()
    )
    return Gathered(tuple(resources), full_urls, issues)
