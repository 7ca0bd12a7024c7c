"""``extension["sid-igrt"]``: the machine-readable decision and advice (documented in docs/cards.md), and ``prune``.

Everything the card says in words is here as data: rule and recommendation codes, the guideline section, every
criterion with its evidence, the dates, the settings that shaped the answer with their values, and the data not used.
``prune`` drops the empty fields CDS Hooks forbids from every card. The extension, most of a card, is built without
them in the first place, exactly as ``prune`` would leave it (issue 32: pruning the built card walked every field again,
about a tenth of a card's time): a text field (``str`` or ``str | None``) is set when it is not empty, a date or number
when it is not ``None``, a flag always (``False`` is a value), an object or list when something is in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from cds_service.cards.i18n import Translator
from cds_service.settings import Settings
from fhir_mappers import ImmunoglobulinOrder
from guideline.model import Advice, Criterion, Finding
from guideline.parameters import describe
from guideline.text import Message


def decision_extension(
    finding: Finding,
    *,
    orders: Sequence[ImmunoglobulinOrder],
    settings: Settings,
    t: Translator,
    advice: Sequence[Advice] = (),
) -> dict[str, Any]:
    """Return ``extension["sid-igrt"]``: the machine-readable decision (documented in docs/cards.md).

    Without null or empty values, as ``prune`` would leave the complete object (same keys, same order): ``kind``,
    ``recommendation``, ``population``, ``rule``, ``guideline``, ``criteria``, ``dates``, ``onIgrt``, ``overruled``,
    ``notes``, ``interpretations``, ``dataIssues``, ``orders``, ``advice``, ``language``.
    """
    source = finding.source
    found: dict[str, Any] = {"kind": "decision"}
    _put_text(found, "recommendation", finding.recommendation.value)
    if finding.population:
        found["population"] = int(finding.population)
    _put_text(found, "rule", finding.rule.value)
    guideline = _texts(
        document=source.document,
        version=source.version,
        section=source.section,
        url=settings.addendum_url if source.document_key == "addendum" else settings.guideline_url,
        listingUrl=settings.listing_url,
    )
    if guideline:
        found["guideline"] = guideline
    if finding.criteria:
        found["criteria"] = [_criterion_json(c, t) for c in finding.criteria]
    found["dates"] = _dates_json(finding)
    found["onIgrt"] = finding.on_igrt
    overruled = finding.overruled
    if overruled is not None:
        said = _texts(
            check=overruled.check,
            proposedRule=overruled.proposed_rule.value,
            proposedRecommendation=overruled.proposed.value,
            reason=t(overruled.reason),
        )
        if said:
            found["overruled"] = said
    notes = [text for text in map(t, finding.notes) if text]
    if notes:
        found["notes"] = notes
    interpretations = _interpretations_json(finding.interpretations, settings, t)
    if interpretations:
        found["interpretations"] = interpretations
    issues = [item for i in finding.data_issues if (item := _texts(resource=i.ref, reason=t(i.reason)))]
    if issues:
        found["dataIssues"] = issues
    ordered = [item for o in orders if (item := _texts(resource=o.ref, display=o.display, matched=o.matched))]
    if ordered:
        found["orders"] = ordered
    if advice:
        found["advice"] = [advice_extension(a, settings=settings, t=t) for a in advice]
    _put_text(found, "language", t.language)
    return found


def advice_extension(advice: Advice, *, settings: Settings, t: Translator) -> dict[str, Any]:
    """Return the machine-readable advice: kind, rule, summary, warning, guideline, criteria, values, interpretations.

    Without null or empty values, as ``prune`` would leave the complete object (same keys, same order).
    """
    source = advice.source
    found: dict[str, Any] = _texts(kind=advice.kind.value, rule=advice.rule.value, summary=t(advice.summary))
    found["warning"] = advice.warning
    guideline = _texts(document=source.document, version=source.version, section=source.section)
    if guideline:
        found["guideline"] = guideline
    if advice.criteria:
        found["criteria"] = [_criterion_json(c, t) for c in advice.criteria]
    values = prune(dict(advice.values))
    if values:
        found["values"] = values
    interpretations = _interpretations_json(advice.interpretations, settings, t)
    if interpretations:
        found["interpretations"] = interpretations
    return found


def prune(value: Any) -> Any:
    """Remove ``None``, empty strings, lists and objects, recursively (CDS Hooks forbids null/empty values).

    Cards are built here from dicts and lists only, so exact types are checked (this runs on every card field).
    """
    # The leaf test is inlined (a card has a few hundred leaves): a container is kept when something of it is left,
    # any other value unless it is None or "".
    kind = type(value)
    if kind is dict:
        kept: dict[str, Any] = {}
        for key, item in value.items():
            item_kind = type(item)
            if item_kind is dict or item_kind is list:
                item = prune(item)
                if not item:
                    continue
            elif item is None or item == "":
                continue
            kept[key] = item
        return kept
    if kind is list:
        items: list[Any] = []
        for item in value:
            item_kind = type(item)
            if item_kind is dict or item_kind is list:
                item = prune(item)
                if not item:
                    continue
            elif item is None or item == "":
                continue
            items.append(item)
        return items
    return value


def _interpretations_json(names: Sequence[str], settings: Settings, t: Translator) -> list[dict[str, Any]]:
    """``name``, ``value`` and ``description`` of each setting in ``names`` (those with a value; never empty)."""
    found = []
    for name in names:
        item: dict[str, Any] = {"name": name} if name else {}
        _put(item, "value", setting_value(settings, name))
        description = t(setting_description(name))
        if description:
            item["description"] = description
        if item:
            found.append(item)
    return found


@cache
def setting_description(name: str) -> Message:
    """The guideline setting ``name`` described in words, as a message (made once per setting: it never changes)."""
    # The settings' descriptions are message ids too; the catalog test checks each has a Danish translation.
    return Message(msgid=describe(name))


_RESULTS = {True: "met", False: "not-met", None: "undetermined"}


def _criterion_json(criterion: Criterion, t: Translator) -> dict[str, Any]:
    """``id``, ``description``, ``result``, ``held``, ``required``, ``evidence``: those with a value (never empty)."""
    found: dict[str, Any] = {"id": criterion.id} if criterion.id else {}
    description = t(criterion.description)
    if description:
        found["description"] = description
    found["result"] = _RESULTS[criterion.held]
    if criterion.held is not None:
        found["held"] = criterion.held
    found["required"] = criterion.required
    evidence = []
    for e in criterion.evidence:
        text = t(e.text)
        item: dict[str, Any] = {"text": text} if text else {}
        if e.ref:
            item["resource"] = e.ref
        if e.value is not None:
            item["value"] = e.value
        if e.comparator:
            item["comparator"] = e.comparator
        if e.unit:
            item["unit"] = e.unit
        if e.on is not None:
            item["date"] = e.on.isoformat()
        if item:
            evidence.append(item)
    if evidence:
        found["evidence"] = evidence
    return found


def _dates_json(finding: Finding) -> dict[str, Any]:
    """``asOf`` and the key dates that are set (ISO 8601); ``followUpOverdue`` only when true."""
    d = finding.dates
    found: dict[str, Any] = {"asOf": finding.as_of.isoformat()}
    for key, day in (
        ("t0", d.t0),
        ("windowEnd", d.window_end),
        ("igrtStart", d.igrt_start),
        ("stopDue", d.stop_due),
        ("nextFollowUp", d.next_follow_up),
        ("ownIggFrom", d.own_igg_from),
        ("stopAttemptUntil", d.stop_attempt_until),
    ):
        if day is not None:
            found[key] = day.isoformat()
    if d.follow_up_overdue:
        found["followUpOverdue"] = d.follow_up_overdue
    return found


def setting_value(settings: Settings, name: str) -> Any:
    """The value of the guideline setting ``name`` in this deployment."""
    return getattr(settings.parameters, name)


def _texts(**fields: str | None) -> dict[str, str]:
    """The ``fields`` that are not ``None`` or empty, in order (a text field as ``prune`` keeps it)."""
    return {key: text for key, text in fields.items() if text}


def _put_text(target: dict[str, Any], key: str, text: str | None) -> None:
    """Set ``target[key]`` to ``text`` unless it is ``None`` or empty."""
    if text:
        target[key] = text


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``target[key]`` to ``value`` as ``prune`` would keep it (a value of any type, e.g. a setting's)."""
    kind = type(value)
    if kind is int or kind is float or kind is bool:
        target[key] = value
    elif kind is dict or kind is list:
        value = prune(value)
        if value:
            target[key] = value
    elif value is not None and value != "":
        target[key] = value
