"""Code-valued elements of the wrong JSON type (a list or an object where FHIR has a code string).

Membership tests on such values raised ``TypeError: unhashable type`` and answered 500 (found by the summarize
property test). Now a relevant resource with such a value is a data issue named on the card, a value that only
decides whether to read a resource makes it unread, and no call answers 5xx.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests import factories as f
from tests.cds_service.test_serving import golden_request
from tests.fhir_mappers.test_mappers import mapped

WRONG = [["final"], {"code": "final"}]


STATUS_CASES = {
    "lab": (lambda: f.lab("p1", "o1", "igg", 3.0, "2026-06-01"), "labs", "Observation/o1", "Observation.status"),
    "administration": (
        lambda: f.administration("p1", "a1", "J06BA01", "Hizentra", "2026-06-01"),
        "igrt",
        "MedicationAdministration/a1",
        "status",
    ),
    "admission": (
        lambda: f.admission("p1", "e1", "2026-06-01", "2026-06-05"),
        "admissions",
        "Encounter/e1",
        "Encounter.status",
    ),
}


@pytest.mark.parametrize("wrong", WRONG, ids=["list", "object"])
@pytest.mark.parametrize("case", STATUS_CASES)
def test_a_relevant_resource_with_a_status_that_is_not_a_code_is_a_data_issue(case: str, wrong: Any) -> None:
    build, part, ref, named = STATUS_CASES[case]
    record = mapped({**build(), "status": wrong})
    assert getattr(record, part) == ()
    (issue,) = record.data_issues
    assert issue.ref == ref and named in issue.reason.english()


def test_a_comparator_that_is_not_a_code_is_a_data_issue() -> None:
    igg = f.lab("p1", "o1", "igg", 3.0, "2026-06-01")
    igg["valueQuantity"]["comparator"] = ["<"]
    (issue,) = mapped(igg).data_issues
    assert "comparator" in issue.reason.english()


@pytest.mark.parametrize("wrong", WRONG, ids=["list", "object"])
def test_a_resource_whose_resource_type_is_not_a_string_is_not_read(wrong: Any) -> None:
    igg = {**f.lab("p1", "o1", "igg", 3.0, "2026-06-01"), "resourceType": wrong}
    record = mapped(igg)
    assert (record.labs, record.data_issues) == ((), ())


def _code_values(value: Any, path: str = "") -> Iterator[str]:
    """Paths (JSON pointers) of every code-like string element of the request."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}/{key}"
            if key in ("status", "resourceType", "comparator", "periodUnit", "intent") and isinstance(item, str):
                yield here
            yield from _code_values(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _code_values(item, f"{path}/{i}")


def _replaced(document: Any, pointer: str, new: Any) -> Any:
    changed = copy.deepcopy(document)
    *parents, last = pointer.strip("/").split("/")
    target = changed
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[last] = new
    return changed


@pytest.mark.parametrize(
    "name",
    ["pop2-window-igg-below-4-start", "trough-below-6-severe-infection", "pop2-after-window-severe-infection-start"],
)
def test_no_code_element_of_a_wrong_type_gives_a_5xx(client: FlaskClient, name: str) -> None:
    url, request = golden_request(name)
    pointers = list(_code_values(request))
    assert len(pointers) > 20
    for pointer in pointers:
        for wrong in WRONG:
            response = client.post(
                url, data=json.dumps(_replaced(request, pointer, wrong)), content_type="application/json"
            )
            assert response.status_code < 500, f"{pointer} = {wrong!r}: {response.status_code}"
