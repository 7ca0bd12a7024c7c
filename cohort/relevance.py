r"""Which lines of an export the rules can use, told from their bytes before any parsing.

A real Bulk export is mostly resources the guideline never reads (Synthea: Claim, ExplanationOfBenefit,
DocumentReference with base64 notes, DiagnosticReport ...) and, of the types it reads, mostly Observations it never
uses (vitals and surveys), procedures and conditions it never reads (screenings, assessments, common ailments).
Parsing them was most of a run's time (issue 30). Five cheap decisions, each conservative (any doubt: parse):

* **By file** (``file_type``): a file named by type (``Observation.ndjson``, ``Observation_2.ndjson``,
  ``Observation.000.ndjson.gz``) or listed by the Bulk Data manifest under a type holds that type. A file of a type
  not in ``READ_TYPES`` is not opened.
* **By line** (``sniff_types``): the ``"resourceType"`` values a line carries, found with a regular expression. A
  line is skipped by type only when *every* ``"resourceType"`` key in it is followed by a plain type name outside
  ``READ_TYPES`` (the resource's own type is one of them, contained resources' types the others). A key written
  with an escape (``\u``) or a value the expression cannot read: parse.
* **Observation pre-filter** (``observation_may_matter``): ``fhir_mappers.observation.map_observation`` uses an
  Observation only when its ``code`` holds a code of one of ``OBSERVATION_CONCEPTS`` (exact rows of
  ``fhir_mappers/codesets/codes.csv``: IgG, IgA, IgM, M-protein, immunofixation, body weight, CD19, in LOINC and
  NPU); else it returns ``None``. ``fhir_mappers.summarize`` reads an Observation's code for anything else only when
  the resource is excluded (``entered-in-error``, or another patient's: never in a cohort, whose lines are grouped by
  the patient they name), to name it as a data issue if it looks relevant by any code or name. So a line is kept
  when it has ``entered-in-error`` or a ``\u`` escape anywhere (a code or status could be spelt with one), or when a
  ``"code": "..."`` string value in it (any ``"code"`` key: the Coding's, a unit's ...) is, stripped, one of those
  codes, or holds a backslash or a non-ASCII byte (a value the bytes cannot compare for sure). Codes of these
  systems are compared exactly (no case or dot folding, no prefix rows: ``observation_needles`` refuses a table
  that has them), and every Coding's code is such a value, so whenever the parse would match a code the bytes keep
  the line. Vital signs, surveys and routine labs (Synthea's bulk) are dropped unparsed.
  ``tests/cohort/test_relevance.py`` proves on generated lines, written compact, spaced and ASCII-escaped, that a
  dropped line leaves the patient's mapped record unchanged.

* **Encounter pre-filter** (``encounter_may_matter``): ``fhir_mappers.encounter.map_encounter`` maps an Encounter
  only when its ``class`` code is one of ``ENCOUNTER_CLASSES`` (IMP, ACUTE, NONAC, EMER: admissions and emergency
  stays), else returns ``None``; ``summarize`` names an excluded Encounter as a data issue on the same condition;
  Conditions reach an Encounter only through an admission (``Condition.encounter`` / ``Encounter.diagnosis``,
  ``guideline.infections``). So a line is kept when it holds a backslash or one of those codes as a whole JSON
  string (``"IMP"``): ambulatory and wellness visits (Synthea's bulk) are dropped unparsed.

* **Code pre-filter** (``coded_may_matter``, ``CODED_TYPES``): Procedure, Condition and Immunization are used only
  when a Coding of theirs is in the code table (a Procedure also by a product name in its text); the test runs the
  table's own ``concept_of_coding`` and ``has_name`` on the Codings and texts read from the bytes, once per distinct
  value, and keeps any line whose Codings or texts it cannot read for sure (another key order, spaces, escapes,
  non-ASCII bytes, ``entered-in-error``). Screenings, assessments and everyday diagnoses are dropped unparsed. The
  same kind of hypothesis property covers it, with codes from the table in every form the mappers fold (case, dots,
  SKS ``D``, prefixes) and product names inside and around words.

The pre-filters assume an export holds one version of each resource (as a Bulk export does): ``summarize`` keeps the
first of two resources of the same type and id, so a dropped duplicate could otherwise have shadowed a kept one.

``READ_TYPES`` comes from ``fhir_mappers.summarize.MAPPERS`` (the one definition of what the mappers read), plus
``Patient`` and ``Medication`` (for ``medicationReference``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, Literal, TypeVar

import numpy

from fhir_mappers.codes import code_table
from fhir_mappers.encounter import ADMISSION_CLASSES
from fhir_mappers.observation import OBSERVATION_CONCEPTS
from fhir_mappers.summarize import READ_TYPES as _MAPPED_TYPES

READ_TYPES = frozenset(_MAPPED_TYPES)
"""The resource types the rules read; lines of any other type are never parsed."""
_READ_NAMES = frozenset(name.encode("ascii") for name in READ_TYPES)


ENCOUNTER_CLASSES = frozenset(ADMISSION_CLASSES)
"""The ``Encounter.class`` codes ``fhir_mappers.encounter.map_encounter`` maps (IMP, ACUTE, NONAC, EMER)."""
_ENCOUNTER_NEEDLES = tuple(b'"' + code.encode("ascii") + b'"' for code in sorted(ENCOUNTER_CLASSES))

_FILE_NAME = re.compile(r"^([A-Z][A-Za-z]+)(?:[._-]\d+)*\.ndjson(?:\.gz)?$")
_TYPE_KEY = b'"resourceType"'
_TYPE_VALUE = re.compile(rb'"resourceType"[ \t\r\n]*:[ \t\r\n]*"([A-Za-z]+)"')
_ESCAPE = b"\\u"
_COMPACT = b'{"resourceType":"'
"""How most writers start a line (orjson, HAPI, Synthea): the type read without a regular expression."""
_EXCLUDED = b"entered-in-error"

SKIP_TYPE = "type"
"""``classify_bytes``: a line of a type the rules never read."""
SKIP_PREFILTER = "prefilter"
"""``classify_bytes``: an Observation the rules cannot use (the pre-filter)."""


def file_type(name: str) -> str | None:
    """The resource type a file's name says it holds (``Observation_2.ndjson.gz`` -> ``Observation``), or ``None``."""
    match = _FILE_NAME.match(name)
    return match.group(1) if match else None


