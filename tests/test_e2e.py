"""End to end: start the real server (``cds-service serve``, gunicorn, as ``make serve`` does) and call it over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from storage import AuditStore, Database
from tests import live_server
from tests.cases import AS_OF, CASES, Case, case_dir, without_uuids
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES, fresh_postgres_url, sqlite_url
from tests.fhir_server import FhirStore, running_fhir_server
from tests.jwt_keys import ISSUER, client_jwt, es384_key, jwks

pytestmark = pytest.mark.e2e


FHIR_TOKEN = "e2e-fhir-access-token"
CLIENT_KEY = es384_key("e2e-es384")
ORIGIN = "https://ehr.test.example"
PAGE_SIZE = 5


@dataclass(frozen=True)
class Servers:
    base: str
    fhir: str
    fhir_store: FhirStore
    audit: AuditStore


def e2e_database_url() -> str:
    # fresh_postgres_url fails when PostgreSQL is required but not configured.
    return fresh_postgres_url() if POSTGRES_URL or REQUIRE_POSTGRES else sqlite_url()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The FHIR test server (loaded with ``cds-service load-fixtures``) and the service under gunicorn, auth on."""
    directory = tmp_path_factory.mktemp("e2e")
    jwks_file = directory / "client.jwks.json"
    jwks_file.write_text(json.dumps(jwks(CLIENT_KEY)), encoding="utf-8")
    issuers_file = directory / "issuers.json"
    issuers_file.write_text(json.dumps({ISSUER: {"jwks_file": str(jwks_file)}}), encoding="utf-8")
    store = FhirStore(page_size=PAGE_SIZE, token=FHIR_TOKEN)  # pagination is exercised: up to 30 resources a query
    database_url = e2e_database_url()
    with running_fhir_server(store) as fhir:
        loaded = subprocess.run(
            [sys.executable, "-m", "commands.cli", "load-fixtures", fhir, "--token", FHIR_TOKEN],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert loaded.returncode == 0, loaded.stderr
        env = {
            "CDS_AUTH": "required",
            "CDS_TRUSTED_ISSUERS_FILE": str(issuers_file),
            "CDS_CORS_ORIGINS": ORIGIN,
            "CDS_FHIR_SERVER_ALLOWLIST": fhir,
            "CDS_FHIR_ALLOW_HTTP": "true",
            "CDS_FHIR_BUDGET_SECONDS": "2",
            "CDS_LATENCY_BUDGET_MS": "3000",  # a loaded CI machine: generous; the budget itself is tested apart
            "CDS_FHIR_READ_TIMEOUT": "1",
            "DATABASE_URL": database_url,
            "CDS_SMART_CLIENT_ID": "sid-igrt-evidence",  # the evidence page on: cards carry its link (golden)
        }
        with live_server.running_service(env, directory / "service.log") as service:
            database = Database(database_url)
            yield Servers(service.base, fhir, store, AuditStore(database))
            database.dispose()
        output = service.log_text()
        assert FHIR_TOKEN not in output and "eyJ" not in output  # no tokens in the logs


def signed(url: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client_jwt(CLIENT_KEY, url)}", "Content-Type": "application/json"}


def test_discovery_over_http_with_auth_and_cors(servers: Servers) -> None:
    url = f"{servers.base}/cds-services"
    response = requests.get(url, headers={"Origin": ORIGIN, **signed(url)}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert len(response.json()["services"]) == 3
    unsigned = requests.get(url, headers={"Origin": ORIGIN}, timeout=5)
    assert unsigned.status_code == 401 and unsigned.headers["Access-Control-Allow-Origin"] == ORIGIN
    preflight = requests.options(
        f"{servers.base}/cds-services/sid-igrt-patient-view",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=5,
    )
    assert preflight.status_code == 200 and "POST" in preflight.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("case", [c for c in CASES if c.as_of == AS_OF], ids=lambda c: c.name)
def test_golden_cases_over_http_are_answered_and_recorded(servers: Servers, case: Case) -> None:
    directory = case_dir(case)
    request = (directory / "request.json").read_bytes()
    expected = json.loads((directory / "expected.json").read_text(encoding="utf-8"))
    url = f"{servers.base}/cds-services/{case.service}"
    response = requests.post(url, data=request, headers=signed(url), timeout=10)
    # The same cards as the golden file; the uuids differ (derived with the client issuer, here authenticated).
    assert {"status": response.status_code, "body": without_uuids(response.json())} == without_uuids(expected)
    hook_instance = json.loads(request)["hookInstance"]
    recorded = [d for d in servers.audit.decisions(limit=500) if d.hook_instance == hook_instance]
    assert recorded and recorded[0].client_issuer == ISSUER
    cards = response.json().get("cards") or [{}]
    assert recorded[0].card_uuid == cards[0].get("uuid")


FALLBACK_CASES = [
    c for c in CASES if c.as_of == AS_OF and c.name.endswith(("-start", "-stop", "-consider", "-continue"))
]


@pytest.mark.parametrize("case", FALLBACK_CASES, ids=lambda c: c.name)
def test_without_prefetch_the_service_fetches_from_the_fhir_server(servers: Servers, case: Case) -> None:
    request = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
    expected = json.loads((case_dir(case) / "expected.json").read_text(encoding="utf-8"))["body"]["cards"][0]
    del request["prefetch"]
    request["fhirServer"] = servers.fhir
    request["fhirAuthorization"] = {
        "access_token": FHIR_TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/*.read",
        "subject": "sid-igrt",
    }
    url = f"{servers.base}/cds-services/{case.service}"
    response = requests.post(url, json=request, headers=signed(url), timeout=10)
    assert response.status_code == 200, response.text
    card = response.json()["cards"][0]
    assert card["summary"] == expected["summary"]
    decision, wanted = card["extension"]["sid-igrt"], expected["extension"]["sid-igrt"]
    assert (decision["rule"], decision["recommendation"], decision["dates"]) == (
        wanted["rule"],
        wanted["recommendation"],
        wanted["dates"],
    )
    assert [c["held"] for c in decision["criteria"]] == [c["held"] for c in wanted["criteria"]]
    recorded = next(
        d for d in servers.audit.decisions(limit=500) if d.hook_instance == request["hookInstance"] and d.fetched_keys
    )
    assert "observations" in recorded.fetched_keys
    if sum(r["resourceType"] == "MedicationAdministration" for r in _resources_of(servers, request)) > PAGE_SIZE:
        assert any("_getpages" in path for path in servers.fhir_store.requests)  # next links were followed


def _resources_of(servers: Servers, request: dict[str, Any]) -> list[dict[str, Any]]:
    patient = request["context"]["patientId"]
    return [
        r
        for r in servers.fhir_store.resources.values()
        if r.get("subject", {}).get("reference") == f"Patient/{patient}"
    ]


def test_a_refused_fhir_token_is_412(servers: Servers) -> None:
    case = FALLBACK_CASES[0]
    request = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
    request["prefetch"].pop("observations")
    request["fhirServer"] = servers.fhir
    request["fhirAuthorization"] = {"access_token": "wrong-token", "token_type": "Bearer"}
    url = f"{servers.base}/cds-services/{case.service}"
    response = requests.post(url, json=request, headers=signed(url), timeout=10)
    assert response.status_code == 412
    assert "observations (not provided; fhirServer: the FHIR server refused access (HTTP 401))" in response.text


def test_feedback_over_http_is_stored_once_and_only_for_issued_cards(servers: Servers) -> None:
    case = next(c for c in CASES if c.name == "pop2-window-igg-below-4-start")
    url = f"{servers.base}/cds-services/{case.service}"
    request = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
    request["hookInstance"] = "e2e-feedback-0001"
    card = requests.post(url, json=request, headers=signed(url), timeout=10).json()["cards"][0]
    item = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-20T10:00:00Z"}
    item["acceptedSuggestions"] = [{"id": card["suggestions"][0]["uuid"]}]
    feedback_url = f"{url}/feedback"
    for _ in range(3):  # an EHR retrying: stored once
        assert requests.post(feedback_url, json={"feedback": [item]}, headers=signed(feedback_url), timeout=5).ok
    stored = [f for f in servers.audit.feedback() if f.card_uuid == card["uuid"]]
    assert len(stored) == 1 and stored[0].client_issuer == ISSUER
    never_issued = {**item, "card": "e2e-card-never-issued"}
    refused = requests.post(feedback_url, json={"feedback": [never_issued]}, headers=signed(feedback_url), timeout=5)
    assert refused.status_code == 404 and refused.headers["Content-Type"].startswith("application/fhir+json")
    other_endpoint = f"{servers.base}/cds-services/sid-igrt-order-sign/feedback"
    elsewhere = requests.post(other_endpoint, json={"feedback": [item]}, headers=signed(other_endpoint), timeout=5)
    assert elsewhere.status_code == 404


def test_a_replayed_client_token_is_401(servers: Servers) -> None:
    url = f"{servers.base}/cds-services"
    headers = signed(url)
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    replay = requests.get(url, headers=headers, timeout=5)
    assert replay.status_code == 401 and replay.json()["issue"][0]["details"]["text"] == "Authentication failed."


def test_bad_input_over_http_is_an_operation_outcome(servers: Servers) -> None:
    url = f"{servers.base}/cds-services/sid-igrt-order-sign"
    response = requests.post(url, data=b"{", headers=signed(url), timeout=5)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    assert response.json()["resourceType"] == "OperationOutcome"
