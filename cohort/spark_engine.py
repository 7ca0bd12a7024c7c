"""The cohort on Apache Spark (PySpark): the same reading rules and the same per-patient function, on a cluster.

``cds-service cohort INPUT --engine spark --master URL``. Each NDJSON file the rules read (``cohort.relevance``:
a file of a type they never read gives no task) is cut into byte ranges of ``SPLIT_BYTES`` (a gzip file is one
range: it cannot be entered in the middle); each range is one Spark task, which reads the lines that *start* in it
with the local engine's reader (``cohort.bulk.split_lines``: the same line limit, an over-long line never held) and
classifies every line by the local engine's rule (``cohort.reading.classify``: lines the rules cannot use skipped
unparsed, the rest parsed and placed by ``cohort.export.Export.owner``), counting them per type for the input
inventory. Medication resources are collected and broadcast, the patients' lines are grouped with ``groupByKey``,
and each group is evaluated by ``cohort.evaluation.evaluate_patient`` in the executors' Python. A thread on the
driver logs the stages' progress (``StageProgress``, from ``SparkContext.statusTracker``). The driver numbers the
unreadable lines (a range counts its lines; a line's number is its place in its range plus the lines of the ranges
before it) and writes the same outputs as the local engine (``cohort.run``). ``tests/cohort/test_spark.py``
requires both engines to give the same rows, patient by patient, and the same unreadable lines (``local[2]`` in CI).

**Why not ``SparkContext.textFile``** (what this engine used before): Spark's text reader (Hadoop's
``LineRecordReader``) holds a whole line, then a Java string of it: one 300 MiB line stopped the run with
``java.lang.OutOfMemoryError: Java heap space`` (``local[2]``, the default 1 GiB driver; 1.27 GB peak RSS). Hadoop's
own limit (``mapreduce.input.linerecordreader.line.maxlength``) drops a long line without a word, so every later line
number is off by one, and it hands on the tail of a long line that crosses a split boundary as a line of its own
(measured: a 12 MiB tail of that 300 MiB line, at the 288 MiB split). Reading the ranges in Python gives exactly the
local engine's lines and line numbers, holds at most the limit of a line, and spares each line the copy from the JVM
to Python.

On a cluster the executors need this project's packages: ``spark-submit --py-files cohort.zip`` with a zip of
``cohort``, ``fhir_mappers`` and ``guideline`` (and the runtime dependencies installed on the workers), see
docs/cohort.md. Every executor reads the export's files by their path: a directory on a shared file system, mounted
at the same path everywhere. Needs ``pip install pyspark`` and a Java runtime (the ``spark`` extra; not part of
serving).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from itertools import accumulate
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from cohort.bulk import BadLine, is_gzip, open_ndjson, split_lines
from cohort.evaluation import Placed, WorklistRow, evaluate_patient
from cohort.export import Export
from cohort.inventory import Inventory, merge_type_counts
from cohort.reading import Tally, classify
from cohort.relevance import READ_TYPES
from guideline.parameters import Parameters

SPLIT_BYTES = 64 * 1024 * 1024
"""Bytes of a file per Spark task (the last range of a file is shorter; a line belongs to the range it starts in)."""

_Pair = tuple[WorklistRow, WorklistRow | None]
_Range = tuple[str, str, int, int, int]
"""``(path, name in reports, index in its file, first byte, byte after the range)``."""


def ranges_of(export: Export, split_bytes: int = SPLIT_BYTES) -> list[_Range]:
    """Cut every file the rules read into byte ranges of ``split_bytes`` (paths absolute).

    A file whose type (manifest or name) the rules never read gives no range; a gzip file is one range (it cannot
    be entered in the middle); an empty file one empty range.

    Raises:
        FileNotFoundError: no NDJSON file.
    """
    ranges: list[_Range] = []
    for item in export.inputs():
        if item.resource_type is not None and item.resource_type not in READ_TYPES:
            continue
        path, size = item.path, item.path.stat().st_size
        step = size + 1 if is_gzip(path) else split_bytes
        for index, start in enumerate(range(0, max(size, 1), step)):
            ranges.append((str(path.resolve()), export.name(path), index, start, min(start + step, size)))
    return ranges


def read_range(export: Export, task: _Range) -> Iterator[tuple[str, Any]]:
    """Yield the classified lines starting in one range (``cohort.reading.classify``), then its counts.

    A ``BadLine`` comes as ``("bad", (range index, BadLine))``, numbered within the range (the driver adds the
    lines of the ranges before it); a kept line as ``("patient", (patient id, raw bytes))``; last come
    ``("range", (name, index, lines))`` and ``("tally", Tally)`` (the range's per-type counts).
    """
    path, name, index, start, end = task
    count = 0
    tally = Tally()
    with open_ndjson(Path(path)) as handle:
        gzipped = is_gzip(Path(path))
        lines = split_lines(handle, max_line_bytes=export.max_line_bytes, start=start, end=None if gzipped else end)
        for count, raw in enumerate(lines, start=1):
            kind, item = classify(export, name, count, raw, tally)
            if kind == "bad":
                yield kind, (index, item)
            elif kind == "patient":
                yield kind, (item.patient, item.raw)
            elif kind not in ("blank", "skip"):
                yield kind, item
    yield "range", (name, index, count)
    yield "tally", tally


def evaluate_with_spark(
    export: Export,
    *,
    master: str,
    as_of: date,
    parameters: Parameters,
    tz: ZoneInfo,
    compare: Parameters | None = None,
    split_bytes: int = SPLIT_BYTES,
    display_system: str | None = None,
    progress: TextIO | None = None,
) -> Placed:
    """Evaluate every patient of the export on Spark; return the rows and what was not evaluated, as locally.

    Args:
        export: the export (``*.ndjson`` below its directory, either layout; its line limit and base).
        master: the Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn`` ...).
        as_of: the evaluation date.
        parameters: guideline parameters (the service's).
        tz: time zone for dates.
        compare: other parameters to evaluate every patient under as well, or ``None``.
        split_bytes: bytes of a file per task (``SPLIT_BYTES``).
        display_system: the ``Patient.identifier.system`` rows are shown by (``evaluate_patient``), or ``None``.
        progress: where the stages' progress goes as log lines (``StageProgress``; ``None``: silent).

    Raises:
        FileNotFoundError: no NDJSON file.
        ImportError: pyspark is not installed.
    """
    from pyspark import SparkConf, SparkContext

    tasks = ranges_of(export, split_bytes)
    conf = (
        SparkConf()
        .setMaster(master)
        .setAppName("sid-igrt-cohort")
        .set("spark.ui.enabled", "false")
        .set("spark.ui.showConsoleProgress", "false")
    )
    if master.startswith("local"):
        # Executors on this machine run this interpreter (its packages), not whatever "python3" is on the PATH:
        # PySpark takes the workers' interpreter from PYSPARK_PYTHON when the context is created.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    context = SparkContext.getOrCreate(conf)
    context.setLogLevel("ERROR")
    watcher = StageProgress(context, progress)
    try:
        lines = context.parallelize(tasks, max(len(tasks), 1)).flatMap(lambda task: read_range(export, task)).cache()
        counted = lines.filter(lambda kind: kind[0] == "range").map(lambda kind: kind[1]).collect()
        tally = Tally()
        for part in lines.filter(lambda kind: kind[0] == "tally").map(lambda kind: kind[1]).collect():
            tally.merge(part)
        bad = _numbered(lines.filter(lambda kind: kind[0] == "bad").map(lambda kind: kind[1]).collect(), counted)
        medications = dict(item for _, item in lines.filter(lambda kind: kind[0] == "medication").collect())
        orphans = lines.filter(lambda kind: kind[0] == "orphan").count()
        foreign = lines.filter(lambda kind: kind[0] == "foreign").count()
        shared = context.broadcast((as_of, parameters, tz, medications, compare, display_system))
        groups = lines.filter(lambda kind: kind[0] == "patient").map(lambda kind: kind[1]).groupByKey()
        pairs = groups.mapPartitions(lambda part: _evaluate_partition(part, shared.value)).collect()
        lines.unpersist()
    finally:
        watcher.stop()
        context.stop()
    read = {task[0] for task in tasks}
    inventory = Inventory(
        types=merge_type_counts(tally.type_counts()),
        files=len(read),
        bytes_read=sum(Path(path).stat().st_size for path in read),
        bad_lines=len(bad),
        without_patient=int(orphans),
        other_server=int(foreign),
        manifest_errors=export.error_summaries(),
        manifest_outputs=len(export.outputs or ()),
        notes=(f"{len(export.unlisted)} NDJSON file(s) not listed as output by manifest.json, not read",)
        if export.unlisted
        else (),
        files_skipped=_skipped_files(export),
    )
    return Placed(list(pairs), bad, int(orphans), int(foreign), inventory=inventory)


def _skipped_files(export: Export) -> tuple[tuple[str, int, int], ...]:
    """``(type, files, bytes)`` of the files not read because of their type."""
    skipped: dict[str, list[int]] = {}
    for item in export.inputs():
        if item.resource_type is not None and item.resource_type not in READ_TYPES:
            totals = skipped.setdefault(item.resource_type, [0, 0])
            totals[0] += 1
            totals[1] += item.path.stat().st_size
    return tuple((kind, files, size) for kind, (files, size) in sorted(skipped.items()))


class StageProgress:
    """Logs the Spark jobs' stage progress (``SparkContext.statusTracker``) every ``every`` seconds, in a thread.

    ``spark stage 3: 12/40 tasks done, 2 running``: the driver's view, since Spark's own console bar is off (it
    would interleave with the run's output). ``stream`` ``None``: nothing is started.
    """

    def __init__(self, context: Any, stream: TextIO | None, every: float = 5.0) -> None:
        self._context, self._stream, self._every = context, stream, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if stream is not None:
            self._thread = threading.Thread(target=self._watch, name="spark-progress", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        assert self._stream is not None
        last: dict[int, tuple[int, int]] = {}
        while not self._stop.wait(self._every):
            tracker = self._context.statusTracker()
            for stage_id in tracker.getActiveStageIds():
                info = tracker.getStageInfo(stage_id)
                if info is None:
                    continue
                now = (info.numCompletedTasks, info.numActiveTasks)
                if last.get(stage_id) != now:
                    last[stage_id] = now
                    self._stream.write(
                        f"spark stage {stage_id} ({info.name.split(' at ')[0]}): {info.numCompletedTasks}/"
                        f"{info.numTasks} tasks done, {info.numActiveTasks} running, {info.numFailedTasks} failed\n"
                    )
                    self._stream.flush()

    def stop(self) -> None:
        """Stop watching (before the context stops)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._every + 1)


def _numbered(bad: Iterable[tuple[int, BadLine]], counted: Iterable[tuple[str, int, int]]) -> list[BadLine]:
    """The bad lines numbered in their file: each range's number plus the lines of the file's ranges before it."""
    per_file: dict[str, list[int]] = {}
    for name, _index, count in sorted(counted):
        per_file.setdefault(name, []).append(count)
    before = {name: [0, *accumulate(counts)] for name, counts in per_file.items()}
    return [BadLine(b.path, b.line + before[b.path][index], b.reason) for index, b in bad]


def _evaluate_partition(
    groups: Iterable[tuple[str, Iterable[bytes]]],
    shared: tuple[date, Parameters, ZoneInfo, Mapping[str, Mapping[str, Any]], Parameters | None, str | None],
) -> Iterator[_Pair]:
    as_of, parameters, tz, medications, compare, display_system = shared
    for patient, raws in groups:
        yield evaluate_patient(
            patient,
            list(raws),
            as_of=as_of,
            parameters=parameters,
            tz=tz,
            medications=medications,
            compare=compare,
            display_system=display_system,
        )
