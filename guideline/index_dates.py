"""Index date (T0): CAR-T infusion, or the first administration of a bsAb course.

Source: addendum §4.1 ("CAR-T infusion eller opstart af bispecifikke antistoffer"); decision-table "Terms":
with several, the most recent T0 counts. A bsAb of another substance than the administration before it is an
"opstart" (a switch starts a new course and a new T0, whatever the gap); **interpretation**
``bsab_new_course_gap_days`` applies to the same substance given again after a long gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import attrgetter

from guideline.concepts import TherapyKind
from guideline.model import TherapyAdministration
from guideline.parameters import Parameters
from guideline.quick_init import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class IndexDate:
    """A T0 with the administrations behind it (a CAR-T infusion, or every administration of a bsAb course)."""

    t0: date
    kind: TherapyKind
    substance: str
    refs: tuple[str, ...]
    certain: bool


def index_dates(therapies: tuple[TherapyAdministration, ...], *, as_of: date, p: Parameters) -> tuple[IndexDate, ...]:
    """Return every T0 on or before ``as_of``, oldest first.

    CAR-T: each recorded infusion is a T0. A CAR-T history code (``date_certain=False``) is never a T0: its date is
    when it was recorded, not the infusion (``guideline.facts`` keeps it as ``car_t_undated``). bsAb:
    administrations are grouped into courses; a different substance than the previous administration's
    (``substance_key``; unknown keys compare equal), or a gap of more than ``p.bsab_new_course_gap_days`` days,
    starts a new course, whose first administration is its T0.
    """
    past = [t for t in therapies if t.on <= as_of]
    found: list[IndexDate] = []
    for t in past:
        if t.kind == TherapyKind.CAR_T and t.date_certain:
            found.append(IndexDate(t.on, TherapyKind.CAR_T, t.substance, (t.ref,), True))
    bsab = sorted((t for t in past if t.kind == TherapyKind.BSAB), key=_ON_REF)
    course: list[TherapyAdministration] = []
    gap_days = p.bsab_new_course_gap_days
    for t in bsab:
        if course:
            last = course[-1]
            # A change of substance (both known; on one day ordered by reference only), inline: a years-long
            # course holds hundreds of weekly doses (issue 32).
            switched = last.substance_key and t.substance_key and last.substance_key != t.substance_key
            if switched or (t.on - last.on).days > gap_days:
                found.append(_course(course))
                course = []
        course.append(t)
    if course:
        found.append(_course(course))
    return tuple(sorted(found, key=_T0_KIND))


_ON_REF = attrgetter("on", "ref")
_T0_KIND = attrgetter("t0", "kind")


def _course(course: list[TherapyAdministration]) -> IndexDate:
    first = course[0]
    return IndexDate(first.on, TherapyKind.BSAB, first.substance, tuple(t.ref for t in course), True)
