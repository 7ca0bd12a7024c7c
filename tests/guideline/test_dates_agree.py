"""Truth tables for issue "clinical fidelity 4", dates that agree (items 6-9).

* 6: the 6-month CAR-T/bsAb stop only for IgRT started on IgG < 4 g/L alone; the start card and the later continue
  card agree.
* 7: every hook gives the same dates: the decision's dates do not depend on the orders or the hook, and an overdue
  follow-up is the next follow-up everywhere (property).
* 8: the standard stop attempt is a window (from, to); "at the latest" only for the 6-month rule.
* 9: a partial birth date decides adult or child when every possible birth date agrees.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guideline import DEFAULT_PARAMETERS, Recommendation, RuleId, assess, evaluate
from guideline.concepts import AdviceRule, IgrtRoute
from guideline.model import OrderedDose, PatientRecord
from tests.guideline.records import HAEM, car_t, d, igg, infection, ivig_every, record

PROPERTIES = settings(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


# -- 6. The short-course stop only where the addendum puts it ---------------------------------------------------------
@pytest.mark.parametrize(
    ("severe_before", "start_stop_due", "later_rule"),
    [
        (False, date(2027, 1, 1), RuleId.POP2_SHORT_COURSE_STOP),  # IgG < 4 alone: stop 6 months after T0
        (True, None, RuleId.STANDARD_CONTINUE),  # after a severe infection: standard rules, no 6-month stop
    ],
)
def test_the_6_month_stop_only_for_a_start_on_igg_below_4_alone(
    severe_before: bool, start_stop_due: date | None, later_rule: RuleId
) -> None:
    infections = (infection("2026-07-20", severe=True),) if severe_before else ()
    base = record(therapies=(car_t("2026-07-01"),), labs=(igg(3.0, "2026-08-25"),), infections=infections)
    start = evaluate(base, as_of=d("2026-09-01"))
    assert (start.rule, start.dates.stop_due) == (RuleId.START_POP2_WINDOW, start_stop_due)
    # The continue card four months later, and the card after T0 + 6 months, agree with the start card.
    on_igrt = base.model_copy(update={"igrt": ivig_every("2026-09-01", "2027-03-01")})
    assert evaluate(on_igrt, as_of=d("2027-01-01")).rule == later_rule
    if start_stop_due is None:
        continuing = evaluate(on_igrt, as_of=d("2026-12-15"))
        assert continuing.dates.stop_due == d("2027-03-01")  # 6 months after the IgRT start, not T0 + 6


# -- 7. Every hook gives the same dates --------------------------------------------------------------------------------
AS_OF = date(2026, 11, 20)
SCIG_ORDER = OrderedDose(
    ref="MedicationRequest/draft", display="Hizentra", route=IgrtRoute.SCIG, dose_value=10.0, dose_unit="g"
)


@st.composite
def patient_on_igrt_with_labs(draw: st.DrawFn) -> PatientRecord:
    start = AS_OF - timedelta(days=draw(st.integers(min_value=20, max_value=800)))
    lab_days = draw(st.lists(st.integers(min_value=0, max_value=800), max_size=4))
    return record(
        diagnoses=(HAEM,),
        labs=tuple(igg(7.0, str(AS_OF - timedelta(days=n))) for n in lab_days),
        igrt=ivig_every(str(start), str(AS_OF), draw(st.sampled_from([7, 28]))),
    )


@PROPERTIES
@given(patient_on_igrt_with_labs())
def test_every_hook_gives_the_same_dates(rec: PatientRecord) -> None:
    """patient-view (follow-up reminder), order-select and order-sign (orders) decide the same dates."""
    patient_view = assess(rec, as_of=AS_OF, follow_up=True)
    order_hook = assess(rec, as_of=AS_OF, orders=(SCIG_ORDER,), follow_up=False)
    assert patient_view.finding.dates == order_hook.finding.dates
    reminder = [a for a in patient_view.advice if a.rule == AdviceRule.MONITORING_FOLLOW_UP]
    if reminder and patient_view.finding.recommendation != Recommendation.STOP:
        # The reminder's date is the decision's next follow-up, overdue or due soon.
        assert dict(reminder[0].values)["followUpDue"] == patient_view.finding.dates.next_follow_up.isoformat()


@pytest.mark.parametrize(
    ("as_of", "labs", "next_follow_up", "overdue"),
    [
        ("2026-05-02", (), "2026-05-02", True),  # the 3-month follow-up day, nothing measured
        ("2026-06-20", (), "2026-05-02", True),  # the 3-month follow-up was not done: overdue, on every hook
        ("2026-06-20", ("2026-04-18",), "2026-08-02", False),  # done (IgG 14 days before): the 6-month one next
        ("2026-06-20", ("2026-04-17",), "2026-05-02", True),  # 15 days before: not that follow-up's sample
        ("2026-07-20", (), "2026-08-02", False),  # the 6-month one is due within 14 days: prepare that one
        ("2026-07-18", (), "2026-05-02", True),  # 15 days before the 6-month one: the 3-month one is overdue
    ],
)
def test_an_overdue_follow_up_is_the_next_follow_up(
    as_of: str, labs: tuple[str, ...], next_follow_up: str, overdue: bool
) -> None:
    rec = record(diagnoses=(HAEM,), labs=tuple(igg(7.0, on) for on in labs), igrt=ivig_every("2026-02-02", as_of, 7))
    dates = evaluate(rec, as_of=d(as_of)).dates
    assert (dates.next_follow_up, dates.follow_up_overdue) == (d(next_follow_up), overdue)


# -- 8. A window is a window -------------------------------------------------------------------------------------------
def test_the_standard_stop_attempt_is_a_window_and_the_6_month_stop_a_latest_date() -> None:
    standard = evaluate(
        record(diagnoses=(HAEM,), labs=(igg(3.0, "2025-12-20"),), igrt=ivig_every("2026-01-05", "2026-11-16", 7)),
        as_of=d("2026-11-20"),
    )
    assert standard.rule == RuleId.STANDARD_STOP_ATTEMPT
    assert (standard.dates.stop_due, standard.dates.stop_attempt_until) == (d("2026-07-05"), d("2027-01-05"))
    short = evaluate(
        record(
            therapies=(car_t("2026-04-10"),),
            labs=(igg(3.0, "2026-04-25"),),
            igrt=ivig_every("2026-05-01", "2026-11-20"),
        ),
        as_of=d("2026-11-20"),
    )
    assert short.rule == RuleId.POP2_SHORT_COURSE_STOP
    assert (short.dates.stop_due, short.dates.stop_attempt_until) == (d("2026-10-10"), None)


# -- 9. Partial birth dates --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("earliest", "latest", "expected"),
    [
        ("1999-01-01", "1999-12-31", RuleId.START_POP2_WINDOW),  # "1999": 26 or 27, adult either way
        ("2009-04-01", "2009-04-30", RuleId.CHILD_AFTER_CAR_T_OR_BSAB),  # "2009-04": 17 either way
        ("2008-01-01", "2008-12-31", RuleId.AGE_UNKNOWN),  # "2008": 18 if born before 20 Nov, else 17
        ("2008-11-01", "2008-11-20", RuleId.START_POP2_WINDOW),  # "2008-11" up to the 20th: 18 on every date
        ("2008-11-01", "2008-11-21", RuleId.AGE_UNKNOWN),  # one possible birthday the day after
    ],
)
def test_a_partial_birth_date_decides_when_every_possible_date_agrees(
    earliest: str, latest: str, expected: RuleId
) -> None:
    rec = record(
        birth_date=d(earliest),
        birth_date_latest=d(latest),
        therapies=(car_t("2026-09-01"),),
        labs=(igg(3.0, "2026-10-01"),),
    )
    assert evaluate(rec, as_of=d("2026-11-20")).rule == expected


def test_interpretation_defaults_are_what_the_tables_assume() -> None:
    assert DEFAULT_PARAMETERS.follow_up_due_soon_days == 14
    assert DEFAULT_PARAMETERS.follow_up_done_tolerance_days == 14
