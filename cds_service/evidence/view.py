"""The evidence page's content, in one language: a ``Decision`` read into plain, translated values for the template.

Nothing here formats HTML (the template does, escaping every value: EHR text is data). No patient identifiers, no
resource ids, no setting names: the patient is an age, data is named by its kind ("Lab result"), settings by their
description with their value. Every word comes from ``cds_service.evidence.words`` or the guideline's own messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from cds_service.cards.i18n import Translator
from cds_service.cards.phrases import ACTIONS, evidence_texts
from cds_service.evidence import words
from cds_service.evidence.context import EvidenceContext
from cds_service.settings import Settings
from decision import Decision
from guideline.calendar import age_in_years
from guideline.concepts import Recommendation, RuleId
from guideline.model import Criterion, DataIssue, Finding, PatientRecord
from guideline.parameters import describe
from guideline.sources import GUIDELINE_VERSION, SourceRef
from guideline.text import Message, join, msg

ROOMY_CHARACTERS = 3000
"""Characters below the timeline that print in two columns at 7.2 pt on one A4 page."""
COMPACT_CHARACTERS = 6000
"""Characters below the timeline that print in three columns at 6.5 pt; more print at 5.9 pt."""
MARKS = {True: "✓", False: "✗", None: "?"}
"""Met, not met, undetermined: the card's glyphs."""


