"""Render a guideline ``Finding`` as one CDS Hooks 2.0.1 card, with the ``sid-igrt`` extension.

The card states the recommendation in ``summary`` (< 140 characters), every evaluated criterion with its data in
``detail`` (Markdown), the Medicinrådet document and section in ``source`` and ``links``, and, where they help the
clinician act, ``suggestions`` (remove the draft immunoglobulin order; order IgG, IgA, IgM) and
``overrideReasons``. Optional fields without a value are left out (CDS Hooks "Use of JSON").
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from cds_service.settings import Settings
from fhir_mappers import ImmunoglobulinOrder, code_table
from fhir_mappers.codes import LOINC, NPU
from guideline.concepts import Population, Recommendation, RuleId
from guideline.model import Criterion, Evidence, Finding
from guideline.parameters import describe
from guideline.sources import GUIDELINE_LABEL

CARD_NAMESPACE = uuid.UUID("8f1d0b9e-3c55-4c43-9a4e-6f2f6c1c2b7a")
"""uuid5 namespace: card uuid = uuid5(namespace, hookInstance + rule), unique per call and reproducible."""
EXTENSION_KEY = "sid-igrt"
RULE_SYSTEM = "urn:sid-igrt:rule"
OVERRIDE_SYSTEM = "urn:sid-igrt:override-reason"
SUMMARY_MAX = 139
SOURCE_LABEL = "Medicinrådet: immunglobulin ved SID, opsummering v1.1 (18.02.2026) med CAR-T/bsAb-tillæg"

ORDER_HOOKS = frozenset({"order-select", "order-sign"})
_INDICATOR_ORDER = {
    Recommendation.NOT_INDICATED: "warning",
    Recommendation.INSUFFICIENT_DATA: "warning",
    Recommendation.STOP: "warning",
}
_INDICATOR_PATIENT_VIEW = {Recommendation.START: "warning", Recommendation.STOP: "warning"}
_POPULATION_NAMES = {
    Population.HAEMATOLOGICAL: "1 (haematological disease)",
    Population.CAR_T_OR_BSAB: "2 (CAR-T or bispecific antibody)",
    Population.ALLO_HSCT: "3 (allogeneic HSCT)",
    Population.OTHER_HYPOGAMMAGLOBULINAEMIA: "4 (hypogammaglobulinaemia without haematological disease or HSCT)",
}
_LAB_ORDERS = (("lab-igg", "IgG"), ("lab-iga", "IgA"), ("lab-igm", "IgM"))


def indicator(finding: Finding, *, hook: str) -> str:
    """Return ``info`` or ``warning``: warnings where the clinician should act or reconsider an order."""
    table = _INDICATOR_ORDER if hook in ORDER_HOOKS else _INDICATOR_PATIENT_VIEW
    return table.get(finding.recommendation, "info")


def summary(finding: Finding) -> str:
    """Return the one-sentence summary (< 140 characters) for the finding's rule."""
    d = finding.dates
    igg = _igg_value(finding.criteria)
    texts = {
        RuleId.START_POP2_WINDOW: f"Start IgRT: IgG {igg} < 4 g/L within 6 months of CAR-T/bsAb; stop by {d.stop_due}",
        RuleId.START_POP3: f"Start IgRT: IgG {igg} < 4 g/L after allogeneic HSCT",
        RuleId.START_POP1: f"Start IgRT: persistent IgG {igg} < 4 g/L with severe or recurrent bacterial infections",
        RuleId.START_POP2_AFTER_WINDOW: f"Start IgRT: persistent IgG {igg} < 4 g/L with severe or recurrent "
        "infections after CAR-T/bsAb",
        RuleId.CONSIDER_POP4: f"IgRT can be considered after specialist work-up: persistent IgG {igg} < 4 g/L, "
        "infections",
        RuleId.CONSIDER_IGG_BELOW_6: f"IgRT can be considered: IgG {igg} < 6 g/L with qualifying bacterial infections",
        RuleId.NOT_INDICATED: f"IgRT not indicated by Medicinrådet SID criteria (latest IgG {igg})",
        RuleId.NO_RECENT_IGG: "IgRT decision needs a recent IgG (none in the last 90 days): order IgG, IgA, IgM",
        RuleId.NO_IGG_SINCE_T0: f"IgRT decision needs an IgG taken after CAR-T/bsAb T0 {d.t0}: order IgG, IgA, IgM",
        RuleId.UNCONFIRMED_LOW_IGG: f"IgG {igg} < 4 g/L not confirmed: repeat IgG, IgA, IgM at least 3 weeks after",
        RuleId.AGE_UNKNOWN: "IgRT after CAR-T/bsAb: birth date missing, so adult or child criteria cannot be chosen",
        RuleId.CHILD_AFTER_CAR_T_OR_BSAB: "Child after CAR-T/bsAb: IgRT is an individual assessment",
        RuleId.PRIMARY_IMMUNODEFICIENCY: "Primary immunodeficiency recorded: the SID IgRT criteria do not apply",
        RuleId.IGRT_START_UNKNOWN: "On IgRT with an unknown start date: stop and follow-up dates cannot be computed",
        RuleId.POP2_SHORT_COURSE_CONTINUE: f"Continue IgRT started after CAR-T/bsAb on IgG < 4 alone; stop due "
        f"{d.stop_due}",
        RuleId.POP2_SHORT_COURSE_STOP: f"Stop IgRT: 6 months after CAR-T/bsAb passed on {d.stop_due} (started on "
        "IgG < 4 alone)",
        RuleId.STANDARD_PAUSE_SUMMER: f"Consider pausing IgRT over the summer (1 May-1 Oct); on IgRT since "
        f"{d.igrt_start}",
        RuleId.STANDARD_STOP_ATTEMPT: f"Attempt to stop IgRT: 6-12 months since start {d.igrt_start}, winter included",
    }
    if finding.rule == RuleId.STANDARD_CONTINUE:
        text = f"Continue IgRT (since {d.igrt_start}); next follow-up {d.next_follow_up}"
        if d.stop_due and d.stop_due >= finding.as_of:
            text += f", stop attempt due {d.stop_due}"
        else:
            text += ": reassess continue, pause or stop"
    else:
        text = texts[finding.rule]
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def render_card(
    finding: Finding,
    *,
    hook: str,
    hook_instance: str,
    patient_id: str,
    orders: Sequence[ImmunoglobulinOrder],
    settings: Settings,
) -> dict[str, Any]:
    """Return the decision card as CDS Hooks JSON (no null or empty fields)."""
    suggestions = _suggestions(finding, hook=hook, patient_id=patient_id, orders=orders)
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{hook_instance}:{finding.rule.value}")),
        "summary": summary(finding),
        "indicator": indicator(finding, hook=hook),
        "detail": detail(finding, orders=orders, settings=settings),
        "source": {
            "label": SOURCE_LABEL,
            "url": _document_url(finding, settings),
            "topic": {"system": RULE_SYSTEM, "code": finding.rule.value, "display": finding.source.section[:100]},
        },
        "links": _links(finding, settings),
        "overrideReasons": _override_reasons(finding),
        "extension": {EXTENSION_KEY: decision_extension(finding, orders=orders, settings=settings)},
    }
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "any"
    pruned: dict[str, Any] = prune(card)
    return pruned


