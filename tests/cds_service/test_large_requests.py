"""Large hook calls one at a time per process (``cds_service.http.large_requests``): the gate, its release, and HTTP."""

from __future__ import annotations

import threading
import time

import pytest
from prometheus_client import REGISTRY

from cds_service.http.app import runtime_of
from cds_service.http.evaluator import Evaluator
from cds_service.http.large_requests import LargeRequestGate
from cds_service.time_limits import BudgetExceededError, Deadline
from cds_service.wire.errors import ServiceBusyError
from tests.cds_service.test_serving import fetching_app, fetching_request, golden_request, slow_evaluations
from tests.conftest import make_app

LARGE = 10**9
"""A body size above every threshold used here."""


def refused(hook: str) -> float:
    return REGISTRY.get_sample_value("cds_large_requests_refused_total", {"hook": hook}) or 0.0


# --- the gate -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body_bytes", "large"), [(0, False), (999, False), (1000, False), (1001, True)])
def test_a_call_is_large_above_the_threshold(body_bytes: int, large: bool) -> None:
    gate = LargeRequestGate(threshold=1000)
    assert gate.admit(body_bytes, Deadline.starting_now(1)).holds_slot is large


def test_large_calls_take_turns_and_small_ones_never_wait() -> None:
    gate = LargeRequestGate(threshold=1000)
    first = gate.admit(5000, Deadline.starting_now(1))
    started = time.monotonic()
    with pytest.raises(ServiceBusyError):
        gate.admit(5000, Deadline.starting_now(0.1))
    assert 0.09 <= time.monotonic() - started < 1.0  # waited for its budget, no longer
    assert not gate.admit(10, Deadline.starting_now(0.0)).holds_slot  # a small call passes even with no budget left
    first.release()
    first.release()  # a second release is a no-op: it must not open a second slot
    second = gate.admit(5000, Deadline.starting_now(0.1))
    with pytest.raises(ServiceBusyError):
        gate.admit(5000, Deadline.starting_now(0.05))
    second.release()


def test_a_waiting_large_call_gets_the_slot_when_it_is_released() -> None:
    gate = LargeRequestGate(threshold=1000)
    first = gate.admit(LARGE, Deadline.starting_now(1))
    threading.Timer(0.1, first.release).start()
    second = gate.admit(LARGE, Deadline.starting_now(2))
    assert second.holds_slot
    second.release()


# --- the evaluator tells when an evaluation is over -----------------------------------------------------------


def test_on_done_runs_once_whether_the_work_finishes_fails_or_never_starts() -> None:
    evaluator = Evaluator(threads=1)
    calls: list[str] = []
    assert evaluator.run(lambda: 1, Deadline.starting_now(5), on_done=lambda: calls.append("finished")) == 1
    with pytest.raises(ZeroDivisionError):
        evaluator.run(lambda: 1 / 0, Deadline.starting_now(5), on_done=lambda: calls.append("failed"))
    expired = Deadline(time.monotonic() - 1, 0.1)
    with pytest.raises(BudgetExceededError):
        evaluator.run(lambda: 1, expired, on_done=lambda: calls.append("never started"))
    time.sleep(0.05)  # done callbacks of finished futures have run
    assert calls == ["finished", "failed", "never started"]
    evaluator.close()


def test_on_done_of_work_cut_by_the_budget_runs_when_the_work_ends() -> None:
    evaluator = Evaluator(threads=1)
    done = threading.Event()
    with pytest.raises(BudgetExceededError):
        evaluator.run(lambda: time.sleep(0.5), Deadline.starting_now(0.05), on_done=done.set)
    assert not done.is_set()  # the late evaluation is still running
    assert done.wait(5)
    evaluator.close()


# --- over HTTP ------------------------------------------------------------------------------------------------


def test_a_large_call_without_a_slot_in_its_budget_is_503_unparsed_and_unaudited() -> None:
    app = make_app(LARGE_REQUEST_BYTES=1000, LATENCY_BUDGET_MS=1000, FHIR_BUDGET_SECONDS=0.1)
    url, request = golden_request("pop2-window-igg-below-4-start")  # a body of several kB: large here
    gate = runtime_of(app).large_requests
    held = gate.admit(LARGE, Deadline.starting_now(1))
    hook = url.rsplit("sid-igrt-", 1)[1]
    before = refused(hook)
    response = app.test_client().post(url, json=request)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    issue = response.get_json()["issue"][0]
    assert (issue["code"], issue["details"]["coding"][0]["code"]) == ("throttled", "busy")
    assert refused(hook) == before + 1
    assert runtime_of(app).store.decisions() == []  # nothing was parsed, so nothing is audited
    held.release()
    response = app.test_client().post(url, json=request)
    assert response.status_code == 200 and response.get_json()["cards"]


