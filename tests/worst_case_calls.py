"""The costliest hook calls one instance can be sent at once, and the memory they cost it (issue 29, item 1).

Shapes (built here, sent by ``tests/test_call_memory.py``), each for the ``order-select`` golden case:

* **prefetch-heavy, the issue's**: a 10 MiB body whose observations Bundle holds 3.5 million ``{}`` entries;
* **fallback-heavy, the issue's**: a body without the observations, fetched from a FHIR server answering one
  7.5 MB page of 2.5 million ``{}`` entries;
* **prefetch-heavy, admitted**: the costliest body the limits let through: just under ``CDS_MAX_JSON_VALUES`` of
  small objects with a string each (the shape that costs the most memory per value), about 10 MiB;
* **prefetch-heavy, real**: a synthetic patient just inside every limit (about 22,000 resources, 8.7 MB),
  evaluated to its end (the mapping's facts too);
* **fallback-heavy, admitted**: a small body whose observations and medication administrations are fetched: two
  pages of that real patient's resources just inside ``CDS_MAX_JSON_VALUES`` and ``CDS_MAX_CALL_RESOURCES``.

``instance_peak`` samples the resident memory of the server's processes (gunicorn's master and its workers) every
10 ms while calls run.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import orjson
import psutil

from tests.cases import CASES, case_dir
from tests.fhir_server import serving

MIB = 1024 * 1024
CASE = next(c for c in CASES if c.name == "pop2-window-igg-below-4-start")
URL = f"/cds-services/{CASE.service}"
GOLDEN: dict[str, Any] = json.loads((case_dir(CASE) / "request.json").read_text(encoding="utf-8"))
AUTHORIZATION = {"access_token": "t", "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read"}


def _bundle(entries: bytes) -> bytes:
    return b'{"resourceType":"Bundle","type":"searchset","entry":[' + entries + b"]}"


def empty_objects(count: int) -> bytes:
    """A searchset Bundle of ``count`` ``{}`` entries (3 bytes each)."""
    return _bundle(b",".join([b"{}"] * count))


def issue_prefetch_body() -> bytes:
    """The golden request with 3.5 million ``{}`` observation entries: 10 MiB, the byte limit."""
    head = orjson.dumps({**GOLDEN, "prefetch": {**GOLDEN["prefetch"], "observations": {"x": 0}}})
    room = 10 * MIB - len(head)
    return head.replace(b'{"x":0}', empty_objects((room - 60) // 3))


def fallback_body(fhir: str, *fetched: str) -> bytes:
    """The golden request without the prefetch keys ``fetched``, with ``fhirServer`` and its token."""
    body = copy.deepcopy(GOLDEN)
    for key in fetched:
        body["prefetch"].pop(key)
    return orjson.dumps({**body, "fhirServer": fhir, "fhirAuthorization": AUTHORIZATION})


def admitted_prefetch_body(max_values: int = 400_000) -> bytes:
    """The golden request padded with ``{"s": "<40 characters>"}`` objects to just under ``max_values`` values.

    Two values each (the object and its string), about 50 bytes: the most memory per JSON value the limits admit
    in 10 MiB (measured: a string in an object costs ~120 bytes a value parsed, ``{}`` ~90, numbers ~60).
    """
    base = orjson.dumps({**GOLDEN, "extension": {"pad": []}})
    golden_values = base.count(b"{") + base.count(b"[") + base.count(b",") + 1
    count = (max_values - golden_values) // 2 - 1
    pad = b",".join(b'{"s":"%040d"}' % i for i in range(count))
    return base.replace(b'"pad":[]', b'"pad":[' + pad + b"]")


def real_resources(target: int) -> list[dict[str, Any]]:
    """The benchmark's synthetic patient (``bench.payloads``), grown to about ``target`` resources."""
    from bench.payloads import months_for, patient_resources

    return patient_resources(GOLDEN["context"]["patientId"], months_for(target))


def real_prefetch_body(target: int = 22_000) -> bytes:
    """The golden request whose prefetch holds the synthetic patient's ``target`` resources, by key."""
    body = copy.deepcopy(GOLDEN)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in real_resources(target):
        by_type.setdefault(resource["resourceType"], []).append({"resource": resource})
    keys = {
        "Observation": "observations",
        "Condition": "conditions",
        "MedicationAdministration": "medicationAdministrations",
        "MedicationRequest": "medicationRequests",
        "Encounter": "encounters",
    }
    for kind, entries in by_type.items():
        if kind in keys:
            body["prefetch"][keys[kind]] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    return orjson.dumps(body)


def real_answers(target: int = 22_000) -> dict[str, bytes]:
    """Observation and MedicationAdministration search pages of the synthetic patient (about ``target`` resources)."""
    found: dict[str, list[dict[str, Any]]] = {"Observation": [], "MedicationAdministration": []}
    for resource in real_resources(target):
        if resource["resourceType"] in found:
            found[resource["resourceType"]].append({"resource": resource})
    return {
        kind: orjson.dumps({"resourceType": "Bundle", "type": "searchset", "entry": e}) for kind, e in found.items()
    }


@dataclass
class StandIn:
    """What the stand-in FHIR server answers: raw JSON by resource type; the golden prefetch value otherwise."""

    answers: dict[str, bytes] = field(default_factory=dict)


def stand_in_handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    """An HTTP handler answering FHIR searches and reads from ``state`` (by the path's resource type)."""
    types = {"Patient": "patient", "Condition": "conditions", "Encounter": "encounters"}
    types |= {"MedicationRequest": "medicationRequests", "MedicationStatement": "medicationStatements"}
    types |= {"Procedure": "procedures", "Immunization": "immunizations", "Observation": "observations"}
    types |= {"MedicationAdministration": "medicationAdministrations"}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            kind = self.path.split("?")[0].removeprefix("/fhir/").split("/")[0]
            body = state.answers.get(kind)
            if body is None:
                body = orjson.dumps(GOLDEN["prefetch"].get(types.get(kind, ""), {"resourceType": "Bundle"}))
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                return  # the service stopped reading (a limit): fine

    return Handler


@contextmanager
def stand_in_fhir_server(state: StandIn) -> Iterator[str]:
    """Serve ``state`` on loopback; yields the FHIR base URL (``http://127.0.0.1:P/fhir``)."""
    with serving(stand_in_handler(state)) as base:
        yield f"{base}/fhir"


@dataclass(frozen=True)
class Peak:
    """The highest resident memory seen, MiB: the instance (all its processes together) and each process alone."""

    instance_mib: float
    processes_mib: Mapping[int, float]


def instance_peak(master_pid: int, during: Callable[[], Any], interval: float = 0.01) -> tuple[Peak, Any]:
    """Run ``during()`` while sampling the RSS of ``master_pid`` and its children; return the peak and its result."""
    master = psutil.Process(master_pid)
    done = threading.Event()
    peak_total = 0.0
    peaks: dict[int, float] = {}

    def sample() -> None:
        nonlocal peak_total
        while not done.is_set():
            total = 0.0
            for process in [master, *master.children()]:
                try:
                    rss = process.memory_info().rss / MIB
                except psutil.Error:
                    continue
                total += rss
                peaks[process.pid] = max(peaks.get(process.pid, 0.0), rss)
            peak_total = max(peak_total, total)
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = during()
        time.sleep(0.2)  # evaluations that ran on past their budget end
    finally:
        done.set()
        sampler.join(5)
    return Peak(peak_total, dict(peaks)), result
