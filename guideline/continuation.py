"""Rules for patients on IgRT: continue, pause or stop.

Sources: addendum §4.2 (population 2 short course: stop 6 months after T0) and Opsummering "Kriterier for
seponering" (standard: follow-up at 3 and 6 months, stop attempt 6-12 months after start with the winter months
inside the treatment period, reassess every 6 months, summer pause 1 May - 1 October).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from guideline import sources
from guideline.calendar import add_calendar_months, date_when_winter_days_reach, is_summer, winter_days_between
from guideline.concepts import Analyte, Population, Recommendation, RuleId
from guideline.criteria import clinical_notes, default_dates, lab_evidence, make_finding, t0_evidence
from guideline.facts import Facts
from guideline.igrt import IgrtEpisode
from guideline.infections import (
    EPISODE_INTERPRETATIONS,
    SEVERE_OR_RECURRENT_INTERPRETATIONS,
    igg_below_6_infection_criterion,
    severe_or_recurrent,
)
from guideline.labs import results
from guideline.model import Criterion, Evidence, Finding, LabResult, Overrule, UpperBoundReason
from guideline.monitoring import follow_up_due
from guideline.own_igg import ExposureIndex
from guideline.safety import first_holding, population_3_applies
from guideline.start_rules import age_unknown, child_after_car_t_or_bsab, primary_immunodeficiency
from guideline.text import Message, msg

_IGRT_INTERPRETATIONS = ("on_igrt_recent_days",)
EXTENSION_NOTE = msg(
    "With a significant community risk of antibiotic-requiring bacterial infections a short extension may be "
    "relevant (addendum §4.2)."
)
RECOVERY_NOTE = msg(
    "Immune recovery (IgG > 4 g/L) can only be judged from an IgG measured in a period without IgRT "
    "(addendum §3.4); rising IgA/IgM support a stop or pause (Opsummering, Kriterier for seponering)."
)
RESTART_NOTE = msg(
    "If infections recur after a stop or pause, antibiotic prophylaxis can be tried before restarting "
    "(Opsummering, Pausering)."
)


def decide_continuation(facts: Facts) -> Finding:
    """Return continue, pause or stop (or individual assessment / insufficient data) for a patient on IgRT.

    Three steps: the continuation rules ``propose`` (the CAR-T/bsAb short course or the standard rules); every stop
    or pause then passes the safety checks (``guard``, ``guideline.safety``); a continue then passes
    ``review_indication`` (IgRT started without a start criterion is reviewed, never continued with confidence).
    """
    for rule in (child_after_car_t_or_bsab, primary_immunodeficiency, age_unknown, igrt_start_unknown):
        finding = rule(facts)
        if finding is not None:
            return finding
    episode = facts.igrt.current
    assert episode is not None
    return review_indication(facts, episode, guard(facts, episode, propose(facts, episode)))


def propose(facts: Facts, episode: IgrtEpisode) -> Finding:
    """The continuation rules' answer before the safety checks: short course (addendum §4.2) or standard."""
    window = window_start(facts, episode)
    if window is not None and window.standard_reason is None:
        return pop2_short_course(facts, episode, window)
    return standard(facts, episode, window)


def guard(facts: Facts, episode: IgrtEpisode, proposal: Finding) -> Finding:
    """Pass a proposed stop or pause through ``guideline.safety.SAFETY_CHECKS``; other proposals pass unchanged.

    The first check that holds decides: the finding becomes its ``continue`` or ``individual-assessment``, keeps
    the proposal's criteria and the check's criterion, names the proposal in ``overruled``, and leads its notes
    with the check's one line. The stop date moves to the end of a new high-risk period where that is the check.
    """
    if proposal.recommendation not in (Recommendation.STOP, Recommendation.PAUSE):
        return proposal
    hold = first_holding(facts, episode)
    if hold is None:
        return proposal
    due, overdue = follow_up_due(facts, episode)
    # The proposal's own notes argue for the stop or pause (overdue attempt, extension, recovery, restart): gone.
    notes = clinical_notes(facts, start_like=False)
    return make_finding(
        facts,
        rule=hold.rule,
        recommendation=hold.recommendation,
        population=proposal.population,
        criteria=(*proposal.criteria, hold.criterion),
        source=hold.source,
        dates=default_dates(
            facts,
            igrt_start=episode.start,
            stop_due=hold.stop_due,
            next_follow_up=due,
            follow_up_overdue=overdue,
        ),
        notes=(hold.reason, *notes),
        interpretations=(*proposal.interpretations, *hold.interpretations),
        overruled=Overrule(
            check=hold.check,
            proposed_rule=proposal.rule,
            proposed=proposal.recommendation,
            reason=hold.reason,
        ),
    )