def sniff_types(raw: bytes) -> frozenset[str] | None:
    r"""The ``resourceType`` values of a line, read from its bytes; ``None`` when they cannot be told for sure.

    ``None`` when the line has no ``"resourceType"`` key, a ``\u`` escape, or a key whose value is not a plain name.
    """
    if _ESCAPE in raw:
        return None
    keys = raw.count(_TYPE_KEY)
    if not keys:
        return None
    if keys == 1 and raw.startswith(_COMPACT):
        name = raw[len(_COMPACT) : raw.find(b'"', len(_COMPACT))]
        if name.isalpha() and name.isascii():
            return frozenset((name.decode("ascii"),))
    names = _TYPE_VALUE.findall(raw)
    if len(names) != keys:
        return None
    return frozenset(name.decode("ascii") for name in names)


@cache
def observation_needles() -> frozenset[bytes]:
    """The codes (as bytes) of ``OBSERVATION_CONCEPTS`` in the packaged code table; exact rows only (checked)."""
    needles = set()
    for row in code_table().rows:
        if row.concept in OBSERVATION_CONCEPTS:
            if row.match != "exact":  # a prefix or name row would need another test: refuse rather than drop lines
                raise ValueError(f"codes.csv: the pre-filter expects exact Observation codes, not {row.match!r}")
            needles.add(row.code.strip().encode("utf-8"))
    return frozenset(needles)


@cache
def _code_to_keep() -> re.Pattern[bytes]:
    """A ``"code": "..."`` string value that is one of ``observation_needles`` or holds a byte the test cannot judge.

    The value matches when it is a needle exactly, or holds a backslash (an escape), a non-ASCII byte or whitespace
    (``str.strip`` would change it; JSON allows no raw control character in a string): kept, parsed, decided there.
    """
    needles = b"|".join(re.escape(needle) for needle in sorted(observation_needles(), key=len, reverse=True))
    return re.compile(rb'"code"[ \t\r\n]*:[ \t\r\n]*"(?:(?:' + needles + rb')"|[^"]*[\\\x80-\xff \t\r\n\x0b\x0c])')


