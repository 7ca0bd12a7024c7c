"""Large hook calls one at a time per process, so that a worker's memory stays bounded.

A prefetch of 6,000 resources (years of weekly bsAb doses) is a 2.4 MB body that becomes about 20 MB of parsed
JSON and guideline facts while it is evaluated. gunicorn gives each worker several request threads; four such calls
at once would add some 80 MB to a worker, and gain nothing, because evaluation is CPU-bound and the GIL runs one
thread at a time anyway: four at once each finish four times later, past the latency budget together, where one
at a time at least the first ones are answered in time.

So a call whose body is larger than ``CDS_LARGE_REQUEST_BYTES`` must hold this process's single large-request slot
from when its body has been read (within the call's deadline: ``cds_service.http.request_body``) until its evaluation is
over, including an evaluation that runs on after the latency budget cut the call. The body is read *before* the slot
is taken, so a client that uploads slowly holds only its own request thread, never the slot (issue 17: four slow
chunked uploads used to make every large call answer 503 while they lasted); the raw bytes cost at most
``CDS_MAX_CONTENT_LENGTH`` per request thread. Small calls never wait. A large call that gets no slot within its
latency budget is refused with 503 (``ServiceBusyError``) before its body is parsed; it is logged and counted, but
not audited, because nothing of the request (patient, hookInstance) was read.
"""

from __future__ import annotations

import threading

from cds_service.time_limits import Deadline
from cds_service.wire.errors import ServiceBusyError


class Admission:
    """A held slot (or none, for a small call). ``release()`` may be called any number of times; the first counts."""

    def __init__(self, slot: threading.BoundedSemaphore | None) -> None:
        self._slot = slot
        self._lock = threading.Lock()

    @property
    def holds_slot(self) -> bool:
        """Whether this admission holds (or held) the large-request slot."""
        return self._slot is not None

    def release(self) -> None:
        """Give the slot back (no-op for a small call, and after the first call)."""
        with self._lock:
            slot, self._slot = self._slot, None
        if slot is not None:
            slot.release()


class LargeRequestGate:
    """Admits calls: small ones at once, large ones (``> threshold`` bytes) one at a time.

    Args:
        threshold: body size in bytes above which a call is large (``CDS_LARGE_REQUEST_BYTES``).
        slots: large calls evaluated at once in this process (1: see the module docstring).
    """

    def __init__(self, threshold: int, slots: int = 1) -> None:
        self.threshold = threshold
        self._slots = threading.BoundedSemaphore(slots)

    def admit(self, body_bytes: int, deadline: Deadline) -> Admission:
        """Return the call's admission; a large call waits for a slot at most until ``deadline``.

        Args:
            body_bytes: the size of the request body as read (chunked bodies included).
            deadline: the call's latency budget.

        Raises:
            ServiceBusyError: a large call got no slot before the deadline (503).
        """
        if body_bytes <= self.threshold:
            return Admission(None)
        if not self._slots.acquire(timeout=deadline.remaining()):
            raise ServiceBusyError(
                "Another large hook call is being evaluated and this one could not start within the latency "
                "budget; nothing was evaluated. Retry, or send a smaller prefetch.",
            )
        return Admission(self._slots)
