"""Monitoring rules: the measurements before a start, stop markers, infections after a stop.

Sources: Opsummering, "Monitorering af effekt", "Kriterier for seponering", "Pausering"; addendum §3.4, §4.3.

* Before a start: IgG measured twice at least 3 weeks apart, at least one sample without active infection
  (``guideline.infections.active_infection``: onset to abatement, or ``active_infection_days`` without an
  abatement date, **interpretation**), both own IgG; IgA and IgM measured. What is missing is named and offered
  as lab orders.
* After a start (patient-view): the follow-up reminder (``guideline.follow_up``).
* Stop or pause: immune recovery needs an IgG measured in a period without IgRT; while on IgRT, rising IgA/IgM and
  CD19 B-cell counts support a stop or pause.
* After a stop: infections that recur suggest antibiotic prophylaxis before a restart.
"""

from __future__ import annotations

from datetime import date

from guideline import sources
from guideline.concepts import AdviceKind, AdviceRule, Analyte, MeasurementKind, Recommendation
from guideline.evidence import ANALYTE_LABELS, lab_evidence
from guideline.facts import Facts
from guideline.infections import active_infection
from guideline.labs import confirming_igg, is_recent, latest, results
from guideline.model import Advice, Criterion, Evidence, Finding, LabResult, Measurement
from guideline.text import Message, msg, plural


def before_start_advice(facts: Facts, finding: Finding) -> Advice | None:
    """Return the measurement checklist before a start, when something is missing (start or consider only).

    Source: Opsummering, "Monitorering af effekt" ("Serum IgG målt ved to forskellige tidspunkter med et interval på
    mindst 3 uger med mindst én prøve taget, når patienten ikke har en aktiv infektion. Serumniveauer af IgA og IgM
    bør også måles").
    """
    if finding.on_igrt or finding.recommendation not in (Recommendation.START, Recommendation.CONSIDER):
        return None
    p = facts.p
    newest = facts.igg_recent
    earlier = confirming_igg(facts.decision_labs, newest, p=p) if newest else None
    samples = [lab for lab in (newest, earlier) if lab is not None]
    clean = [lab for lab in samples if active_infection(facts.record.infections, lab.effective, p) is None]
    iga = _recent(facts, Analyte.IGA)
    igm = _recent(facts, Analyte.IGM)
    criteria = (
        Criterion(
            id="igg-twice-3-weeks-apart",
            description=msg("IgG measured twice at least {days} days apart", days=p.igg_confirm_min_gap_days),
            held=earlier is not None,
            evidence=tuple(lab_evidence(lab) for lab in samples),
        ),
        Criterion(
            id="igg-sample-without-active-infection",
            description=msg(
                "At least one IgG sample without active infection (active: onset to abatement, else {days} days "
                "from onset)",
                days=p.active_infection_days,
            ),
            held=bool(clean),
            evidence=tuple(lab_evidence(lab) for lab in clean),
        ),
        _measured(Analyte.IGA, iga, p.igg_recent_max_age_days),
        _measured(Analyte.IGM, igm, p.igg_recent_max_age_days),
    )
    if all(c.held for c in criteria):
        return None
    orders: list[Analyte] = []
    if earlier is None or not clean:
        orders.append(Analyte.IGG)
    orders += [a for a, lab in ((Analyte.IGA, iga), (Analyte.IGM, igm)) if lab is None]
    missing = tuple(c.description for c in criteria if not c.held)
    return Advice(
        kind=AdviceKind.MONITORING,
        rule=AdviceRule.MONITORING_BEFORE_START,
        summary=msg("Before starting IgRT, complete the measurements: {missing}", missing=_names(orders)),
        warning=True,
        criteria=criteria,
        notes=(
            msg("Missing: {missing}.", missing=missing),
            msg(
                "Monitorering af effekt: IgG twice at least 3 weeks apart, at least one sample without active "
                "infection; IgA and IgM too, as they show whether a general immunoparesis remits."
            ),
        ),
        source=sources.MONITORING,
        interpretations=("active_infection_days", "igg_recent_max_age_days"),
        lab_orders=tuple(orders),
    )


def stop_markers_advice(facts: Facts, finding: Finding) -> Advice | None:
    """Return the immune-recovery markers for a stop or pause (IgG without IgRT; IgA, IgM and CD19 trends).

    Source: Opsummering, "Kriterier for seponering" (under IgRT, rising IgA and/or IgM with B-cell counts support a
    stop or pause); addendum §3.4 (immune recovery needs an IgG measured in a period without IgRT).
    """
    episode = facts.igrt.current
    if episode is None or finding.recommendation not in (Recommendation.STOP, Recommendation.PAUSE):
        return None
    off_igrt = [lab for lab in results(facts.own_labs, Analyte.IGG, as_of=facts.as_of) if lab.effective > episode.end]
    criteria = [
        Criterion(
            id="igg-without-igrt",
            description=msg(
                "Own IgG measured in a period without IgRT (from {own_from}, {days} days after the last dose {end}); "
                "> 4 g/L means immune recovery",
                own_from=facts.own_igg_from or episode.end,
                days=facts.p.igg_washout_days,
                end=episode.end,
            ),
            held=bool(off_igrt) or None,
            required=False,
            evidence=tuple(lab_evidence(lab) for lab in off_igrt[:1]),
        ),
        _trend_criterion(facts, Analyte.IGA, episode.start),
        _trend_criterion(facts, Analyte.IGM, episode.start),
        _cd19_criterion(facts, episode.start),
    ]
    rising = [c for c in criteria[1:] if c.held]
    markers = tuple(_MARKER_LABELS[c.id] for c in rising)
    stop = finding.recommendation == Recommendation.STOP
    if rising:
        summary = (
            msg("Recovery markers support the stop attempt: {markers} rising on IgRT", markers=markers)
            if stop
            else msg("Recovery markers support the pause: {markers} rising on IgRT", markers=markers)
        )
    else:
        summary = (
            msg("Before the stop attempt: no rising IgA, IgM or B cells on IgRT; plan an IgG without IgRT")
            if stop
            else msg("Before the pause: no rising IgA, IgM or B cells on IgRT; plan an IgG without IgRT")
        )
    return Advice(
        kind=AdviceKind.MONITORING,
        rule=AdviceRule.MONITORING_STOP_MARKERS,
        summary=summary,
        criteria=tuple(criteria),
        notes=(
            msg(
                "Under IgRT, IgG cannot be used alone as a marker of B-cell function: the products contain minimal "
                "IgA and IgM, so rising IgA and/or IgM with B-cell counts support an attempt to stop or pause "
                "(Kriterier for seponering). Immune recovery (IgG > 4 g/L) needs an IgG measured in a period "
                "without IgRT (addendum §3.4)."
            ),
        ),
        source=sources.STOP_MARKERS,
    )


