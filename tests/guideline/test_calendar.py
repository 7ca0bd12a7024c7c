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


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        ("2008-02-29", "2026-02-27", 17),
        ("2008-02-29", "2026-02-28", 18),  # a 29 February birthday falls on 28 February in other years
        ("2008-02-29", "2028-02-28", 19),
        ("2008-02-29", "2028-02-29", 20),
        ("2008-03-01", "2026-02-28", 17),
        ("2008-03-01", "2026-03-01", 18),
        ("2008-01-15", "2008-01-15", 0),
        ("2008-01-15", "2008-01-14", 0),  # born after ``on``: minus the whole years, rounded toward zero
        ("2008-01-15", "2007-01-15", -1),
        ("2008-01-15", "2007-01-16", 0),
        ("2008-12-31", "2009-12-30", 0),
        ("2008-12-31", "2009-12-31", 1),
    ],
)
def test_age_at_the_boundaries(born: str, on: str, age: int) -> None:
    assert age_in_years(date.fromisoformat(born), date.fromisoformat(on)) == age


def test_calendar_arithmetic_agrees_with_relativedelta() -> None:
    """The arithmetic replaced ``dateutil.relativedelta`` (issue 32): the same answers, month ends and leap days too."""
    from datetime import timedelta

    from dateutil.relativedelta import relativedelta

    days = [date(2019, 12, 1) + timedelta(days=i) for i in range(0, 1200, 3)]
    days += [date(2020, 2, 29), date(2024, 2, 29), date(2021, 1, 31), date(2021, 12, 31)]
    for day in days:
        for months in (-25, -13, -12, -1, 0, 1, 2, 6, 11, 12, 13, 24, 48):
            assert add_calendar_months(day, months) == day + relativedelta(months=months), (day, months)
    for born in days[::7]:
        for on in days[::5]:
            assert age_in_years(born, on) == relativedelta(on, born).years, (born, on)


def test_add_calendar_months_out_of_range_raises() -> None:
    with pytest.raises(ValueError):
        add_calendar_months(date(9999, 12, 1), 1)
