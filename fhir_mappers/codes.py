"""The code-set table: which (system, code) pairs, prefixes and names mean which guideline concept.

The table is data (``codesets/codes.csv``), loaded once and validated on load. Matching rules:

* ICD-10 family systems (WHO ICD-10, SKS D-register, the Danish ICD-10 extensions, ICD-10-CM) are compared on
  one canonical form: upper case, no dots, and for SKS D-codes without the leading ``D`` (``DC900`` = ``C90.0``).
* The legacy NPU URI ``urn:oid:1.2.208.176.2.1`` is read as ``http://npu-terminology.org``.
* ``exact`` rows match the code; ``prefix`` rows match the longest prefix; ``name`` rows match a whole word
  sequence in a concept's text or Coding displays (for products whose ATC is unverified, and for brand names).
* ``substance`` (CAR-T and bsAb rows): the active substance's INN, the same for its ATC code, SNOMED concept and
  brand and generic names, so a switch between bsAb substances is told from a change of how one is written
  (addendum §4.1: "opstart af bispecifikke antistoffer").
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import orjson

from fhir_mappers.elements import codings, concept_names
from fhir_mappers.errors import CodeTableError

LOINC = "http://loinc.org"
NPU = "http://npu-terminology.org"
NPU_LEGACY = "urn:oid:1.2.208.176.2.1"
ATC = "http://www.whocc.no/atc"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SKS_D = "urn:oid:1.2.208.176.2.4.12"
SKS = "urn:oid:1.2.208.176.2.4"
ICD10_DK_EXTENSIONS = "http://hl7.dk/fhir/core/CodeSystem/icd10-danish-extensions"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
EDQM = "http://standardterms.edqm.eu"
NAME = "name"

_ICD_FAMILY = {ICD10, SKS_D, ICD10_DK_EXTENSIONS, ICD10_CM}
SYSTEM_ALIASES = {NPU_LEGACY: NPU, "urn:oid:2.16.840.1.113883.6.73": ATC, "http://fhir.de/CodeSystem/bfarm/atc": ATC}

CONCEPTS = frozenset(
    {
        "lab-igg",
        "lab-iga",
        "lab-igm",
        "lab-m-protein",
        "car-t",
        "bsab",
        "bsab-not-b-cell",
        "igrt",
        "igrt-scig",
        "igrt-ivig",
        "ig-specific",
        "route-iv",
        "route-sc",
        "antibiotic-systemic",
        "infection-bacterial",
        "infection-possibly-bacterial",
        "infection-bacterial-sepsis",
        "infection-sepsis-unspecified",
        "infection-unclassified",
        "dx-ig-immunomodulation-indication",
        "dx-haematological-malignancy",
        "dx-allo-hsct",
        "dx-autologous-hsct",
        "dx-hsct-unknown-type",
        "dx-car-t-history",
        "dx-primary-immunodeficiency",
        "severity-severe",
        "lab-m-protein-typing",
        "body-weight",
        "lab-cd19-absolute",
        "lab-cd19-percent",
        "vaccine-influenza",
        "vaccine-pneumococcal",
        "dx-bronchiectasis",
        "site-lower-respiratory",
        "site-urinary-tract",
        "site-pleura",
        "site-bloodstream",
        "site-central-nervous-system",
        "site-endocardium",
        "site-skin-soft-tissue",
        "site-bone-joint",
        "site-gastrointestinal",
        "site-ear-nose-throat",
    }
)
"""Every concept a row may name; rules and mappers refer to these strings only."""


@dataclass(frozen=True)
class CodeRow:
    """One row of ``codes.csv``."""

    concept: str
    system: str
    code: str
    match: str
    display: str
    status: str
    source: str
    substance: str = ""


@dataclass(frozen=True)
class Match:
    """A concept found in a CodeableConcept, with what matched (for the card: "matched ATC L01XL03").

    ``substance``: the matched row's active substance (CAR-T and bsAb rows), else ``""``.
    """

    concept: str
    matched: str
    substance: str = ""


_CACHE_LIMIT = 8192


def _canonical(system: str, code: str) -> tuple[str, str]:
    system = SYSTEM_ALIASES.get(system, system)
    code = code.strip()
    if system in _ICD_FAMILY:
        upper = code.upper().replace(".", "")
        if system == SKS_D and upper.startswith("D") and len(upper) > 1:
            upper = upper[1:]
        return ICD10, upper
    return system, code


class CodeTable:
    """Concept lookup built from ``CodeRow``s.

    Raises:
        CodeTableError: on an unknown concept, a bad ``match`` kind, or the same code listed twice.
    """

    def __init__(self, rows: Iterable[CodeRow]) -> None:
        self.rows = tuple(rows)
        self._exact: dict[tuple[str, str], str] = {}
        self._prefix: dict[str, list[tuple[str, str]]] = {}
        self._names: list[tuple[re.Pattern[str], str, str, str]] = []
        self._substances: dict[tuple[str, str], str] = {}
        self._cache: dict[tuple[bytes, bool], tuple[Match, ...]] = {}
        for row in self.rows:
            if row.concept not in CONCEPTS:
                raise CodeTableError(f"unknown concept {row.concept!r} for {row.system}|{row.code}")
            key = _canonical(row.system, row.code)
            if row.substance:
                self._substances[key] = row.substance
            if row.match == "exact":
                if key in self._exact:
                    raise CodeTableError(f"duplicate code {row.system}|{row.code}")
                self._exact[key] = row.concept
            elif row.match == "prefix":
                prefixes = self._prefix.setdefault(key[0], [])
                if any(p == key[1] for p, _ in prefixes):
                    raise CodeTableError(f"duplicate prefix {row.system}|{row.code}")
                prefixes.append((key[1], row.concept))
            elif row.match == NAME:
                pattern = re.compile(r"(?<![\w-])" + re.escape(row.code.lower()) + r"(?![\w-])")
                self._names.append((pattern, row.concept, row.display, row.substance))
            else:
                raise CodeTableError(f"bad match kind {row.match!r} for {row.system}|{row.code}")
        for prefixes in self._prefix.values():
            prefixes.sort(key=lambda item: len(item[0]), reverse=True)

    def concept_of_coding(self, system: Any, code: Any) -> str | None:
        """Return the concept of one Coding, or ``None``. Exact rows win over prefixes; longest prefix wins."""
        if not isinstance(system, str) or not isinstance(code, str):
            return None
        canonical_system, canonical_code = _canonical(system, code)
        concept = self._exact.get((canonical_system, canonical_code))
        if concept is not None:
            return concept
        for prefix, prefix_concept in self._prefix.get(canonical_system, ()):
            if canonical_code.startswith(prefix):
                return prefix_concept
        return None

    def matches(self, concept: Any, *, by_name: bool = False) -> tuple[Match, ...]:
        """Return the concepts of a CodeableConcept (or list of them), codes first, then names if asked.

        Results are memoized per distinct concept JSON (a hospital's vocabulary of drug and diagnosis codes is
        small; a long history repeats the same few), at most ``_CACHE_LIMIT`` entries per table and process.
        The key is the concept serialized by orjson: exact, and far cheaper than walking it.
        """
        try:
            key = (orjson.dumps(concept), by_name)
        except TypeError:  # not JSON data (never from a parsed request): match without the memo
            return self._match(concept, by_name=by_name)
        found = self._cache.get(key)
        if found is None:
            found = self._match(concept, by_name=by_name)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _match(self, concept: Any, *, by_name: bool) -> tuple[Match, ...]:
        found: list[Match] = []
        for coding in codings(concept):
            system, code = coding.get("system"), coding.get("code")
            hit = self.concept_of_coding(system, code)
            if hit is not None:
                substance = self._substances.get(_canonical(system, code), "")  # type: ignore[arg-type]
                found.append(Match(hit, f"{system}|{code}", substance))
        if by_name and not found:
            for text in concept_names(concept):
                found.extend(self._name_matches(text))
        return tuple(found)

    def _name_matches(self, text: str) -> Iterator[Match]:
        """The ``name`` rows that match in ``text`` (case-insensitive), in table order."""
        lowered = text.lower()
        for pattern, name_concept, display, substance in self._names:
            if pattern.search(lowered):
                yield Match(name_concept, f"name '{display}' in '{text}'", substance)

    def has_name(self, text: str) -> bool:
        """Whether a ``name`` row matches in ``text``, as ``matches(..., by_name=True)`` tests each name it reads.

        Used by the worklist's byte pre-filter (``cohort.relevance``) on the free-text values of a line it has not
        parsed; the same ``_name_matches`` as ``matches``, so the two cannot drift apart.
        """
        return next(self._name_matches(text), None) is not None

    def codings_for(self, concept: str, *, systems: Iterable[str] = ()) -> list[tuple[str, str, str]]:
        """Return ``(system, code, display)`` of the exact rows of ``concept``, optionally only some systems."""
        wanted = set(systems)
        return [
            (row.system, row.code, row.display)
            for row in self.rows
            if row.concept == concept and row.match == "exact" and (not wanted or row.system in wanted)
        ]


def read_rows(text: str) -> list[CodeRow]:
    """Parse the CSV text of a code table.

    Raises:
        CodeTableError: a row lacks a column.
    """
    rows = []
    for number, raw in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            rows.append(CodeRow(**{k: (v or "").strip() for k, v in raw.items()}))
        except TypeError as error:
            raise CodeTableError(f"codes.csv line {number}: {error}") from error
        if not all((rows[-1].concept, rows[-1].system, rows[-1].code, rows[-1].match)):
            raise CodeTableError(f"codes.csv line {number}: empty concept, system, code or match")
    return rows


@cache
def code_table() -> CodeTable:
    """Return the packaged code table, loaded and validated once per process."""
    text = (resources.files("fhir_mappers") / "codesets" / "codes.csv").read_text(encoding="utf-8")
    return CodeTable(read_rows(text))


@cache
def site_table() -> CodeTable:
    """Return the infection-site table (``codesets/infection_sites.csv``): which infection codes name an organ.

    Used for "known organ focus" (Opsummering, Kriterier for opstart: e.g. urinary tract, recurrent lung
    infections). Kept apart from ``codes.csv`` because a code there has exactly one concept.
    """
    text = (resources.files("fhir_mappers") / "codesets" / "infection_sites.csv").read_text(encoding="utf-8")
    return CodeTable(read_rows(text))


def concept_systems(matches: Iterable[Match]) -> Mapping[str, str]:
    """Return concept -> what matched, first match per concept."""
    result: dict[str, str] = {}
    for match in matches:
        result.setdefault(match.concept, match.matched)
    return result
