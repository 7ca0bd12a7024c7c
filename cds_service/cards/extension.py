"""``extension["sid-igrt"]``: the machine-readable decision and advice (documented in docs/cards.md), and ``prune``.

Everything the card says in words is here as data: rule and recommendation codes, the guideline section, every
criterion with its evidence, the dates, the settings that shaped the answer with their values, and the data not used.
``prune`` drops the empty fields CDS Hooks forbids from every card.
"""

from __future__ import annotations

from collections.abc import Sequence
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
            "url": settings.addendum_url if finding.source.document_key == "addendum" else settings.guideline_url,
            "listingUrl": settings.listing_url,
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
    return [
        {"name": name, "value": setting_value(settings, name), "description": t(setting_description(name))}
        for name in names
    ]


def setting_description(name: str) -> Message:
    """The guideline setting ``name`` described in words, as a message."""
    # The settings' descriptions are message ids too; the catalog test checks each has a Danish translation.
    return Message(msgid=describe(name))


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


def setting_value(settings: Settings, name: str) -> Any:
    """The value of the guideline setting ``name`` in this deployment."""
    return getattr(settings.parameters, name)


def _iso(day: Any) -> str | None:
    return None if day is None else str(day.isoformat())
