"""The card's ``detail``: Markdown, decision first, then the full trace in plain language under "Details".

No rule ids, setting names or resource ids appear here: those are in ``extension["sid-igrt"]``
(``cds_service.cards.extension``). Text from the EHR is escaped (``Translator.markdown``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from cds_service.cards.extension import setting_description, setting_value
from cds_service.cards.i18n import Translator
from cds_service.cards.options import CardOptions
from cds_service.settings import Settings
from fhir_mappers import ImmunoglobulinOrder
from guideline.concepts import Population, Recommendation
from guideline.model import Advice, Criterion, Evidence, Finding
from guideline.sources import SourceRef
from guideline.text import Message, msg

DEFAULT_OPTIONS = CardOptions()
_POPULATION_NAMES = {
    Population.HAEMATOLOGICAL: msg("1 (haematological disease)"),
    Population.CAR_T_OR_BSAB: msg("2 (CAR-T or bispecific antibody)"),
    Population.ALLO_HSCT: msg("3 (allogeneic HSCT)"),
    Population.OTHER_HYPOGAMMAGLOBULINAEMIA: msg("4 (hypogammaglobulinaemia without haematological disease or HSCT)"),
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


def advice_detail(advice: Advice, *, settings: Settings, t: Translator) -> str:
    """Return the Markdown detail of an advice card: its criteria, notes, the settings that shaped it, its source."""
    tm = t.markdown()
    lines = [_criterion_line(c, tm) for c in advice.criteria]
    if advice.notes:
        lines += ["", *(f"- {tm(note)}" for note in advice.notes)]
    lines += _interpretation_lines(advice.interpretations, settings, tm)
    lines += ["", _source_line(advice.source, tm)]
    return "\n".join(lines).strip()


def _interpretation_lines(names: Sequence[str], settings: Settings, t: Translator) -> list[str]:
    """The settings that shaped the answer, in words: "<description> (here: <value>)"; no setting names."""
    if not names:
        return []
    return [
        "",
        t(msg("Settings that shaped this answer:")),
        *("- " + t(_setting_line(setting_description(name), _shown_value(settings, name))) for name in names),
    ]


def _setting_line(description: Message, value: Any) -> Message:
    return msg("{description} (here: {value})", description=description, value=value)


def _shown_value(settings: Settings, name: str) -> Any:
    value = setting_value(settings, name)
    if isinstance(value, bool):
        return msg("yes") if value else msg("no")
    return value


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