def review_indication(facts: Facts, episode: IgrtEpisode, decided: Finding) -> Finding:
    """A continue on IgRT that was started without a start criterion becomes individual assessment.

    Source: Opsummering, "Kriterier for opstart": "Primær profylakse med immunglobulin anbefales ikke". IgRT started
    although the IgG before the start was not below 4 g/L (and not below 6 g/L with the 6-month infection
    criterion) did not meet the start criteria: the card shows that IgG and asks to review the indication; a stop or
    pause keeps its recommendation and carries the same note (issue "clinical fidelity 3" §5).
    """
    basis = start_indication(facts, episode)
    if basis is None:
        return decided
    note = msg(
        "IgRT was started on {start} without IgG < 4 g/L before the start ({basis}): primary prophylaxis with "
        "immunoglobulin is not recommended (Opsummering, Kriterier for opstart). Review the indication.",
        start=episode.start,
        basis=basis.evidence[0].text if basis.evidence else msg("none recorded"),
    )
    if decided.recommendation != Recommendation.CONTINUE:
        return decided.model_copy(update={"notes": (*decided.notes, note), "criteria": (*decided.criteria, basis)})
    return decided.model_copy(
        update={
            "rule": RuleId.START_CRITERIA_NOT_MET,
            "recommendation": Recommendation.INDIVIDUAL_ASSESSMENT,
            "criteria": (*decided.criteria, basis),
            "notes": (note, *decided.notes),
            "source": sources.START_POP1,
            "interpretations": tuple(dict.fromkeys((*decided.interpretations, "igg_recent_max_age_days"))),
        }
    )


def start_indication(facts: Facts, episode: IgrtEpisode) -> Criterion | None:
    """The IgG before the IgRT start when it shows the start met no start criterion; ``None`` otherwise.

    Reads the newest IgG of the ``igg_recent_max_age_days`` up to the start day (an own IgG, or one below 4 g/L drawn
    under earlier immunoglobulin, an upper bound). Met: below 4 g/L (every population's IgG criterion), or below
    6 g/L (or the lab's reference low) with the 6-month infection criterion on the start day ("kan overvejes").
    ``None`` also when no such IgG is recorded (nothing to say) or an M-component makes total IgG unreliable.
    """
    status = facts.m_component
    if status.igg_type or status.isotype_unknown:
        return None
    lab = _pre_start_igg(facts, episode, earliest=episode.start - timedelta(days=facts.p.igg_recent_max_age_days))
    if lab is None or lab.is_below(facts.p.igg_start_below_g_per_l) is not False:
        return None
    low = lab.reference_low_g_per_l
    below_6 = lab.is_below(facts.p.igg_consider_below_g_per_l) or (low is not None and lab.is_below(low))
    if below_6 and igg_below_6_infection_criterion(facts.episodes, on=episode.start, p=facts.p).held:
        return None
    return Criterion(
        id="igrt-start-criteria-met",
        description=msg(
            "IgRT started on {start} on a start criterion: IgG < 4 g/L before the start, or < 6 g/L with the "
            "infection criterion",
            start=episode.start,
        ),
        held=False,
        evidence=(lab_evidence(lab),),
    )


@dataclass(frozen=True)
class WindowStart:
    """How the current IgRT episode began relative to the CAR-T/bsAb window (addendum §4.2), worked out once.

    Attributes:
        standard_reason: why the standard stop rules apply; ``None`` when the 6-month short course does.
        prior: severe or recurrent bacterial infections before the IgRT start.
        basis: the own IgG before the start (``start_basis``), where it was read.
    """

    standard_reason: Message | None
    prior: Criterion
    basis: Criterion | None = None


