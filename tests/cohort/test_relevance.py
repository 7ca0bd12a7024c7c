"""What a line's bytes tell before parsing (``cohort.relevance``): by file name, by type, the Observation pre-filter.

The property: for any generated resource line, if the bytes say skip, adding that line to a patient's record leaves
the mapped record (``fhir_mappers.summarize``) unchanged, however the line is written (compact, spaced, ASCII-only
with ``\\u`` escapes).
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, assume, example, find, given, settings
from hypothesis import strategies as st

from cohort.ownership import patient_of
from cohort.relevance import (
    CODED_TYPES,
    ENCOUNTER_CLASSES,
    READ_TYPES,
    SKIP_PREFILTER,
    SKIP_TYPE,
    Engine,
    _hyperscan_database,
    block_to_judge,
    classify_bytes,
    decide_bytes,
    encounter_may_matter,
    file_type,
    observation_may_matter,
    observation_needles,
    sniff_types,
)
from fhir_mappers import MappingContext, code_table, summarize
from fhir_mappers.codes import SYSTEM_ALIASES
from fhir_mappers.summarize import MAPPERS
from tests.fhir_strategies import PATIENT_ID, resource

TZ = ZoneInfo("Europe/Copenhagen")


def test_the_types_read_are_the_mappers_types_and_patient_and_medication() -> None:
    assert frozenset({*MAPPERS, "Patient", "Medication"}) == READ_TYPES
    assert "Claim" not in READ_TYPES and "DocumentReference" not in READ_TYPES


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Observation.ndjson", "Observation"),
        ("Observation_2.ndjson", "Observation"),
        ("Observation.000.ndjson", "Observation"),
        ("Observation-1.ndjson.gz", "Observation"),
        ("ExplanationOfBenefit.ndjson.gz", "ExplanationOfBenefit"),
        ("log.ndjson", None),
        ("export.ndjson", None),
        ("Observation.json", None),
        ("Observation_a.ndjson", None),
        ("1.ndjson", None),
    ],
)
def test_a_files_type_is_told_by_its_name(name: str, kind: str | None) -> None:
    assert file_type(name) == kind


@pytest.mark.parametrize(
    ("raw", "types"),
    [
        (b'{"resourceType":"Claim","id":"1"}', {"Claim"}),
        (b'{"id":"1", "resourceType" :\t"Claim"}', {"Claim"}),
        (b'{"resourceType":"MedicationRequest","contained":[{"resourceType":"Medication"}]}', None),
        (b'{"contained":[{"resourceType":"Medication"}],"resourceType":"Claim"}', {"Medication", "Claim"}),
        (b'{"resourceType":"Cl\\u0061im"}', None),  # an escape: parse
        (b'{"resource\\u0054ype":"Claim"}', None),
        (b'{"resourceType":"Claim","note":"\\"resourceType\\":\\"x\\""}', {"Claim"}),  # in a string: not a key
        (b'{"id":"x"}', None),
        (b'{"resourceType":42}', None),
    ],
)
def test_the_types_a_line_carries(raw: bytes, types: set[str] | None) -> None:
    found = sniff_types(raw)
    if raw.startswith(b'{"resourceType":"MedicationRequest","contained"'):
        assert found == {"MedicationRequest", "Medication"}
    else:
        assert found == (None if types is None else frozenset(types))


def _observation(code: str, **extra: Any) -> bytes:
    return orjson.dumps(
        {"resourceType": "Observation", "code": {"coding": [{"system": "http://loinc.org", "code": code}]}, **extra}
    )


def _encounter(code: str, **extra: Any) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Encounter",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code},
            **extra,
        }
    )


_SNOMED, _SKS, _SKS_D, _ICD10, _CVX = (
    "http://snomed.info/sct",
    "urn:oid:1.2.208.176.2.4",
    "urn:oid:1.2.208.176.2.4.12",
    "http://hl7.org/fhir/sid/icd-10",
    "http://hl7.org/fhir/sid/cvx",
)


def _coded(kind: str, element: str, system: str, code: str, *, text: str | None = None, **extra: Any) -> bytes:
    concept: dict[str, Any] = {"coding": [{"system": system, "code": code, "display": "x"}]}
    if text is not None:
        concept["text"] = text
    return orjson.dumps({"resourceType": kind, "id": "1", "status": "completed", element: concept, **extra})


_procedure = partial(_coded, "Procedure", "code")
_condition = partial(_coded, "Condition", "code")
_immunization = partial(_coded, "Immunization", "vaccineCode")


@pytest.mark.parametrize(
    ("raw", "decision"),
    [
        (_procedure(_SNOMED, "171207006"), SKIP_PREFILTER),  # depression screening
        (_procedure(_SKS, "BOQF1"), None),  # allogeneic HSCT
        (_procedure(_SNOMED, "58390007"), None),
        (_procedure(_SNOMED, "171207006", text="Kymriah infusion"), None),  # a product name: CAR-T
        (_procedure(_SNOMED, "171207006", text="KYMRIAH"), None),  # names are matched in lower case
        (_procedure(_SNOMED, "171207006", text="x-kymriah"), SKIP_PREFILTER),  # not a whole word for the mapper
        (_procedure(_SNOMED, "171207006", text="Ascites tap"), SKIP_PREFILTER),  # "sc" only inside a word
        (_procedure(_SNOMED, "171207006", text="given s.c. today"), None),
        (_procedure(_SNOMED, "171207006", text="Kymri\u0061h"), None),  # an escape
        (_procedure(_SNOMED, "171207006", text="Kymriah\u00e6"), None),
        (_procedure(_SNOMED, "171207006", text="Kymriahæ"), None),  # non-ASCII: parse
        (_procedure(_SNOMED, "171207006", status="entered-in-error"), None),  # excluded: the card may name it
        (b'{"resourceType":"Procedure","code":{"coding":[{"code":"BOQF1","system":"urn:oid:1.2.208.176.2.4"}]}}', None),
        (b'{"resourceType":"Procedure","code":{"coding":[{"system":"x","code":"1","version":"2"}]}}', None),
        (b'{"resourceType":"Procedure","code":{"text":{"a":1}}}', SKIP_PREFILTER),  # a text object: no name
        (b'{"resourceType":"Procedure","code":{"text" : "scig"}}', None),  # spaced: not read for sure
        (b'{"resourceType":"Procedure","usedCode":[{"text":"Yescarta"}]}', None),
        (b'{"resourceType":"Procedure","code":{"system":"urn:oid:1.2.208.176.2.4","code":"BOQF1"}}', None),
        (b'{"resourceType":"Procedure","code":{"code":"BOQF1"}}', None),  # a bare code without a system
        (_condition(_ICD10, "J18.9"), None),  # a prefix row
        (_condition(_ICD10, "j189"), None),  # ICD-10 folded: case and dots
        (_condition(_SKS_D, "DJ189"), None),  # SKS D-code
        (_condition(_SKS_D, "DZ948D"), None),  # CAR-T history
        (_condition(_SNOMED, "444814009"), SKIP_PREFILTER),  # viral sinusitis (SNOMED: not in the table)
        (_condition(_SNOMED, "444814009", text="Kymriah"), SKIP_PREFILTER),  # a Condition is not matched by name
        (_condition(_ICD10, "I10", clinicalStatus={"coding": [{"system": "x", "code": "active"}]}), SKIP_PREFILTER),
        (_condition(_ICD10, "I10", verificationStatus={"coding": [{"code": "entered-in-error"}]}), None),
        (_immunization(_CVX, "88"), None),  # influenza
        (_immunization("http://www.whocc.no/atc", "J07BB02"), None),
        (_immunization(_CVX, "113"), SKIP_PREFILTER),  # Td
        (b'{"resourceType":"Immunization","contained":[{"resourceType":"Immunization"}]}', SKIP_PREFILTER),
        (b'{"resourceType":"Claim","patient":{"reference":"Patient/1"}}', SKIP_TYPE),
        (b'{"resourceType":"Claim","contained":[{"resourceType":"Medication"}]}', None),  # a read type inside
        (_observation("8867-4"), SKIP_PREFILTER),  # heart rate
        (_observation("2465-3"), None),  # IgG
        (_observation(" 2465-3 "), None),  # the mapper strips the code
        (_observation("29463-7"), None),  # body weight
        (_observation("NPU19814"), None),
        (_observation("npu19814"), SKIP_PREFILTER),  # NPU codes are case-sensitive in the table too
        (_observation("2465-30"), SKIP_PREFILTER),  # not a prefix match
        (_observation("12465-3"), SKIP_PREFILTER),
        (_observation("8867-4", status="entered-in-error"), None),  # excluded: the card may name it
        (_observation("2465\\u002d3"), None),  # an escape anywhere
        (_observation("2465\u20133"), None),  # a non-ASCII code
        (b'{"resourceType":"Observation","code":{"coding":[{"code":"2465-3\\\\"}]}}', None),  # a backslash
        (b'{"resourceType": "Observation", "code": {"coding": [{"code" : "2465-3"}]}}', None),  # spaced
        (b'{"resourceType": "Observation", "code": {"coding": [{"code" : "8867-4"}]}}', SKIP_PREFILTER),
        (b'{"resourceType":"Observation","valueString":"2465-3"}', SKIP_PREFILTER),  # not a code: unused
        (b'{"resourceType":"Observation"', SKIP_PREFILTER),  # cut off, and no code: unusable either way
        (b'{"resourceType":"Observation","contained":[{"resourceType":"Medication"}]}', None),
        (_encounter("AMB"), SKIP_PREFILTER),  # an outpatient visit: never an admission
        (_encounter("IMP"), None),
        (_encounter("ACUTE"), None),
        (_encounter("NONAC"), None),
        (_encounter("EMER"), None),
        (_encounter("imp"), SKIP_PREFILTER),  # the mapper compares the class code exactly
        (_encounter("IMPX"), SKIP_PREFILTER),
        (_encounter(" IMP"), SKIP_PREFILTER),  # not stripped either: no admission
        (_encounter("AMB", status="entered-in-error"), SKIP_PREFILTER),  # excluded and not an admission: unnamed
        (_encounter("IM\\u0050"), None),  # an escape
        (b'{"resourceType": "Encounter", "class": {"code" : "EMER"}}', None),  # spaced
        (b'{"resourceType": "Encounter", "class": {"code" : "AMB"}}', SKIP_PREFILTER),
        (b'{"resourceType":"Encounter","class":"IMP"}', None),  # a bare code string
        (b'{"resourceType":"Encounter","class":[{"coding":[{"code":"IMP"}]}]}', None),  # R5: CodeableConcepts
        (b'{"resourceType":"Encounter","contained":[{"resourceType":"Condition"}]}', None),  # a read type inside
    ],
)
def test_the_byte_decision(raw: bytes, decision: str | None) -> None:
    assert classify_bytes(raw) == decision


def test_the_pre_filter_knows_every_observation_code_of_the_table() -> None:
    assert observation_needles() >= {b"2465-3", b"2458-8", b"2472-9", b"29463-7", b"NPU19814", b"25700-6"}
    assert all(observation_may_matter(_observation(code.decode())) for code in observation_needles())


def test_the_encounter_pre_filter_knows_every_admission_class_the_mapper_maps() -> None:
    assert {"IMP", "ACUTE", "NONAC", "EMER"} == ENCOUNTER_CLASSES
    assert all(encounter_may_matter(_encounter(code)) for code in ENCOUNTER_CLASSES)


def _mapped(resources: list[dict[str, Any]]) -> Any:
    ctx = MappingContext(tz=TZ, codes=code_table(), medications={}, full_urls={})
    return summarize(resources, patient_id=PATIENT_ID, ctx=ctx)


_BASE = [
    {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": "1960-01-01"},
    {
        "resourceType": "Observation",
        "id": "igg-base",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2465-3"}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": "2026-10-01",
        "valueQuantity": {"value": 3.1, "unit": "g/L", "code": "g/L", "system": "http://unitsofmeasure.org"},
    },
]


def _writings(value: dict[str, Any]) -> list[bytes]:
    """The same resource written as different servers write it."""
    try:
        orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits: orjson (the run's parser) refuses it, so does the run
        assume(False)
    return [
        orjson.dumps(value),
        json.dumps(value, ensure_ascii=True).encode(),  # non-ASCII as \\u escapes, ", " and ": "
        json.dumps(value, ensure_ascii=False, separators=(" ,", " : ")).encode(),
    ]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    generated=resource(),
    kind=st.sampled_from(
        ["Observation", "Observation", "Observation", "Condition", "Procedure", "Immunization", "Claim", "Basic"]
    ),
)
def test_a_line_the_bytes_skip_never_changes_the_mapped_record(generated: dict[str, Any], kind: str) -> None:
    """Skipped lines (by type or by the pre-filter) leave the patient's mapped record as it was."""
    line = {**generated, "resourceType": kind, "id": "generated-unique"}  # an id of its own: no duplicate shadows
    for raw in _writings(line):
        if classify_bytes(raw) is None:
            continue
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:  # e.g. json.dumps's Infinity: unreadable for the run too, never data
            continue
        assert _mapped([*_BASE, parsed]) == _mapped(_BASE), raw


