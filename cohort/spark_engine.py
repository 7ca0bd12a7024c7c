"""The cohort on Apache Spark (PySpark): the same reading rules and the same per-patient function, on a cluster.

``cds-service cohort INPUT --engine spark --master URL``. Each NDJSON file is read with its line numbers
(``zipWithIndex``), every line is classified exactly as the local engine does (``cohort.bulk``), Medication resources
are collected and broadcast, the patients' lines are grouped with ``groupByKey``, and each group is evaluated by
``cohort.evaluation.evaluate_patient`` in the executors' Python. The rows come back to the driver, which writes the
same outputs as the local engine (``cohort.run``). ``tests/cohort/test_spark.py`` requires both engines to give the
same rows, patient by patient (``local[2]`` in CI).

On a cluster the executors need this project's packages: ``spark-submit --py-files cohort.zip`` with a zip of
``cohort``, ``fhir_mappers`` and ``guideline`` (and the runtime dependencies installed on the workers), see
docs/cohort.md. Needs ``pip install pyspark`` and a Java runtime (the ``spark`` extra; not part of serving).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cohort.bulk import BadLine, ndjson_files, parse_line, patient_of
from cohort.evaluation import WorklistRow, evaluate_patient
from guideline.parameters import Parameters

_Pair = tuple[WorklistRow, WorklistRow | None]


def classify(path: str, line: int, text: str) -> tuple[str, Any]:
    """Classify one line by the local engine's rules (``cohort.bulk.parse_line``, ``patient_of``).

    Returns ``("bad", BadLine)``, ``("medication", (key, resource))``, ``("patient", (patient id, raw bytes))``,
    ``("orphan", None)`` or ``("blank", None)``.
    """
    item = parse_line(text.encode("utf-8"), path=path, number=line)
    if item is None:
        return "blank", None
    if isinstance(item, BadLine):
        return "bad", item
    if item.resource["resourceType"] == "Medication":
        return "medication", (f"Medication/{item.resource.get('id')}", item.resource)
    patient = patient_of(item.resource)
    if patient is None:
        return "orphan", None
    return "patient", (patient, item.raw)


def evaluate_with_spark(
    input_dir: Path,
    *,
    master: str,
    as_of: date,
    parameters: Parameters,
    tz: ZoneInfo,
    compare: Parameters | None = None,
) -> tuple[list[_Pair], list[BadLine], int]:
    """Evaluate every patient of the export on Spark; return ``(pairs, bad lines, resources of no patient)``.

    Args:
        input_dir: the export (``*.ndjson`` below it, either layout).
        master: the Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn`` ...).
        as_of: the evaluation date.
        parameters: guideline parameters (the service's).
        tz: time zone for dates.
        compare: other parameters to evaluate every patient under as well, or ``None``.

    Raises:
        FileNotFoundError: no NDJSON file.
        ImportError: pyspark is not installed.
    """
    from pyspark import SparkConf, SparkContext

    files = ndjson_files(input_dir)
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
        lines = context.union([_classified(context, path, str(path.relative_to(input_dir))) for path in files]).cache()
        bad = [item for _, item in lines.filter(lambda kind: kind[0] == "bad").collect()]
        medications = dict(item for _, item in lines.filter(lambda kind: kind[0] == "medication").collect())
        orphans = lines.filter(lambda kind: kind[0] == "orphan").count()
        shared = context.broadcast((as_of, parameters, tz, medications, compare))
        groups = lines.filter(lambda kind: kind[0] == "patient").map(lambda kind: kind[1]).groupByKey()
        pairs = groups.mapPartitions(lambda part: _evaluate_partition(part, shared.value)).collect()
        lines.unpersist()
    finally:
        context.stop()
    return list(pairs), bad, int(orphans)


def _classified(context: Any, path: Path, name: str) -> Any:
    """The file's lines, numbered from 1 (``zipWithIndex``) and classified, as an RDD."""
    return context.textFile(str(path)).zipWithIndex().map(lambda pair: classify(name, pair[1] + 1, pair[0]))


def _evaluate_partition(
    groups: Iterable[tuple[str, Iterable[bytes]]],
    shared: tuple[date, Parameters, ZoneInfo, Mapping[str, Mapping[str, Any]], Parameters | None],
) -> Iterator[_Pair]:
    as_of, parameters, tz, medications, compare = shared
    for patient, raws in groups:
        yield evaluate_patient(
            patient, list(raws), as_of=as_of, parameters=parameters, tz=tz, medications=medications, compare=compare
        )
