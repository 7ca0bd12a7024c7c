"""A cohort run on one machine: read, group per patient, evaluate on all cores, write the outputs.

Memory stays flat: lines stream from the files into ``cohort.grouping.PatientGrouper`` (SQLite), and patients are
evaluated in chunks by a process pool with a bounded number of chunks in flight. Medication resources (which belong
to no patient) are kept in memory for ``medicationReference`` (a formulary, not a population). Resources that name
no patient, and resources that name a patient on another server (``cohort.ownership``), are counted and reported,
not evaluated. Deceased patients and patients the guideline does not concern are evaluated, counted
(``CohortResult.counts``) and left off the worklist (``cohort.evaluation``). Lines longer than the export's limit
are reported with the unreadable lines and never held (``cohort.bulk``).
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

from cohort.bulk import BadLine
from cohort.evaluation import Placed, WorklistRow, changed_patients, due_order, evaluate_patient
from cohort.export import Export, open_export
from cohort.grouping import PatientGrouper
from cohort.outputs import (
    compare_overrides,
    patient_counts,
    write_changes,
    write_guidance_responses,
    write_summary,
    write_worklist,
)
from cohort.ownership import FOREIGN
from guideline.parameters import Parameters

_CHUNK = 200
"""Patients per task sent to a worker process."""


@dataclass(frozen=True)
class CohortResult:
    """What a run did: rows in due order, unreadable lines, resources not evaluated, seconds, worker processes.

    ``rows`` holds every patient evaluated: the worklist's rows in due order, then the patients left off it
    (``WorklistRow.on_worklist`` False: recommendation ``deceased`` or ``not-relevant``), which ``worklist`` leaves
    out and ``counts`` counts. ``workers`` is 0 for the Spark engine (its parallelism is the cluster's).
    ``without_patient``: resources that name no patient; ``other_server``: resources that name a patient on another
    server (neither evaluated). ``export``: the export as it was read (its base, its line limit; set by ``run_cohort``).
    """

    rows: tuple[WorklistRow, ...]
    bad_lines: tuple[BadLine, ...]
    without_patient: int
    seconds: float
    workers: int
    outputs: tuple[Path, ...] = field(default=())
    compared: tuple[tuple[WorklistRow, WorklistRow], ...] = ()
    """With ``compare``: every patient as ``(current, under the compared settings)``, in worklist order."""
    other_server: int = 0
    export: Export | None = None

    @property
    def worklist(self) -> tuple[WorklistRow, ...]:
        """The rows written to ``worklist.csv`` (and as ``GuidanceResponse``), in due order."""
        return tuple(row for row in self.rows if row.on_worklist)

    @property
    def counts(self) -> dict[str, int]:
        """``evaluated``, ``worklist``, ``card``, ``not-relevant``, ``deceased`` (``cohort.outputs.patient_counts``)."""
        return patient_counts(self.rows)

    @property
    def patients_per_second(self) -> float:
        """Patients evaluated per second of the whole run (reading and writing included)."""
        return len(self.rows) / self.seconds if self.seconds else 0.0


def run_cohort(
    source: Path | Export,
    out_dir: Path,
    *,
    as_of: date,
    parameters: Parameters,
    tz: ZoneInfo,
    guideline_version: str,
    workers: int | None = None,
    progress: TextIO | None = sys.stderr,
    compare: Parameters | None = None,
    compare_label: str = "",
    engine: str = "local",
    master: str = "local[*]",
) -> CohortResult:
    """Evaluate every patient of the Bulk NDJSON export ``source``; write the outputs into ``out_dir``.

    Args:
        source: the export (``*.ndjson`` below it, either layout): a directory (``cohort.export.open_export`` with
            its defaults: 16 MiB lines, the base from its ``manifest.json`` if any) or an opened ``Export``.
        out_dir: where ``worklist.csv``, ``guidance-responses.ndjson`` and ``summary.html`` go (created).
        as_of: the evaluation date.
        parameters: guideline parameters (the service's, interpretation settings included).
        tz: time zone for dates (``CDS_TIMEZONE``).
        guideline_version: written into each ``GuidanceResponse.moduleCanonical`` and the summary.
        workers: processes (default: every core); 1 evaluates in this process.
        progress: where the progress line goes (``None``: silent).
        compare: other parameters to evaluate every patient under as well (``--compare-settings``): then
            ``changes.csv`` lists each patient whose recommendation, rule, population, dates or card would change.
        compare_label: how the compared settings are named in ``changes.csv`` (e.g. the settings file).
        engine: ``local`` (this machine, the default) or ``spark`` (``cohort.spark_engine``, on ``master``).
        master: the Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn`` ...), for ``engine="spark"``.

    Raises:
        FileNotFoundError: the export holds no NDJSON file.
        cohort.export.ExportError: its ``manifest.json`` is not a Bulk Data manifest.
        ValueError: an unknown engine.
    """
    started = time.monotonic()
    export = source if isinstance(source, Export) else open_export(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    if engine == "spark":
        from cohort.spark_engine import evaluate_with_spark  # pyspark only when asked for

        placed = evaluate_with_spark(export, master=master, as_of=as_of, parameters=parameters, tz=tz, compare=compare)
        used = 0
    elif engine == "local":
        workers = max(1, workers or os.cpu_count() or 1)
        placed = _evaluate_locally(export, as_of, parameters, tz, compare, workers, progress)
        used = workers
    else:
        raise ValueError(f"unknown engine {engine!r} (local or spark)")
    return _write(
        placed,
        export,
        out_dir,
        as_of=as_of,
        parameters=parameters,
        guideline_version=guideline_version,
        compare=compare,
        compare_label=compare_label,
        seconds=time.monotonic() - started,
        workers=used,
    )


def _evaluate_locally(
    export: Export,
    as_of: date,
    parameters: Parameters,
    tz: ZoneInfo,
    compare: Parameters | None,
    workers: int,
    progress: TextIO | None,
) -> Placed:
    files = export.files()
    bad: list[BadLine] = []
    medications: dict[str, Mapping[str, Any]] = {}
    without_patient = other_server = 0
    with tempfile.TemporaryDirectory(prefix="cohort-") as scratch:
        grouper = PatientGrouper(Path(scratch) / "patients.sqlite3")
        try:
            for path in files:
                for item in export.lines(path):
                    if isinstance(item, BadLine):
                        bad.append(item)
                    elif item.resource.get("resourceType") == "Medication":
                        medications[f"Medication/{item.resource.get('id')}"] = item.resource
                    elif (patient := export.owner(item.resource)) is None:
                        without_patient += 1
                    elif patient is FOREIGN:
                        other_server += 1
                    else:
                        grouper.add(patient, item.raw)
            total = grouper.count()
            meter = _Progress(total, progress)
            context = (as_of, parameters, tz, medications, compare)
            pairs = _evaluate_all(grouper.patients(), context, workers, meter)
            meter.done()
        finally:
            grouper.close()
    return Placed(pairs, bad, without_patient, other_server)


def _write(
    placed: Placed,
    export: Export,
    out_dir: Path,
    *,
    as_of: date,
    parameters: Parameters,
    guideline_version: str,
    compare: Parameters | None,
    compare_label: str,
    seconds: float,
    workers: int,
) -> CohortResult:
    """Write the outputs of either engine (rows in worklist order; bad lines by file and line)."""
    pairs = sorted(placed.pairs, key=lambda pair: due_order(pair[0]))
    bad = sorted(placed.bad, key=lambda b: (b.path, b.line))
    rows = [row for row, _ in pairs]
    outputs = [out_dir / "worklist.csv", out_dir / "guidance-responses.ndjson", out_dir / "summary.html"]
    write_worklist(rows, outputs[0])
    write_guidance_responses(rows, outputs[1], as_of=as_of, version=guideline_version)
    compared = tuple((row, other) for row, other in pairs if other is not None)
    changed = changed_patients(compared)
    if compare is not None:
        outputs.append(out_dir / "changes.csv")
        write_changes(compared, outputs[-1], label=compare_label, overrides=compare_overrides(parameters, compare))
    write_summary(
        rows,
        bad,
        outputs[2],
        as_of=as_of,
        version=guideline_version,
        changed=changed if compare is not None else None,
        without_patient=placed.without_patient,
        other_server=placed.other_server,
    )
    return CohortResult(
        tuple(rows),
        tuple(bad),
        placed.without_patient,
        seconds,
        workers,
        tuple(outputs),
        compared,
        other_server=placed.other_server,
        export=export,
    )


_Context = tuple[date, Parameters, ZoneInfo, Mapping[str, Mapping[str, Any]], Parameters | None]
_Pair = tuple[WorklistRow, WorklistRow | None]
_WORKER_CONTEXT: _Context | None = None


def _init_worker(context: _Context) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = context


def _evaluate_chunk(chunk: Sequence[tuple[str, list[bytes]]]) -> list[_Pair]:
    assert _WORKER_CONTEXT is not None
    as_of, parameters, tz, medications, compare = _WORKER_CONTEXT
    return [
        evaluate_patient(
            patient, raws, as_of=as_of, parameters=parameters, tz=tz, medications=medications, compare=compare
        )
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
) -> list[_Pair]:
    rows: list[_Pair] = []
    if workers == 1:
        _init_worker(context)
        for chunk in _chunks(patients):
            rows += _evaluate_chunk(chunk)
            meter.advance(len(chunk))
        return rows
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(context,)) as pool:
        pending: set[Future[list[_Pair]]] = set()
        for chunk in _chunks(patients):
            if len(pending) >= 2 * workers:  # bounded: the export is never all in flight
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    done = future.result()
                    rows += done
                    meter.advance(len(done))
            pending.add(pool.submit(_evaluate_chunk, chunk))
        for future in pending:
            done = future.result()
            rows += done
            meter.advance(len(done))
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