@settings(max_examples=300, deadline=None)
@given(generated=resource())
def test_lines_the_mappers_use_are_kept(generated: dict[str, Any]) -> None:
    """The converse, as a check that the property above is not vacuous: a line that changes the record is kept."""
    line = {**generated, "id": "generated-unique"}
    raw = _writings(line)[0]
    if _mapped([*_BASE, line]) != _mapped(_BASE):
        assert classify_bytes(raw) is None


_TABLE_ROWS = code_table().rows
_NAMES = sorted({row.code for row in _TABLE_ROWS if row.match == "name"})
_SYSTEMS = sorted({row.system for row in _TABLE_ROWS if row.match != "name"} | {*SYSTEM_ALIASES, _SKS_D, "x"})


def _code_forms(code: str) -> st.SearchStrategy[str]:
    """A table code as it is, or written another way (the ICD folding, a prefix row's child, spaces, case)."""
    return st.sampled_from(
        [
            code,
            code.lower(),
            f" {code} ",
            f"D{code}",
            code.replace(".", ""),
            f"{code[:3]}.{code[3:]}",
            f"{code}9",
            code[:-1],
        ]
    )


_codes = st.one_of(
    st.sampled_from([row.code for row in _TABLE_ROWS if row.match != "name"]).flatmap(_code_forms),
    st.from_regex(r"[A-Za-z0-9.]{1,8}", fullmatch=True),
    st.sampled_from(["active", "confirmed", "refuted", "entered-in-error", "444814009", "171207006", "113"]),
)
_texts = st.one_of(
    st.tuples(
        st.sampled_from(["", " ", "x", "-", "(", "given ", "1", "a-", "_"]),
        st.sampled_from(_NAMES) | st.sampled_from(_NAMES).map(str.upper),
        st.sampled_from(["", " ", "x", "-", ")", " today", "s", "."]),
    ).map("".join),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=16),
    st.text(max_size=6),
)
_ORDERS = st.sampled_from([["system", "code", "display", "version"], ["code", "system", "display", "version"]])


