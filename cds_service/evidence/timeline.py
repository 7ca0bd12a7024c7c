"""The IgRT timeline: a ``Story`` drawn with matplotlib as an inline SVG, labels in the page language.

Two panels on one date axis (the last 24 months before ``as_of``, to the next date that matters):

* above, IgG, IgA and IgM in g/L with the 4 and 6 g/L lines (and the age-related reference low where it decided);
  IgG the decision read filled, earlier own IgG lighter, IgG not used hollow and grey with the reason at the point,
  IgG sampled during an active infection ringed;
* below, three lanes: immunoglobulin courses as bars (IVIG/SCIG, a tick per dose given, the draft order with its
  monthly dose when the dose advice computed it), infections by severity, CAR-T/bsAb administrations;
* across both, the 6-month window after each T0 shaded, and the vertical lines for T0, today, the stop (or stop
  attempt window), the follow-up and the first own-IgG date.

Every part carries a stable ``id`` (``gid``), listed in ``PARTS``, so tests and readers can find it. The figure is
built with ``matplotlib.figure.Figure`` and the SVG canvas directly (never ``pyplot``), one figure per call, so
concurrent renders share nothing but matplotlib's font cache. Text stays text (``svg.fonttype`` ``none``); ids are
stable (``svg.hashsalt``): both are set once, process-wide, on import, always to the same values.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

import matplotlib
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from cds_service.cards.i18n import Translator
from cds_service.evidence import words
from cds_service.evidence.lanes import draw_courses, draw_infections, draw_therapies
from cds_service.evidence.layout import (
    FONT,
    LABEL_BASE_PT,
    LABEL_ROW_PT,
    WIDTH_IN,
    label_span,
    month_ticks,
    place,
    stagger,
    x,
)
from cds_service.evidence.palette import COLOURS, LANES, T0_COLOUR, label_text, legend_marker
from cds_service.evidence.story import NOT_USED, IggUse, LabPoint, Story
from cds_service.evidence.svg import inline_svg
from guideline.concepts import Analyte

matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["svg.hashsalt"] = "sid-igrt-evidence"

PARTS = (
    "igg-points",
    "igg-upper-bound",
    "igg-earlier",
    "igg-not-used",
    "igg-during-infection",
    "igg-line",
    "iga-points",
    "igm-points",
    "threshold-4",
    "threshold-6",
    "reference-low",
    "window",
    "t0",
    "igrt-course",
    "igrt-dose",
    "immunomodulation",
    "igrt-order",
    "infection",
    "therapy",
    "t0-marker",
    "today",
    "stop-date",
    "stop-window",
    "follow-up",
    "own-igg-from",
    "no-data",
)
"""The ``id`` of every part the timeline may hold (each at most once; a part without data is left out)."""
_RELABEL_DAYS = 270
"""A long run of not-used IgG of one reason is labelled again after this many days."""


def timeline_svg(story: Story, t: Translator) -> str:
    """Return the timeline of ``story`` as one inline ``<svg>`` element, labelled in ``t``'s language.

    The SVG has a ``<title>`` and a one-sentence ``<desc>`` (``role="img"``), no script, style element or external
    reference, and scales to the width of its container (``cds_service.evidence.svg``).
    """
    legend: list[Artist] = []
    figure = Figure(figsize=(WIDTH_IN, 3.0))
    panel = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    lanes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    x0, x1 = x(story.start), x(story.end)
    _draw_thresholds(story, panel, legend, t)
    _draw_windows(story, panel, lanes, legend, t)
    _draw_labs(story, panel, legend, t)
    draw_courses(story, lanes, legend, t)
    draw_infections(story, lanes, legend, t)
    draw_therapies(story, lanes, legend, t)
    label_rows = _draw_dates(story, panel, lanes, t)
    _style_axes(story, panel, lanes, t, x0=x0, x1=x1)
    place(figure, panel, lanes, legend, label_rows=label_rows)
    buffer = io.StringIO()
    FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None, "Creator": None})  # type: ignore[no-untyped-call]
    return inline_svg(buffer.getvalue(), title=t(words.TIMELINE_TITLE), desc=t(_description(story)))


def _draw_windows(story: Story, panel: Axes, lanes: Axes, legend: list[Artist], t: Translator) -> None:
    spans = [
        (x(max(mark.t0, story.start)), x(min(mark.window_end, story.end)) - x(max(mark.t0, story.start)))
        for mark in story.indexes
    ]
    if not spans:
        return
    for axes, gid in ((panel, "window"), (lanes, "window-lanes")):
        axes.broken_barh(
            spans, (0, 1), transform=axes.get_xaxis_transform(), facecolors=COLOURS["window"], alpha=0.55, gid=gid
        )
    legend.append(Patch(facecolor=COLOURS["window"], alpha=0.55, label=t(words.WINDOW)))


def _draw_thresholds(story: Story, panel: Axes, legend: list[Artist], t: Translator) -> None:
    """The 4 and 6 g/L lines, and the lab's age-related reference low where it decided."""
    for value, gid, colour, style, kind in (
        (story.start_threshold, "threshold-4", COLOURS["start"], "--", "start"),
        (story.consider_threshold, "threshold-6", COLOURS["consider"], ":", "consider"),
        (story.reference_low, "reference-low", COLOURS["reference"], "-.", "reference"),
    ):
        if value is None:
            continue
        panel.axhline(value, color=colour, ls=style, lw=0.9, gid=gid)
        legend.append(Line2D([], [], color=colour, ls=style, lw=0.9, label=t(words.threshold_label(kind, value))))


