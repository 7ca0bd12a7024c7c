"""The local engine: read the export into the run state, then evaluate every stored patient on all cores.

**Reading** (``load_export``): each file the export lists (``cohort.export.Export.inputs``) is streamed
(``.ndjson.gz`` decompressed as it is read); a file whose type the rules never read is not opened at all. A file is
read in runs of whole lines, 256 KiB at a time (``cohort.bulk.line_blocks``): a run of compact Observations,
Encounters, Procedures, Conditions or Immunizations is judged at once (``cohort.relevance.block_to_judge``, the same
decision as line by line), every other
line is classified by ``cohort.reading.classify`` (skipped unparsed when its bytes show the rules cannot use it).
With several processes, each reads whole files and writes its kept lines straight into the run state
(``cohort.state``); Medications go to its formulary. What was read is counted per type
(``cohort.inventory.Inventory``) and kept with the state, so a resumed run reports the same.

**Evaluating** (``evaluate_stored``): the stored patients' ids are sent to a process pool in chunks of at most
``CHUNK_PATIENTS``, with one chunk per process and one more in flight; each process reads its chunk's records from
the state itself (``cohort.state.RecordReader``), one patient at a time, so a process holds one patient's record
whatever its size (issue 30: 200 whole Synthea patients a task was 1-2 GB), and no resource bytes go through the
pool's pipes (the main process once read and pickled them all for the workers, taking a core from them). Each
finished chunk's rows are stored at once (``RunState.save_rows``): an interrupted run continues from them.
"""

from __future__ import annotations

import gzip
import multiprocessing
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, as_completed, wait
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any, TextIO, cast
from zoneinfo import ZoneInfo

import orjson

from cohort.bulk import BadLine, is_gzip, line_blocks, lines_of
from cohort.evaluation import WorklistRow, evaluate_patient
from cohort.export import Export, ExportFile
from cohort.inventory import Inventory, TypeCount, merge_type_counts
from cohort.progress import step
from cohort.reading import Tally, classify
from cohort.relevance import READ_TYPES, SKIP_PREFILTER, block_to_judge, decide_bytes
from cohort.state import Loader, RecordReader, RunState, read_medications
from guideline.parameters import Parameters

CHUNK_PATIENTS = 500
"""Patients per chunk, at most (progress and resumption in steps of this size or smaller)."""
_BUSY_SECONDS = 120.0
"""How long a reading worker waits for the state's write lock (held a few milliseconds a batch by another)."""

_Pair = tuple[WorklistRow, WorklistRow | None]
Context = tuple[date, Parameters, ZoneInfo, Path, Parameters | None, str | None]
"""``(as_of, parameters, tz, state file, compare, display_system)``: what every worker evaluates with."""


@dataclass(frozen=True)
class LoadReport:
    """What reading the export found: unreadable lines, resources not evaluated, the input inventory."""

    bad: tuple[BadLine, ...]
    without_patient: int
    other_server: int
    inventory: Inventory

    def to_json(self) -> str:
        """The report as JSON text (kept in the state for a resumed run)."""
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str) -> LoadReport:
        """The report ``to_json`` wrote."""
        data = orjson.loads(text)
        inventory = data["inventory"]
        inventory["types"] = tuple(TypeCount(**t) for t in inventory["types"])
        for key in ("manifest_errors", "notes"):
            inventory[key] = tuple(inventory[key])
        inventory["files_skipped"] = tuple(tuple(item) for item in inventory.get("files_skipped", ()))
        return cls(
            tuple(BadLine(**b) for b in data["bad"]),
            data["without_patient"],
            data["other_server"],
            Inventory(**inventory),
        )