def window_start(facts: Facts, episode: IgrtEpisode) -> WindowStart | None:
    """Classify the episode's start for an adult after CAR-T/bsAb (``None`` for anyone else).

    Standard rules (addendum §4.2, second paragraph) when population 3 applies (an allogeneic HSCT takes
    precedence, ``guideline.safety.population_3_applies``), IgRT started before T0, ran before T0 and was only
    interrupted around the therapy ("i behandling med immunglobuliner forud for CAR-T", **interpretation**
    ``igrt_interruption_tolerated_days``), started 6 months or more after T0, followed severe or recurrent
    infections, or started without an own IgG < 4 g/L (the start did not meet the criterion:
    ``review_indication`` says so). Otherwise the short course: an own IgG < 4 g/L before the start (or one below
    4 g/L under earlier immunoglobulin, an upper bound), or none recorded (then ``pop2_short_course`` says so).
    """
    index, end = facts.index, facts.window_end
    if Population.CAR_T_OR_BSAB not in facts.populations or index is None or end is None:
        return None
    prior = severe_or_recurrent(facts.episodes, on=episode.start, p=facts.p)
    transplant = population_3_applies(facts)
    if transplant is not None:
        reason = msg(
            "population 3 takes precedence: allogeneic HSCT ({display}, {on}); stop attempt 6-12 months after the "
            "IgRT start",
            display=transplant.display,
            on=transplant.recorded or msg("date not recorded"),
        )
        return WindowStart(reason, prior)
    interrupted = interrupted_before_t0(facts, episode)
    if episode.start < index.t0:
        return WindowStart(msg("IgRT started before T0 ({t0})", t0=index.t0), prior)
    if interrupted is not None:
        reason = msg(
            "on IgRT before T0 ({t0}; from {start}), only interrupted around the therapy ({gap} days)",
            t0=index.t0,
            start=interrupted.start,
            gap=(episode.start - interrupted.end).days,
        )
        return WindowStart(reason, prior)
    if episode.start >= end:
        return WindowStart(msg("IgRT started 6 months or more after T0 ({t0})", t0=index.t0), prior)
    if prior.held:
        return WindowStart(msg("IgRT started inside the window after severe or recurrent bacterial infections"), prior)
    basis = start_basis(facts, episode)
    if basis.held is not False:
        return WindowStart(None, prior, basis)
    reason = msg("IgRT started inside the window without an own IgG < 4 g/L before the start")
    return WindowStart(reason, prior, basis)


def igrt_start_unknown(facts: Facts) -> Finding | None:
    """On IgRT by an active order/statement without any date: the stop dates cannot be computed."""
    refs = facts.igrt.start_unknown_refs
    if not refs:
        return None
    return make_finding(
        facts,
        rule=RuleId.IGRT_START_UNKNOWN,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=facts.primary,
        criteria=(
            Criterion(
                id="igrt-start-known",
                description=msg("IgRT start date known (active immunoglobulin order/statement has no date)"),
                held=False,
                evidence=tuple(Evidence(text=msg("active, undated"), ref=r) for r in refs),
            ),
        ),
        source=sources.STOP_STANDARD,
        interpretations=_IGRT_INTERPRETATIONS,
    )