def _draw_labs(story: Story, panel: Axes, legend: list[Artist], t: Translator) -> None:
    igg = [p for p in story.labs if p.analyte == Analyte.IGG]
    final = [p for p in igg if p.use != IggUse.PRELIMINARY]
    if len(final) > 1:
        panel.plot([x(p.on) for p in final], [p.value_g_per_l for p in final], color="#b8c7d9", lw=0.8, gid="igg-line")
    _scatter(panel, igg, {IggUse.USED}, "igg-points", legend, t(words.IGG_LABELS[IggUse.USED]), marker="o", s=34)
    _scatter(
        panel, igg, {IggUse.UPPER_BOUND}, "igg-upper-bound", legend, t(words.IGG_LABELS[IggUse.UPPER_BOUND]), marker="v"
    )
    _scatter(panel, igg, {IggUse.EARLIER}, "igg-earlier", legend, t(words.IGG_LABELS[IggUse.EARLIER]), marker="o", s=18)
    unused = [p for p in igg if p.use in NOT_USED]
    if unused:
        panel.scatter(
            [x(p.on) for p in unused],
            [p.value_g_per_l for p in unused],
            s=26,
            facecolors="white",
            edgecolors=COLOURS["not-used"],
            linewidths=1.0,
            zorder=4,
            gid="igg-not-used",
        )
        legend.append(legend_marker("o", "white", COLOURS["not-used"], t(words.NOT_USED_LEGEND)))
        _reason_labels(panel, unused, story, t)
    during = [p for p in igg if p.during_infection]
    if during:
        panel.scatter(
            [x(p.on) for p in during],
            [p.value_g_per_l for p in during],
            s=95,
            facecolors="none",
            edgecolors=COLOURS["start"],
            linewidths=0.9,
            zorder=3,
            gid="igg-during-infection",
        )
        legend.append(legend_marker("o", "none", COLOURS["start"], t(words.DURING_INFECTION), size=8))
    for analyte, marker, label in ((Analyte.IGA, "s", words.IGA), (Analyte.IGM, "^", words.IGM)):
        points = [p for p in story.labs if p.analyte == analyte]
        if points:
            colour = COLOURS[analyte.value]
            panel.plot(
                [x(p.on) for p in points],
                [p.value_g_per_l for p in points],
                color=colour,
                lw=0.7,
                marker=marker,
                markersize=3.2,
                gid=f"{analyte.value}-points",
            )
            legend.append(Line2D([], [], color=colour, lw=0.7, marker=marker, markersize=3.2, label=t(label)))


def _scatter(
    panel: Axes,
    points: Sequence[LabPoint],
    uses: set[IggUse],
    gid: str,
    legend: list[Artist],
    label: str,
    *,
    marker: str,
    s: float = 30,
) -> None:
    chosen = [p for p in points if p.use in uses]
    if not chosen:
        return
    colour = COLOURS["earlier"] if IggUse.EARLIER in uses else COLOURS["used"]
    panel.scatter(
        [x(p.on) for p in chosen], [p.value_g_per_l for p in chosen], s=s, c=colour, marker=marker, zorder=5, gid=gid
    )
    legend.append(legend_marker(marker, colour, colour, label))


def _reason_labels(panel: Axes, unused: Sequence[LabPoint], story: Story, t: Translator) -> None:
    """Write the reason beside the first not-used IgG of each run of one reason (again after ``_RELABEL_DAYS``)."""
    previous: LabPoint | None = None
    labelled: date | None = None
    for point in unused:
        assert point.use is not None
        same_run = previous is not None and previous.use == point.use
        previous = point
        if same_run and labelled is not None and (point.on - labelled).days <= _RELABEL_DAYS:
            continue
        labelled = point.on
        near_end = x(point.on) > x(story.end) - 0.12 * (x(story.end) - x(story.start))
        label_text(
            panel,
            x(point.on) + (-5 if near_end else 5),
            point.value_g_per_l,
            t(words.NOT_USED_REASONS[point.use]),
            color="#555555",
            ha="right" if near_end else "left",
            va="bottom",
            fontstyle="italic",
            zorder=6,
        )


