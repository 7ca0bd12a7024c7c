"""A cohort run: read the export into the run state, evaluate every patient, write the outputs.

The local engine (``cohort.local_engine``) reads only what the rules read (``cohort.relevance``), keeps each
patient's lines in the run state next to the outputs (``cohort.state``: ``OUT/.worklist-state.sqlite3``) and
evaluates them on all cores in chunks bounded by bytes; the Spark engine (``cohort.spark_engine``) does the same on a
cluster. The state makes runs incremental (``delta``: the input holds only the changed resources, merged into the
stored records; each patient is evaluated on the whole record) and resumable (a run interrupted and started again
with the same input, ``as_of`` and settings continues where it stopped), and keeps the last completed run's rows
(``Placed.previous``: what changed since). Medication resources (which belong to no patient) are the formulary for
``medicationReference``. Resources that name no patient, and resources that name a patient on another server
(``cohort.ownership``), are counted and reported, not evaluated. Deceased patients and patients the guideline does
not concern are evaluated, counted (``CohortResult.counts``) and left off the worklist (``cohort.evaluation``). Lines
longer than the export's limit are reported with the unreadable lines and never held (``cohort.bulk``).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from cohort.bulk import BadLine
from cohort.display import PUBLIC_KEY
from cohort.evaluation import Placed, WorklistRow, changed_patients, due_order
from cohort.export import Export, open_export
from cohort.inventory import Inventory
from cohort.local_engine import LoadReport, evaluate_stored, load_export, worker_pool
from cohort.measure_report import measure_report, write_measure_report
from cohort.outputs import (
    OutputOptions,
    compare_overrides,
    patient_counts,
    with_pseudonyms,
    write_changes,
    write_guidance_responses,
    write_worklist,
)
from cohort.parquet import write_parquet
from cohort.progress import step
from cohort.run_details import run_details
from cohort.since import Change, changes_since, write_changes_since
from cohort.state import STATE_FILE, RunState, StateError, run_key
from cohort.worklist_html import Page, write_page
from guideline.parameters import Parameters


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
    notes: tuple[str, ...] = ()
    """What the run could not write and why (one line each, e.g. no ``worklist.parquet`` without pyarrow)."""
    changes_since: tuple[Change, ...] | None = None
    """What changed since the previous run (``cohort.since``), or ``None`` when there was no previous run."""
    inventory: Inventory = field(default_factory=Inventory)
    """What the run read, per resource type (``cohort.inventory``; set by ``run_cohort``)."""

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
    output_options: OutputOptions | None = None,
    delta: bool = False,
    fresh: bool = False,
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
        output_options: how the outputs show patients and whether they link evidence pages
            (``cohort.outputs.OutputOptions``; default: keyed pseudonyms with the output directory's own key).
            Its ``display_system`` is passed to every patient's evaluation (``evaluate_patient``).
        delta: the export holds only resources changed since an earlier one (``_since``): merge them into the
            stored records (``cohort.state``; the local engine only) instead of replacing them.
        fresh: ignore the state in ``out_dir`` (start anew: no resumption, no previous run).

    Raises:
        FileNotFoundError: the export holds no NDJSON file.
        cohort.export.ExportError: its ``manifest.json`` is not a Bulk Data manifest, or lists a missing file.
        cohort.state.StateError: the state file in ``out_dir`` cannot be read (``fresh`` starts anew), or ``delta``
            without an earlier complete run in ``out_dir`` to merge into.
        ValueError: an unknown engine, or ``delta`` with the Spark engine.
    """
    started = time.monotonic()
    if engine not in ("local", "spark"):
        raise ValueError(f"unknown engine {engine!r} (local or spark)")
    if delta and engine == "spark":
        raise ValueError("--delta needs the local engine (the run state is on this machine)")
    export = source if isinstance(source, Export) else open_export(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    display_system = output_options.display_system if output_options is not None else None
    state = _open_state(out_dir, fresh=fresh)
    if delta and state.previous() is None:
        # Merged into nothing, a delta is a few changed resources per patient: every patient would look incomplete.
        state.close()
        raise StateError(
            f"--delta merges the changes into the records of an earlier complete run in {out_dir}, and there is none "
            "(or --fresh was given): run the full export into it first"
        )
    try:
        key = run_key(
            _fingerprint(export), as_of, parameters, compare, str(tz), guideline_version, display_system, delta
        )
        if engine == "spark":
            from cohort.spark_engine import evaluate_with_spark  # pyspark only when asked for

            placed = evaluate_with_spark(
                export,
                master=master,
                as_of=as_of,
                parameters=parameters,
                tz=tz,
                compare=compare,
                display_system=display_system,
                progress=progress,
            )
            state.start_run(key)
            used = 0
        else:
            used = max(1, workers or os.cpu_count() or 1)
            placed = _evaluate_locally(
                export, state, key, (as_of, parameters, tz, compare, display_system), used, delta, progress
            )
        placed = replace(placed, previous=state.previous())
        with step(progress, "writing", None, "") as meter:
            result = _write(
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
                options=output_options,
            )
            meter.advance(1)
        state.complete(placed.pairs)
        result = replace(result, inventory=placed.inventory)
    finally:
        state.close()
    return result


def _open_state(out_dir: Path, *, fresh: bool) -> RunState:
    """The run state of ``out_dir`` (``cohort.state``); with ``fresh``, a new one (the old file removed)."""
    path = out_dir / STATE_FILE
    if fresh:
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
    return RunState(path)


def _fingerprint(export: Export) -> tuple[object, ...]:
    """What identifies the input for resumption: each file's name, size and modification time, the manifest's too."""
    files = [item.path for item in export.inputs()]
    manifest = export.directory / "manifest.json"
    if manifest.is_file():
        files.append(manifest)
    stats = tuple((export.name(path), path.stat().st_size, path.stat().st_mtime_ns) for path in files)
    return (str(export.directory.resolve()), export.base, export.max_line_bytes, stats)


def _evaluate_locally(
    export: Export,
    state: RunState,
    key: str,
    settings: tuple[date, Parameters, ZoneInfo, Parameters | None, str | None],
    workers: int,
    delta: bool,
    progress: TextIO | None,
) -> Placed:
    """Load the export into the state (unless the interrupted run under ``key`` had), then evaluate what is left."""
    as_of, parameters, tz, compare, display_system = settings
    pool = worker_pool(workers, (as_of, parameters, tz, state.path, compare, display_system))
    try:
        if state.resumable(key):
            report = LoadReport.from_json(state.meta("load_report") or "")
            if progress is not None:
                progress.write("resuming the interrupted run (same input, date and settings): not reading it again\n")
        else:
            state.start_run(key)
            report = load_export(export, state, delta=delta, progress=progress, pool=pool)
        evaluate_stored(state, pool, workers, progress)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return Placed(
        state.run_rows(),
        list(report.bad),
        report.without_patient,
        report.other_server,
        inventory=report.inventory,
    )


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
    options: OutputOptions | None = None,
) -> CohortResult:
    """Write the outputs of either engine (rows in worklist order; bad lines by file and line).

    ``worklist.csv``, ``guidance-responses.ndjson``, ``summary.html``, ``measure-report.json``, ``worklist.parquet``
    (with pyarrow; else a note in ``CohortResult.notes`` and the page), ``changes.csv`` (with ``compare``) and
    ``changes-since-previous.csv`` (when ``placed.previous`` is set). Every row without a site identifier gets its
    keyed pseudonym first (``cohort.display``), so every output shows a patient alike.
    """
    options = options or OutputOptions()
    pairs = sorted(
        with_pseudonyms(placed.pairs, options.display_key or PUBLIC_KEY), key=lambda pair: due_order(pair[0])
    )
    bad = sorted(placed.bad, key=lambda b: (b.path, b.line))
    rows = [row for row, _ in pairs]
    counts = patient_counts(rows)
    outputs = [out_dir / "worklist.csv", out_dir / "guidance-responses.ndjson", out_dir / "summary.html"]
    write_worklist(rows, outputs[0])
    write_guidance_responses(rows, outputs[1], as_of=as_of, version=guideline_version)
    outputs.append(out_dir / "measure-report.json")
    write_measure_report(measure_report(counts, rows, as_of=as_of), outputs[-1])
    notes: list[str] = []
    if (note := write_parquet(rows, out_dir / "worklist.parquet", as_of=as_of)) is None:
        outputs.append(out_dir / "worklist.parquet")
    else:
        notes.append(note)
    compared = tuple((row, other) for row, other in pairs if other is not None)
    if compare is not None:
        outputs.append(out_dir / "changes.csv")
        write_changes(compared, outputs[-1], label=compare_label, overrides=compare_overrides(parameters, compare))
    since: tuple[Change, ...] | None = None
    if placed.previous is not None:
        since = tuple(changes_since(placed.previous, rows))
        outputs.append(out_dir / "changes-since-previous.csv")
        write_changes_since(since, outputs[-1])
    details = run_details(
        export,
        parameters=parameters,
        compare=compare,
        guideline_version=guideline_version,
        workers=workers,
        seconds=seconds,
        display_system=options.display_system,
        display_key=options.display_key_source if options.display_key else "",
        notes=tuple(notes),
    )
    page = Page(
        rows=rows,
        counts=counts,
        as_of=as_of,
        run=details,
        bad_lines=bad,
        inventory=placed.inventory,
        without_patient=placed.without_patient,
        other_server=placed.other_server,
        evidence_pages=options.evidence_pages,
        previous_run=placed.previous is not None,
        changes=since or (),
        changed=changed_patients(compared) if compare is not None else None,
        parquet=not notes,
    )
    write_page(page, outputs[2])
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
        notes=tuple(notes),
        changes_since=since,
    )
