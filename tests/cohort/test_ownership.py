"""Another server's ``Patient/x`` is not this export's ``Patient/x`` (issue 29 §3).

Before: ``patient_of`` read ``https://other.example/fhir/Patient/x`` as ``x`` and merged that resource into the local
patient ``x``'s record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from cohort.export import MANIFEST, ExportError, open_export
from cohort.ownership import FOREIGN, Foreign, base_of_request, patient_of, server_base

BASE = "https://ehr.example/fhir"


def observation(reference: Any, key: str = "subject") -> dict[str, Any]:
    return {"resourceType": "Observation", "id": "o1", key: {"reference": reference}}


@pytest.mark.parametrize(
    ("reference", "without_base", "with_base"),
    [
        ("Patient/x", "x", "x"),
        ("Patient/x/_history/2", "x", "x"),
        (f"{BASE}/Patient/x", FOREIGN, "x"),
        (f"{BASE}/Patient/x/_history/3", FOREIGN, "x"),
        ("HTTPS://EHR.example:443/fhir/Patient/x", FOREIGN, "x"),  # the same server, written otherwise
        (f"{BASE}/Patient/x?_format=json", FOREIGN, "x"),
        ("//ehr.example/fhir/Patient/x", FOREIGN, "x"),  # network-path: the base's scheme
        ("https://other.example/fhir/Patient/x", FOREIGN, FOREIGN),
        ("https://ehr.example/other/Patient/x", FOREIGN, FOREIGN),  # same host, another base
        ("https://ehr.example/fhir/r4/Patient/x", FOREIGN, FOREIGN),
        ("https://ehr.example:8443/fhir/Patient/x", FOREIGN, FOREIGN),
        ("http://ehr.example/fhir/Patient/x", FOREIGN, FOREIGN),  # another scheme is another origin
        ("ftp://ehr.example/fhir/Patient/x", FOREIGN, FOREIGN),
        ("https://[broken/fhir/Patient/x", FOREIGN, FOREIGN),
        ("urn:uuid:0f8e3a7c-1d2b-4c5e-9f00-123456789abc", None, None),  # unresolvable in NDJSON: no patient
        ("#p1", None, None),
        ("Group/g1", None, None),
        (f"{BASE}/Group/g1", None, None),
        ("Patient?identifier=1", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_which_references_name_this_exports_patient(reference: Any, without_base: Any, with_base: Any) -> None:
    assert patient_of(observation(reference)) == without_base
    assert patient_of(observation(reference), base=BASE) == with_base
    assert patient_of(observation(reference, key="patient"), base=BASE) == with_base


def test_a_patient_is_its_own_and_subject_comes_before_patient() -> None:
    assert patient_of({"resourceType": "Patient", "id": "x"}) == "x"
    assert patient_of({"resourceType": "Patient", "id": ""}) is None
    assert patient_of({"resourceType": "Patient", "id": 7}) is None
    both = {
        "resourceType": "Observation",
        "subject": {"reference": "https://other.example/fhir/Patient/x"},
        "patient": {"reference": "Patient/x"},
    }
    assert patient_of(both) is FOREIGN and isinstance(FOREIGN, Foreign)


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://ehr.example/fhir", BASE),
        ("https://ehr.example/fhir/", BASE),
        ("HTTPS://EHR.EXAMPLE:443/fhir", BASE),
        ("https://ehr.example:8443/fhir", "https://ehr.example:8443/fhir"),
        ("http://ehr.example:80/", "http://ehr.example"),
        ("https://ehr.example/FHIR", "https://ehr.example/FHIR"),  # paths are case-sensitive
        ("ehr.example/fhir", None),
        ("ftp://ehr.example/fhir", None),
        ("https:///fhir", None),
        ("https://ehr.example:99999/fhir", None),
        ("", None),
    ],
)
def test_server_base(url: str, base: str | None) -> None:
    assert server_base(url) == base


@pytest.mark.parametrize(
    ("request_url", "base"),
    [
        (f"{BASE}/$export", BASE),
        (f"{BASE}/$export?_type=Patient,Observation", BASE),
        (f"{BASE}/Patient/$export", BASE),
        (f"{BASE}/Group/g-1/$export?_since=2026-01-01T00:00:00Z", BASE),
        ("https://ehr.example/$export", "https://ehr.example"),
        (f"{BASE}/Patient", None),
        ("not a url/$export", None),
        ("", None),
    ],
)
def test_base_of_request(request_url: str, base: str | None) -> None:
    assert base_of_request(request_url) == base


def manifest(directory: Path, body: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST).write_bytes(body if isinstance(body, bytes) else orjson.dumps(body))
    return directory


def test_the_export_base_comes_from_the_option_else_the_manifest_else_none(tmp_path: Path) -> None:
    complete = {"transactionTime": "2026-11-20T00:00:00Z", "request": f"{BASE}/Group/g1/$export", "output": []}
    export = open_export(manifest(tmp_path / "a", complete))
    assert (export.base, export.base_from) == (BASE, MANIFEST)
    given = open_export(tmp_path / "a", fhir_base="https://ehr.example:443/fhir/")
    assert (given.base, given.base_from) == (BASE, "--fhir-base")  # the option wins
    none = open_export(tmp_path / "none")
    assert none.base is None and "unknown" in none.describe_base()


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", {"output": []}, {"request": 7}, {"request": "https://ehr.example/fhir/Patient"}],
)
def test_a_manifest_that_is_not_one_is_refused(tmp_path: Path, body: Any) -> None:
    with pytest.raises(ExportError, match=MANIFEST):
        open_export(manifest(tmp_path, body))


@pytest.mark.parametrize(
    ("options", "error"), [({"max_line_bytes": 0}, "--max-line-bytes"), ({"fhir_base": "x"}, "--fhir-base")]
)
def test_bad_options_are_refused(tmp_path: Path, options: dict[str, Any], error: str) -> None:
    with pytest.raises(ExportError, match=error):
        open_export(tmp_path, **options)
