"""Properties: arbitrary FHIR-shaped JSON never crashes the mappers, the guideline core or the card renderer.

``summarize`` turns what it cannot read into data issues and never raises; a whole service call on arbitrary
prefetch answers or raises one of the service's typed errors (400/412), never anything else.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.http.app import load_settings
from cds_service.invocation import invoke
from cds_service.wire.definitions import PREFETCH, SERVICES
from cds_service.wire.errors import CdsServiceError
from cds_service.wire.requests import HOOK_REQUESTS
from fhir_mappers import MappingContext, code_table, medications_by_key, summarize
from guideline import assess
from guideline.model import PatientRecord
from tests.conftest import AS_OF
from tests.fhir_strategies import PATIENT_ID, bundle_value, dates, maybe, resource
from tests.guideline.records import d

SETTINGS = load_settings({"FIXED_DATE": AS_OF, "AUTH": "off", "AUDIT_HMAC_KEY": "x" * 32})
CTX = MappingContext(tz=ZoneInfo("Europe/Copenhagen"), codes=code_table())
# Examples per property: the Hypothesis profile (tests/conftest.py: 100 by default, 400 in CI).
PROPERTY_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(st.lists(resource(), max_size=12))
def test_summarize_never_raises_and_keeps_only_typed_records(resources: list[dict[str, Any]]) -> None:
    ctx = MappingContext(tz=CTX.tz, codes=CTX.codes, medications=medications_by_key(resources))
    record = summarize(resources, patient_id=PATIENT_ID, ctx=ctx)
    assert isinstance(record, PatientRecord)
    assessment = assess(record, as_of=d(AS_OF), follow_up=True)
    assert assessment.finding.recommendation is not None


@st.composite
def hook_request(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    service = draw(st.sampled_from(SERVICES))
    patient: Any = {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": draw(maybe(dates))}
    prefetch = {key: draw(bundle_value) for key in PREFETCH if key != "patient" and draw(st.booleans() | st.just(True))}
    prefetch["patient"] = draw(st.one_of(st.just(patient), st.none(), maybe(resource())))
    draft = {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.whocc.no/atc", "code": draw(st.sampled_from(["J06BA01", "J06BA02"]))}]
        },
        "dosageInstruction": draw(st.just([]) | st.lists(st.just({"doseAndRate": [{"doseQuantity": {}}]}), max_size=1)),
    }
    draft_orders: Any = {
        "resourceType": "Bundle",
        "entry": [{"resource": draft}, *draw(st.lists(resource().map(lambda r: {"resource": r}), max_size=2))],
    }
    context: dict[str, Any] = {"patientId": PATIENT_ID}
    if service.hook != "patient-view":
        context["draftOrders"] = draft_orders
    if service.hook == "order-select":
        context["selections"] = ["MedicationRequest/draft-1"]
    body = {"hook": service.hook, "hookInstance": "h-1", "context": context, "prefetch": prefetch}
    return service, body


@PROPERTY_SETTINGS
@given(hook_request())
def test_a_service_call_on_arbitrary_prefetch_answers_or_raises_a_typed_error(
    drawn: tuple[Any, dict[str, Any]],
) -> None:
    service, body = drawn
    request = HOOK_REQUESTS[service.hook].model_validate(body)
    try:
        answer = invoke(service, request, SETTINGS, as_of=d(AS_OF))
    except CdsServiceError as error:
        assert error.status in (400, 412)
        return
    assert answer.outcome in ("card", "quiet", "no-immunoglobulin-order")
    for card in answer.response["cards"]:
        assert card["summary"] and len(card["summary"]) < 140
