"""Fetching what the prefetch lacks from the EHR's FHIR server (CDS Hooks 2.0.1 "FHIR Resource Access").

One pooled ``requests.Session`` per process; the missing queries run concurrently on a small thread pool, each
request with connect and read timeouts, and the whole fetch within a total budget. Searchset ``next`` links are
followed only on the origin of ``fhirServer``; redirects are never followed. The access token goes only into the
``Authorization`` header of these requests; it is never logged or stored.

Only servers on the allowlist are contacted, and only over https unless plain http is allowed (local testing).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class FhirClientSettings:
    """Limits of the fallback fetch (all settable, see ``cds_service.settings``).

    Attributes:
        allowlist: FHIR base URLs the service may contact; ``fhirServer`` must equal one or lie under it.
        allow_http: accept ``http://`` servers (local testing only).
        connect_timeout / read_timeout: per request, seconds.
        budget: total seconds for all fetches of one hook call.
        max_pages: searchset pages followed per query; more is reported as unavailable, not silently cut.
        max_concurrency: parallel requests per process.
        max_response_bytes: the largest response body read.
    """

    allowlist: tuple[str, ...] = ()
    allow_http: bool = False
    connect_timeout: float = 0.2
    read_timeout: float = 0.25
    budget: float = 0.3
    max_pages: int = 10
    max_concurrency: int = 8
    max_response_bytes: int = 20 * 1024 * 1024


FailureKind = Literal["not-allowed", "budget", "timeout", "refused", "http-status", "unreachable", "invalid", "other"]
"""A bounded category of fetch failure (the ``reason`` label of the failure metric)."""


class FhirAccessError(Exception):
    """One query could not be answered; ``reason`` names why without URLs, ids or tokens; ``kind`` categorizes it."""

    def __init__(self, reason: str, kind: FailureKind = "other") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind: FailureKind = kind


@dataclass(frozen=True)
class Fetched:
    """A fetched value: a searchset Bundle (all pages merged), a resource, or ``None`` (read found nothing)."""

    value: Mapping[str, Any] | None


class FhirClient:
    """Runs FHIR reads and searches against one ``fhirServer`` per call, within the budget."""

    def __init__(self, settings: FhirClientSettings) -> None:
        """Create the pooled session and the thread pool (once per worker process)."""
        self.settings = settings
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=max(settings.max_concurrency, 1), max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._pool = ThreadPoolExecutor(max_workers=max(settings.max_concurrency, 1), thread_name_prefix="fhir")

    def check_server(self, fhir_server: str) -> str:
        """Return the base URL without a trailing slash if the service may contact it.

        Raises:
            FhirAccessError: not http(s), plain http not allowed, or not on the allowlist.
        """
        parts = urlsplit(fhir_server)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise FhirAccessError("fhirServer is not an http(s) URL", "not-allowed")
        if parts.scheme == "http" and not self.settings.allow_http:
            raise FhirAccessError("fhirServer must use https", "not-allowed")
        base = fhir_server.rstrip("/")
        for allowed in self.settings.allowlist:
            allowed = allowed.rstrip("/")
            if _same_origin(base, allowed) and (base == allowed or base.startswith(allowed + "/")):
                return base
        raise FhirAccessError("fhirServer is not on the service's FHIR server allowlist", "not-allowed")

    def fetch_all(
        self, fhir_server: str, access_token: str, urls: Mapping[str, str], *, budget: float | None = None
    ) -> dict[str, Fetched | FhirAccessError]:
        """Fetch every ``key -> url`` concurrently (urls relative to ``fhir_server`` or absolute on its origin).

        Args:
            fhir_server: the request's ``fhirServer`` (checked against the allowlist).
            access_token: the request's ``fhirAuthorization.access_token`` (sent as a bearer token only).
            urls: prefetch key -> query.
            budget: seconds for all of it; the smaller of this and ``settings.budget`` (the caller passes what is
                left of the request's latency budget).

        Never raises for one query's failure: each key gets a ``Fetched`` or a ``FhirAccessError``.
        """
        try:
            base = self.check_server(fhir_server)
        except FhirAccessError as error:
            return dict.fromkeys(urls, error)
        budget = self.settings.budget if budget is None else max(min(budget, self.settings.budget), 0.0)
        deadline = time.monotonic() + budget
        futures: dict[str, Future[Fetched]] = {
            key: self._pool.submit(self._fetch_one, base, access_token, url, deadline) for key, url in urls.items()
        }
        wait(futures.values(), timeout=max(deadline - time.monotonic(), 0) + 0.05)
        results: dict[str, Fetched | FhirAccessError] = {}
        for key, future in futures.items():
            if not future.done():
                future.cancel()
                results[key] = FhirAccessError(f"no answer within the {budget:.3g} s budget", "budget")
                continue
            failure = future.exception()
            if failure is None:
                results[key] = future.result()
            elif isinstance(failure, FhirAccessError):
                results[key] = failure
            else:
                results[key] = FhirAccessError(f"fetch failed ({type(failure).__name__})")
        return results

    def _fetch_one(self, base: str, token: str, url: str, deadline: float) -> Fetched:
        is_read = "?" not in url and url.count("/") == 1 and not url.startswith("http")
        current = urljoin(base + "/", url)
        entries: list[Any] = []
        for _page in range(self.settings.max_pages):
            if not _same_origin(current, base):
                raise FhirAccessError("a next link leaves the FHIR server's origin", "invalid")
            body = self._get(current, token, deadline, allow_not_found=is_read)
            if body is None:
                return Fetched(None)
            if is_read:
                return Fetched(body)
            if body.get("resourceType") == "OperationOutcome":
                return Fetched(body)  # read as "the server reported an error" by the prefetch reader
            if body.get("resourceType") != "Bundle":
                raise FhirAccessError("the search answer is not a FHIR Bundle", "invalid")
            page_entries = body.get("entry", [])
            if not isinstance(page_entries, list):
                raise FhirAccessError("Bundle.entry is not a list", "invalid")
            entries.extend(page_entries)
            next_url = next_link(body)
            if next_url is None:
                return Fetched({"resourceType": "Bundle", "type": "searchset", "entry": entries})
            current = urljoin(current, next_url)
        raise FhirAccessError(f"more than {self.settings.max_pages} pages of results", "invalid")

    def _get(self, url: str, token: str, deadline: float, *, allow_not_found: bool) -> dict[str, Any] | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FhirAccessError("no answer within the fetch budget", "budget")
        timeout = (min(self.settings.connect_timeout, remaining), min(self.settings.read_timeout, remaining))
        headers = {"Accept": "application/fhir+json", "Authorization": f"Bearer {token}"}
        try:
            with self.session.get(url, headers=headers, timeout=timeout, allow_redirects=False, stream=True) as r:
                if r.status_code in (401, 403):
                    raise FhirAccessError(f"the FHIR server refused access (HTTP {r.status_code})", "refused")
                if r.status_code == 404 and allow_not_found:
                    return None
                if r.status_code != 200:
                    raise FhirAccessError(f"the FHIR server answered HTTP {r.status_code}", "http-status")
                raw = _read_capped(r, self.settings.max_response_bytes)
        except requests.Timeout as error:
            raise FhirAccessError("the FHIR server timed out", "timeout") from error
        except requests.RequestException as error:
            raise FhirAccessError(f"could not reach the FHIR server ({type(error).__name__})", "unreachable") from error
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as error:
            raise FhirAccessError("the FHIR server's answer is not JSON", "invalid") from error
        if not isinstance(body, dict):
            raise FhirAccessError("the FHIR server's answer is not a FHIR resource", "invalid")
        return body

    def close(self) -> None:
        """Shut down the pool and the session."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """Return the ``next`` link of a searchset Bundle, or ``None``."""
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, Mapping) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    try:
        port_a = a.port or _DEFAULT_PORTS.get(a.scheme)
        port_b = b.port or _DEFAULT_PORTS.get(b.scheme)
    except ValueError:
        return False
    return a.scheme == b.scheme and (a.hostname or "") == (b.hostname or "") and port_a == port_b


def _read_capped(response: requests.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > limit:
            raise FhirAccessError(f"the FHIR server's answer is larger than {limit} bytes", "invalid")
        chunks.append(chunk)
    return b"".join(chunks)
