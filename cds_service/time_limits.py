"""Time limits of one call: its deadline (the latency budget), and a watchdog that holds sockets to deadlines.

``Deadline``: CDS Hooks 2.0.1 asks services to answer "on the order of 500 ms"; an EHR that waits longer holds up the
clinician, and many give up and show nothing. Time waiting on the EHR's FHIR server (the fallback fetch, bounded by
``CDS_FHIR_BUDGET_SECONDS``) is added to the deadline, not taken from the service's own budget. The evaluation pool
that stops waiting at the deadline, and the inline evaluation of calls that cannot wait on the EHR, are
``cds_service.http.evaluator``; the evaluation checks the deadline between its steps (``Deadline.check``).

``ReadWatchdog``: a socket timeout bounds one ``recv`` only; a peer that sends one byte every 100 ms never trips it.
One watchdog thread per process keeps the deadlines of the reads in progress and, when one passes, shuts the read
side of that connection (``shutdown(SHUT_RD)``): the blocked read returns at once. It bounds request bodies
(``cds_service.http.request_body``) and the EHR's FHIR responses (``cds_service.ehr.fhir_client``).
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class BudgetExceededError(Exception):
    """The evaluation did not finish within the latency budget (the caller answers without cards)."""

    def __init__(self, budget: float) -> None:
        super().__init__(f"not finished within the {budget * 1000:.0f} ms latency budget")
        self.budget = budget


class Deadline:
    """When the call must be answered: ``at``, in ``time.monotonic()`` seconds, moved only by waits on the EHR.

    ``budget`` is the service's own latency budget (``CDS_LATENCY_BUDGET_MS``). Time spent waiting on the EHR's FHIR
    server is not the service's: ``waiting_on_ehr`` moves the deadline by the fetch's allowance for as long as the
    fetch runs and gives back what it did not use, so a call answers by arrival + budget + the time the EHR took
    (at most its allowance). Thread-safe: the evaluation thread moves it while the request thread waits on it.
    The evaluation itself also looks at it between its steps (``check``).
    """

    _WAIT_SLICE = 0.05
    """Seconds the request thread waits before looking at the deadline again (it may have moved)."""

    def __init__(self, at: float, budget: float) -> None:
        """Args: at: the deadline (``time.monotonic()`` seconds); budget: the latency budget it was made from."""
        self._at = at
        self.budget = budget
        self.waited_on_ehr = 0.0
        self._lock = threading.Lock()

    @classmethod
    def starting_now(cls, budget: float) -> Deadline:
        """Return the deadline ``budget`` seconds from now."""
        return cls(time.monotonic() + budget, budget)

    @property
    def at(self) -> float:
        """The deadline now (``time.monotonic()`` seconds)."""
        return self._at

    def remaining(self) -> float:
        """Return the seconds left (0 when passed)."""
        return max(self._at - time.monotonic(), 0.0)

    @contextmanager
    def waiting_on_ehr(self, allowance: float) -> Iterator[float]:
        """Move the deadline by ``allowance`` seconds while the block waits on the EHR; give back the unused part.

        Yields the ``time.monotonic()`` instant by which the waiting must end (now + ``allowance``).
        """
        started = time.monotonic()
        with self._lock:
            self._at += allowance
        try:
            yield started + allowance
        finally:
            used = min(time.monotonic() - started, allowance)
            with self._lock:
                self._at -= allowance - used
                self.waited_on_ehr += used

    def check(self) -> None:
        """Raise ``BudgetExceededError`` if the deadline has passed: the evaluation's checkpoints between its steps.

        An evaluation run inline on the request thread (``Evaluator.run_inline``) is stopped this way; one on the
        evaluation pool stops early instead of finishing a result nobody waits for.

        Raises:
            BudgetExceededError: ``time.monotonic()`` is at or past the deadline.
        """
        if time.monotonic() >= self._at:
            raise BudgetExceededError(self.budget)

    def wait_slice(self) -> float:
        """Seconds to wait before looking again: what is left, at most ``_WAIT_SLICE``."""
        return min(self.remaining(), self._WAIT_SLICE)


class _Watch:
    """One body being read: its socket, and whether its deadline has passed (set by the watchdog)."""

    __slots__ = ("done", "expired", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.expired = False
        self.done = False


class ReadWatchdog:
    """One daemon thread that shuts the read side of connections whose body is not read by its deadline."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, at: float) -> _Watch:
        """Start watching ``sock`` until ``at`` (``time.monotonic()`` seconds); return the handle to ``release``."""
        watch = _Watch(sock)
        with self._wake:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="body-read-watchdog", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (at, next(self._order), watch))
            if self._heap[0][2] is watch:  # else the thread already wakes sooner (waking it per read cost a switch)
                self._wake.notify()
        return watch

    def release(self, watch: _Watch) -> bool:
        """Stop watching (the body is read, or the read failed); return whether the deadline had passed first."""
        with self._wake:
            watch.done = True
            return watch.expired

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                at, _, watch = self._heap[0]
                wait = at - self._clock()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
                watch.expired = True
            try:
                watch.sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass  # already closed by the client


WATCHDOG = ReadWatchdog()
"""The process's watchdog (its thread starts with the first body read from a socket)."""
