"""``measure-report.json`` (``cohort.measure_report``): a valid FHIR R4 MeasureReport whose counts are the run's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cohort.measure_report import MEASURE, STRATA, measure_report
from cohort.outputs import MODULE, patient_counts
from tests.cohort.test_outputs_display import AS_OF, row
from tests.fhir_validity import problems

STATUS = {"complete", "pending", "error"}
"""MeasureReportStatus (required binding)."""
TYPES = {"individual", "subject-list", "summary", "data-collection"}
"""MeasureReportType (required binding)."""


def _counts_of(report: dict) -> dict[str, int]:
    return {p["code"]["coding"][-1]["code"]: p["count"] for p in report["group"][0]["population"]}


def test_the_counts_are_the_runs_and_the_report_is_valid(tmp_path: Path) -> None:
    from tests.cohort.test_cohort import fixture_resources, run, write_export

    result = run(write_export(fixture_resources(), tmp_path / "export"), tmp_path / "out")
    report = json.loads((tmp_path / "out" / "measure-report.json").read_text(encoding="utf-8"))
    assert tmp_path / "out" / "measure-report.json" in result.outputs
    assert problems(report) == []
    assert report["status"] in STATUS and report["type"] == "summary" and report["type"] in TYPES
    assert report["measure"] == MEASURE and report["period"] == {"start": "2026-11-20", "end": "2026-11-20"}
    assert _counts_of(report) == result.counts
    strata = {
        s["value"]["coding"][0]["code"]: s["population"][0]["count"]
        for s in report["group"][0]["stratifier"][0]["stratum"]
    }  # noqa: E501
    assert sum(strata.values()) == result.counts["evaluated"]
    assert strata["not-relevant"] == result.counts["not-relevant"] and strata["deceased"] == result.counts["deceased"]
    assert {k: v for k, v in strata.items() if v} == {
        k: sum(1 for r in result.rows if r.recommendation == k) for k in {r.recommendation for r in result.rows}
    }


def test_every_stratum_is_reported_and_evaluated_is_the_initial_population() -> None:
    rows = [row("a", "stop"), row("b", "start"), row("c", "not-relevant"), row("d", "deceased")]
    report = measure_report(patient_counts(rows), rows, as_of=AS_OF)
    assert problems(report) == []
    [stratifier] = report["group"][0]["stratifier"]
    assert [s["value"]["text"] for s in stratifier["stratum"]] == list(STRATA)
    evaluated = report["group"][0]["population"][0]
    assert evaluated["code"]["coding"][0]["code"] == "initial-population" and evaluated["count"] == 4
    assert MEASURE.split("|")[1] == MODULE.split("|")[1]  # the same guideline version as the GuidanceResponses


def test_an_unknown_recommendation_is_refused() -> None:
    rows = [row("a", "something-new")]
    with pytest.raises(ValueError, match="something-new"):
        measure_report(patient_counts(rows), rows, as_of=AS_OF)


def test_the_check_catches_a_broken_report() -> None:
    rows = [row("a", "stop")]
    report = measure_report(patient_counts(rows), rows, as_of=AS_OF)
    del report["measure"]
    assert problems(report)
