"""Fuzzing the live server with schemathesis from its own /openapi.json: no 5xx, every 4xx an OperationOutcome.

The service runs under gunicorn (``cds-service serve``) with authentication off and SQLite audit. schemathesis
generates valid and invalid requests for every operation of the document (bounded by ``EXAMPLES`` per operation so
CI stays within minutes) and applies all of its response checks: no server error, documented status code,
documented content type and headers, response body valid against the documented schema. ``tests/conformance.py``
also checks every response against CDS Hooks 2.0.1 and healthchain (through ``requests``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cds_service.wire.openapi import openapi_document
from tests import live_server
from tests.conftest import REPORT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES = int(os.environ.get("CDS_FUZZ_EXAMPLES", "150"))
"""Hypothesis examples per operation (14 operations)."""

FUZZED: Counter[int] = Counter()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live_server.LiveService]:
    directory = tmp_path_factory.mktemp("fuzz")
    env = {
        "DATABASE_URL": f"sqlite:///{directory / 'audit.sqlite3'}",
        "CDS_LATENCY_BUDGET_MS": "2000",
        # The evidence app on, so that its launch routes are fuzzed past "not enabled" (no iss is on the allowlist).
        "CDS_SMART_CLIENT_ID": "sid-igrt-evidence",
        "CDS_SMART_REDIRECT_URI": "https://cds.example.dk/evidence/callback",
        "CDS_FHIR_SERVER_ALLOWLIST": "https://ehr.example.dk/fhir",
    }
    with live_server.running_service(env, directory / "service.log") as service:
        yield service
    log = service.log_text()
    assert "Traceback" not in log and "unexpected error" not in log, log[-3000:]


# The document as the service builds it with CDS_AUTH=off; the live server must serve the same one
# (schemathesis' lazy fixture loader does not work with pytest 9, so the schema is loaded at import).
DOCUMENT = openapi_document(auth_required=False)
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_live_server_serves_this_document(live: live_server.LiveService) -> None:
    assert requests.get(f"{live.base}/openapi.json", timeout=5).json() == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_no_5xx_and_every_answer_as_documented(case: schemathesis.Case, live: live_server.LiveService) -> None:
    # positive_data_acceptance is left out: a schema-valid request may still be refused on what the schema does not
    # model (draftOrders that is not a Bundle, a malformed prefetch resource: 400; required prefetch absent: 412).
    response = case.call_and_validate(base_url=live.base, timeout=30, excluded_checks=[positive_data_acceptance])
    FUZZED[response.status_code] += 1
    assert response.status_code < 500
    # tests/conformance.py has already checked it against CDS Hooks 2.0.1 (schemathesis sends through requests)


def test_fuzz_report(live: live_server.LiveService) -> None:
    """Runs after the fuzzing (file order): the count of requests by status, for docs/reliability.md."""
    total = sum(FUZZED.values())
    REPORT.append(
        f"schemathesis: {total} requests ({EXAMPLES} examples per operation), by status {dict(sorted(FUZZED.items()))}"
    )
    assert total > 0 and all(status < 500 for status in FUZZED)
