"""Danish cards are Danish (issue "Clinical fidelity 4", items 10-11).

Every golden fixture is rendered in Danish, once with the advice folded into the decision card and once with the
advice as cards of their own, and every text a clinician can see is checked: summary, detail, suggestion labels and
action descriptions, link labels, override-reason displays, the source, and the texts of the machine-readable
extension (criteria, evidence, notes, settings, data issues, advice). A text fails on

- an English word: a word of ``ENGLISH_WORDS`` (common English words and the cards' English vocabulary that are not
  also Danish words), English abbreviations ("e.g.", "IgRT") or an English possessive ("lab's");
- a plural marker: "(s)", "(er)", "(le)" and the like, or a Danish plural after "1" ("1 svære"); plurals are
  Babel's (``guideline.text.plural``).

The catalog itself is also searched for Danish a clinician would not write (``UNIDIOMATIC``).

What is not ours is not checked: text from the EHR (every ``display``, ``text`` and ``valueString`` of the request,
and its other values where a card quotes them, as in ``status 'stopped'``), FHIR element and resource names, hook
names, references and codes (ATC, ICD-10, LOINC), and the accepted terms of ``ACCEPTED`` (drug and test names, units).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from babel.messages.pofile import read_po

from tests.cases import CASES, Case, case_dir
from tests.catalog import CATALOG_PATH
from tests.conftest import make_app

ACCEPTED = (
    "IgG", "IgA", "IgM", "IgE", "CAR-T", "bsAb", "SCIG", "IVIG", "fSCIG", "T0", "CD19", "HSCT", "SID", "PID",
    "COMMIT", "g/L", "mg/dL", "mg/mL", "mg/ml", "mL/kg", "ml/kg", "g/kg", "mL", "ml", "kg", "mg", "ATC", "ICD-10",
    "LOINC", "NPU", "EPJ", "v3-ActCode EMER", "patient-view", "order-select", "order-sign", "entered-in-error",
)  # fmt: skip
"""Terms a Danish clinician writes as they are (the source writes them so too); FHIR codes and hook names."""

FHIR_NAMES = frozenset(
    {
        "Patient", "Observation", "Condition", "Encounter", "Procedure", "MedicationRequest",
        "MedicationAdministration", "MedicationStatement", "Immunization", "ServiceRequest", "Quantity",
        "OperationOutcome", "Bundle", "refuted",
    }
)  # fmt: skip
"""FHIR resource and data type names and codes, quoted by data-issue texts: identifiers, not English prose."""

ENGLISH_WORDS = frozenset(
    """
    a about above active addendum adequacy adequate adjust adjusted adjusting administrations admission admitted adult
    advice after age ago aim aiming alive all allogeneic alone already also always an and annual another answer
    antibiotic antibiotics antibody antigens any apart applies apply are around as assess assessed assessment attempt
    attempted autologous back bacterial based be because been before behind being belongs below between birth
    bispecific body born both bronchiectasis but can cannot carries cell cells check checked child children chills
    choice chosen circumstances class classify clinical clinician code coded community comparator competence complete
    component computed concentration concerns confirmed confirming consider considered contain continue continued
    converted could count counted counts course covered criteria criterion cumulative current danish date dates day
    days decide decided deciding decision decisive details did different differs diphtheria directed disease do
    document documented does done dose doses dosing draft drawn due during each earlier effect effective effects ehr
    else emergency encounter ended endocarditis ends equal estimate estimated evaluated every examination expected
    experience exposure extended extension external facilitated factor fear fever fewer finds first focus follow
    follows found frail free frequency from function further gap guideline guidelines haematological hard has have
    he help here high higher highest his history home how humoral hypogammaglobulinaemia if immaturity immune
    immunity immunodeficiency immunofixation immunoglobulin immunological immunology immunomodulation immunoparesis
    in inadequate included including indicated indication individual individually infection infections infused
    injection inside instead international interpreted interrupted into intravenous invalid is it its judge judged
    judgement judges judging justify known lack larger last later latest least lies life limited linked longer low
    lung lungs make management many marker markers marks may means measure measured measurement measurements meet met
    microorganism minimal missing month monthly months much myeloma named national need needed needs negative new
    next no none not notes now number occurred october of old older on once one only onset onsets or order ordered
    organism other otherwise our out outside overdue own pain pairing passed past patients paused pausing persistent
    place pneumococcal pneumonia polyclonal positive possibly practice prefer prerequisite prerequisites previous
    primary problems product products prophylaxis protocol pump qualifying range reach reached reactions reason
    reasonable reasoning reassess recent recommend recommendations recommended recommends record recorded recovery
    recur recurrent reduction reflect reflects related reminds remits remove repeat repeated reported requiring
    response responses restart restarting rests result results reversibility review rise rising risk route routine
    routinely rule rules same sample samples second secondary section self settings severe severity shaped she short
    should since skin so societies source special specialised specific started starting starts stated statement
    still stop stopped stops strength string studies subcutaneous subcutaneously subtracts suffice suffices summer
    switch switching table tables take taken takes targeted than that the their them then there these they this
    those threatening through throughout together told too towards tract training transplant treated treatment treats
    tried trough troughs twice two typed typing uncertain undated undergoing undetermined unit unknown until up
    urinary use used uses vaccinated vaccine value values verified very visits volume volumes ward was we week weekly
    weeks weigh weight were what whatever when where whether which while who will window winter with within without
    would year years yes you your
    igrt
    """.split()
)
"""English words that are not Danish words, lower case (from the catalog's msgids and common function words).

Left out, as they are Danish too (or Danish loanwords a clinician writes): at, by (town), data, end (than), episode,
far, final, for, general, get, give, given, her (here), hospital, information, infusion, interval, lab, more, most,
must, organ, over, pause, per, plan, population, rate, reference, relevant, serum, show, side, single, site,
specialist, standard, start, status, support, to (two), total, type, under. "is" (ice), "due" (dove), "not" (a note),
"last" (a load) and "stop" are Danish words too, but never in these cards' Danish: there they are English (the source
says "seponering", not "stop"). "IgRT" is the English abbreviation: the source says "immunglobulin(substitution)".
"""

ENGLISH_PATTERNS = (
    re.compile(r"\b(?:e\.g|i\.e|etc)\.", re.IGNORECASE),  # Danish: "fx", "dvs.", "osv."
    re.compile(r"[A-Za-z]+'s\b"),  # an English possessive: "the lab's"
)
PLURAL_MARKER = re.compile(r"(?<=[A-Za-zÆØÅæøå])\((?:s|es|e|er|r|n|ne|le|ene|erne)\)")
"""A plural written as "(s)" or "(er)": "infektion(er)", "bakteriel(le)", "prerequisite(s)"."""
ONE_WITH_A_PLURAL = re.compile(
    r"(?<![\d,.\-])\b1 (?:svære|alvorlige|verificerede|bakterielle|infektioner|dage|måneder|uger|prøver"
    r"|administrationer|forudsætninger)\b"
)
"""A Danish plural after the number 1 ("1 svære, 1 verificerede"): Babel's singular is due there."""
UNIDIOMATIC = {
    "parringsdag": "pairing days: 'parring' is mating",
    r"afgør\w* (?:ikke )?sagen": "'afgøre sagen' is a court's phrase",
    "fuldfør målingerne": "'fuldføre' is to finish a task",
    r"hver \{\w+\}\.": "an ordinal of a number that can have decimals: 'hver 3,5. dag'",
    r"IVIG rimelig\b": "'(IVIG rimelig)' is not a sentence",
    r"ingen relevant\b": "'Population ingen relevant'",
    r"\bIgRT\b": "the English abbreviation: the source says immunglobulin(substitution)",
    r"\((?:er|e|le|ne)\)": "a plural marker",
}
"""Danish a clinician would not write (issue "Clinical fidelity 4", item 10), searched in the catalog's msgstrs."""

