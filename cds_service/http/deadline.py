"""The latency budget of one hook call: evaluate on a worker thread and stop waiting when the budget runs out.

CDS Hooks 2.0.1 asks services to answer "on the order of 500 ms"; an EHR that waits longer holds up the clinician,
and many give up and show nothing. So the call is evaluated on a thread of the process's evaluation pool while the
request thread waits at most until the deadline. Past it, the request is answered without the late cards
(``{"cards": []}``) and the overrun is logged, counted and audited; the evaluation finishes in the background and
its result is dropped (never shown late, never half-shown). Time waiting on the EHR's FHIR server (the fallback
fetch, bounded by ``CDS_FHIR_BUDGET_SECONDS``) is added to the deadline, not taken from the service's own budget.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import TypeVar

_T = TypeVar("_T")


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

    def wait_slice(self) -> float:
        """Seconds to wait before looking again: what is left, at most ``_WAIT_SLICE``."""
        return min(self.remaining(), self._WAIT_SLICE)


class Evaluator:
    """Runs evaluations on a small per-process thread pool, each within its request's deadline."""

    def __init__(self, threads: int) -> None:
        """Create the pool (``threads`` evaluations at once; late ones keep their thread until they finish)."""
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="evaluate")

    def run(self, work: Callable[[], _T], deadline: Deadline, *, on_done: Callable[[], None] | None = None) -> _T:
        """Return ``work()`` if it finishes before ``deadline``; its exceptions propagate unchanged.

        The work runs in a copy of the caller's context (request id and hookInstance reach its log lines).
        ``on_done`` is called once when the work is over: finished, failed, cancelled, or never started; for a call
        cut by the budget that is later than this method returns (``cds_service.http.large_requests`` relies on it).

        Raises:
            BudgetExceededError: the deadline passed first.
        """
        if deadline.remaining() <= 0:  # e.g. reading a huge body used it all: do not start what cannot be shown
            if on_done is not None:
                on_done()
            raise BudgetExceededError(deadline.budget)
        context = contextvars.copy_context()
        future = self._pool.submit(context.run, work)
        if on_done is not None:
            future.add_done_callback(lambda _: on_done())
        while True:
            try:
                # In slices: a fallback fetch moves the deadline while this thread waits (Deadline.waiting_on_ehr).
                return future.result(timeout=deadline.wait_slice())
            except FutureTimeout as error:
                if deadline.remaining() > 0:
                    continue
                future.cancel()  # only helps if it never started; a running evaluation finishes and is dropped
                raise BudgetExceededError(deadline.budget) from error

    def close(self) -> None:
        """Stop accepting work (running evaluations finish)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