def detail(finding: Finding, *, orders: Sequence[ImmunoglobulinOrder], settings: Settings) -> str:
    """Return the Markdown detail: recommendation, criteria with data, dates, notes, settings, data not used."""
    population = _POPULATION_NAMES[finding.population] if finding.population else "none applies"
    lines = [
        f"**Recommendation: {finding.recommendation.value}** (rule `{finding.rule.value}`, population {population}, "
        f"evaluated {finding.as_of}).",
        "",
    ]
    if orders:
        lines.append(
            "Immunoglobulin order: " + "; ".join(f"{o.display} ({o.ref}, matched {o.matched})" for o in orders)
        )
        lines.append("")
    lines.append("**Criteria evaluated**")
    lines.extend(_criterion_line(c) for c in finding.criteria)
    dates = _date_lines(finding)
    if dates:
        lines += ["", "**Dates**", *dates]
    if finding.notes:
        lines += ["", "**Notes**", *(f"- {note}" for note in finding.notes)]
    if finding.interpretations:
        lines += ["", "**Interpretation settings used**"]
        lines += [
            f"- `{name}` = {_setting_value(settings, name)}: {describe(name)}" for name in finding.interpretations
        ]
    if finding.data_issues:
        lines += ["", "**Data not used**"]
        lines += [f"- {issue.ref}: {issue.reason}" for issue in finding.data_issues]
    source = finding.source
    lines += ["", f'Source: Medicinrådet, *{source.document}*, version {source.version}, section "{source.section}".']
    return "\n".join(lines)


def decision_extension(
    finding: Finding, *, orders: Sequence[ImmunoglobulinOrder], settings: Settings
) -> dict[str, Any]:
    """Return ``extension["sid-igrt"]``: the machine-readable decision (documented in the README)."""
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
        "criteria": [_criterion_json(c) for c in finding.criteria],
        "dates": {
            "asOf": finding.as_of.isoformat(),
            "t0": _iso(d.t0),
            "windowEnd": _iso(d.window_end),
            "igrtStart": _iso(d.igrt_start),
            "stopDue": _iso(d.stop_due),
            "nextFollowUp": _iso(d.next_follow_up),
        },
        "onIgrt": finding.on_igrt,
        "interpretations": [
            {"name": name, "value": _setting_value(settings, name), "description": describe(name)}
            for name in finding.interpretations
        ],
        "dataIssues": [{"resource": i.ref, "reason": i.reason} for i in finding.data_issues],
        "orders": [{"resource": o.ref, "display": o.display, "matched": o.matched} for o in orders],
    }


def prune(value: Any) -> Any:
    """Remove ``None``, empty strings, lists and objects, recursively (CDS Hooks forbids null/empty values)."""
    if isinstance(value, Mapping):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        items = [prune(v) for v in value]
        return [v for v in items if v not in (None, "", [], {})]
    return value