_CODES = (
    re.compile(r"\b[A-Z][A-Za-z]+/[\w.\-]+"),  # FHIR references: MedicationRequest/draft-ivig
    re.compile(r"\b[A-Za-z]{2,}(?:\.[a-z][A-Za-z]+(?:\[x\])?)+"),  # FHIR paths: Observation.valueQuantity.code
    re.compile(r"\b[a-z]+(?:[A-Z][a-z0-9]*)+\b"),  # FHIR element names: verificationStatus, recordedDate
    re.compile(r"\b[A-Z]\d{2}[A-Z0-9]*\b"),  # ATC codes: J01, J06BA, L01XL03
    re.compile(r"\bD[A-Z]\d{2,4}[A-Z0-9]*\b"),  # Danish ICD-10 (SKS) codes: DC833, DA419C
)
_ACCEPTED = re.compile(
    r"(?<!\w)(?:" + "|".join(re.escape(t) for t in sorted(ACCEPTED, key=len, reverse=True)) + r")(?!\w)"
)
_WORD = re.compile(r"[A-Za-zÆØÅæøåÉéÜüÖö]+")
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_\[\]~|#+\-.!>()])")


def _ehr_strings(request: Any) -> tuple[list[str], list[str]]:
    """The request's texts (display, text, valueString: stripped anywhere) and its other strings (where quoted)."""
    texts: list[str] = []
    others: list[str] = []

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and value.strip():
            (texts if key in ("display", "text", "valueString") else others).append(value.strip())

    walk(request, None)
    return sorted(set(texts), key=len, reverse=True), sorted(set(others), key=len, reverse=True)


