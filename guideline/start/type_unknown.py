"""Where a type decides and is not recorded: the isotype of an M-component, the kind of an HSCT.

Sources: Opsummering, "Kriterier for opstart", 1. (with an IgG M-component total IgG does not reflect humoral
immunity; documented general immunoparesis takes the place of low IgG) and 3. (allogeneic HSCT, population 3) against
1. (autologous HSCT follows the haematological disease behind it) and 4. (not after any HSCT). Neither ever gives a
not-indicated: the card asks for the type.
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import DiagnosisKind, Population, RuleId
from guideline.criteria import insufficient_data
from guideline.evidence import diagnosis_evidence, lab_evidence
from guideline.facts import Facts
from guideline.igg_criteria import IGG_INTERPRETATIONS, igg_below_4, shown_igg
from guideline.infections import igg_below_6_infection_criterion, severe_or_recurrent
from guideline.model import Criterion, Finding
from guideline.text import msg


def m_component_untyped(facts: Facts) -> Finding | None:
    """An untyped M-component left the IgG criterion undetermined: type it, measure IgA and IgM; never not-indicated.

    Source: Opsummering, "Kriterier for opstart", 1.: with an IgG M-component "er det totale IgG-niveau ikke et
    retvisende udtryk for den humorale immunfunktion"; "dokumentation af en generel immunparese [kan] træde i stedet
    for lavt IgG". Runs after every start rule: a low total IgG still decides (monoclonal IgG only raises it), so this
    fires only where the IgG part is what is missing: inside the CAR-T/bsAb window, in population 3, or where an
    infection criterion holds. Where no infection criterion holds, not-indicated rests on the infections alone.
    """
    status = facts.m_component
    mp = status.m_protein
    if not status.isotype_unknown or mp is None or facts.immunoparesis_substitutes or facts.igg_recent is None:
        return None
    p = facts.p
    igg_decides = (
        (Population.CAR_T_OR_BSAB in facts.populations and facts.in_window)
        or Population.ALLO_HSCT in facts.populations
        or severe_or_recurrent(facts.episodes, on=facts.as_of, p=p).held
        or igg_below_6_infection_criterion(facts.episodes, on=facts.as_of, p=p).held
    )
    if not igg_decides:
        return None
    paresis = facts.immunoparesis
    untyped = Criterion.unmet(
        "m-component-typed", msg("M-component isotype known (immunofixation): not typed"), lab_evidence(mp)
    )
    criteria = [untyped, igg_below_4(facts, facts.igg_recent)]
    if paresis is not None:
        criteria.append(paresis)
    return insufficient_data(
        facts,
        RuleId.M_COMPONENT_UNTYPED,
        criteria,
        source=sources.M_COMPONENT,
        summary=msg("M-component not typed, so total IgG cannot decide: type it and measure IgA and IgM"),
        action=msg(
            "Type the M-component (immunofixation) and measure IgA and IgM: with an IgG M-component total IgG "
            "does not reflect humoral immunity, and documented general immunoparesis (IgA and IgM below their "
            "reference low) takes the place of low IgG."
        ),
        interpretations=("iga_reference_low_default_g_per_l", "igm_reference_low_default_g_per_l"),
        order_lab_tests=True,
    )


def hsct_type_unknown(facts: Facts) -> Finding | None:
    """HSCT of unknown type with IgG < 4 g/L that no other start rule met: the type decides (population 3 or 1).

    Source: Opsummering, "Kriterier for opstart": population 3 is allogeneic HSCT (IgG < 4 g/L "uanset"
    infections); autologous HSCT follows the haematological disease behind it (population 1, which needs severe or
    recurrent infections); population 4 excludes anyone who "har gennemgået HSCT".
    """
    unknown = facts.diagnoses_of(DiagnosisKind.HSCT_UNKNOWN_TYPE)
    lab = facts.igg_recent
    if not unknown or Population.ALLO_HSCT in facts.populations or lab is None:
        return None
    low = igg_below_4(facts, lab)
    if not low.held:
        return None
    hsct_type = Criterion.unmet(
        "hsct-type-known",
        msg("HSCT type recorded (allogeneic: population 3; autologous: population 1)"),
        *(diagnosis_evidence(d) for d in unknown),
    )
    return insufficient_data(
        facts,
        RuleId.HSCT_TYPE_UNKNOWN,
        (hsct_type, low),
        population=Population.HAEMATOLOGICAL,
        source=sources.START_POP3,
        summary=msg(
            "IgG {igg} < 4 g/L after HSCT of unknown type: record allogeneic or autologous to decide",
            igg=shown_igg((low,)),
        ),
        action=msg(
            "Record whether the HSCT was allogeneic or autologous: after allogeneic HSCT, IgG < 4 g/L is a start "
            "criterion whatever the infections (population 3); after autologous HSCT the population-1 criteria "
            "(persistent IgG < 4 g/L and severe or recurrent bacterial infections) apply."
        ),
        interpretations=(*IGG_INTERPRETATIONS, "allo_hsct_population_calendar_months"),
    )