def pop2_short_course(facts: Facts, episode: IgrtEpisode, window: WindowStart) -> Finding:
    """IgRT started inside the window on an own IgG < 4 g/L alone: stop at T0 + 6 months (addendum §4.2).

    Source: "Ved opstart af immunglobuliner på baggrund af en IgG < 4 g/L uden forudgående svære eller
    tilbagevendende bakterielle infektioner indenfor de første 6 måneder ... skal immunglobulinsubstitution forsøges
    seponeret 6 måneder efter". ``window`` is the episode's ``window_start`` with no standard reason: an own IgG
    < 4 g/L before the start, or none recorded (then from T0 + 6 months the decision is insufficient data).
    """
    index, end, prior, basis = facts.index, facts.window_end, window.prior, window.basis
    assert index is not None and end is not None and basis is not None
    criteria = (
        _igrt_start_criterion(episode),
        Criterion(
            id="igrt-started-inside-window",
            description=msg(
                "IgRT started inside the window T0 {t0} <= {start} < {end}", t0=index.t0, start=episode.start, end=end
            ),
            held=True,
            evidence=t0_evidence(index),
        ),
        basis,
        prior.model_copy(
            update={
                "id": "no-severe-or-recurrent-infection-before-start",
                "description": msg(
                    "No severe or recurrent bacterial infections before the IgRT start ({criterion})",
                    criterion=prior.description,
                ),
                "held": True,
            }
        ),
        Criterion(
            id="t0-plus-6-months-reached",
            description=msg("{as_of} >= T0 + 6 months ({end})", as_of=facts.as_of, end=end),
            held=facts.as_of >= end,
        ),
    )
    stop = facts.as_of >= end
    interpretations = (
        *_IGRT_INTERPRETATIONS,
        "bsab_new_course_gap_days",
        "igg_washout_days",
        "igrt_interruption_tolerated_days",
        *SEVERE_OR_RECURRENT_INTERPRETATIONS,
    )
    if basis.held is None and stop:
        return make_finding(
            facts,
            rule=RuleId.IGRT_START_BASIS_UNKNOWN,
            recommendation=Recommendation.INSUFFICIENT_DATA,
            population=Population.CAR_T_OR_BSAB,
            criteria=criteria,
            source=sources.STOP_POP2,
            dates=default_dates(facts, igrt_start=episode.start),
            notes=(
                msg(
                    "No own IgG before the IgRT start ({start}) is recorded, so it cannot be told whether IgRT was "
                    "started on IgG < 4 g/L alone. If it was, a stop attempt is due now, 6 months after T0 ({end}; "
                    "addendum §4.2); otherwise the standard rules apply (stop attempt 6-12 months after the start).",
                    start=episode.start,
                    end=end,
                ),
                *clinical_notes(facts, start_like=False),
            ),
            interpretations=interpretations,
        )
    due, overdue = follow_up_due(facts, episode)
    return make_finding(
        facts,
        rule=RuleId.POP2_SHORT_COURSE_STOP if stop else RuleId.POP2_SHORT_COURSE_CONTINUE,
        recommendation=Recommendation.STOP if stop else Recommendation.CONTINUE,
        population=Population.CAR_T_OR_BSAB,
        criteria=criteria,
        source=sources.STOP_POP2,
        dates=default_dates(
            facts,
            igrt_start=episode.start,
            stop_due=end,
            next_follow_up=None if stop else min(due, end),
            follow_up_overdue=not stop and overdue and due < end,
        ),
        notes=(EXTENSION_NOTE, RECOVERY_NOTE, *clinical_notes(facts, start_like=False)),
        interpretations=interpretations,
    )


def start_basis(facts: Facts, episode: IgrtEpisode) -> Criterion:
    """The own IgG before the IgRT start: was it < 4 g/L (the short-course start criterion, addendum §4.2)?

    Reads the newest IgG from ``igg_recent_max_age_days`` before the start up to the start day (``_pre_start_igg``),
    on or after T0 when ``pop2_igg_must_follow_t0``. ``held`` is ``None`` when there is none.
    """
    p = facts.p
    index = facts.index
    earliest = episode.start - timedelta(days=p.igg_recent_max_age_days)
    if index is not None and p.pop2_igg_must_follow_t0:
        earliest = max(earliest, index.t0)
    lab = _pre_start_igg(facts, episode, earliest=earliest)
    threshold = p.igg_start_below_g_per_l
    if lab is None:
        return Criterion(
            id="own-igg-below-4-before-start",
            description=msg(
                "Own IgG < {threshold} g/L before the IgRT start ({start}): no own IgG recorded in the {days} days "
                "before it",
                threshold=threshold,
                start=episode.start,
                days=p.igg_recent_max_age_days,
            ),
            held=None,
        )
    held = lab.is_below(threshold)
    return Criterion(
        id="own-igg-below-4-before-start",
        description=msg(
            "Own IgG < {threshold} g/L before the IgRT start ({start})", threshold=threshold, start=episode.start
        )
        if held is not False
        else msg(
            "Own IgG < {threshold} g/L before the IgRT start ({start}): not met, so the start did not meet the "
            "CAR-T/bsAb start criterion",
            threshold=threshold,
            start=episode.start,
        ),
        held=held,
        evidence=(lab_evidence(lab),),
    )


