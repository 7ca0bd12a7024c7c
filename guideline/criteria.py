"""Criterion builders shared by the start and continuation rules, and the ``Finding`` factory.

Each builder returns a ``Criterion`` that states its threshold, the value and date it used, and the resource it
came from, so a card can show exactly why a rule fired or did not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from guideline.concepts import Analyte, DiagnosisKind, Population, Recommendation, RuleId, TherapyKind
from guideline.facts import Facts
from guideline.index_dates import IndexDate
from guideline.infections import active_infection
from guideline.labs import confirming_igg
from guideline.model import Criterion, Diagnosis, Evidence, Finding, KeyDates, LabResult, Overrule
from guideline.sources import SourceRef
from guideline.text import Message, msg, plural

PREREQUISITES_NOTE = msg(
    "Before a start (Opsummering, Kriterier for opstart): the patient should be vaccinated per national "
    "recommendations for SID (annual influenza, adequate pneumococcal vaccination), and targeted antibiotic "
    "prophylaxis should have been considered where there is a known organ focus."
)
NOT_INDICATED_NOTE = msg(
    "Primær profylakse med immunglobulin anbefales ikke; recidiverende ikke-alvorlige infektioner er ikke "
    "sufficient indikation. Consider targeted antibiotic prophylaxis (Opsummering, Kriterier for opstart)."
)


LATEST = msg("Latest")
RECOMMENDATION_WORDS = {
    Recommendation.START: msg("start IgRT"),
    Recommendation.CONSIDER: msg("IgRT can be considered"),
    Recommendation.NOT_INDICATED: msg("not indicated"),
    Recommendation.INSUFFICIENT_DATA: msg("not decided (data missing)"),
    Recommendation.INDIVIDUAL_ASSESSMENT: msg("individual assessment"),
    Recommendation.CONTINUE: msg("continue IgRT"),
    Recommendation.PAUSE: msg("pause IgRT"),
    Recommendation.STOP: msg("stop IgRT"),
}
"""A recommendation in words, for a card that names one it did not make (a reading "if verified", "if the date")."""
THERAPY_LABELS = {TherapyKind.CAR_T: "CAR-T", TherapyKind.BSAB: "bsAb"}
ANALYTE_LABELS = {Analyte.IGG: "IgG", Analyte.IGA: "IgA", Analyte.IGM: "IgM", Analyte.M_PROTEIN: "M-protein"}


def lab_evidence(lab: LabResult) -> Evidence:
    """Return a lab result as card evidence (value in g/L, date, reference).

    An IgG drawn under immunoglobulin (``LabResult.upper_bound``) says so: it is an upper bound of the own IgG.
    """
    label = ANALYTE_LABELS[lab.analyte]
    if lab.estimate is not None:
        text = msg(
            "{analyte} {value} (estimated polyclonal IgG: total {total} g/L minus M-protein {m_protein} g/L of {m_on})",
            analyte=label,
            value=lab.shown(),
            total=lab.estimate.total_g_per_l,
            m_protein=lab.estimate.m_protein_g_per_l,
            m_on=lab.estimate.m_protein_on,
        )
    elif lab.reported == lab.shown().english():
        text = msg("{analyte} {value}", analyte=label, value=lab.shown())
    else:
        text = msg("{analyte} {value} (reported {reported})", analyte=label, value=lab.shown(), reported=lab.reported)
    bound = lab.upper_bound_after
    if bound is not None:
        text = msg(
            "{lab} (drawn {days} days after immunoglobulin {drug} of {dose_on}: the own IgG is at most this)",
            lab=text,
            days=(lab.effective - bound.dose_on).days,
            drug=bound.dose_display,
            dose_on=bound.dose_on,
        )
    return Evidence(
        text=text,
        ref=lab.ref,
        value=lab.value_g_per_l,
        decimals=lab.decimals,
        comparator=lab.comparator,
        unit="g/L",
        on=lab.effective,
    )


def igg_below(
    lab: LabResult | None, threshold: float, *, criterion_id: str, label: Message, required: bool = True
) -> Criterion:
    """Return the criterion "``label`` IgG < ``threshold`` g/L" (strict) for ``lab``."""
    description = msg("{label} IgG < {threshold} g/L", label=label, threshold=threshold)
    if lab is None:
        return Criterion(
            id=criterion_id,
            description=msg("{label} IgG < {threshold} g/L: no result", label=label, threshold=threshold),
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


def _m_component_reading(facts: Facts, criterion: Criterion) -> Criterion:
    if criterion.held:
        return criterion
    if facts.immunoparesis_substitutes and facts.immunoparesis is not None:
        return criterion.model_copy(
            update={
                "description": msg(
                    "{criterion}: met instead by documented general immunoparesis (M-component)",
                    criterion=criterion.description,
                ),
                "held": True,
                "evidence": (*criterion.evidence, *facts.immunoparesis.evidence),
                "immunoparesis_in_place_of_igg": True,
            }
        )
    if facts.m_component.isotype_unknown:
        return criterion.model_copy(
            update={
                "description": msg(
                    "{criterion}: undetermined, the M-component is not typed (total IgG may be monoclonal)",
                    criterion=criterion.description,
                ),
                "held": None,
            }
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
        else msg("Latest IgG < 6 g/L or below the lab's age-related reference-range low ({low} g/L)", low=low)
    )
    return _m_component_reading(
        facts, criterion.model_copy(update={"description": description, "held": below_reference})
    )


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
        "Persistent: an earlier IgG {min_days}-{max_days} days before the latest is also < {threshold} g/L, and at "
        "least one of the two samples was taken without active infection",
        **params,
    )
    if earlier is None:
        criterion = Criterion(
            id="igg-persistent",
            description=msg(
                "Persistent: an earlier IgG {min_days}-{max_days} days before the latest is also < {threshold} g/L: "
                "no confirming second IgG",
                **params,
            ),
            held=False,
            required=required,
        )
        if facts.immunoparesis_substitutes:
            # Immunoparesis stands in for the whole criterion: say so, not that a second IgG is missing.
            criterion = criterion.model_copy(update={"description": msg("Persistent low IgG")})
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


def t0_evidence(index: IndexDate) -> tuple[Evidence, ...]:
    """Return the administration that set T0 as card evidence, and how many more the bsAb course holds.

    A course of weekly bsAb doses over years would otherwise list hundreds of administrations on the card; T0 is
    the first of them (addendum §4.1), and the count says how long the course is.
    """
    first = Evidence(
        text=msg("{kind} {substance}", kind=THERAPY_LABELS[index.kind], substance=index.substance),
        ref=index.refs[0],
        on=index.t0,
    )
    if len(index.refs) == 1:
        return (first,)
    more = plural(
        "{count} further administration in the same course",
        "{count} further administrations in the same course",
        len(index.refs) - 1,
    )
    return (first, Evidence(text=more))


def index_date_criterion(facts: Facts, *, required: bool = True) -> Criterion:
    """The T0 and whether ``as_of`` lies inside T0 + 6 calendar months (addendum §4.1)."""
    index, end = facts.index, facts.window_end
    if index is None or end is None:
        return Criterion(
            id="inside-car-t-bsab-window",
            description=msg("CAR-T or bsAb T0 recorded"),
            held=False,
            required=required,
        )
    params = {
        "t0": index.t0,
        "as_of": facts.as_of,
        "end": end,
        "kind": THERAPY_LABELS[index.kind],
        "substance": index.substance,
    }
    if index.certain:
        description = msg("Inside the window T0 {t0} <= {as_of} < {end} ({kind} {substance})", **params)
    else:
        description = msg(
            "Inside the window T0 {t0} <= {as_of} < {end} ({kind} {substance} (date uncertain: from a CAR-T "
            "history code))",
            **params,
        )
    return Criterion(
        id="inside-car-t-bsab-window",
        description=description,
        held=facts.in_window,
        required=required,
        evidence=t0_evidence(index),
    )


def adult_criterion(facts: Facts) -> Criterion:
    """Age >= 18 on the evaluation date (children are outside the CAR-T/bsAb criteria, addendum §4).

    ``held`` is ``None`` when the birth date is unknown, or partial and straddling the 18th birthday.
    """
    birth, latest = facts.record.birth_date, facts.record.birth_date_latest
    evidence: tuple[Evidence, ...] = ()
    if birth is not None and latest is not None:
        # A partial birthDate: adult or child is decided only when every possible birth date agrees.
        evidence = (
            Evidence(text=msg("born between {birth} and {latest} (partial birth date)", birth=birth, latest=latest)),
        )
    elif birth is not None:
        evidence = (
            Evidence(
                text=msg("born {birth}, age {age}", birth=birth, age=facts.age_years),
                value=facts.age_years,
                unit="years",
            ),
        )
    return Criterion(
        id="adult",
        description=msg("Age >= {years} years on {as_of}", years=facts.p.adult_age_years, as_of=facts.as_of),
        held=facts.adult,
        evidence=evidence,
    )


def population_criterion(facts: Facts, population: Population) -> Criterion:
    """The diagnoses (or T0) that place the patient in ``population``.

    Population 1 also cites autologous HSCT and HSCT of unknown type (the haematological disease behind the
    transplant) and an allogeneic HSCT past the population-3 period; population 3 says until when it applies.
    """
    descriptions = {
        Population.HAEMATOLOGICAL: msg("Population 1: haematological disease recorded"),
        Population.CAR_T_OR_BSAB: msg(
            "Population 2: adult after CAR-T or bsAb directed at B-cell/plasma-cell antigens"
        ),
        Population.ALLO_HSCT: msg("Population 3: allogeneic HSCT recorded"),
        Population.OTHER_HYPOGAMMAGLOBULINAEMIA: msg(
            "Population 4: no haematological disease, HSCT, CAR-T or bsAb recorded"
        ),
    }
    description = descriptions[population]
    kinds: frozenset[DiagnosisKind] = frozenset()
    if population == Population.HAEMATOLOGICAL:
        kinds = frozenset(
            {DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY, DiagnosisKind.AUTOLOGOUS_HSCT, DiagnosisKind.HSCT_UNKNOWN_TYPE}
        )
        if Population.ALLO_HSCT not in facts.populations:
            kinds |= {DiagnosisKind.ALLO_HSCT}
        if not facts.diagnoses_of(DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY):
            description = msg(
                "Population 1: the haematological disease behind a transplant (autologous, type not stated, or "
                "allogeneic more than {months} months ago)",
                months=facts.p.allo_hsct_population_calendar_months,
            )
    elif population == Population.ALLO_HSCT:
        kinds = frozenset({DiagnosisKind.ALLO_HSCT})
        until = facts.allo_hsct_until
        description = (
            msg(
                "Population 3: allogeneic HSCT recorded; date not recorded, so the {months}-month period cannot be "
                "checked",
                months=facts.p.allo_hsct_population_calendar_months,
            )
            if until is None
            else msg(
                "Population 3: allogeneic HSCT recorded; population 3 applies until {until} ({months} months after "
                "the latest record)",
                until=until,
                months=facts.p.allo_hsct_population_calendar_months,
            )
        )
    evidence: tuple[Evidence, ...] = tuple(diagnosis_evidence(d) for d in facts.diagnoses if d.kind in kinds)
    if population == Population.CAR_T_OR_BSAB and facts.index is not None:
        evidence = t0_evidence(facts.index)[:1]
    return Criterion(
        id=f"population-{population.value}",
        description=description,
        held=population in facts.populations,
        evidence=evidence,
    )


def diagnosis_evidence(diagnosis: Diagnosis) -> Evidence:
    """Return a recorded diagnosis as card evidence (its display text as recorded, untranslated)."""
    return Evidence(text=msg("{display}", display=diagnosis.display), ref=diagnosis.ref, on=diagnosis.recorded)


def clinical_notes(facts: Facts, *, start_like: bool) -> tuple[Message, ...]:
    """Cautions every decision card repeats where they apply: M-component, restart after a stop, prerequisites."""
    notes: list[Message] = []
    mp = facts.m_protein
    if facts.m_component.igg_type:
        notes.append(
            msg(
                "IgG M-component on immunofixation of {typed_on}: this decision rests on estimated polyclonal IgG "
                "(total IgG minus M-protein, as COMMIT does; addendum table 8-7), not on total IgG.",
                typed_on=facts.m_component.typing.effective if facts.m_component.typing else "",
            )
        )
    elif facts.m_component.isotype_unknown and mp is not None:
        notes.append(
            msg(
                "M-component {value} on {on} without typing: it may be IgG, so total IgG is not used to "
                "decide; documented general immunoparesis (IgA and IgM below their reference low) takes the place of "
                "low IgG "
                "(Opsummering, Kriterier for opstart). Type the M-component (immunofixation).",
                value=mp.shown(),
                on=mp.effective,
            )
        )
    if start_like and facts.igrt.ended:
        last = facts.igrt.ended[-1]
        notes.append(
            msg(
                "IgRT ended after {end}. If infections recur after a stop, antibiotic prophylaxis can be tried "
                "before restarting (Opsummering, Pausering; addendum §4.3).",
                end=last.end,
            )
        )
    if start_like:
        notes.append(PREREQUISITES_NOTE)
    return tuple(notes)


def make_finding(
    facts: Facts,
    *,
    rule: RuleId,
    recommendation: Recommendation,
    population: Population | None,
    criteria: Iterable[Criterion],
    source: SourceRef,
    dates: KeyDates | None = None,
    notes: Iterable[Message] = (),
    interpretations: Iterable[str] = (),
    order_lab_tests: bool = False,
    overruled: Overrule | None = None,
) -> Finding:
    """Build a ``Finding`` with the facts' data issues and IgRT status attached."""
    return Finding(
        rule=rule,
        recommendation=recommendation,
        population=population,
        as_of=facts.as_of,
        criteria=tuple(criteria),
        dates=dates or KeyDates(t0=facts.index.t0 if facts.index else None, window_end=facts.window_end),
        source=source,
        notes=tuple(notes),
        interpretations=tuple(dict.fromkeys(interpretations)),
        data_issues=facts.data_issues,
        on_igrt=facts.igrt.on_igrt,
        order_lab_tests=order_lab_tests,
        overruled=overruled,
    )


def default_dates(facts: Facts, **extra: date | bool | None) -> KeyDates:
    """Return T0 and the window end, plus any ``extra`` dates."""
    return KeyDates(t0=facts.index.t0 if facts.index else None, window_end=facts.window_end, **extra)
