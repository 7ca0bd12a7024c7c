"""Criteria that place the patient (population, CAR-T/bsAb window, age), common notes, and the ``Finding`` factory.

Shared by the start and continuation rules. Each builder returns a ``Criterion`` that states its threshold, the value
and date it used, and the resource it came from, so a card can show exactly why a rule fired or did not. The IgG
criteria are in ``guideline.igg_criteria``, the evidence builders in ``guideline.evidence``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from guideline.concepts import DiagnosisKind, Population, Recommendation, RuleId
from guideline.evidence import THERAPY_LABELS, diagnosis_evidence, t0_evidence
from guideline.facts import Facts
from guideline.model import Criterion, Evidence, Finding, KeyDates, Overrule
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

Rule = Callable[[Facts], Finding | None]
"""A decision rule: the facts to its finding, or ``None`` when it does not apply."""
Decide = Callable[[Facts], Finding]
"""A whole decision (the start rules, or start and continuation): the facts to the one finding."""

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
        "end": end,
        "kind": THERAPY_LABELS[index.kind],
        "substance": index.substance,
    }
    # Clinical words, not an inequality (issue 28): the therapy and its date, then where today lies in the window.
    if facts.in_window:
        description = msg("{kind} {substance} on {t0}: inside the 6-month window (until {end})", **params)
    elif facts.as_of >= end:
        description = msg("{kind} {substance} on {t0}: the 6-month window ended on {end}", **params)
    else:
        description = msg("{kind} {substance} on {t0}: the 6-month window has not begun", **params)
    if not index.certain:
        description = msg("{criterion} (date uncertain: from a CAR-T history code)", criterion=description)
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
        description=msg("Aged {years} or over on {as_of}", years=facts.p.adult_age_years, as_of=facts.as_of),
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
    summary: Message,
    immunoparesis_summary: Message | None = None,
    dates: KeyDates | None = None,
    notes: Iterable[Message] = (),
    interpretations: Iterable[str] = (),
    order_lab_tests: bool = False,
    overruled: Overrule | None = None,
) -> Finding:
    """Build a ``Finding`` with the facts' data issues and IgRT status attached.

    ``summary`` is the card's one line in the rule's words; ``immunoparesis_summary`` replaces it where a held
    criterion rests on documented immunoparesis in place of low IgG (an M-component: an IgG value would mislead).
    """
    evaluated = tuple(criteria)
    paresis = any(c.held and c.immunoparesis_in_place_of_igg for c in evaluated)
    return Finding(
        rule=rule,
        recommendation=recommendation,
        population=population,
        as_of=facts.as_of,
        criteria=evaluated,
        dates=dates or KeyDates(t0=facts.index.t0 if facts.index else None, window_end=facts.window_end),
        source=source,
        summary=immunoparesis_summary if paresis and immunoparesis_summary is not None else summary,
        notes=tuple(notes),
        interpretations=tuple(dict.fromkeys(interpretations)),
        data_issues=facts.data_issues,
        on_igrt=facts.igrt.on_igrt,
        order_lab_tests=order_lab_tests,
        overruled=overruled,
    )


def insufficient_data(
    facts: Facts,
    rule: RuleId,
    criteria: Iterable[Criterion],
    *,
    source: SourceRef,
    summary: Message,
    population: Population | None = None,
    action: Message | None = None,
    dates: KeyDates | None = None,
    interpretations: Iterable[str] = (),
    order_lab_tests: bool = False,
) -> Finding:
    """Build an insufficient-data ``Finding``: the decision needs data the record does not hold.

    ``criteria`` name what is missing (``Criterion.unmet``) beside what was evaluated; ``summary`` says what to
    record or measure. ``population``: the population whose criteria need the data, by default the patient's
    primary one (``Facts.primary``). ``action``, where given, leads the notes (what to do, in full), followed by the
    clinical notes (``clinical_notes``, not start-like); without it the finding has no notes.
    """
    return make_finding(
        facts,
        rule=rule,
        recommendation=Recommendation.INSUFFICIENT_DATA,
        population=facts.primary if population is None else population,
        criteria=criteria,
        source=source,
        summary=summary,
        dates=dates,
        notes=() if action is None else (action, *clinical_notes(facts, start_like=False)),
        interpretations=interpretations,
        order_lab_tests=order_lab_tests,
    )


def default_dates(facts: Facts, **extra: Any) -> KeyDates:
    """Return T0 and the window end, plus any ``extra`` ``KeyDates`` fields (dates, ``follow_up_overdue``)."""
    return KeyDates(t0=facts.index.t0 if facts.index else None, window_end=facts.window_end, **extra)
