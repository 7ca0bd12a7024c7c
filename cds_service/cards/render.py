"""Render a guideline ``Finding`` as one CDS Hooks 2.0.1 card, with the ``sid-igrt`` extension.

The card states the recommendation in ``summary`` (< 140 characters), every evaluated criterion with its data in
``detail`` (Markdown), the Medicinrådet document and section in ``source`` and ``links``, and, where they help the
clinician act, ``suggestions`` (remove the draft immunoglobulin order; order IgG, IgA, IgM) and
``overrideReasons``. Optional fields without a value are left out (CDS Hooks "Use of JSON").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from cds_service.cards.i18n import Translator
from cds_service.cards.options import CardOptions
from cds_service.settings import Settings
from fhir_mappers import ImmunoglobulinOrder, code_table
from fhir_mappers.codes import LOINC, NPU
from guideline.concepts import Analyte, Population, Recommendation, RuleId
from guideline.model import Advice, Criterion, Evidence, Finding
from guideline.parameters import describe
from guideline.sources import GUIDELINE_LABEL, SourceRef
from guideline.text import Decimals, Message, msg

CARD_NAMESPACE = uuid.UUID("8f1d0b9e-3c55-4c43-9a4e-6f2f6c1c2b7a")
"""uuid5 namespace: card uuid = uuid5(namespace, card seed + rule), unique per call and reproducible."""
EXTENSION_KEY = "sid-igrt"
RULE_SYSTEM = "urn:sid-igrt:rule"
OVERRIDE_SYSTEM = "urn:sid-igrt:override-reason"
SUMMARY_MAX = 139
SOURCE_LABEL = "Medicinrådet: immunglobulin ved SID, opsummering v1.1 (18.02.2026) med CAR-T/bsAb-tillæg"

DEFAULT_OPTIONS = CardOptions()
ORDER_HOOKS = frozenset({"order-select", "order-sign"})
_INDICATOR_ORDER = {
    Recommendation.NOT_INDICATED: "warning",
    Recommendation.INSUFFICIENT_DATA: "warning",
    Recommendation.STOP: "warning",
}
_INDICATOR_PATIENT_VIEW = {Recommendation.START: "warning", Recommendation.STOP: "warning"}
_POPULATION_NAMES = {
    Population.HAEMATOLOGICAL: msg("1 (haematological disease)"),
    Population.CAR_T_OR_BSAB: msg("2 (CAR-T or bispecific antibody)"),
    Population.ALLO_HSCT: msg("3 (allogeneic HSCT)"),
    Population.OTHER_HYPOGAMMAGLOBULINAEMIA: msg("4 (hypogammaglobulinaemia without haematological disease or HSCT)"),
}
_LAB_ORDERS = {Analyte.IGG: ("lab-igg", "IgG"), Analyte.IGA: ("lab-iga", "IgA"), Analyte.IGM: ("lab-igm", "IgM")}


_IMMUNOPARESIS_SUMMARIES = {
    RuleId.START_POP1: msg("Start IgRT: immunoparesis (IgA, IgM low) in place of low IgG with M-component; infections"),
    RuleId.START_POP2_AFTER_WINDOW: msg(
        "Start IgRT: immunoparesis (IgA, IgM low) in place of low IgG with M-component; infections"
    ),
    RuleId.START_POP2_WINDOW: msg("Start IgRT within 6 months of CAR-T/bsAb: immunoparesis in place of low IgG"),
    RuleId.START_POP3: msg("Start IgRT after allogeneic HSCT: immunoparesis in place of low IgG (M-component)"),
    RuleId.CONSIDER_IGG_BELOW_6: msg(
        "IgRT can be considered: immunoparesis (IgA, IgM low) in place of low IgG with M-component; infections"
    ),
    RuleId.CONSIDER_POP4: msg("IgRT can be considered after specialist work-up: immunoparesis in place of low IgG"),
}
"""Summaries where documented immunoparesis, not an IgG value, met the IgG criterion (the IgG value would mislead)."""


def indicator(finding: Finding, *, hook: str) -> str:
    """Return ``info`` or ``warning``: warnings where the clinician should act or reconsider an order."""
    table = _INDICATOR_ORDER if hook in ORDER_HOOKS else _INDICATOR_PATIENT_VIEW
    return table.get(finding.recommendation, "info")


def summary_message(finding: Finding) -> Message:
    """Return the one-sentence summary of the finding's rule, as a message."""
    d = finding.dates
    igg = _igg_value(finding.criteria)
    texts = {
        RuleId.START_POP2_WINDOW: msg(
            "Start IgRT: IgG {igg} < 4 g/L within 6 months of CAR-T/bsAb; stop by {stop_due}",
            igg=igg,
            stop_due=d.stop_due,
        ),
        RuleId.START_POP3: msg("Start IgRT: IgG {igg} < 4 g/L after allogeneic HSCT", igg=igg),
        RuleId.START_POP1: msg(
            "Start IgRT: persistent IgG {igg} < 4 g/L with severe or recurrent bacterial infections", igg=igg
        ),
        RuleId.START_POP2_AFTER_WINDOW: msg(
            "Start IgRT: persistent IgG {igg} < 4 g/L with severe or recurrent infections after CAR-T/bsAb", igg=igg
        ),
        RuleId.CONSIDER_POP4: msg(
            "IgRT can be considered after specialist work-up: persistent IgG {igg} < 4 g/L, infections", igg=igg
        ),
        RuleId.CONSIDER_IGG_BELOW_6: msg(
            "IgRT can be considered: IgG {igg} < 6 g/L with qualifying bacterial infections", igg=igg
        ),
        RuleId.NOT_INDICATED: msg("IgRT not indicated by Medicinrådet SID criteria (latest IgG {igg})", igg=igg),
        RuleId.NO_RECENT_IGG: msg("IgRT decision needs a recent IgG (none in the last 90 days): order IgG, IgA, IgM"),
        RuleId.NO_IGG_SINCE_T0: msg(
            "IgRT decision needs an IgG taken after CAR-T/bsAb T0 {t0}: order IgG, IgA, IgM", t0=d.t0
        ),
        RuleId.UNCONFIRMED_LOW_IGG: msg(
            "IgG {igg} < 4 g/L not confirmed: repeat IgG, IgA, IgM at least 3 weeks after", igg=igg
        ),
        RuleId.AGE_UNKNOWN: msg(
            "IgRT after CAR-T/bsAb: birth date missing, so adult or child criteria cannot be chosen"
        ),
        RuleId.CHILD_AFTER_CAR_T_OR_BSAB: msg("Child after CAR-T/bsAb: IgRT is an individual assessment"),
        RuleId.PRIMARY_IMMUNODEFICIENCY: msg("Primary immunodeficiency recorded: the SID IgRT criteria do not apply"),
        RuleId.IGRT_START_UNKNOWN: msg(
            "On IgRT with an unknown start date: stop and follow-up dates cannot be computed"
        ),
        RuleId.POP2_SHORT_COURSE_CONTINUE: msg(
            "Continue IgRT started after CAR-T/bsAb on IgG < 4 alone; stop due {stop_due}", stop_due=d.stop_due
        ),
        RuleId.POP2_SHORT_COURSE_STOP: msg(
            "Stop IgRT: 6 months after CAR-T/bsAb passed on {stop_due} (started on IgG < 4 alone)", stop_due=d.stop_due
        ),
        RuleId.STANDARD_PAUSE_SUMMER: msg(
            "Consider pausing IgRT over the summer (1 May-1 Oct); on IgRT since {start}", start=d.igrt_start
        ),
        RuleId.STANDARD_STOP_ATTEMPT: msg(
            "Attempt to stop IgRT: 6-12 months since start {start}, winter included", start=d.igrt_start
        ),
        RuleId.STANDARD_STOP_OVERDUE: msg(
            "Attempt to stop IgRT: stop attempt overdue since {stop_due}, no bacterial infection in 6 months",
            stop_due=d.stop_due,
        ),
        RuleId.STANDARD_CONTINUE_REASSESS: msg(
            "Continue IgRT (infection on IgRT in the last 6 months); reassess on {follow_up}",
            follow_up=d.next_follow_up,
        ),
        RuleId.IGG_NOT_OWN: msg(
            "IgG reflects given immunoglobulin, not own IgG: measure IgG, IgA, IgM from {own_from}",
            own_from=d.own_igg_from,
        ),
        RuleId.M_COMPONENT_UNTYPED: msg(
            "M-component not typed, so total IgG cannot decide: type it and measure IgA and IgM"
        ),
        RuleId.HSCT_TYPE_UNKNOWN: msg(
            "IgG {igg} < 4 g/L after HSCT of unknown type: record allogeneic or autologous to decide", igg=igg
        ),
        RuleId.IGRT_START_BASIS_UNKNOWN: msg(
            "IgRT after CAR-T/bsAb: no own IgG before the start, so the 6-month stop rule cannot be checked"
        ),
        RuleId.CONTINUE_TREATMENT_FAILING: msg(
            "Continue IgRT, do not stop: bacterial infection on IgRT; adjust dose towards trough 6-8 g/L"
        ),
        RuleId.CONTINUE_NEW_HIGH_RISK_PERIOD: msg(
            "Continue IgRT, do not stop: new high-risk period (CAR-T, bsAb or allo-HSCT) until {until}",
            until=d.stop_due,
        ),
        RuleId.INFECTION_NOT_VERIFIED_ON_IGRT: msg(
            "Stop of IgRT not recommended on these data: an infection on IgRT is not verified as bacterial"
        ),
        RuleId.START_CRITERIA_NOT_MET: msg(
            "On IgRT since {start} without IgG < 4 g/L before the start: review the indication",
            start=d.igrt_start,
        ),
        RuleId.CAR_T_DATE_UNKNOWN: msg("CAR-T recorded without the infusion date, which decides here: record it"),
        RuleId.PRELIMINARY_IGG: msg("A newer IgG is still preliminary: decide when the final result is reported"),
        RuleId.INFECTION_NOT_VERIFIED: msg(
            "IgRT decision rests on infections not verified as bacterial: verify them (organism, antibiotic)"
        ),
        RuleId.PATIENT_DECEASED: msg("Patient deceased: no recommendation"),
    }
    if finding.rule == RuleId.START_POP2_WINDOW and d.stop_due is None:
        return msg(
            "Start IgRT: IgG {igg} < 4 g/L within 6 months of CAR-T/bsAb; standard stop rules (infections)", igg=igg
        )
    if finding.rests_on_immunoparesis and finding.rule in _IMMUNOPARESIS_SUMMARIES:
        return _IMMUNOPARESIS_SUMMARIES[finding.rule]
    if finding.rule != RuleId.STANDARD_CONTINUE:
        return texts[finding.rule]
    if d.follow_up_overdue:
        return msg(
            "Continue IgRT (since {start}); follow-up overdue since {follow_up}: reassess now",
            start=d.igrt_start,
            follow_up=d.next_follow_up,
        )
    if d.stop_due and d.stop_due >= finding.as_of:
        return msg(
            "Continue IgRT (since {start}); next follow-up {follow_up}, stop attempt due {stop_due}",
            start=d.igrt_start,
            follow_up=d.next_follow_up,
            stop_due=d.stop_due,
        )
    return msg(
        "Continue IgRT (since {start}); next follow-up {follow_up}: reassess continue, pause or stop",
        start=d.igrt_start,
        follow_up=d.next_follow_up,
    )


