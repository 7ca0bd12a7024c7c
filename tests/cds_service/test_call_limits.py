"""What one hook call may hold, not only its bytes (issue 29, item 1): JSON values and depth, Bundle entries and
resources per call, for the request body (413) and for the FHIR fallback (the key unavailable: 412 when required),
and the large-call gate over both. Truth tables sit on every limit (just inside / just outside)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import orjson
import pytest
import requests
import responses
from flask.testing import FlaskClient

import cds_service.ehr.fhir_client as fhir_client
from cds_service.http.app import runtime_of
from cds_service.time_limits import Deadline
from cds_service.wire.definitions import PREFETCH
from cds_service.wire.feedback import FEEDBACK_JSON_LIMITS
from cds_service.wire.json_shape import JsonLimits, measure
from tests.cds_service.test_fallback import FHIR, GOLDEN, URL, fallback_app, request_body
from tests.conftest import make_app

WIDE = JsonLimits(max_values=10**9, max_depth=10**6)
LARGE = 10**9
"""A body size above every large-call threshold used here."""


def values_of(body: Any) -> int:
    return measure(orjson.dumps(body), WIDE).values


def depth_of(body: Any) -> int:
    return measure(orjson.dumps(body), WIDE).depth


def refused_413(response: Any, expression: str | None = None) -> str:
    assert response.status_code == 413, response.get_json()
    issue = response.get_json()["issue"][0]
    assert (issue["code"], issue["details"]["coding"][0]["code"]) == ("too-costly", "too-large")
    if expression is not None:
        assert issue["expression"] == [expression]
    return str(issue["details"]["text"])


def unavailable_412(response: Any, key: str) -> str:
    assert response.status_code == 412, response.get_json()
    text = str(response.get_json()["issue"][0]["details"]["text"])
    assert key in text
    return text


def nested(depth: int) -> Any:
    """A value ``depth`` levels of arrays deep."""
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def post(client: FlaskClient, body: Any) -> Any:
    return client.post(URL, data=orjson.dumps(body), content_type="application/json")


# --- the request body: JSON values and depth, before parsing ---------------------------------------------------


@pytest.mark.parametrize(("spare", "status"), [(0, 200), (-1, 413)], ids=["just-inside", "just-outside"])
def test_body_json_values(spare: int, status: int) -> None:
    body = GOLDEN
    response = post(make_app(MAX_JSON_VALUES=values_of(body) + spare).test_client(), body)
    assert response.status_code == status
    if status == 413:
        assert "holds more than" in refused_413(response) and "Nothing was evaluated" in refused_413(response)


@pytest.mark.parametrize(("extra", "status"), [(0, 200), (1, 413)], ids=["just-inside", "just-outside"])
def test_body_depth_at_the_default_limit(extra: int, status: int) -> None:
    body = copy.deepcopy(GOLDEN)
    body["extension"] = {"unread": nested(64 - 2 + extra)}  # under the root and "extension": 2 levels
    assert depth_of(body) == 64 + extra
    response = post(make_app().test_client(), body)
    assert response.status_code == status
    if status == 413:
        assert "nests deeper than 64 levels" in refused_413(response)


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_nesting_is_413_whether_or_not_the_parser_would_take_it(depth: int) -> None:
    """orjson parses 1,000 levels (and refuses 1,025); either way nothing is parsed past 64."""
    raw = b"[" * depth + b"]" * depth
    response = make_app().test_client().post(URL, data=raw, content_type="application/json")
    assert "nests deeper" in refused_413(response)


def test_ten_mib_of_empty_objects_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's shape: 3.5 million ``{}`` entries in one prefetch Bundle. Nothing of it reaches the parser."""
    parsed: list[int] = []
    real_loads = orjson.loads
    monkeypatch.setattr(
        "cds_service.http.json_body.orjson.loads", lambda raw: parsed.append(len(raw)) or real_loads(raw)
    )
    head = orjson.dumps({**GOLDEN, "prefetch": {"observations": {"resourceType": "Bundle", "entry": []}}})
    raw = head.replace(b'"entry":[]', b'"entry":[' + b",".join([b"{}"] * 3_400_000) + b"]")
    assert len(raw) > 10_000_000
    response = make_app().test_client().post(URL, data=raw, content_type="application/json")
    assert "holds more than 400,000 JSON values" in refused_413(response)
    assert max(parsed, default=0) < 1_000_000  # the OperationOutcome, at most