def _coding(
    pair: tuple[str | None, str | None], display: str | None, order: list[str], version: str | None
) -> dict[str, str]:
    values = {"system": pair[0], "code": pair[1], "display": display, "version": version}
    return {key: values[key] for key in order if values[key] is not None}


_codings = st.builds(
    _coding,
    st.one_of(  # mostly a table row's system with its code in some form (the mapper may match it), else any pair
        st.sampled_from([row for row in _TABLE_ROWS if row.match != "name"]).flatmap(
            lambda row: st.tuples(st.just(row.system), _code_forms(row.code))
        ),
        st.tuples(st.sampled_from(_SYSTEMS) | st.none(), _codes | st.none()),
    ),
    _texts | st.none(),
    _ORDERS | _ORDERS | st.permutations(["system", "code", "display", "version"]),
    st.none() | st.none() | st.just("1"),
)
_coded_concepts = st.one_of(
    st.fixed_dictionaries({}, optional={"coding": st.lists(_codings, max_size=3), "text": _texts}),
    _codings,  # a bare Coding
    st.lists(
        st.fixed_dictionaries({}, optional={"coding": st.lists(_codings, max_size=2), "text": _texts}), max_size=2
    ),
)
coded_resources = st.sampled_from(sorted(CODED_TYPES)).flatmap(
    lambda kind: st.fixed_dictionaries(
        {"resourceType": st.just(kind), "id": st.just("generated-unique")},
        optional={
            "status": st.sampled_from(["completed", "not-done", "entered-in-error", "in-progress"]),
            "code": _coded_concepts,
            "vaccineCode": _coded_concepts,
            "usedCode": st.lists(_coded_concepts, max_size=2),
            "category": st.lists(_coded_concepts, max_size=1),
            "severity": _coded_concepts,
            "clinicalStatus": _coded_concepts,
            "verificationStatus": _coded_concepts,
            # The patient's own (a cohort groups each line under the patient it names: never another's)
            "subject": st.just({"reference": f"Patient/{PATIENT_ID}"}),
            "patient": st.just({"reference": f"Patient/{PATIENT_ID}"}),
            "performedDateTime": st.sampled_from(["2026-01-05", "x"]),
            "onsetDateTime": st.sampled_from(["2026-01-05", "2026-13-01"]),
            "occurrenceDateTime": st.just("2025-10-01"),
            "note": st.lists(st.fixed_dictionaries({"text": _texts}), max_size=1),
        },
    )
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=coded_resources | resource().map(lambda r: {**r, "resourceType": "Procedure", "id": "generated-unique"}))
@example(line={"resourceType": "Immunization", "vaccineCode": {"text": "abecma"}, "status": "entered-in-error"})
def test_a_coded_line_the_bytes_skip_never_changes_the_mapped_record(line: dict[str, Any]) -> None:
    """The code pre-filter (Procedure, Condition, Immunization): a dropped line leaves the record as it was.

    And the converse, so the property is not vacuous: a line that changes the record is kept, however written.
    """
    if patient_of(line) not in (PATIENT_ID, None):
        return  # grouped under another patient in a cohort (the mapper would name it excluded here)
    changes = _mapped([*_BASE, line]) != _mapped(_BASE)
    for raw in _writings(line):
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:  # json.dumps's Infinity: unreadable for the run too, never data
            continue
        if classify_bytes(raw) is not None:
            assert not changes, raw
            assert _mapped([*_BASE, parsed]) == _mapped(_BASE), raw


