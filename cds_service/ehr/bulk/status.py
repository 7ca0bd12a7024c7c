"""Polling the status URL until the manifest (Bulk Data Access 2.0, "Bulk Data Status Request"), within a bound.

``GET [status URL]`` with ``Accept: application/json``:

* **202** in progress: wait what ``Retry-After`` says (seconds or an HTTP-date), else back off (``backoff``
  doubled per poll, at most ``max_backoff``), never less than ``MIN_POLL`` seconds; ``X-Progress`` is reported.
* **429** polling too often: the same wait (the transport has retried it already; this is not a failure).
* **200** complete: the manifest (JSON, at most ``max_answer_bytes``).
* **5xx** whose OperationOutcome says ``transient`` (the IG's "retry later"), or 502-504 past the transport's
  retries: polled again after backoff, ``retries`` times; any other error status: the export failed.

The whole wait is bounded by the deadline (``max_wait`` after the kick-off): a wait that would pass it ends the
export with ``timeout`` (the caller cancels it on the server).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cds_service.ehr.bulk.errors import BulkExportError, is_transient, outcome_text, printable
from cds_service.ehr.bulk.events import Event, Polling
from cds_service.ehr.bulk.transport import Transport, retry_after

MIN_POLL = 0.1
"""The shortest wait between polls, seconds (a ``Retry-After: 0`` is not an invitation to spin)."""
MAX_PROGRESS = 100
"""Characters of ``X-Progress`` shown (the IG: "less than 100 characters")."""


def poll(
    transport: Transport, status_url: str, *, started: float, deadline: float, on_event: Callable[[Event], None]
) -> Any:
    """Poll ``status_url`` until the export is complete; return the manifest's JSON.

    Args:
        transport: the export's transport.
        status_url: the kick-off's ``Content-Location``.
        started: ``time.monotonic()`` at the kick-off (for the elapsed time reported).
        deadline: ``time.monotonic()`` value of the bound.
        on_event: hears each ``Polling``.

    Raises:
        BulkExportError: the export failed (an error status, with the OperationOutcome's first issue), the server
            kept failing, or the bound was reached (``timeout``).
    """
    settings = transport.settings
    polls = 0
    failures = 0
    while True:
        response = transport.request(
            "GET", status_url, accept="application/json", deadline=deadline, what="the status request"
        )
        status = response.status_code
        if status == 200:
            return transport.read_json(response, what="the manifest")
        asked = retry_after(response.headers.get("Retry-After"))
        progress = printable(response.headers.get("X-Progress", "").strip().strip('"“”'), MAX_PROGRESS)
        if status in (202, 429):
            response.close()
            wait = asked if asked is not None else settings.backoff * 2**polls
            polls += 1
        elif status >= 500:
            body = _body(transport, response)
            if failures >= settings.retries or not (is_transient(body) or status in (502, 503, 504)):
                said = outcome_text(body)
                raise BulkExportError(f"the export failed: HTTP {status}" + (f" ({said})" if said else ""), "server")
            wait = asked if asked is not None else settings.backoff * 2**failures
            failures += 1
            progress = f"HTTP {status}, transient"
        else:
            said = outcome_text(_body(transport, response))
            raise BulkExportError(f"the export failed: HTTP {status}" + (f" ({said})" if said else ""), "server")
        wait = max(min(wait, settings.max_backoff), MIN_POLL)
        now = time.monotonic()
        if now + wait > deadline:
            raise BulkExportError(
                f"the export was not complete within {settings.max_wait:g} s (CDS_BULK_MAX_WAIT_SECONDS)", "timeout"
            )
        on_event(Polling(now - started, progress, wait))
        time.sleep(wait)


def _body(transport: Transport, response: Any) -> Any:
    try:
        return transport.read_json(response, what="the status request")
    except BulkExportError:
        return None
