"""The cohort on Apache Spark (PySpark): the same reading rules and the same per-patient function, on a cluster.

``cds-service cohort INPUT --engine spark --master URL``. Each NDJSON file is cut into byte ranges of
``SPLIT_BYTES``; each range is one Spark task, which reads the lines that *start* in it with the local engine's
reader (``cohort.bulk.split_lines``: the same line limit, an over-long line never held) and classifies every line by
the local engine's rules (``cohort.bulk.parse_line``, ``cohort.export.Export.owner``). Medication resources are
collected and broadcast, the patients' lines are grouped with ``groupByKey``, and each group is evaluated by
``cohort.evaluation.evaluate_patient`` in the executors' Python. The driver numbers the unreadable lines (a range
counts its lines; a line's number is its place in its range plus the lines of the ranges before it) and writes the
same outputs as the local engine (``cohort.run``). ``tests/cohort/test_spark.py`` requires both engines to give the
same rows, patient by patient, and the same unreadable lines (``local[2]`` in CI).

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
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from cohort.bulk import BadLine, parse_line, split_lines, too_long
from cohort.evaluation import Placed, WorklistRow, evaluate_patient
from cohort.export import Export
from cohort.ownership import FOREIGN
from guideline.parameters import Parameters

SPLIT_BYTES = 64 * 1024 * 1024
"""Bytes of a file per Spark task (the last range of a file is shorter; a line belongs to the range it starts in)."""

_Pair = tuple[WorklistRow, WorklistRow | None]
_Range = tuple[str, str, int, int, int]
"""``(path, name in reports, index in its file, first byte, byte after the range)``."""


def ranges_of(export: Export, split_bytes: int = SPLIT_BYTES) -> list[_Range]:
    """Cut every file of the export into byte ranges of ``split_bytes`` (one range for an empty file; paths absolute).

    Raises:
        FileNotFoundError: no NDJSON file.
    """
    ranges: list[_Range] = []
    for path in export.files():
        size = path.stat().st_size
        for index, start in enumerate(range(0, max(size, 1), split_bytes)):
            ranges.append((str(path.resolve()), export.name(path), index, start, min(start + split_bytes, size)))
    return ranges


def read_range(export: Export, task: _Range) -> Iterator[tuple[str, Any]]:
    """Yield the classified lines starting in one range (``classify``), then ``("range", (name, index, lines))``.

    A ``BadLine`` comes as ``("bad", (range index, BadLine))``, numbered within the range (the driver adds the
    lines of the ranges before it).
    """
    path, name, index, start, end = task
    count = 0
    with open(path, "rb") as handle:
        lines = split_lines(handle, max_line_bytes=export.max_line_bytes, start=start, end=end)
        for count, raw in enumerate(lines, start=1):
            kind, item = classify(export, name, count, raw)
            if kind == "bad":
                yield kind, (index, item)
            elif kind != "blank":
                yield kind, item
    yield "range", (name, index, count)


def classify(export: Export, path: str, line: int, raw: bytes | None) -> tuple[str, Any]:
    """Classify one line by the local engine's rules (``cohort.bulk.parse_line``, ``Export.owner``).

    ``raw`` ``None`` is a line longer than the export's limit. Returns ``("bad", BadLine)``,
    ``("medication", (key, resource))``, ``("patient", (patient id, raw bytes))``, ``("orphan", None)`` (names no
    patient), ``("foreign", None)`` (names another server's patient) or ``("blank", None)``.
    """
    item = too_long(path, line, export.max_line_bytes) if raw is None else parse_line(raw, path=path, number=line)
    if item is None:
        return "blank", None
    if isinstance(item, BadLine):
        return "bad", item
    if item.resource["resourceType"] == "Medication":
        return "medication", (f"Medication/{item.resource.get('id')}", item.resource)
    patient = export.owner(item.resource)
    if patient is None:
        return "orphan", None
    if patient is FOREIGN:
        return "foreign", None
    return "patient", (patient, item.raw)


def evaluate_with_spark(
    export: Export,
    *,
    master: str,
    as_of: date,
    parameters: Parameters,
    tz: ZoneInfo,
    compare: Parameters | None = None,
    split_bytes: int = SPLIT_BYTES,
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
    try:
        lines = context.parallelize(tasks, len(tasks)).flatMap(lambda task: read_range(export, task)).cache()
        counted = lines.filter(lambda kind: kind[0] == "range").map(lambda kind: kind[1]).collect()
        bad = _numbered(lines.filter(lambda kind: kind[0] == "bad").map(lambda kind: kind[1]).collect(), counted)
        medications = dict(item for _, item in lines.filter(lambda kind: kind[0] == "medication").collect())
        orphans = lines.filter(lambda kind: kind[0] == "orphan").count()
        foreign = lines.filter(lambda kind: kind[0] == "foreign").count()
        shared = context.broadcast((as_of, parameters, tz, medications, compare))
        groups = lines.filter(lambda kind: kind[0] == "patient").map(lambda kind: kind[1]).groupByKey()
        pairs = groups.mapPartitions(lambda part: _evaluate_partition(part, shared.value)).collect()
        lines.unpersist()
    finally:
        context.stop()
    return Placed(list(pairs), bad, int(orphans), int(foreign))


def _numbered(bad: Iterable[tuple[int, BadLine]], counted: Iterable[tuple[str, int, int]]) -> list[BadLine]:
    """The bad lines numbered in their file: each range's number plus the lines of the file's ranges before it."""
    per_file: dict[str, list[int]] = {}
    for name, _index, count in sorted(counted):
        per_file.setdefault(name, []).append(count)
    before = {name: [0, *accumulate(counts)] for name, counts in per_file.items()}
    return [BadLine(b.path, b.line + before[b.path][index], b.reason) for index, b in bad]


def _evaluate_partition(
    groups: Iterable[tuple[str, Iterable[bytes]]],
    shared: tuple[date, Parameters, ZoneInfo, Mapping[str, Mapping[str, Any]], Parameters | None],
) -> Iterator[_Pair]:
    as_of, parameters, tz, medications, compare = shared
    for patient, raws in groups:
        yield evaluate_patient(
            patient, list(raws), as_of=as_of, parameters=parameters, tz=tz, medications=medications, compare=compare
        )