@pytest.mark.parametrize("kind", sorted(CODED_TYPES))
def test_the_code_pre_filter_property_is_not_vacuous(kind: str) -> None:
    """Generated lines of each coded type are dropped with codes in them, and some change the record (kept)."""
    of_kind = coded_resources.filter(lambda line: line["resourceType"] == kind)
    dropped = find(
        of_kind, lambda line: classify_bytes(orjson.dumps(line)) == SKIP_PREFILTER and b'"code":"' in orjson.dumps(line)
    )
    assert _mapped([*_BASE, dropped]) == _mapped(_BASE)
    used = find(of_kind, lambda line: _mapped([*_BASE, line]) != _mapped(_BASE), settings=settings(max_examples=5000))
    assert classify_bytes(orjson.dumps(used)) is None


_ENCOUNTER_CLASS_CODES = st.sampled_from([*sorted(ENCOUNTER_CLASSES), "AMB", "HH", "VR", "imp", "IMP ", "EMERX", ""])
encounters = st.fixed_dictionaries(
    {"resourceType": st.just("Encounter"), "id": st.just("generated-unique")},
    optional={
        "status": st.sampled_from(["finished", "in-progress", "planned", "cancelled", "entered-in-error", "arrived"]),
        "class": st.one_of(
            st.fixed_dictionaries({"code": _ENCOUNTER_CLASS_CODES}, optional={"system": st.just("x")}),
            _ENCOUNTER_CLASS_CODES,
            st.lists(
                st.fixed_dictionaries(
                    {"coding": st.lists(st.fixed_dictionaries({"code": _ENCOUNTER_CLASS_CODES}), max_size=2)}
                ),
                max_size=2,
            ),
            st.none() | st.integers() | st.text(max_size=6),
        ),
        "subject": st.sampled_from([{"reference": f"Patient/{PATIENT_ID}"}, {"reference": "Patient/other"}]),
        "period": st.fixed_dictionaries(
            {}, optional={"start": st.sampled_from(["2026-01-05", "x"]), "end": st.just("2026-01-09")}
        ),
        "diagnosis": st.lists(st.fixed_dictionaries({"condition": st.just({"reference": "Condition/c1"})}), max_size=1),
        "type": st.lists(st.fixed_dictionaries({"text": st.text(max_size=12)}), max_size=1),
    },
)


