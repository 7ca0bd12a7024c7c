"""Agreement: what the service said (or would have said, in silent mode) against what the clinician did next.

Read from the audit trail alone (``storage.AuditStore``): every decision row carries the patient's keyed pseudonym,
the hook, the rule and recommendation, the card's uuid and whether the guideline read the patient as on IgRT. What
the clinician did next is found in the decisions that followed for the same pseudonym, so no new patient data is
stored for it:

* **ordering** (a decision at ``order-select``): an ``order-sign`` call for an immunoglobulin (IgRT) order for the
  same patient within ``Windows.order_hours`` is the order signed; none within it, the order withdrawn;
* **on IgRT or not** (a decision at ``order-sign`` or ``patient-view``): the next ``patient-view`` decision for the
  same patient more than a day and at most ``Windows.follow_days`` later says whether the patient is on IgRT then
  (an ``order-sign`` of IgRT in that time also says "on IgRT");
* **feedback** (normal mode): a card overridden by the clinician disagrees, whatever followed.

What agrees with what (``EXPECTED``): start and continue expect IgRT (signed, on IgRT); not-indicated, stop, pause and
insufficient data expect none (withdrawn, off IgRT); consider and individual assessment leave it to the clinician
(``no-expectation``). A decision whose window has not passed, or with nothing after it, is ``unknown``. Only decisions
that were (or in silent mode would have been) a card count: ``outcome`` ``card`` or ``silent``.

Pure: no clock (pass ``now``), no database. ``cds-service agreement-report`` (``commands.agreement_report``) reads the
rows and renders this.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from storage import DecisionEntry, FeedbackEntry

Verdict = Literal["agreed", "disagreed", "unknown", "no-expectation"]
VERDICTS: tuple[Verdict, ...] = ("agreed", "disagreed", "unknown", "no-expectation")
SHOWN = frozenset({"card", "silent"})
"""Decision outcomes that said something: a card shown, or in silent mode the card that would have been."""
IGRT_ORDER_OUTCOMES = frozenset({"card", "silent", "quiet"})
"""``order-sign`` outcomes that mean an IgRT order was being signed (not: no immunoglobulin order, immunomodulation,
refused, or not decided in time)."""
EXPECTED: dict[str, bool | None] = {
    "start": True,
    "continue": True,
    "not-indicated": False,
    "stop": False,
    "pause": False,
    "insufficient-data": False,
    "consider": None,
    "individual-assessment": None,
}
"""Per recommendation, whether it expects IgRT next (``True``), none (``False``), or leaves it open (``None``)."""


@dataclass(frozen=True)
class Windows:
    """How long the report waits for what happened next.

    Attributes:
        order_hours: after an ``order-select`` decision, the hours within which an ``order-sign`` of an IgRT order
            counts as the order signed (default 24).
        follow_days: after an ``order-sign`` or ``patient-view`` decision, the days within which a later
            ``patient-view`` (at least one day later) tells whether the patient is on IgRT (default 30).
    """

    order_hours: float = 24.0
    follow_days: int = 30


@dataclass(frozen=True)
class Judged:
    """One decision and its verdict.

    Attributes:
        decision: the audit row.
        verdict: ``agreed`` | ``disagreed`` | ``unknown`` | ``no-expectation``.
        what_happened: the next action in words (``order signed``, ``no order within 24 h``, ``on IgRT on
            2026-12-01``, ``overridden``, ``nothing yet``, ...).
    """

    decision: DecisionEntry
    verdict: Verdict
    what_happened: str


@dataclass(frozen=True)
class RuleAgreement:
    """The counts of one rule and recommendation."""

    rule: str
    recommendation: str
    counts: Counter[Verdict] = field(default_factory=Counter)

    @property
    def decisions(self) -> int:
        """Decisions of this rule and recommendation."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class AgreementReport:
    """Every shown (or silent) decision judged, grouped per rule and per week.

    Attributes:
        judged: each decision with its verdict, oldest first.
        rules: per ``(rule, recommendation)``, sorted by rule.
        weeks: per ISO week (its Monday), the counts of each verdict.
    """

    judged: tuple[Judged, ...]
    rules: tuple[RuleAgreement, ...]
    weeks: tuple[tuple[date, Counter[Verdict]], ...]

    @property
    def disagreements(self) -> tuple[Judged, ...]:
        """The decisions the clinician's next action disagreed with, for review in the audit trail."""
        return tuple(j for j in self.judged if j.verdict == "disagreed")

    def total(self, verdict: Verdict) -> int:
        """How many decisions got ``verdict``."""
        return sum(1 for j in self.judged if j.verdict == verdict)


