"""The IgG criteria of the start rules: IgG below a threshold, read as the source asks, and persistence.

Sources: Opsummering, "Kriterier for opstart" (IgG < 4 g/L; IgG < 6 g/L or below the age-related reference range;
with an IgG M-component, documented general immunoparesis in place of low IgG) and "Monitorering af effekt" (IgG
twice at least 3 weeks apart, at least one sample without active infection).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from guideline.evidence import lab_evidence
from guideline.facts import Facts
from guideline.infections import active_infection
from guideline.labs import confirming_igg
from guideline.model import Criterion, Evidence, LabResult
from guideline.text import Decimals, Message, msg

LATEST = msg("Latest")
IGG_INTERPRETATIONS = ("igg_recent_max_age_days", "igg_washout_days")
"""The settings every rule that reads a recent own IgG relies on."""
PERSISTENCE_INTERPRETATIONS = ("igg_confirm_max_span_days", "active_infection_days")
"""The settings ``persistence`` relies on."""
CONFIRMATION_MISSING_NOTE = msg(
    "The confirming second IgG is missing (measurement rule, Monitorering af effekt: IgG twice at least 3 weeks "
    "apart, at least one sample without active infection): one IgG < 4 g/L suffices here ('uanset'), but measure "
    "the second."
)


def igg_below(
    lab: LabResult | None, threshold: float, *, criterion_id: str, label: Message, required: bool = True
) -> Criterion:
    """Return the criterion "``label`` IgG < ``threshold`` g/L" (strict) for ``lab``."""
    description = msg("{label} IgG below {threshold} g/L", label=label, threshold=threshold)
    if lab is None:
        return Criterion(
            id=criterion_id,
            description=msg("{label} IgG below {threshold} g/L: no result", label=label, threshold=threshold),
            held=False,
            required=required,
        )
    return Criterion(
        id=criterion_id,
        description=description,
        held=lab.is_below(threshold),
        required=required,
        evidence=(lab_evidence(lab),),
    )


def low_igg(facts: Facts, lab: LabResult | None, threshold: float, *, criterion_id: str, label: Message) -> Criterion:
    """``igg_below``, read as the source asks where an M-component may be IgG.

    Source: Opsummering, "Kriterier for opstart", 1.: with an IgG M-component "er det totale IgG-niveau ikke et
    retvisende udtryk for den humorale immunfunktion ... normal eller høj IgG [kan] også skyldes monoklonal
    IgG-forhøjelse"; "dokumentation af en generel immunparese [kan] træde i stedet for lavt IgG".

    * Total (or estimated polyclonal) IgG below the threshold holds: monoclonal IgG can only raise the total.
    * Otherwise documented general immunoparesis holds in its place.
    * Otherwise, with an M-component of unknown isotype, total IgG cannot tell: ``held`` is ``None``.
    """
    criterion = igg_below(lab, threshold, criterion_id=criterion_id, label=label)
    return _m_component_reading(facts, criterion)


def igg_below_4(facts: Facts, lab: LabResult | None, *, label: Message = LATEST) -> Criterion:
    """Return ``low_igg`` at the start threshold, IgG < 4 g/L (``igg-below-4``): the start criterion of all populations.

    Source: Opsummering, "Kriterier for opstart", 1.-4.; addendum §4.1 (population 2 in the window: an IgG since T0).
    """
    return low_igg(facts, lab, facts.p.igg_start_below_g_per_l, criterion_id="igg-below-4", label=label)


def _m_component_reading(facts: Facts, criterion: Criterion) -> Criterion:
    if criterion.held:
        return criterion
    if facts.immunoparesis_substitutes and facts.immunoparesis is not None:
        return criterion.restated(
            msg(
                "{criterion}: met instead by documented general immunoparesis (M-component)",
                criterion=criterion.description,
            ),
            True,
            evidence=(*criterion.evidence, *facts.immunoparesis.evidence),
            immunoparesis_in_place_of_igg=True,
        )
    if facts.m_component.isotype_unknown:
        return criterion.restated(
            msg(
                "{criterion}: undetermined, the M-component is not typed (total IgG may be monoclonal)",
                criterion=criterion.description,
            ),
            None,
        )
    return criterion


def igg_below_consider(facts: Facts, lab: LabResult) -> Criterion:
    """IgG < 6 g/L, or below the lab's age-related reference-range low, at any age (population 1 bullet 2).

    Source: "IgG < 6 g/L (eller under den nedre grænse for det aldersrelaterede referenceområde)". The description
    says which limit decided.
    """
    p = facts.p
    criterion = igg_below(lab, p.igg_consider_below_g_per_l, criterion_id="igg-below-6", label=LATEST)
    low = lab.reference_low_g_per_l
    if criterion.held or low is None:
        return _m_component_reading(facts, criterion)
    below_reference = lab.is_below(low)
    description = (
        msg("Latest IgG below the lab's age-related reference-range low ({low} g/L) (not below 6 g/L)", low=low)
        if below_reference
        else msg("Latest IgG below 6 g/L or below the lab's age-related reference-range low ({low} g/L)", low=low)
    )
    return _m_component_reading(facts, criterion.restated(description, below_reference))


def persistence(facts: Facts, lab: LabResult, *, required: bool) -> Criterion:
    """Persistent IgG < 4 g/L: an earlier own IgG 3 weeks to the span before it, and one sample without infection.

    Source: Opsummering, "Monitorering af effekt": "Serum IgG målt ved to forskellige tidspunkter med et interval på
    mindst 3 uger med mindst én prøve taget, når patienten ikke har en aktiv infektion". Both samples must be own
    IgG (``guideline.own_igg``). With an M-component, documented general immunoparesis takes the place of low IgG.
    """
    p = facts.p
    earlier = confirming_igg(facts.decision_labs, lab, p=p)
    params = {
        "min_days": p.igg_confirm_min_gap_days,
        "max_days": p.igg_confirm_max_span_days,
        "threshold": p.igg_start_below_g_per_l,
    }
    description = msg(
        "Persistent: also below {threshold} g/L {min_days}-{max_days} days earlier, one of the two samples taken "
        "without active infection",
        **params,
    )
    if earlier is None:
        criterion = Criterion(
            id="igg-persistent",
            description=msg(
                "No confirming second IgG below {threshold} g/L {min_days}-{max_days} days before the latest",
                **params,
            ),
            held=False,
            required=required,
        )
        if facts.immunoparesis_substitutes:
            # Immunoparesis stands in for the whole criterion: say so, not that a second IgG is missing.
            criterion = replace(criterion, description=msg("Persistent low IgG"))
        return _m_component_reading(facts, criterion)
    samples = (lab, earlier)
    during = [active_infection(facts.record.infections, s.effective, p) for s in samples]
    evidence = [lab_evidence(earlier)]
    for sample, infection in zip(samples, during, strict=True):
        if infection is not None:
            evidence.append(
                Evidence(
                    text=msg(
                        "IgG of {on} taken during active infection: {display}",
                        on=sample.effective,
                        display=infection.display,
                    ),
                    ref=infection.ref,
                    on=infection.onset,
                )
            )
    low = earlier.is_below(p.igg_start_below_g_per_l)
    held = low if low is not True or None in during else False
    criterion = Criterion(
        id="igg-persistent",
        description=description,
        held=held,
        required=required,
        evidence=tuple(evidence),
    )
    return _m_component_reading(facts, criterion)


def confirmation_for_information(facts: Facts, lab: LabResult) -> tuple[Criterion, tuple[Message, ...]]:
    """Return the confirming second IgG where one IgG < 4 g/L decides alone, and the note asking for it if missing.

    Population 3 and population 2 inside the window start on IgG < 4 g/L "uanset" the infections: ``persistence`` is
    shown for information (not required), and ``CONFIRMATION_MISSING_NOTE`` asks for the second IgG.
    """
    confirmation = persistence(facts, lab, required=False)
    return confirmation, (() if confirmation.held else (CONFIRMATION_MISSING_NOTE,))


def shown_igg(criteria: Sequence[Criterion]) -> Message:
    """Return the IgG value an IgG criterion (``igg-below-*``) read, for a summary: "3.1 g/L", "< 0.3 g/L".

    The first IgG criterion's first valued evidence, with the lab's decimals; "not measured" when there is none.
    """
    for criterion in criteria:
        if criterion.id.startswith("igg-below"):
            for e in criterion.evidence:
                if e.value is not None:
                    value = e.value if e.decimals is None else Decimals(e.value, e.decimals)
                    if e.comparator:
                        return msg("{comparator} {value} g/L", comparator=e.comparator, value=value)
                    return msg("{value} g/L", value=value)
    return msg("not measured")
