"""Population 1 (haematological disease), and population 2 from T0 + 6 months, which follows the same criteria.

Source: Opsummering, "Kriterier for opstart", 1. "Opstartskriterier for immunglobulin ved hæmatologisk sygdom":
persistent IgG < 4 g/L with severe or recurrent verified bacterial infections; addendum §4.1 (after the first 6
months, population 2 follows the population-1 criteria).
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import Population, Recommendation, RuleId
from guideline.criteria import clinical_notes, index_date_criterion, make_finding, population_criterion
from guideline.facts import Facts
from guideline.igg_criteria import (
    IGG_INTERPRETATIONS,
    PERSISTENCE_INTERPRETATIONS,
    igg_below_4,
    persistence,
    shown_igg,
)
from guideline.infections import SEVERE_OR_RECURRENT_INTERPRETATIONS, severe_or_recurrent
from guideline.model import Criterion, Finding
from guideline.text import msg


def start_pop1_or_pop2_after_window(facts: Facts) -> Finding | None:
    """Population 1, or 2 from T0 + 6 months: persistent IgG < 4 g/L and severe or recurrent infections.

    Source: Opsummering, "Kriterier for opstart", 1.; addendum §4.1 (population 2 after the window).
    """
    population = pop1_like(facts)
    lab = facts.igg_recent
    if population is None or lab is None:
        return None
    criteria = pop1_start_criteria(facts, population)
    if not all(c.held for c in criteria if c.required):
        return None
    igg = shown_igg(criteria)
    after_window = population == Population.CAR_T_OR_BSAB
    return make_finding(
        facts,
        rule=RuleId.START_POP2_AFTER_WINDOW if after_window else RuleId.START_POP1,
        recommendation=Recommendation.START,
        population=population,
        criteria=criteria,
        source=sources.START_POP2 if after_window else sources.START_POP1,
        summary=msg(
            "Start IgRT: persistent IgG {igg} < 4 g/L with severe or recurrent infections after CAR-T/bsAb", igg=igg
        )
        if after_window
        else msg("Start IgRT: persistent IgG {igg} < 4 g/L with severe or recurrent bacterial infections", igg=igg),
        immunoparesis_summary=msg(
            "Start IgRT: immunoparesis (IgA, IgM low) in place of low IgG with M-component; infections"
        ),
        notes=clinical_notes(facts, start_like=True),
        interpretations=POP1_INTERPRETATIONS,
    )


POP1_INTERPRETATIONS = (*IGG_INTERPRETATIONS, *PERSISTENCE_INTERPRETATIONS, *SEVERE_OR_RECURRENT_INTERPRETATIONS)
"""The settings the population-1 criteria rely on (persistent low IgG, severe or recurrent infections)."""


def pop1_like(facts: Facts) -> Population | None:
    """Population 2 after the window or population 1 (same criteria), in that order of precedence."""
    if Population.CAR_T_OR_BSAB in facts.populations and not facts.in_window:
        return Population.CAR_T_OR_BSAB
    if Population.HAEMATOLOGICAL in facts.populations:
        return Population.HAEMATOLOGICAL
    return None


def pop1_start_criteria(facts: Facts, population: Population) -> tuple[Criterion, ...]:
    """The population-1 start criteria for ``population``: persistent IgG < 4 g/L, severe or recurrent infections.

    Population 2 after the window also shows its window (for information); population 4 reads the same criteria.
    """
    lab = facts.igg_recent
    assert lab is not None
    criteria = [population_criterion(facts, population)]
    if population == Population.CAR_T_OR_BSAB:
        criteria.append(index_date_criterion(facts, required=False))
    criteria += [
        igg_below_4(facts, lab),
        persistence(facts, lab, required=True),
        severe_or_recurrent(facts.episodes, on=facts.as_of, p=facts.p),
    ]
    return tuple(criteria)
