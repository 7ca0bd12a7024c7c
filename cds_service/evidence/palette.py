"""The timeline's colours and the two small drawing helpers its parts share (``timeline``, ``lanes``)."""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from cds_service.evidence.layout import FONT
from cds_service.evidence.story import InfectionGrade
from guideline.concepts import IgrtRoute

COLOURS: dict[Any, str] = {
    "used": "#1f4e79",
    "earlier": "#8fb3d9",
    "not-used": "#8c8c8c",
    "iga": "#1a7f6b",
    "igm": "#8e44ad",
    "start": "#c0392b",
    "consider": "#d68910",
    "reference": "#6c3483",
    "window": "#f9e79f",
    "today": "#000000",
    "stop": "#c0392b",
    "follow-up": "#2471a3",
    "own": "#1e8449",
    IgrtRoute.IVIG: "#2e86c1",
    IgrtRoute.SCIG: "#17a589",
    IgrtRoute.UNKNOWN: "#7f8c8d",
    InfectionGrade.SEPSIS: "#7b241c",
    InfectionGrade.ADMITTED: "#c0392b",
    InfectionGrade.SEVERE: "#e74c3c",
    InfectionGrade.COUNTED: "#f0b27a",
    InfectionGrade.NOT_COUNTED: "#ffffff",
}
"""Colour of each part: data kinds by name, IgRT routes and infection grades by their enum."""
T0_COLOUR = "#a04000"
LANES = {"igrt": 2.0, "infection": 1.0, "therapy": 0.0}
"""The y of each lane of the lower panel: immunoglobulin courses, infections, CAR-T/bsAb."""


def label_text(axes: Axes, x: float, y: float, text: str, **style: Any) -> None:
    """Write ``text`` on ``axes`` at data ``(x, y)`` in the timeline's font size, never read as mathtext."""
    axes.text(x, y, text, fontsize=FONT, parse_math=False, **style)


def legend_marker(marker: str, face: str, edge: str, label: str, *, size: float = 5) -> Line2D:
    """A legend entry for a marker (matplotlib's symbol code ``marker``) with its face and edge colours."""
    return Line2D(
        [], [], ls="none", marker=marker, markersize=size, markerfacecolor=face, markeredgecolor=edge, label=label
    )