def summary(finding: Finding, t: Translator) -> str:
    """Return the one-sentence summary (< 140 characters) for the finding's rule, in ``t``'s language."""
    return fit_summary(t(summary_message(finding)))


def fit_summary(text: str) -> str:
    """Return ``text`` cut to the spec's < 140 characters (with an ellipsis) if it is longer."""
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def render_card(
    finding: Finding,
    *,
    hook: str,
    card_seed: str,
    patient_id: str,
    orders: Sequence[ImmunoglobulinOrder],
    settings: Settings,
    t: Translator,
    advice: Sequence[Advice] = (),
    options: CardOptions = DEFAULT_OPTIONS,
) -> dict[str, Any]:
    """Return the decision card as CDS Hooks JSON (no null or empty fields).

    With ``options.advice == "lines"`` the advice is folded into this card (its lab orders become this card's
    suggestions); with ``"cards"`` the indicator is raised to the highest advice card's, so a client that sorts by
    indicator never shows the decision below its advice (Sandbox pitfall). ``card_seed``: the call's secret seed
    (``Pseudonymizer.card_seed``; the ``hookInstance`` where no feedback is taken, as in the CLI), so that card and
    suggestion uuids cannot be guessed.
    """
    folded = tuple(advice) if options.advice == "lines" else ()
    uid = card_uuid(card_seed, finding.rule.value)
    suggestions = _suggestions(finding, hook=hook, card=uid, patient_id=patient_id, orders=orders, t=t, advice=folded)
    level = indicator(finding, hook=hook)
    if options.advice == "cards" and any(a.warning for a in advice):
        level = "warning" if level == "info" else level
    card: dict[str, Any] = {
        "uuid": uid,
        "summary": summary(finding, t),
        "indicator": level,
        "detail": detail(finding, orders=orders, settings=settings, t=t, advice=folded, options=options),
        "source": _source_json(finding.source, finding.rule.value, settings),
        "links": _links(finding.source, settings, t, pid=finding.rule == RuleId.PRIMARY_IMMUNODEFICIENCY),
        "overrideReasons": _override_reasons(finding, t),
        "extension": {EXTENSION_KEY: decision_extension(finding, orders=orders, settings=settings, t=t, advice=advice)},
    }
    return _finished(card, suggestions)


