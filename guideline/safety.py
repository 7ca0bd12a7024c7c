"""Safety checks: a stop or pause is a proposal that the whole patient can overrule (issue "clinical fidelity 3").

Every ``stop`` (short-course, standard, overdue) and ``pause`` the continuation rules propose passes
``SAFETY_CHECKS`` in order before it is issued. The first check that holds turns it into ``continue`` (or
``individual-assessment`` where the sources leave it to the clinician); the finding keeps the proposal in
``Finding.overruled`` and its first note says, in one line, which check held and why.

1. ``treatment_failing``: a severe or verified bacterial infection on IgRT in the last 6 months, or a trough below
   6 g/L with infections: the source's answer is a dose adjustment, not a stop or a summer pause.
2. ``new_high_risk_period``: CAR-T, a new bsAb course or an allogeneic HSCT in the last 6 months: no stop or pause
   inside it; the stop date moves to its end.
3. ``infection_not_verified``: an infection on IgRT that check 1 would count if it were verified: a stop must not
   rest on it being unverified (individual assessment: verify it).

Population 3 takes precedence over the CAR-T/bsAb short course (``population_3_applies``, read by
``guideline.continuation.short_course.window_start``): after an allogeneic HSCT the stop attempt follows population 3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from guideline import sources
from guideline.calendar import add_calendar_months, in_window
from guideline.concepts import Analyte, DiagnosisKind, Population, Recommendation, RuleId
from guideline.evidence import THERAPY_LABELS, diagnosis_evidence, infection_evidence, lab_evidence, t0_evidence
from guideline.facts import Facts
from guideline.igrt import IgrtEpisode
from guideline.labs import results
from guideline.model import Criterion, Diagnosis, Evidence
from guideline.quick_init import quick_init
from guideline.sources import SourceRef
from guideline.text import Message, msg, plural


@quick_init
@dataclass(frozen=True, slots=True)
class SafetyHold:
    """A safety check that holds: what the stop or pause becomes, and why.

    Attributes:
        check: the check's id (``Overrule.check``, ``extension["sid-igrt"].overruled.check``).
        rule / recommendation: the finding it produces (``continue`` or ``individual-assessment``).
        summary: the finding's summary, the card's first line, in the check's words.
        reason: the note that leads the card: which check held, the data, the source's words.
        criterion: the check as a criterion (held), with its evidence.
        source: the guideline section the check rests on.
        stop_due: the moved stop date (end of a new high-risk period), else ``None``.
        interpretations: the settings the check read.
    """

    check: str
    rule: RuleId
    recommendation: Recommendation
    summary: Message
    reason: Message
    criterion: Criterion
    source: SourceRef
    stop_due: date | None = None
    interpretations: tuple[str, ...] = ()


SafetyCheck = Callable[[Facts, IgrtEpisode], SafetyHold | None]


def _since(facts: Facts, episode: IgrtEpisode) -> date:
    """The start of the look-back on IgRT: ``treatment_failing_lookback_calendar_months`` back, or the IgRT start."""
    return max(episode.start, add_calendar_months(facts.as_of, -facts.p.treatment_failing_lookback_calendar_months))


def treatment_failing(facts: Facts, episode: IgrtEpisode) -> SafetyHold | None:
    """A severe or verified bacterial infection on IgRT in the last 6 months, or a trough < 6 g/L with infections.

    Source: Opsummering, "Dosisjustering": "Hvis patienten fortsat oplever alvorlige infektioner, overvejes justering
    af dosis og/eller behandlingsintervallet for at tilstræbe en IgG-dalværdi mellem 6 og 8 g/L"; a dose reduction
    only for patients "fri for bakterielle infektioner de sidste 6-12 måneder". Treatment that is failing is
    adjusted, not stopped or paused. A trough is the newest IgG on IgRT; one drawn before the end of a dosing
    interval is still an upper bound of the trough, so below 6 g/L it proves a low trough.
    """
    since, as_of = _since(facts, episode), facts.as_of
    on_igrt = [e for e in facts.episodes if since <= e.onset <= as_of]
    failing = [e for e in on_igrt if e.severe or e.verified]
    trough = next(
        (lab for lab in results(facts.record.labs, Analyte.IGG, as_of=as_of) if lab.effective >= episode.start), None
    )
    low_trough = trough is not None and trough.is_below(facts.p.trough_target_low_g_per_l) is True and bool(on_igrt)
    if not failing and not low_trough:
        return None
    evidence = [e.evidence() for e in (failing or on_igrt)]
    if low_trough and trough is not None:
        evidence.append(lab_evidence(trough))
    if failing:
        reason = plural(
            "Not stopped or paused: {count} severe or verified bacterial infection on IgRT since {since}; adjust the "
            "dose or interval towards a trough IgG of 6-8 g/L instead (Dosisjustering)",
            "Not stopped or paused: {count} severe or verified bacterial infections on IgRT since {since}; adjust the "
            "dose or interval towards a trough IgG of 6-8 g/L instead (Dosisjustering)",
            len(failing),
            since=since,
        )
    else:
        reason = msg(
            "Not stopped or paused: trough IgG {value} < 6 g/L with bacterial infection on IgRT since {since}; adjust "
            "the dose or interval towards a trough IgG of 6-8 g/L instead (Dosisjustering)",
            value=trough.shown() if trough is not None else "",
            since=since,
        )
    return SafetyHold(
        check="treatment-failing",
        rule=RuleId.CONTINUE_TREATMENT_FAILING,
        recommendation=Recommendation.CONTINUE,
        summary=msg("Continue IgRT, do not stop: bacterial infection on IgRT; adjust dose towards trough 6-8 g/L"),
        reason=reason,
        criterion=Criterion.met(
            "safety-treatment-failing",
            msg(
                "Treatment failing: a severe or verified bacterial infection on IgRT since {since}, or a trough IgG "
                "< 6 g/L with infections",
                since=since,
            ),
            *evidence,
        ),
        source=sources.DOSE,
        interpretations=("treatment_failing_lookback_calendar_months",),
    )


def new_high_risk_period(facts: Facts, episode: IgrtEpisode) -> SafetyHold | None:
    """CAR-T, a new bsAb course (a switch of substance included) or an allogeneic HSCT in the last 6 months.

    Source: addendum §3.4: "de første seks måneder efter CAR-T eller opstart af bispecifikke antistoffer
    repræsenterer perioden med højest infektionsrisiko"; §4.1 allows a start on IgG < 4 g/L alone inside it. No
    standard, overdue or short-course stop and no summer pause inside it: the stop date moves to its end. An
    allogeneic HSCT counts the same for ``allo_hsct_high_risk_calendar_months`` (**interpretation**).
    """
    p, as_of = facts.p, facts.as_of
    ends: list[date] = []
    evidence: list[Evidence] = []
    names: list[Message] = []
    index = facts.index
    if index is not None and facts.in_window and facts.window_end is not None:
        ends.append(facts.window_end)
        evidence += t0_evidence(index)[:1]
        names.append(msg("{kind} {t0}", kind=THERAPY_LABELS[index.kind], t0=index.t0))
    transplants = [
        d
        for d in facts.diagnoses_of(DiagnosisKind.ALLO_HSCT)
        if d.recorded is not None and in_window(d.recorded, as_of, months=p.allo_hsct_high_risk_calendar_months)
    ]
    for transplant in transplants:
        assert transplant.recorded is not None
        ends.append(add_calendar_months(transplant.recorded, p.allo_hsct_high_risk_calendar_months))
        evidence.append(diagnosis_evidence(transplant))
        names.append(msg("allogeneic HSCT {on}", on=transplant.recorded))
    if not ends:
        return None
    until = max(ends)
    return SafetyHold(
        check="new-high-risk-period",
        rule=RuleId.CONTINUE_NEW_HIGH_RISK_PERIOD,
        recommendation=Recommendation.CONTINUE,
        summary=msg(
            "Continue IgRT, do not stop: new high-risk period (CAR-T, bsAb or allo-HSCT) until {until}", until=until
        ),
        reason=msg(
            "Not stopped or paused: {what} less than 6 months ago, the period of highest infection risk (addendum "
            "§3.4); reassess the stop on {until}",
            what=tuple(names),
            until=until,
        ),
        criterion=Criterion.met(
            "safety-new-high-risk-period",
            msg(
                "New high-risk period: CAR-T, a new bsAb course or an allogeneic HSCT in the last 6 months (until "
                "{until})",
                until=until,
            ),
            *evidence,
        ),
        source=sources.HIGH_RISK_PERIOD,
        stop_due=until,
        interpretations=("bsab_new_course_gap_days", "allo_hsct_high_risk_calendar_months"),
    )


def infection_not_verified(facts: Facts, episode: IgrtEpisode) -> SafetyHold | None:
    """An infection on IgRT in the last 6 months that ``treatment_failing`` would count if it were verified.

    Source: Opsummering, "Dosisjustering" (as ``treatment_failing``); issue "clinical fidelity 3" §9: an infection coded
    without organism and without a linked antibiotic, or a bacterial infection not confirmed (``verificationStatus``),
    must not silently let a stop through: the card says how many and what would verify them, and the clinician assesses.
    """
    since, as_of = _since(facts, episode), facts.as_of
    unverified = [e for e in facts.episodes if since <= e.onset <= as_of and not (e.severe or e.verified)]
    uncounted = [i for i in facts.not_verified if since <= i.onset <= as_of]
    count = len(unverified) + len(uncounted)
    if not count:
        return None
    evidence = [e.evidence() for e in unverified]
    evidence += [infection_evidence(i) for i in uncounted]
    return SafetyHold(
        check="infection-not-verified",
        rule=RuleId.INFECTION_NOT_VERIFIED_ON_IGRT,
        recommendation=Recommendation.INDIVIDUAL_ASSESSMENT,
        summary=msg("Stop of IgRT not recommended on these data: an infection on IgRT is not verified as bacterial"),
        reason=msg(
            "Stop or pause not recommended on these data: infection not verified as bacterial on IgRT since {since}: "
            "{count}. Verified (organism or culture, or a systemic antibiotic given for it), it means the treatment "
            "is failing (Dosisjustering)",
            since=since,
            count=count,
        ),
        criterion=Criterion.met(
            "safety-infection-not-verified",
            msg("Infection on IgRT since {since} not verified as bacterial", since=since),
            *evidence,
        ),
        source=sources.DOSE,
        interpretations=("treatment_failing_lookback_calendar_months", "missing_verification_counts_as_confirmed"),
    )


SAFETY_CHECKS: tuple[SafetyCheck, ...] = (treatment_failing, new_high_risk_period, infection_not_verified)
"""The checks every stop, stop attempt and pause passes, in order; the first that holds overrules it."""


def holding(facts: Facts, episode: IgrtEpisode) -> tuple[SafetyHold, ...]:
    """Return every safety check that holds for this patient on IgRT (for tests and the trace)."""
    return tuple(hold for check in SAFETY_CHECKS if (hold := check(facts, episode)) is not None)


def first_holding(facts: Facts, episode: IgrtEpisode) -> SafetyHold | None:
    """Return the first safety check that holds, in ``SAFETY_CHECKS`` order, or ``None``."""
    for check in SAFETY_CHECKS:
        hold = check(facts, episode)
        if hold is not None:
            return hold
    return None


def population_3_applies(facts: Facts) -> Diagnosis | None:
    """Population 3 takes precedence over the CAR-T/bsAb short course: the allogeneic HSCT it rests on, or ``None``.

    Source: Opsummering, "Kriterier for opstart", 3. (IgG < 4 g/L "uanset") and "Kriterier for seponering ... efter
    allogen HSCT": "Seponering ... bør forsøges 6-12 måneder efter, behandlingen er opstartet". After an allogeneic
    HSCT (within ``allo_hsct_population_calendar_months``), IgRT follows population 3, also when the patient earlier
    had CAR-T (issue "clinical fidelity 3" §3); the card names the HSCT.
    """
    if Population.ALLO_HSCT not in facts.populations:
        return None
    transplants = facts.diagnoses_of(DiagnosisKind.ALLO_HSCT)
    dated = [d for d in transplants if d.recorded is not None]
    return max(dated, key=lambda d: (d.recorded, d.ref)) if dated else (transplants[0] if transplants else None)
