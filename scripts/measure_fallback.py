"""Time added by the FHIR server fallback: the same hook call with full prefetch (baseline) and with none.

Runs in one process: the service (Flask test client, auth off, SQLite audit) and the local FHIR test server
(``tests/fhir_server.py``, loaded with the fixture patients, 5 resources per page). Usage:

    .venv/bin/python scripts/measure_fallback.py [--calls 200] [--case pop2-on-igrt-short-course-continue]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cds_service.http.app import create_app  # noqa: E402
from commands.upload import DEFAULT_FIXTURES, upload_fixtures  # noqa: E402
from tests.cases import CASES, Case, case_dir  # noqa: E402


def main() -> None:
    """Print median and p95 latency per variant, and the ratio to the full-prefetch baseline."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--case", default="pop2-on-igrt-short-course-continue")
    args = parser.parse_args()
    case = next(c for c in CASES if c.name == args.case)
    request = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "tests.fhir_server", str(port), "t"], cwd=ROOT)
    fhir = f"http://127.0.0.1:{port}/fhir"
    try:
        _wait_for(fhir)
        upload_fixtures(fhir, DEFAULT_FIXTURES, token="t")
        timings, failures = _measure(fhir, case, request, args.calls)
    finally:
        server.terminate()
        server.wait(timeout=10)
    baseline = statistics.median(timings["full prefetch (baseline)"])
    print(f"case {case.name}, {args.calls} calls each, FHIR server in its own process, pages of 5 resources")
    for name, values in timings.items():
        p95 = statistics.quantiles(values, n=20)[18]
        median = statistics.median(values)
        print(
            f"{name:30} median {median:6.1f} ms  p95 {p95:6.1f} ms  ratio {median / baseline:4.2f}x  "
            f"non-200: {failures[name]}"
        )


def _measure(fhir: str, case: Case, request: dict[str, Any], calls: int) -> tuple[dict[str, list[float]], Counter[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "AUTH": "off",
                "FIXED_DATE": "2026-11-20",
                "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                "AUDIT_HMAC_KEY": "x" * 32,
                "FHIR_SERVER_ALLOWLIST": [fhir],
                "FHIR_ALLOW_HTTP": True,
            }
        )
        client = app.test_client()
        url = f"/cds-services/{case.service}"
        no_prefetch = {k: v for k, v in request.items() if k != "prefetch"}
        no_prefetch |= {"fhirServer": fhir, "fhirAuthorization": {"access_token": "t", "token_type": "Bearer"}}
        variants = {"full prefetch (baseline)": request, "no prefetch (8 keys fetched)": no_prefetch}
        timings: dict[str, list[float]] = {name: [] for name in variants}
        failures: Counter[str] = Counter()
        for _ in range(calls):
            for name, body in variants.items():  # interleaved, so drift affects both alike
                started = time.perf_counter()
                response = client.post(url, json=body)
                timings[name].append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    failures[name] += 1
        return timings, failures


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(fhir: str) -> None:
    for _ in range(100):
        try:
            requests.get(f"{fhir}/metadata", headers={"Authorization": "Bearer t"}, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("the FHIR test server did not start")


if __name__ == "__main__":
    main()
