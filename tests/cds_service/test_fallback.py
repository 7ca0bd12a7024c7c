"""The FHIR server fallback, with ``responses`` standing in for the EHR's FHIR server."""

from __future__ import annotations

import copy
import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses
from flask import Flask

from cds_service.wire.definitions import PREFETCH
from tests.cases import CASES, case_dir
from tests.conftest import EVIDENCE_APP, make_app

FHIR = "https://fhir.ehr.test.example/api/FHIR/R4"
TOKEN = "fhir-access-token-secret-value"
CASE = next(c for c in CASES if c.name == "pop2-window-igg-below-4-start")
GOLDEN = json.loads((case_dir(CASE) / "request.json").read_text(encoding="utf-8"))
EXPECTED = json.loads((case_dir(CASE) / "expected.json").read_text(encoding="utf-8"))["body"]
URL = f"/cds-services/{CASE.service}"
TYPES = {key: template.split("?")[0].split("/")[0] for key, template in PREFETCH.items()}


def fallback_app(**config: Any) -> Flask:
    """An app that may fetch from ``FHIR``; with an allowlist, the evidence page too (its cards match the golden)."""
    settings = {"FHIR_SERVER_ALLOWLIST": [FHIR], **config}
    return make_app(**(settings if not settings["FHIR_SERVER_ALLOWLIST"] else {**EVIDENCE_APP, **settings}))