def card_uuid(card_seed: str, *parts: object) -> str:
    """Return the uuid of a card of this call: uuid5 of the call's card seed and the card's rule (and index)."""
    return str(uuid.uuid5(CARD_NAMESPACE, ":".join((card_seed, *map(str, parts)))))


def suggestion_uuid(card: str, *parts: object) -> str:
    """Return the uuid of a suggestion of the card with uuid ``card`` (as unguessable as the card's)."""
    return str(uuid.uuid5(uuid.UUID(card), ":".join(map(str, parts))))


def render_advice_card(
    advice: Advice, *, index: int, card_seed: str, patient_id: str, settings: Settings, t: Translator
) -> dict[str, Any]:
    """Return one advice card (dose, product, M-component, monitoring, prerequisites) as CDS Hooks JSON.

    Only with the ``advice: cards`` option; the same content is otherwise folded into the decision card.
    """
    tm = t.markdown()
    lines = [_criterion_line(c, tm) for c in advice.criteria]
    if advice.notes:
        lines += ["", *(f"- {tm(note)}" for note in advice.notes)]
    lines += _interpretation_lines(advice.interpretations, settings, tm)
    lines += ["", _source_line(advice.source, tm)]
    uid = card_uuid(card_seed, advice.rule.value, index)
    suggestions = [_lab_order(uid, analyte, patient_id, t) for analyte in advice.lab_orders]
    card: dict[str, Any] = {
        "uuid": uid,
        "summary": fit_summary(t(advice.summary)),
        "indicator": "warning" if advice.warning else "info",
        "detail": "\n".join(lines).strip(),
        "source": _source_json(advice.source, advice.rule.value, settings),
        "links": _links(advice.source, settings, t),
        "extension": {EXTENSION_KEY: advice_extension(advice, settings=settings, t=t)},
    }
    return _finished(card, suggestions)


