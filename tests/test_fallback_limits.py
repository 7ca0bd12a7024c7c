"""The fallback fetch's limits against real HTTP servers on loopback (issue 16, "FHIR fallback that holds").

The service runs in-process (its real ``requests`` client, sockets and watchdog); the FHIR side is a real HTTP
server thread: one that answers fast (the local FHIR test server with the golden patient), one that drips its answer
a byte every 50 ms, one that falls silent after the headers, and one whose answers are large. Every limit gives a
defined answer in time: the data that could not be read is named (a 412 for required keys), never a late card.
"""

from __future__ import annotations

import copy
import json
import select
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.cases import CASES, case_dir
from tests.conftest import make_app
from tests.fhir_server import FhirStore, running_fhir_server, serving

pytestmark = pytest.mark.e2e
CASE = next(c for c in CASES if c.name == "pop2-window-igg-below-4-start")
GOLDEN = json.loads((case_dir(CASE) / "request.json").read_text(encoding="utf-8"))
URL = f"/cds-services/{CASE.service}"
LATENCY_BUDGET_MS = 400
FHIR_BUDGET = 1.0


class Behaviour:
    """What the stand-in FHIR server does, and what it saw."""

    def __init__(self) -> None:
        self.mode = "drip"
        self.body_bytes = 0
        self.bytes_sent = 0
        self.closed_after: list[float] = []


def _handler(behaviour: Behaviour) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            started = time.monotonic()
            if behaviour.mode == "large":
                entry = {"resource": {"resourceType": "Observation", "id": "x", "status": "final", "note": []}}
                padding = " " * behaviour.body_bytes
                body = json.dumps({"resourceType": "Bundle", "entry": [entry]}).encode()[:-1] + padding.encode() + b"}"
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    behaviour.closed_after.append(time.monotonic() - started)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.flush()
            try:
                for _ in range(100000):
                    if behaviour.mode == "drip":
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        behaviour.bytes_sent += 1
                    readable, _, _ = select.select([self.connection], [], [], 0.05)
                    if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                        raise ConnectionResetError  # the client closed: end of stream
            except OSError:  # the client closed the connection
                behaviour.closed_after.append(time.monotonic() - started)

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Behaviour]]:
    behaviour = Behaviour()
    with serving(_handler(behaviour)) as base:
        yield f"{base}/fhir", behaviour


def _post(fhir: str, drop: tuple[str, ...], **config: Any) -> tuple[Any, float]:
    app = make_app(
        FHIR_SERVER_ALLOWLIST=[fhir],
        FHIR_ALLOW_HTTP=True,
        LATENCY_BUDGET_MS=LATENCY_BUDGET_MS,
        FHIR_BUDGET_SECONDS=FHIR_BUDGET,
        **config,
    )
    body = copy.deepcopy(GOLDEN)
    for key in drop:
        body["prefetch"].pop(key)
    body["fhirServer"] = fhir
    body["fhirAuthorization"] = {"access_token": "t", "token_type": "Bearer", "expires_in": 300, "scope": "x"}
    started = time.monotonic()
    response = app.test_client().post(URL, json=body)
    return response, time.monotonic() - started


def _text(response: Any) -> str:
    return str(response.get_json()["issue"][0]["details"]["text"])


@pytest.mark.parametrize("mode", ["drip", "silent"])
def test_a_server_that_drips_or_falls_silent_is_cut_at_the_fetch_budget(
    server: tuple[str, Behaviour], mode: str
) -> None:
    fhir, behaviour = server
    behaviour.mode = mode
    response, took = _post(fhir, drop=("observations",))
    assert response.status_code == 412
    assert "observations" in _text(response) and "within the fetch budget" in _text(response)
    # The service's own budget plus the EHR allowance, not the drip's 5,000 s nor a read timeout per byte.
    assert took < LATENCY_BUDGET_MS / 1000 + FHIR_BUDGET + 0.5, took
    time.sleep(0.3)
    assert behaviour.closed_after and behaviour.closed_after[0] < FHIR_BUDGET + 0.5  # the connection was closed
    if mode == "drip":
        assert behaviour.bytes_sent < 40


def test_one_answer_larger_than_its_limit_is_refused_and_named(server: tuple[str, Behaviour]) -> None:
    fhir, behaviour = server
    behaviour.mode, behaviour.body_bytes = "large", 3 * 1024 * 1024
    response, _ = _post(fhir, drop=("observations",), FHIR_MAX_RESPONSE_BYTES=1024 * 1024)
    assert response.status_code == 412
    assert "larger than 1048576 bytes" in _text(response)


def test_the_answers_of_one_call_together_are_capped(server: tuple[str, Behaviour]) -> None:
    fhir, behaviour = server
    behaviour.mode, behaviour.body_bytes = "large", 700 * 1024  # each answer passes alone, three together do not
    dropped = ("observations", "conditions", "medicationAdministrations")
    response, _ = _post(fhir, drop=dropped, FHIR_MAX_CALL_BYTES=1024 * 1024)
    assert response.status_code == 412
    assert "answers to this call exceed 1048576 bytes" in _text(response)


def test_a_real_fhir_server_that_answers_in_time_still_gives_the_card() -> None:
    store = FhirStore(page_size=2)
    patient_id = GOLDEN["context"]["patientId"]
    for value in GOLDEN["prefetch"].values():
        resources = (
            [e["resource"] for e in value.get("entry", [])] if value.get("resourceType") == "Bundle" else [value]
        )
        for resource in resources:
            store.resources[f"{resource['resourceType']}/{resource['id']}"] = resource
    store.delay = 0.15  # a search on a production EHR: hundreds of milliseconds (here 150 ms per request)
    with running_fhir_server(store) as fhir:
        response, took = _post(fhir, drop=tuple(GOLDEN["prefetch"]))
    assert response.status_code == 200, response.get_json()
    card = response.get_json()["cards"][0]["extension"]["sid-igrt"]
    assert (card["rule"], card["recommendation"]) == ("start-pop2-window", "start")
    assert took > 0.3  # pages were fetched one after another: more than the service's own 400 ms would allow alone
    assert any(patient_id in path for path in store.requests)