def ours(text: str, request: Any) -> str:
    """``text`` without what is not ours to translate: EHR text, codes, accepted terms; Markdown unescaped."""
    text = _MARKDOWN_ESCAPE.sub(r"\1", text).replace("&lt;", "<").replace("&amp;", "&").replace("**", "")
    texts, others = _ehr_strings(request)
    for value in texts:
        text = text.replace(value, " ")
    for value in others:
        text = text.replace(f"'{value}'", " ")
    text = _ACCEPTED.sub(" ", text)
    for pattern in _CODES:
        text = pattern.sub(" ", text)
    return " ".join(word for word in text.split(" ") if word not in FHIR_NAMES)


def english_words(text: str) -> list[str]:
    """The English words and abbreviations in ``text`` (already without EHR text and codes: ``ours``)."""
    found = [match.group(0) for pattern in ENGLISH_PATTERNS for match in pattern.finditer(text)]
    return found + [word for word in _WORD.findall(text) if word.lower() in ENGLISH_WORDS]


def plural_markers(text: str) -> list[str]:
    """The "(s)"/"(er)" plural markers in ``text`` with the word they hang on, and Danish plurals after "1"."""
    marked = [text[: m.end()].split()[-1] for m in PLURAL_MARKER.finditer(text)]
    return marked + [m.group(0) for m in ONE_WITH_A_PLURAL.finditer(text)]


