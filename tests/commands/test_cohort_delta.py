"""``cds-service cohort --delta`` from the command line: refused without an earlier run to merge into, refused with
``--fresh``, implied by ``--from-fhir --since``; and the evidence pages of a delta run are decided from the merged
record (the same one as the worklist line), not from the delta's few lines."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from commands.cli import main
from tests.cohort.test_cohort import AS_OF, fixture_resources, write_export
from tests.cohort.test_state import _igg

PATIENT = "sid-pop2-window"


def _cohort(export: Path, out: Path, *extra: str) -> int:
    return main(["cohort", str(export), "--out", str(out), "--as-of", AS_OF.isoformat(), "--workers", "1", *extra])


def _worklist(out: Path) -> dict[str, dict[str, str]]:
    with (out / "worklist.csv").open(encoding="utf-8", newline="") as handle:
        return {line["patient_id"]: line for line in csv.DictReader(handle)}


def test_a_delta_without_an_earlier_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    delta = write_export([_igg(PATIENT, "igg-new", 2.0, "2026-11-19")], tmp_path / "delta")
    assert _cohort(delta, tmp_path / "out", "--delta") == 1
    assert "earlier complete run" in capsys.readouterr().err
    assert not (tmp_path / "out" / "worklist.csv").exists()  # nothing written from a partial record


def test_delta_and_fresh_contradict(tmp_path: Path) -> None:
    export = write_export(fixture_resources(), tmp_path / "full")
    with pytest.raises(SystemExit) as exit_:
        _cohort(export, tmp_path / "out", "--delta", "--fresh")
    assert exit_.value.code == 2


def test_the_evidence_page_after_a_delta_is_decided_from_the_merged_record(tmp_path: Path) -> None:
    resources = fixture_resources()
    out = tmp_path / "out"
    assert _cohort(write_export(resources, tmp_path / "full"), out) == 0
    before = _worklist(out)[PATIENT]
    # The delta holds one new IgG of one patient: alone it would be a record without CAR-T, bsAb or diagnosis.
    delta = write_export([_igg(PATIENT, "igg-new", 2.0, "2026-11-19")], tmp_path / "delta")
    assert _cohort(delta, out, "--delta", "--evidence-pages") == 0
    after = _worklist(out)
    assert len(after) >= 2  # every stored patient is still on the worklist, not only the delta's one
    # The same decision a full run on the merged export gives, and the page agrees with its line.
    merged = tmp_path / "merged-out"
    assert _cohort(write_export([*resources, _igg(PATIENT, "igg-new", 2.0, "2026-11-19")], tmp_path / "m"), merged) == 0
    expected = _worklist(merged)[PATIENT]
    assert (after[PATIENT]["recommendation"], after[PATIENT]["rule"]) == (expected["recommendation"], expected["rule"])
    assert before["rule"] == expected["rule"] == "start-pop2-window"  # a window rule needs the stored CAR-T record
    page = (out / "evidence" / f"{PATIENT}.html").read_text(encoding="utf-8")
    # The delta's IgG alone names no CAR-T: the page shows the CAR-T from the stored record, and the
    # delta's IgG with them.
    assert "Yescarta" in page and "2026-11-19" in page
