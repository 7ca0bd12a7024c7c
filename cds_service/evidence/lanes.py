"""The timeline's lower panel: immunoglobulin courses, infections and CAR-T/bsAb administrations, one lane each."""

from __future__ import annotations

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from cds_service.cards.i18n import Translator
from cds_service.evidence import words
from cds_service.evidence.layout import x
from cds_service.evidence.palette import COLOURS, LANES, T0_COLOUR, label_text, legend_marker
from cds_service.evidence.story import InfectionGrade, Story
from guideline.concepts import TherapyKind

_INFECTION_SIZE = {
    InfectionGrade.SEPSIS: 70,
    InfectionGrade.ADMITTED: 55,
    InfectionGrade.SEVERE: 45,
    InfectionGrade.COUNTED: 30,
    InfectionGrade.NOT_COUNTED: 26,
}
_ORDER_DAYS = 28.0
"""The draft order's bar: four weeks from today (a dosing month)."""


def draw_courses(story: Story, lanes: Axes, legend: list[Artist], t: Translator) -> None:
    """Immunoglobulin courses as bars by route (IVIG/SCIG), a tick per dose, immunomodulation hatched, the order."""
    y = LANES["igrt"]
    replacement = [c for c in story.courses if not c.immunomodulation and c.end >= story.start]
    if replacement:
        spans = [(x(max(c.start, story.start)), x(c.end) - x(max(c.start, story.start))) for c in replacement]
        lanes.broken_barh(
            spans, (y - 0.28, 0.56), facecolors=[COLOURS[c.route] for c in replacement], alpha=0.85, gid="igrt-course"
        )
        for course, (left, width) in zip(replacement, spans, strict=True):
            if width >= 45:
                label_text(
                    lanes,
                    left + 4,
                    y,
                    t(words.ROUTES[course.route]),
                    color="white",
                    va="center",
                    fontweight="bold",
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": COLOURS[course.route], "edgecolor": "none"},
                    zorder=6,
                )
        for route in dict.fromkeys(c.route for c in replacement):
            legend.append(Patch(facecolor=COLOURS[route], alpha=0.85, label=t(words.ROUTES[route])))
    doses = [day for c in story.courses if not c.immunomodulation for day in c.doses if day >= story.start]
    if doses:
        lanes.scatter([x(d) for d in doses], [y] * len(doses), marker="|", s=28, c="#1b2631", lw=0.6, gid="igrt-dose")
        legend.append(legend_marker("|", "#1b2631", "#1b2631", t(words.DOSE_GIVEN)))
    modulation = [c for c in story.courses if c.immunomodulation and c.end >= story.start]
    if modulation:
        spans = [(x(max(c.start, story.start)), x(c.end) - x(max(c.start, story.start))) for c in modulation]
        lanes.broken_barh(
            spans, (y - 0.28, 0.56), facecolors="#d5d8dc", edgecolors="#566573", hatch="////", gid="immunomodulation"
        )
        legend.append(Patch(facecolor="#d5d8dc", edgecolor="#566573", hatch="////", label=t(words.IMMUNOMODULATION)))
    if story.ordered:
        order = story.ordered[0]
        lanes.broken_barh(
            [(x(story.as_of), _ORDER_DAYS)],
            (y - 0.28, 0.56),
            facecolors=COLOURS[order.route],
            alpha=0.35,
            edgecolors="#1b2631",
            linestyles="--",
            lw=0.8,
            gid="igrt-order",
        )
        legend.append(
            Patch(
                facecolor=COLOURS[order.route],
                alpha=0.35,
                edgecolor="#1b2631",
                linestyle="--",
                label=t(words.ordered_label(order.route, order.monthly_g_per_kg)),
            )
        )


def draw_infections(story: Story, lanes: Axes, legend: list[Artist], t: Translator) -> None:
    """Infections at their onset, coloured and sized by grade (sepsis, admitted, severe, counted, not counted)."""
    marks = story.infections
    if not marks:
        return
    lanes.scatter(
        [x(m.onset) for m in marks],
        [LANES["infection"]] * len(marks),
        s=[_INFECTION_SIZE[m.grade] for m in marks],
        c=[COLOURS[m.grade] for m in marks],
        edgecolors=["#7b241c" if m.grade != InfectionGrade.NOT_COUNTED else "#7f8c8d" for m in marks],
        linewidths=0.7,
        marker="o",
        zorder=5,
        gid="infection",
    )
    for grade in InfectionGrade:
        if any(m.grade == grade for m in marks):
            edge = "#7f8c8d" if grade == InfectionGrade.NOT_COUNTED else "#7b241c"
            legend.append(legend_marker("o", COLOURS[grade], edge, t(words.INFECTION_GRADES[grade])))


def draw_therapies(story: Story, lanes: Axes, legend: list[Artist], t: Translator) -> None:
    """CAR-T and bsAb administrations as ticks, each T0 as a triangle on their lane."""
    t0s = [m for m in story.indexes if story.start <= m.t0 <= story.end]
    if t0s:
        lanes.scatter(
            [x(m.t0) for m in t0s],
            [LANES["therapy"]] * len(t0s),
            marker="^",
            s=42,
            c=T0_COLOUR,
            zorder=6,
            gid="t0-marker",
        )
        legend.append(legend_marker("^", T0_COLOUR, T0_COLOUR, t(words.T0_LEGEND)))
    if story.therapy_doses:
        lanes.scatter(
            [x(day) for day, _ in story.therapy_doses],
            [LANES["therapy"]] * len(story.therapy_doses),
            marker="|",
            s=28,
            c=["#6c3483" if kind == TherapyKind.CAR_T else "#ca6f1e" for _, kind in story.therapy_doses],
            lw=0.8,
            gid="therapy",
        )
