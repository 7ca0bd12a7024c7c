"""The published contract: /openapi.json covers every route, and the response checks catch each broken rule."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.cds_service.test_audit_feedback import golden
from tests.conformance import NonConformingResponseError, check_cards, check_response
from tests.conftest import make_app

ROUTE_METHODS = {"GET", "POST"}


def test_openapi_describes_exactly_the_routes_the_app_serves(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    app = client.application
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods & ROUTE_METHODS:
            if "<service_id>" in rule.rule:
                services = client.get("/cds-services").get_json()["services"]
                served |= {(rule.rule.replace("<service_id>", s["id"]), method) for s in services}
            else:
                served.add((rule.rule, method))
    assert described == served


def test_openapi_request_schemas_are_the_models_that_parse_requests(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    sign = document["paths"]["/cds-services/sid-igrt-order-sign"]["post"]["requestBody"]
    assert sign["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OrderSignRequest"}
    assert set(schemas["OrderSelectContext"]["required"]) == {"patientId", "draftOrders", "selections"}
    assert schemas["OrderSignRequest"]["properties"]["hook"]["const"] == "order-sign"
    assert schemas["Card"]["properties"]["summary"]["maxLength"] == 139
    # optional response fields are absent, never null
    assert all("null" not in json.dumps(p) for p in schemas["Card"]["properties"].values())


def test_openapi_lists_bearer_auth_only_when_required() -> None:
    on = make_app(AUTH="required", TRUST_SANDBOX=True).test_client().get("/openapi.json").get_json()
    off = make_app().test_client().get("/openapi.json").get_json()
    assert on["paths"]["/cds-services"]["get"]["security"] == [{"bearerAuth": []}]
    assert off["paths"]["/cds-services"]["get"]["security"] == []
    assert on["paths"]["/health/live"]["get"]["security"] == []


def a_card_response() -> dict[str, Any]:
    body: dict[str, Any] = golden("dose-out-of-range-ivig-in-window")[2]["body"]
    assert any("suggestions" in card for card in body["cards"]) or body["cards"]
    return body


def test_a_golden_answer_passes_both_checks() -> None:
    check_cards(a_card_response())


def _break(mutate: Any) -> dict[str, Any]:
    body = copy.deepcopy(a_card_response())
    mutate(body["cards"][0])
    return body


BROKEN_CARDS = {
    "summary-140": lambda c: c.update(summary="x" * 140),
    "null-detail": lambda c: c.update(detail=None),
    "empty-links": lambda c: c.update(links=[]),
    "empty-string": lambda c: c["source"].update(url=""),
    "indicator": lambda c: c.update(indicator="hard-stop"),
    "suggestions-without-selection-behavior": lambda c: c.update(
        suggestions=[{"label": "x", "actions": [{"type": "delete", "description": "d", "resourceId": "X/1"}]}]
    ),
    "selection-behavior-without-suggestions": lambda c: (c.pop("suggestions", None), c.update(selectionBehavior="any")),
    "override-reason-without-display": lambda c: c["overrideReasons"][0].pop("display"),
    "link-type": lambda c: c["links"][0].update(type="relative"),
    "app-context-on-absolute-link": lambda c: next(x for x in c["links"] if x["type"] == "absolute").update(
        appContext="x"
    ),
    "unknown-field": lambda c: c.update(priority="high"),
    "no-source": lambda c: c.pop("source"),
    "delete-without-resource-id": lambda c: c.update(
        selectionBehavior="any", suggestions=[{"label": "x", "actions": [{"type": "delete", "description": "d"}]}]
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN_CARDS))
def test_each_broken_rule_is_caught(name: str) -> None:
    with pytest.raises((ValueError, AssertionError)):
        check_cards(_break(BROKEN_CARDS[name]))


def test_healthchain_catches_what_it_models_independently() -> None:
    from healthchain.models.responses.cdsresponse import CDSResponse

    # healthchain allows a 140-character summary (the spec says fewer than 140); our model does not.
    for name in ("link-type", "indicator", "suggestions-without-selection-behavior", "no-source", "empty-string"):
        with pytest.raises(ValueError):
            CDSResponse.model_validate(_break(BROKEN_CARDS[name]))


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        (400, "application/json", b'{"error": "x"}'),
        (400, "application/fhir+json", b'{"resourceType": "OperationOutcome", "issue": []}'),
        (500, "text/html", b"<html>Internal Server Error</html>"),
    ],
)
def test_a_non_2xx_answer_must_be_an_operation_outcome(status: int, content_type: str, body: bytes) -> None:
    with pytest.raises(NonConformingResponseError):
        check_response("POST", "/cds-services/sid-igrt-order-sign", status, content_type, body)