def _pre_start_igg(facts: Facts, episode: IgrtEpisode, *, earliest: date) -> LabResult | None:
    """The newest IgG from ``earliest`` up to the IgRT start day that tells the IgG before the start.

    An IgG that no earlier immunoglobulin confounds (the episode's own doses excluded: a sample on the first dose day
    is the baseline), or one below 4 g/L drawn under earlier immunoglobulin (an upper bound of the own IgG, which
    proves it low: ``guideline.own_igg``). A confounded one at or above 4 g/L is skipped: it tells nothing.
    """
    p = facts.p
    episode_refs = set(episode.refs)
    before = ExposureIndex(tuple(e for e in facts.exposures if e.ref not in episode_refs and e.start < episode.start))
    for lab in results(facts.record.labs, Analyte.IGG, as_of=episode.start):
        if lab.effective < earliest:
            return None
        dose = before.confounding(lab.effective, washout_days=p.igg_washout_days)
        if dose is None:
            return lab
        bound = lab.model_copy(
            update={
                "upper_bound_after": UpperBoundReason(
                    dose_display=dose.display,
                    dose_ref=dose.ref,
                    dose_on=dose.end,
                    own_from=dose.end + timedelta(days=p.igg_washout_days),
                )
            }
        )
        if bound.is_below(p.igg_start_below_g_per_l):
            return bound
    return None


def interrupted_before_t0(facts: Facts, episode: IgrtEpisode) -> IgrtEpisode | None:
    """Return the IgRT episode that started before T0 and ended at most the tolerated days before this one."""
    index = facts.index
    if index is None or not facts.igrt.ended:
        return None
    previous = facts.igrt.ended[-1]
    gap = (episode.start - previous.end).days
    if previous.start < index.t0 and gap <= facts.p.igrt_interruption_tolerated_days:
        return previous
    return None


