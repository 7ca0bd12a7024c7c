"""Rules for patients on IgRT: continue, pause or stop, one module per stop rule of the source.

Sources: addendum §4.2 (population 2 short course: stop 6 months after T0; ``short_course``) and Opsummering
"Kriterier for seponering" (standard: follow-up at 3 and 6 months, stop attempt 6-12 months after start with the
winter months inside the treatment period, reassess every 6 months, summer pause 1 May - 1 October; ``standard``).
Every stop or pause then passes the safety checks (``guideline.safety``), and a continue the review of the indication
(``indication``).
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import Recommendation, RuleId
from guideline.continuation.episode import IGRT_INTERPRETATIONS
from guideline.continuation.indication import review_indication
from guideline.continuation.short_course import pop2_short_course, window_start
from guideline.continuation.standard import standard
from guideline.criteria import clinical_notes, default_dates, insufficient_data, make_finding
from guideline.facts import Facts
from guideline.follow_up import follow_up_due
from guideline.igrt import IgrtEpisode
from guideline.model import Criterion, Evidence, Finding, Overrule
from guideline.safety import first_holding
from guideline.scope import age_unknown, child_after_car_t_or_bsab, primary_immunodeficiency
from guideline.text import msg


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

    The first check that holds decides: the finding becomes its ``continue`` or ``individual-assessment``, with the
    check's summary and source, keeps the proposal's criteria and the check's criterion, names the proposal in
    ``overruled``, and leads its notes with the check's one line. The stop date moves to the end of a new high-risk
    period where that is the check.
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
        summary=hold.summary,
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


def igrt_start_unknown(facts: Facts) -> Finding | None:
    """On IgRT by an active order/statement without any date: the stop dates cannot be computed.

    Source: Opsummering, "Kriterier for seponering" (follow-up and the stop attempt count from the IgRT start).
    """
    refs = facts.igrt.start_unknown_refs
    if not refs:
        return None
    start_known = Criterion.unmet(
        "igrt-start-known",
        msg("IgRT start date known (active immunoglobulin order/statement has no date)"),
        *(Evidence(text=msg("active, undated"), ref=r) for r in refs),
    )
    return insufficient_data(
        facts,
        RuleId.IGRT_START_UNKNOWN,
        (start_known,),
        source=sources.STOP_STANDARD,
        summary=msg("On IgRT with an unknown start date: stop and follow-up dates cannot be computed"),
        interpretations=IGRT_INTERPRETATIONS,
    )


__all__ = ["decide_continuation", "guard", "igrt_start_unknown", "propose"]
