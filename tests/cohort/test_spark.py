"""The Spark engine gives the local engine's results, patient by patient (``local[2]``; CI installs PySpark and Java).

The same rows (deceased and not relevant patients included, left off the worklist), counts and written files.

Skipped without PySpark or a Java runtime, unless ``CDS_TEST_REQUIRE_SPARK=1`` (``.ci/run``), which makes that a
failure: CI must run it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from cohort.export import open_export
from cohort.run import run_cohort
from cohort.spark_engine import evaluate_with_spark, ranges_of
from cohort.synth import copy_patient, templates_by_patient, write_synthetic_cohort
from guideline.parameters import DEFAULT_PARAMETERS
from guideline.sources import GUIDELINE_VERSION
from tests.cohort.test_cohort import AS_OF, TZ, fixture_resources

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def _spark_available() -> None:
    missing = [
        what
        for what, ok in (("pyspark", importlib.util.find_spec("pyspark")), ("java", shutil.which("java")))
        if not ok
    ]
    if missing:
        if os.environ.get("CDS_TEST_REQUIRE_SPARK") == "1":
            pytest.fail(f"CDS_TEST_REQUIRE_SPARK=1 but {', '.join(missing)} is missing (make spark; a Java runtime)")
        pytest.skip(f"no {', '.join(missing)}: `make spark` and a Java runtime (.ci/run installs both)")


def test_spark_and_local_engines_agree_patient_by_patient(tmp_path: Path) -> None:
    templates, shared = templates_by_patient(fixture_resources())
    export = tmp_path / "export"
    write_synthetic_cohort(400, export, templates=templates, shared=shared, as_of=AS_OF, seed=11)
    with (export / "Condition.ndjson").open("ab") as handle:
        # cut off, with a code the pre-filter cannot read for sure (so it is parsed and reported), then not a resource
        handle.write(b'{"resourceType": "Condition", "code": {"coding": [{"code": "J18"\n["no"]\n')
        # no patient: an IgG line (one the pre-filter keeps, so it is parsed and found to name no patient)
        handle.write(b'{"resourceType": "Observation", "id": "orphan", "code": {"coding": [{"code": "2465-3"}]}}\n')
    compare = DEFAULT_PARAMETERS.with_interpretations({"igg_washout_days": 30})
    common = {
        "as_of": AS_OF,
        "parameters": DEFAULT_PARAMETERS,
        "tz": TZ,
        "guideline_version": GUIDELINE_VERSION,
        "progress": None,
        "compare": compare,
    }
    local = run_cohort(export, tmp_path / "local", workers=2, **common)  # type: ignore[arg-type]
    spark = run_cohort(export, tmp_path / "spark", engine="spark", master="local[2]", **common)  # type: ignore[arg-type]
    assert len(local.rows) == 400
    assert spark.rows == local.rows  # every patient's row, in the same worklist order
    assert spark.compared == local.compared
    assert spark.bad_lines == local.bad_lines and len(local.bad_lines) == 2
    assert spark.without_patient == local.without_patient == 1
    assert spark.counts == local.counts and local.counts["deceased"] > 0 and local.counts["not-relevant"] > 0
    assert spark.inventory.types == local.inventory.types and local.inventory.skipped > 0  # the same lines read
    # summary.html names the engine and the run's duration (its run section): the same rows, not the same bytes
    for name in ("worklist.csv", "guidance-responses.ndjson", "changes.csv"):
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name


def test_spark_reads_ranges_as_the_local_engine_reads_files(tmp_path: Path) -> None:
    """Over-long lines, another server's patient, ids that are not FHIR ids, files cut into 16 KiB ranges: the same.

    Before, Spark read lines with ``textFile``: a 300 MiB line ended the run (Java heap space), and Hadoop's own
    limit would have dropped long lines silently, renumbering every line after them.
    """
    templates, shared = templates_by_patient(fixture_resources())
    export = tmp_path / "export"
    write_synthetic_cohort(150, export, templates=templates, shared=shared, as_of=AS_OF, seed=5)
    start = next(t for t in templates if any(r.get("id") == "sid-pop2-window" for r in t))
    extra = [r for patient_id in ("=1+1", "x" * 64 + "1", "x" * 64 + "2") for r in copy_patient(start, patient_id)]
    theirs = copy_patient(start, "synth-0000001")
    foreign = 0
    for resource in theirs:
        if resource.get("subject", {}).get("reference") == "Patient/synth-0000001":
            resource["subject"]["reference"] = "https://other.example/fhir/Patient/synth-0000001"
            foreign += 1
    long_line = b'{"resourceType":"Observation","id":"long","note":[{"text":"' + b"z" * 9000 + b'"}]}'
    with (export / "Observation.ndjson").open("ab") as handle:
        handle.write(b"\n".join(orjson.dumps(r) for r in extra + theirs if r["resourceType"] != "Patient") + b"\n")
        handle.write(long_line + b"\n" + long_line + b"\r\n\n{broken\n")
    with (export / "Patient.ndjson").open("ab") as handle:
        handle.write(b"".join(orjson.dumps(r) + b"\n" for r in extra if r["resourceType"] == "Patient"))
        handle.write(long_line)  # the last line, no newline
    opened = open_export(export, max_line_bytes=8192)
    local = run_cohort(
        opened,
        tmp_path / "local",
        as_of=AS_OF,
        parameters=DEFAULT_PARAMETERS,
        tz=TZ,
        guideline_version=GUIDELINE_VERSION,
        workers=1,
        progress=None,
    )
    placed = evaluate_with_spark(
        opened, master="local[2]", as_of=AS_OF, parameters=DEFAULT_PARAMETERS, tz=TZ, split_bytes=16 * 1024
    )
    assert len(ranges_of(opened, 16 * 1024)) > 2 * len(opened.files())  # files really cut into several ranges
    by_id = sorted((replace(row, display="") for row, _ in placed.pairs), key=lambda row: row.patient_id)
    # display: the outputs give each row its pseudonym when they write it (cohort.display), after either engine
    assert by_id == sorted((replace(r, display="") for r in local.rows), key=lambda row: row.patient_id)
    assert len(by_id) == 153
    assert placed.inventory.types == local.inventory.types
    assert sorted(placed.bad, key=lambda b: (b.path, b.line)) == list(local.bad_lines)
    assert [b.reason.startswith("longer than 8192 bytes") for b in local.bad_lines] == [True, True, False, True]
    assert (placed.without_patient, placed.other_server) == (local.without_patient, local.other_server)
    assert local.other_server == foreign > 3