@settings(max_examples=400, deadline=None)
@given(line=encounters | resource().map(lambda r: {**r, "resourceType": "Encounter", "id": "generated-unique"}))
def test_an_encounter_the_bytes_skip_never_changes_the_mapped_record(line: dict[str, Any]) -> None:
    """Dropped Encounters (not an admission class) leave the record as it was; admissions are kept (not vacuous)."""
    for raw in _writings(line):
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if classify_bytes(raw) is not None:
            assert _mapped([*_BASE, parsed]) == _mapped(_BASE), raw


def test_an_admission_changes_the_record_and_is_kept() -> None:
    """The property above is not vacuous: an admission maps (and is kept), an outpatient visit does not."""
    admission = {"resourceType": "Encounter", "id": "a1", "status": "finished", "period": {"start": "2026-01-05"}}
    for code, used in (("IMP", True), ("EMER", True), ("AMB", False)):
        line = {**admission, "class": {"code": code}, "subject": {"reference": f"Patient/{PATIENT_ID}"}}
        assert (_mapped([*_BASE, line]) != _mapped(_BASE)) is used
        assert (classify_bytes(orjson.dumps(line)) is None) is used


_BATCH_LINES = st.one_of(
    st.sampled_from([*sorted(observation_needles()), b"8867-4", b"2465-30", b"NPU19814 ", b"x\\u0031"]).map(
        lambda code: _observation(code.decode())
    ),
    st.sampled_from(["AMB", "IMP", "EMER", "EMERX", "HH"]).map(_encounter),
    st.just(_observation("8867-4", status="entered-in-error")),
    st.just(b'{"code":{"coding":[{"code":"8867-4"}]},"resourceType":"Observation"}'),  # not compact
    st.just(b'{"resourceType":"Observation","contained":[{"resourceType":"Observation"}]}'),
    st.just(b'{"resourceType":"Claim","id":"1"}'),
    st.just(b'{"id":"no type"}'),
    st.just(b""),
    # The code pre-filter's types: a line that names a table code is kept, one with unused codes dropped.
    st.sampled_from(
        [
            _procedure(_SKS, "BOQF1"),
            _procedure(_SNOMED, "171207006"),
            _procedure(_SNOMED, "171207006", text="Kymriah"),
            _condition(_ICD10, "J18.9"),
            _condition(_SNOMED, "444814009"),
            _immunization(_CVX, "88"),
            _immunization(_CVX, "113"),
        ]
    ),
    # Types read without a pre-filter (every line that starts with the type is parsed, whatever it holds), and the
    # code pre-filter's types in shapes it must judge alone or parse.
    st.sampled_from(["Procedure", "Condition", "Medication", "MedicationRequest", "Patient", "Immunization"]).flatmap(
        lambda kind: st.sampled_from(
            [
                b'{"resourceType":"%s","id":"1","subject":{"reference":"Patient/p"}}' % kind.encode(),
                b'{"resourceType":"%s","note":[{"text":"\\u00e6"}]}' % kind.encode(),
                b'{"resourceType":"%s","contained":[{"resourceType":"Claim"}]}' % kind.encode(),
                b'{"resourceType":"%s","contained":[{"resourceType":"Observation"}]}' % kind.encode(),
                b'{"resourceType":"%sX","id":"1"}' % kind.encode(),
                b'{"id":"1","resourceType":"%s"}' % kind.encode(),
            ]
        )
    ),
)


