"""Where a type decides and is not recorded: the isotype of an M-component, the kind of an HSCT.

Sources: Opsummering, "Kriterier for opstart", 1. (with an IgG M-component total IgG does not reflect humoral
immunity; documented general immunoparesis takes the place of low IgG) and 3. (allogeneic HSCT, population 3) against
1. (autologous HSCT follows the haematological disease behind it) and 4. (not after any HSCT). Neither ever gives a
not-indicated: the card asks for the type.
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import DiagnosisKind, Population, Recommendation, RuleId
from guideline.criteria import clinical_notes, make_finding
from guideline.evidence import diagnosis_evidence, lab_evidence
from guideline.facts import Facts
from guideline.igg_criteria import IGG_INTERPRETATIONS, LATEST, low_igg, shown_igg
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
    criteria = [
        Criterion(
            id="m-component-typed",
            description=msg("M-component isotype known (immunofixation): not typed"),
            held=False,
            evidence=(lab_evidence(mp),),
        ),
        low_igg(facts, facts.igg_recent, p.igg_start_below_g_per_l, criterion_id="igg-below-4", label=LATEST),
    ]
    if paresis is not None:
        criteria.append(paresis)
    return make_finding(
        facts,
        rule=RuleId.M_COMPONENT_UNTYPED,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=facts.primary,
        criteria=criteria,
        source=sources.M_COMPONENT,
        summary=msg("M-component not typed, so total IgG cannot decide: type it and measure IgA and IgM"),
        notes=(
            msg(
                "Type the M-component (immunofixation) and measure IgA and IgM: with an IgG M-component total IgG "
                "does not reflect humoral immunity, and documented general immunoparesis (IgA and IgM below their "
                "reference low) takes the place of low IgG."
            ),
            *clinical_notes(facts, start_like=False),
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
    low = low_igg(facts, lab, facts.p.igg_start_below_g_per_l, criterion_id="igg-below-4", label=LATEST)
    if not low.held:
        return None
    return make_finding(
        facts,
        rule=RuleId.HSCT_TYPE_UNKNOWN,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=Population.HAEMATOLOGICAL,
        criteria=(
            Criterion(
                id="hsct-type-known",
                description=msg("HSCT type recorded (allogeneic: population 3; autologous: population 1)"),
                held=False,
                evidence=tuple(diagnosis_evidence(d) for d in unknown),
            ),
            low,
        ),
        source=sources.START_POP3,
        summary=msg(
            "IgG {igg} < 4 g/L after HSCT of unknown type: record allogeneic or autologous to decide",
            igg=shown_igg((low,)),
        ),
        notes=(
            msg(
                "Record whether the HSCT was allogeneic or autologous: after allogeneic HSCT, IgG < 4 g/L is a start "
                "criterion whatever the infections (population 3); after autologous HSCT the population-1 criteria "
                "(persistent IgG < 4 g/L and severe or recurrent bacterial infections) apply."
            ),
            *clinical_notes(facts, start_like=False),
        ),
        interpretations=(*IGG_INTERPRETATIONS, "allo_hsct_population_calendar_months"),
    )
