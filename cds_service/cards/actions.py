"""What a card offers besides its text: suggestions, override reasons, the guideline links and ``source``.

Suggestions: remove the draft immunoglobulin order; order serum IgG, IgA, IgM. Every suggestion has a uuid derived from
its card's (``suggestion_uuid``), as unguessable as the card's own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from cds_service.cards.i18n import Translator
from cds_service.settings import Settings
from fhir_mappers import ImmunoglobulinOrder, code_table
from fhir_mappers.codes import LOINC, NPU
from guideline.concepts import Analyte, Recommendation
from guideline.model import Advice, Finding
from guideline.sources import SOURCE_LABEL, SourceRef
from guideline.text import msg

RULE_SYSTEM = "urn:sid-igrt:rule"
OVERRIDE_SYSTEM = "urn:sid-igrt:override-reason"
_LAB_ORDERS = {Analyte.IGG: ("lab-igg", "IgG"), Analyte.IGA: ("lab-iga", "IgA"), Analyte.IGM: ("lab-igm", "IgM")}


def suggestion_uuid(card: str, *parts: object) -> str:
    """Return the uuid of a suggestion of the card with uuid ``card`` (as unguessable as the card's)."""
    return str(uuid.uuid5(uuid.UUID(card), ":".join(map(str, parts))))


def suggestions(
    finding: Finding,
    *,
    card: str,
    patient_id: str,
    orders: Sequence[ImmunoglobulinOrder],
    t: Translator,
    advice: Sequence[Advice] = (),
) -> list[dict[str, Any]]:
    """The decision card's suggestions: remove the draft orders (not indicated or stop), order labs.

    The lab orders are the decision's (IgG, IgA, IgM where it needs them) and those of the advice folded into it.
    """
    found: list[dict[str, Any]] = []
    if finding.recommendation in (Recommendation.NOT_INDICATED, Recommendation.STOP):
        for order in orders:
            found.append(
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
    found += [lab_order(card, a, patient_id, t) for a in _LAB_ORDERS if a in analytes]
    return found


def lab_order(card: str, analyte: Analyte, patient_id: str, t: Translator) -> dict[str, Any]:
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


def override_reasons(finding: Finding, t: Translator) -> list[dict[str, str]]:
    """The reasons a clinician can give for overriding the decision (CDS Hooks ``overrideReasons``; no empty value)."""
    reasons = list(_OVERRIDE_REASONS)
    if finding.recommendation == Recommendation.STOP:
        reasons.append(_COMMUNITY_INFECTION_RISK)
    if finding.recommendation in (Recommendation.NOT_INDICATED, Recommendation.CONSIDER):
        reasons.append(_LOW_IGG_DECISIVE)
    found = []
    for code, display in reasons:
        reason = {"system": OVERRIDE_SYSTEM, "code": code}
        text = t(display)
        if text:
            reason["display"] = text
        found.append(reason)
    return found


# The reasons' messages are made once (a card translates them from the translator's cache).
_OVERRIDE_REASONS = (
    ("clinical-judgement", msg("Clinical judgement: patient-specific circumstances documented in the record")),
    ("data-not-in-ehr", msg("Relevant data are not in the EHR (e.g. external results or infections)")),
)
_COMMUNITY_INFECTION_RISK = (
    "community-infection-risk",
    msg("Short extension: high community risk of antibiotic-requiring infections"),
)
_LOW_IGG_DECISIVE = ("low-igg-decisive", msg("Specialist judges low IgG a decisive factor for the infections"))


_APP_CONTEXT = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
"""``json.dumps(context, separators=(",", ":"), sort_keys=True)``, without making an encoder per card."""
EVIDENCE_LAUNCH_PATH = "/evidence/launch"
"""The evidence page's SMART launch URL, under the service's public base URL (``cds_service.http.smart_launch``)."""


def links(
    source: SourceRef,
    settings: Settings,
    t: Translator,
    *,
    pid: bool = False,
    evidence: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The card's links: the evidence page (a SMART app, when ``evidence`` names the launch) and the guideline text.

    ``evidence``: ``{"url": launch URL, "appContext": JSON string}`` (``evidence_link``); ``None`` leaves the SMART
    link out (the CLI, a deployment without the evidence app). The Medicinrådet link opens the document the section
    is in (``source``); with ``pid`` also the primary-immunodeficiency guideline. The guideline listing page is in
    ``extension["sid-igrt"]`` only.

    ``autoLaunchable`` (optional in CDS Hooks 2.0.1) is sent as ``false``: clients built on models that require it
    (healthchain 0.16) would otherwise refuse the whole card. No link holds an empty value (a URL not configured is
    left out of its link).
    """
    found: list[dict[str, Any]] = []
    if evidence is not None:
        found.append(
            _link(t(msg("Evidence and timeline")), evidence["url"], "smart", app_context=evidence["appContext"])
        )
    section = t(msg("Medicinrådet: {section}", section=source.section))[:200]
    found.append(_link(section, document_url(source, settings), "absolute"))
    if pid:
        primary = t(msg("Medicinrådet: immunoglobulin in primary immunodeficiency"))
        found.append(_link(primary, settings.pid_guideline_url, "absolute"))
    return found


def _link(label: str, url: str, kind: str, *, app_context: str | None = None) -> dict[str, Any]:
    """One CDS Hooks Link, without the empty values CDS Hooks forbids (``autoLaunchable`` is always sent)."""
    link: dict[str, Any] = {"label": label} if label else {}
    if url:
        link["url"] = url
    link["type"] = kind
    if app_context:
        link["appContext"] = app_context
    link["autoLaunchable"] = False
    return link


def evidence_link(base_url: str, *, service_id: str, card: str, finding: Finding) -> dict[str, str]:
    """The SMART link to the evidence page of this decision: the launch URL and its ``appContext``.

    ``appContext`` (CDS Hooks 2.0.1 Link) names the decision: ``{"service", "card", "rule", "recommendation"}`` as a
    JSON string; the EHR hands it to the app in the token response (SMART App Launch 2.x), where it is read as
    untrusted input. No patient data: the app reads the patient from the launch.
    """
    context = {
        "service": service_id,
        "card": card,
        "rule": finding.rule.value,
        "recommendation": finding.recommendation.value,
    }
    return {
        "url": base_url.rstrip("/") + EVIDENCE_LAUNCH_PATH,
        "appContext": _APP_CONTEXT.encode(context),
    }


def document_url(source: SourceRef, settings: Settings) -> str:
    """The configured link to the document ``source`` cites (the Opsummering or the CAR-T/bsAb addendum)."""
    return settings.addendum_url if source.document_key == "addendum" else settings.guideline_url


def source_json(source: SourceRef, rule: str, settings: Settings) -> dict[str, Any]:
    """``card.source``: the Medicinrådet label and document, ``topic`` = the rule id (for override persistence).

    Without empty values (a document link or section not configured is left out).
    """
    found: dict[str, Any] = {"label": SOURCE_LABEL}
    url = document_url(source, settings)
    if url:
        found["url"] = url
    topic = {"system": RULE_SYSTEM, "code": rule} if rule else {"system": RULE_SYSTEM}
    display = source.section[:100]
    if display:
        topic["display"] = display
    found["topic"] = topic
    return found
