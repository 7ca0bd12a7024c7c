"""What a clinician does about a worklist row, in the order the worklist page lists them (issue 30 §6).

The page opens with the patients to act on, most urgent first: **stop** (the guideline says stop or attempt to stop
IgRT now; an overdue stop first, the longest overdue at the top), **start**, **consider**, **data missing** (not
decided until the data is there). Only rows patient-view would show a card for (``WorklistRow.patient_view_card``)
are acted on; the other worklist rows (continue, pause, individual assessment, not indicated, and rows without a card)
stay in ``worklist.csv``. Each action has one date that matters (``key_date``): the stop date for a stop, the end of
the still open start window (else the follow-up) for a start, the follow-up for the others; a date before ``as_of`` is
overdue.

``worklist.csv`` keeps its own order (``cohort.evaluation.due_order``: what is due first, by date, across actions) and
carries this grouping in its ``action`` column (``action_column``), so the page's rows are found there by sorting on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cohort.evaluation import WorklistRow
from guideline.concepts import Recommendation

ACTIONS = {
    Recommendation.STOP.value: ("stop", "Attempt to stop IgRT"),
    Recommendation.START.value: ("start", "Start IgRT"),
    Recommendation.CONSIDER.value: ("consider", "Consider IgRT"),
    Recommendation.INSUFFICIENT_DATA.value: ("data-missing", "Data missing: not decided"),
}
"""recommendation -> (action code, the action in clinical words), in urgency order."""
ORDER = tuple(code for code, _ in ACTIONS.values())
"""The action codes, most urgent first."""


@dataclass(frozen=True)
class Action:
    """One row to act on: the row, its action code and words, the date that matters and what it is.

    ``date_label``: ``"stop due"``, ``"start by"`` or ``"follow up"`` (``""`` with no date); ``overdue``: ``due`` is
    before ``as_of``; ``days_overdue``: how many days (0 when not overdue).
    """

    row: WorklistRow
    code: str
    words: str
    due: date | None
    date_label: str
    days_overdue: int

    @property
    def overdue(self) -> bool:
        """Whether the date that matters has passed."""
        return self.days_overdue > 0


def action_of(row: WorklistRow, *, as_of: date) -> Action | None:
    """Return the row's ``Action``, or ``None`` when the row is not acted on (see the module docstring)."""
    if not _acted_on(row):
        return None
    code, words = ACTIONS[row.recommendation]
    due, label = key_date(row, as_of=as_of)
    days = (as_of - due).days if due is not None and due < as_of else 0
    return Action(row, code, words, due, label, days)


def key_date(row: WorklistRow, *, as_of: date) -> tuple[date | None, str]:
    """Return ``(the date that matters, what it is)`` for a row: see the module docstring.

    A start's window end counts only while the window is open (on or after ``as_of``): a start after the window (an
    infection since) has no start-by date, so it is not shown as overdue.
    """
    if row.recommendation == Recommendation.STOP.value:
        candidates = [(row.stop_due, "stop due"), (row.next_follow_up, "follow up")]
    elif row.recommendation == Recommendation.START.value:
        window = row.window_end if row.window_end is not None and row.window_end >= as_of else None
        candidates = [(window, "start by"), (row.next_follow_up, "follow up")]
    else:
        candidates = [(row.next_follow_up, "follow up")]
    return next(((day, label) for day, label in candidates if day is not None), (None, ""))


def actions(rows: list[WorklistRow] | tuple[WorklistRow, ...], *, as_of: date) -> list[Action]:
    """Return the rows to act on, most urgent first.

    By action (``ORDER``), then by the date that matters (earliest, so the longest overdue, first; rows without one
    last), then by display and patient id.
    """
    found = [action for row in rows if (action := action_of(row, as_of=as_of)) is not None]
    found.sort(key=lambda a: (ORDER.index(a.code), a.due is None, a.due or date.max, a.row.display, a.row.patient_id))
    return found


def action_column(row: WorklistRow) -> str:
    """The ``action`` column of ``worklist.csv`` and ``worklist.parquet``: rank and code, ``""`` when not acted on.

    ``1-stop``, ``2-start``, ``3-consider``, ``4-data-missing``: sorting a spreadsheet on it gives the page's order.
    """
    if not _acted_on(row):
        return ""
    code = ACTIONS[row.recommendation][0]
    return f"{ORDER.index(code) + 1}-{code}"


def _acted_on(row: WorklistRow) -> bool:
    return row.on_worklist and row.patient_view_card and row.recommendation in ACTIONS
