"""Progress of a run's long steps (reading, grouping, evaluating, writing): a bar on a terminal, log lines otherwise.

``step(stream, label, total, unit)`` is a context manager yielding a ``Meter``: ``advance(n)`` as work is done. On a
terminal (``stream.isatty()``) it is a ``rich`` progress bar with the count, the rate and the time left; otherwise
(a log file, CI, a pipe) one line per tenth of the total and at most one every ``LOG_EVERY`` seconds, plus one at the
end: ``reading: 1.2 GB/4.0 GB (30 %), 85 MB/s, 33 s left``. ``stream`` ``None`` is silent. A step with no total
(``None``) reports what it has done and its rate. Never a patient identifier: counts and sizes only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

LOG_EVERY = 30.0
"""Seconds between log lines of a step without a terminal (besides each tenth of the total)."""


class Meter:
    """Counts a step's work and shows it (see the module docstring); made by ``step``."""

    def __init__(self, stream: TextIO | None, label: str, total: float | None, unit: str) -> None:
        self.label, self.total, self.unit, self.done = label, total, unit, 0.0
        self._stream = stream
        self._started = self._last_log = time.monotonic()
        self._next_share = 0.1
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if stream is not None and stream.isatty():
            columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
            if unit == "bytes":
                columns += [TransferSpeedColumn()]
            else:
                columns += [MofNCompleteColumn(), _Rate(unit)]
            columns += [TimeElapsedColumn(), TimeRemainingColumn()]
            self._bar = Progress(*columns, console=Console(file=stream), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(label, total=total)

    def advance(self, amount: float) -> None:
        """Add ``amount`` (patients, bytes ...) done."""
        self.done += amount
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self.done)
            return
        if self._stream is None:
            return
        now = time.monotonic()
        share = self.done / self.total if self.total else 0.0
        if (self.total and share >= self._next_share) or now - self._last_log >= LOG_EVERY:
            self._next_share = (int(share * 10 + 1e-9) + 1) / 10  # the next whole tenth
            self._last_log = now
            self._log(now)

    def close(self) -> None:
        """End the step: the bar's final state, or a last log line."""
        if self._bar is not None:
            self._bar.stop()
        elif self._stream is not None:
            self._log(time.monotonic(), final=True)

    def _log(self, now: float, *, final: bool = False) -> None:
        assert self._stream is not None
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        line = f"{self.label}: {_amount(self.done, self.unit)}"
        if self.total:
            line += f"/{_amount(self.total, self.unit)} ({self.done / self.total:.0%})"
        line += f", {_amount(rate, self.unit)}/s"
        if final:
            line += f", {elapsed:.1f} s"
        elif self.total and rate:
            line += f", {(self.total - self.done) / rate:.0f} s left"
        self._stream.write(line + "\n")
        self._stream.flush()


class _Rate(ProgressColumn):
    """Items per second (``rich`` knows the rate once a few updates are in; blank before)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f} {self.unit}/s" if task.speed else "")


def _amount(value: float, unit: str) -> str:
    if unit == "bytes":
        for name, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
            if value >= size:
                return f"{value / size:.1f} {name}"
        return f"{value:.0f} B"
    return f"{value:.0f}" + (f" {unit}" if unit else "")


@contextmanager
def step(stream: TextIO | None, label: str, total: float | None = None, unit: str = "") -> Iterator[Meter]:
    """Show the progress of one step (``Meter``); closed when the block ends, also on an error."""
    meter = Meter(stream, label, total, unit)
    try:
        yield meter
    finally:
        meter.close()