def test_feedback_bodies_are_bounded_on_their_own() -> None:
    app = make_app()
    items = [{"card": "x", "outcome": "overridden"}] * 100
    besides = values_of({"feedback": items, "pad": [0]}) - 1  # all but the padding's zeros
    padding = [0] * (FEEDBACK_JSON_LIMITS.max_values - besides + 1)
    body = {"feedback": items, "pad": padding}
    assert values_of(body) == FEEDBACK_JSON_LIMITS.max_values + 1
    response = app.test_client().post(f"{URL}/feedback", data=orjson.dumps(body), content_type="application/json")
    assert "holds more than 20,000 JSON values" in refused_413(response)
    body["pad"] = padding[:-1]
    response = app.test_client().post(f"{URL}/feedback", data=orjson.dumps(body), content_type="application/json")
    assert response.status_code != 413  # within the limit: judged on what it says (here a 400 or 404 of its own)


# --- the request body: entries per Bundle and resources per call, once parsed --------------------------------


def largest_bundle(body: Any) -> tuple[str, int]:
    sizes = {key: len(value.get("entry", [])) for key, value in body["prefetch"].items() if isinstance(value, dict)}
    key = max(sizes, key=lambda k: sizes[k])
    return key, sizes[key]


def prefetch_resources(body: Any) -> int:
    values = [v for v in body["prefetch"].values() if v]
    return sum(len(v.get("entry", [])) if v.get("resourceType") == "Bundle" else 1 for v in values)


@pytest.mark.parametrize(("spare", "status"), [(0, 200), (-1, 413)], ids=["just-inside", "just-outside"])
def test_prefetch_bundle_entries(spare: int, status: int) -> None:
    key, entries = largest_bundle(GOLDEN)
    assert entries > 1
    response = post(make_app(MAX_BUNDLE_ENTRIES=entries + spare).test_client(), GOLDEN)
    assert response.status_code == status
    if status == 413:
        text = refused_413(response, expression=f"prefetch.{key}")
        assert text.startswith(f"prefetch.{key} holds {entries} Bundle entries; at most {entries - 1} are read")


@pytest.mark.parametrize(("spare", "status"), [(0, 200), (-1, 413)], ids=["just-inside", "just-outside"])
def test_prefetch_resources_per_call(spare: int, status: int) -> None:
    total = prefetch_resources(GOLDEN)
    response = post(make_app(MAX_CALL_RESOURCES=total + spare).test_client(), GOLDEN)
    assert response.status_code == status
    if status == 413:
        assert refused_413(response, expression="prefetch").startswith(f"The prefetch holds {total} resources")


def test_a_body_small_in_bytes_but_rich_in_values_takes_the_large_call_slot() -> None:
    """1 MiB is large; so is a body over 1 MiB / 20 values (real FHIR averages 23 bytes a value)."""
    app = make_app(LARGE_REQUEST_BYTES=1_000_000, LATENCY_BUDGET_MS=200)
    gate = runtime_of(app).large_requests
    rich = {**GOLDEN, "extension": {"unread": [0] * 50_001}}
    assert len(orjson.dumps(rich)) < 1_000_000 and values_of(rich) > 50_000
    held = gate.admit(LARGE, Deadline.starting_now(1))
    try:
        assert post(app.test_client(), GOLDEN).status_code == 200  # small in both: never waits
        busy = post(app.test_client(), rich)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    finally:
        held.release()
    assert post(app.test_client(), rich).status_code == 200
    gate.admit(LARGE, Deadline.starting_now(0.1)).release()  # given back after the call


# --- the fallback fetch: the same limits, a named unavailable key ---------------------------------------------


def serve(observations: bytes) -> list[bytes]:
    """The FHIR server: ``observations`` (raw JSON) for Observation searches, the golden prefetch otherwise.

    Returns the list of the answers sent, as they are sent.
    """
    types = {template.split("?")[0].split("/")[0]: key for key, template in PREFETCH.items()}
    sent: list[bytes] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        kind = str(request.url).removeprefix(FHIR).strip("/").split("/")[0].split("?")[0]
        body = observations if kind == "Observation" else orjson.dumps(GOLDEN["prefetch"][types[kind]])
        sent.append(body)
        return 200, {"Content-Type": "application/fhir+json"}, body

    responses.add_callback(responses.GET, re.compile(re.escape(FHIR) + r"/.*"), callback=answer)
    return sent


def searchset(entries: list[Any]) -> bytes:
    return orjson.dumps({"resourceType": "Bundle", "type": "searchset", "entry": entries})