def request_body(drop: tuple[str, ...] = tuple(PREFETCH), **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(GOLDEN)
    for key in drop:
        body["prefetch"].pop(key, None)
    body["fhirServer"] = FHIR
    body["fhirAuthorization"] = {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "x",
        "subject": "cds",
    }
    body.update(changes)
    return body


def serve_golden(status: int = 200, body: Any = None, only: str | None = None) -> None:
    """Answer every prefetch query with the golden case's own prefetch value."""

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        kind = urlsplit(str(request.url)).path.removeprefix(urlsplit(FHIR).path).strip("/").split("/")[0]
        key = next(k for k, t in TYPES.items() if t == kind)
        if only is not None and key != only:
            return 200, {}, json.dumps(GOLDEN["prefetch"][key])
        value = body if body is not None else GOLDEN["prefetch"][key]
        return status, {"Content-Type": "application/fhir+json"}, value if isinstance(value, str) else json.dumps(value)

    responses.add_callback(responses.GET, re.compile(re.escape(FHIR) + r"/.*"), callback=answer)


def card(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"][0]


@responses.activate
def test_no_prefetch_at_all_gives_the_same_card_as_full_prefetch(caplog: pytest.LogCaptureFixture) -> None:
    serve_golden()
    caplog.set_level(logging.DEBUG)
    got = card(fallback_app().test_client().post(URL, json=request_body()))
    assert got == EXPECTED["cards"][0]
    assert len(responses.calls) == len(PREFETCH)
    assert TOKEN not in caplog.text


@responses.activate
def test_only_missing_keys_are_fetched() -> None:
    serve_golden()
    got = card(fallback_app().test_client().post(URL, json=request_body(drop=("observations", "encounters"))))
    assert got == EXPECTED["cards"][0]
    fetched = sorted(call.request.path_url.split("?")[0].rsplit("/", 1)[-1] for call in responses.calls)
    assert fetched == ["Encounter", "Observation"]


@responses.activate
def test_an_operation_outcome_prefetch_is_refetched() -> None:
    serve_golden()
    body = request_body(drop=())
    body["prefetch"]["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    assert card(fallback_app().test_client().post(URL, json=body)) == EXPECTED["cards"][0]
    assert len(responses.calls) == 1


@responses.activate
def test_a_paginated_prefetch_is_completed_from_the_same_origin() -> None:
    observations = GOLDEN["prefetch"]["observations"]
    first, rest = observations["entry"][:1], observations["entry"][1:]
    next_url = f"{FHIR}/Observation?_getpages=abc&_offset=1"
    responses.get(next_url, json={"resourceType": "Bundle", "type": "searchset", "entry": rest})
    body = request_body(drop=())
    body["prefetch"]["observations"] = {**observations, "entry": first, "link": [{"relation": "next", "url": next_url}]}
    assert card(fallback_app().test_client().post(URL, json=body)) == EXPECTED["cards"][0]


@responses.activate
def test_next_links_to_another_origin_are_not_followed() -> None:
    body = request_body(drop=())
    evil = "https://elsewhere.example/Observation?page=2"
    body["prefetch"]["observations"] = {
        **GOLDEN["prefetch"]["observations"],
        "link": [{"relation": "next", "url": evil}],
    }
    response = fallback_app().test_client().post(URL, json=body)
    assert response.status_code == 412
    assert "leaves the FHIR server's origin" in response.get_json()["issue"][0]["details"]["text"]
    assert len(responses.calls) == 0


FAILURES = {
    "401": ({"status": 401, "body": {"resourceType": "OperationOutcome"}}, "refused access (HTTP 401)"),
    "403": ({"status": 403, "body": {"resourceType": "OperationOutcome"}}, "refused access (HTTP 403)"),
    "500": ({"status": 500, "body": "oops"}, "answered HTTP 500"),
    "redirect": ({"status": 302, "body": ""}, "answered HTTP 302"),
    "not JSON": ({"body": "<html>"}, "not JSON"),
    "not a Bundle": ({"body": {"resourceType": "Patient", "id": "x"}}, "not a FHIR Bundle"),
    "entry not a list": ({"body": {"resourceType": "Bundle", "entry": {}}}, "Bundle.entry is not a list"),
    "server OperationOutcome": (
        {"body": {"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "diagnostics": "db down"}]}},
        "fhirServer reported: db down",
    ),
}


@pytest.mark.parametrize(("answer", "reason"), FAILURES.values(), ids=FAILURES.keys())
@responses.activate
def test_fhir_server_failures_answer_412_naming_the_data(answer: dict[str, Any], reason: str) -> None:
    serve_golden(only="observations", **answer)
    response = fallback_app().test_client().post(URL, json=request_body(drop=("observations",)))
    assert response.status_code == 412
    text = response.get_json()["issue"][0]["details"]["text"]
    assert text.startswith("Required data was neither prefetched nor fetchable: observations (not provided; fhirServer")
    assert reason in text and TOKEN not in text


@responses.activate
def test_timeouts_answer_412() -> None:
    responses.get(re.compile(re.escape(FHIR) + r"/Observation.*"), body=requests.ConnectTimeout("slow"))
    response = fallback_app().test_client().post(URL, json=request_body(drop=("observations",)))
    assert response.status_code == 412
    assert "timed out" in response.get_json()["issue"][0]["details"]["text"]


@responses.activate
def test_too_many_pages_is_unavailable_not_truncated() -> None:
    page = {"resourceType": "Bundle", "entry": [], "link": [{"relation": "next", "url": f"{FHIR}/Observation?p=n"}]}
    responses.get(re.compile(re.escape(FHIR) + r"/Observation.*"), json=page)
    response = fallback_app(FHIR_MAX_PAGES=3).test_client().post(URL, json=request_body(drop=("observations",)))
    assert response.status_code == 412
    assert "more than 3 pages" in response.get_json()["issue"][0]["details"]["text"]
    assert len(responses.calls) == 3


@responses.activate
def test_an_optional_key_that_fails_is_named_on_the_card() -> None:
    serve_golden(only="procedures", status=503, body="")
    got = card(fallback_app().test_client().post(URL, json=request_body(drop=("procedures",))))
    issues = got["extension"]["sid-igrt"]["dataIssues"]
    assert {
        "resource": "prefetch.procedures",
        "reason": "not provided; fhirServer: the FHIR server answered HTTP 503: decided without Procedure data",
    } in issues


@responses.activate
def test_a_patient_that_is_not_found_reads_as_null_and_age_is_unknown() -> None:
    responses.get(f"{FHIR}/Patient/{GOLDEN['context']['patientId']}", status=404)
    got = card(fallback_app().test_client().post(URL, json=request_body(drop=("patient",))))
    assert got["extension"]["sid-igrt"]["rule"] == "insufficient-data-age-unknown"


@pytest.mark.parametrize(
    ("config", "server", "reason"),
    [
        ({}, "https://other.example/fhir", "not on the service's FHIR server allowlist"),
        ({}, FHIR.replace("https", "http"), "must use https"),
        ({}, "ftp://x/fhir", "not an http(s) URL"),
        ({}, "https://fhir.ehr.test.example/api/FHIR/R4-evil", "allowlist"),
        ({"FHIR_SERVER_ALLOWLIST": []}, FHIR, "allowlist"),
    ],
)
@responses.activate
def test_servers_off_the_allowlist_are_never_contacted(config: dict[str, Any], server: str, reason: str) -> None:
    app = fallback_app(**config)
    response = app.test_client().post(URL, json=request_body(fhirServer=server))
    assert response.status_code == 412 and reason in response.get_json()["issue"][0]["details"]["text"]
    assert len(responses.calls) == 0


@responses.activate
def test_plain_http_only_when_allowed() -> None:
    http = FHIR.replace("https", "http")
    responses.get(re.compile(re.escape(http) + r"/.*"), json={"resourceType": "Bundle", "entry": []})
    app = make_app(FHIR_SERVER_ALLOWLIST=[http], FHIR_ALLOW_HTTP=True)
    assert app.test_client().post(URL, json=request_body(fhirServer=http)).status_code == 200


def test_without_fhir_authorization_nothing_is_fetched() -> None:
    body = request_body()
    del body["fhirAuthorization"]
    response = fallback_app().test_client().post(URL, json=body)
    assert response.status_code == 412
    assert "no fhirServer and fhirAuthorization" in response.get_json()["issue"][0]["details"]["text"]


@pytest.mark.parametrize(
    "authorization",
    [
        {"token_type": "Bearer"},
        {"access_token": "", "token_type": "Bearer"},
        {"access_token": TOKEN, "token_type": "MAC"},
    ],
)
def test_malformed_fhir_authorization_is_400_without_echoing_the_token(authorization: dict[str, Any]) -> None:
    response = fallback_app().test_client().post(URL, json=request_body(fhirAuthorization=authorization))
    assert response.status_code == 400
    assert TOKEN not in response.get_data(as_text=True)


SNEAKY_SERVERS = {
    "dot-dot segments": f"{FHIR}/../../admin",
    "trailing dot-dot": f"{FHIR}/..",
    "dot segment": f"{FHIR}/./",
    "encoded dots": f"{FHIR}/%2e%2e/admin",
    "encoded dots, upper case": f"{FHIR}/%2E%2E/admin",
    "encoded slash": f"{FHIR}/..%2fadmin",
    "backslash": f"{FHIR}/..\\admin",
    "query": f"{FHIR}?x=1",
}


@pytest.mark.parametrize("server", SNEAKY_SERVERS.values(), ids=SNEAKY_SERVERS.keys())
@responses.activate
def test_a_fhir_server_that_normalises_elsewhere_is_never_contacted(server: str) -> None:
    response = fallback_app().test_client().post(URL, json=request_body(fhirServer=server))
    assert response.status_code == 412
    assert "not a plain base path" in response.get_json()["issue"][0]["details"]["text"]
    assert len(responses.calls) == 0


SNEAKY_NEXT = {
    "dot-dot out of the base path": "https://fhir.ehr.test.example/api/FHIR/R4/../../internal/Observation?p=2",
    "same origin, another path": "https://fhir.ehr.test.example/internal/Observation?p=2",
    "encoded dots": "https://fhir.ehr.test.example/api/FHIR/R4/%2e%2e/%2e%2e/internal?p=2",
    "relative dot-dot": "../../internal/Observation?p=2",
}


@pytest.mark.parametrize("next_url", SNEAKY_NEXT.values(), ids=SNEAKY_NEXT.keys())
@responses.activate
def test_next_links_that_leave_the_base_path_are_not_followed(next_url: str) -> None:
    first = {"resourceType": "Bundle", "entry": [], "link": [{"relation": "next", "url": next_url}]}
    responses.get(re.compile(re.escape(FHIR) + r"/Observation\?.*"), json=first)
    response = fallback_app().test_client().post(URL, json=request_body(drop=("observations",)))
    assert response.status_code == 412
    assert "leaves the FHIR server's base path" in response.get_json()["issue"][0]["details"]["text"]
    assert len(responses.calls) == 1  # the first page only


@pytest.mark.parametrize("patient_id", [".", ".."])
def test_a_patient_id_that_is_a_dot_segment_is_400(patient_id: str) -> None:
    body = request_body()
    body["context"] = {**body["context"], "patientId": patient_id}
    response = fallback_app().test_client().post(URL, json=body)
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["expression"] == ["context.patientId"]
