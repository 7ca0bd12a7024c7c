"""The evaluation pool: evaluate a hook call on a worker thread and stop waiting when its deadline passes.

The call is evaluated on a thread of the process's evaluation pool while the request thread waits at most until the
deadline (``cds_service.time_limits.Deadline``). Past it, the request is answered without the late cards
(``{"cards": []}``) and the overrun is logged, counted and audited; the evaluation finishes in the background and its
result is dropped (never shown late, never half-shown).
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

    def close(self) -> None:
        """Stop accepting work (running evaluations finish)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
