"""``cds-service explain REQUEST.json --html OUT.html`` on every golden request (each with its own as-of date): a page
whose timeline has the parts the patient's data implies; a refused request is one line and exit status 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from cds_service.http.app import load_settings
from cds_service.invocation import invoke
from cds_service.wire.definitions import SERVICES, find
from cds_service.wire.errors import CdsServiceError
from cds_service.wire.requests import parse_hook_request
from commands.cli import main
from guideline.calendar import add_calendar_months
from guideline.concepts import Analyte, TherapyKind
from guideline.model import PatientRecord
from tests.cases import CASES, case_dir
from tests.golden_case import Case

IGG_PARTS = {"igg-points", "igg-upper-bound", "igg-earlier", "igg-not-used"}


def _record(case: Case, as_of: date) -> PatientRecord | None:
    """The patient as the service maps it (the page's fallback: patient-view when the order hook decided nothing)."""
    settings = load_settings({"AUTH": "off"})
    body = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
    own = find(case.service)
    assert own is not None
    request = parse_hook_request(body, hook=own.hook)
    for service in (own, next(s for s in SERVICES if s.hook == "patient-view")):
        try:
            answer = invoke(service, request, settings, as_of=as_of)
        except CdsServiceError:
            return None
        if answer.decision is not None and answer.decision.assessment is not None:
            return answer.decision.record
    return None


def _expected_parts(record: PatientRecord, as_of: date) -> set[str]:
    """The timeline parts the mapped data implies, read from the record (not from the page's own code)."""
    start = add_calendar_months(as_of, -24)
    parts = {"threshold-4", "threshold-6", "today"}
    if any(start <= lab.effective <= as_of and lab.analyte == Analyte.IGA for lab in record.labs):
        parts.add("iga-points")
    if any(start <= i.onset <= as_of for i in record.infections):
        parts.add("infection")
    dated = [t for t in record.therapies if t.date_certain and start <= t.on <= as_of]
    if dated:
        parts.add("therapy")
    if any(t.kind == TherapyKind.CAR_T for t in dated):
        parts |= {"t0", "t0-marker", "window"}
    if any(r.start is not None and start <= r.start <= as_of and r.purpose == "replacement" for r in record.igrt):
        parts.add("igrt-course")
    return parts


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.service}/{c.name}")
def test_explain_writes_the_page_of_every_golden_request(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = case_dir(case) / "request.json"
    expected = json.loads((case_dir(case) / "expected.json").read_text(encoding="utf-8"))
    out = tmp_path / "page.html"
    status = main(["explain", str(request), "--html", str(out), "--as-of", case.as_of])
    captured = capsys.readouterr()
    if expected["status"] != 200:  # the service refuses it (412): so does explain, in one line
        assert status == 2 and not out.exists()
        assert captured.err.count("\n") == 1 and f"would answer {expected['status']}" in captured.err
        assert "Traceback" not in captured.err
        return
    assert status == 0, captured.err
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<script" not in page
    as_of = date.fromisoformat(case.as_of)
    record = _record(case, as_of)
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.DOTALL)
    if record is None:  # nothing to evaluate (an order hook without an immunoglobulin order need not prefetch)
        assert not svgs and "No decision on IgRT." in page
        return
    assert len(svgs) == 1
    ids = {e.get("id") for e in ET.fromstring(svgs[0]).iter()}
    missing = _expected_parts(record, as_of) - ids
    assert not missing, f"the data implies {sorted(missing)}"
    igg = [lab for lab in record.labs if lab.analyte == Analyte.IGG and lab.effective <= as_of]
    igg += [p.lab for p in record.preliminary_labs if p.lab.effective <= as_of]
    if any(add_calendar_months(as_of, -24) <= lab.effective for lab in igg):
        assert ids & IGG_PARTS, "IgG results in the last 24 months, none drawn"
    else:
        assert not ids & IGG_PARTS


def test_explain_in_danish(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "pop2-window-igg-below-4-start")
    out = tmp_path / "side.html"
    request = str(case_dir(case) / "request.json")
    assert main(["explain", request, "--html", str(out), "--as-of", case.as_of, "--language", "da"]) == 0
    assert out.read_text(encoding="utf-8").startswith('<!doctype html>\n<html lang="da">')


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "cannot read"),
        ('{"hook": "no-such-hook"}', "no service for hook 'no-such-hook'"),
        ('{"hook": "patient-view"}', "would answer 400 (invalid-hook-request)"),
        ("[]", "no service for hook None"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(tmp_path: Path, content: str, says: str) -> None:
    request = tmp_path / "request.json"
    request.write_text(content, encoding="utf-8")
    out = tmp_path / "page.html"
    command = [sys.executable, "-m", "commands.cli", "explain", str(request), "--html", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("cds-service explain: ")
    assert says in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_a_missing_file_is_exit_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(tmp_path / "absent.json"), "--html", str(tmp_path / "x.html")]) == 2
    assert capsys.readouterr().err.startswith("cds-service explain: cannot read ")
