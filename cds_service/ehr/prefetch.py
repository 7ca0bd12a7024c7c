"""Reading the prefetch, fetching what it lacks from ``fhirServer``, and the 412 rule (CDS Hooks 2.0.1).

| in the request                      | meaning                              | here |
|-------------------------------------|--------------------------------------|------|
| key absent                          | not provided (client chose / failed) | fetched from ``fhirServer`` |
| ``null``                            | the query ran and found nothing      | no data |
| Bundle (possibly empty)             | the search result                    | its resources |
| Bundle with a ``next`` link         | the first page of a paginated search | the rest fetched from ``fhirServer`` |
| OperationOutcome, or error entries  | the client hit an error              | fetched from ``fhirServer`` |

Fetching needs ``fhirServer`` and ``fhirAuthorization`` in the request (and the server on the allowlist). A
required key that stays unavailable answers 412, naming the keys and why; an optional key that stays unavailable
is named on the card.

What a call may hold (``cds_service.ehr.limits``): a prefetch Bundle with more than ``CDS_MAX_BUNDLE_ENTRIES``
entries, or a prefetch with more than ``CDS_MAX_CALL_RESOURCES`` resources, is refused with 413; a fetched key that
would bring the call past ``CDS_MAX_CALL_RESOURCES`` is unavailable, as any other fetch failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cds_service.ehr.fhir_client import Fetched, FhirAccessError, next_link
from cds_service.ehr.limits import ResourceLimits
from cds_service.wire.definitions import PREFETCH, render_query
from cds_service.wire.errors import InvalidHookRequestError, PrefetchUnavailableError, RequestTooLargeError
from fhir_mappers import SearchResult, read_value
from fhir_mappers.elements import as_list
from guideline.model import DataIssue
from guideline.text import msg

Fetch = Callable[[Mapping[str, str]], Mapping[str, Fetched | FhirAccessError]]
"""``{key: url} -> {key: result}``: the fallback fetch bound to one request's ``fhirServer`` and token."""


@dataclass(frozen=True)
class Gathered:
    """The resources from all prefetch keys, fullUrls for ``urn:uuid`` references, and unavailable optional keys.

    ``fetched_keys`` lists the keys (fully or partly) read from ``fhirServer``.
    """

    resources: tuple[Mapping[str, Any], ...]
    full_urls: Mapping[str, str]
    issues: tuple[DataIssue, ...]
    fetched_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Wanted:
    url: str
    reason: str
    first_page: SearchResult | None = None