def _source_json(source: SourceRef, rule: str, settings: Settings) -> dict[str, Any]:
    """``card.source``: the Medicinrådet label and document, ``topic`` = the rule id (for override persistence)."""
    return {
        "label": SOURCE_LABEL,
        "url": _document_url(source, settings),
        "topic": {"system": RULE_SYSTEM, "code": rule, "display": source.section[:100]},
    }


def _finished(card: dict[str, Any], suggestions: list[dict[str, Any]]) -> dict[str, Any]:
    """The card with its suggestions (``selectionBehavior`` exactly when there are some), empty fields pruned."""
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "any"
    pruned: dict[str, Any] = prune(card)
    return pruned


def advice_extension(advice: Advice, *, settings: Settings, t: Translator) -> dict[str, Any]:
    """Return the machine-readable advice: kind, rule, summary, criteria, values and settings."""
    return {
        "kind": advice.kind.value,
        "rule": advice.rule.value,
        "summary": t(advice.summary),
        "warning": advice.warning,
        "guideline": {
            "document": advice.source.document,
            "version": advice.source.version,
            "section": advice.source.section,
        },
        "criteria": [_criterion_json(c, t) for c in advice.criteria],
        "values": dict(advice.values),
        "interpretations": _interpretations_json(advice.interpretations, settings, t),
    }


MAX_FACTS = 5
"""Lines of decisive facts shown before "Details"."""
MAX_ADVICE_LINES = 3
"""Advice lines shown before "Details" (only advice that asks the clinician to act)."""


