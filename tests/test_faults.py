"""Fault injection against the live server: a misbehaving FHIR server, and an audit database that goes away.

A real local HTTP server (stdlib, one thread per request) plays the EHR's FHIR server; its first path segment picks
the fault. The service runs under gunicorn with its production latency budget (400 ms) and a 500 ms FHIR budget
(the time it may wait on the EHR, added to its own). Each fault has a defined outcome: HTTP 412 naming the data
(required data not fetchable) within the two budgets, never a
5xx and never a card built on half the data. The database outage runs on PostgreSQL (made to refuse connections):
calls keep their cards, feedback is 503, readiness is 503, the workers hold the decision rows (as many as
``cds_audit_queue_length`` shows), and every held row is in the database once it is back: none is lost.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from cds_service.wire.definitions import PREFETCH
from storage import AuditStore, Database
from tests import live_server
from tests.cases import CASES, case_dir
from tests.conftest import fresh_postgres_url
from tests.fhir_server import serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CASE = next(c for c in CASES if c.name == "pop2-window-igg-below-4-start")
GOLDEN = json.loads((case_dir(CASE) / "request.json").read_text(encoding="utf-8"))
TOKEN = "fault-test-fhir-token"
LATENCY_BUDGET = 0.4
FHIR_BUDGET = 0.5
SLACK = 0.35  # loopback, a loaded 2-core CI machine, the client's own overhead


class _Faulty(BaseHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        fault = self.path.strip("/").split("/")[0]
        kind = self.path.split("/fhir/")[-1].split("?")[0].split("/")[0]
        key = next((k for k, t in PREFETCH.items() if t.split("?")[0].split("/")[0] == kind), None)
        good = json.dumps(GOLDEN["prefetch"].get(key) or {"resourceType": "Bundle", "type": "searchset"}).encode()
        if kind != "Observation" or fault == "healthy":  # only the IgG query misbehaves; the rest is served correctly
            self._send(200, good)
        elif fault == "slow":
            time.sleep(2)
            self._send(200, good)
        elif fault == "error-500":
            self._send(500, b'{"resourceType": "OperationOutcome"}')
        elif fault == "unauthorized":
            self._send(401, b'{"resourceType": "OperationOutcome"}')
        elif fault == "invalid-json":
            self._send(200, b'{"resourceType": "Bundle", "entry": [')
        elif fault == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(good)))
            self.end_headers()
            self.wfile.write(good[: len(good) // 2])  # then the connection closes mid-Bundle
            self.close_connection = True
        elif fault == "foreign-next":
            bundle = json.loads(good)
            bundle["link"] = [{"relation": "next", "url": "http://198.51.100.7/fhir/Observation?page=2"}]
            self._send(200, json.dumps(bundle).encode())
        else:
            self._send(404, b"{}")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


FAULTS = {
    "slow": "observations (not provided; fhirServer:",  # timed out, or cut at the budget: whichever fires first
    "error-500": "answered HTTP 500",
    "unauthorized": "refused access (HTTP 401)",
    "invalid-json": "not JSON",
    "truncated": "observations",
    "foreign-next": "leaves the FHIR server's origin",
}


@pytest.fixture(scope="module")
def fhir_base() -> Iterator[str]:
    with serving(_Faulty) as base:
        yield base


@pytest.fixture(scope="module")
def live(fhir_base: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[live_server.LiveService]:
    directory = tmp_path_factory.mktemp("faults")
    env = {
        "DATABASE_URL": f"sqlite:///{directory / 'audit.sqlite3'}",
        "CDS_FHIR_SERVER_ALLOWLIST": ",".join(f"{fhir_base}/{fault}/fhir" for fault in [*FAULTS, "healthy"]),
        "CDS_FHIR_ALLOW_HTTP": "true",
        "CDS_LATENCY_BUDGET_MS": str(int(LATENCY_BUDGET * 1000)),
        "CDS_FHIR_BUDGET_SECONDS": str(FHIR_BUDGET),
    }
    with live_server.running_service(env, directory / "service.log") as service:
        yield service
    assert "Traceback" not in service.log_text()


def without_observations(fhir_server: str) -> dict[str, Any]:
    body = copy.deepcopy(GOLDEN)
    body["prefetch"].pop("observations")
    body["hookInstance"] = str(uuid.uuid4())
    body["fhirServer"] = fhir_server
    body["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300, "scope": "x"}
    return body


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fhir_fault_is_a_412_within_the_budget(live: live_server.LiveService, fhir_base: str, fault: str) -> None:
    url = f"{live.base}/cds-services/{CASE.service}"
    body = without_observations(f"{fhir_base}/{fault}/fhir")
    started = time.monotonic()
    response = requests.post(url, json=body, timeout=10)
    elapsed = time.monotonic() - started
    assert response.status_code == 412, response.text
    detail = response.json()["issue"][0]["details"]["text"]
    assert "observations" in detail and FAULTS[fault] in detail and TOKEN not in detail
    assert elapsed < LATENCY_BUDGET + FHIR_BUDGET + SLACK, f"{fault}: {elapsed:.3f} s"


def test_the_healthy_fhir_server_gives_the_card(live: live_server.LiveService, fhir_base: str) -> None:
    url = f"{live.base}/cds-services/{CASE.service}"
    response = requests.post(url, json=without_observations(f"{fhir_base}/healthy/fhir"), timeout=10)
    assert response.status_code == 200
    assert response.json()["cards"][0]["extension"]["sid-igrt"]["recommendation"] == "start"


# --- the audit database goes away ---------------------------------------------------------------------------


def set_connections(admin_url: str, database: str, *, allowed: bool) -> None:
    admin = Database(admin_url.rsplit("/", 1)[0] + "/postgres")
    with admin.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}'))
        if not allowed:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": database}
            )
    admin.dispose()


def test_a_database_outage_loses_no_decision(tmp_path: Path) -> None:
    url = fresh_postgres_url()
    database_name = url.rsplit("/", 1)[1].split("?")[0]
    migrated = Database(url)
    migrated.upgrade()
    migrated.dispose()
    env = {"DATABASE_URL": url, "CDS_LATENCY_BUDGET_MS": "3000"}
    with live_server.running_service(env, tmp_path / "service.log", workers=2) as service:
        hook = f"{service.base}/cds-services/{CASE.service}"
        feedback = f"{hook}/feedback"
        before = requests.post(hook, json={**GOLDEN, "hookInstance": "before"}, timeout=10)
        assert before.status_code == 200
        card = before.json()["cards"][0]["uuid"]  # feedback is accepted only about cards the service issued
        item = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-20T10:00:00Z"}
        set_connections(url, database_name, allowed=False)
        try:
            during = [
                requests.post(hook, json={**GOLDEN, "hookInstance": f"during-{i}"}, timeout=10) for i in range(20)
            ]
            assert [r.status_code for r in during] == [200] * 20
            assert all(r.json()["cards"] for r in during)
            # Answered and held in the workers (all 20: what a kill -9 now would lose, docs/reliability.md).
            metrics = requests.get(f"{service.base}/metrics", timeout=10).text
            assert "cds_audit_queue_length 20.0" in metrics.splitlines()
            assert requests.post(feedback, json={"feedback": [item]}, timeout=10).status_code == 503
            assert requests.get(f"{service.base}/health/ready", timeout=10).status_code == 503
        finally:
            set_connections(url, database_name, allowed=True)
        deadline = time.monotonic() + 30
        store = AuditStore(Database(url))
        while time.monotonic() < deadline:
            stored = {d.hook_instance for d in store.decisions(limit=100)}
            if len(stored) == 21:
                break
            time.sleep(0.5)
        assert stored == {"before", *(f"during-{i}" for i in range(20))}
        assert requests.post(feedback, json={"feedback": [item]}, timeout=10).status_code == 200  # the retry
        assert requests.get(f"{service.base}/health/ready", timeout=10).status_code == 200
        metrics = requests.get(f"{service.base}/metrics", timeout=10).text
        assert "cds_audit_queue_length 0.0" in metrics.splitlines()  # nothing held any more
        store.database.dispose()
