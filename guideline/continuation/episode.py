"""What every continuation rule reads and says about the current IgRT episode."""

from __future__ import annotations

from guideline.igrt import IgrtEpisode
from guideline.model import Criterion, Evidence
from guideline.text import msg

IGRT_INTERPRETATIONS = ("on_igrt_recent_days",)
"""The setting that decides whether the patient is on IgRT."""
RECOVERY_NOTE = msg(
    "Immune recovery (IgG > 4 g/L) can only be judged from an IgG measured in a period without IgRT "
    "(addendum §3.4); rising IgA/IgM support a stop or pause (Opsummering, Kriterier for seponering)."
)


def igrt_start_criterion(episode: IgrtEpisode) -> Criterion:
    """On IgRT since the episode's start, with its last five exposures as evidence."""
    return Criterion(
        id="on-igrt",
        description=msg("On IgRT since {start} (last recorded exposure {end})", start=episode.start, end=episode.end),
        held=True,
        evidence=tuple(Evidence(text=msg("immunoglobulin"), ref=r) for r in episode.refs[-5:]),
    )