def _draw_dates(story: Story, panel: Axes, lanes: Axes, t: Translator) -> int:
    """T0s, today, the stop (or the stop-attempt window), the follow-up and own IgG: lines with staggered labels.

    Returns the rows of labels above the panel (1-4).
    """
    lines: list[tuple[date, str, str, str, str]] = []
    t0s = [m for m in story.indexes if story.start <= m.t0 <= story.end]
    if t0s:
        for axes, gid in ((panel, "t0"), (lanes, "t0-lanes")):
            days = [x(m.t0) for m in t0s]
            axes.vlines(days, 0, 1, transform=axes.get_xaxis_transform(), colors=T0_COLOUR, lw=1.1, gid=gid)
        for mark in t0s:
            lines.append((mark.t0, "", T0_COLOUR, "-", t(words.t0_label(mark.kind))))
    lines.append((story.as_of, "today", COLOURS["today"], "-", t(words.TODAY)))
    if story.stop_due is not None and story.start <= story.stop_due <= story.end:
        if story.stop_attempt_until is not None:
            until = min(story.stop_attempt_until, story.end)
            for axes, gid in ((panel, "stop-window"), (lanes, "stop-window-lanes")):
                axes.axvspan(x(story.stop_due), x(until), color=COLOURS["stop"], alpha=0.08, lw=0, gid=gid)
            lines.append((story.stop_due, "stop-date", COLOURS["stop"], "--", t(words.STOP_ATTEMPT)))
        else:
            label = words.STOP_REASSESS if story.stop_overruled else words.STOP_BY
            lines.append((story.stop_due, "stop-date", COLOURS["stop"], "--", t(label)))
    if story.next_follow_up is not None and story.start <= story.next_follow_up <= story.end:
        label = words.FOLLOW_UP_OVERDUE if story.follow_up_overdue else words.FOLLOW_UP
        lines.append((story.next_follow_up, "follow-up", COLOURS["follow-up"], ":", t(label)))
    if story.own_igg_from is not None and story.start <= story.own_igg_from <= story.end:
        lines.append((story.own_igg_from, "own-igg-from", COLOURS["own"], ":", t(words.OWN_IGG_FROM)))
    levels = stagger([(day, text) for day, _, _, _, text in lines], story)
    for (day, gid, colour, style, text), level in zip(lines, levels, strict=True):
        if gid:
            panel.axvline(x(day), color=colour, ls=style, lw=1.0, gid=gid)
            lanes.axvline(x(day), color=colour, ls=style, lw=1.0, gid=f"{gid}-lanes")
        near_end = label_span(day, text, story)[2]
        panel.annotate(
            text,
            xy=(x(day), 1.0),
            xycoords=panel.get_xaxis_transform(),
            xytext=(-2 if near_end else 2, LABEL_BASE_PT + LABEL_ROW_PT * level),
            textcoords="offset points",
            fontsize=FONT,
            color=colour,
            ha="right" if near_end else "left",
            va="bottom",
            annotation_clip=False,
            parse_math=False,
        )
    return max(levels, default=0) + 1


def _style_axes(story: Story, panel: Axes, lanes: Axes, t: Translator, *, x0: float, x1: float) -> None:
    values = [p.value_g_per_l for p in story.labs]
    top = max(8.5, max(values, default=0.0) * 1.12)
    panel.set_xlim(x0, x1)
    panel.set_ylim(0, top)
    panel.set_ylabel(t(words.AXIS_G_PER_L), fontsize=FONT + 0.5)
    if not values:
        label_text(
            panel, (x0 + x1) / 2, top / 2, t(words.NO_DATA), ha="center", va="center", color="#555555", gid="no-data"
        )
    lanes.set_xlim(x0, x1)
    lanes.set_ylim(-0.6, 2.6)
    lanes.set_yticks(list(LANES.values()))
    lanes.set_yticklabels([t(words.LANE_IMMUNOGLOBULIN), t(words.LANE_INFECTIONS), t(words.LANE_THERAPY)])
    ticks = month_ticks(story.start, story.end)
    lanes.set_xticks([x(day) for day in ticks])
    lanes.set_xticklabels([day.strftime("%Y-%m") for day in ticks])
    months = [x(day) for day in month_ticks(story.start, story.end, every=1)]
    for axes in (panel, lanes):
        # Month lines as one collection: as many minor ticks would cost a third of the figure's time.
        axes.vlines(months, 0, 1, transform=axes.get_xaxis_transform(), colors="#f2f3f4", lw=0.6, zorder=0)
    panel.set_xticks([])
    for axes in (panel, lanes):
        axes.tick_params(labelsize=FONT, length=2.5, pad=2)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
    panel.grid(axis="y", color="#eeeeee", lw=0.6)
    panel.set_axisbelow(True)


def _description(story: Story) -> Any:
    igg = [p for p in story.labs if p.analyte == Analyte.IGG]
    return words.describe_timeline(
        start=story.start,
        end=story.end,
        igg=len(igg),
        used=sum(1 for p in igg if p.use in (IggUse.USED, IggUse.UPPER_BOUND)),
        other=len(story.labs) - len(igg),
        courses=sum(1 for c in story.courses if not c.immunomodulation),
        infections=len(story.infections),
        t0s=sum(1 for m in story.indexes if story.start <= m.t0 <= story.end),
    )
