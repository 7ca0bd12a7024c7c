"""Immunomodulatory immunoglobulin orders get no card (issue "clinical fidelity 3" §6).

An order for ICANS, ITP, Guillain-Barré and the like, or of 1 g/kg or more per course, is not IgRT: when every
drafted or selected immunoglobulin order is one, the hook answers ``{"cards": []}`` and records the outcome
``immunomodulation-order``; beside an IgRT order it is left out of the card.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from cds_service.http.app import runtime_of
from tests import factories as f
from tests.conftest import make_app, sqlite_url
from tests.golden_case import IVIG, SCIG

ICANS = ("http://hl7.org/fhir/sid/icd-10-cm", "G92.0", "Immune effector cell-associated neurotoxicity syndrome")
PID = "sid-im-test"
RESOURCES = [
    f.patient(PID, "1960-01-01"),
    f.condition(PID, "dlbcl", "DC833", "Diffust storcellet B-celle lymfom", "2025-12-01"),
    f.administration(PID, "axicel", "L01XL03", "Yescarta (axicabtagene ciloleucel)", "2026-10-15"),
    f.lab(PID, "igg-1", "igg", 3.0, "2026-11-16"),
    f.weight(PID, "weight-1", 70.0, "2026-11-16"),
]


def post(app: Flask, hook: str, draft: list[dict[str, Any]], selections: list[str] | None = None) -> dict[str, Any]:
    body = f.hook_request(hook, PID, RESOURCES, instance="h-im", draft=draft, selections=selections)
    response = app.test_client().post(f"/cds-services/sid-igrt-{hook}", json=body)
    assert response.status_code == 200
    result: dict[str, Any] = response.get_json()
    return result


def icans_order(mid: str) -> list[dict[str, Any]]:
    return f.with_reason(f.draft_order(PID, mid, *IVIG), code=ICANS)


def test_only_immunomodulatory_orders_no_card_and_the_audit_says_why() -> None:
    app = make_app(DATABASE_URL=sqlite_url())
    assert post(app, "order-sign", icans_order("draft-icans")) == {"cards": []}
    (entry,) = runtime_of(app).store.decisions()
    assert (entry.outcome, entry.rule_id) == ("immunomodulation-order", None)


def test_a_high_dose_course_without_a_reason_gets_no_card() -> None:
    course = f.with_dosages(f.draft_order(PID, "draft-gbs", *IVIG), f.dosage(0.4, "g/kg", period_unit="d", count=5))
    assert post(make_app(), "order-sign", course) == {"cards": []}


def test_beside_an_igrt_order_only_the_igrt_order_is_on_the_card() -> None:
    scig = f.with_dosages(f.draft_order(PID, "draft-scig", *SCIG), f.dosage(10, "g", period_unit="wk"))
    body = post(make_app(), "order-sign", [*icans_order("draft-icans"), *scig])
    (card,) = body["cards"]
    extension = card["extension"]["sid-igrt"]
    assert [o["resource"] for o in extension["orders"]] == ["MedicationRequest/draft-scig"]
    assert [a["kind"] for a in extension["advice"] if a["kind"] in ("dose", "product")] == ["dose"]


def test_order_select_counts_only_the_selected_orders() -> None:
    scig = f.draft_order(PID, "draft-scig", *SCIG)
    drafts = [*icans_order("draft-icans"), *scig]
    assert post(make_app(), "order-select", drafts, ["MedicationRequest/draft-icans"]) == {"cards": []}
    assert post(make_app(), "order-select", drafts, ["MedicationRequest/draft-scig"])["cards"]
