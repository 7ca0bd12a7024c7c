"""Where a hook call is evaluated (issue 32): inline on the request thread when no FHIR fetch can happen, on the
evaluation pool when the call may wait on the EHR; the deadline holds on both paths."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

import pytest

from cds_service.ehr.fhir_client import FhirClient, FhirClientSettings
from cds_service.ehr.prefetch import gather, prefetch_complete
from cds_service.http import hooks
from cds_service.http.app import runtime_of
from cds_service.http.evaluator import Evaluator
from cds_service.invocation import Answer, may_wait_on_ehr
from cds_service.time_limits import BudgetExceededError, Deadline
from cds_service.wire.definitions import PREFETCH
from cds_service.wire.requests import parse_hook_request
from tests.cds_service.test_serving import EHR, fetching_app, fetching_request, golden_request
from tests.conftest import make_app

CASE = "pop2-window-igg-below-4-start"
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}


def recording_invoke(monkeypatch: pytest.MonkeyPatch, *, sleep: float = 0.0) -> list[threading.Thread]:
    """Record the thread each evaluation runs on (then evaluate for real, after ``sleep`` seconds)."""
    real_invoke = hooks.invoke
    threads: list[threading.Thread] = []

    def invoke(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        time.sleep(sleep)
        return real_invoke(*args, **{**kwargs, "fhir_client": None})  # nothing leaves the test

    monkeypatch.setattr(hooks, "invoke", invoke)
    return threads


# --- the choice, end to end -------------------------------------------------------------------------------------


def test_a_call_with_a_complete_prefetch_is_evaluated_on_the_request_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = recording_invoke(monkeypatch)
    url, body = fetching_request(CASE, drop=None)  # names an allowlisted server and a token, lacks nothing
    _, plain = golden_request(CASE)
    app = fetching_app()
    response = app.test_client().post(url, json=body)
    assert threads == [threading.current_thread()]  # Flask's test client runs the request on this thread
    assert response.status_code == 200
    assert response.get_json() == make_app().test_client().post(url, json=plain).get_json()  # the same cards


def test_a_call_that_may_fetch_is_evaluated_on_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = recording_invoke(monkeypatch)
    url, body = fetching_request(CASE)  # an optional key missing: it would be fetched from the EHR
    response = fetching_app().test_client().post(url, json=body)
    (thread,) = threads
    assert thread is not threading.current_thread() and thread.name.startswith("evaluate")
    assert response.status_code == 200 and response.get_json()["cards"]


def test_a_call_that_may_fetch_is_answered_at_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    recording_invoke(monkeypatch, sleep=1.0)  # as if the EHR took a second
    url, body = fetching_request(CASE)
    app = fetching_app(LATENCY_BUDGET_MS=200, FHIR_BUDGET_SECONDS=0.1)
    started = time.monotonic()
    response = app.test_client().post(url, json=body)
    assert time.monotonic() - started < 0.8  # not the whole second: the request thread stopped waiting
    assert response.get_json() == {"cards": []}
    assert runtime_of(app).store.decisions()[0].outcome == "budget-exceeded"


@pytest.mark.parametrize("late", ["before-a-checkpoint", "after-the-last-checkpoint"])
def test_an_inline_evaluation_past_its_deadline_is_dropped(monkeypatch: pytest.MonkeyPatch, late: str) -> None:
    real_invoke = hooks.invoke
    threads: list[threading.Thread] = []

    def invoke(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        if late == "before-a-checkpoint":  # the evaluation's own checkpoint stops it
            time.sleep(0.3)
            return real_invoke(*args, **kwargs)
        answer = real_invoke(*args, **kwargs)  # a full answer with a card, ready after the deadline
        assert answer.response["cards"]
        time.sleep(0.3)
        return answer

    monkeypatch.setattr(hooks, "invoke", invoke)
    url, body = golden_request(CASE)  # no fhirServer token: nothing can be fetched
    app = make_app(LATENCY_BUDGET_MS=200)
    response = app.test_client().post(url, json=body)
    assert threads == [threading.current_thread()]
    assert response.get_json() == {"cards": []}  # never shown late
    (entry,) = runtime_of(app).store.decisions()
    assert (entry.outcome, entry.card_uuid) == ("budget-exceeded", None)


# --- may_wait_on_ehr: a truth table -------------------------------------------------------------------------------


def _client(allowlist: tuple[str, ...] = (EHR,)) -> FhirClient:
    return FhirClient(FhirClientSettings(allowlist=allowlist))


def _request(**changes: Any) -> Any:
    _, body = fetching_request(CASE, drop=None)
    body = copy.deepcopy(body)
    prefetch = body["prefetch"]
    for key, value in changes.items():
        if value is ...:
            prefetch.pop(key)
        else:
            prefetch[key] = value
    return parse_hook_request(body, hook="order-select")


def _with_next_link(key: str) -> dict[str, Any]:
    _, body = golden_request(CASE)
    return {**body["prefetch"][key], "link": [{"relation": "next", "url": f"{EHR}/Observation?page=2"}]}


def _with_outcome_entry(key: str) -> dict[str, Any]:
    _, body = golden_request(CASE)
    bundle = copy.deepcopy(body["prefetch"][key])
    bundle["entry"] = [*bundle.get("entry", []), {"resource": OUTCOME}]
    return bundle


@pytest.mark.parametrize(
    ("request_", "client", "expected"),
    [
        (lambda: _request(), _client, False),  # complete prefetch
        (lambda: _request(observations=None), _client, False),  # null: searched, nothing found
        (lambda: _request(procedures=...), _client, True),  # a key missing
        (lambda: _request(observations=...), _client, True),  # a required key missing
        (lambda: _request(observations=OUTCOME), _client, True),  # the client's search failed
        (lambda: _request(observations=_with_outcome_entry("observations")), _client, True),
        (lambda: _request(observations=_with_next_link("observations")), _client, True),  # only the first page
        (lambda: _request(procedures=...), lambda: _client(("https://other.example/fhir",)), False),  # refused
        (lambda: _request(procedures=...), lambda: None, False),  # the command line: no client
    ],
    ids=[
        "complete",
        "null-value",
        "optional-key-missing",
        "required-key-missing",
        "operation-outcome",
        "outcome-entry",
        "next-link",
        "server-not-allowlisted",
        "no-client",
    ],
)
def test_may_wait_on_ehr(request_: Any, client: Any, expected: bool) -> None:
    assert may_wait_on_ehr(request_(), client()) is expected


def test_without_a_token_nothing_can_be_fetched() -> None:
    _, body = fetching_request(CASE)  # a key missing, but ...
    body.pop("fhirAuthorization")  # ... no token to fetch it with
    assert not may_wait_on_ehr(parse_hook_request(body, hook="order-select"), _client())


@pytest.mark.parametrize("key", list(PREFETCH))
@pytest.mark.parametrize("change", ["absent", "null", "outcome", "outcome-entry", "next-link", "as-is"])
def test_a_complete_prefetch_is_one_gather_fetches_nothing_for(key: str, change: str) -> None:
    """``prefetch_complete`` may say "incomplete" too often (the thread costs time), never "complete" wrongly."""
    _, body = golden_request(CASE)
    prefetch = copy.deepcopy(body["prefetch"])
    value = prefetch.get(key) or {"resourceType": "Bundle", "type": "searchset"}
    if change in ("outcome-entry", "next-link") and value.get("resourceType") != "Bundle":
        pytest.skip(f"prefetch.{key} is a single resource: it has no entries and no links")
    changed = {
        "absent": ...,
        "null": None,
        "outcome": OUTCOME,
        "outcome-entry": {**value, "entry": [*value.get("entry", []), {"resource": OUTCOME}]},
        "next-link": {**value, "link": [{"relation": "next", "url": f"{EHR}/x?page=2"}]},
        "as-is": value,
    }[change]
    if changed is ...:
        prefetch.pop(key, None)
    else:
        prefetch[key] = changed
    asked: list[str] = []

    def fetch(urls: Any) -> Any:
        asked.extend(urls)
        return {}

    try:
        gather(prefetch, context=body["context"], optional_keys=frozenset(PREFETCH), fetch=fetch)
    except Exception:  # noqa: BLE001 (only whether it fetched matters here)
        pass
    assert prefetch_complete(prefetch) is (change in ("null", "as-is"))
    assert bool(asked) is (change not in ("null", "as-is"))


# --- the evaluator's two ways ---------------------------------------------------------------------------------------


def test_run_inline_checks_the_deadline_before_and_after_and_always_calls_on_done() -> None:
    evaluator = Evaluator(threads=1)
    done: list[int] = []
    assert evaluator.run_inline(lambda: 2, Deadline.starting_now(5), on_done=lambda: done.append(1)) == 2
    passed = Deadline.starting_now(0.0)
    ran: list[int] = []
    with pytest.raises(BudgetExceededError):  # already passed: the work is not even started
        evaluator.run_inline(lambda: ran.append(1), passed, on_done=lambda: done.append(2))
    assert ran == []
    with pytest.raises(BudgetExceededError):  # finished after the deadline: dropped
        evaluator.run_inline(lambda: time.sleep(0.06), Deadline.starting_now(0.05), on_done=lambda: done.append(3))
    with pytest.raises(ZeroDivisionError):  # the work's own errors pass through
        evaluator.run_inline(lambda: 1 / 0, Deadline.starting_now(5), on_done=lambda: done.append(4))
    assert done == [1, 2, 3, 4]
    evaluator.close()


def test_deadline_check_is_at_the_deadline() -> None:
    deadline = Deadline.starting_now(0.05)
    deadline.check()  # well before: nothing
    time.sleep(0.06)
    with pytest.raises(BudgetExceededError):
        deadline.check()
    with deadline.waiting_on_ehr(1.0):  # while waiting on the EHR the deadline moves: not passed
        deadline.check()


def test_answer_described_says_the_outcome_for_the_access_log() -> None:
    assert Answer({"cards": []}, "budget-exceeded").described == "budget-exceeded"
