"""What changed since the previous run, per patient, and why (issue 30 §3): ``changes-since-previous.csv`` and the page.

``changes_since(previous, rows)`` compares the previous run's row of each patient (``Placed.previous``, kept by the
worklist's state) with this run's. One ``Change`` per patient whose decision changed, of the first kind that applies:

==========================  ===============================================================================
``new-start``               now ``start``, before anything else (or not in the previous run)
``stop-now-due``            now ``stop``, before anything else (or not in the previous run)
``recommendation-changed``  another change of recommendation (``deceased`` and ``not-relevant`` included:
                            a patient who died, or whom the guideline now concerns)
``new-on-worklist``         not in the previous run, now on the worklist (neither start nor stop)
``rule-changed``            the same recommendation by another rule
``dates-changed``           the same recommendation and rule, other T0, window end, stop or follow-up date
==========================  ===============================================================================

Why: the rule before and after (``continue-standard -> stop-standard-attempt``), and each changed date. Not a change:
the same recommendation, rule and dates; a patient not in the previous run who is not on the worklist now (a new
unrelated patient); a patient of the previous run absent from this one (an incremental export holds only the patients
that changed since, so absent is not gone). Rows are the worklist's ``WorklistRow`` s; cells of the CSV are made
spreadsheet-safe (``cohort.spreadsheet``: displays and rules come from the export and the state).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cohort.evaluation import WorklistRow
from cohort.spreadsheet import write_rows
from guideline.concepts import Recommendation

KINDS = {
    "new-start": "new start",
    "stop-now-due": "stop now due",
    "recommendation-changed": "recommendation changed",
    "new-on-worklist": "new on the worklist",
    "rule-changed": "rule changed",
    "dates-changed": "dates changed",
}
"""Change kind -> its words, in the order the page and the CSV list them."""
DATES = (("t0", "T0"), ("window_end", "window end"), ("stop_due", "stop due"), ("next_follow_up", "follow-up"))
"""The dated fields compared, and their words."""
COLUMNS = ("patient_id", "display", "change", "recommendation_before", "recommendation_after", "why")
NOT_BEFORE = "(not in the previous run)"


@dataclass(frozen=True)
class Change:
    """One patient's change: ``kind`` (a ``KINDS`` key), the rows before (``None``: not in the previous run) and now.

    ``why``: the rule before and after, and each changed date (``stop due 2026-12-01 -> 2026-11-10``).
    """

    kind: str
    before: WorklistRow | None
    after: WorklistRow
    why: str

    @property
    def words(self) -> str:
        """The kind in words (``"stop now due"``)."""
        return KINDS[self.kind]


def change_of(before: WorklistRow | None, after: WorklistRow) -> Change | None:
    """Return the ``Change`` from ``before`` to ``after`` (the truth table of the module docstring), or ``None``."""
    start, stop = Recommendation.START.value, Recommendation.STOP.value
    was = before.recommendation if before is not None else None
    kind: str | None
    if after.recommendation == start and was != start:
        kind = "new-start"
    elif after.recommendation == stop and was != stop:
        kind = "stop-now-due"
    elif before is None:
        kind = "new-on-worklist" if after.on_worklist else None
    elif after.recommendation != before.recommendation:
        kind = "recommendation-changed"
    elif after.rule != before.rule:
        kind = "rule-changed"
    elif _dates(before, after):
        kind = "dates-changed"
    else:
        kind = None
    return None if kind is None else Change(kind, before, after, _why(before, after))


def changes_since(previous: Mapping[str, WorklistRow], rows: Iterable[WorklistRow]) -> list[Change]:
    """Return every patient's ``Change`` since ``previous`` (rows by patient id), by kind then display and id."""
    found = [c for row in rows if (c := change_of(previous.get(row.patient_id), row)) is not None]
    order = list(KINDS)
    found.sort(key=lambda c: (order.index(c.kind), c.after.display, c.after.patient_id))
    return found


def write_changes_since(changes: Iterable[Change], path: Path) -> None:
    """Write ``changes-since-previous.csv``: ``COLUMNS``, one line per changed patient, every cell spreadsheet-safe."""
    lines = (
        [
            c.after.patient_id,
            c.after.display,
            c.words,
            c.before.recommendation if c.before is not None else NOT_BEFORE,
            c.after.recommendation,
            c.why,
        ]
        for c in changes
    )
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_rows(handle, COLUMNS, lines)


def _dates(before: WorklistRow, after: WorklistRow) -> list[str]:
    return [
        f"{words} {_day(getattr(before, name))} -> {_day(getattr(after, name))}"
        for name, words in DATES
        if getattr(before, name) != getattr(after, name)
    ]


def _why(before: WorklistRow | None, after: WorklistRow) -> str:
    if before is None:
        return f"{NOT_BEFORE} -> {after.rule or after.recommendation}"
    parts = []
    if (before.rule, before.recommendation) != (after.rule, after.recommendation):
        parts.append(f"{before.rule or before.recommendation} -> {after.rule or after.recommendation}")
    return "; ".join(parts + _dates(before, after))


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else "none"
