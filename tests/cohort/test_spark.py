"""The Spark engine gives the local engine's results, patient by patient (``local[2]``; CI installs PySpark and Java).

The same rows (deceased and not relevant patients included, left off the worklist), counts and written files.

Skipped without PySpark or a Java runtime, unless ``CDS_TEST_REQUIRE_SPARK=1`` (``.ci/run``), which makes that a
failure: CI must run it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from cohort.run import run_cohort
from cohort.synth import templates_by_patient, write_synthetic_cohort
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
        handle.write(b'{"resourceType": "Condition"\n["no"]\n{"resourceType": "Observation", "id": "orphan"}\n')
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
    for name in ("worklist.csv", "guidance-responses.ndjson", "changes.csv", "summary.html"):
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