OBSERVATIONS = GOLDEN["prefetch"]["observations"]["entry"]


@pytest.mark.parametrize(("spare", "status"), [(0, 200), (-1, 412)], ids=["just-inside", "just-outside"])
@responses.activate
def test_fetched_search_entries(spare: int, status: int) -> None:
    serve(searchset(OBSERVATIONS))
    app = fallback_app(MAX_BUNDLE_ENTRIES=len(OBSERVATIONS) + spare)
    response = post(app.test_client(), request_body(drop=("observations",)))
    assert response.status_code == status
    if status == 412:
        assert f"more than {len(OBSERVATIONS) - 1} entries" in unavailable_412(response, "observations")


@pytest.mark.parametrize(("spare", "status"), [(0, 200), (-1, 412)], ids=["just-inside", "just-outside"])
@responses.activate
def test_fetched_resources_count_with_the_prefetch(spare: int, status: int) -> None:
    serve(searchset(OBSERVATIONS))
    body = request_body(drop=("observations",))
    total = prefetch_resources(body) + len(OBSERVATIONS)
    response = post(fallback_app(MAX_CALL_RESOURCES=total + spare).test_client(), body)
    assert response.status_code == status
    if status == 412:
        assert f"past {total - 1} resources" in unavailable_412(response, "observations")


@pytest.mark.parametrize(("spare", "refused"), [(0, False), (-1, True)], ids=["just-inside", "just-outside"])
@responses.activate
def test_fetched_json_values(spare: int, refused: bool) -> None:
    """Every key is fetched here: the call's answers together are counted against CDS_MAX_JSON_VALUES.

    The answer that passes the limit is unavailable: a 412 when its key is required, else named on the card (the
    answers arrive concurrently, so which key it is varies).
    """
    sent = serve(searchset(OBSERVATIONS))
    body = request_body()
    assert post(fallback_app().test_client(), body).status_code == 200
    limit = sum(measure(answer, WIDE).values for answer in sent) + spare
    assert values_of(body) < limit  # the body itself is within the limit
    response = post(fallback_app(MAX_JSON_VALUES=limit).test_client(), body)
    named = f"hold more than {limit:,} JSON values" in response.get_data(as_text=True)
    assert (response.status_code, named) == ((200, False) if not refused else (response.status_code, True))
    assert response.status_code in (200, 412)


@responses.activate
def test_a_deep_answer_is_unavailable() -> None:
    serve(searchset([*OBSERVATIONS, {"resource": {"resourceType": "Basic", "extension": nested(70)}}]))
    response = post(fallback_app().test_client(), request_body(drop=("observations",)))
    assert "nests deeper than 64 levels" in unavailable_412(response, "observations")


@responses.activate
def test_a_seven_mb_page_of_empty_objects_is_never_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's fallback shape: one 7.5 MB page of 2.5 million ``{}`` entries (it took a worker to 1.1 GB)."""
    page = searchset([]).replace(b'"entry":[]', b'"entry":[' + b",".join([b"{}"] * 2_500_000) + b"]")
    assert len(page) > 7_500_000
    serve(page)
    parsed: list[int] = []
    real_loads = json.loads
    monkeypatch.setattr(fhir_client.json, "loads", lambda raw: parsed.append(len(raw)) or real_loads(raw))
    response = post(fallback_app().test_client(), request_body(drop=("observations",)))
    assert "hold more than 400,000 JSON values" in unavailable_412(response, "observations")
    assert max(parsed, default=0) < 1_000_000  # the other keys' answers only


@responses.activate
def test_large_answers_are_read_only_under_the_large_call_slot() -> None:
    """A call with a small body whose answers pass the threshold waits for the slot; none in the budget: busy."""
    serve(searchset(OBSERVATIONS))
    body = request_body()  # nothing prefetched: everything is fetched
    threshold = len(orjson.dumps(body)) + 100  # the body is small; the answers together pass it
    assert len(orjson.dumps(GOLDEN["prefetch"])) > threshold
    app = fallback_app(LARGE_REQUEST_BYTES=threshold, FHIR_BUDGET_SECONDS=0.3)
    gate = runtime_of(app).large_requests
    held = gate.admit(LARGE, Deadline.starting_now(1))
    try:
        response = post(app.test_client(), body)
        assert "another large call" in unavailable_412(response, "prefetch")
    finally:
        held.release()
    assert post(app.test_client(), body).status_code == 200  # with the slot free, answered
    gate.admit(LARGE, Deadline.starting_now(0.1)).release()  # and the slot was given back when the call ended