def detail(
    finding: Finding,
    *,
    orders: Sequence[ImmunoglobulinOrder],
    settings: Settings,
    t: Translator,
    advice: Sequence[Advice] = (),
    options: CardOptions = DEFAULT_OPTIONS,
) -> str:
    """Return the Markdown detail, decision first.

    Top to bottom: what to do now; the next date that matters; the decisive facts with values and dates; at most
    three advice lines that change what to do now; the guideline section. Then, under "Details", the full trace in
    plain language: every criterion with its data, dates, notes, all advice, the settings that shaped the answer
    (in words) and the data that was not used. No rule ids, setting names or resource ids: those are in
    ``extension["sid-igrt"]``. Text from the EHR is escaped (``Translator.markdown``).
    """
    tm = t.markdown()
    lines = [f"**{tm(_ACTIONS[finding.recommendation])}**"]
    next_date = _next_date(finding)
    lead = _lead_note(finding)
    lead_text = tm(lead) if lead is not None else ""
    if next_date is not None and not _same_date_said(next_date, lead_text):
        lines.append(tm(next_date))
    if lead_text:
        lines.append(lead_text)
    lines.append("")
    lines += [_fact_line(c, tm) for c in _decisive(finding)]
    acting = [a for a in advice if a.warning][:MAX_ADVICE_LINES]
    if acting:
        lines += ["", *(f"- {tm(a.summary)}" for a in acting)]
    lines += ["", tm(msg("Medicinrådet: {section}", section=finding.source.section))]
    if not options.details:
        return "\n".join(lines)
    lines += ["", "**" + tm(_DETAILS) + "**", ""]
    population = _POPULATION_NAMES[finding.population] if finding.population else msg("none applies")
    lines.append(tm(msg("Population {population}; evaluated {as_of}.", population=population, as_of=finding.as_of)))
    if orders:
        lines.append(tm(msg("Immunoglobulin order: {orders}", orders=tuple(o.display for o in orders))))
    lines += ["", tm(msg("Criteria:")), *(_criterion_line(c, tm) for c in finding.criteria)]
    dates = _date_lines(finding, tm)
    if dates:
        lines += ["", tm(msg("Dates:")), *dates]
    notes = [n for n in finding.notes if n is not lead]
    if notes:
        lines += ["", tm(msg("Notes:")), *(f"- {tm(note)}" for note in notes)]
    if advice:
        lines += ["", tm(msg("Advice:"))]
        for item in advice:
            lines.append(f"- {tm(item.summary)}")
            lines += [f"  {_criterion_line(c, tm)}" for c in item.criteria]
    lines += _interpretation_lines(finding.interpretations, settings, tm)
    if finding.data_issues:
        lines += ["", tm(msg("Data not used:"))]
        lines += [f"- {_resource_type(issue.ref)}: {tm(issue.reason)}" for issue in finding.data_issues]
    lines += ["", _source_line(finding.source, tm)]
    return "\n".join(lines)


_ACTIONS = {
    Recommendation.START: msg("Start IgRT."),
    Recommendation.CONSIDER: msg("IgRT can be considered: a clinical judgement."),
    Recommendation.NOT_INDICATED: msg("Do not start IgRT on these data; consider targeted antibiotic prophylaxis."),
    Recommendation.INSUFFICIENT_DATA: msg("Not decided: the data needed is missing or cannot be used."),
    Recommendation.INDIVIDUAL_ASSESSMENT: msg("Individual assessment: these criteria do not decide for this patient."),
    Recommendation.CONTINUE: msg("Continue IgRT."),
    Recommendation.PAUSE: msg("Consider pausing IgRT over the summer."),
    Recommendation.STOP: msg("Attempt to stop IgRT now."),
}
"""What to do now, the first line of every decision card."""
_DETAILS = msg("Details")
_LEAD_NOTE_RECOMMENDATIONS = frozenset(
    {Recommendation.INSUFFICIENT_DATA, Recommendation.INDIVIDUAL_ASSESSMENT, Recommendation.CONSIDER}
)


def _lead_note(finding: Finding) -> Message | None:
    """The note that says what to do, shown at the top where the recommendation itself does not say it.

    A stop or pause a safety check overruled always leads with that check's one line (``guideline.safety``).
    """
    if finding.overruled is not None:
        return finding.overruled.reason
    if finding.recommendation in _LEAD_NOTE_RECOMMENDATIONS and finding.notes:
        return finding.notes[0]
    return None


def _same_date_said(line: Message, text: str) -> bool:
    """Whether every date of a next-date line is already in ``text`` (the lead note says them in its own words)."""
    dates = _dates_in(line)
    return bool(dates) and all(day.isoformat() in text for day in dates)


def _dates_in(message: Message) -> list[date]:
    found: list[date] = []
    for _, value in message.params:
        if isinstance(value, Message):
            found += _dates_in(value)
        elif isinstance(value, date):
            found.append(value)
    return found


