"""The CAR-T/bsAb short course: IgRT started inside the window on IgG < 4 g/L alone stops 6 months after T0.

Source: addendum §4.2 "Seponeringskriterier": "Ved opstart af immunglobuliner på baggrund af en IgG < 4 g/L uden
forudgående svære eller tilbagevendende bakterielle infektioner indenfor de første 6 måneder ... skal
immunglobulinsubstitution forsøges seponeret 6 måneder efter"; otherwise (second paragraph) the standard stop rules
apply (``guideline.continuation.standard``). ``window_start`` tells which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from guideline import sources
from guideline.concepts import Population, Recommendation, RuleId
from guideline.continuation.episode import IGRT_INTERPRETATIONS, RECOVERY_NOTE, igrt_start_criterion
from guideline.continuation.indication import pre_start_igg
from guideline.criteria import clinical_notes, default_dates, insufficient_data, make_finding
from guideline.evidence import lab_evidence, t0_evidence
from guideline.facts import Facts
from guideline.follow_up import follow_up_due
from guideline.igrt import IgrtEpisode
from guideline.infections import SEVERE_OR_RECURRENT_INTERPRETATIONS, severe_or_recurrent
from guideline.model import Criterion, Finding
from guideline.quick_init import quick_init
from guideline.safety import population_3_applies
from guideline.text import Message, msg

EXTENSION_NOTE = msg(
    "With a significant community risk of antibiotic-requiring bacterial infections a short extension may be "
    "relevant (addendum §4.2)."
)


@quick_init
@dataclass(frozen=True, slots=True)
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


def pop2_short_course(facts: Facts, episode: IgrtEpisode, window: WindowStart) -> Finding:
    """IgRT started inside the window on an own IgG < 4 g/L alone: stop at T0 + 6 months (addendum §4.2).

    Source: addendum §4.2, "Ved opstart af immunglobuliner på baggrund af en IgG < 4 g/L uden forudgående svære eller
    tilbagevendende bakterielle infektioner indenfor de første 6 måneder ... skal immunglobulinsubstitution forsøges
    seponeret 6 måneder efter". ``window`` is the episode's ``window_start`` with no standard reason: an own IgG < 4 g/L
    before the start, or none recorded (then from T0 + 6 months the decision is insufficient data).
    """
    index, end, prior, basis = facts.index, facts.window_end, window.prior, window.basis
    assert index is not None and end is not None and basis is not None
    criteria = (
        igrt_start_criterion(episode),
        Criterion(
            id="igrt-started-inside-window",
            description=msg(
                "IgRT started on {start}, inside the 6-month window from T0 {t0} (until {end})",
                t0=index.t0,
                start=episode.start,
                end=end,
            ),
            held=True,
            evidence=t0_evidence(index),
        ),
        basis,
        prior.restated(
            msg(
                "No severe or recurrent bacterial infections before the IgRT start ({criterion})",
                criterion=prior.description,
            ),
            True,
            id="no-severe-or-recurrent-infection-before-start",
        ),
        Criterion(
            id="t0-plus-6-months-reached",
            description=msg("6 months after T0 reached on {end}", end=end),
            held=facts.as_of >= end,
        ),
    )
    stop = facts.as_of >= end
    interpretations = (
        *IGRT_INTERPRETATIONS,
        "bsab_new_course_gap_days",
        "igg_washout_days",
        "igrt_interruption_tolerated_days",
        *SEVERE_OR_RECURRENT_INTERPRETATIONS,
    )
    if basis.held is None and stop:
        return insufficient_data(
            facts,
            RuleId.IGRT_START_BASIS_UNKNOWN,
            criteria,
            population=Population.CAR_T_OR_BSAB,
            source=sources.STOP_POP2,
            summary=msg(
                "IgRT after CAR-T/bsAb: no own IgG before the start, so the 6-month stop rule cannot be checked"
            ),
            action=msg(
                "No own IgG before the IgRT start ({start}) is recorded, so it cannot be told whether IgRT was "
                "started on IgG < 4 g/L alone. If it was, a stop attempt is due now, 6 months after T0 ({end}; "
                "addendum §4.2); otherwise the standard rules apply (stop attempt 6-12 months after the start).",
                start=episode.start,
                end=end,
            ),
            dates=default_dates(facts, igrt_start=episode.start),
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
        summary=msg(
            "Stop IgRT: 6 months after CAR-T/bsAb passed on {stop_due} (started on IgG < 4 alone)", stop_due=end
        )
        if stop
        else msg("Continue IgRT started after CAR-T/bsAb on IgG < 4 alone; stop due {stop_due}", stop_due=end),
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

    Reads the newest IgG from ``igg_recent_max_age_days`` before the start up to the start day (``pre_start_igg``),
    on or after T0 when ``pop2_igg_must_follow_t0``. ``held`` is ``None`` when there is none.
    """
    p = facts.p
    index = facts.index
    earliest = episode.start - timedelta(days=p.igg_recent_max_age_days)
    if index is not None and p.pop2_igg_must_follow_t0:
        earliest = max(earliest, index.t0)
    lab = pre_start_igg(facts, episode, earliest=earliest)
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