def infections_after_stop_advice(facts: Facts) -> Advice | None:
    """Return the prophylaxis-before-restart card when infections recurred after IgRT was stopped.

    Source: Opsummering, "Kriterier for seponering, Pausering" (antibiotic prophylaxis as an alternative to a
    restart); addendum §4.3.
    """
    if facts.igrt.on_igrt or not facts.igrt.ended:
        return None
    stopped = facts.igrt.ended[-1].end
    after = [e for e in facts.episodes if stopped < e.onset <= facts.as_of]
    if not after:
        return None
    return Advice(
        kind=AdviceKind.MONITORING,
        rule=AdviceRule.MONITORING_INFECTIONS_AFTER_STOP,
        summary=plural(
            "{count} bacterial infection since IgRT stopped ({stopped}): consider antibiotic prophylaxis before a "
            "restart",
            "{count} bacterial infections since IgRT stopped ({stopped}): consider antibiotic prophylaxis before a "
            "restart",
            len(after),
            stopped=stopped,
        ),
        warning=True,
        criteria=(
            Criterion(
                id="infections-after-stop",
                description=msg("Bacterial infections after the IgRT stop on {stopped}", stopped=stopped),
                held=True,
                evidence=tuple(e.evidence() for e in after),
            ),
        ),
        notes=(
            msg(
                "Pausering: if infections recur, antibiotic prophylaxis can be considered as an alternative to "
                "restarting immunoglobulin; after CAR-T/bsAb, antibiotic prophylaxis can be tried when infections "
                "follow the stop (addendum §4.3). A restart follows the standard start criteria."
            ),
        ),
        source=sources.PAUSE,
    )


_MARKER_LABELS = {"iga-rising": "IgA", "igm-rising": "IgM", "cd19-rising": "CD19"}


def _recent(facts: Facts, analyte: Analyte) -> LabResult | None:
    found = latest(facts.record.labs, analyte, as_of=facts.as_of)
    return found if found and is_recent(found, as_of=facts.as_of, p=facts.p) else None


def _measured(analyte: Analyte, lab: LabResult | None, days: int) -> Criterion:
    return Criterion(
        id=f"{analyte.value}-measured",
        description=msg("{analyte} measured in the last {days} days", analyte=ANALYTE_LABELS[analyte], days=days),
        held=lab is not None,
        evidence=() if lab is None else (lab_evidence(lab),),
    )


def _names(analytes: list[Analyte]) -> Message:
    labels = tuple(ANALYTE_LABELS[a] for a in analytes) or (msg("sample without active infection"),)
    return msg("{names}", names=labels)


def _trend_criterion(facts: Facts, analyte: Analyte, start: date) -> Criterion:
    """IgA or IgM: the latest on IgRT above the last value before the IgRT start."""
    label = ANALYTE_LABELS[analyte]
    series = results(facts.record.labs, analyte, as_of=facts.as_of)
    baseline = next((lab for lab in series if lab.effective <= start), None)
    current = next((lab for lab in series if lab.effective > start), None)
    description = msg("{analyte} rising on IgRT (latest above the last value before the start)", analyte=label)
    if baseline is None or current is None:
        return Criterion(id=f"{analyte.value}-rising", description=description, held=None, required=False)
    return Criterion(
        id=f"{analyte.value}-rising",
        description=description,
        held=current.value_g_per_l > baseline.value_g_per_l and current.comparator is None,
        required=False,
        evidence=(lab_evidence(baseline), lab_evidence(current)),
    )


def _cd19_criterion(facts: Facts, start: date) -> Criterion:
    """CD19 B cells (absolute, else %): the latest on IgRT above the earliest on IgRT or before it."""
    description = msg("CD19 B cells rising (latest above the earlier count)")
    for kind in (MeasurementKind.CD19_ABSOLUTE, MeasurementKind.CD19_PERCENT):
        series: list[Measurement] = sorted(
            (m for m in facts.record.measurements if m.kind == kind and m.effective <= facts.as_of),
            key=lambda m: (m.effective, m.ref),
        )
        if len(series) >= 2 and series[-1].effective > start:
            first, last = series[0], series[-1]
            return Criterion(
                id="cd19-rising",
                description=description,
                held=last.value > first.value,
                required=False,
                evidence=tuple(
                    Evidence(
                        text=msg("CD19 {value} {unit}", value=m.value, unit=m.unit),
                        ref=m.ref,
                        value=m.value,
                        unit=m.unit,
                        on=m.effective,
                    )
                    for m in (first, last)
                ),
            )
    return Criterion(id="cd19-rising", description=description, held=None, required=False)
