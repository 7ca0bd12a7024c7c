"""``cds-service cohort --evidence-pages``: every patient on the worklist gets the evidence page its card would open."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

import commands.worklist_pages
from cohort.ids import is_fhir_id
from commands.cli import main

AS_OF = "2026-11-20"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("worklist-pages")
    assert main(["synth-cohort", "60", str(root / "in"), "--as-of", AS_OF]) == 0
    assert (
        main(
            [
                "cohort",
                str(root / "in"),
                "--out",
                str(root / "out"),
                "--as-of",
                AS_OF,
                "--workers",
                "1",
                "--evidence-pages",
            ]
        )
        == 0
    )
    return root / "out"


def test_each_worklist_patient_has_a_page_and_the_index_links_them_in_worklist_order(run: Path) -> None:
    with (run / "worklist.csv").open(encoding="utf-8") as handle:
        listed = [row["patient_id"] for row in csv.DictReader(handle)]
    assert listed, "the synthetic cohort puts patients on the worklist"
    pages = sorted(p.stem for p in (run / "evidence").glob("*.html") if p.name != "index.html")
    assert pages == sorted(listed)
    index = (run / "evidence" / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<a href="([^"]+)\.html">', index) == listed


HEADLINES = {
    "start": "Start IgRT.",
    "consider": "IgRT can be considered",
    "not-indicated": "Do not start IgRT on these data",
    "insufficient-data": "Not decided: the data needed is missing",
    "individual-assessment": "Individual assessment",
    "continue": "Continue IgRT.",
    "pause": "Consider pausing IgRT",
    "stop": "Attempt to stop IgRT now.",
}
"""What the page's title says first for each recommendation (the card's first line)."""


def test_a_page_is_the_decision_of_its_worklist_line(run: Path) -> None:
    with (run / "worklist.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    seen = set()
    for row in rows:
        page = (run / "evidence" / f"{row['patient_id']}.html").read_text(encoding="utf-8")
        title = re.search(r"<title>(.*?)</title>", page, re.S)
        assert title and HEADLINES[row["recommendation"]] in title.group(1), (row["patient_id"], title)
        assert "<svg" in page and 'role="img"' in page
        seen.add(row["recommendation"])
    assert len(seen) >= 4  # the synthetic cohort covers several recommendations


def test_pages_are_named_by_the_one_fhir_id_definition() -> None:
    """The truth table of ``is_fhir_id`` is in ``tests/cohort/test_ids.py``; the pages use that function."""
    assert commands.worklist_pages.is_fhir_id is is_fhir_id
    assert not hasattr(commands.worklist_pages, "FHIR_ID")  # no second pattern of its own
