"""HTTP behaviour: discovery, prefetch states, quiet cases; every bad input is a 4xx OperationOutcome."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.cards.render import SUMMARY_MAX
from cds_service.http.runtime import runtime_of
from cds_service.settings import SettingsError
from cds_service.wire.definitions import PREFETCH
from tests.cases import CASES, case_dir, without_uuids
from tests.conftest import make_app, sqlite_url

WINDOW = json.loads((case_dir(CASES[0]) / "request.json").read_text(encoding="utf-8"))
URL = "/cds-services/sid-igrt-order-select"


def post(client: FlaskClient, body: Any, url: str = URL) -> Any:
    return client.post(url, json=body)


def assert_outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/fhir+json"
    body = response.get_json(force=True)
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["details"]["text"]
    return dict(body)


def test_discovery_lists_one_service_per_hook(client: FlaskClient) -> None:
    services = client.get("/cds-services").get_json()["services"]
    assert sorted(s["hook"] for s in services) == ["order-select", "order-sign", "patient-view"]
    for service in services:
        assert "1.1" in service["description"] and service["prefetch"] == dict(PREFETCH)
    observations = PREFETCH["observations"]
    assert "_sort=-date" in observations and "sort:" not in observations
    assert "http://npu-terminology.org|NPU19814" in observations and "urn:oid:1.2.208.176.2.1|NPU19814" in observations
    assert "http://loinc.org|33358-3" in observations


@pytest.mark.parametrize("key", sorted(PREFETCH))
def test_null_prefetch_means_no_data(client: FlaskClient, key: str) -> None:
    body = copy.deepcopy(WINDOW)
    body["prefetch"][key] = None
    response = post(client, body)
    assert response.status_code == 200


@pytest.mark.parametrize("key", ["patient", "observations", "conditions", "encounters", "medicationRequests"])
def test_absent_required_key_is_412(client: FlaskClient, key: str) -> None:
    body = copy.deepcopy(WINDOW)
    del body["prefetch"][key]
    assert key in assert_outcome(post(client, body), 412)["issue"][0]["details"]["text"]


@pytest.mark.parametrize("key", ["medicationStatements", "procedures"])
def test_absent_optional_key_is_named_on_the_card(client: FlaskClient, key: str) -> None:
    body = copy.deepcopy(WINDOW)
    del body["prefetch"][key]
    card = post(client, body).get_json()["cards"][0]
    # The card says that data was not used; what and why is in the extension (and on the evidence page).
    assert "could not be used" in card["detail"] and f"prefetch.{key}" not in card["detail"]
    assert any(issue["resource"] == f"prefetch.{key}" for issue in card["extension"]["sid-igrt"]["dataIssues"])


def test_operation_outcome_entry_with_error_is_412_and_warning_is_ignored(client: FlaskClient) -> None:
    body = copy.deepcopy(WINDOW)
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "processing"}]}
    body["prefetch"]["conditions"]["entry"] = [{"resource": outcome}]
    assert post(client, body).status_code == 200
    outcome["issue"][0]["severity"] = "error"
    assert_outcome(post(client, body), 412)


def test_no_prefetch_at_all_is_412(client: FlaskClient) -> None:
    body = copy.deepcopy(WINDOW)
    del body["prefetch"]
    assert_outcome(post(client, body), 412)


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda b: b.pop("hookInstance"), 400),
        (lambda b: b.update(hook="patient-view"), 400),
        (lambda b: b["context"].pop("patientId"), 400),
        (lambda b: b["context"].update(patientId="../../etc"), 400),
        (lambda b: b["context"].pop("draftOrders"), 400),
        (lambda b: b["context"].pop("selections"), 400),
        (lambda b: b["context"].update(selections="MedicationRequest/x"), 400),
        (lambda b: b["context"].update(draftOrders={"resourceType": "Patient", "id": "p"}), 400),
        (lambda b: b["context"].update(draftOrders={"resourceType": "MedicationRequest", "id": "m"}), 400),
        (lambda b: b.update(context=[]), 400),
        (lambda b: b["prefetch"].update(observations=[1, 2]), 400),
        (lambda b: b.update(fhirAuthorization={"access_token": "t"}, fhirServer=None), 400),
        (
            lambda b: b.update(
                fhirAuthorization={"access_token": "t", "expires_in": True}, fhirServer="https://ehr.example/fhir"
            ),
            400,
        ),
    ],
    ids=[
        "no-hookInstance",
        "wrong-hook",
        "no-patientId",
        "bad-patientId",
        "no-draftOrders",
        "no-selections",
        "selections-string",
        "draftOrders-a-patient",
        "draftOrders-an-order-outside-a-bundle",
        "context-array",
        "prefetch-array",
        "auth-without-server",
        "expires-in-boolean",
    ],
)
def test_invalid_requests_are_400(client: FlaskClient, mutate: Any, status: int) -> None:
    body = copy.deepcopy(WINDOW)
    mutate(body)
    assert_outcome(post(client, body), status)


@pytest.mark.parametrize(
    "raw",
    [b"", b"{not json", b"[]", b"null", b"\x00\x01", json.dumps("x").encode()],
    ids=["empty", "malformed", "array", "null", "binary", "string"],
)
def test_bad_bodies_are_400(client: FlaskClient, raw: bytes) -> None:  # deep nesting: 413, tests/.../test_call_limits
    assert_outcome(client.post(URL, data=raw, content_type="application/json"), 400)


def test_unknown_service_404_wrong_method_405_too_large_413(client: FlaskClient) -> None:
    assert_outcome(post(client, WINDOW, "/cds-services/unknown"), 404)
    assert_outcome(client.get(URL), 405)
    big = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    assert_outcome(big.post(URL, data=b"{" + b" " * 2000 + b"}", content_type="application/json"), 413)


def test_entered_in_error_draft_and_garbage_resources_never_500(client: FlaskClient) -> None:
    body = copy.deepcopy(WINDOW)
    body["prefetch"]["observations"]["entry"] += [{"resource": "x"}, {"resource": {"resourceType": 7}}, 42]
    body["prefetch"]["conditions"] = {"resourceType": "Bundle", "entry": {"resource": {}}}
    assert post(client, body).status_code == 200


def test_order_select_ignores_unselected_immunoglobulin_orders(client: FlaskClient) -> None:
    body = copy.deepcopy(WINDOW)
    body["context"]["selections"] = ["ServiceRequest/other"]
    assert post(client, body).get_json() == {"cards": []}


def test_card_uuid_is_unique_per_hook_instance(client: FlaskClient) -> None:
    first = post(client, WINDOW).get_json()["cards"][0]["uuid"]
    other = copy.deepcopy(WINDOW)
    other["hookInstance"] = "22222222-2222-4222-8222-000000000000"
    assert post(client, other).get_json()["cards"][0]["uuid"] != first


def test_interpretation_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_GUIDELINE__ON_IGRT_RECENT_DAYS", "35")
    monkeypatch.setenv("CDS_FIXED_DATE", "2026-11-20")
    monkeypatch.setenv("CDS_AUTH", "off")
    monkeypatch.setenv("CDS_DATABASE_URL", sqlite_url())
    from cds_service.http.app import create_app

    card = create_app().test_client().post(URL, json=WINDOW).get_json()["cards"][0]
    assert card["extension"]["sid-igrt"]["rule"] == "start-pop2-window"
    settings = runtime_of(create_app()).settings
    assert settings.parameters.on_igrt_recent_days == 35


@pytest.mark.parametrize(
    "config",
    [{"TIMEZONE": "Mars/Base"}, {"GUIDELINE": {"igg_start_below_g_per_l": 5}}, {"FIXED_DATE": "yesterday"}],
)
def test_invalid_settings_refuse_to_start(config: dict[str, Any]) -> None:
    with pytest.raises(SettingsError):
        make_app(**config)


def all_cards() -> list[dict[str, Any]]:
    cards = []
    for path in Path(case_dir(CASES[0])).parents[1].glob("*/*/expected.json"):
        cards += json.loads(path.read_text(encoding="utf-8"))["body"].get("cards", [])
    return cards


def walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value, *[x for v in value.values() for x in walk(v)]]
    if isinstance(value, list):
        return [value, *[x for v in value for x in walk(v)]]
    return [value]


def test_every_golden_card_follows_cds_hooks_rules() -> None:
    cards = all_cards()
    assert len(cards) >= 15
    for card in cards:
        assert len(card["summary"]) <= SUMMARY_MAX and not card["summary"].endswith("…")
        assert card["indicator"] in ("info", "warning", "critical")
        assert card["source"]["label"]
        assert all(v not in (None, "", [], {}) for v in walk(card))
        assert ("suggestions" in card) == ("selectionBehavior" in card)
        assert all(o["display"] and o["code"] and o["system"] for o in card.get("overrideReasons", []))
        for link in card["links"]:
            # The evidence page is a SMART app naming its decision; the guideline texts are plain links.
            smart = link["url"].endswith("/evidence/launch")
            assert link["type"] == ("smart" if smart else "absolute") and ("appContext" in link) == smart
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                assert action["description"]
                assert ("resourceId" in action) == (action["type"] == "delete")
        decision = card["extension"]["sid-igrt"]
        assert any(decision["guideline"]["section"] in link["label"] for link in card["links"])
        if decision["kind"] != "decision":
            assert decision["kind"] in {"dose", "product", "m-component", "monitoring", "prerequisites"}
            assert "recommendation" not in decision and decision["rule"] == card["source"]["topic"]["code"]
            continue
        assert "overrideReasons" in card
        assert decision["recommendation"] in {
            "start",
            "consider",
            "not-indicated",
            "insufficient-data",
            "individual-assessment",
            "continue",
            "pause",
            "stop",
        }
        assert decision["guideline"]["version"] in ("1.1", "2026")
        assert any(decision["guideline"]["section"] in link["label"] for link in card["links"])
        for criterion in decision["criteria"]:
            assert criterion["result"] in ("met", "not-met", "undetermined")


def test_exactly_one_decision_card_first_in_every_answer() -> None:
    for path in Path(case_dir(CASES[0])).parents[1].glob("*/*/expected.json"):
        cards = json.loads(path.read_text(encoding="utf-8"))["body"].get("cards", [])
        kinds = [card["extension"]["sid-igrt"]["kind"] for card in cards]
        assert kinds[:1] == ["decision"] * min(1, len(kinds)) and kinds.count("decision") == min(1, len(kinds)), path


def test_cli_evaluate_prints_the_cards(capsys: pytest.CaptureFixture[str]) -> None:
    from commands.cli import main

    path = case_dir(CASES[0]) / "request.json"
    assert main(["evaluate", str(path), "--as-of", "2026-11-20"]) == 0
    expected = json.loads((case_dir(CASES[0]) / "expected.json").read_text(encoding="utf-8"))["body"]
    # The same cards; only the uuids differ (the service derives them with its secret key, the CLI has none), and
    # the CLI links no evidence page (there is no server to launch it from a file).
    for card in expected["cards"]:
        card["links"] = [link for link in card["links"] if link["type"] != "smart"]
    assert without_uuids(json.loads(capsys.readouterr().out)) == without_uuids(expected)


def test_cli_evaluate_reports_412(capsys: pytest.CaptureFixture[str]) -> None:
    from commands.cli import main

    missing = next(c for c in CASES if c.name == "required-prefetch-missing-412")
    assert main(["evaluate", str(case_dir(missing) / "request.json"), "--as-of", "2026-11-20"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == 412


def test_epic_absolute_selections_and_medication_reference(client: FlaskClient) -> None:
    from tests import factories as f

    body = copy.deepcopy(WINDOW)
    pid = body["context"]["patientId"]
    body["context"]["draftOrders"] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in f.draft_order(pid, "epic-ivig", "J06BA02", "Kiovig", shape="epic")],
    }
    body["context"]["selections"] = ["https://ehr.example.org/api/FHIR/R4/MedicationRequest/epic-ivig"]
    card = post(client, body).get_json()["cards"][0]
    assert card["extension"]["sid-igrt"]["orders"][0]["resource"] == "MedicationRequest/epic-ivig"


def _observation_dates(body: dict[str, Any], value: str) -> None:
    for entry in body["prefetch"]["observations"].get("entry", []):
        entry["resource"]["effectiveDateTime"] = value


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda b: b["context"].update(patientId="pat\u0000ient"), 400),
        (lambda b: b.update(hookInstance="h\u0000\u001b[31m\u2028"), 200),
        (lambda b: b["context"].update(userId="Practitioner/\u0007\u0000"), 200),
        (lambda b: _observation_dates(b, "2026-02-30"), 200),
        (lambda b: _observation_dates(b, "2026-13-45T99:99:99Z"), 200),
        (lambda b: _observation_dates(b, "\u0000"), 200),
    ],
    ids=[
        "nul-in-patient-id",
        "control-chars-in-hook-instance",
        "control-chars-in-user-id",
        "feb-30",
        "month-13",
        "nul-date",
    ],
)
def test_control_characters_and_impossible_dates_never_crash(client: FlaskClient, mutate: Any, status: int) -> None:
    body = copy.deepcopy(WINDOW)
    mutate(body)
    response = post(client, body)
    assert response.status_code == status
    if "_observation_dates" in mutate.__code__.co_names:  # unreadable dates are reported, never guessed at
        decision = response.get_json()["cards"][0]["extension"]["sid-igrt"]
        assert any("Observation.effectiveDateTime" in issue["reason"] for issue in decision["dataIssues"])
        assert decision["recommendation"] == "insufficient-data"


@pytest.mark.parametrize(
    "timestamp",
    ["2026-02-30T10:00:00Z", "2026-11-20T10:00:00", "\u0000", "yesterday", "0001-01-01T00:00:00+01:00"],
)
def test_feedback_with_an_impossible_or_naive_timestamp_is_400(client: FlaskClient, timestamp: str) -> None:
    item = {"card": "c-1", "outcome": "overridden", "outcomeTimestamp": timestamp}
    assert_outcome(client.post("/cds-services/sid-igrt-order-select/feedback", json={"feedback": [item]}), 400)