@pytest.mark.parametrize("engine", ["hyperscan", "re"])
@settings(max_examples=600, deadline=None)
@given(lines=st.lists(_BATCH_LINES, min_size=1, max_size=12), end=st.booleans())
def test_a_run_skips_exactly_the_lines_each_line_would_skip(engine: Engine, lines: list[bytes], end: bool) -> None:
    """``block_to_judge`` leaves out only lines ``decide_bytes`` skips by the pre-filter, of the type it says.

    And it hands back every other line whole, with its index, in order; it counts the run's lines. Both engines
    (Hyperscan and the standard library's ``re``) give the same answer.
    """
    raws = [raw + b"\n" for raw in lines]
    if not end:
        raws[-1] = raws[-1].rstrip(b"\n")  # a file's last line may lack its newline
    raws = [raw for raw in raws if raw]  # (an empty last line is no line)
    judged = block_to_judge(b"".join(raws), engine=engine)
    assert judged == block_to_judge(b"".join(raws), engine="re" if engine == "hyperscan" else "hyperscan")
    if judged is None:
        return
    kind, count, to_judge = judged
    assert count == len(raws)
    indices = [index for index, _, _ in to_judge]
    assert indices == sorted(set(indices))
    for index, raw, kept in to_judge:
        assert raw == raws[index]
        if kept:
            assert decide_bytes(raw) == (None, ""), raw  # known kept: not judged again
    for index, raw in enumerate(raws):
        if index not in indices:
            assert decide_bytes(raw) == (SKIP_PREFILTER, kind), raw


