"""``cds-service validate REQUEST.json``: one line per place a request's FHIR is not valid R4, and what the service
does with it (used, ignored, fetched, refused); exit status 1 exactly when the service refuses the request.

Good inputs are the golden requests; bad ones are golden requests broken one way each.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from commands.cli import main
from commands.fhir_validation import fhir_problems
from commands.upload import DEFAULT_FIXTURES
from commands.validate import Outcome, Report, validate_request

TZ = ZoneInfo("Europe/Copenhagen")
OPTIONAL = frozenset({"medicationStatements", "procedures"})
REQUESTS = sorted(DEFAULT_FIXTURES.glob("*/*/request.json"))
ORDER_SIGN = DEFAULT_FIXTURES / "sid-igrt-order-sign" / "pop2-after-window-severe-infection-start" / "request.json"
ORDER_SELECT = DEFAULT_FIXTURES / "sid-igrt-order-select" / "pop2-window-igg-below-4-start" / "request.json"
PATIENT_VIEW = sorted((DEFAULT_FIXTURES / "sid-igrt-patient-view").glob("*/request.json"))[0]


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def validate(body: Any, **options: Any) -> Report:
    return validate_request(body, tz=TZ, optional_prefetch=OPTIONAL, **options)


def lines_at(report: Report, where: str) -> list[str]:
    return [p.line() for p in report.problems if p.where == where or p.where.startswith(where + " ")]


def case_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.parent.name}"


@pytest.mark.parametrize("path", REQUESTS, ids=case_id)
def test_every_golden_request_is_answered_unless_its_golden_answer_is_a_refusal(path: Path) -> None:
    expected = json.loads((path.parent / "expected.json").read_text(encoding="utf-8"))
    report = validate(load(path), service_id=path.parent.parent.name)
    assert report.refused == (expected["status"] != 200), [p.line() for p in report.problems]
    for problem in report.problems:
        line = problem.line()
        assert "\n" not in line and f" -> {problem.outcome.value} (" in line, line
    if not report.refused:  # the golden requests are valid FHIR but for what the service reads leniently
        leniencies = ("entry: an empty array", "intent: a required element", "type: a required element", "category:")
        invalid = [p.line() for p in report.problems if p.outcome == Outcome.USED]
        assert all(any(text in line for text in leniencies) for line in invalid), invalid


def test_the_412_golden_request_names_each_missing_key() -> None:
    report = validate(
        load(DEFAULT_FIXTURES / "sid-igrt-order-select" / "required-prefetch-missing-412" / "request.json")
    )
    refused = {p.where: p.why for p in report.problems if p.outcome == Outcome.REFUSED and p.where.count(" ") == 0}
    assert refused.keys() >= {"prefetch.conditions", "prefetch.encounters"}
    assert all(why.startswith("412 prefetch-unavailable") for why in refused.values())
    assert report.summary().endswith("refused by the service")


def break_request(path: Path, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(load(path))
    change(body)
    return body


def observation(body: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return dict(body["prefetch"]["observations"]["entry"][index]["resource"])


def set_observation(body: dict[str, Any], **elements: Any) -> None:
    body["prefetch"]["observations"]["entry"][0]["resource"].update(elements)


def test_an_observation_with_an_impossible_date_is_invalid_fhir_and_not_used() -> None:
    report = validate(break_request(ORDER_SIGN, lambda b: set_observation(b, effectiveDateTime="2026-02-30")))
    lines = lines_at(report, "prefetch.observations entry[0] Observation/igg-1")
    assert any("effectiveDateTime:" in line and "-> ignored" in line for line in lines), lines
    assert not report.refused


def test_a_value_the_mappers_cannot_read_is_invalid_and_named_as_not_used() -> None:
    def text_value(body: dict[str, Any]) -> None:
        set_observation(body, valueQuantity={"value": "low", "unit": "g/L"})

    lines = lines_at(
        validate(break_request(ORDER_SIGN, text_value)), "prefetch.observations entry[0] Observation/igg-1"
    )
    assert any("valueQuantity.value:" in line for line in lines), lines
    assert any("value is not a number" in line and 'named on the card under "Data not used"' in line for line in lines)


def test_an_unknown_element_and_a_null_are_invalid_fhir_but_the_resource_is_used() -> None:
    report = validate(break_request(ORDER_SIGN, lambda b: set_observation(b, issuedAt="2026-10-05", note=None)))
    lines = lines_at(report, "prefetch.observations entry[0] Observation/igg-1")
    assert any("issuedAt: not an element of this resource type" in line for line in lines), lines
    assert any("note: null is not allowed in FHIR JSON" in line for line in lines), lines
    assert all(line.endswith("-> used (read by the mappers)") for line in lines), lines


def test_entered_in_error_is_ignored_and_named() -> None:
    report = validate(break_request(ORDER_SIGN, lambda b: set_observation(b, status="entered-in-error")))
    [line] = lines_at(report, "prefetch.observations entry[0] Observation/igg-1")
    assert "entered-in-error" in line and "-> ignored" in line


def test_a_resource_type_that_is_not_fhir_is_invalid_and_ignored() -> None:
    def foreign(body: dict[str, Any]) -> None:
        body["prefetch"]["conditions"]["entry"].append({"resource": {"resourceType": "Diagnosis", "id": "d1"}})

    [line] = lines_at(validate(break_request(ORDER_SIGN, foreign)), "prefetch.conditions entry[2] Diagnosis/d1")
    assert "'Diagnosis' is not a FHIR R4 resource type -> ignored (nothing the guideline reads)" in line


def test_a_prefetch_key_the_service_does_not_declare_is_ignored() -> None:
    report = validate(break_request(ORDER_SIGN, lambda b: b["prefetch"].update(allergies=None)))
    assert "prefetch.allergies: not a prefetch key of this service -> ignored (not read)" in lines_at(
        report, "prefetch.allergies"
    )


def test_a_bundle_without_type_is_invalid_fhir_but_read() -> None:
    report = validate(break_request(ORDER_SIGN, lambda b: b["prefetch"]["observations"].pop("type")))
    [line] = lines_at(report, "prefetch.observations Bundle")
    assert line == "prefetch.observations Bundle: type: a required element is missing -> used (its entries are read)"


@pytest.mark.parametrize(
    ("change", "where", "why"),
    [
        (lambda b: b["context"].update(patientId="no/slash"), "context.patientId", "400 invalid-hook-request"),
        (
            lambda b: b["context"].update(draftOrders={"resourceType": "MedicationRequest"}),
            "context.draftOrders",
            "400 invalid-hook-request",
        ),
        (lambda b: b.pop("hookInstance"), "hookInstance", "400 invalid-hook-request"),
        (lambda b: b["prefetch"].update(observations="none"), "prefetch.observations", "400 invalid-hook-request"),
        (lambda b: b["prefetch"].pop("observations"), "prefetch.observations", "412 prefetch-unavailable"),
        (
            lambda b: b["prefetch"].update(
                patient={
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "timeout", "details": {"text": "Search timed out"}}],
                }
            ),
            "prefetch.patient",
            "412 prefetch-unavailable",
        ),
        (lambda b: b.update(hook="encounter-start"), "hook", "400 invalid-hook-request"),
    ],
    ids=[
        "bad-patient-id",
        "draft-orders-not-a-bundle",
        "no-hook-instance",
        "prefetch-value-a-string",
        "required-key-missing",
        "required-key-an-error",
        "unknown-hook",
    ],
)
def test_a_refused_request_names_why_and_every_resource_is_refused(
    change: Callable[[dict[str, Any]], None], where: str, why: str
) -> None:
    report = validate(break_request(ORDER_SIGN, change))
    assert report.refused
    refusals = [p for p in report.problems if p.where == where and p.outcome == Outcome.REFUSED]
    assert refusals and refusals[0].why.startswith(why), [p.line() for p in report.problems]
    assert all(p.outcome in (Outcome.REFUSED, Outcome.IGNORED) for p in report.problems)


def test_a_missing_key_is_fetched_when_the_request_allows_fetching() -> None:
    def fetchable(body: dict[str, Any]) -> None:
        body["prefetch"].pop("observations")
        body["fhirAuthorization"] = {"access_token": "t", "token_type": "Bearer", "scope": "patient/*.read"}

    report = validate(break_request(ORDER_SIGN, fetchable))
    assert not report.refused
    [line] = lines_at(report, "prefetch.observations")
    assert line.startswith("prefetch.observations: not provided -> fetched (from fhirServer")


def test_a_missing_optional_key_is_decided_without() -> None:
    report = validate(break_request(ORDER_SIGN, lambda b: b["prefetch"].pop("procedures")))
    assert not report.refused
    [line] = lines_at(report, "prefetch.procedures")
    assert "-> ignored (decided without it" in line


def test_order_select_without_a_selected_immunoglobulin_reads_no_prefetch() -> None:
    report = validate(break_request(ORDER_SELECT, lambda b: b["context"].update(selections=["MedicationRequest/x"])))
    assert not report.refused
    [line] = lines_at(report, "context.draftOrders")[:1]
    assert "no immunoglobulin order" in line and "among context.selections" in line
    # a missing required key would be a 412 if the prefetch were read; here it is not
    body = break_request(ORDER_SELECT, lambda b: b["context"].update(selections=["MedicationRequest/x"]))
    del body["prefetch"]["observations"]
    assert not validate(body).refused


def test_a_dstu2_medication_order_is_not_r4_but_used() -> None:
    def dstu2(body: dict[str, Any]) -> None:
        body["context"]["draftOrders"]["entry"][0]["resource"]["resourceType"] = "MedicationOrder"

    report = validate(break_request(ORDER_SIGN, dstu2))
    lines = lines_at(report, "context.draftOrders entry[0] MedicationOrder/draft-scig")
    assert lines == [
        "context.draftOrders entry[0] MedicationOrder/draft-scig: resourceType: 'MedicationOrder' is not a FHIR R4 "
        "resource type -> used (an immunoglobulin order: decided on)"
    ]


def test_patient_view_reads_no_draft_orders() -> None:
    def with_drafts(body: dict[str, Any]) -> None:
        body["context"]["draftOrders"] = load(ORDER_SIGN)["context"]["draftOrders"]

    report = validate(break_request(PATIENT_VIEW, with_drafts))
    lines = lines_at(report, "context.draftOrders")
    assert lines and all("-> ignored (patient-view reads no draft orders)" in line for line in lines), lines


def test_not_an_object_and_an_unknown_service_are_refused() -> None:
    assert validate([]).refused
    assert validate(load(ORDER_SIGN), service_id="no-such-service").refused


def test_fhir_problems_of_single_resources() -> None:
    assert fhir_problems({"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}) == ()
    assert [p.path for p in fhir_problems({"resourceType": "Patient", "birthDate": "1970-13-01"})] == ["birthDate"]
    assert (
        fhir_problems({"resourceType": "Coding", "code": "x"})[0].message == "'Coding' is not a FHIR R4 resource type"
    )
    assert fhir_problems("Patient")[0].message == "not a FHIR resource (a JSON object)"
    contained = {"resourceType": "Patient", "contained": [{"resourceType": "Nope", "id": "n"}]}
    assert "nested resource" in fhir_problems(contained)[0].message


def test_the_command_prints_one_line_per_problem_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(ORDER_SIGN)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"{ORDER_SIGN}: 4 problems; the request is answered by sid-igrt-order-sign"
    assert all(" -> " in line for line in out[:-1])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(break_request(ORDER_SIGN, lambda b: b["prefetch"].pop("conditions"))), encoding="utf-8")
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "prefetch.conditions: not provided -> refused (412 prefetch-unavailable" in "\n".join(out)
    assert out[-1].endswith("the request is refused by the service")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert main(["validate", str(tmp_path / "broken.json")]) == 2