def card_texts(card: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every text of a card a clinician can see, with where it is: (field, text)."""
    yield "summary", card["summary"]
    for number, line in enumerate(card.get("detail", "").splitlines()):
        yield f"detail line {number + 1}", line
    yield "source.label", card["source"]["label"]
    yield "source.topic.display", card["source"]["topic"].get("display", "")
    for suggestion in card.get("suggestions", ()):
        yield "suggestion label", suggestion["label"]
        for action in suggestion.get("actions", ()):
            yield "suggestion action", action.get("description", "")
    for link in card.get("links", ()):
        yield "link label", link["label"]
    for reason in card.get("overrideReasons", ()):
        yield "overrideReason", reason["display"]
    yield from _extension_texts(card["extension"]["sid-igrt"], "extension")


def _extension_texts(ext: dict[str, Any], where: str) -> Iterator[tuple[str, str]]:
    if "summary" in ext:
        yield f"{where}.summary", ext["summary"]
    for criterion in ext.get("criteria", ()):
        yield f"{where}.criteria[{criterion['id']}]", criterion["description"]
        for evidence in criterion.get("evidence", ()):
            yield f"{where}.criteria[{criterion['id']}].evidence", evidence["text"]
    for note in ext.get("notes", ()):
        yield f"{where}.notes", note
    for setting in ext.get("interpretations", ()):
        yield f"{where}.interpretations[{setting['name']}]", setting["description"]
    for issue in ext.get("dataIssues", ()):
        yield f"{where}.dataIssues", issue["reason"]
    for advice in ext.get("advice", ()):
        yield from _extension_texts(advice, f"{where}.advice[{advice['kind']}]")


def danish_request(case: Case, advice: str) -> dict[str, Any]:
    """The case's request with Danish (and ``advice`` lines or cards) asked for in the request's card options."""
    request: dict[str, Any] = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
    extension = dict(request.get("extension") or {})
    extension["sid-igrt"] = {**dict(extension.get("sid-igrt") or {}), "language": "da", "advice": advice}
    return {**request, "extension": extension}


@cache
def responses() -> tuple[tuple[Case, str, dict[str, Any], int, Any], ...]:
    """Every golden fixture's Danish response: (case, advice option, request, status, body), advice lines and cards."""
    found = []
    clients = {}
    for case in CASES:
        if case.as_of not in clients:
            clients[case.as_of] = make_app(FIXED_DATE=case.as_of, LANGUAGE="da").test_client()
        for advice in ("lines", "cards"):
            request = danish_request(case, advice)
            response = clients[case.as_of].post(f"/cds-services/{case.service}", json=request)
            found.append((case, advice, request, response.status_code, response.get_json()))
    return tuple(found)


@cache
def rendered() -> tuple[tuple[str, str, str, str], ...]:
    """Every (case, field, text, checked) of every Danish card of every golden fixture, advice as lines and as cards.

    ``checked`` is the text without EHR text, codes and accepted terms (``ours``): what the tests search.
    """
    found: list[tuple[str, str, str, str]] = []
    for case, _, request, status, body in responses():
        assert status in (200, 412), f"{case.service}/{case.name}: {status} {body}"
        for card in body.get("cards", ()) if status == 200 else ():
            for field, text in card_texts(card):
                found.append((f"{case.service}/{case.name}", field, text, ours(text, request)))
    return tuple(dict.fromkeys(found))


def _report(offences: dict[str, set[str]], what: str) -> str:
    lines = [f"{len(offences)} Danish card texts with {what}:"]
    for text, where in sorted(offences.items()):
        lines.append(f"  {text!r}  ({len(where)} cards, e.g. {sorted(where)[0]})")
    return "\n".join(lines)


def test_every_golden_fixture_renders_danish_cards() -> None:
    """Danish gives each fixture the status and cards English gives (``expected.json``), and says it is Danish."""
    for case, advice, _, status, body in responses():
        expected = json.loads((case_dir(case) / "expected.json").read_text(encoding="utf-8"))
        assert status == expected["status"], f"{case.service}/{case.name}"
        if advice == "lines" and status == 200:
            assert len(body["cards"]) == len(expected["body"]["cards"]), f"{case.service}/{case.name}"
            assert all(card["extension"]["sid-igrt"]["language"] == "da" for card in body["cards"])
    assert len(rendered()) > 1000


def test_danish_cards_have_no_english_words() -> None:
    offences: dict[str, set[str]] = {}
    for case, field, text, checked in rendered():
        words = english_words(checked)
        if words:
            offences.setdefault(f"{text.strip()}  <- {', '.join(dict.fromkeys(words))}", set()).add(f"{case} {field}")
    assert not offences, _report(offences, "English words")


def test_danish_cards_have_no_plural_markers() -> None:
    offences: dict[str, set[str]] = {}
    for case, field, text, checked in rendered():
        markers = plural_markers(checked)
        if markers:
            offences.setdefault(f"{text.strip()}  <- {', '.join(markers)}", set()).add(f"{case} {field}")
    assert not offences, _report(offences, '"(s)"/"(er)" plural markers or a plural after 1')


def test_catalog_avoids_danish_a_clinician_would_not_write() -> None:
    with CATALOG_PATH.open("rb") as po:
        catalog = read_po(po, locale="da")
    found = []
    for message in catalog:
        for string in [message.string] if isinstance(message.string, str) else message.string:
            found += [f"{string!r}: {why}" for pattern, why in UNIDIOMATIC.items() if re.search(pattern, string)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("text", "request_json", "english", "plurals"),
    [
        ("Start IgRT.", {}, ["IgRT"], []),
        ("Fortsæt IgRT.", {}, ["IgRT"], []),
        ("Start immunglobulinsubstitution.", {}, [], []),
        ("Seponering senest 2027-02-28 (6 måneder efter CAR-T/bsAb).", {}, [], []),
        ("IgG 3,0 g/L < 4 g/L; IgA, IgM; SCIG, IVIG, fSCIG; T0, CD19; 0,4-0,8 g/kg; 2,0-4,0 ml/kg", {}, [], []),
        ("ATC J06BA, J01; DC833; Observation.valueQuantity.code; en Condition uden verificationStatus", {}, [], []),
        ("Fjern ordinationsudkast MedicationRequest/draft-ivig: not-indicated efter", {}, ["not", "indicated"], []),
        ("Restitutionsmarkører understøtter stop: IgA, IgM", {}, ["stop"], []),
        ("Stop due 2027-02-28: the dose", {}, ["Stop", "due", "the", "dose"], []),
        ("behandling (fx urinveje); e.g. lungs", {}, ["e.g.", "lungs"], []),
        ("under laboratoriets nedre grænse; the lab's range", {}, ["lab's", "the", "range"], []),
        ("2 forudsætning(er) mangler; 1 bakteriel(le) infektion(er); prerequisite(s)", {}, ["prerequisite"], 4),
        ("(fundet 1 svære, 1 verificerede)", {}, [], ["1 svære", "1 verificerede"]),
        ("(fundet 1 svær, 1 verificeret, 2 svære; 21 dage; 0,1 dage)", {}, [], []),
        ("Pneumoni: Bacterial pneumonia, NOS (verificeret)", {"display": "Bacterial pneumonia, NOS"}, [], []),
        ("Privigen: status 'stopped' (ikke givet)", {"status": "stopped"}, [], []),
        ("Privigen: status 'stopped' (ikke givet)", {}, ["stopped"], []),
        ("Observation: entered-in-error: ikke brugt", {}, [], []),
        ("**Detaljer**: 10\\*9/L &lt;0.3 g/L", {}, [], []),
    ],
)  # fmt: skip
def test_the_checks_find_english_and_plural_markers_and_spare_danish_codes_and_ehr_text(
    text: str, request_json: dict[str, Any], english: list[str], plurals: list[str] | int
) -> None:
    cleaned = ours(text, request_json)
    assert english_words(cleaned) == english
    markers = plural_markers(cleaned)
    assert (len(markers) if isinstance(plurals, int) else markers) == plurals
