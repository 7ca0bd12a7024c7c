"""What changed since the previous run (``cohort.since``): the truth table of change kinds at its edges, the why, the
order, and ``changes-since-previous.csv`` (spreadsheet-safe) through a run whose ``Placed.previous`` is set."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from cohort.evaluation import Placed
from cohort.since import COLUMNS, change_of, changes_since, write_changes_since
from tests.cohort.test_outputs_display import AS_OF, row

DAY = timedelta(days=1)
START = row("p", "start", rule="start-pop1-haematological")
STOP = row("p", "stop", rule="stop-standard-attempt", stop_due=AS_OF)
CONTINUE = row("p", "continue", rule="continue-standard", stop_due=AS_OF + 30 * DAY)
CONSIDER = row("p", "consider", rule="consider-igg-below-6")
MISSING = row("p", "insufficient-data", rule="insufficient-data-no-recent-igg")
UNRELATED = row("p", "not-relevant", rule="", patient_view_card=False)
DEAD = row("p", "deceased", rule="no-recommendation-patient-deceased", patient_view_card=False)


@pytest.mark.parametrize(
    ("before", "after", "kind", "why"),
    [
        (None, START, "new-start", "(not in the previous run) -> start-pop1-haematological"),
        (CONSIDER, START, "new-start", "consider-igg-below-6 -> start-pop1-haematological"),
        (START, START, None, None),
        (None, STOP, "stop-now-due", "(not in the previous run) -> stop-standard-attempt"),
        (
            CONTINUE,
            STOP,
            "stop-now-due",
            "continue-standard -> stop-standard-attempt; stop due 2026-12-20 -> 2026-11-20",
        ),
        (STOP, STOP, None, None),
        (
            STOP,
            CONTINUE,
            "recommendation-changed",
            "stop-standard-attempt -> continue-standard; stop due 2026-11-20 -> 2026-12-20",
        ),
        (
            CONTINUE,
            DEAD,
            "recommendation-changed",
            "continue-standard -> no-recommendation-patient-deceased; stop due 2026-12-20 -> none",
        ),
        (UNRELATED, MISSING, "recommendation-changed", "not-relevant -> insufficient-data-no-recent-igg"),
        (MISSING, UNRELATED, "recommendation-changed", "insufficient-data-no-recent-igg -> not-relevant"),
        (None, MISSING, "new-on-worklist", "(not in the previous run) -> insufficient-data-no-recent-igg"),
        (None, UNRELATED, None, None),
        (None, DEAD, None, None),
        (UNRELATED, UNRELATED, None, None),
        (
            MISSING,
            replace(MISSING, rule="insufficient-data-igg-not-own"),
            "rule-changed",
            "insufficient-data-no-recent-igg -> insufficient-data-igg-not-own",
        ),
        (CONTINUE, replace(CONTINUE, stop_due=AS_OF + 31 * DAY), "dates-changed", "stop due 2026-12-20 -> 2026-12-21"),
        (CONTINUE, replace(CONTINUE, next_follow_up=AS_OF), "dates-changed", "follow-up none -> 2026-11-20"),
        (CONTINUE, replace(CONTINUE, missing=("x",), display="other", patient_view_card=False), None, None),
    ],
    ids=[
        "new-patient-start",
        "consider-to-start",
        "start-stays",
        "new-patient-stop",
        "continue-to-stop",
        "stop-stays",
        "stop-to-continue",
        "died",
        "now-concerned",
        "no-longer-concerned",
        "new-on-worklist",
        "new-unrelated",
        "new-deceased",
        "unrelated-stays",
        "rule-only",
        "stop-date-moved",
        "follow-up-set",
        "not-decision-fields",
    ],  # fmt: skip
)
def test_change_truth_table(before, after, kind, why) -> None:  # type: ignore[no-untyped-def]
    change = change_of(before, after)
    assert (change.kind, change.why) == (kind, why) if change else (kind, why) == (None, None)


def test_changes_are_listed_by_kind_and_absent_patients_are_not_changes() -> None:
    previous = {"a": replace(CONTINUE, patient_id="a"), "b": replace(CONSIDER, patient_id="b"), "gone": STOP}
    now = [
        replace(CONTINUE, patient_id="a", stop_due=AS_OF + DAY, display="A"),
        replace(START, patient_id="b", display="B"),
        replace(STOP, patient_id="c", display="C"),
    ]
    found = changes_since(previous, now)
    assert [(c.after.patient_id, c.kind) for c in found] == [
        ("b", "new-start"),
        ("c", "stop-now-due"),
        ("a", "dates-changed"),
    ]


def test_the_csv_is_spreadsheet_safe(tmp_path: Path) -> None:
    hostile = replace(START, patient_id="=HYPERLINK(1)", display="@SUM(A1)")
    write_changes_since(changes_since({}, [hostile]), tmp_path / "c.csv")
    with (tmp_path / "c.csv").open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == list(COLUMNS)
    assert lines[1][:5] == ["'=HYPERLINK(1)", "'@SUM(A1)", "new start", "(not in the previous run)", "start"]


def test_a_run_with_a_previous_run_writes_the_changes(tmp_path: Path) -> None:
    """Through ``cohort.run._write``: what an engine placed, with the previous rows the state keeps."""
    from cohort.export import open_export
    from cohort.outputs import OutputOptions
    from cohort.run import _write
    from guideline.parameters import DEFAULT_PARAMETERS

    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "Patient.ndjson").write_text('{"resourceType":"Patient","id":"x"}\n')
    now = [replace(STOP, patient_id="s", display=""), replace(START, patient_id="t", display="T-1")]
    previous = {"s": replace(CONTINUE, patient_id="s"), "t": replace(START, patient_id="t")}
    placed = Placed([(r, None) for r in now], [], 0, 0, previous=previous)
    options = OutputOptions(display_key=b"k" * 32)
    (tmp_path / "out").mkdir()
    (tmp_path / "first").mkdir()
    result = _write(placed, open_export(tmp_path / "export"), tmp_path / "out", as_of=AS_OF,
                    parameters=DEFAULT_PARAMETERS, guideline_version="v", compare=None, compare_label="", seconds=1.0,
                    workers=1, options=options)  # fmt: skip
    assert result.changes_since is not None and [c.kind for c in result.changes_since] == ["stop-now-due"]
    with (tmp_path / "out" / "changes-since-previous.csv").open(encoding="utf-8", newline="") as handle:
        [line] = list(csv.DictReader(handle))
    assert line["patient_id"] == "s" and line["display"].startswith("P-") and line["change"] == "stop now due"
    page = (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    assert "<b>1</b> stop now due" in page
    first = _write(replace(placed, previous=None), open_export(tmp_path / "export"), tmp_path / "first",
                   as_of=AS_OF, parameters=DEFAULT_PARAMETERS, guideline_version="v", compare=None, compare_label="",
                   seconds=1.0, workers=1, options=options)  # fmt: skip
    assert first.changes_since is None and not (tmp_path / "first" / "changes-since-previous.csv").exists()