def observation_may_matter(raw: bytes) -> bool:
    r"""Whether an Observation line might change its patient's mapped record (False: it certainly cannot).

    True when the line has a ``\u`` escape or ``entered-in-error`` anywhere, or a ``"code": "..."`` string whose
    value is one of ``observation_needles`` or holds a backslash, a non-ASCII byte or whitespace (a value the bytes
    cannot compare for sure: ``_code_to_keep``). A code is only ever a ``"code"`` key's string value, so every code
    the parse could match is among those values.
    """
    return _ESCAPE in raw or _EXCLUDED in raw or _code_to_keep().search(raw) is not None


def encounter_may_matter(raw: bytes) -> bool:
    r"""Whether an Encounter line might change its patient's mapped record (False: it certainly cannot).

    True when the line has a backslash anywhere (an escape could spell a code) or one of ``ENCOUNTER_CLASSES`` as a
    whole JSON string (``"IMP"``, quotes included). ``map_encounter`` maps only a ``class`` whose code is exactly one
    of them, and ``fhir_mappers.summarize`` names an excluded Encounter only on the same condition; written without
    an escape such a code is those bytes.
    """
    return b"\\" in raw or any(needle in raw for needle in _ENCOUNTER_NEEDLES)


CODED_TYPES: dict[str, bool] = {"Condition": False, "Immunization": False, "Procedure": True}
"""The types the code pre-filter judges (``coded_may_matter``), each with whether its mapper also matches by name.

``map_condition``, ``map_immunization`` and ``map_procedure`` use a resource only when a Coding of its ``code``
(``vaccineCode``; ``usedCode`` too for a Procedure) is in the code table, or, for a Procedure
(``matches(..., by_name=True)``), a name row matches its text or a display; else they return nothing and raise
nothing. ``fhir_mappers.summarize`` reads any other part of them only when the resource is excluded (see
``observation_may_matter``), and names it then only on the same test, by name too.
"""
_CODED_NAMES = frozenset(name.encode("ascii") for name in CODED_TYPES)
_WHOLE_CODING = re.compile(rb'\{"system":"([^"\\]*)","code":"([^"\\]*)"(?:,"display":"[^"\\]*")?\}')
"""A Coding written compact with exactly ``system``, ``code`` and perhaps ``display``, in this order (most writers)."""
_TEXT_VALUE = re.compile(rb'"(?:text|display)":"([^"\\]*)"')
_CODE_KEY, _CODE_OBJECT = b'"code"', b'"code":{'
_TEXT_KEY, _TEXT_OBJECT, _DISPLAY_KEY = b'"text"', b'"text":{', b'"display"'
_MEMO_LIMIT = 65536
_Key = TypeVar("_Key", bytes, tuple[bytes, bytes])
_CODING_MEMO: dict[tuple[bytes, bytes], bool] = {}
_NAME_MEMO: dict[bytes, bool] = {}


def coded_may_matter(raw: bytes, kind: str) -> bool:
    r"""Whether a line of a ``CODED_TYPES`` type might change its patient's mapped record (False: it certainly cannot).

    False only when all of these hold, each read from the bytes without a parse:

    * the line is ASCII, with no backslash and no ``entered-in-error`` (so every ``"`` delimits a string, a string's
      bytes are its text, and an excluded resource is parsed);
    * every ``"code"`` in it is a key whose value is an object (``"code":{``) or the code of a Coding written
      ``{"system":"S","code":"C"}`` or ``{"system":"S","code":"C","display":"D"}`` (``_WHOLE_CODING``): the counts
      agree. Then every Coding the parse could read a code from is one of those, with its own system;
    * no such ``(S, C)`` is in the code table (``CodeTable.concept_of_coding``, the mappers' own test, whatever the
      system: ICD folding, prefixes and aliases included);
    * for a type matched by name (``CODED_TYPES``): every ``"text"`` and ``"display"`` is a key with an object value
      (a narrative) or a plain string value, and no such value holds a name row (``CodeTable.has_name``, the
      mappers' own test). The parse reads names only from such values.

    Each distinct Coding and text is tested once per process (bounded memos): an export repeats a few hundred.
    """
    if b"\\" in raw or not raw.isascii() or _EXCLUDED in raw:
        return True
    found = _WHOLE_CODING.findall(raw)
    if raw.count(_CODE_KEY) != raw.count(_CODE_OBJECT) + len(found):
        return True
    if _any_remembered(found, _CODING_MEMO, _coding_in_table):
        return True
    if not CODED_TYPES[kind]:
        return False
    texts = _TEXT_VALUE.findall(raw)
    if raw.count(_TEXT_KEY) + raw.count(_DISPLAY_KEY) != raw.count(_TEXT_OBJECT) + len(texts):
        return True
    return _any_remembered(texts, _NAME_MEMO, _holds_name)