def _next_date(finding: Finding) -> Message | None:
    """The one next date that matters for this recommendation (never two that conflict).

    The standard stop attempt is a window, "6-12 måneder efter" the start: from ``stop_due`` to
    ``stop_attempt_until``. "At the latest" is only for the CAR-T/bsAb 6-month stop (addendum §4.1, §4.2).
    """
    d, today = finding.dates, finding.as_of
    if d.own_igg_from is not None:
        return msg("Own IgG can be measured from {date}.", date=d.own_igg_from)
    if finding.recommendation == Recommendation.STOP and d.stop_due is not None:
        if d.stop_attempt_until is not None:
            if today >= d.stop_attempt_until:
                return msg(
                    "The stop attempt was due from {date} to {until}.", date=d.stop_due, until=d.stop_attempt_until
                )
            return msg("Stop attempt due from {date} to {until}.", date=d.stop_due, until=d.stop_attempt_until)
        if d.stop_due < today:
            return msg("The stop was due on {date} at the latest.", date=d.stop_due)
        return msg("Stop due {date} at the latest.", date=d.stop_due)
    if finding.recommendation == Recommendation.START and d.stop_due is not None:
        return msg("Stop by {date} at the latest (6 months after CAR-T/bsAb).", date=d.stop_due)
    if d.next_follow_up is None:
        return None
    if d.follow_up_overdue:
        follow = msg("Follow-up overdue since {date}.", date=d.next_follow_up)
    else:
        follow = msg("Next follow-up {date}.", date=d.next_follow_up)
    if d.stop_due is None or d.stop_due < today or d.stop_due == d.next_follow_up:
        return follow
    if d.stop_attempt_until is not None:
        return msg(
            "{follow} Stop attempt from {date} to {until}.", follow=follow, date=d.stop_due, until=d.stop_attempt_until
        )
    if finding.overruled is not None:
        return msg("{follow} Reassess the stop on {date}.", follow=follow, date=d.stop_due)
    return msg("{follow} Stop by {date} at the latest.", follow=follow, date=d.stop_due)


_CONTEXT_CRITERIA = ("population-", "adult")
"""Criteria that place the patient (population, age): shown under Details; the top shows what decided."""


def _decisive(finding: Finding) -> list[Criterion]:
    """The facts the decision rests on: required criteria, and informative ones that failed (what is missing).

    A held population or age criterion is context, not a reason, and stays under Details.
    """
    required = [c for c in finding.criteria if c.required and not (c.held and c.id.startswith(_CONTEXT_CRITERIA))]
    missing = [c for c in finding.criteria if not c.required and c.held is False]
    return (required + missing)[:MAX_FACTS]


def _fact_line(criterion: Criterion, tm: Translator) -> str:
    description = tm(criterion.description)
    shown = _evidence_texts(criterion.evidence[:1], description, tm)
    return f"- {_MARK[criterion.held]} {description}" + (f": {'; '.join(shown)}" if shown else "")


def decision_extension(
    finding: Finding,
    *,
    orders: Sequence[ImmunoglobulinOrder],
    settings: Settings,
    t: Translator,
    advice: Sequence[Advice] = (),
) -> dict[str, Any]:
    """Return ``extension["sid-igrt"]``: the machine-readable decision (documented in docs/cards.md), complete."""
    d = finding.dates
    return {
        "kind": "decision",
        "recommendation": finding.recommendation.value,
        "population": int(finding.population) if finding.population else None,
        "rule": finding.rule.value,
        "guideline": {
            "document": finding.source.document,
            "version": finding.source.version,
            "section": finding.source.section,
        },
        "criteria": [_criterion_json(c, t) for c in finding.criteria],
        "dates": {
            "asOf": finding.as_of.isoformat(),
            "t0": _iso(d.t0),
            "windowEnd": _iso(d.window_end),
            "igrtStart": _iso(d.igrt_start),
            "stopDue": _iso(d.stop_due),
            "nextFollowUp": _iso(d.next_follow_up),
            "ownIggFrom": _iso(d.own_igg_from),
            "stopAttemptUntil": _iso(d.stop_attempt_until),
            "followUpOverdue": d.follow_up_overdue or None,
        },
        "onIgrt": finding.on_igrt,
        "overruled": None
        if finding.overruled is None
        else {
            "check": finding.overruled.check,
            "proposedRule": finding.overruled.proposed_rule.value,
            "proposedRecommendation": finding.overruled.proposed.value,
            "reason": t(finding.overruled.reason),
        },
        "notes": [t(note) for note in finding.notes],
        "interpretations": _interpretations_json(finding.interpretations, settings, t),
        "dataIssues": [{"resource": i.ref, "reason": t(i.reason)} for i in finding.data_issues],
        "orders": [{"resource": o.ref, "display": o.display, "matched": o.matched} for o in orders],
        "advice": [advice_extension(a, settings=settings, t=t) for a in advice],
        "language": t.language,
    }


def prune(value: Any) -> Any:
    """Remove ``None``, empty strings, lists and objects, recursively (CDS Hooks forbids null/empty values).

    Cards are built here from dicts and lists only, so exact types are checked (this runs on every card field).
    """
    if type(value) is dict:
        return {key: kept for key, item in value.items() if (kept := _pruned(item)) is not _EMPTY}
    if type(value) is list:
        return [kept for item in value if (kept := _pruned(item)) is not _EMPTY]
    return value


_EMPTY = object()