def test_hyperscan_loads_here() -> None:
    """The default engine is really Hyperscan on the machines the project supports (a wheel for each), not the
    fallback: else the speed measured would not be the one shipped."""
    assert _hyperscan_database("Observation") is not None and _hyperscan_database("Encounter") is not None


@pytest.mark.parametrize("engine", ["hyperscan", "re"])
def test_a_run_of_vitals_is_decided_at_once_and_the_rest_left_to_judge(engine: Engine) -> None:
    judge = partial(block_to_judge, engine=engine)
    vitals, igg = _observation("8867-4") + b"\n", _observation("2465-3") + b"\n"
    assert judge(vitals + vitals + igg + vitals) == ("Observation", 4, [(2, igg, True)])
    assert judge(vitals * 3) == ("Observation", 3, [])
    amb, emer = _encounter("AMB") + b"\n", _encounter("EMER") + b"\n"
    assert judge(amb + emer + amb) == ("Encounter", 3, [(1, emer, True)])
    claim, blank = b'{"resourceType":"Claim"}\n', b"\n"
    assert judge(vitals + claim + blank + vitals) == ("Observation", 4, [(1, claim, False), (2, blank, False)])
    not_compact = b'{"code":{"coding":[{"code":"8867-4"}]},"resourceType":"Observation"}\n'
    assert judge(vitals + not_compact) == ("Observation", 2, [(1, not_compact, False)])
    escaped = _observation("8867-4", note="a\\u0020b") + b"\n"
    assert judge(vitals + escaped + vitals) == ("Observation", 3, [(1, escaped, False)])
    withdrawn = _observation("8867-4", status="entered-in-error") + b"\n"
    assert judge(withdrawn + vitals) == ("Observation", 2, [(0, withdrawn, True)])
    contained = b'{"resourceType":"Observation","contained":[{"resourceType":"Observation"}]}\n'
    assert judge(vitals + contained) is None  # a second key in a line of the run's shape: line by line
    assert judge(claim + vitals) is None  # not a run of Observations or Encounters
    assert judge(vitals + vitals.rstrip(b"\n")) is None  # the file's last line, no newline
    request = b'{"resourceType":"MedicationRequest","id":"1"}\n'
    assert judge(request + contained + request) == (  # a type read whole: its lines known kept, others judged
        "MedicationRequest",
        3,
        [(0, request, True), (1, contained, False), (2, request, True)],
    )
    screening, hsct = _procedure(_SNOMED, "171207006") + b"\n", _procedure(_SKS, "BOQF1") + b"\n"
    procedure_contained = b'{"resourceType":"Procedure","contained":[{"resourceType":"Procedure"}]}\n'
    assert judge(screening + hsct + procedure_contained + screening) == (  # a coded type: each line of its shape
        "Procedure",  # decided here as decide_bytes decides it, the others judged alone
        4,
        [(1, hsct, True), (2, procedure_contained, False)],
    )
