"""``bench.canned``: the request-path-alone app of the benchmark evaluates once per hookInstance, the rest as served.

``make bench`` reads its CPU and latency as what no work on the evaluation can go below (issue 32), so the memo must
skip exactly the evaluation: a repeated call still answers the same cards and still commits its own audit row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from bench.canned import create_app, memoized
from bench.payloads import all_payloads
from cds_service.http import hooks
from cds_service.http.runtime import runtime_of
from cds_service.invocation import Answer
from tests.conftest import AS_OF, TEST_HMAC_KEY, sqlite_url

PATH = "/cds-services/sid-igrt-order-sign"


def _typical() -> dict[str, Any]:
    """The benchmark's typical hook request."""
    return next(p for p in all_payloads() if p.name == "typical").request


def _counting(seen: list[str]) -> Callable[..., Answer]:
    """The real ``hooks.invoke``, noting in ``seen`` the hookInstance of every call that reaches it."""
    real = hooks.invoke

    def counted(service: Any, request: Any, *args: Any, **kwargs: Any) -> Answer:
        seen.append(request.hookInstance)
        return real(service, request, *args, **kwargs)

    return counted


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hookInstances the real evaluation ran for, with ``hooks.invoke`` memoized as ``bench.canned`` does."""
    seen: list[str] = []
    monkeypatch.setattr(hooks, "invoke", memoized(_counting(seen)))
    return seen


def test_a_repeated_call_is_answered_from_the_memo_and_still_audited(app: Flask, evaluations: list[str]) -> None:
    typical = _typical()
    body = json.dumps(typical)
    answers = [app.test_client().post(PATH, data=body, content_type="application/json") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert evaluations == [typical["hookInstance"]]  # evaluated once
    cards = [a.get_json()["cards"] for a in answers]
    assert cards[0] and cards[0][0]["extension"]["sid-igrt"]["kind"] == "decision"
    assert cards[1] == cards[0] and cards[2] == cards[0]
    rows = runtime_of(app).store.decisions()
    assert len(rows) == 3  # the audit row of every call is committed, memo or not
    assert {r.card_uuid for r in rows} == {cards[0][0]["uuid"]}


def test_another_hook_instance_is_evaluated_again(app: Flask, evaluations: list[str]) -> None:
    typical = _typical()
    other = {**typical, "hookInstance": "33333333-3333-4333-8333-000000000060"}
    client = app.test_client()
    for request in (typical, other, typical):
        assert client.post(PATH, data=json.dumps(request), content_type="application/json").status_code == 200

    assert evaluations == [typical["hookInstance"], other["hookInstance"]]


def test_create_app_memoizes_the_evaluation_the_hook_endpoint_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    # create_app wraps whatever hooks.invoke is, for good (in its own gunicorn process); monkeypatch puts the real
    # one back after this test.
    monkeypatch.setattr(hooks, "invoke", _counting(seen))
    for name, value in {
        "CDS_AUTH": "off",
        "CDS_FIXED_DATE": AS_OF,
        "CDS_AUDIT_HMAC_KEY": TEST_HMAC_KEY,
        "CDS_DATABASE_URL": sqlite_url(),
        "CDS_LATENCY_BUDGET_MS": "60000",
    }.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    typical = _typical()
    other = {**typical, "hookInstance": "44444444-4444-4444-8444-000000000060"}
    client = app.test_client()
    for request in (typical, typical, other, other, typical):
        assert client.post(PATH, data=json.dumps(request), content_type="application/json").status_code == 200

    assert seen == [typical["hookInstance"], other["hookInstance"]]  # the endpoint called the memo
    assert len(runtime_of(app).store.decisions()) == 5


class _Service:
    def __init__(self, service_id: str) -> None:
        self.id = service_id


class _Request:
    def __init__(self, hook_instance: str) -> None:
        self.hookInstance = hook_instance


def test_the_memo_keys_on_the_service_and_forgets_a_call_that_raised() -> None:
    calls: list[tuple[str, str]] = []
    fail = [True]

    def evaluate(service: _Service, request: _Request) -> Answer:
        calls.append((service.id, request.hookInstance))
        if fail[0]:
            fail[0] = False
            raise RuntimeError("the EHR's FHIR server went away")
        return Answer({"cards": []}, f"{service.id}/{request.hookInstance}")

    answer = memoized(evaluate)
    with pytest.raises(RuntimeError):
        answer(_Service("sid-igrt-order-sign"), _Request("h1"))
    first = answer(_Service("sid-igrt-order-sign"), _Request("h1"))  # evaluated again: the failure was not kept
    assert answer(_Service("sid-igrt-order-sign"), _Request("h1")) is first
    assert answer(_Service("sid-igrt-patient-view"), _Request("h1")).outcome == "sid-igrt-patient-view/h1"
    assert calls == [("sid-igrt-order-sign", "h1")] * 2 + [("sid-igrt-patient-view", "h1")]
