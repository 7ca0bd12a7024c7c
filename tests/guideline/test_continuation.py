"""Truth tables for continue / pause / stop (decision-table.md "Continue, pause, stop")."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from guideline import RuleId, evaluate
from guideline.concepts import IgrtRoute
from guideline.model import IgrtRecord
from tests.guideline.records import HAEM, car_t, d, igg, infection, ivig, ivig_every, record


def short_course(**extra: object) -> object:
    return record(
        therapies=(car_t("2026-04-10"),),
        labs=(igg(3.0, "2026-04-25"),),
        igrt=ivig_every("2026-05-01", "2026-12-31"),
        **extra,
    )


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [("2026-10-09", RuleId.POP2_SHORT_COURSE_CONTINUE), ("2026-10-10", RuleId.POP2_SHORT_COURSE_STOP)],
)
def test_pop2_short_course_stops_at_t0_plus_6_months(as_of: str, expected: RuleId) -> None:
    finding = evaluate(short_course(), as_of=d(as_of))  # type: ignore[arg-type]
    assert finding.rule == expected
    assert finding.dates.stop_due == date(2026, 10, 10)


def test_pop2_igrt_started_after_severe_infection_follows_standard_rules() -> None:
    rec = short_course(infections=(infection("2026-04-20", severe=True),))
    finding = evaluate(rec, as_of=d("2026-10-20"))  # type: ignore[arg-type]
    assert finding.rule == RuleId.STANDARD_CONTINUE
    assert any(c.id == "standard-stop-rules-apply" for c in finding.criteria)


def test_pop2_igrt_started_before_t0_follows_standard_rules() -> None:
    rec = record(therapies=(car_t("2026-04-10"),), igrt=ivig_every("2026-01-05", "2026-12-31"))
    finding = evaluate(rec, as_of=d("2026-10-20"))
    assert finding.rule == RuleId.STANDARD_STOP_ATTEMPT
    assert "started before T0" in next(
        c.description.english() for c in finding.criteria if c.id == "standard-stop-rules-apply"
    )


@pytest.mark.parametrize(("days_since_last", "on_igrt"), [(42, True), (43, False)])
def test_on_igrt_means_immunoglobulin_within_42_days(days_since_last: int, on_igrt: bool) -> None:
    from datetime import timedelta

    last = d("2026-11-20") - timedelta(days=days_since_last)
    rec = record(diagnoses=(HAEM,), labs=(igg(7.0, "2026-11-01"),), igrt=(ivig(last.isoformat()),))
    finding = evaluate(rec, as_of=d("2026-11-20"))
    assert finding.on_igrt is on_igrt
    # Off IgRT the IgG of 24 days after the last dose is not own: never not-indicated on it (Opsummering).
    assert (finding.rule == RuleId.IGG_NOT_OWN) is (not on_igrt)


STANDARD = IgrtRecord(
    ref="MedicationStatement/scig",
    display="Hizentra",
    source="statement",
    route=IgrtRoute.SCIG,
    start=date(2026, 2, 2),
    active=True,
)


@pytest.mark.parametrize(
    ("as_of", "expected", "next_follow_up", "stop_due"),
    [
        ("2026-05-01", RuleId.STANDARD_CONTINUE, "2026-05-02", "2026-10-03"),  # before the 3-month follow-up
        ("2026-05-02", RuleId.STANDARD_CONTINUE, "2026-05-02", "2026-10-03"),  # 3-month follow-up day
        ("2026-08-01", RuleId.STANDARD_CONTINUE, "2026-08-02", "2026-10-03"),  # < 6 months
        ("2026-08-02", RuleId.STANDARD_PAUSE_SUMMER, "2026-08-02", "2026-10-03"),  # 6 months, summer
        # No IgG measured for the 6-month follow-up: it is overdue, on every hook (not the next one, 2027-02-02).
        ("2026-09-30", RuleId.STANDARD_PAUSE_SUMMER, "2026-08-02", "2026-10-03"),
        ("2026-10-02", RuleId.STANDARD_CONTINUE, "2026-08-02", "2026-10-03"),  # winter days on IgRT 89 < 90
        ("2026-10-03", RuleId.STANDARD_STOP_ATTEMPT, None, "2026-10-03"),  # 90 winter days reached: one date only
        ("2027-02-01", RuleId.STANDARD_STOP_ATTEMPT, None, "2026-10-03"),  # last day of 6-12 months
        ("2027-02-02", RuleId.STANDARD_STOP_OVERDUE, None, "2026-10-03"),  # 12 months, no attempt, no infection
        ("2027-05-01", RuleId.STANDARD_STOP_OVERDUE, None, "2026-10-03"),  # overdue stop before a summer pause
    ],
)
def test_standard_follow_up_pause_and_stop(
    as_of: str, expected: RuleId, next_follow_up: str | None, stop_due: str
) -> None:
    finding = evaluate(record(diagnoses=(HAEM,), igrt=(STANDARD,)), as_of=d(as_of))
    assert finding.rule == expected
    assert finding.dates.next_follow_up == (d(next_follow_up) if next_follow_up else None)
    assert finding.dates.follow_up_overdue == (next_follow_up is not None and d(next_follow_up) <= d(as_of))
    assert finding.dates.stop_due == d(stop_due)


def test_undated_active_order_is_insufficient_data() -> None:
    undated = replace(STANDARD, start=None)
    finding = evaluate(record(diagnoses=(HAEM,), igrt=(undated,)), as_of=d("2026-11-20"))
    assert finding.rule == RuleId.IGRT_START_UNKNOWN


def test_ended_igrt_is_named_on_a_later_start_card() -> None:
    rec = record(
        diagnoses=(HAEM,),
        labs=(igg(3.0, "2026-11-10"), igg(3.1, "2026-10-01")),
        infections=(infection("2026-09-01", severe=True),),
        igrt=ivig_every("2025-10-01", "2026-05-01"),
    )
    finding = evaluate(rec, as_of=d("2026-11-20"))
    assert finding.rule == RuleId.START_POP1
    assert any("antibiotic prophylaxis can be tried before restarting" in n.english() for n in finding.notes)
