"""Truth tables for the per-resource helpers made cheaper in issue 32 (behaviour must not change).

``medication_match`` picks the most relevant concept in one pass, and ``medication_read`` reads each concept once per
call; ``first_date`` reads dotted element names; ``read_value`` takes any ``Mapping`` as a Bundle entry, not only
``dict``.
"""

from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fhir_mappers.bundle import read_value
from fhir_mappers.codes import CodeRow, CodeTable
from fhir_mappers.context import MappingContext
from fhir_mappers.dates import first_date
from fhir_mappers.errors import InvalidElementError
from fhir_mappers.medication import _MEMO_LIMIT, medication_match, medication_read

TZ = ZoneInfo("Europe/Copenhagen")
SYSTEM = "urn:test"


def _row(concept: str, code: str) -> CodeRow:
    return CodeRow(concept=concept, system=SYSTEM, code=code, match="exact", display=code, status="", source="")


TABLE = CodeTable(
    [
        _row("antibiotic-systemic", "ab"),
        _row("igrt", "ig"),
        _row("igrt-scig", "scig"),
        _row("igrt-ivig", "ivig"),
        _row("ig-specific", "anti-d"),
        _row("car-t", "cart"),
        _row("route-sc", "sc"),
    ]
)
CTX = MappingContext(tz=TZ, codes=TABLE)


def _administration(*codes: str) -> dict[str, Any]:
    coding = [{"system": SYSTEM, "code": code} for code in codes]
    return {"resourceType": "MedicationAdministration", "medicationCodeableConcept": {"coding": coding}}


@pytest.mark.parametrize(
    ("codes", "concept", "matched"),
    [
        (("ab",), "antibiotic-systemic", "ab"),
        (("ab", "ig"), "igrt", "ig"),  # immunoglobulin ranks above an antibiotic, whatever the coding order
        (("ig", "ab"), "igrt", "ig"),
        (("ig", "ivig"), "igrt-ivig", "ivig"),  # the route-specific concept ranks above plain "igrt"
        (("ivig", "scig"), "igrt-scig", "scig"),  # SCIG is listed before IVIG
        (("scig", "cart"), "car-t", "cart"),
        (("scig", "scig"), "igrt-scig", "scig"),
        (("sc",), None, None),  # a concept the guideline does not read from a medication
        (("ig", "anti-d"), None, None),  # a specific immunoglobulin is never IgRT, anywhere in the concept
        (("anti-d", "ab"), None, None),
        ((), None, None),
    ],
)
def test_medication_match_picks_the_most_relevant_concept(
    codes: tuple[str, ...], concept: str | None, matched: str | None
) -> None:
    found = medication_match(_administration(*codes), CTX)
    assert (found.concept if found else None) == concept
    assert (found.matched if found else None) == (f"{SYSTEM}|{matched}" if matched else None)


def test_medication_match_takes_the_first_coding_on_a_tie() -> None:
    resource = _administration("scig")
    resource["medicationCodeableConcept"]["coding"].insert(0, {"system": SYSTEM, "code": "scig", "display": "first"})
    found = medication_match(resource, CTX)
    assert found is not None and found.concept == "igrt-scig"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"effectiveDateTime": "2026-03-01"}, (date(2026, 3, 1), "effectiveDateTime")),
        ({"effectivePeriod": {"start": "2026-03-01T23:30:00Z"}}, (date(2026, 3, 2), "effectivePeriod.start")),
        ({"effectivePeriod": {"end": "2026-03-01"}}, None),
        ({"effectivePeriod": "2026-03-01"}, None),  # not an object: the dotted name is absent
        (
            {"effectiveDateTime": None, "effectivePeriod": {"start": "2026-03-01"}},
            (date(2026, 3, 1), "effectivePeriod.start"),
        ),
        ({}, None),
    ],
)
def test_first_date_reads_dotted_names(resource: dict[str, Any], expected: tuple[date, str] | None) -> None:
    for _ in range(2):  # the second call reads the element names from the cache
        assert first_date(resource, ("effectiveDateTime", "effectivePeriod.start"), tz=TZ, type_name="X") == expected


def test_first_date_names_the_element_of_an_invalid_date() -> None:
    with pytest.raises(InvalidElementError) as raised:
        first_date({"effectivePeriod": {"start": "2026-02-30"}}, ("effectivePeriod.start",), tz=TZ, type_name="X")
    assert raised.value.path == "X.effectivePeriod.start"


def test_read_value_accepts_any_mapping_entry() -> None:
    patient = MappingProxyType({"resourceType": "Patient", "id": "p1"})
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            MappingProxyType({"fullUrl": "urn:uuid:1", "resource": patient}),
            {"resource": {"resourceType": "Observation", "id": "o1"}},
            {"resource": "not an object"},
            "not an entry",
        ],
    }
    result = read_value(bundle)
    assert [r["id"] for r in result.resources] == ["p1", "o1"]
    assert result.full_urls == {"urn:uuid:1": "Patient/p1"}


def test_medication_read_remembers_each_concept_once_per_context() -> None:
    """``medication_read`` gives the match and name of every resource naming a concept, reading the concept once."""
    ctx = MappingContext(tz=TZ, codes=TABLE)
    first, second = _administration("ivig"), _administration("ivig")
    second["medicationCodeableConcept"]["text"] = "Privigen"  # another concept: read on its own
    assert medication_read(first, ctx) == (medication_match(first, CTX), "ivig")
    assert medication_read(_administration("ivig"), ctx) == medication_read(first, ctx)
    assert medication_read(second, ctx) == (medication_match(second, CTX), "Privigen")
    assert len(ctx.medications_read) == 2


def test_medication_read_of_a_concept_that_is_not_json_is_not_remembered() -> None:
    ctx = MappingContext(tz=TZ, codes=TABLE)
    resource = _administration("ab")
    resource["medicationCodeableConcept"]["extension"] = {1, 2}  # a set: not JSON (never from a parsed request)
    found, name = medication_read(resource, ctx)
    assert found is not None and found.concept == "antibiotic-systemic" and name == "ab"
    assert ctx.medications_read == {}


def test_medication_read_stays_bounded_for_a_context_reused_across_patients() -> None:
    ctx = MappingContext(tz=TZ, codes=TABLE)
    for i in range(_MEMO_LIMIT + 10):
        statement = {"resourceType": "MedicationStatement", "medicationCodeableConcept": {"text": f"drug {i}"}}
        medication_read(statement, ctx)
    assert 0 < len(ctx.medications_read) <= _MEMO_LIMIT