def _any_remembered(values: list[_Key], memo: dict[_Key, bool], test: Callable[[_Key], bool]) -> bool:
    """Whether ``test`` holds for any of ``values``, each tested once per process (``memo``, cleared when full)."""
    for value in values:
        known = memo.get(value)
        if known is None:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            known = memo[value] = test(value)
        if known:
            return True
    return False


def _coding_in_table(coding: tuple[bytes, bytes]) -> bool:
    """Whether a Coding read from the bytes, ``(system, code)``, has a concept in the code table."""
    system, code = coding
    return code_table().concept_of_coding(system.decode(), code.decode()) is not None


def _holds_name(text: bytes) -> bool:
    """Whether a text read from the bytes holds a name row of the code table."""
    return code_table().has_name(text.decode())


def classify_bytes(raw: bytes) -> str | None:
    """Decide from a line's bytes whether to parse it: ``None`` (parse), ``SKIP_TYPE`` or ``SKIP_PREFILTER``.

    The line's own bytes decide, whatever file it is in (a file named by type may still hold another type).
    """
    return decide_bytes(raw)[0]


def decide_bytes(raw: bytes) -> tuple[str | None, str]:
    """``classify_bytes``'s decision and the type it was made for (the line's first ``resourceType``, if any).

    The same decisions as ``sniff_types`` and ``observation_may_matter``, with a fast path for lines that start
    ``{"resourceType":"`` and hold that key once (most writers): each byte scanned as few times as possible.
    """
    if b"\\" in raw and _ESCAPE in raw:  # one byte first: memchr, far cheaper than the two-byte search
        return None, ""
    if raw.startswith(_COMPACT):
        start = len(_COMPACT)
        name = raw[start : raw.find(b'"', start)]
        if name.isalpha() and name.isascii() and raw.count(_TYPE_KEY) == 1:
            if name not in _READ_NAMES:
                return SKIP_TYPE, name.decode("ascii")
            if name == b"Encounter":
                return (None, "") if encounter_may_matter(raw) else (SKIP_PREFILTER, "Encounter")
            if name in _CODED_NAMES:
                kind = name.decode("ascii")
                return (None, "") if coded_may_matter(raw, kind) else (SKIP_PREFILTER, kind)
            if name != b"Observation" or _EXCLUDED in raw or _code_to_keep().search(raw) is not None:
                return None, ""
            return SKIP_PREFILTER, "Observation"
    types = sniff_types(raw)
    if types is None:
        return None, ""
    first = _TYPE_VALUE.search(raw)
    kind = first.group(1).decode("ascii") if first else ""
    if types.isdisjoint(READ_TYPES):
        return SKIP_TYPE, kind
    if types == {"Observation"} and not observation_may_matter(raw):
        return SKIP_PREFILTER, kind
    if types == {"Encounter"} and not encounter_may_matter(raw):
        return SKIP_PREFILTER, kind
    if kind in CODED_TYPES and types == {kind} and not coded_may_matter(raw, kind):
        return SKIP_PREFILTER, kind
    return None, ""


_NEWLINE = 10
_PREFILTERED = frozenset({"Observation", "Encounter"})
"""The types whose runs the keeping patterns judge (``_keeping_spots``); ``CODED_TYPES`` are judged line by line
(``coded_may_matter``); a line of any other type in ``READ_TYPES`` is always parsed."""
_RUN_PREFIXES = {name.encode("ascii"): _COMPACT + name.encode("ascii") + b'"' for name in READ_TYPES}


