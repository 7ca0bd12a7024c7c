"""Population 3, allogeneic HSCT: IgG < 4 g/L is a start criterion whatever the infections.

Source: Opsummering, "Kriterier for opstart", 3. "Opstartskriterier for immunglobulin efter allogen HSCT".
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import Population, Recommendation, RuleId
from guideline.criteria import clinical_notes, make_finding, population_criterion
from guideline.facts import Facts
from guideline.igg_criteria import (
    IGG_INTERPRETATIONS,
    PERSISTENCE_INTERPRETATIONS,
    confirmation_for_information,
    igg_below_4,
    shown_igg,
)
from guideline.model import Finding
from guideline.text import msg


def start_pop3(facts: Facts) -> Finding | None:
    """Population 3 (allogeneic HSCT): IgG < 4 g/L whatever the infections.

    Source: Opsummering, "Kriterier for opstart", 3. ("IgG < 4 g/L uanset hyppigheden og sværhedsgraden af
    infektioner"). The confirming second IgG is shown for information: one IgG < 4 g/L suffices.
    """
    lab = facts.igg_recent
    if Population.ALLO_HSCT not in facts.populations or lab is None:
        return None
    low = igg_below_4(facts, lab)
    if not low.held:
        return None
    confirmation, confirmation_notes = confirmation_for_information(facts, lab)
    return make_finding(
        facts,
        rule=RuleId.START_POP3,
        recommendation=Recommendation.START,
        population=Population.ALLO_HSCT,
        criteria=(population_criterion(facts, Population.ALLO_HSCT), low, confirmation),
        source=sources.START_POP3,
        summary=msg("Start IgRT: IgG {igg} < 4 g/L after allogeneic HSCT", igg=shown_igg((low,))),
        immunoparesis_summary=msg("Start IgRT after allogeneic HSCT: immunoparesis in place of low IgG (M-component)"),
        notes=(*confirmation_notes, *clinical_notes(facts, start_like=True)),
        interpretations=(*IGG_INTERPRETATIONS, *PERSISTENCE_INTERPRETATIONS, "allo_hsct_population_calendar_months"),
    )