def _pruned(item: Any) -> Any:
    """``item`` pruned, or ``_EMPTY`` when nothing of it is left."""
    kind = type(item)
    if kind is dict or kind is list:
        item = prune(item)
        return item if item else _EMPTY
    return _EMPTY if item is None or item == "" else item


def _interpretation_lines(names: Sequence[str], settings: Settings, t: Translator) -> list[str]:
    """The settings that shaped the answer, in words: "<description> (here: <value>)"; no setting names."""
    if not names:
        return []
    return [
        "",
        t(msg("Settings that shaped this answer:")),
        *("- " + t(_setting_line(_description(name), _shown_value(settings, name))) for name in names),
    ]


def _setting_line(description: Message, value: Any) -> Message:
    return msg("{description} (here: {value})", description=description, value=value)


def _shown_value(settings: Settings, name: str) -> Any:
    value = _setting_value(settings, name)
    if isinstance(value, bool):
        return msg("yes") if value else msg("no")
    return value


def _interpretations_json(names: Sequence[str], settings: Settings, t: Translator) -> list[dict[str, Any]]:
    return [
        {"name": name, "value": _setting_value(settings, name), "description": t(_description(name))} for name in names
    ]


def _description(name: str) -> Message:
    # The settings' descriptions are message ids too; the catalog test checks each has a Danish translation.
    return Message(msgid=describe(name))


def _source_line(source: SourceRef, t: Translator) -> str:
    return t(
        msg(
            'Source: Medicinrådet, *{document}*, version {version}, section "{section}".',
            document=source.document,
            version=source.version,
            section=source.section,
        )
    )


_MARK = {True: "✓", False: "✗", None: "?"}
"""Met, not met, undetermined: one glyph, the same in every language (the words are in the Details legend)."""


def _criterion_line(criterion: Criterion, t: Translator) -> str:
    role = "" if criterion.required else t(msg(" (for information)"))
    description = t(criterion.description)
    shown = _evidence_texts(criterion.evidence, description, t)
    return f"- {_MARK[criterion.held]} {description}{role}" + (f": {'; '.join(shown)}" if shown else "")


def _evidence_texts(evidence: Sequence[Evidence], description: str, t: Translator) -> list[str]:
    """Evidence in words (text and date), without what the description already says, each distinct text once.

    Five doses read "immunoglobulin" once, not five times; every item and its id stay in the extension.
    """
    shown = []
    for item in evidence:
        text = t(item.text)
        if text in description:
            continue
        day = item.on.isoformat() if item.on is not None else None
        shown.append(f"{text} ({day})" if day is not None and day not in text else text)
    return list(dict.fromkeys(shown))


def _resource_type(ref: str) -> str:
    """``"Observation"`` of ``"Observation/igg-1"``: what kind of data, without its id."""
    return ref.split("/", 1)[0] if "/" in ref else ref


def _criterion_json(criterion: Criterion, t: Translator) -> dict[str, Any]:
    return {
        "id": criterion.id,
        "description": t(criterion.description),
        "result": {True: "met", False: "not-met", None: "undetermined"}[criterion.held],
        "held": criterion.held,
        "required": criterion.required,
        "evidence": [
            {
                "text": t(e.text),
                "resource": e.ref,
                "value": e.value,
                "comparator": e.comparator,
                "unit": e.unit,
                "date": _iso(e.on),
            }
            for e in criterion.evidence
        ],
    }


_OWN_IGG_FROM = msg("Own IgG can be measured from")


def _date_lines(finding: Finding, t: Translator) -> list[str]:
    d = finding.dates
    labels = (
        (msg("T0 (CAR-T infusion or bsAb course start)"), d.t0),
        (msg("End of the 6-month window (T0 + 6 calendar months)"), d.window_end),
        (msg("IgRT start"), d.igrt_start),
        (msg("Stop due / stop attempt due"), d.stop_due),
        (msg("Next follow-up"), d.next_follow_up),
    )
    return [f"- {t(label)}: {day.isoformat()}" for label, day in labels if day is not None] + (
        ["- " + t(_OWN_IGG_FROM) + ": " + d.own_igg_from.isoformat()] if d.own_igg_from else []
    )


def _igg_value(criteria: Sequence[Criterion]) -> Message:
    for criterion in criteria:
        if criterion.id.startswith("igg-below"):
            for e in criterion.evidence:
                if e.value is not None:
                    value = e.value if e.decimals is None else Decimals(e.value, e.decimals)
                    if e.comparator:
                        return msg("{comparator} {value} g/L", comparator=e.comparator, value=value)
                    return msg("{value} g/L", value=value)
    return msg("not measured")


