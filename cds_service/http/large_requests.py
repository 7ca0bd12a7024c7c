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

Bodies small in bytes but rich in JSON values, and fallback fetches, are under the same gate (issue 29): a body
holding more values than a small call may takes the slot before it is parsed (``cds_service.http.json_body``), and a
call whose FHIR answers pass the threshold takes it before it reads or parses more of them (``Admission.hold``);
either keeps it until its evaluation is over, so one large call's data per worker is held at a time however it
arrived. A call that already holds the slot fetches on under it.
"""

from __future__ import annotations

import threading
import time

from cds_service.time_limits import Deadline
from cds_service.wire.errors import ServiceBusyError

BUSY = (
    "Another large hook call is being evaluated and this one could not start within the latency budget; nothing "
    "was evaluated. Retry, or send a smaller prefetch."
)
"""The detail of the 503 (``ServiceBusyError``) that answers a large call without a slot in its budget."""


class Admission:
    """One call's place at the gate: holding the slot (a large call) or not yet (a small one, which may ``hold`` later).

    ``release()`` ends the call's admission: it gives the slot back if held, may be called any number of times (the
    first counts), and afterwards ``hold`` refuses, so that a fetch thread still running after its call ended cannot
    take the slot and keep it.
    """

    def __init__(self, slots: threading.BoundedSemaphore, threshold: int, *, held: bool) -> None:
        self._slots = slots
        self._threshold = threshold
        self._held = held
        self._released = False
        self._lock = threading.Lock()
        self._taking = threading.Lock()  # one of the call's fetch threads at a time waits for the slot

    @property
    def threshold(self) -> int:
        """Bytes (``CDS_LARGE_REQUEST_BYTES``) above which a call's data is held only under the slot."""
        return self._threshold

    @property
    def holds_slot(self) -> bool:
        """Whether this admission holds the large-request slot now."""
        with self._lock:
            return self._held

    def hold(self, timeout: float) -> bool:
        """Take the slot for the rest of the call: ``True`` at once if held, ``False`` if not within ``timeout``.

        Args:
            timeout: seconds to wait at most (the call's fetch budget that is left).

        Thread-safe: the call's fetch threads may all ask; one waits, the others then find it held.
        """
        with self._lock:
            if self._released or self._held:
                return self._held
        until = time.monotonic() + max(timeout, 0.0)
        if not self._taking.acquire(timeout=max(timeout, 0.0)):
            return False
        try:
            with self._lock:
                if self._released or self._held:
                    return self._held
            taken = self._slots.acquire(timeout=max(until - time.monotonic(), 0.0))
            with self._lock:
                if taken and self._released:  # the call ended while this thread waited: not for it any more
                    self._slots.release()
                    return False
                self._held = taken
                return taken
        finally:
            self._taking.release()

    def release(self) -> None:
        """Give the slot back if held, and refuse any later ``hold`` (no-op after the first call)."""
        with self._lock:
            held, self._held, self._released = self._held, False, True
        if held:
            self._slots.release()


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
            return Admission(self._slots, self.threshold, held=False)
        if not self._slots.acquire(timeout=deadline.remaining()):
            raise ServiceBusyError(BUSY)
        return Admission(self._slots, self.threshold, held=True)
