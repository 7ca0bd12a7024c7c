"""Criterion builders shared by the start and continuation rules, and the ``Finding`` factory.

Each builder returns a ``Criterion`` that states its threshold, the value and date it used, and the resource it
came from, so a card can show exactly why a rule fired or did not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from guideline.concepts import Analyte, DiagnosisKind, Population, Recommendation, RuleId
from guideline.facts import Facts
from guideline.index_dates import IndexDate
from guideline.labs import confirming_igg, latest
from guideline.model import Criterion, Diagnosis, Evidence, Finding, KeyDates, LabResult
from guideline.sources import SourceRef
from guideline.text import Message, msg

PREREQUISITES_NOTE = msg(
    "Before a start (Opsummering, Kriterier for opstart): the patient should be vaccinated per national "
    "recommendations for SID (annual influenza, adequate pneumococcal vaccination), and targeted antibiotic "
    "prophylaxis should have been considered where there is a known organ focus."
)
NOT_INDICATED_NOTE = msg(
    "Primær profylakse med immunglobulin anbefales ikke; recidiverende ikke-alvorlige infektioner er ikke "
    "sufficient indikation. Consider targeted antibiotic prophylaxis (Opsummering, Kriterier for opstart)."
)


ANALYTE_LABELS = {Analyte.IGG: "IgG", Analyte.IGA: "IgA", Analyte.IGM: "IgM", Analyte.M_PROTEIN: "M-protein"}


def lab_evidence(lab: LabResult) -> Evidence:
    """Return a lab result as card evidence (value in g/L, date, reference)."""
    label = ANALYTE_LABELS[lab.analyte]
    if lab.estimate is not None:
        text = msg(
            "{analyte} {value} (estimated polyclonal IgG: total {total} g/L minus M-protein {m_protein} g/L of "
            "{m_on}, {m_ref})",
            analyte=label,
            value=lab.shown(),
            total=lab.estimate.total_g_per_l,
            m_protein=lab.estimate.m_protein_g_per_l,
            m_on=lab.estimate.m_protein_on,
            m_ref=lab.estimate.m_protein_ref,
        )
    elif lab.reported == lab.shown().english():
        text = msg("{analyte} {value}", analyte=label, value=lab.shown())
    else:
        text = msg("{analyte} {value} (reported {reported})", analyte=label, value=lab.shown(), reported=lab.reported)
    return Evidence(
        text=text,
        ref=lab.ref,
        value=lab.value_g_per_l,
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


def igg_below_consider(facts: Facts, lab: LabResult) -> Criterion:
    """IgG < 6 g/L, or under the lab's age-related reference-range low for a child (population 1 bullet 2)."""
    p = facts.p
    criterion = igg_below(lab, p.igg_consider_below_g_per_l, criterion_id="igg-below-6", label=msg("Latest"))
    child = facts.age_years is not None and facts.age_years < p.age_related_igg_limit_below_age_years
    low = lab.reference_low_g_per_l
    if criterion.held or not child or low is None:
        return criterion
    return criterion.model_copy(
        update={
            "description": msg("Latest IgG < 6 g/L or below the age-related reference-range low ({low} g/L)", low=low),
            "held": lab.is_below(low),
        }
    )


def persistence(facts: Facts, lab: LabResult, *, required: bool) -> Criterion:
    """IgG < 4 g/L confirmed by an earlier IgG at least 3 weeks before (Monitorering af effekt)."""
    p = facts.p
    earlier = confirming_igg(facts.record.labs, lab, p=p)
    params = {
        "min_days": p.igg_confirm_min_gap_days,
        "max_days": p.igg_confirm_max_span_days,
        "threshold": p.igg_start_below_g_per_l,
    }
    description = msg(
        "Persistent: an earlier IgG {min_days}-{max_days} days before the latest is also < {threshold} g/L", **params
    )
    if earlier is None:
        return Criterion(
            id="igg-persistent",
            description=msg(
                "Persistent: an earlier IgG {min_days}-{max_days} days before the latest is also < {threshold} g/L: "
                "no confirming second IgG",
                **params,
            ),
            held=False,
            required=required,
        )
    return Criterion(
        id="igg-persistent",
        description=description,
        held=earlier.is_below(p.igg_start_below_g_per_l),
        required=required,
        evidence=(lab_evidence(earlier),),
    )


