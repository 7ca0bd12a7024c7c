"""HTTP for one export: where requests may go, the bearer token, retries with backoff, redirects, bounded JSON.

* **Where.** The export server's base is checked as the hook's client checks ``fhirServer``
  (``cds_service.ehr.fhir_client``): http(s), a plain path (no dot segments, encoded dots or slashes, backslashes), no
  query or fragment, under ``CDS_FHIR_SERVER_ALLOWLIST`` when that is set; https unless the host is a loopback
  address or ``CDS_FHIR_ALLOW_HTTP`` is set. Every later URL (the status URL, each file, each redirect hop) must be
  on the base's origin or under one of ``CDS_BULK_FILE_SERVERS``, with a plain path.
* **The token** goes only to the export server's origin (and, for ``requiresAccessToken`` files, to the file servers
  the operator listed), never along a redirect to another origin; it is never logged or put in an error.
  A 401 with a token is answered once by a fresh token (``TokenSource.refresh``), then it is an error.
* **Retries.** 429, 502, 503, 504 and broken connections are retried ``retries`` times, after the server's
  ``Retry-After`` (seconds or an HTTP-date; ``retry_after``) or, without one, ``backoff`` doubled each time; no wait
  is longer than ``max_backoff`` or than what is left until the caller's deadline.
* **Redirects** are followed by hand (at most 5 hops), each hop checked as above; never by ``requests``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from cds_service.ehr.bulk.config import BulkClientSettings
from cds_service.ehr.bulk.errors import BulkExportError, ErrorKind
from cds_service.ehr.bulk.events import Event, Retrying
from cds_service.ehr.fhir_client import plain_path, same_origin, url_under  # the hook's URL rules, shared
from cds_service.smart.bounded import AnswerTooLargeError, AnswerTooSlowError, read_limited

RETRIED = frozenset({429, 502, 503, 504})
"""Statuses retried after ``Retry-After`` or backoff (Bulk Data: 429 "polling too frequently"; gateways' 5xx)."""
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class TokenSource(Protocol):
    """Where bearer tokens come from (``cds_service.ehr.backend_auth.BackendAuth``)."""

    def token(self) -> str:
        """A token valid for a while yet."""

    def refresh(self, stale: str) -> str:
        """A new token in place of ``stale`` (which the server refused); one request for all threads."""


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` value asks to wait: delay-seconds or an HTTP-date (RFC 9110 10.2.3); else ``None``.

    A date in the past is 0 s. Decimal seconds are accepted too (not in the RFC; some servers send them).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def check_base(base: str, settings: BulkClientSettings) -> str:
    """Return the export server's base without a trailing slash if the client may use it.

    Raises:
        BulkExportError: not http(s); plain http to a non-loopback host without ``allow_http``; a query, fragment
            or a path that is not plain; not under the allowlist when one is set.
    """
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise BulkExportError("the FHIR base is not an http(s) URL", "not-allowed")
    if not _scheme_allowed(base, settings):
        raise BulkExportError(
            "the FHIR base must use https (plain http only for a loopback address or with CDS_FHIR_ALLOW_HTTP=true)",
            "not-allowed",
        )
    if parts.query or parts.fragment or not plain_path(parts.path):
        raise BulkExportError(
            "the FHIR base is not a plain base URL (a query, fragment or dot segments)", "not-allowed"
        )
    base = base.rstrip("/")
    if settings.allowlist and not any(url_under(base, allowed.rstrip("/")) for allowed in settings.allowlist):
        raise BulkExportError("the FHIR base is not on CDS_FHIR_SERVER_ALLOWLIST", "not-allowed")
    return base


def _scheme_allowed(url: str, settings: BulkClientSettings) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (
        parts.scheme == "http" and (settings.allow_http or (parts.hostname or "") in LOOPBACK)
    )


class Transport:
    """The requests of one export, against one checked base (see the module docstring for the rules)."""

    def __init__(
        self,
        base: str,
        settings: BulkClientSettings,
        auth: TokenSource | None,
        *,
        session: requests.Session | None = None,
        notify: Callable[[Event], None] | None = None,
    ) -> None:
        """Check ``base`` and open a pooled session sized for the download pool; ``notify`` hears of retries.

        Raises:
            BulkExportError: ``base`` refused (``check_base``).
        """
        self.settings = settings
        self.base = check_base(base, settings)
        self.auth = auth
        self.notify = notify
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(settings.downloads, 1) + 2, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def allowed(self, url: str) -> bool:
        """Whether ``url`` may be requested: the base's origin or under a file server, plain path, allowed scheme."""
        if not _scheme_allowed(url, self.settings) or not plain_path(urlsplit(url).path):
            return False
        return same_origin(url, self.base) or any(
            url_under(url, server.rstrip("/")) for server in self.settings.file_servers
        )

    def on_server_origin(self, url: str) -> bool:
        """Whether ``url`` is on the export server's own origin (where the token always goes)."""
        return same_origin(url, self.base)

    def request(
        self,
        method: str,
        url: str,
        *,
        accept: str,
        token: bool = True,
        file_token: bool = False,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        deadline: float | None = None,
        retry: bool = True,
        follow: bool = False,
        what: str = "the server",
    ) -> requests.Response:
        """Send one request (streamed), retrying as the module docstring says; return the final response.

        Args:
            method: ``GET`` or ``DELETE``.
            url: absolute.
            params: the query parameters.
            accept: the ``Accept`` header.
            token: send the bearer token, to the server's origin only (and never after a redirect to another origin).
            file_token: also to a listed file server (a manifest with ``requiresAccessToken``).
            headers: more headers (``Prefer``).
            deadline: ``time.monotonic()`` value no retry wait may pass (the export's bound).
            retry: retry 429, 502-504 and broken connections (``False``: the first answer is returned).
            follow: follow redirects (downloads), each hop checked; ``False``: a redirect is returned as it is.
            what: how the errors name the request ("the kick-off", "file 3 of 12").

        The caller closes the response. Statuses other than 401/403 are returned for the caller to read.

        Raises:
            BulkExportError: a URL not allowed (``not-allowed``), 401/403 after one refresh (``auth``), the server
                unreachable or still 429/5xx after the retries (``server``), the deadline reached (``timeout``).
        """
        attempt = 0
        refreshed = False
        hops = 0
        while True:
            if not self.allowed(url):
                raise BulkExportError(
                    f"{what}: the URL is on another host or not a plain https URL (CDS_BULK_FILE_SERVERS lists the "
                    "hosts files may come from)",
                    "not-allowed",
                )
            sent_token = self._token_for(url, file_token) if token else None
            all_headers = {"Accept": accept, **(headers or {})}
            if sent_token is not None:
                all_headers["Authorization"] = f"Bearer {sent_token}"
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    headers=all_headers,
                    timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                    allow_redirects=False,
                    stream=True,
                )
            except requests.RequestException as error:
                if not retry or attempt >= self.settings.retries:
                    kind: ErrorKind = "timeout" if isinstance(error, requests.Timeout) else "server"
                    raise BulkExportError(f"{what}: no answer ({type(error).__name__})", kind) from None
                self._wait(None, attempt, deadline, what, f"no answer ({type(error).__name__})")
                attempt += 1
                continue
            status = response.status_code
            if status == 401 and sent_token is not None and not refreshed and self.auth is not None:
                response.close()
                self.auth.refresh(sent_token)  # expired: one new token, then the request once more
                refreshed = True
                continue
            if status in (401, 403):
                response.close()
                hint = "" if self.auth is not None else " (no CDS_BULK_CLIENT_ID set: no token was sent)"
                raise BulkExportError(f"{what}: the server refused access (HTTP {status}){hint}", "auth")
            if retry and status in RETRIED and attempt < self.settings.retries:
                wait = retry_after(response.headers.get("Retry-After"))
                response.close()
                self._wait(wait, attempt, deadline, what, f"HTTP {status}")
                attempt += 1
                continue
            if follow and status in REDIRECTS and response.headers.get("Location"):
                response.close()
                hops += 1
                if hops > MAX_REDIRECTS:
                    raise BulkExportError(f"{what}: more than {MAX_REDIRECTS} redirects", "server")
                target = urljoin(url, response.headers["Location"])
                if not same_origin(target, url):
                    token = False  # never carried to another origin
                url = target
                params = None
                continue
            return response

    def read_json(self, response: requests.Response, *, what: str, deadline: float | None = None) -> Any:
        """Read a JSON answer of at most ``max_answer_bytes`` (closing the response); ``None`` for an empty body.

        Raises:
            BulkExportError: larger than the cap (``too-large``), not complete by the deadline, not JSON.
        """
        limit = self.settings.max_answer_bytes
        until = deadline if deadline is not None else time.monotonic() + max(self.settings.read_timeout * 30, 60.0)
        try:
            with response:
                raw = read_limited(response, limit=limit, deadline=until)
        except AnswerTooLargeError:
            raise BulkExportError(f"{what}: the answer is larger than {limit} bytes", "too-large") from None
        except (AnswerTooSlowError, requests.RequestException) as error:
            raise BulkExportError(f"{what}: the answer broke off ({type(error).__name__})", "timeout") from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise BulkExportError(f"{what}: the answer is not JSON", "server") from None

    def _token_for(self, url: str, file_token: bool) -> str | None:
        """The token to send to ``url``: the current one on the server's origin (or a file server), else none."""
        if self.auth is None:
            return None
        if self.on_server_origin(url) or (file_token and self.allowed(url)):
            return self.auth.token()
        return None

    def _wait(self, asked: float | None, attempt: int, deadline: float | None, what: str, why: str) -> None:
        wait = asked if asked is not None else self.settings.backoff * (2**attempt)
        wait = min(wait, self.settings.max_backoff)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or wait > left:
                raise BulkExportError(f"{what}: the server asked to wait past the export's time bound", "timeout")
        if self.notify is not None:
            self.notify(Retrying(what, why, wait))
        time.sleep(wait)

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()