def load_export(
    export: Export, state: RunState, *, delta: bool, progress: TextIO | None, pool: Executor | None = None
) -> LoadReport:
    """Read the export into ``state`` (replacing its resources, or merging them with ``delta``); report what was read.

    With a ``pool``, its processes read the files in parallel (one file a task, kept lines written straight into the
    state's ``incoming`` table, ``read_file_to_state``); else this process reads them.

    Raises:
        FileNotFoundError: the export holds no NDJSON file (and has no manifest).
    """
    inputs = export.inputs()
    read = [item for item in inputs if item.resource_type is None or item.resource_type in READ_TYPES]
    skipped_files: dict[str, list[int]] = {}
    for item in inputs:
        if item not in read:
            totals = skipped_files.setdefault(str(item.resource_type), [0, 0])
            totals[0] += 1
            totals[1] += item.path.stat().st_size
    loader = state.begin_load()
    total_bytes = sum(item.path.stat().st_size for item in read)
    results: list[FileResult] = []
    with step(progress, "reading", total_bytes, "bytes") as meter:
        if pool is None:
            for item in read:
                results.append(read_file(export, item, loader, meter.advance))
        else:
            largest_first = sorted(read, key=lambda item: item.path.stat().st_size, reverse=True)  # no long tail
            futures = [pool.submit(read_file_to_state, export, item, state.path) for item in largest_first]
            for future in as_completed(futures):
                result = future.result()
                loader.lines += result.stored
                results.append(result)
                meter.advance(result.size)
    tally = Tally()
    bad: list[BadLine] = []
    for result in sorted(results, key=lambda r: r.name):
        tally.merge(result.tally)
        bad.extend(result.bad)
        for rid, body in result.medications:
            loader.add_medication(rid, body)
    without_patient = sum(r.without_patient for r in results)
    other_server = sum(r.other_server for r in results)
    notes = []
    for kind, (files, size) in sorted(skipped_files.items()):
        notes.append(f"{kind}: {files} file(s), {size} bytes, not opened (a type the rules never read)")
    if export.unlisted:
        shown = ", ".join(export.unlisted[:10]) + (" ..." if len(export.unlisted) > 10 else "")
        notes.append(f"{len(export.unlisted)} NDJSON file(s) not listed as output by manifest.json, not read: {shown}")
    deleted = export.deleted() if delta else []
    if export.deleted_items and not delta:
        notes.append("manifest.json lists deleted[] resources: not applied (a full run replaces every resource)")
    elif deleted:
        notes.append(f"{len(deleted)} resources removed as the manifest's deleted[] lists them")
    if delta:
        notes.append(
            "--delta: these lines were merged into the records kept from earlier runs (OUT/.worklist-state.sqlite3); "
            "every stored patient was evaluated on the whole merged record"
        )
    if export.missing_deleted():
        notes.append(f"deleted[] files not downloaded, their deletions not applied: {len(export.missing_deleted())}")
    inventory = Inventory(
        types=merge_type_counts(tally.type_counts()),
        files=len(read),
        bytes_read=total_bytes,
        bad_lines=len(bad),
        without_patient=without_patient,
        other_server=other_server,
        manifest_errors=export.error_summaries(),
        manifest_outputs=len(export.outputs or ()),
        notes=tuple(notes),
        files_skipped=tuple((kind, files, size) for kind, (files, size) in sorted(skipped_files.items())),
    )
    report = LoadReport(tuple(bad), without_patient, other_server, inventory)
    with step(progress, "grouping", loader.lines, "lines") as meter:
        loader.apply(delta=delta, deleted=deleted, report=report.to_json())
        meter.advance(loader.lines)
    return report


@dataclass
class FileResult:
    """What reading one file found (``read_file``); ``stored``: the kept lines a worker wrote into the state."""

    name: str
    size: int
    tally: Tally
    bad: list[BadLine]
    medications: list[tuple[str, bytes]]
    without_patient: int = 0
    other_server: int = 0
    stored: int = 0


def read_file(export: Export, item: ExportFile, sink: Any, advance: Any = None) -> FileResult:
    """Read one file of the export line by line (``cohort.reading.classify``); hand each kept line to ``sink.add``.

    Lines are judged a run at a time (``cohort.bulk.line_blocks``, ``cohort.relevance.block_to_judge``): in a run of
    Observations, Encounters or the code pre-filter's types the lines it proves a pre-filter drops are counted at once,
    without a parse each; the others go through ``decide_bytes`` one by one.
    Files are read largest first when a pool reads them (``load_export``), so no big file is left for the end.

    ``advance(bytes)`` is called as the file's on-disk bytes are read (compressed bytes for gzip).
    """
    name = export.name(item.path)
    result = FileResult(name, item.path.stat().st_size, Tally(), [], [])
    with item.path.open("rb") as raw_handle:
        handle = cast(IO[bytes], gzip.GzipFile(fileobj=raw_handle)) if is_gzip(item.path) else raw_handle
        position = 0
        number = 0  # lines before the run under way
        skips: dict[tuple[str, str], int] = {}  # (reason, type) -> lines: counted here, the hot path of a run
        for run in line_blocks(handle, max_line_bytes=export.max_line_bytes):
            if run is None:
                batch: list[tuple[int, bytes | None, bool]] = [(number + 1, None, False)]
                number += 1
            elif (judged := block_to_judge(run)) is not None:  # most Observations and Encounters dropped unlooked-at
                run_type, count, to_judge = judged
                if count > len(to_judge):
                    skips[SKIP_PREFILTER, run_type] = skips.get((SKIP_PREFILTER, run_type), 0) + count - len(to_judge)
                batch = [(number + 1 + index, raw, kept) for index, raw, kept in to_judge]
                number += count
            else:
                lines = lines_of(run)
                batch = [(number + 1 + index, raw, False) for index, raw in enumerate(lines)]
                number += len(lines)
            for line_number, raw, kept in batch:
                if raw is not None and not kept:
                    reason, skipped_type = decide_bytes(raw)
                    if reason is not None:
                        skips[reason, skipped_type] = skips.get((reason, skipped_type), 0) + 1
                        continue
                kind, payload = classify(export, name, line_number, raw, result.tally, bytes_checked=raw is not None)
                if kind == "patient":
                    sink.add(payload)
                elif kind == "medication":
                    key, resource = payload
                    result.medications.append(
                        (key.removeprefix("Medication/"), bytes(memoryview(orjson.dumps(resource))))
                    )
                elif kind == "bad":
                    result.bad.append(payload)
                elif kind == "orphan":
                    result.without_patient += 1
                elif kind == "foreign":
                    result.other_server += 1
            if advance is not None:
                advance(raw_handle.tell() - position)
                position = raw_handle.tell()
    result.tally.add_skips(skips)
    return result


