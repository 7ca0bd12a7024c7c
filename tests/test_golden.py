"""Golden request -> response files, one per decision-table row (fixtures/golden/<service>/<case>/)."""

from __future__ import annotations

import json

import pytest

from tests.cases import CASES, Case, case_dir, dump
from tests.conftest import EVIDENCE_APP, make_app


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.service}/{c.name}")
def test_fixture_request_is_current(case: Case) -> None:
    """The committed request.json is what tests/cases.py builds (run `python -m tests.cases` after edits)."""
    assert (case_dir(case) / "request.json").read_text(encoding="utf-8") == dump(case.build())


GOLDEN_APP = {**EVIDENCE_APP, "FHIR_SERVER_ALLOWLIST": "https://ehr.example.dk/fhir"}
"""The evidence page enabled as a hospital would run it, so the golden cards carry its SMART link (the allowlist
names a server no golden request uses: the fallback behaviour of the cases is unchanged)."""


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.service}/{c.name}")
def test_golden_response(case: Case, update_golden: bool) -> None:
    directory = case_dir(case)
    request = json.loads((directory / "request.json").read_text(encoding="utf-8"))
    client = make_app(FIXED_DATE=case.as_of, **GOLDEN_APP).test_client()
    response = client.post(f"/cds-services/{case.service}", json=request)
    actual = {"status": response.status_code, "body": response.get_json()}
    expected_path = directory / "expected.json"
    if update_golden:
        expected_path.write_text(dump(actual), encoding="utf-8")
    assert actual == json.loads(expected_path.read_text(encoding="utf-8"))
