"""Own IgG: which IgG results reflect the patient's own production, and which are confounded by immunoglobulin.

Sources: Opsummering, "Kriterier for seponering": "Under immunglobulinsubstitution kan IgG ikke anvendes isoleret
som markør for B-celle-niveau/funktion"; addendum §3.4: immune recovery "forudsætter, at målingen af IgG foretages i
en periode uden immunglobulinsubstitution".

Rule: an IgG drawn on the day of, or fewer than ``igg_washout_days`` days after, the last day of **any**
immunoglobulin exposure (ATC J06BA, any dose, any reason: IgRT and also high-dose IVIG for ICANS, ITP and the
like) is not the patient's own IgG. Infused IgG only raises the measured value, so such a value is an **upper
bound** of the own IgG (``upper_bounds``): below the start threshold (4 g/L) it proves the own IgG is below it too
and counts for "IgG < 4 g/L", for persistence and for a restart, also inside the washout; at or above it, it cannot
support start, consider, not-indicated or immune recovery. On IgRT it is also a trough for the dose advice. A
sample drawn the same day as a dose counts as confounded because a date cannot tell a pre-dose from a post-dose
sample.

**interpretation** ``igg_washout_days`` (default 90): the half-life of IgG (own and infused) is about 3-4 weeks
(21-28 days; addendum table 8-7 "lang halveringstid"). After 90 days more than three half-lives have passed, so
at most 1/8 (28-day half-life) to 1/19 (21-day half-life) of a dose's rise in IgG remains: below 1 g/L after a
replacement dose, which cannot move a value across the 4 and 6 g/L thresholds by itself.

Immunoglobulin given for another reason ("immunomodulation": the record's ``reasonCode`` or a ``reasonReference``
Condition coded as ITP, ICANS, Guillain-Barré, Kawasaki, ...) is not IgRT: it opens no IgRT episode and triggers
no stop rule (``replacement_records``), but it confounds IgG like any other dose.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import date, timedelta
from operator import attrgetter

from guideline.concepts import Analyte, DiagnosisKind
from guideline.model import IgrtRecord, LabResult, PatientRecord, UpperBoundReason
from guideline.quick_init import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class Exposure:
    """Immunoglobulin in the body from ``start`` to ``end`` (an administration: one day; an order: its period).

    ``immunomodulation``: given for another reason than replacement (not IgRT).
    """

    start: date
    end: date
    ref: str
    display: str
    immunomodulation: bool


_END_START_REF = attrgetter("end", "start", "ref")
_START_END_REF = attrgetter("start", "end", "ref")


@quick_init
@dataclass(frozen=True, slots=True)
class ConfoundedIgg:
    """An IgG that is not own: the exposure that confounds it, and the first day an own IgG can be drawn."""

    lab: LabResult
    exposure: Exposure
    own_from: date

    def as_upper_bound(self) -> LabResult:
        """Return the lab marked as an upper bound of the own IgG (infused IgG only raises the measured value)."""
        dose = self.exposure
        reason = UpperBoundReason(
            dose_display=dose.display, dose_ref=dose.ref, dose_on=dose.end, own_from=self.own_from
        )
        return replace(self.lab, upper_bound_after=reason)


def is_immunomodulation(record: IgrtRecord, immunomodulation_reasons: frozenset[str]) -> bool:
    """Return whether an immunoglobulin record was given for another reason than replacement."""
    if record.purpose == "immunomodulation":
        return True
    return bool(record.reason_refs) and not immunomodulation_reasons.isdisjoint(record.reason_refs)


def immunomodulation_reasons(record: PatientRecord) -> frozenset[str]:
    """Return the references of Conditions coded as an immunomodulatory indication (ITP, ICANS, ...)."""
    return frozenset(d.ref for d in record.diagnoses if d.kind == DiagnosisKind.IG_IMMUNOMODULATION_INDICATION)


def replacement_records(record: PatientRecord) -> tuple[IgrtRecord, ...]:
    """Return the immunoglobulin records that are IgRT (all but those given for immunomodulation)."""
    reasons = immunomodulation_reasons(record)
    return tuple(r for r in record.igrt if not is_immunomodulation(r, reasons))


def exposures(record: PatientRecord, *, as_of: date) -> tuple[Exposure, ...]:
    """Return every dated immunoglobulin exposure that began on or before ``as_of``, oldest first.

    An active order or statement lasts until ``as_of``; an ended one until its end (else its start).
    Undated records are left out (an undated active order is reported by the continuation rules).
    """
    reasons = immunomodulation_reasons(record)
    found = []
    for r in record.igrt:
        start = r.start
        if start is None or start > as_of:
            continue
        if r.active:
            end = as_of
        else:  # min(max(end or start, start), as_of), without the calls: a long history holds hundreds of doses
            end = r.end or start
            end = start if end < start else end
            end = as_of if end > as_of else end
        found.append(Exposure(start, end, r.ref, r.display, is_immunomodulation(r, reasons)))
    return tuple(sorted(found, key=_END_START_REF))


class ExposureIndex:
    """Exposures indexed by start day, for "which exposure confounds a sample of day d" in O(log n).

    Long histories hold hundreds of weekly SCIG doses and hundreds of IgG results; a scan per result would be
    quadratic. The confounding exposure of a sample is the latest-ending one among those that began by its day.
    """

    def __init__(self, found: tuple[Exposure, ...]) -> None:
        ordered = sorted(found, key=_START_END_REF)
        self._starts = [e.start for e in ordered]
        self._latest_ending: list[Exposure] = []
        best: Exposure | None = None
        for exposure in ordered:
            if best is None or (exposure.end, exposure.ref) > (best.end, best.ref):
                best = exposure
            self._latest_ending.append(best)

    def confounding(self, day: date, *, washout_days: int) -> Exposure | None:
        """Return the exposure that confounds a sample of ``day`` (start <= day < end + washout), if any."""
        count = bisect_right(self._starts, day)
        if count == 0:
            return None
        latest = self._latest_ending[count - 1]
        return latest if day < latest.end + timedelta(days=washout_days) else None


def split_igg(
    labs: tuple[LabResult, ...], found: tuple[Exposure, ...], *, washout_days: int
) -> tuple[tuple[LabResult, ...], tuple[ConfoundedIgg, ...]]:
    """Split lab results into those usable as own values (IgG own; other analytes as they are) and confounded IgG.

    Returns:
        ``(own_labs, confounded)``: ``own_labs`` keeps every non-IgG result and every own IgG.
    """
    index = ExposureIndex(found)
    own: list[LabResult] = []
    confounded: list[ConfoundedIgg] = []
    for lab in labs:
        exposure = None if lab.analyte != Analyte.IGG else index.confounding(lab.effective, washout_days=washout_days)
        if exposure is None:
            own.append(lab)
        else:
            confounded.append(ConfoundedIgg(lab, exposure, exposure.end + timedelta(days=washout_days)))
    return tuple(own), tuple(confounded)


def upper_bounds(confounded: tuple[ConfoundedIgg, ...], *, below_g_per_l: float) -> tuple[LabResult, ...]:
    """Return the confounded IgG results that prove a low own IgG, marked as upper bounds of it.

    An IgG below ``below_g_per_l`` (the start threshold, 4 g/L) drawn under or after immunoglobulin proves the own
    IgG is below it too (issue "clinical fidelity 3" §4); one at or above it is left out, as it decides nothing.
    """
    # Whether a result is below a threshold does not depend on its marking (``LabResult.is_below`` answers ``True``
    # alike): only those below are marked, not the hundreds of a long history under immunoglobulin.
    return tuple(item.as_upper_bound() for item in confounded if item.lab.is_below(below_g_per_l))


def own_igg_from(found: tuple[Exposure, ...], *, washout_days: int) -> date | None:
    """Return the first day an IgG is own again after the last exposure (``None`` without any exposure)."""
    if not found:
        return None
    return max(e.end for e in found) + timedelta(days=washout_days)
