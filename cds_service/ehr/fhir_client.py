"""Fetching what the prefetch lacks from the EHR's FHIR server (CDS Hooks 2.0.1 "FHIR Resource Access").

One pooled ``requests.Session`` per process; the missing queries run concurrently on a small thread pool. Limits,
all per hook call, and each with a defined answer when it is hit (the key is named unavailable on the card or in the
412, never a late card):

* **Time.** Connect and read timeouts per request, and one deadline for everything the call fetches
  (``CDS_FHIR_BUDGET_SECONDS``), enforced inside the body read too: a server that drips a byte every 100 ms is cut
  at the deadline (a watchdog shuts the connection's read side) and the connection is closed, not reused.
* **Size.** At most ``max_response_bytes`` per answer and ``max_call_bytes`` over all answers of the call (keys and
  pages together); past either the read stops and the connection is closed. Each answer is measured before it is
  parsed (``cds_service.wire.json_shape``): at most ``json.max_values`` JSON values over all answers of the call,
  none nested deeper than ``json.max_depth``; a search brings at most ``max_entries`` entries over all its pages.
* **Memory, with the large-call gate.** Once the answers of a call pass the large-call threshold
  (``CDS_LARGE_REQUEST_BYTES``), the rest is read and parsed only while the call holds its worker's large-call slot
  (``cds_service.http.large_requests``; the call keeps it until its evaluation ends), as a large request body is:
  one large call's data per worker at a time. No slot within the fetch budget: the key is unavailable (``busy``).
* **Where.** Only servers on the allowlist, over https unless plain http is allowed (local testing). Every URL
  actually requested (the queries and each ``next`` link) must, after normalisation, lie under the allowlisted
  base: dot segments (``/../``, ``/./``), encoded dots or slashes (``%2e``, ``%2f``) and backslashes are refused, on
  ``fhirServer`` and on ``next`` links alike. Redirects are never followed.

The access token goes only into the ``Authorization`` header of these requests; it is never logged or stored.
"""

from __future__ import annotations

import json
import posixpath
import re
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from cds_service.ehr.limits import ResourceLimits
from cds_service.time_limits import WATCHDOG
from cds_service.wire.json_shape import JsonLimits, measure

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE_IN_PATH = re.compile(r"%2e|%2f|%5c|\\", re.IGNORECASE)


@dataclass(frozen=True)
class FhirClientSettings:
    """Limits of the fallback fetch (all settable, see ``cds_service.settings``).

    Attributes:
        allowlist: FHIR base URLs the service may contact; ``fhirServer`` must equal one or lie under it.
        allow_http: accept ``http://`` servers (local testing only).
        connect_timeout / read_timeout: per request, seconds (read: the longest silence between bytes).
        budget: seconds the call may wait on the EHR for all its fetches together (added to the latency budget).
        max_pages: searchset pages followed per query; more is reported as unavailable, not silently cut.
        max_concurrency: parallel requests per process.
        max_response_bytes: the largest response body read.
        max_call_bytes: the most bytes read over all responses of one hook call.
        max_entries: entries of one search over all its pages (``CDS_MAX_BUNDLE_ENTRIES``).
        json: JSON values over all responses of one hook call, and nesting depth of each (``CDS_MAX_JSON_*``).
    """

    allowlist: tuple[str, ...] = ()
    allow_http: bool = False
    connect_timeout: float = 1.0
    read_timeout: float = 2.0
    budget: float = 3.0
    max_pages: int = 10
    max_concurrency: int = 8
    max_response_bytes: int = 8 * 1024 * 1024
    max_call_bytes: int = 16 * 1024 * 1024
    max_entries: int = ResourceLimits.max_bundle_entries
    json: JsonLimits = field(default_factory=JsonLimits)


FailureKind = Literal[
    "not-allowed", "budget", "timeout", "refused", "http-status", "unreachable", "invalid", "too-large", "busy", "other"
]
"""A bounded category of fetch failure (the ``reason`` label of the failure metric)."""


