"""What the service and the worklist emit is valid FHIR R4 (the ``fhir.resources`` R4B models and the checks of
``tests/fhir_validity.py``): OperationOutcome bodies of 4xx/5xx answers, the resources of card suggestions (draft
ServiceRequests for IgG, IgA, IgM), the worklist's GuidanceResponses and their contained Parameters, the synthetic
Bulk export (``cds-service synth-cohort``) and the transaction Bundle of ``cds-service load-fixtures``.

Every error class's OperationOutcome is checked in ``tests/test_errors.py``; here the answers real bad requests get.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient

from cohort.evaluation import WorklistRow
from cohort.ids import BULK_PATIENT_ID_SYSTEM, is_fhir_id
from cohort.outputs import guidance_response, guidance_response_id
from cohort.synth import templates_by_patient, write_synthetic_cohort
from commands.upload import DEFAULT_FIXTURES, fixture_transaction
from guideline.sources import GUIDELINE_VERSION
from tests.cohort.test_cohort import AS_OF, fixture_resources, run, write_export
from tests.conftest import make_app
from tests.fhir_validity import assert_valid, problems
from tests.jwt_keys import es384_key, jwks

GOLDEN = sorted(DEFAULT_FIXTURES.glob("*/*/expected.json"))


def suggested_resources(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each ``cards[].suggestions[].actions[].resource`` of a service answer, with where it is."""
    for c, card in enumerate(body.get("cards") or []):
        for s, suggestion in enumerate(card.get("suggestions") or []):
            for a, action in enumerate(suggestion.get("actions") or []):
                if "resource" in action:
                    yield f"cards[{c}].suggestions[{s}].actions[{a}].resource", action["resource"]


def case_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.parent.name}"


@pytest.mark.parametrize("expected", GOLDEN, ids=case_id)
def test_golden_answers_emit_valid_fhir(expected: Path) -> None:
    """Every golden answer: its OperationOutcome (non-2xx) or every resource its cards suggest."""
    answer = json.loads(expected.read_text(encoding="utf-8"))
    if answer["status"] >= 300:
        assert_valid(answer["body"], f"{case_id(expected)} body")
    for where, resource in suggested_resources(answer["body"]):
        assert_valid(resource, f"{case_id(expected)} {where}")


def test_the_golden_answers_suggest_lab_orders() -> None:
    """The check above is not empty: the golden cards suggest draft ServiceRequests, and one answer is a 412."""
    kinds = [
        (resource["resourceType"], resource["status"], resource["intent"])
        for path in GOLDEN
        for _, resource in suggested_resources(json.loads(path.read_text(encoding="utf-8"))["body"])
    ]
    assert len(kinds) >= 20 and set(kinds) == {("ServiceRequest", "draft", "order")}
    statuses = {json.loads(path.read_text(encoding="utf-8"))["status"] for path in GOLDEN}
    assert statuses > {200}


@pytest.mark.parametrize("expected", GOLDEN[::3], ids=case_id)
def test_advice_cards_in_danish_suggest_valid_fhir(expected: Path) -> None:
    """With each advice as its own card, in Danish: every suggested resource is still valid."""
    request = json.loads((expected.parent / "request.json").read_text(encoding="utf-8"))
    request["extension"] = {"sid-igrt": {"advice": "cards", "language": "da"}}
    case = json.loads((expected.parent / "case.json").read_text(encoding="utf-8"))
    response = (
        make_app(FIXED_DATE=case["asOf"])
        .test_client()
        .post(f"/cds-services/{expected.parent.parent.name}", json=request)
    )
    body = response.get_json()
    if response.status_code >= 300:
        assert_valid(body)
    for where, resource in suggested_resources(body):
        assert_valid(resource, f"{case_id(expected)} {where}")


def _golden_request() -> dict[str, Any]:
    path = DEFAULT_FIXTURES / "sid-igrt-order-sign" / "pop2-after-window-severe-infection-start" / "request.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _without(request: dict[str, Any], *path: str) -> dict[str, Any]:
    broken = copy.deepcopy(request)
    target = broken
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return broken


