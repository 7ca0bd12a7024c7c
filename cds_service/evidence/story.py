"""The patient's IgRT story as the timeline draws it: what happened when, and which IgG values the rules read.

Pure data, no drawing (``cds_service.evidence.timeline`` draws it). Everything comes from the decision the card was
rendered from (``decision.Decision``) and the guideline's own readings of its record (``guideline.facts.derive``:
own IgG, upper bounds, T0, IgRT episodes, infection episodes), so the timeline cannot tell another story than the
card. Values in g/L; dates are calendar dates in the deployment's time zone.

Which IgG values the rules used: those a criterion of the decision or of its advice cites as evidence. An IgG that is
not own (drawn under or within ``igg_washout_days`` after immunoglobulin, ``guideline.own_igg``) decides nothing as a
value even when a criterion cites it to say so; only on IgRT is a cited one read (as a trough). The others say why
not, first match wins: preliminary (``Observation.status`` preliminary), not own IgG, before T0 (inside the
CAR-T/bsAb window only an IgG since T0 counts, ``pop2_igg_must_follow_t0``), too old (the newest own IgG, older
than ``igg_recent_max_age_days``; both only off IgRT, where the start rules read IgG), else not read (an earlier
result, or one the deciding rule does not read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from decision import Decision
from guideline.calendar import add_calendar_months
from guideline.concepts import AdviceKind, Analyte, IgrtRoute, TherapyKind
from guideline.facts import Facts, derive
from guideline.igrt import igrt_status
from guideline.index_dates import index_dates
from guideline.infections import active_infection
from guideline.model import Criterion, Finding, IgrtRecord, LabResult
from guideline.own_igg import replacement_records
from guideline.parameters import Parameters

HISTORY_MONTHS = 24
"""Calendar months of history drawn before ``as_of``."""
MAX_FUTURE_MONTHS = 13
"""The axis reaches at most this many calendar months past ``as_of`` (for a stop or follow-up date)."""
MIN_BAR_DAYS = 6
"""An IgRT course shorter than this (one dose) is drawn this many days wide, so that it shows."""


class IggUse(StrEnum):
    """How the decision read one IgG result."""

    USED = "used"
    """A criterion of the decision or its advice cites it (on IgRT: also as a trough, drawn under IgRT)."""
    UPPER_BOUND = "upper-bound"
    """Cited as an upper bound of the own IgG (drawn under immunoglobulin, below 4 g/L)."""
    EARLIER = "earlier"
    """An own IgG the decision did not cite (an earlier result, or one the deciding rule does not read)."""
    NOT_OWN = "not-own"
    """Drawn under or within the washout after immunoglobulin: not the patient's own IgG (cited or not, it decides
    nothing as a value; on IgRT a cited one is a trough, ``USED``)."""
    PRELIMINARY = "preliminary"
    """Not final yet (``Observation.status`` preliminary)."""
    BEFORE_T0 = "before-t0"
    """Inside the CAR-T/bsAb window only an IgG since T0 counts."""
    TOO_OLD = "too-old"
    """The newest own IgG, older than ``igg_recent_max_age_days``."""


NOT_USED = frozenset({IggUse.NOT_OWN, IggUse.PRELIMINARY, IggUse.BEFORE_T0, IggUse.TOO_OLD})
"""The uses drawn hollow and labelled with their reason."""


class InfectionGrade(StrEnum):
    """How an infection counts, most severe first (``guideline.infections.InfectionEpisode``)."""

    SEPSIS = "sepsis"
    """Life-threatening bacterial sepsis."""
    ADMITTED = "admitted"
    """Linked to an inpatient admission."""
    SEVERE = "severe"
    """Severe by ``Condition.severity`` or by its code, without an admission."""
    COUNTED = "counted"
    """A bacterial infection episode, not severe."""
    NOT_COUNTED = "not-counted"
    """Coded, but not counted as bacterial (no organism and no antibiotic, unclassified code, or a copy)."""


@dataclass(frozen=True)
class LabPoint:
    """One immunoglobulin result: analyte, date, value in g/L (an IgG M-component: the polyclonal estimate).

    ``use`` is set for IgG only (``None`` for IgA and IgM); ``during_infection``: sampled while a coded infection
    was active (``guideline.infections.active_infection``).
    """

    analyte: Analyte
    on: date
    value_g_per_l: float
    use: IggUse | None = None
    during_infection: bool = False


@dataclass(frozen=True)
class Course:
    """Immunoglobulin from ``start`` to ``end`` (drawn at least ``MIN_BAR_DAYS`` wide), with its dose dates.

    ``immunomodulation``: given for another reason than replacement (ITP, ICANS, ...): not IgRT, but it confounds
    IgG all the same.
    """

    route: IgrtRoute
    start: date
    end: date
    doses: tuple[date, ...]
    immunomodulation: bool = False


@dataclass(frozen=True)
class OrderedCourse:
    """A draft immunoglobulin order, drawn from ``as_of``; ``monthly_g_per_kg`` when the dose advice computed it."""

    route: IgrtRoute
    monthly_g_per_kg: float | None


@dataclass(frozen=True)
class IndexMark:
    """A T0 (CAR-T infusion or bsAb course start) and its 6-month window; ``decides``: the T0 the rules read."""

    t0: date
    kind: TherapyKind
    window_end: date
    decides: bool


@dataclass(frozen=True)
class InfectionMark:
    """A coded infection (or a merged episode of several) at its onset, graded by how it counts."""

    onset: date
    grade: InfectionGrade


@dataclass(frozen=True)
class Story:
    """Everything the timeline draws, between ``start`` and ``end``.

    Attributes:
        as_of: the evaluation date ("today").
        start / end: the axis: ``HISTORY_MONTHS`` before ``as_of``, to the latest key date drawn (at most
            ``MAX_FUTURE_MONTHS`` after it).
        labs: IgG, IgA and IgM results in the range, oldest first.
        start_threshold / consider_threshold: 4 and 6 g/L (``Parameters``).
        reference_low: the lab's age-related reference-range low, when it decided the IgG < 6 criterion.
        indexes: T0s whose window overlaps the range; ``therapy_doses``: every CAR-T/bsAb administration in it.
        courses: immunoglobulin courses overlapping the range; ``ordered``: the draft orders the decision is about.
        infections: coded infections with onset in the range.
        stop_due / stop_attempt_until / next_follow_up / own_igg_from / follow_up_overdue: the decision's dates.
        stop_overruled: a safety check overruled the stop: ``stop_due`` is when the stop is reassessed.
        older_results: IgG, IgA and IgM results before ``start`` (not drawn).

    ``LabPoint.during_infection`` is read for IgG only.
    """

    as_of: date
    start: date
    end: date
    labs: tuple[LabPoint, ...]
    start_threshold: float
    consider_threshold: float
    reference_low: float | None
    indexes: tuple[IndexMark, ...]
    therapy_doses: tuple[tuple[date, TherapyKind], ...]
    courses: tuple[Course, ...]
    ordered: tuple[OrderedCourse, ...]
    infections: tuple[InfectionMark, ...]
    stop_due: date | None = None
    stop_attempt_until: date | None = None
    next_follow_up: date | None = None
    own_igg_from: date | None = None
    follow_up_overdue: bool = False
    stop_overruled: bool = False
    older_results: int = 0


def story(decision: Decision, *, parameters: Parameters, as_of: date) -> Story:
    """Return what the timeline draws for ``decision`` on ``as_of`` (the date it was decided on).

    Args:
        decision: the decision the card (or the quiet answer) was made from; its ``assessment`` may be ``None``
            (every order immunomodulatory): then only the record is drawn, without the decision's dates.
        parameters: the guideline settings the decision was made with (thresholds, washout, recent IgG age).
        as_of: the evaluation date.
    """
    p = parameters
    facts = derive(decision.record, as_of=as_of, p=p)
    finding = decision.finding
    start = add_calendar_months(as_of, -HISTORY_MONTHS)
    d = finding.dates if finding is not None else None
    wanted = [as_of + timedelta(days=35)]
    if d is not None:
        wanted += [day for day in (d.stop_due, d.stop_attempt_until, d.next_follow_up, d.own_igg_from) if day]
    if facts.window_end is not None:
        wanted.append(facts.window_end)
    end = min(max(wanted) + timedelta(days=14), add_calendar_months(as_of, MAX_FUTURE_MONTHS))
    labs = _lab_points(decision, facts, start=start)
    return Story(
        as_of=as_of,
        start=start,
        end=end,
        labs=labs,
        start_threshold=p.igg_start_below_g_per_l,
        consider_threshold=p.igg_consider_below_g_per_l,
        reference_low=_deciding_reference_low(finding, facts),
        indexes=_indexes(facts, start=start),
        therapy_doses=tuple(
            sorted((t.on, t.kind) for t in facts.record.therapies if t.date_certain and start <= t.on <= as_of)
        ),
        courses=_courses(facts, start=start),
        ordered=_ordered(decision),
        infections=_infections(facts, start=start),
        stop_due=d.stop_due if d else None,
        stop_attempt_until=d.stop_attempt_until if d else None,
        next_follow_up=d.next_follow_up if d else None,
        own_igg_from=d.own_igg_from if d else None,
        follow_up_overdue=d.follow_up_overdue if d else False,
        stop_overruled=finding is not None and finding.overruled is not None,
        older_results=sum(1 for lab in facts.record.labs if lab.effective < start and lab.analyte != Analyte.M_PROTEIN),
    )


def cited_refs(decision: Decision) -> frozenset[str]:
    """Return the references of every resource a criterion of the decision or of its advice cites."""
    assessment = decision.assessment
    if assessment is None:
        return frozenset()
    criteria: list[Criterion] = [*assessment.finding.criteria]
    for advice in assessment.advice:
        criteria += advice.criteria
    refs = {ref.strip() for c in criteria for e in c.evidence if e.ref for ref in e.ref.split(",")}
    return frozenset(refs)


def _lab_points(decision: Decision, facts: Facts, *, start: date) -> tuple[LabPoint, ...]:
    p, as_of = facts.p, facts.as_of
    cited = cited_refs(decision)
    upper = {lab.ref for lab in facts.decision_labs if lab.upper_bound}
    not_own = {item.lab.ref for item in facts.igg_not_own} - upper
    on_igrt = facts.igrt.on_igrt
    stale = facts.igg_latest.ref if facts.igg_latest is not None and facts.igg_recent is None else None
    window = facts.index is not None and facts.in_window and p.pop2_igg_must_follow_t0 and not on_igrt
    t0 = facts.index.t0 if window and facts.index is not None else None
    points = []
    for lab in facts.record.labs:
        if not start <= lab.effective <= as_of or lab.analyte == Analyte.M_PROTEIN:
            continue
        use = None
        if lab.analyte == Analyte.IGG:
            if lab.ref in not_own and not (on_igrt and lab.ref in cited):
                use = IggUse.NOT_OWN
            elif lab.ref in cited:
                use = IggUse.UPPER_BOUND if lab.ref in upper else IggUse.USED
            elif t0 is not None and lab.effective < t0:
                use = IggUse.BEFORE_T0
            elif lab.ref == stale and not on_igrt:
                use = IggUse.TOO_OLD
            else:
                use = IggUse.EARLIER
        points.append(_point(lab, use, facts))
    for item in facts.record.preliminary_labs:
        if item.lab.analyte == Analyte.IGG and start <= item.lab.effective <= as_of:
            points.append(_point(item.lab, IggUse.PRELIMINARY, facts))
    return tuple(sorted(points, key=lambda point: (point.on, point.analyte)))


def _point(lab: LabResult, use: IggUse | None, facts: Facts) -> LabPoint:
    during = use is not None and active_infection(facts.record.infections, lab.effective, facts.p) is not None
    return LabPoint(lab.analyte, lab.effective, lab.value_g_per_l, use, during)


def _deciding_reference_low(finding: Finding | None, facts: Facts) -> float | None:
    """The reference-range low of the IgG the IgG < 6 criterion read, when that criterion held on it (not on 6)."""
    if finding is None:
        return None
    labs = {lab.ref: lab for lab in facts.decision_labs}
    for criterion in finding.criteria:
        if criterion.id != "igg-below-6" or not criterion.held:
            continue
        for evidence in criterion.evidence:
            lab = labs.get(evidence.ref or "")
            if lab is not None and lab.reference_low_g_per_l is not None:
                if lab.is_below(facts.p.igg_consider_below_g_per_l) is not True:
                    return lab.reference_low_g_per_l
    return None


def _indexes(facts: Facts, *, start: date) -> tuple[IndexMark, ...]:
    months = facts.p.window_calendar_months
    found = []
    for index in index_dates(facts.record.therapies, as_of=facts.as_of, p=facts.p):
        window_end = add_calendar_months(index.t0, months)
        if window_end < start:
            continue
        decides = facts.index is not None and index.t0 == facts.index.t0 and index.kind == facts.index.kind
        found.append(IndexMark(index.t0, index.kind, window_end, decides))
    return tuple(found)


def _courses(facts: Facts, *, start: date) -> tuple[Course, ...]:
    """IgRT episodes per route (``guideline.igrt.igrt_status``), and immunomodulatory exposures on their own."""
    replacement = replacement_records(facts.record)
    found: list[Course] = []
    for route in IgrtRoute:
        records = tuple(r for r in replacement if r.route == route)
        if not records:
            continue
        status = igrt_status(records, as_of=facts.as_of, p=facts.p)
        episodes = (*status.ended, *((status.current,) if status.current is not None else ()))
        doses = _dose_days(records)
        for episode in episodes:
            if episode.end < start:
                continue
            shown = tuple(day for day in doses if episode.start <= day <= episode.end)
            found.append(Course(route, episode.start, _wide(episode.start, episode.end), shown))
    routes = {r.ref: r.route for r in facts.record.igrt}
    for exposure in facts.exposures:
        if exposure.immunomodulation and exposure.end >= start:
            route = routes.get(exposure.ref, IgrtRoute.UNKNOWN)
            found.append(Course(route, exposure.start, _wide(exposure.start, exposure.end), (exposure.start,), True))
    return tuple(sorted(found, key=lambda course: (course.start, course.route)))


def _dose_days(records: tuple[IgrtRecord, ...]) -> tuple[date, ...]:
    return tuple(sorted({r.start for r in records if r.source == "administration" and r.start is not None}))


def _wide(start: date, end: date) -> date:
    return max(end, start + timedelta(days=MIN_BAR_DAYS))


def _ordered(decision: Decision) -> tuple[OrderedCourse, ...]:
    monthly: float | None = None
    if decision.assessment is not None:
        for advice in decision.assessment.advice:
            if advice.kind == AdviceKind.DOSE:
                value = dict(advice.values).get("monthlyDoseGPerKg")
                monthly = value if isinstance(value, float | int) else monthly
    found = []
    for order in decision.orders:
        route = order.dose.route if order.dose is not None else IgrtRoute.UNKNOWN
        found.append(OrderedCourse(route, float(monthly) if monthly is not None else None))
    return tuple(found)


def _infections(facts: Facts, *, start: date) -> tuple[InfectionMark, ...]:
    marks = []
    counted: set[str] = set()
    for episode in facts.episodes:
        counted.update(episode.refs)
        if episode.onset < start:
            continue
        if episode.life_threatening:
            grade = InfectionGrade.SEPSIS
        elif episode.admitted:
            grade = InfectionGrade.ADMITTED
        elif episode.severe:
            grade = InfectionGrade.SEVERE
        else:
            grade = InfectionGrade.COUNTED
        marks.append(InfectionMark(episode.onset, grade))
    for infection in facts.record.infections:
        if infection.ref not in counted and start <= infection.onset <= facts.as_of:
            marks.append(InfectionMark(infection.onset, InfectionGrade.NOT_COUNTED))
    return tuple(sorted(marks, key=lambda mark: (mark.onset, mark.grade)))
