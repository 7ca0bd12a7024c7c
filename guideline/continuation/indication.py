"""The review of the indication: IgRT started without a start criterion is reviewed, never continued with confidence.

Source: Opsummering, "Kriterier for opstart" ("Primær profylakse med immunglobulin anbefales ikke"): IgRT started
although the IgG before the start was not below 4 g/L (and not below 6 g/L with the 6-month infection criterion)
did not meet the start criteria (issue "clinical fidelity 3" §5).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from guideline import sources
from guideline.concepts import Analyte, Recommendation, RuleId
from guideline.evidence import lab_evidence
from guideline.facts import Facts
from guideline.igrt import IgrtEpisode
from guideline.infections import igg_below_6_infection_criterion
from guideline.labs import results
from guideline.model import Criterion, Finding, LabResult
from guideline.own_igg import ConfoundedIgg, ExposureIndex
from guideline.text import msg


def review_indication(facts: Facts, episode: IgrtEpisode, decided: Finding) -> Finding:
    """A continue on IgRT that was started without a start criterion becomes individual assessment.

    Source: Opsummering, "Kriterier for opstart": "Primær profylakse med immunglobulin anbefales ikke". The card shows
    the IgG before the start and asks to review the indication; a stop or pause keeps its recommendation and carries
    the same note (issue "clinical fidelity 3" §5).
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
        return replace(decided, notes=(*decided.notes, note), criteria=(*decided.criteria, basis))
    return replace(
        decided,
        rule=RuleId.START_CRITERIA_NOT_MET,
        recommendation=Recommendation.INDIVIDUAL_ASSESSMENT,
        criteria=(*decided.criteria, basis),
        notes=(note, *decided.notes),
        source=sources.START_POP1,
        summary=msg(
            "On IgRT since {start} without IgG < 4 g/L before the start: review the indication",
            start=decided.dates.igrt_start,
        ),
        interpretations=tuple(dict.fromkeys((*decided.interpretations, "igg_recent_max_age_days"))),
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
    lab = pre_start_igg(facts, episode, earliest=episode.start - timedelta(days=facts.p.igg_recent_max_age_days))
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


def pre_start_igg(facts: Facts, episode: IgrtEpisode, *, earliest: date) -> LabResult | None:
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
        bound = ConfoundedIgg(lab, dose, dose.end + timedelta(days=p.igg_washout_days)).as_upper_bound()
        if bound.is_below(p.igg_start_below_g_per_l):
            return bound
    return None