BAD_CALLS: list[tuple[str, str, str, Any]] = [
    ("unknown service", "POST", "/cds-services/no-such-service", _golden_request()),
    ("unknown path", "GET", "/no/such/path", None),
    ("method not allowed", "GET", "/cds-services/sid-igrt-order-sign", None),
    ("not JSON", "POST", "/cds-services/sid-igrt-order-sign", b"{not json"),
    ("empty body", "POST", "/cds-services/sid-igrt-order-sign", b""),
    ("a JSON array", "POST", "/cds-services/sid-igrt-order-sign", []),
    ("another hook", "POST", "/cds-services/sid-igrt-patient-view", _golden_request()),
    ("no context", "POST", "/cds-services/sid-igrt-order-sign", _without(_golden_request(), "context")),
    (
        "no draftOrders",
        "POST",
        "/cds-services/sid-igrt-order-sign",
        _without(_golden_request(), "context", "draftOrders"),
    ),
    ("no prefetch (412)", "POST", "/cds-services/sid-igrt-order-sign", _without(_golden_request(), "prefetch")),
    (
        "a prefetch value that is a string",
        "POST",
        "/cds-services/sid-igrt-order-sign",
        {**_golden_request(), "prefetch": {**_golden_request()["prefetch"], "observations": "none"}},
    ),
    (
        "patientId '..'",
        "POST",
        "/cds-services/sid-igrt-order-sign",
        {**_golden_request(), "context": {**_golden_request()["context"], "patientId": ".."}},
    ),
    ("feedback not JSON", "POST", "/cds-services/sid-igrt-order-sign/feedback", b"]"),
    (
        "feedback about an unknown card",
        "POST",
        "/cds-services/sid-igrt-order-sign/feedback",
        {
            "feedback": [
                {
                    "card": "9b2f3c3e-3f7a-4a55-9f35-1b2b6f0a9d11",
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": "9b2f3c3e-3f7a-4a55-9f35-1b2b6f0a9d12"}],
                    "outcomeTimestamp": "2026-11-20T10:00:00Z",
                }
            ]
        },
    ),
]
"""Bad calls and the 4xx each gets (400, 404, 405, 412)."""