def _suggestions(
    finding: Finding,
    *,
    hook: str,
    card: str,
    patient_id: str,
    orders: Sequence[ImmunoglobulinOrder],
    t: Translator,
    advice: Sequence[Advice] = (),
) -> list[dict[str, Any]]:
    suggestions: list[dict[str, Any]] = []
    if hook in ORDER_HOOKS and finding.recommendation in (Recommendation.NOT_INDICATED, Recommendation.STOP):
        for order in orders:
            suggestions.append(
                {
                    "label": t(msg("Remove the draft immunoglobulin order ({display})", display=order.display)),
                    "uuid": suggestion_uuid(card, "remove", order.ref),
                    "isRecommended": True,
                    "actions": [
                        {
                            "type": "delete",
                            "description": t(
                                msg(
                                    "Remove the draft order ({display}): not indicated per Medicinrådet's SID criteria",
                                    display=order.display,
                                )
                                if finding.recommendation == Recommendation.NOT_INDICATED
                                else msg(
                                    "Remove the draft order ({display}): stop per Medicinrådet's SID criteria",
                                    display=order.display,
                                )
                            ),
                            "resourceId": order.ref,
                        }
                    ],
                }
            )
    analytes = [Analyte.IGG, Analyte.IGA, Analyte.IGM] if finding.order_lab_tests else []
    analytes += [a for item in advice for a in item.lab_orders if a not in analytes]
    suggestions += [_lab_order(card, a, patient_id, t) for a in _LAB_ORDERS if a in analytes]
    return suggestions


def _lab_order(card: str, analyte: Analyte, patient_id: str, t: Translator) -> dict[str, Any]:
    """A suggestion to order serum IgG, IgA or IgM (a draft ServiceRequest with LOINC and NPU codings)."""
    concept, name = _LAB_ORDERS[analyte]
    codings = [
        {"system": system, "code": code, "display": display}
        for system, code, display in code_table().codings_for(concept, systems=(LOINC, NPU))
    ]
    return {
        "label": t(msg("Order serum {name}", name=name)),
        "uuid": suggestion_uuid(card, "order", concept),
        "isRecommended": True,
        "actions": [
            {
                "type": "create",
                "description": t(msg("Order serum {name} (Monitorering af effekt: IgG, IgA and IgM)", name=name)),
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "draft",
                    "intent": "order",
                    "code": {"coding": codings, "text": f"Serum {name}"},
                    "subject": {"reference": f"Patient/{patient_id}"},
                },
            }
        ],
    }


def _override_reasons(finding: Finding, t: Translator) -> list[dict[str, str]]:
    reasons = [
        ("clinical-judgement", msg("Clinical judgement: patient-specific circumstances documented in the record")),
        ("data-not-in-ehr", msg("Relevant data are not in the EHR (e.g. external results or infections)")),
    ]
    if finding.recommendation == Recommendation.STOP:
        reasons.append(
            ("community-infection-risk", msg("Short extension: high community risk of antibiotic-requiring infections"))
        )
    if finding.recommendation in (Recommendation.NOT_INDICATED, Recommendation.CONSIDER):
        reasons.append(("low-igg-decisive", msg("Specialist judges low IgG a decisive factor for the infections")))
    return [{"system": OVERRIDE_SYSTEM, "code": code, "display": t(display)} for code, display in reasons]


def _links(source: SourceRef, settings: Settings, t: Translator, *, pid: bool = False) -> list[dict[str, Any]]:
    """Absolute links to the guideline texts.

    ``autoLaunchable`` (optional in CDS Hooks 2.0.1) is sent as ``false``: clients built on models that require it
    (healthchain 0.16) would otherwise refuse the whole card.
    """
    links: list[dict[str, Any]] = [
        {
            "label": t(msg("Medicinrådet: {section}", section=source.section))[:200],
            "url": _document_url(source, settings),
            "type": "absolute",
            "autoLaunchable": False,
        },
    ]
    if pid:
        links.append(
            {
                "label": t(msg("Medicinrådet: immunoglobulin in primary immunodeficiency")),
                "url": settings.pid_guideline_url,
                "type": "absolute",
                "autoLaunchable": False,
            }
        )
    links.append(
        {
            "label": t(msg("Medicinrådet guidelines ({label})", label=GUIDELINE_LABEL)),
            "url": settings.listing_url,
            "type": "absolute",
            "autoLaunchable": False,
        }
    )
    return links


def _document_url(source: SourceRef, settings: Settings) -> str:
    return settings.addendum_url if source.document_key == "addendum" else settings.guideline_url


def _setting_value(settings: Settings, name: str) -> Any:
    return getattr(settings.parameters, name)


def _iso(day: Any) -> str | None:
    return None if day is None else str(day.isoformat())