def standard(facts: Facts, episode: IgrtEpisode, window: WindowStart | None = None) -> Finding:
    """Standard follow-up, summer pause and stop attempt 6-12 months after start (Opsummering, seponering).

    Past 12 months of continuous IgRT no stop attempt was made ("Seponering bør forsøges 6-12 måneder efter
    opstart ... ved fortsat behandling revurderes hver 6. måned", addendum §4.2; "man tilstræber kortvarig
    behandling", Opsummering): the attempt is overdue, so **stop** unless a bacterial infection occurred on IgRT in
    the last ``overdue_stop_infection_free_calendar_months`` months; then continue and reassess every 6 months. No
    summer pause inside the first 6 months after CAR-T/bsAb, the period of highest infection risk (addendum §3.4,
    §4.3). A stop finding carries no follow-up date; a continue-and-reassess finding no stop date.
    """
    p, as_of, start = facts.p, facts.as_of, episode.start
    stop_from = add_calendar_months(start, p.stop_attempt_from_calendar_months)
    stop_until = add_calendar_months(start, p.stop_attempt_until_calendar_months)
    stop_due = date_when_winter_days_reach(start, stop_from, p.stop_min_winter_days_on_igrt)
    winter = winter_days_between(start, as_of)
    follow_up, overdue = follow_up_due(facts, episode)
    criteria: list[Criterion] = [
        _igrt_start_criterion(episode),
        Criterion(
            id="igrt-at-least-6-months",
            description=msg(
                "On IgRT for at least {months} months (from {stop_from})",
                months=p.stop_attempt_from_calendar_months,
                stop_from=stop_from,
            ),
            held=as_of >= stop_from,
        ),
    ]
    notes: list[Message] = []
    if window is not None and window.standard_reason is not None:
        criteria.append(
            Criterion(
                id="standard-stop-rules-apply",
                description=msg(
                    "Standard stop rules apply to this CAR-T/bsAb patient: {reason}", reason=window.standard_reason
                ),
                held=True,
            )
        )
    summer_pause = is_summer(as_of)
    dates = default_dates(
        facts,
        igrt_start=start,
        stop_due=stop_due,
        stop_attempt_until=stop_until,
        next_follow_up=follow_up,
        follow_up_overdue=overdue,
    )
    interpretations = [*_IGRT_INTERPRETATIONS, "stop_min_winter_days_on_igrt"]
    if as_of < stop_from:
        rule, recommendation, source = RuleId.STANDARD_CONTINUE, Recommendation.CONTINUE, sources.STOP_STANDARD
    elif as_of >= stop_until:
        recent = _infections_on_igrt(facts, episode)
        criteria.append(recent)
        interpretations = [*_IGRT_INTERPRETATIONS, *EPISODE_INTERPRETATIONS]
        if not recent.held:
            rule, recommendation, source = RuleId.STANDARD_STOP_OVERDUE, Recommendation.STOP, sources.STOP_STANDARD
            dates = default_dates(facts, igrt_start=start, stop_due=stop_due, stop_attempt_until=stop_until)
            notes.append(
                msg(
                    "A stop attempt was due 6-12 months after the start ({stop_from} to {stop_until}) and is overdue "
                    "since {stop_due}; with no bacterial infection on IgRT in the last {months} months, attempt the "
                    "stop now (Opsummering, Kriterier for seponering; addendum §4.2).",
                    stop_from=stop_from,
                    stop_until=stop_until,
                    stop_due=stop_due,
                    months=p.overdue_stop_infection_free_calendar_months,
                )
            )
        else:
            # A bacterial infection on IgRT in the last 6 months: continue and reassess (no summer pause either).
            rule, recommendation = RuleId.STANDARD_CONTINUE_REASSESS, Recommendation.CONTINUE
            source = sources.STOP_STANDARD
            dates = default_dates(facts, igrt_start=start, next_follow_up=follow_up, follow_up_overdue=overdue)
            notes.append(
                msg(
                    "Bacterial infection on IgRT in the last {months} months: continue, and reassess continue, pause "
                    "or stop every 6 months (next {next}) (Opsummering, Kriterier for seponering).",
                    months=p.overdue_stop_infection_free_calendar_months,
                    next=follow_up,
                )
            )
    elif summer_pause:
        criteria.append(
            Criterion(id="summer", description=msg("{as_of} lies in 1 May - 1 October", as_of=as_of), held=True)
        )
        rule, recommendation, source = RuleId.STANDARD_PAUSE_SUMMER, Recommendation.PAUSE, sources.PAUSE
    else:
        criteria.append(
            Criterion(
                id="winter-covered",
                description=msg(
                    "Winter months inside the treatment period: {winter} of >= {needed} days between 1 Oct and "
                    "30 Apr on IgRT (reached {stop_due})",
                    winter=winter,
                    needed=p.stop_min_winter_days_on_igrt,
                    stop_due=stop_due,
                ),
                held=as_of >= stop_due,
            )
        )
        criteria.append(
            Criterion(
                id="within-stop-attempt-period",
                description=msg(
                    "Within the stop-attempt period 6-12 months after start ({stop_from} to {stop_until})",
                    stop_from=stop_from,
                    stop_until=stop_until,
                ),
                held=stop_from <= as_of < stop_until,
            )
        )
        attempt = stop_due <= as_of
        rule = RuleId.STANDARD_STOP_ATTEMPT if attempt else RuleId.STANDARD_CONTINUE
        recommendation = Recommendation.STOP if attempt else Recommendation.CONTINUE
        source = sources.STOP_STANDARD
        if attempt:
            dates = default_dates(facts, igrt_start=start, stop_due=stop_due, stop_attempt_until=stop_until)
    if recommendation in (Recommendation.STOP, Recommendation.PAUSE):
        notes.append(RESTART_NOTE)
        notes.append(RECOVERY_NOTE)
    return make_finding(
        facts,
        rule=rule,
        recommendation=recommendation,
        population=facts.primary,
        criteria=criteria,
        source=source,
        dates=dates,
        notes=(*notes, *clinical_notes(facts, start_like=False)),
        interpretations=interpretations,
    )


def _infections_on_igrt(facts: Facts, episode: IgrtEpisode) -> Criterion:
    """Bacterial infection episodes on IgRT in the last ``overdue_stop_infection_free_calendar_months`` months."""
    months = facts.p.overdue_stop_infection_free_calendar_months
    since = max(episode.start, add_calendar_months(facts.as_of, -months))
    found = [e for e in facts.episodes if since <= e.onset <= facts.as_of]
    return Criterion(
        id="bacterial-infection-on-igrt-last-6-months",
        description=msg(
            "Bacterial infection on IgRT in the last {months} months (since {since}): {count} found",
            months=months,
            since=since,
            count=len(found),
        ),
        held=bool(found),
        evidence=tuple(e.evidence() for e in found),
    )


def _igrt_start_criterion(episode: IgrtEpisode) -> Criterion:
    return Criterion(
        id="on-igrt",
        description=msg("On IgRT since {start} (last recorded exposure {end})", start=episode.start, end=episode.end),
        held=True,
        evidence=tuple(Evidence(text=msg("immunoglobulin"), ref=r) for r in episode.refs[-5:]),
    )
