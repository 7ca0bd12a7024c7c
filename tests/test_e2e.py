"""End to end: start the real server (``cds-service serve``, gunicorn, as ``make serve`` does) and call it over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest
import requests

from tests.cases import AS_OF, CASES, Case, case_dir

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "CDS_FIXED_DATE": AS_OF, "CDS_CORS_ORIGINS": "*"}
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cds_service.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/cds-services", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
        pytest.fail(f"server did not start: {output[-2000:]}")
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=10)
    log.close()


def test_discovery_over_http_with_cors(server: str) -> None:
    response = requests.get(f"{server}/cds-services", headers={"Origin": "http://localhost:8000"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "http://localhost:8000")
    assert len(response.json()["services"]) == 3
    preflight = requests.options(
        f"{server}/cds-services/sid-igrt-patient-view",
        headers={
            "Origin": "http://localhost:8000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=5,
    )
    assert preflight.status_code == 200 and "POST" in preflight.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("case", [c for c in CASES if c.as_of == AS_OF], ids=lambda c: c.name)
def test_golden_cases_over_http(server: str, case: Case) -> None:
    directory = case_dir(case)
    request = (directory / "request.json").read_bytes()
    expected = json.loads((directory / "expected.json").read_text(encoding="utf-8"))
    response = requests.post(
        f"{server}/cds-services/{case.service}", data=request, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert {"status": response.status_code, "body": response.json()} == expected


def test_bad_input_over_http_is_an_operation_outcome(server: str) -> None:
    response = requests.post(f"{server}/cds-services/sid-igrt-order-sign", data=b"{", timeout=5)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    assert response.json()["resourceType"] == "OperationOutcome"
