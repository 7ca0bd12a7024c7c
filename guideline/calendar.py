"""Pure date arithmetic for the guideline: calendar months, the window, summer and winter.

No function here reads the clock; every date is an argument.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta
from functools import lru_cache

SUMMER_START_MONTH_DAY = (5, 1)
"""1 May: first day of the summer period ("fx 1. maj til 1. oktober", Opsummering, "Pausering")."""
SUMMER_END_MONTH_DAY = (10, 1)
"""1 October: first day after the summer period."""


@lru_cache(maxsize=4096)
def add_calendar_months(day: date, months: int) -> date:
    """Return ``day`` plus ``months`` calendar months, clamped to the end of a shorter month.

    Example: 31 August + 6 months = 28 February (29 in a leap year); the same as ``day + relativedelta(months=
    months)``. Cached: a call asks for the same few dates (T0 + 6 months, follow-ups) many times.

    Raises:
        ValueError: the result is outside years 1 to 9999.
    """
    years, month0 = divmod(day.month - 1 + months, 12)
    year = day.year + years
    return date(year, month0 + 1, min(day.day, monthrange(year, month0 + 1)[1]))


def in_window(t0: date, as_of: date, *, months: int) -> bool:
    """Return whether ``T0 <= as_of < T0 + months`` (calendar months), the CAR-T/bsAb window.

    Source: addendum §4.1, "< 6 måneder efter CAR-T infusion eller opstart af bispecifikke antistoffer";
    "Seks måneder eller senere ... gælder samme kriterier som for andre patienter".
    """
    return t0 <= as_of < add_calendar_months(t0, months)


def age_in_years(birth_date: date, on: date) -> int:
    """Return the age in whole years on ``on`` (a birthday counts on the day itself).

    The same as ``relativedelta(on, birth_date).years``: someone born on 29 February has a birthday on 28 February
    in other years; a ``birth_date`` after ``on`` gives minus the whole years between them (rounded toward zero).
    """
    months = (on.year - birth_date.year) * 12 + on.month - birth_date.month
    if on < birth_date:
        while on > add_calendar_months(birth_date, months):
            months += 1
        return -(-months // 12)
    while on < add_calendar_months(birth_date, months):
        months -= 1
    return months // 12


def is_summer(day: date) -> bool:
    """Return whether ``day`` lies in the summer period 1 May (inclusive) to 1 October (exclusive)."""
    start = date(day.year, *SUMMER_START_MONTH_DAY)
    end = date(day.year, *SUMMER_END_MONTH_DAY)
    return start <= day < end


def winter_days_between(start: date, end: date) -> int:
    """Return how many days of ``[start, end)`` fall outside summer, i.e. in 1 October to 30 April.

    Args:
        start: first day counted.
        end: first day not counted; ``end <= start`` gives 0.
    """
    if end <= start:
        return 0
    total = (end - start).days
    summer = 0
    for year in range(start.year, end.year + 1):
        s_start = max(start, date(year, *SUMMER_START_MONTH_DAY))
        s_end = min(end, date(year, *SUMMER_END_MONTH_DAY))
        if s_end > s_start:
            summer += (s_end - s_start).days
    return total - summer


def date_when_winter_days_reach(start: date, not_before: date, days: int) -> date:
    """Return the first date ``d >= not_before`` with ``winter_days_between(start, d) >= days``.

    Used for the standard stop attempt: the winter months must be part of the treatment period
    (Opsummering, "Kriterier for seponering"). Always terminates: every year has 212 winter days.
    """
    day = not_before
    while winter_days_between(start, day) < days:
        day += timedelta(days=1)
    return day
