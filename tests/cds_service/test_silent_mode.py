"""Silent mode (issue 31): evaluated and audited as usual, answered with no cards, said in discovery."""

from __future__ import annotations

import copy
import json
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import AuditStore, Database
from tests.cases import CASES, case_dir
from tests.conftest import make_app, sqlite_url

SHOWN = [c for c in CASES if json.loads((case_dir(c) / "expected.json").read_text())["body"].get("cards")]
"""Golden cases whose normal answer has a card."""


def _request(case: Any) -> dict[str, Any]:
    return json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))


def _silent_app(database: str, **config: Any) -> Flask:
    return make_app(DATABASE_URL=database, SILENT_SERVICES="all", **config)


def test_every_golden_card_becomes_a_silent_decision_with_the_same_rule_and_card_uuid() -> None:
    database = sqlite_url()
    normal, silent = make_app().test_client(), _silent_app(database).test_client()
    for case in SHOWN:
        app_date = {"FIXED_DATE": case.as_of}
        normal = make_app(**app_date).test_client()
        silent = _silent_app(database, **app_date).test_client()
        spoken = normal.post(f"/cds-services/{case.service}", json=_request(case)).get_json()["cards"][0]
        answer = silent.post(f"/cds-services/{case.service}", json=_request(case))
        assert answer.status_code == 200 and answer.get_json() == {"cards": []}, case.name
        recorded = AuditStore(Database(database)).decisions(limit=1)[0]
        assert (recorded.outcome, recorded.rule_id) == ("silent", spoken["extension"]["sid-igrt"]["rule"])
        assert recorded.recommendation == spoken["extension"]["sid-igrt"]["recommendation"]
        assert recorded.card_uuid is not None and recorded.issued_cards == ()
        assert recorded.on_igrt == spoken["extension"]["sid-igrt"]["onIgrt"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    case=st.sampled_from(CASES),
    options=st.fixed_dictionaries(
        {},
        optional={
            "silent": st.sampled_from([False, True, "no", None]),
            "advice": st.sampled_from(["lines", "cards", "off"]),
            "details": st.booleans(),
            "language": st.sampled_from(["en", "da"]),
        },
    ),
)
def test_a_silent_service_never_returns_a_card_whatever_the_request_asks(case: Any, options: dict[str, Any]) -> None:
    client = _silent_app(sqlite_url(), FIXED_DATE=case.as_of).test_client()
    body = copy.deepcopy(_request(case))
    body.setdefault("extension", {})["sid-igrt"] = {**body.get("extension", {}).get("sid-igrt", {}), **options}
    response = client.post(f"/cds-services/{case.service}", json=body)
    assert response.status_code in (200, 412)
    if response.status_code == 200:
        assert response.get_json()["cards"] == [] and "systemActions" not in response.get_json()


def test_only_the_named_services_are_silent_and_discovery_says_which() -> None:
    app = make_app(SILENT_SERVICES="sid-igrt-order-select")
    services = {s["id"]: s for s in app.test_client().get("/cds-services").get_json()["services"]}
    silent, speaking = services["sid-igrt-order-select"], services["sid-igrt-patient-view"]
    assert silent["extension"]["sid-igrt.silent"] is True and "SILENT MODE" in silent["description"]
    assert "sid-igrt.silent" not in speaking["extension"] and "SILENT" not in speaking["description"]
    options = {o["code"]: o for o in silent["extension"]["sid-igrt.configuration-options"]}
    assert options["silent"]["default"] is True
    case = next(c for c in SHOWN if c.service == "sid-igrt-patient-view")
    spoken = make_app(SILENT_SERVICES="sid-igrt-order-select", FIXED_DATE=case.as_of).test_client()
    assert spoken.post(f"/cds-services/{case.service}", json=_request(case)).get_json()["cards"]


def test_silent_decisions_are_counted_by_rule() -> None:
    case = SHOWN[0]
    client = _silent_app(sqlite_url(), FIXED_DATE=case.as_of).test_client()
    client.post(f"/cds-services/{case.service}", json=_request(case))
    metrics = client.get("/metrics").get_data(as_text=True)
    assert any(line.startswith("cds_silent_decisions_total{") for line in metrics.splitlines())