def t0_evidence(index: IndexDate) -> tuple[Evidence, ...]:
    """Return the administration that set T0 as card evidence, and how many more the bsAb course holds.

    A course of weekly bsAb doses over years would otherwise list hundreds of administrations on the card; T0 is
    the first of them (addendum §4.1), and the count says how long the course is.
    """
    first = Evidence(
        text=msg("{kind} {substance}", kind=index.kind.value, substance=index.substance), ref=index.refs[0], on=index.t0
    )
    if len(index.refs) == 1:
        return (first,)
    more = msg("{count} further administrations in the same course", count=len(index.refs) - 1)
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
    params = {"t0": index.t0, "as_of": facts.as_of, "end": end, "kind": index.kind.value, "substance": index.substance}
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
    """Age >= 18 on the evaluation date (children are outside the CAR-T/bsAb criteria, addendum §4)."""
    birth = facts.record.birth_date
    return Criterion(
        id="adult",
        description=msg("Age >= {years} years on {as_of}", years=facts.p.adult_age_years, as_of=facts.as_of),
        held=facts.adult,
        evidence=()
        if birth is None
        else (
            Evidence(
                text=msg("born {birth}, age {age}", birth=birth, age=facts.age_years),
                value=facts.age_years,
                unit="years",
            ),
        ),
    )


def population_criterion(facts: Facts, population: Population) -> Criterion:
    """The diagnoses (or T0) that place the patient in ``population``."""
    kind = {
        Population.HAEMATOLOGICAL: DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY,
        Population.ALLO_HSCT: DiagnosisKind.ALLO_HSCT,
    }.get(population)
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
    evidence: tuple[Evidence, ...] = ()
    if kind is not None:
        evidence = tuple(diagnosis_evidence(d) for d in facts.diagnoses_of(kind))
    elif population == Population.CAR_T_OR_BSAB and facts.index is not None:
        evidence = t0_evidence(facts.index)[:1]
    return Criterion(
        id=f"population-{population.value}",
        description=descriptions[population],
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
                "IgG M-component typed ({typing}): this decision rests on estimated polyclonal IgG (total IgG minus "
                "M-protein, as COMMIT does; addendum table 8-7), not on total IgG. See the M-component card.",
                typing=facts.m_component.typing.ref if facts.m_component.typing else "",
            )
        )
    elif mp is not None and mp.comparator not in ("<", "<=") and mp.value_g_per_l > 0:
        iga = latest(facts.record.labs, Analyte.IGA, as_of=facts.as_of)
        igm = latest(facts.record.labs, Analyte.IGM, as_of=facts.as_of)
        others = tuple(
            msg("{analyte} {value} ({on})", analyte=ANALYTE_LABELS[lab.analyte], value=lab.shown(), on=lab.effective)
            for lab in (iga, igm)
            if lab
        )
        params = {"value": mp.shown(), "on": mp.effective, "ref": mp.ref}
        if others:
            notes.append(
                msg(
                    "M-component {value} on {on} ({ref}): with an IgG M-component, total IgG does not reflect humoral "
                    "immunity; judge general immunoparesis from IgA and IgM ({others}) (Opsummering, Kriterier for "
                    "opstart).",
                    others=others,
                    **params,
                )
            )
        else:
            notes.append(
                msg(
                    "M-component {value} on {on} ({ref}): with an IgG M-component, total IgG does not reflect humoral "
                    "immunity; judge general immunoparesis from IgA and IgM (IgA/IgM not measured) (Opsummering, "
                    "Kriterier for opstart).",
                    **params,
                )
            )
    if start_like and facts.igrt.ended:
        last = facts.igrt.ended[-1]
        notes.append(
            msg(
                "IgRT ended after {end} ({refs}). If infections recur after a stop, antibiotic prophylaxis can be "
                "tried before restarting (Opsummering, Pausering; addendum §4.3).",
                end=last.end,
                refs=", ".join(last.refs[-3:]),
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
    )


def default_dates(facts: Facts, **extra: date | None) -> KeyDates:
    """Return T0 and the window end, plus any ``extra`` dates."""
    return KeyDates(t0=facts.index.t0 if facts.index else None, window_end=facts.window_end, **extra)
