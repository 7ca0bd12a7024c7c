"""Database outages: decisions are queued and retried (never lost while the process lives), feedback is 503."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from cds_service.audit.queue import AuditQueueFullError, DecisionWriter
from cds_service.auth.client_jwt import FallbackReplayGuard
from cds_service.http.app import runtime_of
from storage import AuditStore, StorageError
from tests.cds_service.test_audit_feedback import ACCEPTED, FEEDBACK_URL, golden, issue
from tests.conftest import make_app


class Outage:
    """Makes the audit store's writes fail (as a lost connection does) until ``end()``; counts the attempts."""

    def __init__(self, store: AuditStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.attempts = 0
        self.down = True
        for name in ("record_decision", "record_decisions", "record_feedback"):
            real = getattr(store, name)
            monkeypatch.setattr(store, name, self._guard(real))

    def _guard(self, real: Any) -> Any:
        def write(*args: Any, **kwargs: Any) -> Any:
            self.attempts += 1
            if self.down:
                raise StorageError("database error: OperationalError")
            return real(*args, **kwargs)

        return write

    def end(self) -> None:
        self.down = False


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def app() -> Iterator[Flask]:
    app = make_app()
    yield app
    runtime_of(app).decisions.close(timeout=0.5)  # stop the retry thread before pytest closes the log streams


def test_calls_during_an_outage_get_their_cards_and_every_row_is_written_after_it(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = runtime_of(app)
    outage = Outage(current.store, monkeypatch)
    url, request, expected = golden("pop2-window-igg-below-4-start")
    client = app.test_client()
    uuids = []
    for i in range(5):
        response = client.post(url, json={**request, "hookInstance": f"outage-{i}"})
        assert response.status_code == 200
        assert [c["summary"] for c in response.get_json()["cards"]] == [c["summary"] for c in expected["body"]["cards"]]
        uuids.append(response.get_json()["cards"][0]["uuid"])
    assert current.decisions.pending() == 5
    direct_attempts = outage.attempts
    assert direct_attempts <= 1 + 3  # the first call tried the database; later calls joined the queue at once
    outage.end()
    wait_until(lambda: current.decisions.pending() == 0)
    rows = current.store.decisions()
    assert sorted(r.hook_instance for r in rows) == [f"outage-{i}" for i in range(5)]
    assert {r.card_uuid for r in rows} == set(uuids)


def test_a_full_queue_refuses_the_call_with_503_and_no_card(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    current = runtime_of(app)
    Outage(current.store, monkeypatch)
    monkeypatch.setattr(current.decisions, "_capacity", 2)
    url, request, _ = golden("pop2-window-igg-below-4-start")
    client = app.test_client()
    failures = REGISTRY.get_sample_value("cds_audit_write_failures_total") or 0.0
    statuses = [client.post(url, json={**request, "hookInstance": f"q-{i}"}).status_code for i in range(3)]
    assert statuses == [200, 200, 503]
    refused = client.post(url, json=request).get_json()
    assert refused["issue"][0]["code"] == "transient" and "cards" not in refused
    # One write was attempted (the first call; the second joined the queue); the refusals attempted none.
    assert REGISTRY.get_sample_value("cds_audit_write_failures_total") == failures + 1


def test_feedback_during_an_outage_is_503_and_the_retry_is_stored_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = runtime_of(app)
    issue(app, ACCEPTED["card"])
    outage = Outage(current.store, monkeypatch)
    client = app.test_client()
    response = client.post(FEEDBACK_URL, json={"feedback": [ACCEPTED]})
    assert response.status_code == 503 and response.get_json()["issue"][0]["code"] == "transient"
    outage.end()
    assert client.post(FEEDBACK_URL, json={"feedback": [ACCEPTED]}).status_code == 200
    assert [f.card_uuid for f in current.store.feedback()] == [ACCEPTED["card"]]


def test_feedback_about_a_card_still_queued_is_503_so_the_ehr_retries(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = runtime_of(app)
    outage = Outage(current.store, monkeypatch)
    url, request, _ = golden("pop2-window-igg-below-4-start")
    shown = app.test_client().post(url, json=request).get_json()["cards"][0]  # its decision is queued
    offered = [{"id": shown["suggestions"][0]["uuid"]}]  # a suggestion this card offered
    body = {"feedback": [{**ACCEPTED, "card": shown["uuid"], "acceptedSuggestions": offered}]}
    assert app.test_client().post(FEEDBACK_URL, json=body).status_code == 503
    outage.end()
    assert current.decisions.flush(timeout=5) == 0
    assert app.test_client().post(FEEDBACK_URL, json=body).status_code == 200


def test_readiness_fails_during_an_outage_so_the_balancer_drains_the_instance(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = runtime_of(app).store.database

    def unreachable() -> None:
        raise StorageError("cannot reach the database: OperationalError")

    monkeypatch.setattr(database, "require_current", unreachable)
    assert app.test_client().get("/health/ready").status_code == 503


def test_close_writes_what_it_can_and_logs_what_it_cannot(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    current = runtime_of(app)
    outage = Outage(current.store, monkeypatch)
    writer = DecisionWriter(current.store, initial_backoff=60)  # the retry thread sleeps: only close() writes
    url, request, _ = golden("pop2-window-igg-below-4-start")
    app.test_client().post(url, json=request)
    entry = current.decisions._queue[0]
    writer.record(entry)
    writer.record(entry.__class__(**{**entry.__dict__, "hook_instance": "second"}))
    with caplog.at_level(logging.ERROR):
        writer.close(timeout=0.3)
    assert "2 decision audit rows unwritten" in caplog.text
    outage.end()
    writer = DecisionWriter(current.store, initial_backoff=60)
    outage.down = True
    writer.record(entry)
    outage.end()
    writer.close(timeout=5)
    assert writer.pending() == 0


def test_queue_capacity_is_enforced_by_the_writer(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    current = runtime_of(app)
    Outage(current.store, monkeypatch)
    url, request, _ = golden("pop2-window-igg-below-4-start")
    app.test_client().post(url, json=request)
    entry = current.decisions._queue[0]
    writer = DecisionWriter(current.store, capacity=1, initial_backoff=60)
    writer.record(entry)
    with pytest.raises(AuditQueueFullError):
        writer.record(entry)
    writer.close(timeout=0)


def test_replay_guard_falls_back_to_this_process_while_the_database_is_down() -> None:
    calls: list[str] = []
    down = True

    def shared(issuer: str, jti: str, expires_at: datetime) -> bool:
        calls.append(jti)
        if down:
            raise StorageError("database error: OperationalError")
        return jti != "seen-elsewhere"

    guard = FallbackReplayGuard(shared)
    expires = datetime.now(UTC) + timedelta(minutes=5)
    assert guard("iss", "a", expires) is True  # admitted, remembered here
    assert guard("iss", "a", expires) is False  # replay to this process: refused without asking the database
    down = False
    assert guard("iss", "a", expires) is False  # still refused after the database is back
    assert guard("iss", "seen-elsewhere", expires) is False  # the shared guard decides when it answers
    assert guard("iss", "b", expires) is True
    assert calls == ["a", "seen-elsewhere", "b"]


def test_a_worker_starting_during_an_outage_serves_and_reports_not_ready() -> None:
    # gunicorn restarts workers (max_requests, a crash); one that boots while PostgreSQL is down must not take the
    # whole instance down with "Worker failed to boot".
    app = make_app(DATABASE_URL="postgresql://cds:secret@127.0.0.1:1/cds")
    client = app.test_client()
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 503
    url, request, _ = golden("pop2-window-igg-below-4-start")
    assert client.post(url, json=request).status_code == 200
    assert runtime_of(app).decisions.pending() == 1
    runtime_of(app).decisions.close(timeout=0)


def test_the_fallback_replay_guard_forgets_expired_jtis_without_rebuilding_its_map() -> None:
    guard = FallbackReplayGuard(lambda issuer, jti, expires_at: True)
    now = datetime.now(UTC)
    for i in range(20_000):  # far past the 10,000 at which the old code rebuilt the map on every call
        guard("iss", f"live-{i}", now + timedelta(minutes=5))
    for i in range(50):
        guard("iss", f"expiring-{i}", now + timedelta(milliseconds=1))
    seen = guard._seen
    time.sleep(0.01)
    assert guard("iss", "next", now + timedelta(minutes=5)) is True
    assert guard._seen is seen  # the same map: expired jtis left it one by one
    assert not any(jti.startswith("expiring-") for _, jti in seen)
    assert len(seen) == 20_001
    assert guard("iss", "live-7", now + timedelta(minutes=5)) is False  # unexpired jtis are still refused