@pytest.mark.parametrize(("name", "method", "path", "body"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_error_answers_are_valid_operation_outcomes(
    client: FlaskClient, name: str, method: str, path: str, body: Any
) -> None:
    if isinstance(body, bytes) or body is None:
        response = client.open(path, method=method, data=body, content_type="application/json")
    else:
        response = client.open(path, method=method, json=body)
    assert 400 <= response.status_code < 500, (name, response.status_code)
    assert response.content_type == "application/fhir+json"
    assert_valid(response.get_json(), name)


def test_401_and_413_answers_are_valid_operation_outcomes(tmp_path: Path) -> None:
    keys = tmp_path / "client.jwks.json"
    keys.write_text(json.dumps(jwks(es384_key("k1"))), encoding="utf-8")
    issuers = {"https://ehr.test.example": {"jwks_file": str(keys)}}
    authenticated = make_app(AUTH="required", TRUSTED_ISSUERS=issuers).test_client()
    unauthorized = authenticated.post("/cds-services/sid-igrt-order-sign", json=_golden_request())
    assert unauthorized.status_code == 401
    assert_valid(unauthorized.get_json(), "401")
    small = make_app(MAX_CONTENT_LENGTH=100).test_client()
    too_large = small.post("/cds-services/sid-igrt-order-sign", json=_golden_request())
    assert too_large.status_code == 413
    assert_valid(too_large.get_json(), "413")


def test_the_worklist_guidance_responses_are_valid_fhir(tmp_path: Path) -> None:
    result = run(write_export(fixture_resources(), tmp_path / "export"), tmp_path / "out")
    lines = (tmp_path / "out" / "guidance-responses.ndjson").read_bytes().splitlines()
    assert len(lines) == result.counts["worklist"] >= 20
    responses = [orjson.loads(line) for line in lines]
    for response in responses:
        assert_valid(response, response["id"])
    assert {r["status"] for r in responses} == {"success", "data-required"}
    assert any("dataRequirement" in r for r in responses)
    assert len({r["id"] for r in responses}) == len(responses)


def _row(patient_id: str, **fields: Any) -> WorklistRow:
    values: dict[str, Any] = {
        "patient_id": patient_id,
        "recommendation": "insufficient-data",
        "rule": "no-recent-igg",
        "population": 2,
        "t0": date(2026, 8, 31),
        "window_end": date(2027, 2, 28),
        "stop_due": None,
        "next_follow_up": None,
        "on_igrt": False,
        "patient_view_card": True,
        "missing": ("measure IgG, IgA and IgM", "Observation/igg-1: unit 'mmol/L' cannot be converted to g/L"),
        "order_lab_tests": True,
    }
    return WorklistRow(**{**values, **fields})


@pytest.mark.parametrize(
    "patient_id",
    ["p1", "a" * 55, "a" * 56, "x" * 64, "patient 7", "urn_uuid_1", "ÆØÅ-1"],
    ids=["short", "55", "56", "64", "space", "underscore", "non-ascii"],
)
def test_a_guidance_response_is_valid_whatever_the_bulk_patient_id(patient_id: str) -> None:
    """A Bulk export's patient ids need not make a FHIR id with the prefix: the id is then a hash, still distinct."""
    response = guidance_response(_row(patient_id), as_of=AS_OF, guideline_version=GUIDELINE_VERSION)
    assert_valid(response, patient_id)
    # A Bulk id that is no FHIR id is named by identifier, never put raw into a reference (issue 29 §3).
    expected = (
        {"reference": f"Patient/{patient_id}"}
        if is_fhir_id(patient_id)
        else {"type": "Patient", "identifier": {"system": BULK_PATIENT_ID_SYSTEM, "value": patient_id}}
    )
    assert response["subject"] == expected


def test_guidance_response_ids_stay_distinct_where_cutting_would_merge_them() -> None:
    assert guidance_response_id("p1") == "sid-igrt-p1"
    assert guidance_response_id("x" * 64 + "1") != guidance_response_id("x" * 64 + "2")


def test_the_synthetic_cohort_is_valid_fhir(tmp_path: Path) -> None:
    bundle, _ = fixture_transaction(DEFAULT_FIXTURES, today=AS_OF)
    templates, shared = templates_by_patient([entry["resource"] for entry in bundle["entry"]])
    write_synthetic_cohort(40, tmp_path, templates=templates, shared=shared, as_of=AS_OF, seed=7)
    found = [
        f"{path.name}:{number}: {problem}"
        for path in sorted(tmp_path.rglob("*.ndjson"))
        for number, line in enumerate(path.read_bytes().splitlines(), 1)
        for problem in problems(orjson.loads(line))
    ]
    assert not found, found[:20]


def test_the_load_fixtures_transaction_is_valid_fhir() -> None:
    bundle, _ = fixture_transaction(DEFAULT_FIXTURES, today=AS_OF)
    assert bundle["type"] == "transaction" and len(bundle["entry"]) > 100
    assert_valid(bundle, "load-fixtures transaction")


def test_the_checks_catch_what_fhir_forbids() -> None:
    """The validity checks are not vacuous: each rule they add to the R4B models catches its break."""
    good = guidance_response(_row("p1"), as_of=AS_OF, guideline_version=GUIDELINE_VERSION)
    assert problems(good) == []
    broken = [
        {**good, "id": "sid igrt"},
        {**good, "status": "done"},
        {**good, "subject": None},
        {**good, "dataRequirement": []},
        {**good, "outputParameters": {"reference": "#other"}},
        {**good, "contained": [{"resourceType": "Parameters", "id": "decision", "parameter": [{"name": "x"}]}]},
        {k: v for k, v in good.items() if k != "moduleCanonical"},
        {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "bad-request"}]},
        {"resourceType": "ServiceRequest", "status": "draft", "intent": "order"},
    ]
    for resource in broken:
        assert problems(resource), resource