@dataclass(frozen=True)
class CriterionView:
    """One criterion: its glyph and what the glyph means, its text, whether it only informs, and its data."""

    mark: str
    held: str
    state: str
    text: str
    informative: bool
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class AdviceView:
    """One advice card's content: summary, whether it asks the clinician to act, criteria and notes."""

    summary: str
    warning: bool
    criteria: tuple[CriterionView, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class SourceView:
    """A guideline section the page rests on, in words, with the configured link to its document."""

    text: str
    url: str


@dataclass(frozen=True)
class PageView:
    """Everything the template shows, translated; empty strings and tuples are left out by the template.

    ``tone`` is the header's colour class: ``act`` (start, stop), ``consider`` (consider, pause, individual
    assessment), ``keep`` (continue, not indicated), ``missing`` (insufficient data, no decision).
    """

    language: str
    title: str
    subtitle: str
    headline: str
    summary: str
    date_line: str
    lead: str
    tone: str
    patient: str
    notices: tuple[str, ...]
    card_line: str
    headings: dict[str, str]
    legend: str
    criteria: tuple[CriterionView, ...]
    dates: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    advice: tuple[AdviceView, ...]
    not_used: tuple[tuple[str, str], ...]
    settings: tuple[tuple[str, str], ...]
    sources: tuple[SourceView, ...]
    footer: str
    none_shown: str
    for_information: str

    @property
    def density(self) -> str:
        """How densely the page prints to stay on one A4 page: ``roomy``, ``compact`` or ``dense`` (a CSS class).

        From the characters below the timeline: up to ``ROOMY_CHARACTERS`` two columns at 7.2 pt, up to
        ``COMPACT_CHARACTERS`` three at 6.5 pt, more three at 5.9 pt with a lower timeline.
        """
        count = sum(len(text) for text in self._texts())
        if count <= ROOMY_CHARACTERS:
            return "roomy"
        return "compact" if count <= COMPACT_CHARACTERS else "dense"

    def _texts(self) -> Iterator[str]:
        criteria = [*self.criteria, *(c for a in self.advice for c in a.criteria)]
        yield from (c.text for c in criteria)
        yield from (e for c in criteria for e in c.evidence)
        yield from self.notes
        yield from (n for a in self.advice for n in a.notes)
        yield from (a.summary for a in self.advice)
        yield from (f"{kind} {reason}" for kind, reason in self.not_used)
        yield from (f"{description} {value}" for description, value in self.settings)
        yield from (s.text for s in self.sources)


_TONES = {
    Recommendation.START: "act",
    Recommendation.STOP: "act",
    Recommendation.CONSIDER: "consider",
    Recommendation.PAUSE: "consider",
    Recommendation.INDIVIDUAL_ASSESSMENT: "consider",
    Recommendation.CONTINUE: "keep",
    Recommendation.NOT_INDICATED: "keep",
    Recommendation.INSUFFICIENT_DATA: "missing",
}


def page_view(
    decision: Decision | None,
    *,
    settings: Settings,
    t: Translator,
    as_of: date,
    card_context: EvidenceContext | None = None,
    notices: Sequence[Message] = (),
) -> PageView:
    """Return the page's content for ``decision`` on ``as_of`` in ``t``'s language.

    ``notices``: sentences shown under the header (why the page shows another evaluation than the card's service
    made, ``cds_service.evidence.page.explain_request``).
    """
    finding = decision.finding if decision is not None else None
    advice = decision.assessment.advice if decision is not None and decision.assessment is not None else ()
    record = decision.record if decision is not None else None
    birth = (record.birth_date_latest or record.birth_date) if record is not None else None
    age = age_in_years(birth, as_of) if birth is not None else None
    shown = [*notices]
    if finding is not None and decision is not None and decision.outcome == "quiet" and not _deceased(finding):
        shown.append(msg("No card was shown for this decision: the service shows one only when it needs attention."))
    if decision is not None and decision.outcome == "immunomodulation-order" and not notices:
        shown.append(words.IMMUNOMODULATION_ONLY)
    mismatch = _mismatch(card_context, finding)
    if mismatch is not None:
        shown.insert(0, mismatch)
    names = [*(finding.interpretations if finding else ()), *(n for a in advice for n in a.interpretations)]
    sources = [finding.source] if finding is not None else []
    return PageView(
        language=t.language,
        title=t(words.TITLE),
        subtitle=t(words.SUBTITLE),
        headline=t(_headline(finding)),
        summary=t(finding.summary) if finding is not None and not _deceased(finding) else "",
        date_line=_date_line(finding, t),
        lead=_lead(finding, t),
        tone=_TONES[finding.recommendation] if finding is not None else "missing",
        patient=t(words.patient_line(age, finding.population if finding else None, as_of)),
        notices=tuple(t(n) for n in shown),
        card_line=t(_card_line(card_context)) if card_context is not None else "",
        headings={key: t(heading) for key, heading in words.HEADINGS.items()},
        legend=" · ".join(f"{MARKS[held]} {t(word)}" for held, word in words.HELD_WORDS.items()),
        criteria=tuple(_criterion(c, t) for c in (finding.criteria if finding else ())),
        dates=tuple((t(label), day.isoformat()) for label, day in (words.key_dates(finding.dates) if finding else ())),
        notes=tuple(t(n) for n in (finding.notes if finding else ()) if t(n) != _lead(finding, t)),
        advice=tuple(
            AdviceView(
                summary=t(a.summary),
                warning=a.warning,
                criteria=tuple(_criterion(c, t) for c in a.criteria),
                notes=tuple(t(n) for n in a.notes),
            )
            for a in advice
        ),
        not_used=tuple(_issue(issue, t) for issue in _issues(finding, record)),
        settings=tuple(_setting(name, settings, t) for name in dict.fromkeys(names)),
        sources=tuple(_sources([*sources, *(a.source for a in advice)], settings, t)),
        footer=t(
            msg(
                "Decided with {version} as of {as_of}; the card and this page show the same decision.",
                version=GUIDELINE_VERSION,
                as_of=as_of,
            )
        ),
        none_shown=t(words.NONE_SHOWN),
        for_information=t(words.FOR_INFORMATION),
    )


def _deceased(finding: Finding) -> bool:
    return finding.rule == RuleId.PATIENT_DECEASED


def _issues(finding: Finding | None, record: PatientRecord | None) -> tuple[DataIssue, ...]:
    """The data not used: the decision's list, else (no decision) what the mappers could not read."""
    if finding is not None:
        return finding.data_issues
    return record.data_issues if record is not None else ()


def _headline(finding: Finding | None) -> Message:
    if finding is None:
        return words.NO_DECISION
    if finding.rule == RuleId.PATIENT_DECEASED:
        return words.DECEASED
    return ACTIONS[finding.recommendation]


def _date_line(finding: Finding | None, t: Translator) -> str:
    if finding is None:
        return ""
    line = words.date_that_matters(finding.recommendation, finding.dates, finding.as_of)
    return t(line) if line is not None else ""


def _lead(finding: Finding | None, t: Translator) -> str:
    """The sentence under the decision: the safety check that overruled a stop or pause, or a first note.

    The first note leads for a decision that does not say what to do by itself (missing data, individual
    assessment, consider).
    """
    if finding is None:
        return ""
    if finding.overruled is not None:
        return t(finding.overruled.reason)
    leading = (Recommendation.INSUFFICIENT_DATA, Recommendation.INDIVIDUAL_ASSESSMENT, Recommendation.CONSIDER)
    if finding.recommendation in leading and finding.notes:
        return t(finding.notes[0])
    return ""


def _mismatch(card: EvidenceContext | None, finding: Finding | None) -> Message | None:
    """A notice when the card the page was opened from said something else than the page decides now."""
    if card is None or (card.rule is None and card.recommendation is None):
        return None
    now_rule = finding.rule.value if finding is not None else None
    now_recommendation = finding.recommendation.value if finding is not None else None
    same_rule = card.rule is None or card.rule == now_rule
    same_recommendation = card.recommendation is None or card.recommendation == now_recommendation
    if same_rule and same_recommendation:
        return None
    then: Message | str = _said(card.recommendation) if card.recommendation else card.rule or ""
    return msg(
        "The card said: {then} This page decides on the data as they are now: {now} The data or the date have "
        "changed since the card was shown.",
        then=then,
        now=_headline(finding),
    )


def _said(recommendation: str) -> Message | str:
    try:
        return ACTIONS[Recommendation(recommendation)]
    except ValueError:
        return recommendation


def _card_line(card: EvidenceContext) -> Message:
    parts: list[Message] = []
    if card.recommendation:
        parts.append(msg("recommendation {value}", value=card.recommendation))
    if card.rule:
        parts.append(msg("rule {value}", value=card.rule))
    if card.service_id:
        parts.append(msg("service {value}", value=card.service_id))
    if card.card_uuid:
        parts.append(msg("card {value}", value=card.card_uuid))
    return msg("Opened from the card: {details}.", details=join(parts, "; "))


def _criterion(criterion: Criterion, t: Translator) -> CriterionView:
    text = t(criterion.description)
    return CriterionView(
        mark=MARKS[criterion.held],
        held=t(words.HELD_WORDS[criterion.held]),
        state={True: "met", False: "not-met", None: "undetermined"}[criterion.held],
        text=text,
        informative=not criterion.required,
        evidence=tuple(evidence_texts(criterion.evidence, text, t)),
    )


def _issue(issue: DataIssue, t: Translator) -> tuple[str, str]:
    kind = issue.ref.split("/", 1)[0] if "/" in issue.ref else ""
    return t(words.RESOURCE_KINDS.get(kind, words.OTHER_DATA)), t(issue.reason)


def _setting(name: str, settings: Settings, t: Translator) -> tuple[str, str]:
    # The settings' descriptions are message ids too (tests/catalog.py collects them for the catalog).
    value = getattr(settings.parameters, name)
    shown = t(words.YES if value else words.NO) if isinstance(value, bool) else t(value)
    return t(Message(msgid=describe(name))), shown


def _sources(sources: Iterable[SourceRef], settings: Settings, t: Translator) -> list[SourceView]:
    found: dict[tuple[str, str], SourceView] = {}
    for source in sources:
        text = t(
            msg(
                'Medicinrådet, "{document}", version {version}, section "{section}"',
                document=source.document,
                version=source.version,
                section=source.section,
            )
        )
        url = settings.addendum_url if source.document_key == "addendum" else settings.guideline_url
        found.setdefault((source.document, source.section), SourceView(text, url))
    return list(found.values())