def read_file_to_state(export: Export, item: ExportFile, state_path: Path) -> FileResult:
    """``read_file`` in a worker process: kept lines go straight into the state's ``incoming`` table.

    On the worker's own connection (SQLite in WAL mode: the other readers wait their turn for a batch's write,
    ``_BUSY_SECONDS`` at most), through a ``Loader`` as in one process. Before, each worker wrote a scratch file that
    the main process then copied into the state: every kept byte written twice, and the copy took a core.
    """
    db = sqlite3.connect(state_path, isolation_level=None, timeout=_BUSY_SECONDS)
    try:
        db.execute("PRAGMA synchronous=NORMAL")  # as the state's own connection: WAL, synced at checkpoints
        (page_bytes,) = db.execute("PRAGMA page_size").fetchone()
        # Every 64 MiB, not SQLite's 1,000 pages: fewer syncs and copies.
        db.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_BYTES // page_bytes}")
        loader = Loader(db)
        result = read_file(export, item, loader)
        loader.flush()
    finally:
        db.close()
    result.stored = loader.lines
    return result


_CHECKPOINT_BYTES = 64 * 1024 * 1024
"""How much a reading worker lets the state's write-ahead log grow before it is copied into the file."""
_WORKER_CONTEXT: Context | None = None
_MEDICATIONS: dict[str, Mapping[str, Any]] | None = None
_READER: RecordReader | None = None


def init_worker(context: Context) -> None:
    """Give a process the context it evaluates with (the pool's initializer; this process too with one worker)."""
    global _WORKER_CONTEXT, _MEDICATIONS, _READER
    if _READER is not None and _READER.pid == os.getpid():  # an earlier run's, here (one worker)
        _READER.close()
    _WORKER_CONTEXT, _MEDICATIONS, _READER = context, None, None  # a forked parent's is dropped, never used


def evaluate_chunk(chunk: Sequence[str]) -> list[_Pair]:
    """Evaluate a chunk of patients (their ids, in id order) with the process's context (``evaluate_patient``).

    Their records are read from the state file by this process (``RecordReader``), one patient at a time. The
    formulary (Medications) is read on the first chunk: the pool is started before the export is read (so its
    processes are small forks), when neither is known yet.
    """
    global _MEDICATIONS, _READER
    assert _WORKER_CONTEXT is not None
    as_of, parameters, tz, state_path, compare, display_system = _WORKER_CONTEXT
    if _MEDICATIONS is None:
        _MEDICATIONS = read_medications(state_path)
    if _READER is None:
        _READER = RecordReader(state_path)
    wanted = set(chunk)
    return (
        [
            evaluate_patient(
                patient,
                raws,
                as_of=as_of,
                parameters=parameters,
                tz=tz,
                medications=_MEDICATIONS,
                compare=compare,
                display_system=display_system,
            )
            for patient, raws in _READER.records_between(chunk[0], chunk[-1])
            if patient in wanted
        ]
        if chunk
        else []
    )


def chunks(patients: Sequence[str], max_patients: int | None = None) -> Iterator[list[str]]:
    """Cut patient ids (in id order) into chunks of at most ``max_patients`` (default ``CHUNK_PATIENTS``)."""
    size = max_patients or CHUNK_PATIENTS
    for start in range(0, len(patients), size):
        yield list(patients[start : start + size])


def evaluate_stored(state: RunState, pool: Executor | None, workers: int, progress: TextIO | None) -> None:
    """Evaluate every stored patient the run under way has not evaluated yet; store each chunk's rows as it ends.

    ``pool``: the worker processes (``init_worker`` ran in each), or ``None`` to evaluate here (``init_worker`` ran
    here).
    """
    done = state.done_patients()
    total = state.patients()
    if done and progress is not None:
        progress.write(f"resuming: {len(done)} of {total} patients already evaluated\n")
    with step(progress, "evaluating", total, "patients") as meter:
        meter.advance(len(done))
        patients = state.patient_ids(done)
        if pool is None:
            for chunk in chunks(patients):
                pairs = evaluate_chunk(chunk)
                state.save_rows(pairs)
                meter.advance(len(pairs))
            return
        pending: set[Future[list[_Pair]]] = set()

        def collect(finished: set[Future[list[_Pair]]]) -> None:
            for future in finished:
                pairs = future.result()
                state.save_rows(pairs)
                meter.advance(len(pairs))

        for chunk in chunks(patients):
            if len(pending) > workers:  # one chunk per process and one waiting: rows stored as chunks end
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                collect(finished)
            pending.add(pool.submit(evaluate_chunk, chunk))
        collect(set(wait(pending).done))


def worker_pool(workers: int, context: Context) -> Executor | None:
    """The process pool (``fork``ed now, while this process is small: a fork shares its memory), or ``None`` for 1."""
    if workers == 1:
        init_worker(context)
        return None
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=init_worker,
        initargs=(context,),
    )
