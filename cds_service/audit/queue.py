"""Decision audit rows, group-committed by one writer thread per process; held and retried while the database is away.

A hook call hands its decision row to the writer (``DecisionWriter.record``) and is answered once the row is
**committed**, or, when the database is unavailable, once the row is **held** in this process's queue for retry.
The writer thread commits whatever rows are waiting in one transaction (at most ``batch``, prepared statements:
``AuditStore.record_decisions``) as soon as the previous transaction is over: a lone call's row is committed at once,
and under load the rows that arrived during one commit share the next. There is no timer: every call waits for its
commit, so a timer would add its delay to every answer.

The acknowledgement point keeps the durability promise (docs/reliability.md): a card is never sent for a decision
that a crash of the process could lose, except while the database is unavailable. A row is held, and the call
answered without waiting, when

* the database refused a write (``StorageError``): the writer retries with exponential backoff (0.25 s doubling
  to 10 s), oldest rows first; while rows are held, new rows join them without waiting (an outage costs the
  clinician no latency) until the backlog is down to one batch;
* or the commit has not finished within ``commit_wait`` (0.25 s; a database that hangs instead of refusing).

Held rows are lost only if the process dies before they are written. At a clean exit (gunicorn's ``worker_exit``
hook calls ``close_all``; ``atexit`` as well) the writer makes a last attempt and logs how many rows it could not
write. Bounded: past ``capacity`` waiting rows the call is refused (``AuditQueueFullError``, answered 503 with no
card). Feedback is not queued: it is answered 503 so that the EHR retries it (CDS Hooks 2.0.1 "Feedback").

``acknowledge="queued"`` answers as soon as the row is queued, without waiting for its commit (fire-and-forget):
faster by the commit's latency, but a crash loses the rows of calls already answered. Only ``scripts/audit_cost.py``
uses it, to measure that trade-off.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from itertools import islice
from typing import Literal

from cds_service.observability import AUDIT_QUEUE_LENGTH, AUDIT_QUEUED, AUDIT_WRITE_FAILURES
from storage import AuditStore, DecisionEntry, StorageError

logger = logging.getLogger(__name__)

_IDLE_SECONDS = 30.0
"""The writer thread ends after this long without a row (a new one starts with the next row)."""

_WRITERS: weakref.WeakSet[DecisionWriter] = weakref.WeakSet()


class AuditQueueFullError(StorageError):
    """The database has been unavailable so long that ``capacity`` rows are queued; the call is refused (503)."""


class DecisionWriter:
    """Group-commits decision rows on a writer thread; holds and retries them while the database is unavailable."""

    def __init__(
        self,
        store: AuditStore,
        *,
        capacity: int = 10_000,
        initial_backoff: float = 0.25,
        max_backoff: float = 10.0,
        batch: int = 200,
        commit_wait: float = 0.25,
        acknowledge: Literal["commit", "queued"] = "commit",
    ) -> None:
        """Create the writer; its thread starts with the first row.

        Args:
            store: the audit store.
            capacity: rows waiting at most (held or in flight); past it calls are refused.
            initial_backoff: the first retry delay in seconds while the database refuses writes (then doubled).
            max_backoff: the longest retry delay in seconds.
            batch: rows per transaction at most.
            commit_wait: seconds a call waits for its commit before its row counts as held.
            acknowledge: ``commit`` (the service) or ``queued`` (fire-and-forget, for measurements only).
        """
        self._store = store
        self._capacity = capacity
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._batch = batch
        self._commit_wait = commit_wait
        self._wait_for_commit = acknowledge == "commit"
        self._queue: deque[DecisionEntry] = deque()  # accepted, not yet committed, oldest first
        self._accepted = 0  # rows ever accepted; the newest row's number
        self._committed = 0  # rows ever committed: always ``_accepted - len(_queue)``
        self._holding = False  # rows are acknowledged without their commit: the database is down or hangs
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # the writer waits for rows
        self._written = threading.Condition(self._lock)  # callers wait for their commit
        self._writing = threading.Lock()  # one transaction at a time (writer thread or a flush), never a row twice
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._gauge = 0  # the held rows last reported (``cds_audit_queue_length``)
        _WRITERS.add(self)

    def record(self, entry: DecisionEntry) -> None:
        """Accept one decision row; return once it is committed or held (see the module docstring).

        Raises:
            AuditQueueFullError: ``capacity`` rows are already waiting (the caller answers 503 and shows no card).
        """
        with self._lock:
            if len(self._queue) >= self._capacity:
                raise AuditQueueFullError(f"{len(self._queue)} decision audit rows queued; refusing new calls")
            self._queue.append(entry)
            self._accepted += 1
            if not self._closed:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                    self._thread.start()
                else:
                    self._arrived.notify()
                if self._holding:  # the database is known to be down: do not make this call wait on it
                    AUDIT_QUEUED.inc()
                    self._set_gauge(len(self._queue))
                elif self._wait_for_commit:
                    self._await_commit(self._accepted)
                return
        self._write()  # the writer is closed (a call after shutdown began): written on this thread

    def pending(self) -> int:
        """Return the number of rows not yet committed (held, or in a transaction under way)."""
        with self._lock:
            return len(self._queue)

    def flush(self, timeout: float) -> int:
        """Try to write every waiting row within ``timeout`` seconds; return how many are still waiting."""
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            if not self._write():
                time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))
        return self.pending()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the writer thread after a last flush; log (without patient data) what could not be written.

        Idempotent: called by gunicorn's ``worker_exit`` hook (``close_all``), by the owner and at interpreter exit.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            self._arrived.notify_all()
            thread = self._thread
        deadline = time.monotonic() + timeout
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)  # it finishes the transaction under way
        left = self.flush(max(deadline - time.monotonic(), 0.0))
        if left:
            logger.error("process exiting with %d decision audit rows unwritten (database unavailable)", left)

    def _await_commit(self, number: int) -> None:
        # Called with the lock held: wait until row ``number`` is committed, or held (a failed transaction, or
        # ``commit_wait`` over: then every waiting row is held and the next calls do not wait either).
        deadline = time.monotonic() + self._commit_wait
        while self._committed < number and not self._holding:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.warning("audit commit slower than %.2f s: decision rows held", self._commit_wait)
                self._start_holding()
                return
            self._written.wait(remaining)

    def _start_holding(self) -> None:
        # Called with the lock held: from now on calls are answered before their rows are committed.
        self._holding = True
        AUDIT_QUEUED.inc(len(self._queue))
        self._set_gauge(len(self._queue))
        self._written.notify_all()  # every waiting call is answered now: its row is held

    def _set_gauge(self, rows: int) -> None:
        # Called with the lock held. The gauge shows held rows; it is left alone (0) while none are held.
        self._gauge = rows
        AUDIT_QUEUE_LENGTH.set(rows)

    def _run(self) -> None:
        backoff = self._initial_backoff
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    if not self._arrived.wait(_IDLE_SECONDS) and not self._queue:
                        self._thread = None  # idle: the next row starts a new thread
                        return
                if self._closed:
                    return  # ``close`` flushes what is left
            if self._write():
                backoff = self._initial_backoff
                continue
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, self._max_backoff)

    def _write(self) -> bool:
        """Commit the oldest waiting rows (at most ``batch``) in one transaction; return whether it succeeded."""
        with self._writing:
            with self._lock:
                batch = list(islice(self._queue, self._batch))
                holding = self._holding
            if not batch:
                return True
            try:
                self._store.record_decisions(batch)
            except StorageError as error:
                with self._lock:
                    if not self._holding:
                        AUDIT_WRITE_FAILURES.inc()
                        logger.error("audit write failed, decision rows held for retry: %s", error)
                        self._start_holding()
                    else:
                        logger.warning("audit retry failed (%d rows held): %s", len(self._queue), error)
                return False
            with self._lock:
                for _ in batch:
                    self._queue.popleft()
                self._committed += len(batch)
                left = len(self._queue)
                if self._holding and left < self._batch:
                    self._holding = False  # what is left goes in the next transaction: calls wait again
                if self._gauge:
                    self._set_gauge(left if self._holding else 0)
                self._written.notify_all()
        if holding:
            logger.info("audit retry wrote %d held decision rows; %d still waiting", len(batch), left)
        return True


def close_all(timeout: float = 5.0) -> None:
    """Close every writer of this process (last flush; gunicorn's ``worker_exit`` hook and ``atexit``)."""
    for writer in list(_WRITERS):
        writer.close(timeout)


atexit.register(close_all)
