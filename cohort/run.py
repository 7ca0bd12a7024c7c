"""A cohort run on one machine: read, group per patient, evaluate on all cores, write the outputs.

Memory stays flat: lines stream from the files into ``cohort.grouping.PatientGrouper`` (SQLite), and patients are
evaluated in chunks by a process pool with a bounded number of chunks in flight. Medication resources (which belong
to no patient) are kept in memory for ``medicationReference`` (a formulary, not a population). Resources that name
no patient are counted and reported, not evaluated.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from cohort.bulk import BadLine, ndjson_files, patient_of, read_lines
from cohort.evaluation import WorklistRow, due_order, evaluate_patient
from cohort.grouping import PatientGrouper
from cohort.outputs import write_guidance_responses, write_summary, write_worklist
from guideline.parameters import Parameters

_CHUNK = 200
"""Patients per task sent to a worker process."""


@dataclass(frozen=True)
class CohortResult:
    """What a run did: rows in due order, unreadable lines, resources of no patient, seconds, worker processes."""

    rows: tuple[WorklistRow, ...]
    bad_lines: tuple[BadLine, ...]
    without_patient: int
    seconds: float
    workers: int
    outputs: tuple[Path, ...] = field(default=())

    @property
    def patients_per_second(self) -> float:
        """Patients evaluated per second of the whole run (reading and writing included)."""
        return len(self.rows) / self.seconds if self.seconds else 0.0


def run_cohort(
    input_dir: Path,
    out_dir: Path,
    *,
    as_of: date,
    parameters: Parameters,
    tz: ZoneInfo,
    guideline_version: str,
    workers: int | None = None,
    progress: TextIO | None = sys.stderr,
) -> CohortResult:
    """Evaluate every patient of the Bulk NDJSON export in ``input_dir``; write the outputs into ``out_dir``.

    Args:
        input_dir: the export (``*.ndjson`` below it, either layout).
        out_dir: where ``worklist.csv``, ``guidance-responses.ndjson`` and ``summary.html`` go (created).
        as_of: the evaluation date.
        parameters: guideline parameters (the service's, interpretation settings included).
        tz: time zone for dates (``CDS_TIMEZONE``).
        guideline_version: written into each ``GuidanceResponse.moduleCanonical`` and the summary.
        workers: processes (default: every core); 1 evaluates in this process.
        progress: where the progress line goes (``None``: silent).

    Raises:
        FileNotFoundError: ``input_dir`` holds no NDJSON file.
    """
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ndjson_files(input_dir)
    bad: list[BadLine] = []
    medications: dict[str, Mapping[str, Any]] = {}
    without_patient = 0
    workers = max(1, workers or os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="cohort-") as scratch:
        grouper = PatientGrouper(Path(scratch) / "patients.sqlite3")
        try:
            for path in files:
                for item in read_lines(path, root=input_dir):
                    if isinstance(item, BadLine):
                        bad.append(item)
                    elif item.resource.get("resourceType") == "Medication":
                        medications[f"Medication/{item.resource.get('id')}"] = item.resource
                    elif (patient := patient_of(item.resource)) is not None:
                        grouper.add(patient, item.raw)
                    else:
                        without_patient += 1
            total = grouper.count()
            meter = _Progress(total, progress)
            context = (as_of, parameters, tz, medications)
            rows = _evaluate_all(grouper.patients(), context, workers, meter)
            meter.done()
        finally:
            grouper.close()
    rows.sort(key=due_order)
    outputs = (out_dir / "worklist.csv", out_dir / "guidance-responses.ndjson", out_dir / "summary.html")
    write_worklist(rows, outputs[0])
    write_guidance_responses(rows, outputs[1], as_of=as_of, version=guideline_version)
    write_summary(rows, bad, outputs[2], as_of=as_of, version=guideline_version)
    return CohortResult(tuple(rows), tuple(bad), without_patient, time.monotonic() - started, workers, outputs)


_Context = tuple[date, Parameters, ZoneInfo, Mapping[str, Mapping[str, Any]]]
_WORKER_CONTEXT: _Context | None = None


def _init_worker(context: _Context) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = context


def _evaluate_chunk(chunk: Sequence[tuple[str, list[bytes]]]) -> list[WorklistRow]:
    assert _WORKER_CONTEXT is not None
    as_of, parameters, tz, medications = _WORKER_CONTEXT
    return [
        evaluate_patient(patient, raws, as_of=as_of, parameters=parameters, tz=tz, medications=medications)
        for patient, raws in chunk
    ]


def _chunks(patients: Iterator[tuple[str, list[bytes]]]) -> Iterator[list[tuple[str, list[bytes]]]]:
    chunk: list[tuple[str, list[bytes]]] = []
    for item in patients:
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _evaluate_all(
    patients: Iterator[tuple[str, list[bytes]]], context: _Context, workers: int, meter: _Progress
) -> list[WorklistRow]:
    rows: list[WorklistRow] = []
    if workers == 1:
        _init_worker(context)
        for chunk in _chunks(patients):
            rows += _evaluate_chunk(chunk)
            meter.advance(len(chunk))
        return rows
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(context,)) as pool:
        pending: set[Future[list[WorklistRow]]] = set()
        for chunk in _chunks(patients):
            if len(pending) >= 2 * workers:  # bounded: the export is never all in flight
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    rows += future.result()
                    meter.advance(len(future.result()))
            pending.add(pool.submit(_evaluate_chunk, chunk))
        for future in pending:
            rows += future.result()
            meter.advance(len(future.result()))
    return rows


class _Progress:
    """``patients done / total, rate, time left`` on one line (a terminal) or every 10 % (a log)."""

    def __init__(self, total: int, stream: TextIO | None) -> None:
        self.total, self.stream, self.done_count = total, stream, 0
        self.started = time.monotonic()
        self._tty = bool(stream is not None and stream.isatty())
        self._next_report = 0.1

    def advance(self, count: int) -> None:
        self.done_count += count
        if self.stream is None or not self.total:
            return
        share = self.done_count / self.total
        if not self._tty and share < self._next_report:
            return
        self._next_report = share + 0.1
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done_count / elapsed
        left = (self.total - self.done_count) / rate if rate else 0.0
        line = f"patients {self.done_count}/{self.total} ({share:.0%}), {rate:.0f}/s, {left:.0f} s left"
        self.stream.write(f"\r{line}" if self._tty else f"{line}\n")
        self.stream.flush()

    def done(self) -> None:
        if self.stream is not None and self._tty:
            self.stream.write("\n")