def agreement(
    decisions: Sequence[DecisionEntry],
    feedback: Iterable[FeedbackEntry],
    *,
    now: datetime,
    windows: Windows = Windows(),
    since: datetime | None = None,
    until: datetime | None = None,
) -> AgreementReport:
    """Judge every decision recorded from ``since`` to before ``until`` that said something (``SHOWN``).

    Args:
        decisions: the audit rows, oldest first, from before ``since`` too if any (they are not judged), and up to
            ``now`` (those after ``until`` are not judged, only read as what happened next).
        feedback: the feedback items (only ``overridden`` is read: a disagreement in normal mode).
        now: the time of the report: a window not yet passed gives ``unknown``.
        windows: how long to wait for the next action.
        since: the first decision time judged (default: all).
        until: the first decision time not judged (default: none).
    """
    overridden = {item.card_uuid for item in feedback if item.outcome == "overridden"}
    by_patient: dict[str, list[DecisionEntry]] = defaultdict(list)
    for entry in decisions:
        by_patient[entry.patient_hmac].append(entry)
    judged = []
    for entry in decisions:
        if entry.outcome not in SHOWN or entry.recommendation is None:
            continue
        if (since is not None and entry.recorded_at < since) or (until is not None and entry.recorded_at >= until):
            continue
        later = [d for d in by_patient[entry.patient_hmac] if d.recorded_at > entry.recorded_at]
        judged.append(judge(entry, later, overridden=overridden, now=now, windows=windows))
    return AgreementReport(tuple(judged), _per_rule(judged), _per_week(judged))


def judge(
    entry: DecisionEntry, later: Sequence[DecisionEntry], *, overridden: set[str], now: datetime, windows: Windows
) -> Judged:
    """The verdict of one decision, from the same patient's ``later`` decisions and the overridden card uuids."""
    expected = EXPECTED.get(entry.recommendation or "")
    if entry.card_uuid is not None and entry.card_uuid in overridden:
        return Judged(entry, "disagreed" if expected is not None else "no-expectation", "card overridden")
    if entry.hook == "order-select":
        igrt, happened = _ordered(entry, later, now=now, hours=windows.order_hours)
    else:
        igrt, happened = _on_igrt_later(entry, later, now=now, days=windows.follow_days)
    if expected is None:
        return Judged(entry, "no-expectation", happened)
    if igrt is None:
        return Judged(entry, "unknown", happened)
    return Judged(entry, "agreed" if igrt == expected else "disagreed", happened)


def _ordered(
    entry: DecisionEntry, later: Sequence[DecisionEntry], *, now: datetime, hours: float
) -> tuple[bool | None, str]:
    """Whether an IgRT order was signed within ``hours`` of an order-select decision (``None``: window not over)."""
    end = entry.recorded_at + timedelta(hours=hours)
    for other in later:
        if other.recorded_at > end:
            break
        if other.hook == "order-sign" and other.outcome in IGRT_ORDER_OUTCOMES:
            return True, "order signed"
    if now < end:
        return None, "nothing yet (order window open)"
    return False, f"no order signed within {hours:g} h"


def _on_igrt_later(
    entry: DecisionEntry, later: Sequence[DecisionEntry], *, now: datetime, days: int
) -> tuple[bool | None, str]:
    """Whether the patient was on IgRT at the next patient-view (or had IgRT signed) 1 to ``days`` days later."""
    start, end = entry.recorded_at + timedelta(days=1), entry.recorded_at + timedelta(days=days)
    for other in later:
        if other.recorded_at > end:
            break
        if entry.hook == "patient-view" and other.hook == "order-sign" and other.outcome in IGRT_ORDER_OUTCOMES:
            return True, f"IgRT order signed on {other.recorded_at.date().isoformat()}"
        if other.hook == "patient-view" and other.recorded_at >= start and other.on_igrt is not None:
            state = "on IgRT" if other.on_igrt else "not on IgRT"
            return other.on_igrt, f"{state} on {other.recorded_at.date().isoformat()}"
    if now < end:
        return None, "nothing yet (follow-up window open)"
    return None, f"no later patient-view within {days} days"


def _per_rule(judged: Sequence[Judged]) -> tuple[RuleAgreement, ...]:
    groups: dict[tuple[str, str], RuleAgreement] = {}
    for item in judged:
        key = (item.decision.rule_id or "?", item.decision.recommendation or "?")
        groups.setdefault(key, RuleAgreement(*key)).counts[item.verdict] += 1
    return tuple(groups[key] for key in sorted(groups))


def _per_week(judged: Sequence[Judged]) -> tuple[tuple[date, Counter[Verdict]], ...]:
    weeks: dict[date, Counter[Verdict]] = defaultdict(Counter)
    for item in judged:
        day = item.decision.recorded_at.date()
        weeks[day - timedelta(days=day.weekday())][item.verdict] += 1
    return tuple(sorted(weeks.items()))
