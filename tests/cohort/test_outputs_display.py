"""How the worklist shows a patient (``cohort.display``), and the rows and pages the other output tests build.

The display is the site's identifier or a keyed pseudonym, never the FHIR id: identifier choice at its boundaries
(system, use, empty, over-long), the pseudonym's form, key and stability, ``evaluate_patient`` reading the Patient
line, and a run writing the same display to every output.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from cohort.display import KEY_FILE, MAX_DISPLAY, identifier_display, load_or_create_key, pseudonym
from cohort.evaluation import WorklistRow, evaluate_patient
from cohort.outputs import OutputOptions
from cohort.worklist_html import Page, RunDetails
from guideline.parameters import DEFAULT_PARAMETERS

AS_OF = date(2026, 11, 20)
RUN = RunDetails(
    input="/exports/2026-11-20",
    fhir_base="https://ehr.example/fhir (manifest.json)",
    transaction_time="2026-11-19T23:00:00Z",
    guideline_version="SID 1.1",
    service_version="0.1.0",
    engine="local, 2 processes",
    seconds=1.25,
    display="Patient.identifier urn:mrn",
)


def row(patient_id: str, recommendation: str = "start", **fields: Any) -> WorklistRow:
    """A worklist row with a card (unless told), every date empty unless given."""
    values: dict[str, Any] = {
        "rule": f"{recommendation}-rule",
        "population": 1,
        "t0": None,
        "window_end": None,
        "stop_due": None,
        "next_follow_up": None,
        "on_igrt": recommendation in ("stop", "continue", "pause"),
        "patient_view_card": recommendation not in ("not-relevant", "deceased"),
        "missing": (),
        "order_lab_tests": False,
        "display": f"MRN-{patient_id}",
    }
    values.update(fields)
    return WorklistRow(patient_id=patient_id, recommendation=recommendation, **values)


def page(rows: list[WorklistRow], **options: Any) -> Page:
    """A ``Page`` of ``rows`` with their counts (``patient_counts``)."""
    from cohort.outputs import patient_counts

    return Page(rows=rows, counts=patient_counts(rows), as_of=AS_OF, run=RUN, **options)


class Outline(HTMLParser):
    """The parts of the page the tests read: section ids in order, each action row's cells and classes, links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.rows: list[dict[str, Any]] = []
        self.links: list[str] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        self.tags.append(tag)
        if tag == "section" and given.get("id"):
            self.sections.append(str(given["id"]))
        if tag == "tr" and "action" in (given.get("class") or "").split():
            self.rows.append({"classes": (given.get("class") or "").split(), "cells": [], "links": []})
        if tag == "td" and self.rows and self._open_row():
            self._cell = []
        if tag == "a" and given.get("href"):
            self.links.append(str(given["href"]))
            if self._cell is not None:
                self.rows[-1]["links"].append(given["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr" and self.rows:
            self.rows[-1]["closed"] = True

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data + " ")

    def _open_row(self) -> bool:
        return not self.rows[-1].get("closed")


def outline(html: str) -> Outline:
    """Parse the page."""
    parsed = Outline()
    parsed.feed(html)
    parsed.close()
    return parsed


MRN = "urn:oid:1.2.208.176.1.2"
KEY = b"k" * 32


@pytest.mark.parametrize(
    ("identifiers", "expected"),
    [
        ([{"system": MRN, "value": "0101011234"}], "0101011234"),
        ([{"system": "urn:other", "value": "x"}], ""),
        ([], ""),
        ([{"system": MRN, "value": "  "}], ""),
        ([{"system": MRN}], ""),
        ([{"system": MRN, "value": "old-1", "use": "old"}], ""),
        (
            [{"system": MRN, "value": "sec", "use": "secondary"}, {"system": MRN, "value": "off", "use": "official"}],
            "off",
        ),
        (
            [{"system": MRN, "value": "usual", "use": "usual"}, {"system": MRN, "value": "off", "use": "official"}],
            "off",
        ),
        ([{"system": MRN, "value": "first"}, {"system": MRN, "value": "second"}], "first"),
        ([{"system": MRN, "value": "x" * MAX_DISPLAY}], "x" * MAX_DISPLAY),
        ([{"system": MRN, "value": "x" * (MAX_DISPLAY + 1)}], "x" * (MAX_DISPLAY - 1) + "…"),
        (["not an identifier", {"system": MRN, "value": "ok"}], "ok"),
    ],
    ids=[
        "match",
        "other-system",
        "none",
        "blank",
        "no-value",
        "old-only",
        "official-first",
        "official-over-usual",
        "first-of-equals",
        "at-limit",
        "over-limit",
        "junk-skipped",
    ],  # fmt: skip
)
def test_identifier_display_truth_table(identifiers: list[Any], expected: str) -> None:
    assert identifier_display({"resourceType": "Patient", "identifier": identifiers}, MRN) == expected


def test_the_pseudonym_is_keyed_stable_short_and_not_the_id() -> None:
    shown = pseudonym("synth-0000078", KEY)
    assert re.fullmatch(r"P-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", shown)
    assert shown == pseudonym("synth-0000078", KEY)  # stable: the same patient every run
    assert shown != pseudonym("synth-0000078", b"j" * 32)  # keyed: another site, another pseudonym
    assert shown != pseudonym("synth-0000079", KEY)
    assert "0000078" not in shown
    assert len({pseudonym(f"p{i}", KEY) for i in range(20_000)}) == 20_000  # 50 bits: no collision at this size
    with pytest.raises(ValueError):
        pseudonym("p", b"short")


def test_the_output_directorys_key_is_made_once_and_private(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path)
    assert len(key) == 32 and load_or_create_key(tmp_path) == key
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600


def _patient_lines(identifiers: list[dict[str, str]]) -> list[bytes]:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1950-01-01", "identifier": identifiers}
    other = {"resourceType": "Patient", "id": "p2", "identifier": [{"system": MRN, "value": "not-p1"}]}
    return [orjson.dumps(other), orjson.dumps(patient)]


@pytest.mark.parametrize(
    ("system", "identifiers", "expected"),
    [
        (MRN, [{"system": MRN, "value": "0101011234"}], "0101011234"),
        (MRN, [{"system": "urn:other", "value": "x"}], ""),
        (None, [{"system": MRN, "value": "0101011234"}], ""),
    ],
    ids=["configured-and-present", "configured-absent", "not-configured"],
)
def test_evaluate_patient_reads_the_display_from_its_own_patient(
    system: str | None, identifiers: list[dict[str, str]], expected: str
) -> None:
    row, other = evaluate_patient(
        "p1",
        _patient_lines(identifiers),
        as_of=AS_OF,
        parameters=DEFAULT_PARAMETERS,
        tz=ZoneInfo("Europe/Copenhagen"),
        medications={},
        compare=DEFAULT_PARAMETERS,
        display_system=system,
    )
    assert row.display == expected and other is not None and other.display == expected


def test_a_run_shows_each_patient_alike_in_every_output_and_never_by_id(tmp_path: Path) -> None:
    """End to end: the site's identifier where the patient has one, else the keyed pseudonym; never the bare id."""
    from tests.cohort.test_cohort import fixture_resources, run, write_export

    resources = fixture_resources()
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    mrn: dict[str, str] = {}
    for number, patient in enumerate(patients[::2]):
        mrn[str(patient["id"])] = f"MRN{number:04d}"
        patient["identifier"] = [{"system": "urn:site:mrn", "value": mrn[str(patient["id"])]}]
    options = OutputOptions(display_key=KEY, display_system="urn:site:mrn")
    result = run(write_export(resources, tmp_path / "export"), tmp_path / "out", output_options=options)
    assert not (tmp_path / "out" / KEY_FILE).exists()  # the site's key was given
    expected = {row.patient_id: mrn.get(row.patient_id) or pseudonym(row.patient_id, KEY) for row in result.rows}
    assert {row.patient_id: row.display for row in result.rows} == expected
    assert any(r in mrn for r in expected) and any(r not in mrn for r in expected)
    with (tmp_path / "out" / "worklist.csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert table and {line["patient_id"]: line["display"] for line in table} == {
        line["patient_id"]: expected[line["patient_id"]] for line in table
    }
    page_text = (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    shown_ids = [r.patient_id for r in result.worklist if r.patient_view_card]
    assert all(f">{r}<" not in page_text for r in shown_ids)  # no bare id as a cell or link text
