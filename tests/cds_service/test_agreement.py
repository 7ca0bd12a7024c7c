"""``cds_service.audit.agreement``: every recommendation against every next action, at the edges of its windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cds_service.audit.agreement import EXPECTED, Windows, agreement, judge
from storage import DecisionEntry, FeedbackEntry

T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = T + timedelta(days=60)


def row(
    hook: str,
    at: datetime,
    *,
    recommendation: str | None = "start",
    outcome: str = "silent",
    on_igrt: bool | None = None,
    patient: str = "p1",
    card: str | None = "c1",
) -> DecisionEntry:
    return DecisionEntry(
        recorded_at=at,
        service_id=f"sid-igrt-{hook}",
        hook=hook,
        hook_instance="h",
        client_issuer=None,
        patient_hmac=patient,
        outcome=outcome,
        rule_id=f"rule-{recommendation}" if recommendation else None,
        recommendation=recommendation,
        population=2,
        guideline_version="v",
        card_uuid=card,
        as_of=at.date(),
        on_igrt=on_igrt,
    )


def verdict(entry: DecisionEntry, later: list[DecisionEntry], now: datetime = NOW, **kw: object) -> str:
    return judge(entry, later, overridden=set(kw.get("overridden", set())), now=now, windows=Windows()).verdict  # type: ignore[arg-type]


@pytest.mark.parametrize("recommendation", sorted(EXPECTED))
@pytest.mark.parametrize(
    ("signed_after", "signed"), [(timedelta(hours=24), True), (timedelta(hours=24, seconds=1), False)]
)
def test_order_select_against_an_order_signed_within_the_window(
    recommendation: str, signed_after: timedelta, signed: bool
) -> None:
    decision = row("order-select", T, recommendation=recommendation)
    later = [row("order-sign", T + signed_after, outcome="quiet", card=None)]
    expected = EXPECTED[recommendation]
    want = "no-expectation" if expected is None else ("agreed" if expected == signed else "disagreed")
    assert verdict(decision, later) == want


@pytest.mark.parametrize("outcome", ["no-immunoglobulin-order", "immunomodulation-order", "prefetch-unavailable"])
def test_an_order_sign_call_without_an_igrt_order_is_no_signed_order(outcome: str) -> None:
    later = [row("order-sign", T + timedelta(hours=1), outcome=outcome, recommendation=None, card=None)]
    assert verdict(row("order-select", T, recommendation="not-indicated"), later) == "agreed"


def test_an_order_window_still_open_is_unknown() -> None:
    decision = row("order-select", T, recommendation="start")
    assert verdict(decision, [], now=T + timedelta(hours=23)) == "unknown"
    assert verdict(decision, [], now=T + timedelta(hours=25)) == "disagreed"


@pytest.mark.parametrize("recommendation", sorted(EXPECTED))
@pytest.mark.parametrize("on_igrt", [True, False])
@pytest.mark.parametrize("hook", ["patient-view", "order-sign"])
def test_a_later_patient_view_says_whether_igrt_followed(recommendation: str, on_igrt: bool, hook: str) -> None:
    decision = row(hook, T, recommendation=recommendation)
    later = [row("patient-view", T + timedelta(days=10), on_igrt=on_igrt, outcome="quiet", card=None)]
    expected = EXPECTED[recommendation]
    want = "no-expectation" if expected is None else ("agreed" if expected == on_igrt else "disagreed")
    assert verdict(decision, later) == want


@pytest.mark.parametrize(
    ("after", "counts"),
    [
        (timedelta(hours=23), False),  # the same visit: not what happened next
        (timedelta(days=1), True),
        (timedelta(days=30), True),
        (timedelta(days=30, seconds=1), False),
    ],
)
def test_the_follow_up_window_is_one_to_thirty_days(after: timedelta, counts: bool) -> None:
    decision = row("patient-view", T, recommendation="stop")
    later = [row("patient-view", T + after, on_igrt=False, outcome="quiet", card=None)]
    assert verdict(decision, later) == ("agreed" if counts else "unknown")


def test_an_igrt_order_after_a_patient_view_stop_disagrees() -> None:
    decision = row("patient-view", T, recommendation="stop")
    assert verdict(decision, [row("order-sign", T + timedelta(hours=2), outcome="card")]) == "disagreed"


def test_an_overridden_card_disagrees_whatever_followed() -> None:
    decision = row("order-select", T, recommendation="not-indicated", outcome="card", card="c9")
    later = [row("order-sign", T + timedelta(hours=30), outcome="quiet", card=None)]  # withdrawn: would agree
    assert verdict(decision, later, overridden={"c9"}) == "disagreed"


def test_only_decisions_that_said_something_are_judged_and_other_patients_never_count() -> None:
    rows = [
        row("order-select", T, recommendation="start", outcome="silent", card="a"),
        row("order-select", T, recommendation="start", outcome="quiet", card=None),
        row("order-select", T, recommendation=None, outcome="no-immunoglobulin-order", card=None),
        row("order-sign", T + timedelta(hours=1), outcome="quiet", card=None, patient="p2"),
    ]
    feedback = [
        FeedbackEntry(T, "s", None, "zzz", "overridden", (), None, None, None, False, T),
    ]
    report = agreement(rows, feedback, now=NOW)
    assert [j.decision.card_uuid for j in report.judged] == ["a"]
    assert report.judged[0].verdict == "disagreed"  # p2's order is not p1's
    assert [(r.rule, r.recommendation, r.decisions) for r in report.rules] == [("rule-start", "start", 1)]
    assert report.weeks[0][0].weekday() == 0 and report.weeks[0][1]["disagreed"] == 1


def test_since_and_until_bound_what_is_judged_not_what_is_read() -> None:
    rows = [
        row("order-select", T - timedelta(hours=1), recommendation="start", card="before"),
        row("order-select", T, recommendation="start", card="in"),
        row("order-sign", T + timedelta(hours=2), outcome="quiet", card=None),
    ]
    report = agreement(rows, [], now=NOW, since=T, until=T + timedelta(hours=1))
    assert [(j.decision.card_uuid, j.verdict) for j in report.judged] == [("in", "agreed")]
