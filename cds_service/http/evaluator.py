"""Where a hook call is evaluated: inline on the request thread, or on the evaluation pool within its deadline.

A call that may wait on the EHR (a fallback fetch from ``fhirServer``, ``cds_service.invocation.may_wait_on_ehr``) is
evaluated on a thread of the process's evaluation pool while the request thread waits at most until the deadline
(``cds_service.time_limits.Deadline``): past it, the request is answered without the late cards (``{"cards": []}``)
and the overrun is logged, counted and audited; the evaluation stops at its next checkpoint (``Deadline.check``) or
finishes in the background, and its result is dropped (never shown late, never half-shown).

Every other call (complete prefetch, or no fetch possible) only computes: it is evaluated inline on the request
thread (``run_inline``), as the hand-off to a pool thread and back cost about a tenth of a typical call's CPU. Its
deadline is enforced inside the evaluation (``Deadline.check`` between its steps) and once more when it returns: a
result later than the deadline is dropped just the same.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from cds_service.time_limits import BudgetExceededError, Deadline

_T = TypeVar("_T")


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

    def run_inline(
        self, work: Callable[[], _T], deadline: Deadline, *, on_done: Callable[[], None] | None = None
    ) -> _T:
        """Return ``work()`` computed on the calling thread, if it finishes before ``deadline``.

        For calls that cannot wait on the EHR. ``work`` is expected to check the deadline between its steps
        (``Deadline.check``, raising ``BudgetExceededError``); a result that comes back after the deadline anyway is
        dropped. ``on_done`` is called once, before this method returns or raises. Other exceptions propagate.

        Raises:
            BudgetExceededError: the deadline passed before the work started, during it, or before it returned.
        """
        try:
            deadline.check()  # e.g. reading a huge body used it all: do not start what cannot be shown
            result = work()
        finally:
            if on_done is not None:
                on_done()
        deadline.check()
        return result

    def close(self) -> None:
        """Stop accepting work (running evaluations finish)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