def gather(
    prefetch: Mapping[str, Any] | None,
    *,
    context: Mapping[str, Any],
    optional_keys: frozenset[str],
    fetch: Fetch | None,
    no_fetch_reason: str = "no fhirServer and fhirAuthorization in the request",
    limits: ResourceLimits | None = None,
) -> Gathered:
    """Collect the resources for every prefetch key the service declares, fetching what is missing.

    Args:
        prefetch: the request's ``prefetch`` (or ``None``).
        context: the request's ``context`` (for the query tokens).
        optional_keys: keys the decision may go without.
        fetch: the fallback fetch, or ``None`` when the request cannot be fetched for.
        no_fetch_reason: why there is no fetch (shown in the 412 or on the card).
        limits: entries per Bundle and resources per call (default: ``ResourceLimits()``, the settings' defaults).

    Raises:
        InvalidHookRequestError: a prefetch value is neither an object nor ``null``.
        RequestTooLargeError: a prefetch Bundle has more entries, or the prefetch more resources, than ``limits``
            allow (413, nothing evaluated).
        PrefetchUnavailableError: a required key is unavailable after fetching (412, naming the keys).
    """
    limits = limits or ResourceLimits()
    prefetch = prefetch or {}
    found: dict[str, SearchResult] = {}
    wanted: dict[str, _Wanted] = {}
    for key, template in PREFETCH.items():
        query = render_query(template, context)
        if key not in prefetch:
            wanted[key] = _Wanted(query, "not provided")
            continue
        value = prefetch[key]
        if value is None:
            continue
        if not isinstance(value, dict):
            raise InvalidHookRequestError(
                f"prefetch.{key} must be a FHIR resource or null.", expression=f"prefetch.{key}"
            )
        _refuse_large_bundle(key, value, limits)
        result = read_value(value)
        if result.errors:
            wanted[key] = _Wanted(query, "the client reported an error: " + "; ".join(result.errors)[:300])
            continue
        more = next_link(value) if value.get("resourceType") == "Bundle" else None
        if more is not None:
            wanted[key] = _Wanted(more, "only the first page was prefetched", first_page=result)
            continue
        found[key] = result

    held = sum(len(r.resources) for r in found.values())
    held += sum(len(w.first_page.resources) for w in wanted.values() if w.first_page is not None)
    if held > limits.max_call_resources:
        raise RequestTooLargeError(
            f"The prefetch holds {held:,} resources; at most {limits.max_call_resources:,} are read per call. "
            "Nothing was evaluated.",
            expression="prefetch",
        )
    missing: dict[str, str] = {}
    fetched_keys: list[str] = []
    if wanted and fetch is not None:
        answers = fetch({key: w.url for key, w in wanted.items()})
        for key, w in wanted.items():
            answer = answers.get(key, FhirAccessError("not fetched"))
            if isinstance(answer, FhirAccessError):
                missing[key] = f"{w.reason}; fhirServer: {answer.reason}"
                continue
            fetched_keys.append(key)
            if answer.value is None:
                continue
            result = read_value(answer.value)
            if result.errors:
                missing[key] = f"{w.reason}; fhirServer reported: " + "; ".join(result.errors)[:300]
                continue
            if held + len(result.resources) > limits.max_call_resources:
                missing[key] = (
                    f"{w.reason}; fhirServer: its answer would bring this call past "
                    f"{limits.max_call_resources:,} resources"
                )
                continue
            held += len(result.resources)
            found[key] = _merge(w.first_page, result) if w.first_page else result
    else:
        missing = {key: f"{w.reason}; {no_fetch_reason}" for key, w in wanted.items()}

    required = {k: v for k, v in missing.items() if k not in optional_keys}
    if required:
        listed = "; ".join(f"{key} ({reason})" for key, reason in required.items())
        raise PrefetchUnavailableError(
            f"Required data was neither prefetched nor fetchable: {listed}. No decision was made.",
            expression="prefetch",
        )
    resources: list[Mapping[str, Any]] = []
    full_urls: dict[str, str] = {}
    for result in found.values():
        resources.extend(result.resources)
        full_urls.update(result.full_urls)
    issues = tuple(
        DataIssue(
            ref=f"prefetch.{key}",
            reason=msg("{reason}: decided without {type} data", reason=reason, type=PREFETCH[key].split("?")[0]),
        )
        for key, reason in missing.items()
    )
    return Gathered(tuple(resources), full_urls, issues, tuple(fetched_keys))


def prefetch_complete(prefetch: Mapping[str, Any] | None) -> bool:
    """Return whether ``gather`` would fetch nothing for this prefetch, whatever the request's ``fhirServer``.

    True when every key the service declares is present and no value is an OperationOutcome, a Bundle with a
    ``next`` link, or a Bundle holding an OperationOutcome entry (even a harmless ``not-found`` one: when in doubt,
    the call counts as one that may fetch). A value that is neither an object nor ``null`` fetches nothing either (it
    is answered 400). Reads no entry beyond its ``resourceType``: a few microseconds for a typical prefetch.
    """
    if not prefetch:
        return False
    for key in PREFETCH:
        if key not in prefetch:
            return False
        value = prefetch[key]
        if not isinstance(value, dict):
            continue
        kind = value.get("resourceType")
        if kind == "OperationOutcome":
            return False
        if kind != "Bundle":
            continue
        if next_link(value) is not None:
            return False
        for entry in as_list(value.get("entry")):  # as read_value reads them
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if isinstance(resource, Mapping) and resource.get("resourceType") == "OperationOutcome":
                return False
    return True


def _refuse_large_bundle(key: str, value: Mapping[str, Any], limits: ResourceLimits) -> None:
    """Refuse a prefetch Bundle with more entries than ``limits`` allow (before its entries are read).

    Raises:
        RequestTooLargeError: 413, naming ``prefetch.<key>``.
    """
    entries = value.get("entry") if value.get("resourceType") == "Bundle" else None
    if isinstance(entries, list) and len(entries) > limits.max_bundle_entries:
        raise RequestTooLargeError(
            f"prefetch.{key} holds {len(entries):,} Bundle entries; at most {limits.max_bundle_entries:,} are read "
            "per Bundle. Nothing was evaluated.",
            expression=f"prefetch.{key}",
        )


def _merge(first: SearchResult, rest: SearchResult) -> SearchResult:
    return SearchResult(
        resources=first.resources + rest.resources,
        errors=first.errors + rest.errors,
        full_urls={**first.full_urls, **rest.full_urls},
    )