def block_to_judge(
    run: bytes, *, engine: Engine = "hyperscan"
) -> tuple[str, int, list[tuple[int, bytes, bool]]] | None:
    r"""For a run of whole lines (``cohort.bulk.line_blocks``) mostly of compact lines of one type read: judge it.

    A run of another type in ``READ_TYPES`` (MedicationRequest, Patient ...): every line that starts
    ``{"resourceType":"<type>"`` is known kept (``decide_bytes`` parses every such line: no pre-filter, and its escape
    and second-key checks only ever send a line of a read type to the parse); the others are judged alone. A run of a
    ``CODED_TYPES`` type: each line that starts so and holds that key once is decided here with ``coded_may_matter``
    (``decide_bytes``' own test for it), the others are judged alone. For Observations and Encounters the pre-filter
    decides, as follows.

    Returns ``(type, lines, to_judge)``: the run holds ``lines`` lines; ``to_judge`` are ``(0-based index, line,
    kept)`` of those not skipped at once, in order, ``kept`` True when ``decide_bytes`` is known to keep the line (a
    line of the run's shape where a keeping pattern matches: it need not be judged again), False when it must still
    go through ``decide_bytes``; every other line is one ``decide_bytes`` skips with ``SKIP_PREFILTER`` as that type.
    ``None`` when the run is not of that shape (judge every line). The same decision as line by line, made with a
    few searches over the run's bytes (the line ends found with numpy, a vectorised pass) and no parse: a step per
    line was most of a run's reading time. Decided at once are the lines that start ``{"resourceType":"<type>"`` and
    hold that key once (``decide_bytes``' fast path) and hold no backslash, no ``entered-in-error`` (Observations) and
    no match of a keeping pattern (``_code_to_keep``, or a quoted ``ENCOUNTER_CLASSES`` code).

    ``engine``: how the run is searched (``_keeping_spots``): ``"hyperscan"`` (Intel Hyperscan / Vectorscan, one
    SIMD pass for every pattern; the default, about twice as fast on Observations) or ``"re"`` (the standard
    library, one search per pattern: the reference, and the fallback where the hyperscan module cannot load). Both
    give the same result (``tests/cohort/test_relevance.py``).
    """
    if not run.endswith(b"\n"):
        return None
    name = run[len(_COMPACT) : run.find(b'"', len(_COMPACT))]  # the first line's type, after '{"resourceType":"'
    prefix = _RUN_PREFIXES.get(name)
    if prefix is None or not run.startswith(prefix):
        return None
    ends = numpy.flatnonzero(numpy.frombuffer(run, numpy.uint8) == _NEWLINE)  # each line's "\n"
    starts = [0, *(ends[:-1] + 1).tolist()]
    kind = name.decode("ascii")
    if kind in CODED_TYPES:  # decide_bytes' fast path for a line of the run's shape with its one type key
        to_judge = []
        for index, begin in enumerate(starts):
            line = run[begin : int(ends[index]) + 1]
            if not line.startswith(prefix) or line.count(_TYPE_KEY) != 1:
                to_judge.append((index, line, False))
            elif coded_may_matter(line, kind):
                to_judge.append((index, line, True))
        return kind, len(starts), to_judge
    marked = {index for index, begin in enumerate(starts) if not run.startswith(prefix, begin)}  # judged alone
    if kind not in _PREFILTERED:  # decide_bytes keeps every line that starts so, whatever else it holds
        return (
            kind,
            len(starts),
            [(index, run[begin : int(ends[index]) + 1], index not in marked) for index, begin in enumerate(starts)],
        )
    found = _keeping_spots(run, kind, engine, starts, ends, marked)
    if found is None:
        return None  # a line of the run's shape holds a second key (a contained resource): judge every line
    escapes = list(_find_all(run, b"\\"))
    if escapes:  # a backslash: decide_bytes looks at the line alone
        marked.update(_lines_of_spots(ends, escapes))
    kept = _lines_of_spots(ends, found) - marked if found else set()  # of the run's shape: decide_bytes keeps them
    return (
        kind,
        len(starts),
        [(index, run[starts[index] : int(ends[index]) + 1], index in kept) for index in sorted(marked | kept)],
    )


