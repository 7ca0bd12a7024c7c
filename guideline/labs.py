"""Selecting IgG results: the latest usable value, and the earlier value that confirms persistence.

Source: Opsummering, "Monitorering af effekt": IgG measured twice at least 3 weeks apart.
**interpretations**: ``igg_recent_max_age_days``, ``igg_confirm_max_span_days``.
"""

from __future__ import annotations

from datetime import date, timedelta

from guideline.concepts import Analyte
from guideline.model import LabResult
from guideline.parameters import Parameters


def results(labs: tuple[LabResult, ...], analyte: Analyte, *, as_of: date) -> tuple[LabResult, ...]:
    """Return the results of one analyte dated on or before ``as_of``, newest first."""
    chosen = [lab for lab in labs if lab.analyte == analyte and lab.effective <= as_of]
    return tuple(sorted(chosen, key=_newest_key, reverse=True))


def latest(labs: tuple[LabResult, ...], analyte: Analyte, *, as_of: date) -> LabResult | None:
    """Return the newest result of ``analyte`` on or before ``as_of``, however old."""
    # ``results(...)[0]`` without the sort: ``max`` keeps the first of equal keys, as the stable sort put it first.
    chosen = [lab for lab in labs if lab.analyte == analyte and lab.effective <= as_of]
    return max(chosen, key=_newest_key) if chosen else None


def _newest_key(lab: LabResult) -> tuple[date, str]:
    return lab.effective, lab.ref


def is_recent(lab: LabResult, *, as_of: date, p: Parameters) -> bool:
    """Return whether ``lab`` is at most ``p.igg_recent_max_age_days`` days old on ``as_of``."""
    return (as_of - lab.effective).days <= p.igg_recent_max_age_days


def confirming_igg(labs: tuple[LabResult, ...], newest: LabResult, *, p: Parameters) -> LabResult | None:
    """Return the newest IgG taken at least 21 days before ``newest`` and at most the confirm span before it."""
    latest_allowed = newest.effective - timedelta(days=p.igg_confirm_min_gap_days)
    earliest_allowed = newest.effective - timedelta(days=p.igg_confirm_max_span_days)
    for lab in results(labs, Analyte.IGG, as_of=latest_allowed):
        if lab.effective >= earliest_allowed:
            return lab
    return None