def _criterion_line(criterion: Criterion) -> str:
    status = {True: "Met", False: "Not met", None: "Undetermined"}[criterion.held]
    role = "" if criterion.required else " (informative)"
    evidence = "; ".join(_evidence_text(e) for e in criterion.evidence)
    return f"- **{status}**{role}: {criterion.description}" + (f" — {evidence}" if evidence else "")


def _evidence_text(evidence: Evidence) -> str:
    parts = [evidence.text]
    if evidence.on is not None and evidence.on.isoformat() not in evidence.text:
        parts.append(evidence.on.isoformat())
    if evidence.ref:
        parts.append(f"`{evidence.ref}`")
    return ", ".join(parts)


def _criterion_json(criterion: Criterion) -> dict[str, Any]:
    return {
        "id": criterion.id,
        "description": criterion.description,
        "result": {True: "met", False: "not-met", None: "undetermined"}[criterion.held],
        "held": criterion.held,
        "required": criterion.required,
        "evidence": [
            {
                "text": e.text,
                "resource": e.ref,
                "value": e.value,
                "comparator": e.comparator,
                "unit": e.unit,
                "date": _iso(e.on),
            }
            for e in criterion.evidence
        ],
    }


def _date_lines(finding: Finding) -> list[str]:
    d = finding.dates
    labels = (
        ("T0 (CAR-T infusion or bsAb course start)", d.t0),
        ("End of the 6-month window (T0 + 6 calendar months)", d.window_end),
        ("IgRT start", d.igrt_start),
        ("Stop due / stop attempt due", d.stop_due),
        ("Next follow-up", d.next_follow_up),
    )
    return [f"- {label}: {day.isoformat()}" for label, day in labels if day is not None]


def _igg_value(criteria: Sequence[Criterion]) -> str:
    for criterion in criteria:
        if criterion.id.startswith("igg-below"):
            for e in criterion.evidence:
                if e.value is not None:
                    return f"{e.comparator + ' ' if e.comparator else ''}{e.value:g} g/L"
    return "not measured"


def _suggestions(
    finding: Finding, *, hook: str, patient_id: str, orders: Sequence[ImmunoglobulinOrder]
) -> list[dict[str, Any]]:
    suggestions: list[dict[str, Any]] = []
    if hook in ORDER_HOOKS and finding.recommendation in (Recommendation.NOT_INDICATED, Recommendation.STOP):
        for order in orders:
            suggestions.append(
                {
                    "label": f"Remove the draft immunoglobulin order ({order.display})",
                    "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{finding.rule.value}:remove:{order.ref}")),
                    "isRecommended": True,
                    "actions": [
                        {
                            "type": "delete",
                            "description": f"Remove draft order {order.ref}: {finding.recommendation.value} "
                            "per Medicinrådet SID criteria",
                            "resourceId": order.ref,
                        }
                    ],
                }
            )
    if finding.order_lab_tests:
        for concept, name in _LAB_ORDERS:
            codings = [
                {"system": system, "code": code, "display": display}
                for system, code, display in code_table().codings_for(concept, systems=(LOINC, NPU))
            ]
            suggestions.append(
                {
                    "label": f"Order serum {name}",
                    "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{finding.rule.value}:order:{concept}")),
                    "isRecommended": True,
                    "actions": [
                        {
                            "type": "create",
                            "description": f"Order serum {name} (Monitorering af effekt: IgG, IgA and IgM)",
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
            )
    return suggestions


def _override_reasons(finding: Finding) -> list[dict[str, str]]:
    reasons = [
        ("clinical-judgement", "Clinical judgement: patient-specific circumstances documented in the record"),
        ("data-not-in-ehr", "Relevant data are not in the EHR (e.g. external results or infections)"),
    ]
    if finding.recommendation == Recommendation.STOP:
        reasons.append(
            ("community-infection-risk", "Short extension: high community risk of antibiotic-requiring infections")
        )
    if finding.recommendation in (Recommendation.NOT_INDICATED, Recommendation.CONSIDER):
        reasons.append(("low-igg-decisive", "Specialist judges low IgG a decisive factor for the infections"))
    return [{"system": OVERRIDE_SYSTEM, "code": code, "display": display} for code, display in reasons]


def _links(finding: Finding, settings: Settings) -> list[dict[str, str]]:
    links = [
        {
            "label": f"Medicinrådet: {finding.source.section}"[:200],
            "url": _document_url(finding, settings),
            "type": "absolute",
        },
    ]
    if finding.rule == RuleId.PRIMARY_IMMUNODEFICIENCY:
        links.append(
            {
                "label": "Medicinrådet: immunoglobulin in primary immunodeficiency",
                "url": settings.pid_guideline_url,
                "type": "absolute",
            }
        )
    links.append(
        {"label": f"Medicinrådet guidelines ({GUIDELINE_LABEL})", "url": settings.listing_url, "type": "absolute"}
    )
    return links


def _document_url(finding: Finding, settings: Settings) -> str:
    return settings.addendum_url if finding.source.document_key == "addendum" else settings.guideline_url


def _setting_value(settings: Settings, name: str) -> Any:
    return getattr(settings.parameters, name)


def _iso(day: Any) -> str | None:
    return None if day is None else str(day.isoformat())
