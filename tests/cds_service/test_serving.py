"""Production serving: latency budget, health endpoints, Prometheus metrics, JSON logs with request id."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from prometheus_client import REGISTRY
from sqlalchemy import text

from bench.payloads import payload
from cds_service.ehr.fhir_client import FhirAccessError, FhirClientSettings
from cds_service.http import hooks
from cds_service.http.app import load_settings, runtime_of
from cds_service.http.evaluator import Evaluator
from cds_service.invocation import fallback_fetch
from cds_service.observability import RequestContextFilter, json_formatter
from cds_service.time_limits import BudgetExceededError, Deadline
from cds_service.wire.requests import parse_hook_request
from tests.cases import CASES, case_dir
from tests.conftest import make_app

ORDER_SIGN = "/cds-services/sid-igrt-order-sign"


def golden_request(name: str) -> tuple[str, dict[str, Any]]:
    case = next(c for c in CASES if c.name == name)
    return f"/cds-services/{case.service}", json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- latency budget -------------------------------------------------------------------------------------------


def test_a_real_evaluation_past_the_budget_is_answered_without_cards() -> None:
    extreme = payload("extreme", 6000).request  # ~6,000 resources: far more than 5 ms of work on any machine
    app = make_app(LATENCY_BUDGET_MS=5, FHIR_BUDGET_SECONDS=0.001)
    overruns = metric("cds_latency_budget_overruns_total", hook="order-sign")
    response = app.test_client().post(ORDER_SIGN, json=extreme)
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}
    assert metric("cds_latency_budget_overruns_total", hook="order-sign") == overruns + 1
    (entry,) = runtime_of(app).store.decisions()
    assert (entry.outcome, entry.rule_id, entry.card_uuid) == ("budget-exceeded", None, None)
    assert entry.hook_instance == extreme["hookInstance"]


def test_the_same_call_within_a_generous_budget_gets_its_cards() -> None:
    extreme = payload("extreme", 6000).request
    app = make_app(LATENCY_BUDGET_MS=60_000)
    cards = app.test_client().post(ORDER_SIGN, json=extreme).get_json()["cards"]
    assert cards and cards[0]["extension"]["sid-igrt"]["kind"] == "decision"
    assert runtime_of(app).store.decisions()[0].outcome == "card"


EHR = "https://fhir.ehr.test.example/api/FHIR/R4"
"""An allowlisted FHIR server (``fetching_app``); never contacted by these tests."""


def fetching_app(**config: Any) -> Flask:
    """An app that may fetch from ``EHR`` (so a call lacking prefetch is evaluated on the pool, not inline)."""
    return make_app(FHIR_SERVER_ALLOWLIST=[EHR], **config)


def fetching_request(name: str, *, drop: str | None = "procedures") -> tuple[str, dict[str, Any]]:
    """A golden request that names ``EHR`` and a token, without the prefetch key ``drop`` (an optional one)."""
    url, body = golden_request(name)
    body = {**body, "fhirServer": EHR, "fhirAuthorization": _authorization()}
    if drop is not None:
        body["prefetch"] = {k: v for k, v in body["prefetch"].items() if k != drop}
    return url, body


def slow_evaluations(monkeypatch: pytest.MonkeyPatch, seconds: float) -> threading.Event:
    """Make every evaluation sleep ``seconds`` first, as one waiting on the EHR; the event is set when the (last)
    evaluation has ended. The evaluation then runs without a FHIR client: nothing leaves the test."""
    real_invoke = hooks.invoke
    finished = threading.Event()

    def slow_invoke(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        try:
            return real_invoke(*args, **{**kwargs, "fhir_client": None})
        finally:
            finished.set()

    monkeypatch.setattr(hooks, "invoke", slow_invoke)
    return finished


def test_past_the_budget_the_answer_does_not_wait_for_the_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    finished = slow_evaluations(monkeypatch, 1.5)
    app = fetching_app(LATENCY_BUDGET_MS=200, FHIR_BUDGET_SECONDS=0.1)
    url, request = fetching_request("pop2-window-igg-below-4-start")  # may wait on the EHR: on the pool
    started = time.monotonic()
    response = app.test_client().post(url, json=request)
    elapsed = time.monotonic() - started
    assert response.get_json() == {"cards": []}
    assert elapsed < 1.2, f"answered after {elapsed:.2f} s: it waited for the late evaluation"
    assert runtime_of(app).store.decisions()[0].outcome == "budget-exceeded"
    assert finished.wait(10)  # the late evaluation ran to its end in the background, and was dropped
    assert len(runtime_of(app).store.decisions()) == 1


def test_the_budget_counts_from_the_request_arrival() -> None:
    deadline = Deadline.starting_now(0.05)
    assert 0.0 < deadline.remaining() <= 0.05
    time.sleep(0.06)
    assert deadline.remaining() == 0.0
    evaluator = Evaluator(threads=1)
    with pytest.raises(BudgetExceededError):
        evaluator.run(lambda: 1, deadline)  # already passed: not even a fast evaluation is waited for
    assert evaluator.run(lambda: 2, Deadline.starting_now(5)) == 2
    with pytest.raises(ZeroDivisionError):  # the evaluation's own errors pass through unchanged
        evaluator.run(lambda: 1 / 0, Deadline.starting_now(5))
    evaluator.close()


class RecordingClient:
    def __init__(self, deadline: Deadline) -> None:
        self.settings = FhirClientSettings(budget=3.0)
        self.deadline = deadline
        self.budgets: list[float | None] = []
        self.remaining_during: list[float] = []

    def fetch_all(self, server: str, token: str, urls: Any, *, budget: float | None = None, gate: Any = None) -> Any:
        self.budgets.append(budget)
        self.remaining_during.append(self.deadline.remaining())
        time.sleep(0.2)  # the EHR takes 200 ms
        return dict.fromkeys(urls, FhirAccessError("no answer within the fetch budget", "budget"))


def test_time_waiting_on_the_ehr_is_added_to_the_deadline_not_taken_from_the_latency_budget() -> None:
    _, body = golden_request("pop2-window-igg-below-4-start")
    body = {**body, "fhirServer": "https://ehr.example/fhir", "fhirAuthorization": _authorization()}
    request = parse_hook_request(body, hook="order-select")
    deadline = Deadline.starting_now(0.4)
    client = RecordingClient(deadline)
    fetch, _ = fallback_fetch(request, client, deadline)  # type: ignore[arg-type]
    assert fetch is not None
    failures = metric("cds_fhir_fetch_failures_total", reason="budget")
    fetch({"observations": "Observation?patient=p"})
    assert client.budgets == [3.0]  # the FHIR budget, whatever is left of the latency budget
    assert 3.3 < client.remaining_during[0] <= 3.4  # while fetching: 0.4 s + the 3 s allowance
    assert 0.3 < deadline.remaining() <= 0.4  # after: the 0.2 s the EHR took are not the service's
    assert 0.19 < deadline.waited_on_ehr < 0.3
    assert metric("cds_fhir_fetch_failures_total", reason="budget") == failures + 1


def test_an_evaluation_waiting_on_the_ehr_is_waited_for_up_to_the_fhir_allowance() -> None:
    evaluator = Evaluator(threads=1)

    def fetching(seconds: float, allowance: float) -> Any:
        def work() -> str:
            with deadline.waiting_on_ehr(allowance):
                time.sleep(seconds)
            return "cards"

        return work

    deadline = Deadline.starting_now(0.1)
    assert evaluator.run(fetching(0.4, allowance=1.0), deadline) == "cards"  # 0.4 s on the EHR: still answered
    deadline = Deadline.starting_now(0.1)
    started = time.monotonic()
    with pytest.raises(BudgetExceededError):
        evaluator.run(fetching(1.0, allowance=0.3), deadline)  # the EHR overran its allowance
    assert 0.35 < time.monotonic() - started < 0.7  # 0.1 s + 0.3 s, not the whole second
    evaluator.close()


def _authorization() -> dict[str, Any]:
    return {"access_token": "t", "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read", "subject": "s"}


def test_the_fhir_budget_is_its_own_not_a_share_of_the_latency_budget() -> None:
    settings = load_settings({"AUTH": "off", "LATENCY_BUDGET_MS": 300, "FHIR_BUDGET_SECONDS": 3})
    assert (settings.latency_budget, settings.ehr.client.budget) == (0.3, 3.0)


# --- health -----------------------------------------------------------------------------------------------------


def test_liveness_and_readiness(app: Flask) -> None:
    client = app.test_client()
    live = client.get("/health/live")
    assert (live.status_code, live.mimetype, live.get_json()) == (200, "application/health+json", {"status": "pass"})
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.get_json()["status"] == "pass"


def test_readiness_fails_when_the_database_is_not_usable(app: Flask) -> None:
    with runtime_of(app).store.database.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "transient"
    assert app.test_client().get("/health/live").status_code == 200  # alive: do not restart, just take no traffic


def test_health_needs_no_client_jwt() -> None:
    app = make_app(AUTH="required", TRUST_SANDBOX=True)
    client = app.test_client()
    assert client.get("/cds-services").status_code == 401
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200


# --- metrics ----------------------------------------------------------------------------------------------------


def test_metrics_count_requests_decisions_and_audit_failures(app: Flask) -> None:
    url, request = golden_request("pop2-window-igg-below-4-start")
    labels = {"hook": "order-select", "recommendation": "start", "rule": "start-pop2-window"}
    before = metric("cds_decisions_total", **labels)
    requests_before = metric("cds_http_request_duration_seconds_count", hook="order-select", status="200")
    client = app.test_client()
    assert client.post(url, json=request).status_code == 200
    assert metric("cds_decisions_total", **labels) == before + 1
    assert metric("cds_http_request_duration_seconds_count", hook="order-select", status="200") == requests_before + 1
    exposition = client.get("/metrics")
    assert exposition.status_code == 200 and exposition.mimetype == "text/plain"
    body = exposition.get_data(as_text=True)
    assert 'cds_decisions_total{hook="order-select",recommendation="start",rule="start-pop2-window"}' in body
    assert "cds_http_request_duration_seconds_bucket" in body
    runtime_of(app).store.database.engine.dispose()
    with runtime_of(app).store.database.engine.begin() as connection:
        connection.execute(text("DROP TABLE decision"))
    failures, queued = metric("cds_audit_write_failures_total"), metric("cds_audit_queued_total")
    assert client.post(url, json=request).status_code == 200  # answered; the decision row is queued for retry
    assert metric("cds_audit_write_failures_total") == failures + 1
    assert metric("cds_audit_queued_total") == queued + 1
    assert metric("cds_audit_queue_length") == 1
    runtime_of(app).decisions.close(timeout=0.1)


def test_metrics_token_is_required_when_set() -> None:
    client = make_app(METRICS_TOKEN="metrics-token-0123456789").test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer metrics-token-0123456789"}).status_code == 200


# --- logs -------------------------------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestContextFilter())
    service_logger = logging.getLogger("cds_service")
    service_logger.addHandler(handler)
    yield stream
    service_logger.removeHandler(handler)


def test_logs_are_json_with_request_id_and_hook_instance_and_no_patient_id(app: Flask, json_log: io.StringIO) -> None:
    url, request = golden_request("pop2-window-igg-below-4-start")
    response = app.test_client().post(url, json=request, headers={"X-Request-ID": "ehr-req-42"})
    assert response.headers["X-Request-ID"] == "ehr-req-42"
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    request_line = next(line for line in lines if line["logger"] == "cds_service.requests")
    assert request_line["request_id"] == "ehr-req-42"
    assert request_line["hookInstance"] == request["hookInstance"]
    assert request_line["status"] == 200 and request_line["duration_ms"] > 0
    assert all(line.get("request_id") == "ehr-req-42" for line in lines)
    assert request["context"]["patientId"] not in json_log.getvalue()


def test_a_malformed_request_id_is_replaced(app: Flask, json_log: io.StringIO) -> None:
    response = app.test_client().get("/cds-services", headers={"X-Request-ID": "bad id; with spaces"})
    generated = response.headers["X-Request-ID"]
    assert generated != "bad id; with spaces" and len(generated) == 32
    assert json.loads(json_log.getvalue().splitlines()[-1])["request_id"] == generated


def test_ids_do_not_leak_into_the_next_request_on_the_same_thread(app: Flask, json_log: io.StringIO) -> None:
    client = app.test_client()
    url, request = golden_request("pop2-window-igg-below-4-start")
    client.post(url, json=request)
    client.get("/cds-services")
    last = json.loads(json_log.getvalue().splitlines()[-1])
    assert last["path"] == "/cds-services" and "hookInstance" not in last


def test_a_log_line_keeps_danish_text_as_utf8_and_writes_an_exception_and_odd_values(json_log: io.StringIO) -> None:
    # The formatter encodes with orjson (cheaper per access line): text stays UTF-8, not \u escapes, and values JSON
    # has no type for (an exception, a frozenset) are written as text, as with the json module, not the line lost.
    log = logging.getLogger("cds_service.test")
    try:
        raise ValueError("ærø")
    except ValueError:
        log.exception("første linje", extra={"mængde": frozenset({1}), "antal": 3, "fejl": ValueError("x")})
    (line,) = json_log.getvalue().splitlines()
    assert "første linje" in line and "\\u" not in line
    record = json.loads(line)
    assert record["message"] == "første linje" and record["antal"] == 3 and record["mængde"] == "frozenset({1})"
    assert record["fejl"] == "ValueError: x" and "ValueError: ærø" in record["exc_info"]
