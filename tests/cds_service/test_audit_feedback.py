"""Every decision recorded (keyed hash, never the patient id); feedback validated and stored; the report CLI."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from cds_service.cards.render import CARD_NAMESPACE
from cds_service.http.app import runtime_of
from commands.cli import main
from storage import DecisionEntry, IssuedCard, Pseudonymizer
from tests.cases import CASES, case_dir
from tests.conftest import TEST_HMAC_KEY, make_app, sqlite_url


def golden(name: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    case = next(c for c in CASES if c.name == name)
    request = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
    expected = json.loads((case_dir(case) / "expected.json").read_text(encoding="utf-8"))
    return f"/cds-services/{case.service}", request, expected


@pytest.fixture
def db_url() -> str:
    return sqlite_url()


@pytest.fixture
def app(db_url: str) -> Flask:
    return make_app(DATABASE_URL=db_url)


@pytest.mark.parametrize(
    ("name", "outcome", "rule"),
    [
        ("pop2-window-igg-below-4-start", "card", "start-pop2-window"),
        ("pop2-not-indicated-patient-view-quiet", "quiet", "not-indicated"),
        ("unrelated-order-quiet", "no-immunoglobulin-order", None),
        ("required-prefetch-missing-412", "prefetch-unavailable", None),
    ],
)
def test_every_call_is_recorded_with_a_keyed_hash(app: Flask, db_url: str, name: str, outcome: str, rule: Any) -> None:
    url, request, expected = golden(name)
    response = app.test_client().post(url, json=request)
    assert response.status_code == expected["status"]
    (entry,) = runtime_of(app).store.decisions()
    assert (entry.outcome, entry.rule_id, entry.hook_instance) == (outcome, rule, request["hookInstance"])
    assert entry.patient_hmac == Pseudonymizer(TEST_HMAC_KEY.encode()).patient(request["context"]["patientId"])
    assert entry.client_issuer is None and entry.guideline_version.startswith("SID 1.1")
    if outcome == "card":
        assert entry.card_uuid == response.get_json()["cards"][0]["uuid"]
        assert entry.recommendation == "start" and entry.population == 2
    database_file = Path(db_url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in database_file.parent.glob(database_file.name + "*"))
    assert request["context"]["patientId"].encode() not in stored


FEEDBACK_URL = "/cds-services/sid-igrt-order-select/feedback"
ACCEPTED = {
    "card": "c-1",
    "outcome": "accepted",
    "acceptedSuggestions": [{"id": "s-1"}],
    "outcomeTimestamp": "2026-11-20T10:05:31Z",
}
OVERRIDDEN = {
    "card": "c-2",
    "outcome": "overridden",
    "outcomeTimestamp": "2026-11-20T10:06:00+01:00",
    "overrideReason": {
        "reason": {"code": "declined", "system": "http://x", "display": "Patient declined"},
        "userComment": "Patient Jens Hansen declined",
    },
}
SANDBOX = {
    "card": "c-3",
    "outcome": "overridden",
    "outcomeTimestamp": "2026-11-20T10:07:00Z",
    "overrideReason": {"reason": {"code": "other", "system": "http://x"}},
}
EPIC_CODED = {
    "card": "123456",
    "outcome": "overridden",
    "outcomeTimestamp": "2022-05-19T19:44:04Z",
    "overrideReasons": {
        "reason": {"code": "contraindicated", "display": "bad", "system": "http://x"},
        "userComment": "User Entered Free Text",
    },
}
EPIC_EXTENSION = {
    "card": "123457",
    "outcome": "overridden",
    "outcomeTimestamp": "2022-05-19T19:44:04Z",
    "overrideReasons": {
        "extension": {
            "com.epic.cdshooks.feedback.overrideReason.reasonCategory": "45",
            "com.epic.cdshooks.feedback.overrideReason.reasonDisplay": "Does not meet criteria",
        }
    },
}
DISMISSED = {"card": "c-4", "outcome": "overridden", "outcomeTimestamp": "2026-11-20T10:08:00Z"}


def issue(app: Flask, *uuids: str, service_id: str = "sid-igrt-order-select", client_issuer: str | None = None) -> None:
    """Record cards with these uuids as issued (one decision card and the rest beside it), as a hook call does.

    Each offers the suggestion ``s-1`` (the one ``ACCEPTED`` names).
    """
    cards = tuple(
        IssuedCard(u, "decision" if i == 0 else "dose", "start-pop2-window", ("s-1",)) for i, u in enumerate(uuids)
    )
    runtime_of(app).store.record_decision(
        DecisionEntry(
            recorded_at=datetime.now(UTC),
            service_id=service_id,
            hook="order-select",
            hook_instance="hi-feedback",
            client_issuer=client_issuer,
            patient_hmac="0" * 64,
            outcome="card",
            rule_id="start-pop2-window",
            recommendation="start",
            population=2,
            guideline_version="SID 1.1",
            card_uuid=uuids[0],
            as_of=date(2026, 11, 20),
            issued_cards=cards,
            suggestion_uuids=("s-1",),
        )
    )


def test_feedback_in_every_client_shape_is_stored(app: Flask) -> None:
    items = [ACCEPTED, OVERRIDDEN, SANDBOX, EPIC_CODED, EPIC_EXTENSION, DISMISSED]
    issue(app, *(item["card"] for item in items))
    response = app.test_client().post(FEEDBACK_URL, json={"feedback": items})
    assert response.status_code == 200
    stored = {e.card_uuid: e for e in runtime_of(app).store.feedback()}
    assert stored["c-1"].accepted_suggestions == ("s-1",) and stored["c-1"].outcome == "accepted"
    assert (stored["c-2"].override_reason_code, stored["c-2"].has_user_comment) == ("declined", True)
    assert stored["c-2"].outcome_timestamp.isoformat() == "2026-11-20T09:06:00+00:00"  # the same instant, in UTC
    assert stored["c-3"].override_reason_display is None
    assert stored["123456"].override_reason_display == "bad"
    assert (stored["123457"].override_reason_code, stored["123457"].override_reason_display) == (
        "45",
        "Does not meet criteria",
    )
    assert stored["c-4"].override_reason_code is None and not stored["c-4"].has_user_comment
    assert "Jens Hansen" not in repr(stored)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ([], "body"),
        ({"feedback": []}, "feedback"),
        ({"feedback": [{**ACCEPTED, "acceptedSuggestions": []}]}, "feedback.0"),
        ({"feedback": [{**DISMISSED, "acceptedSuggestions": [{"id": "s"}]}]}, "feedback.0"),
        ({"feedback": [{**ACCEPTED, "outcome": "ignored"}]}, "feedback.0.outcome"),
        ({"feedback": [{k: v for k, v in ACCEPTED.items() if k != "outcomeTimestamp"}]}, "feedback.0.outcomeTimestamp"),
        ({"feedback": [{**ACCEPTED, "outcomeTimestamp": "2026-11-20T10:05:31"}]}, "feedback.0.outcomeTimestamp"),
        ({"feedback": [{**ACCEPTED, "card": ""}]}, "feedback.0.card"),
    ],
)
def test_invalid_feedback_is_400_and_nothing_is_stored(app: Flask, body: Any, where: str) -> None:
    response = app.test_client().post(FEEDBACK_URL, json=body)
    assert response.status_code == 400 and response.mimetype == "application/fhir+json"
    if where != "body":
        assert response.get_json()["issue"][0]["expression"] == [where]
    assert runtime_of(app).store.feedback() == []


def test_feedback_about_a_card_never_issued_is_404_and_nothing_is_stored(app: Flask) -> None:
    issue(app, "c-1")
    response = app.test_client().post(FEEDBACK_URL, json={"feedback": [ACCEPTED, {**OVERRIDDEN, "card": "c-9"}]})
    assert response.status_code == 404
    issue_ = response.get_json()["issue"][0]
    assert issue_["code"] == "not-found" and issue_["expression"] == ["feedback[1].card"]
    assert runtime_of(app).store.feedback() == []  # all or none


def test_feedback_at_another_services_endpoint_is_404(app: Flask) -> None:
    issue(app, "c-1", service_id="sid-igrt-order-sign")
    assert app.test_client().post(FEEDBACK_URL, json={"feedback": [ACCEPTED]}).status_code == 404
    sign = "/cds-services/sid-igrt-order-sign/feedback"
    assert app.test_client().post(sign, json={"feedback": [ACCEPTED]}).status_code == 200


def test_the_same_feedback_sent_five_times_counts_once(
    app: Flask, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, request, _ = golden("pop2-window-igg-below-4-start")
    card = app.test_client().post(url, json=request).get_json()["cards"][0]["uuid"]
    body = {"feedback": [{**OVERRIDDEN, "card": card}]}
    labels = {"hook": "order-select", "rule": "start-pop2-window", "outcome": "overridden"}
    before = REGISTRY.get_sample_value("cds_feedback_outcomes_total", labels) or 0.0
    for _ in range(5):
        assert app.test_client().post(FEEDBACK_URL, json=body).status_code == 200
    assert len(runtime_of(app).store.feedback()) == 1
    assert REGISTRY.get_sample_value("cds_feedback_outcomes_total", labels) == before + 1  # the metric too
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["feedback-report", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["cardsShown"], row["cardsWithFeedback"], row["overridden"]) == (1, 1, 1)
    assert row["topOverrideReasons"] == [{"reason": "Patient declined", "count": 1}]


def test_card_uuids_cannot_be_derived_from_the_hook_instance(db_url: str) -> None:
    url, request, _ = golden("pop2-window-igg-below-4-start")
    ours = make_app(DATABASE_URL=db_url).test_client().post(url, json=request).get_json()["cards"][0]
    other_key = make_app(AUDIT_HMAC_KEY="x" * 40).test_client().post(url, json=request).get_json()["cards"][0]
    assert ours["uuid"] != other_key["uuid"]  # the uuid depends on the secret key, not only on the request
    for hook_instance_only in (
        uuid.uuid5(CARD_NAMESPACE, f"{request['hookInstance']}:start-pop2-window"),
        uuid.uuid5(CARD_NAMESPACE, request["hookInstance"]),
    ):
        assert ours["uuid"] != str(hook_instance_only)
    assert {s["uuid"] for s in ours.get("suggestions", [])}.isdisjoint(s["uuid"] for s in other_key["suggestions"])


def test_feedback_for_an_unknown_service_is_404(app: Flask) -> None:
    assert app.test_client().post("/cds-services/nope/feedback", json={"feedback": [ACCEPTED]}).status_code == 404


def test_feedback_report_from_the_command_line(
    app: Flask, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, request, _ = golden("pop2-window-igg-below-4-start")
    card_uuid = app.test_client().post(url, json=request).get_json()["cards"][0]["uuid"]
    feedback = {**OVERRIDDEN, "card": card_uuid}
    assert app.test_client().post(FEEDBACK_URL, json={"feedback": [feedback]}).status_code == 200
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["feedback-report"]) == 0
    table = capsys.readouterr().out
    assert "start-pop2-window" in table and "Patient declined (1)" in table and "100%" in table
    assert main(["feedback-report", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["rule"], row["cardsShown"], row["overridden"], row["overrideRate"]) == ("start-pop2-window", 1, 1, 1.0)


def test_feedback_on_every_card_is_attributed_when_advice_is_shown_as_cards(
    app: Flask, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, request, _ = golden("pop2-window-igg-below-4-start")
    request = {**request, "extension": {"sid-igrt": {"advice": "cards"}}}
    cards = app.test_client().post(url, json=request).get_json()["cards"]
    assert len(cards) > 1
    items = [{**OVERRIDDEN, "card": card["uuid"]} for card in cards]
    assert app.test_client().post(FEEDBACK_URL, json={"feedback": items}).status_code == 200
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["feedback-report", "--json"]) == 0
    rows = {row["rule"]: row for row in json.loads(capsys.readouterr().out)}
    assert "(unknown card)" not in rows
    expected = {card["extension"]["sid-igrt"]["rule"] for card in cards}
    assert set(rows) == expected
    assert all(row["cardsShown"] == 1 and row["overridden"] == 1 for row in rows.values())


def test_one_card_by_default_and_the_decision_never_ranks_below_its_advice(app: Flask) -> None:
    url, request, _ = golden("pop2-window-igg-below-4-start")
    default = app.test_client().post(url, json=request).get_json()["cards"]
    assert len(default) == 1
    as_cards = app.test_client().post(url, json={**request, "extension": {"sid-igrt": {"advice": "cards"}}})
    cards = as_cards.get_json()["cards"]
    rank = {"critical": 0, "warning": 1, "info": 2}
    ordered = sorted(cards, key=lambda c: rank[c["indicator"]])  # how the Sandbox orders cards (a stable sort)
    assert ordered[0]["extension"]["sid-igrt"]["kind"] == "decision"
    off = app.test_client().post(url, json={**request, "extension": {"sid-igrt": {"advice": "off"}}}).get_json()
    (card,) = off["cards"]
    assert card["extension"]["sid-igrt"]["advice"] and "Before starting IgRT" not in card["detail"]


def test_discovery_lists_the_card_options(app: Flask) -> None:
    services = app.test_client().get("/cds-services").get_json()["services"]
    for service in services:
        options = {o["code"]: o for o in service["extension"]["sid-igrt.configuration-options"]}
        assert set(options) == {"advice", "details", "language", "silent"}
        assert options["advice"]["default"] == "lines" and options["details"]["type"] == "boolean"
        assert options["silent"]["default"] is False and "sid-igrt.silent" not in service["extension"]
        assert all(o["name"] and o["description"] for o in options.values())


def test_accepted_feedback_naming_a_suggestion_the_card_never_offered_is_refused(app: Flask) -> None:
    issue(app, "c-1")
    stranger = {**ACCEPTED, "acceptedSuggestions": [{"id": "s-2"}]}
    response = app.test_client().post(FEEDBACK_URL, json={"feedback": [stranger]})
    assert response.status_code == 404
    assert response.get_json()["issue"][0]["expression"] == ["feedback[0].acceptedSuggestions"]
    assert runtime_of(app).store.feedback() == []
    assert app.test_client().post(FEEDBACK_URL, json={"feedback": [ACCEPTED]}).status_code == 200


def test_one_hook_instance_for_two_patients_gives_two_card_uuids(app: Flask) -> None:
    """A client reusing a hookInstance: each patient's decision gets its own card uuid (feedback lands right)."""
    request = json.loads(
        (case_dir(next(c for c in CASES if c.name == "pop2-window-igg-below-4-start")) / "request.json").read_text()
    )
    other = json.loads(json.dumps(request).replace(request["context"]["patientId"], "another-patient"))
    client = app.test_client()
    first = client.post("/cds-services/sid-igrt-order-select", json=request).get_json()["cards"][0]
    second = client.post("/cds-services/sid-igrt-order-select", json=other).get_json()["cards"][0]
    assert first["uuid"] != second["uuid"]
    assert first["suggestions"][0]["uuid"] != second["suggestions"][0]["uuid"]
