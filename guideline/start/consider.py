"""When IgRT "kan overvejes": population 4 after specialised work-up, and IgG < 6 g/L with qualifying infections.

Sources: Opsummering, "Kriterier for opstart", 4. (hypogammaglobulinaemia without haematological disease or HSCT:
the population-1 criteria, after specialised work-up) and 1., second bullet (IgG < 6 g/L or below the age-related
reference range, with the 6-month infection criterion; populations 1, 2 and 4).
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import Population, Recommendation, RuleId
from guideline.criteria import clinical_notes, make_finding, population_criterion
from guideline.facts import Facts
from guideline.igg_criteria import IGG_INTERPRETATIONS, igg_below_consider, shown_igg
from guideline.infections import EPISODE_INTERPRETATIONS, igg_below_6_infection_criterion
from guideline.model import Finding
from guideline.start.pop1 import POP1_INTERPRETATIONS, pop1_start_criteria
from guideline.text import msg

POP4_WORK_UP_NOTE = msg(
    "Population 4: immunoglobulin can be considered in special situations, after specialised work-up including "
    "vaccination responses and extended immunological examination with clinical immunology."
)


def consider_pop4(facts: Facts) -> Finding | None:
    """Population 4 meeting the population-1 start criteria: consider, after specialised work-up.

    Source: Opsummering, "Kriterier for opstart", 4. ("kan overvejes i særlige situationer"; "fordrer specialiseret
    udredning"; "som udgangspunkt de samme kriterier ... som for patienter med hæmatologisk sygdom").
    """
    if facts.primary != Population.OTHER_HYPOGAMMAGLOBULINAEMIA or facts.igg_recent is None:
        return None
    criteria = pop1_start_criteria(facts, Population.OTHER_HYPOGAMMAGLOBULINAEMIA)
    if not all(c.held for c in criteria if c.required):
        return None
    return make_finding(
        facts,
        rule=RuleId.CONSIDER_POP4,
        recommendation=Recommendation.CONSIDER,
        population=Population.OTHER_HYPOGAMMAGLOBULINAEMIA,
        criteria=criteria,
        source=sources.START_POP4,
        summary=msg(
            "IgRT can be considered after specialist work-up: persistent IgG {igg} < 4 g/L, infections",
            igg=shown_igg(criteria),
        ),
        immunoparesis_summary=msg("IgRT can be considered after specialist work-up: immunoparesis in place of low IgG"),
        notes=(POP4_WORK_UP_NOTE, *clinical_notes(facts, start_like=True)),
        interpretations=POP1_INTERPRETATIONS,
    )


def consider_igg_below_6(facts: Facts) -> Finding | None:
    """Populations 1, 2 (whole period) and 4: IgG < 6 g/L and the 6-month infection criterion ("kan overvejes").

    Source: Opsummering, "Kriterier for opstart", 1., second bullet ("IgG < 6 g/L (eller under den nedre grænse for
    det aldersrelaterede referenceområde)"), for population 2 also in the window (addendum §4.1), and 4.
    """
    lab = facts.igg_recent
    population = facts.primary
    eligible = {Population.HAEMATOLOGICAL, Population.CAR_T_OR_BSAB, Population.OTHER_HYPOGAMMAGLOBULINAEMIA}
    if lab is None or not facts.populations & eligible:
        return None
    if population not in eligible:
        population = min(facts.populations & eligible)
    low = igg_below_consider(facts, lab)
    infections = igg_below_6_infection_criterion(facts.episodes, on=facts.as_of, p=facts.p)
    if not (low.held and infections.held):
        return None
    source = {
        Population.CAR_T_OR_BSAB: sources.START_POP2,
        Population.OTHER_HYPOGAMMAGLOBULINAEMIA: sources.START_POP4,
    }.get(population, sources.START_POP1)
    criteria = (population_criterion(facts, population), low, infections)
    return make_finding(
        facts,
        rule=RuleId.CONSIDER_IGG_BELOW_6,
        recommendation=Recommendation.CONSIDER,
        population=population,
        criteria=criteria,
        source=source,
        summary=msg(
            "IgRT can be considered: IgG {igg} < 6 g/L with qualifying bacterial infections", igg=shown_igg(criteria)
        ),
        immunoparesis_summary=msg(
            "IgRT can be considered: immunoparesis (IgA, IgM low) in place of low IgG with M-component; infections"
        ),
        notes=(
            *((POP4_WORK_UP_NOTE,) if population == Population.OTHER_HYPOGAMMAGLOBULINAEMIA else ()),
            msg(
                "Immunoglobulin can be considered where the clinician judges low IgG a decisive single factor for "
                "the infections. Weigh: has antibiotic prophylaxis been tried; total immune competence; "
                "reversibility; vaccination responses (pneumococcal, diphtheria/tetanus)."
            ),
            *clinical_notes(facts, start_like=True),
        ),
        interpretations=(*IGG_INTERPRETATIONS, *EPISODE_INTERPRETATIONS),
    )