class LargeCallGate(Protocol):
    """The large-call slot of this call's worker, as the fetch sees it (``cds_service.http.large_requests.Admission``).

    Attributes:
        threshold: bytes (``CDS_LARGE_REQUEST_BYTES``) past which the call's answers are read only under the slot.
    """

    @property
    def threshold(self) -> int:
        """Bytes past which the slot is needed."""

    def hold(self, timeout: float) -> bool:
        """Take the slot for the rest of the call (at once if held); ``False`` if not within ``timeout`` seconds."""


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
            FhirAccessError: not http(s), plain http not allowed, a path that normalises to something else (dot
                segments, encoded dots or slashes, backslashes, a query or fragment), or not on the allowlist.
        """
        parts = urlsplit(fhir_server)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise FhirAccessError("fhirServer is not an http(s) URL", "not-allowed")
        if parts.scheme == "http" and not self.settings.allow_http:
            raise FhirAccessError("fhirServer must use https", "not-allowed")
        if parts.query or parts.fragment or not plain_path(parts.path):
            raise FhirAccessError(
                "fhirServer's path is not a plain base path (dot segments or encoding)", "not-allowed"
            )
        base = fhir_server.rstrip("/")
        for allowed in self.settings.allowlist:
            allowed = allowed.rstrip("/")
            if url_under(base, allowed):
                return base
        raise FhirAccessError("fhirServer is not on the service's FHIR server allowlist", "not-allowed")

    def fetch_all(
        self,
        fhir_server: str,
        access_token: str,
        urls: Mapping[str, str],
        *,
        budget: float | None = None,
        gate: LargeCallGate | None = None,
    ) -> dict[str, Fetched | FhirAccessError]:
        """Fetch every ``key -> url`` concurrently (urls relative to ``fhir_server`` or absolute on its origin).

        Args:
            fhir_server: the request's ``fhirServer`` (checked against the allowlist).
            access_token: the request's ``fhirAuthorization.access_token`` (sent as a bearer token only).
            urls: prefetch key -> query.
            budget: seconds for all of it; the smaller of this and ``settings.budget`` (the caller passes what is
                left of the request's latency budget).
            gate: the call's large-call slot, taken once the answers pass its threshold; ``None``: never waited for
                (the command line, which serves one call at a time).

        Never raises for one query's failure: each key gets a ``Fetched`` or a ``FhirAccessError``.
        """
        try:
            base = self.check_server(fhir_server)
        except FhirAccessError as error:
            return dict.fromkeys(urls, error)
        budget = self.settings.budget if budget is None else max(min(budget, self.settings.budget), 0.0)
        call = _CallLimits(time.monotonic() + budget, self.settings.max_call_bytes, self.settings.json.max_values, gate)
        deadline = call.deadline
        futures: dict[str, Future[Fetched]] = {
            key: self._pool.submit(self._fetch_one, base, access_token, url, call) for key, url in urls.items()
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

    def _fetch_one(self, base: str, token: str, url: str, call: _CallLimits) -> Fetched:
        is_read = "?" not in url and url.count("/") == 1 and not url.startswith("http")
        current = urljoin(base + "/", url)
        entries: list[Any] = []
        for _page in range(self.settings.max_pages):
            if not same_origin(current, base):
                raise FhirAccessError("a next link leaves the FHIR server's origin", "invalid")
            if not url_under(current, base):
                raise FhirAccessError("a URL leaves the FHIR server's base path (after normalisation)", "not-allowed")
            body = self._get(current, token, call, allow_not_found=is_read)
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
            if len(entries) > self.settings.max_entries:
                raise FhirAccessError(
                    f"the search result holds more than {self.settings.max_entries:,} entries", "too-large"
                )
            next_url = next_link(body)
            if next_url is None:
                return Fetched({"resourceType": "Bundle", "type": "searchset", "entry": entries})
            current = urljoin(current, next_url)
        raise FhirAccessError(f"more than {self.settings.max_pages} pages of results", "too-large")

    def _get(self, url: str, token: str, call: _CallLimits, *, allow_not_found: bool) -> dict[str, Any] | None:
        remaining = call.deadline - time.monotonic()
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
                raw = _read_limited(r, self.settings.max_response_bytes, call)
        except requests.Timeout as error:
            raise FhirAccessError("the FHIR server timed out", "timeout") from error
        except requests.RequestException as error:
            raise FhirAccessError(f"could not reach the FHIR server ({type(error).__name__})", "unreachable") from error
        call.take_values(raw, self.settings.json.max_depth)
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


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` and ``base`` share scheme, host and port (default ports filled in); ``False`` if unreadable.

    One of the URL rules the hook's client and the Bulk Data client (``cds_service.ehr.bulk``) share.
    """
    a, b = urlsplit(url), urlsplit(base)
    try:
        port_a = a.port or _DEFAULT_PORTS.get(a.scheme)
        port_b = b.port or _DEFAULT_PORTS.get(b.scheme)
    except ValueError:
        return False
    return a.scheme == b.scheme and (a.hostname or "") == (b.hostname or "") and port_a == port_b


class _CallLimits:
    """What one hook call may still fetch: until ``deadline`` (``time.monotonic()`` s), ``max_bytes``, ``max_values``.

    Shared by the call's fetch threads; past the gate's threshold in bytes, the call must hold the large-call slot.
    """

    def __init__(self, deadline: float, max_bytes: int, max_values: int, gate: LargeCallGate | None = None) -> None:
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.max_values = max_values
        self.gate = gate
        self._read = 0
        self._values = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> None:
        """Count ``size`` more bytes read; past the gate's threshold, wait for the large-call slot (within the budget).

        Raises:
            FhirAccessError: the call's answers together exceed ``max_bytes``, or no slot within the budget (busy).
        """
        with self._lock:
            self._read += size
            read = self._read
        if read > self.max_bytes:
            raise FhirAccessError(f"the FHIR server's answers to this call exceed {self.max_bytes} bytes", "too-large")
        if self.gate is not None and read > self.gate.threshold:
            if not self.gate.hold(self.deadline - time.monotonic()):
                raise FhirAccessError(
                    "this worker was evaluating another large call for the whole fetch budget; the answer was not read",
                    "busy",
                )

    def take_values(self, raw: bytes, max_depth: int) -> None:
        """Measure one answer before it is parsed and count its JSON values against the call's.

        Raises:
            FhirAccessError: with this answer the call's answers hold more than ``max_values`` JSON values, or the
                answer nests deeper than ``max_depth`` (nothing of it is parsed).
        """
        with self._lock:
            left = max(self.max_values - self._values, 0)
        shape = measure(raw, JsonLimits(max_values=left, max_depth=max_depth))
        if shape.depth > max_depth:
            raise FhirAccessError(f"the FHIR server's answer nests deeper than {max_depth} levels", "too-large")
        with self._lock:
            self._values += shape.values
            over = self._values > self.max_values  # also when answers measured at once add up past it
        if over or shape.values > left:
            raise FhirAccessError(
                f"the FHIR server's answers to this call hold more than {self.max_values:,} JSON values", "too-large"
            )


def _read_limited(response: requests.Response, limit: int, call: _CallLimits) -> bytes:
    """Read the body within the call's deadline and byte limits; on any limit the connection is closed.

    ``read1`` returns what one socket read brings, so the deadline is checked however slowly bytes arrive; a server
    that falls silent is cut by the watchdog at the deadline (``cds_service.http.request_body.ReadWatchdog``).
    """
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    watch = WATCHDOG.watch(sock, call.deadline) if sock is not None else None
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            try:
                chunk = raw.read1(65536, decode_content=True)
            except Exception as error:  # urllib3's errors: the watchdog shut the socket, a timeout, a broken answer
                if time.monotonic() >= call.deadline:
                    raise FhirAccessError("the answer did not arrive within the fetch budget", "budget") from error
                if isinstance(error, ReadTimeoutError | TimeoutError):
                    raise FhirAccessError("the FHIR server timed out", "timeout") from error
                raise FhirAccessError(
                    f"the FHIR server's answer broke off ({type(error).__name__})", "unreachable"
                ) from error
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise FhirAccessError(f"the FHIR server's answer is larger than {limit} bytes", "too-large")
            call.take(len(chunk))
            if time.monotonic() >= call.deadline:
                raise FhirAccessError("the answer did not arrive within the fetch budget", "budget")
            chunks.append(chunk)
    except BaseException:
        raw.close()  # never return a half-read connection to the pool
        raise
    finally:
        if watch is not None and WATCHDOG.release(watch):
            raw.close()
    return b"".join(chunks)


def plain_path(path: str) -> bool:
    """Whether ``path`` is already normal: no dot segments, no encoded dots or slashes, no backslashes."""
    if _UNSAFE_IN_PATH.search(path):
        return False
    segments = path.split("/")
    return not any(segment in (".", "..") for segment in segments)


def url_under(url: str, base: str) -> bool:
    """Whether ``url`` (normalised) is ``base`` or lies under it, on the same origin."""
    if not same_origin(url, base):
        return False
    path = urlsplit(url).path
    if not plain_path(path):
        return False
    normal = posixpath.normpath(path) if path else "/"
    base_path = urlsplit(base).path.rstrip("/")
    return normal == base_path or normal.startswith(base_path + "/") or (not base_path and normal.startswith("/"))
