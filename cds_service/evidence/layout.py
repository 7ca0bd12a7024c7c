"""Where the timeline's parts go: the date axis, date labels that do not overlap, the legend, the figure's size.

Geometry only, no data and no words: ``cds_service.evidence.timeline`` draws, this module places. Sizes in inches
and points (1/72 inch); x coordinates are days (``x``). The figure is ``WIDTH_IN`` wide, the printed width on A4.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from guideline.calendar import add_calendar_months

WIDTH_IN = 7.1
"""Figure width in inches: 180 mm, an A4 page (210 mm) less 15 mm margins."""
FONT = 7.0
"""Label size in points (the printed figure is 180 mm wide)."""
LABEL_BASE_PT, LABEL_ROW_PT = 2.0, 8.5
"""Date labels above the panel: the first row this many points above it, each further row this much higher."""
_PANEL_IN, _LANES_IN, _AXIS_IN, _LEGEND_ROW_IN = 1.9, 0.75, 0.32, 0.135
_LEFT, _RIGHT = 0.125, 0.985
_LABEL_GAP_DAYS = 10
_EM_PER_CHARACTER = 0.6
"""The average width of a character of the labels' font (DejaVu Sans: about 0.55-0.6 em; the browser's may differ)."""


class Span(Protocol):
    """What ``label_span`` needs of the drawn period: its first and last day."""

    @property
    def start(self) -> date:
        """The axis' first day."""

    @property
    def end(self) -> date:
        """The axis' last day."""


def x(day: date) -> float:
    """Return a date as an x coordinate: days (proleptic Gregorian ordinal), so that no date converter is involved."""
    return float(day.toordinal())


def label_days(text: str, story: Span) -> float:
    """Return the width of a label ``text`` in days on ``story``'s axis (``_EM_PER_CHARACTER`` em a character)."""
    axis_points = (_RIGHT - _LEFT) * WIDTH_IN * 72
    return len(text) * FONT * _EM_PER_CHARACTER * (x(story.end) - x(story.start)) / axis_points


def label_span(day: date, text: str, story: Span) -> tuple[float, float, bool]:
    """Return where a date label lies on the axis, in days: (left, right, right-aligned).

    A label starts at its line, or ends at it where it would run past the axis' end.
    """
    width = label_days(text, story)
    if x(day) > x(story.end) - width:
        return x(day) - width, x(day), True
    return x(day), x(day) + width, False


def stagger(labels: Sequence[tuple[date, str]], story: Span) -> list[int]:
    """Return a row (0-3) for each label so that labels on one row do not overlap (greedy, left to right)."""
    spans = [label_span(day, text, story) for day, text in labels]
    placed: list[list[tuple[float, float]]] = [[] for _ in range(4)]
    rows = [0] * len(labels)
    for index in sorted(range(len(labels)), key=lambda i: spans[i][0]):
        left, right, _ = spans[index]
        for row, taken in enumerate(placed):
            if all(right + _LABEL_GAP_DAYS < a or left > b + _LABEL_GAP_DAYS for a, b in taken):
                rows[index] = row
                taken.append((left, right))
                break
    return rows


def month_ticks(start: date, end: date, *, every: int = 3) -> list[date]:
    """Return the first days of months from ``start`` to ``end``, every ``every`` months (quarters by default)."""
    day = start.replace(day=1)
    if day < start:
        day = add_calendar_months(day, 1)
    found = []
    while day <= end:
        if every == 1 or (day.month - 1) % every == 0:
            found.append(day)
        day = add_calendar_months(day, 1)
    return found


def legend_columns(legend: list[Artist]) -> int:
    """Return the legend's columns: three when the longest label fits a third of the width, else two, else one."""
    longest = max((len(str(item.get_label())) for item in legend), default=0)
    width = (_RIGHT - _LEFT + 0.01) * WIDTH_IN * 72
    needed = longest * FONT * _EM_PER_CHARACTER + 3.4 * FONT  # the handle and the gaps
    return 3 if 3 * needed <= width else 2 if 2 * needed <= width else 1


def place(figure: Figure, panel: Axes, lanes: Axes, legend: list[Artist], *, label_rows: int) -> None:
    """Size the figure to its label and legend rows and place the two panels (inches, from the top down)."""
    columns = legend_columns(legend)
    rows = -(-len(legend) // columns)
    top = (LABEL_BASE_PT + LABEL_ROW_PT * label_rows + 2) / 72
    height = top + _PANEL_IN + 0.06 + _LANES_IN + _AXIS_IN + rows * _LEGEND_ROW_IN + 0.05
    figure.set_size_inches(WIDTH_IN, height)
    lanes_bottom = (_AXIS_IN + rows * _LEGEND_ROW_IN + 0.05) / height
    panel_bottom = lanes_bottom + (_LANES_IN + 0.06) / height
    panel.set_position((_LEFT, panel_bottom, _RIGHT - _LEFT, _PANEL_IN / height))
    lanes.set_position((_LEFT, lanes_bottom, _RIGHT - _LEFT, _LANES_IN / height))
    if legend:
        figure.legend(
            handles=legend,
            loc="lower left",
            bbox_to_anchor=(_LEFT - 0.01, 0.0),
            ncol=columns,
            fontsize=FONT,
            frameon=False,
            handlelength=1.6,
            columnspacing=1.2,
            borderaxespad=0.2,
            labelspacing=0.3,
        )
