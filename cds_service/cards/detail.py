"""The card's ``detail``: Markdown that fits one screen; the long form (``details`` option) adds the full trace.

The short form (default) is what a clinician reads in the EHR without scrolling: what to do now with the date that
matters, the two to four facts that decided it, and the one next step. Everything else (every criterion, dates,
notes, all advice, the settings that shaped the answer, the data not used) is on the evidence page
(``cds_service.evidence``, the card's SMART link) and in ``extension["sid-igrt"]``; a site that wants it in the card
asks for the long form with the ``details`` card option.

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
from cds_service.cards.phrases import ACTIONS, POPULATION_NAMES, evidence_texts
from cds_service.settings import Settings
from fhir_mappers import ImmunoglobulinOrder
from guideline.concepts import AdviceKind, Recommendation
from guideline.model import Advice, Criterion, Finding
from guideline.sources import SourceRef
from guideline.text import Message, msg, plural

DEFAULT_OPTIONS = CardOptions()
MAX_FACTS = 4
"""Lines of decisive facts in the short form (issue 28: "the two to four criteria that decided it")."""
MAX_ADVICE_LINES = 1
"""Advice lines in the short form: the one next step (advice that asks the clinician to act, most urgent first)."""


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
    next_date = _next_date(finding)
    lead = _lead_note(finding)
    lead_text = tm(lead) if lead is not None else ""
    head = f"**{tm(ACTIONS[finding.recommendation])}**"
    if next_date is not None and not _same_date_said(next_date, lead_text):
        head += " " + tm(next_date)
    lines = [head]
    if lead_text:
        lines.append(lead_text)
    lines.append("")
    # A lead sentence already says what to do: then three facts and no separate next step keep the card on one
    # screen (the next step would repeat it; all advice is on the evidence page).
    lines += [_fact_line(c, tm) for c in _decisive(finding)[: MAX_FACTS - 1 if lead_text else MAX_FACTS]]
    acting = [] if lead_text else next_steps(advice)
    if acting:
        lines += ["", *(tm(msg("Next: {step}", step=a.summary)) for a in acting)]
    if not options.details:
        if finding.data_issues:
            # Data the service could not use is said on the card (never silently dropped); what and why is on the
            # evidence page and in extension["sid-igrt"].dataIssues.
            lines += ["", tm(_not_used(len(finding.data_issues)))]
        return "\n".join(lines)
    lines += ["", tm(msg("Medicinrådet: {section}", section=finding.source.section))]
    lines += ["", "**" + tm(_DETAILS) + "**", ""]
    population = POPULATION_NAMES[finding.population] if finding.population else msg("none applies")
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


_DETAILS = msg("Details")
_LEAD_NOTE_RECOMMENDATIONS = frozenset(
    {Recommendation.INSUFFICIENT_DATA, Recommendation.INDIVIDUAL_ASSESSMENT, Recommendation.CONSIDER}
)


_ADVICE_URGENCY = (AdviceKind.DOSE, AdviceKind.PRODUCT, AdviceKind.M_COMPONENT, AdviceKind.MONITORING)
"""Which acting advice is the next step when several ask for action: a wrong dose or product first."""


def next_steps(advice: Sequence[Advice]) -> list[Advice]:
    """The advice shown as the next step in the short form: at most ``MAX_ADVICE_LINES`` that ask the clinician to act.

    A dose or product warning comes before a missing measurement or prerequisite (they change the order being
    signed); the rest is on the evidence page and in ``extension["sid-igrt"].advice``.
    """
    acting = [a for a in advice if a.warning]
    rank = {kind: i for i, kind in enumerate(_ADVICE_URGENCY)}
    return sorted(acting, key=lambda a: rank.get(a.kind, len(rank)))[:MAX_ADVICE_LINES]


def _not_used(count: int) -> Message:
    return plural(
        "{count} record could not be used: what and why under Evidence and timeline",
        "{count} records could not be used: what and why under Evidence and timeline",
        count,
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

    A held population or age criterion is context, not a reason, and stays in the long form. When a safety check
    overruled a stop or pause, its criterion decided and comes first (the proposal's criteria follow).
    """
    required = [c for c in finding.criteria if c.required and not (c.held and c.id.startswith(_CONTEXT_CRITERIA))]
    missing = [c for c in finding.criteria if not c.required and c.held is False]
    facts = required + missing
    if finding.overruled is not None:
        facts.sort(key=lambda c: not c.id.startswith(_SAFETY_CRITERIA))
    return facts[:MAX_FACTS]


_SAFETY_CRITERIA = "safety-"
"""The criterion a safety check adds when it overrules a stop or pause (``guideline.safety``)."""


def _fact_line(criterion: Criterion, tm: Translator) -> str:
    description = tm(criterion.description)
    shown = evidence_texts(criterion.evidence[:1], description, tm)
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
    shown = evidence_texts(criterion.evidence, description, t)
    return f"- {_MARK[criterion.held]} {description}{role}" + (f": {'; '.join(shown)}" if shown else "")


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
