"""Fixture patients dated relative to a day (``cds-service load-fixtures --relative-to``, ``make demo``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from commands.upload import DEFAULT_FIXTURES, case_as_of, fixture_transaction, shift_dates
from tests.cases import CASES


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        ("2026-11-20", 8, "2026-11-28"),
        ("2026-11-20T08:30:00+01:00", 8, "2026-11-28T08:30:00+01:00"),  # the time and zone are kept
        ("2026-11-20T07:30:00.123Z", -20, "2026-10-31T07:30:00.123Z"),
        ("2028-02-28", 1, "2028-02-29"),  # leap day
        ("2026-11", 8, "2026-11"),  # a year-month is left as it is
        ("2026", 8, "2026"),
        ("sid-pop2-window", 8, "sid-pop2-window"),
        ("2026-13-40", 8, "2026-13-40"),  # not a date
        ("2026-11-20", 0, "2026-11-20"),
    ],
)
def test_dates_move_by_whole_days(value: str, days: int, expected: str) -> None:
    assert shift_dates({"effectiveDateTime": value, "nested": [{"d": value}]}, days) == {
        "effectiveDateTime": expected,
        "nested": [{"d": expected}],
    }


def test_every_patient_moves_by_its_own_cases_distance_to_the_day() -> None:
    bundle, patients = fixture_transaction(DEFAULT_FIXTURES, today=date(2026, 11, 28))
    unshifted, _ = fixture_transaction(DEFAULT_FIXTURES)
    by_key = {e["request"]["url"]: e["resource"] for e in unshifted["entry"]}
    moved = {e["request"]["url"]: e["resource"] for e in bundle["entry"]}
    fixture_patients = {case.build()["context"]["patientId"] for case in CASES if case.name != "unrelated-order-quiet"}
    assert moved.keys() == by_key.keys() and len(patients) == len(fixture_patients) >= 60
    assert by_key["Patient/sid-pop2-window"]["birthDate"] == "1958-04-02"
    assert moved["Patient/sid-pop2-window"]["birthDate"] == "1958-04-10"  # 2026-11-20 -> 2026-11-28: 8 days
    summer = case_as_of(Path(DEFAULT_FIXTURES) / "sid-igrt-patient-view" / "standard-on-igrt-summer-pause")
    assert summer == date(2026, 6, 15)
    assert (date(2026, 11, 28) - summer).days == 166
