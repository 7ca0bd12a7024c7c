"""IgRT exposure: whether the patient is on immunoglobulin, since when, and earlier episodes that ended.

Decision-table "Terms": on IgRT = immunoglobulin (ATC J06BA01/J06BA02) administered within
``on_igrt_recent_days`` (**interpretation**, default 42) or an active order/statement; IgRT start = first
administration after a longer gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from guideline.model import IgrtRecord
from guideline.parameters import Parameters
from guideline.quick_init import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class IgrtEpisode:
    """A continuous period of IgRT, from ``start`` to ``end`` (last known exposure), with its sources."""

    start: date
    end: date
    refs: tuple[str, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class IgrtStatus:
    """IgRT on the evaluation date.

    Attributes:
        on_igrt: exposure within the recent-days setting, or an active order/statement.
        current: the current episode; ``None`` when not on IgRT or when its start is unknown.
        start_unknown_refs: active orders/statements without any date (on IgRT, start unknown).
        ended: earlier episodes, oldest first (used for the "after a stop" reminder).
    """

    on_igrt: bool
    current: IgrtEpisode | None
    start_unknown_refs: tuple[str, ...]
    ended: tuple[IgrtEpisode, ...]


def igrt_status(records: tuple[IgrtRecord, ...], *, as_of: date, p: Parameters) -> IgrtStatus:
    """Merge IgRT records into episodes and say whether the patient is on IgRT on ``as_of``."""
    intervals: list[tuple[date, date, str]] = []
    undated: list[str] = []
    for record in records:
        if record.start is None:
            if record.active:
                undated.append(record.ref)
            continue
        if record.start > as_of:
            continue
        start = record.start
        if record.active:
            end = as_of
        else:  # min(end or start, as_of), without the call: a long history holds hundreds of doses
            end = record.end or start
            end = as_of if end > as_of else end
        intervals.append((start, start if end < start else end, record.ref))
    episodes = _merge(sorted(intervals), gap_days=p.on_igrt_recent_days)
    cutoff = as_of - timedelta(days=p.on_igrt_recent_days)
    current = episodes[-1] if episodes and episodes[-1].end >= cutoff else None
    ended = tuple(e for e in episodes if e is not current)
    return IgrtStatus(
        on_igrt=current is not None or bool(undated),
        current=None if undated and current is None else current,
        start_unknown_refs=tuple(undated) if current is None else (),
        ended=ended,
    )


def _merge(intervals: list[tuple[date, date, str]], *, gap_days: int) -> list[IgrtEpisode]:
    # Each episode's refs grow in a list, made a tuple once at the end: a tuple rebuilt per record made a years-long
    # episode of weekly doses quadratic (1,000 doses: 3 ms; issue 32).
    merged: list[tuple[date, date, list[str]]] = []
    for start, end, ref in intervals:
        if merged and (start - merged[-1][1]).days <= gap_days:
            first, last_end, refs = merged[-1]
            refs.append(ref)
            merged[-1] = (first, end if end > last_end else last_end, refs)
        else:
            merged.append((start, end, [ref]))
    return [IgrtEpisode(start, end, tuple(refs)) for start, end, refs in merged]
