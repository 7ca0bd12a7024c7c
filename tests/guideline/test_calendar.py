from datetime import date

import pytest

from guideline.calendar import add_calendar_months, age_in_years, in_window, is_summer, winter_days_between


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2025-08-31", 6, "2026-02-28"),
        ("2023-08-31", 6, "2024-02-29"),
        ("2026-05-01", 6, "2026-11-01"),
        ("2026-10-01", 6, "2027-04-01"),
        ("2026-01-31", 1, "2026-02-28"),
        ("2026-03-31", -1, "2026-02-28"),
    ],
)
def test_add_calendar_months_clamps_to_month_end(start: str, months: int, expected: str) -> None:
    assert add_calendar_months(date.fromisoformat(start), months) == date.fromisoformat(expected)


@pytest.mark.parametrize(
    ("t0", "as_of", "inside"),
    [
        ("2025-08-31", "2025-08-31", True),  # T0 itself
        ("2025-08-31", "2025-08-30", False),  # before T0
        ("2025-08-31", "2026-02-27", True),  # last day inside
        ("2025-08-31", "2026-02-28", False),  # T0 + 6 calendar months: outside
        ("2026-05-01", "2026-10-31", True),
        ("2026-05-01", "2026-11-01", False),
        ("2026-10-01", "2027-03-31", True),
        ("2026-10-01", "2027-04-01", False),
    ],
)
def test_window_is_t0_inclusive_and_end_exclusive(t0: str, as_of: str, inside: bool) -> None:
    assert in_window(date.fromisoformat(t0), date.fromisoformat(as_of), months=6) is inside


@pytest.mark.parametrize(
    ("day", "summer"),
    [("2026-04-30", False), ("2026-05-01", True), ("2026-09-30", True), ("2026-10-01", False)],
)
def test_summer_is_1_may_to_30_september(day: str, summer: bool) -> None:
    assert is_summer(date.fromisoformat(day)) is summer


def test_winter_days() -> None:
    assert winter_days_between(date(2026, 5, 1), date(2026, 10, 1)) == 0
    assert winter_days_between(date(2026, 10, 1), date(2027, 5, 1)) == 212
    assert winter_days_between(date(2026, 4, 30), date(2026, 10, 2)) == 2


@pytest.mark.parametrize(("on", "age"), [("2026-01-14", 17), ("2026-01-15", 18)])
def test_age_counts_the_birthday(on: str, age: int) -> None:
    assert age_in_years(date(2008, 1, 15), date.fromisoformat(on)) == age