Engine = Literal["hyperscan", "re"]
"""How ``block_to_judge`` searches a run: Hyperscan (default) or the standard library's ``re`` (the reference)."""


def _keeping_spots(
    run: bytes, kind: str, engine: Engine, starts: list[int], ends: numpy.ndarray[Any, Any], marked: set[int]
) -> list[int] | None:
    """Offsets in ``run`` in the lines a keeping pattern matches, or ``None`` (a second key in a line of the shape).

    ``None`` when a line of the run's shape holds a second ``"resourceType"`` key (``marked``: the lines not of the
    run's shape). The keeping patterns: for Observations ``entered-in-error`` and ``_code_to_keep``, for Encounters a
    quoted ``ENCOUNTER_CLASSES`` code. An offset is a match's start (``re``) or its last byte (Hyperscan, which
    reports ends): the same line for a line of the run's shape, since a match could only cross a line break through
    whitespace or a string's bytes, and such a line opens ``{"``, which no pattern takes after a line break.
    """
    scanner = _hyperscan(kind) if engine == "hyperscan" else None
    if scanner is None:
        other_keys = sum(run.count(_TYPE_KEY, starts[index], int(ends[index])) for index in marked)
        if run.count(_TYPE_KEY) - other_keys != len(starts) - len(marked):
            return None
        if kind == "Observation":
            return [*_find_all(run, _EXCLUDED), *(match.start() for match in _code_to_keep().finditer(run))]
        return [at for needle in _ENCOUNTER_NEEDLES for at in _find_all(run, needle)]
    database, scratch = scanner
    spots: list[int] = []
    second_keys: list[int] = []

    def on_match(pattern: int, _start: int, end: int, _flags: int, _context: object) -> None:
        (second_keys if pattern == _SECOND_KEY else spots).append(end - 1)

    database.scan(run, match_event_handler=on_match, scratch=scratch)
    if second_keys and not _lines_of_spots(ends, second_keys) <= marked:
        return None
    return spots


_SECOND_KEY = 0
"""The Hyperscan pattern id of a line's second ``"resourceType"`` key (the keeping patterns are 1 and 2)."""
_THREAD = threading.local()


def _hyperscan(kind: str) -> tuple[Any, Any] | None:
    """The compiled Hyperscan database of ``kind``'s patterns and this thread's scratch, or ``None`` (no module).

    One database per type holds every pattern of a run (``_keeping_spots``), searched in one pass. A scratch is
    Hyperscan's working memory for one scan at a time: one per thread (a reading process has one).
    """
    scanners = getattr(_THREAD, "scanners", None)
    if scanners is None:
        scanners = _THREAD.scanners = {}
    if kind not in scanners:
        database = _hyperscan_database(kind)
        scanners[kind] = None if database is None else (database, _new_scratch(database))
    return scanners[kind]  # type: ignore[no-any-return]


@cache
def _hyperscan_database(kind: str) -> Any | None:
    """Compile ``kind``'s patterns for Hyperscan (once per process), or ``None`` when the module cannot load."""
    try:
        import hyperscan
    except ImportError:  # a platform without a wheel: the standard library's re does the same, slower
        return None
    second_key = re.escape(_TYPE_KEY) + rb"[^\n]*" + re.escape(_TYPE_KEY)
    if kind == "Observation":
        keeping = [re.escape(_EXCLUDED), _code_to_keep().pattern]
    else:
        keeping = [b"|".join(re.escape(needle) for needle in _ENCOUNTER_NEEDLES)]
    expressions = [second_key, *keeping]
    database = hyperscan.Database()
    database.compile(expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions))
    return database


def _new_scratch(database: Any) -> Any:
    import hyperscan

    return hyperscan.Scratch(database)


def _lines_of_spots(ends: numpy.ndarray[Any, Any], spots: list[int]) -> set[int]:
    """The indices of the lines holding the offsets ``spots`` (a line's index: the first line end after the offset)."""
    return set(numpy.searchsorted(ends, spots).tolist())


def _find_all(data: bytes, needle: bytes) -> Iterator[int]:
    """Every offset of ``needle`` in ``data``."""
    at = data.find(needle)
    while at != -1:
        yield at
        at = data.find(needle, at + 1)