def test_a_small_call_is_answered_while_a_large_one_holds_the_slot() -> None:
    app = make_app(LARGE_REQUEST_BYTES=1_000_000, LATENCY_BUDGET_MS=1000, FHIR_BUDGET_SECONDS=0.1)
    url, request = golden_request("pop2-window-igg-below-4-start")
    held = runtime_of(app).large_requests.admit(LARGE, Deadline.starting_now(1))
    response = app.test_client().post(url, json=request)
    held.release()
    assert response.status_code == 200 and response.get_json()["cards"]


def test_the_slot_is_held_until_an_evaluation_cut_by_the_budget_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    finished = slow_evaluations(monkeypatch, 0.8)
    app = fetching_app(LARGE_REQUEST_BYTES=1000, LATENCY_BUDGET_MS=200, FHIR_BUDGET_SECONDS=0.1)
    url, request = fetching_request("pop2-window-igg-below-4-start")  # may wait on the EHR: on the pool
    gate = runtime_of(app).large_requests
    assert app.test_client().post(url, json=request).get_json() == {"cards": []}  # cut by the budget
    with pytest.raises(ServiceBusyError):  # the late evaluation still holds the slot (and its memory)
        gate.admit(LARGE, Deadline.starting_now(0.05))
    assert finished.wait(5)
    gate.admit(LARGE, Deadline.starting_now(1)).release()  # free again once it ended


def test_a_malformed_large_call_gives_its_slot_back() -> None:
    app = make_app(LARGE_REQUEST_BYTES=10)
    response = app.test_client().post(
        "/cds-services/sid-igrt-order-sign", data=b"{not json" + b" " * 100, content_type="application/json"
    )
    assert response.status_code == 400
    runtime_of(app).large_requests.admit(LARGE, Deadline.starting_now(0.05)).release()


# --- a small call takes the slot later (its fallback answers grew large) -----------------------------------------


def test_a_small_call_holds_the_slot_when_asked_and_keeps_it_until_released() -> None:
    gate = LargeRequestGate(threshold=1000)
    small = gate.admit(10, Deadline.starting_now(1))
    assert not small.holds_slot and small.threshold == 1000
    assert small.hold(1.0) and small.holds_slot
    assert small.hold(0.0)  # held already: at once, however little time is left
    with pytest.raises(ServiceBusyError):
        gate.admit(LARGE, Deadline.starting_now(0.05))
    small.release()
    gate.admit(LARGE, Deadline.starting_now(0.05)).release()


def test_hold_waits_for_another_call_at_most_its_timeout() -> None:
    gate = LargeRequestGate(threshold=1000)
    other = gate.admit(LARGE, Deadline.starting_now(1))
    small = gate.admit(10, Deadline.starting_now(1))
    started = time.monotonic()
    assert not small.hold(0.1)
    assert 0.09 <= time.monotonic() - started < 1.0
    threading.Timer(0.1, other.release).start()
    assert small.hold(2.0)
    small.release()


def test_after_release_hold_refuses_so_a_late_fetch_thread_cannot_keep_the_slot() -> None:
    gate = LargeRequestGate(threshold=1000)
    small = gate.admit(10, Deadline.starting_now(1))
    small.release()
    assert not small.hold(1.0)
    gate.admit(LARGE, Deadline.starting_now(0.05)).release()  # the slot is free


def test_a_call_released_while_its_fetch_thread_waits_gives_the_slot_back() -> None:
    gate = LargeRequestGate(threshold=1000)
    other = gate.admit(LARGE, Deadline.starting_now(1))
    small = gate.admit(10, Deadline.starting_now(1))
    results: list[bool] = []
    waiting = threading.Thread(target=lambda: results.append(small.hold(2.0)))
    waiting.start()
    time.sleep(0.05)
    small.release()  # the call ended (cut by its budget) while its fetch thread still waits
    other.release()
    waiting.join(3)
    assert results == [False]
    gate.admit(LARGE, Deadline.starting_now(0.05)).release()  # not kept by the late thread


def test_the_fetch_threads_of_one_call_share_its_slot() -> None:
    gate = LargeRequestGate(threshold=1000)
    other = gate.admit(LARGE, Deadline.starting_now(1))
    small = gate.admit(10, Deadline.starting_now(1))
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(small.hold(2.0))) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    other.release()
    for thread in threads:
        thread.join(3)
    assert results == [True] * 4
    small.release()
    gate.admit(LARGE, Deadline.starting_now(0.05)).release()
