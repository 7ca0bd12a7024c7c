"""``bench.canned``: the request-path-alone app of the benchmark evaluates once per hookInstance, the rest as served.

``make bench`` reads its CPU and latency as what no work on the evaluation can go below (issue 32), so the memo must
skip exactly the evaluation: a repeated call still answers the same cards and still commits its own audit row.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from bench.canned import memoized
from bench.payloads import all_payloads
from cds_service.http import hooks
from cds_service.http.runtime import runtime_of
from cds_service.invocation import Answer

PATH = "/cds-services/sid-igrt-order-sign"


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hookInstances the real evaluation ran for, with ``hooks.invoke`` memoized as ``bench.canned`` does."""
    seen: list[str] = []
    real = hooks.invoke

    def counted(service: Any, request: Any, *args: Any, **kwargs: Any) -> Answer:
        seen.append(request.hookInstance)
        return real(service, request, *args, **kwargs)

    monkeypatch.setattr(hooks, "invoke", memoized(counted))
    return seen


def test_a_repeated_call_is_answered_from_the_memo_and_still_audited(app: Flask, evaluations: list[str]) -> None:
    typical = next(p for p in all_payloads() if p.name == "typical")
    body = json.dumps(typical.request)
    answers = [app.test_client().post(PATH, data=body, content_type="application/json") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert evaluations == [typical.request["hookInstance"]]  # evaluated once
    cards = [a.get_json()["cards"] for a in answers]
    assert cards[0] and cards[0][0]["extension"]["sid-igrt"]["kind"] == "decision"
    assert cards[1] == cards[0] and cards[2] == cards[0]
    rows = runtime_of(app).store.decisions()
    assert len(rows) == 3  # the audit row of every call is committed, memo or not
    assert {r.card_uuid for r in rows} == {cards[0][0]["uuid"]}


def test_another_hook_instance_is_evaluated_again(app: Flask, evaluations: list[str]) -> None:
    typical = next(p for p in all_payloads() if p.name == "typical")
    other = {**typical.request, "hookInstance": "33333333-3333-4333-8333-000000000060"}
    client = app.test_client()
    for request in (typical.request, other, typical.request):
        assert client.post(PATH, data=json.dumps(request), content_type="application/json").status_code == 200

    assert evaluations == [typical.request["hookInstance"], other["hookInstance"]]
