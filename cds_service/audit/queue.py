"""Decision audit rows survive a database outage: queued in memory and retried until written.

A hook call is answered once its decision is recorded *or queued*. The writer tries the database first; when the
write fails (``StorageError``) the row goes to an in-process queue that a background thread retries with
exponential backoff (0.25 s doubling to 10 s) until it is written, in arrival order, in batches. While the queue
holds rows, new rows join it rather than waiting on a database that is known to be down, so the outage costs the
clinician no latency. Rows are lost only if the process dies with rows still queued; at a graceful exit (gunicorn
stops a worker, SIGTERM) the writer makes a last attempt and logs how many rows it could not write.

Bounded: past ``capacity`` queued rows, the call is refused (``StorageError``, answered 503 with no card) rather than
risk the process's memory. Feedback is not queued: it is answered 503 so that the EHR retries it
(CDS Hooks 2.0.1 "Feedback"), which keeps the client, not this process, responsible for it.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence

from cds_service.observability import AUDIT_QUEUE_LENGTH, AUDIT_QUEUED, AUDIT_WRITE_FAILURES
from storage import AuditStore, DecisionEntry, StorageError

logger = logging.getLogger(__name__)

_BATCH = 200
"""Rows per retry transaction."""


class AuditQueueFullError(StorageError):
    """The database has been unavailable so long that ``capacity`` rows are queued; the call is refused (503)."""


class DecisionWriter:
    """Writes decision rows to the audit store, queueing and retrying them while the database is unavailable."""

    def __init__(
        self,
        store: AuditStore,
        *,
        capacity: int = 10_000,
        initial_backoff: float = 0.25,
        max_backoff: float = 10.0,
    ) -> None:
        """Args: store: the audit store; capacity: rows held at most; backoff bounds in seconds."""
        self._store = store
        self._capacity = capacity
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._queue: deque[DecisionEntry] = deque()
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # one batch write at a time (retry thread or final flush), never twice
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    def record(self, entry: DecisionEntry) -> None:
        """Record one decision now, or queue it for the retry thread.

        Raises:
            AuditQueueFullError: ``capacity`` rows are already waiting (the caller answers 503 and shows no card).
        """
        with self._lock:
            if self._queue:  # the database is known to be down: do not make this call wait on it
                self._enqueue(entry)
                return
        try:
            self._store.record_decision(entry)
        except StorageError as error:
            logger.error("audit write failed, decision queued for retry: %s", error)
            AUDIT_WRITE_FAILURES.inc()
            with self._lock:
                self._enqueue(entry)

    def pending(self) -> int:
        """Return the number of queued rows."""
        with self._lock:
            return len(self._queue)

    def flush(self, timeout: float) -> int:
        """Try to write every queued row within ``timeout`` seconds; return how many are still queued."""
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            if not self._write_batch():
                time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))
        return self.pending()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the retry thread after a last flush; log (without patient data) what could not be written.

        Idempotent: called by the owner and again at interpreter exit (``atexit``).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.notify_all()
        left = self.flush(timeout)
        if left:
            logger.error("process exiting with %d decision audit rows unwritten (database unavailable)", left)

    def _enqueue(self, entry: DecisionEntry) -> None:
        # Called with the lock held.
        if len(self._queue) >= self._capacity:
            raise AuditQueueFullError(f"{len(self._queue)} decision audit rows queued; refusing new calls")
        self._queue.append(entry)
        AUDIT_QUEUED.inc()
        AUDIT_QUEUE_LENGTH.set(len(self._queue))
        if self._thread is None:
            self._thread = threading.Thread(target=self._retry_forever, name="audit-retry", daemon=True)
            self._thread.start()
            atexit.register(self.close)
        self._wake.notify()

    def _retry_forever(self) -> None:
        backoff = self._initial_backoff
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
            if self._write_batch():
                backoff = self._initial_backoff
                continue
            time.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    def _write_batch(self) -> bool:
        """Write the oldest queued rows in one transaction; return whether it succeeded."""
        with self._writing:
            with self._lock:
                batch: Sequence[DecisionEntry] = list(self._queue)[:_BATCH]
            if not batch:
                return True
            try:
                self._store.record_decisions(batch)
            except StorageError as error:
                logger.warning("audit retry failed (%d rows queued): %s", self.pending(), error)
                return False
            with self._lock:
                for _ in batch:
                    self._queue.popleft()
                AUDIT_QUEUE_LENGTH.set(len(self._queue))
                left = len(self._queue)
        logger.info("audit retry wrote %d queued decision rows; %d still queued", len(batch), left)
        return True
