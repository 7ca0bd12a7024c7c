"""The latency budget of one hook call: evaluate on a worker thread and stop waiting when the budget runs out.

CDS Hooks 2.0.1 asks services to answer "on the order of 500 ms"; an EHR that waits longer holds up the clinician,
and many give up and show nothing. So the call is evaluated on a thread of the process's evaluation pool while the
request thread waits at most until the deadline. Past it, the request is answered without the late cards
(``{"cards": []}``) and the overrun is logged, counted and audited; the evaluation finishes in the background and
its result is dropped (never shown late, never half-shown). Fallback FHIR fetches get what is left of the budget.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TypeVar

_T = TypeVar("_T")


class BudgetExceededError(Exception):
    """The evaluation did not finish within the latency budget (the caller answers without cards)."""

    def __init__(self, budget: float) -> None:
        super().__init__(f"not finished within the {budget * 1000:.0f} ms latency budget")
        self.budget = budget


@dataclass(frozen=True)
class Deadline:
    """A point in ``time.monotonic()`` seconds by which the call must be answered."""

    at: float
    budget: float

    @classmethod
    def starting_now(cls, budget: float) -> Deadline:
        """Return the deadline ``budget`` seconds from now."""
        return cls(time.monotonic() + budget, budget)

    def remaining(self) -> float:
        """Return the seconds left (0 when passed)."""
        return max(self.at - time.monotonic(), 0.0)


class Evaluator:
    """Runs evaluations on a small per-process thread pool, each within its request's deadline."""

    def __init__(self, threads: int) -> None:
        """Create the pool (``threads`` evaluations at once; late ones keep their thread until they finish)."""
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="evaluate")

    def run(self, work: Callable[[], _T], deadline: Deadline, *, on_done: Callable[[], None] | None = None) -> _T:
        """Return ``work()`` if it finishes before ``deadline``; its exceptions propagate unchanged.

        The work runs in a copy of the caller's context (request id and hookInstance reach its log lines).
        ``on_done`` is called once when the work is over: finished, failed, cancelled, or never started; for a call
        cut by the budget that is later than this method returns (``cds_service.large_requests`` relies on it).

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
        try:
            return future.result(timeout=deadline.remaining())
        except FutureTimeout as error:
            future.cancel()  # only helps if it never started; a running evaluation finishes and is dropped
            raise BudgetExceededError(deadline.budget) from error

    def close(self) -> None:
        """Stop accepting work (running evaluations finish)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
