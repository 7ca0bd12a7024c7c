"""Card language: the Danish catalog is complete, placeholders match, both languages render every card kind."""

from __future__ import annotations

import importlib.util
import io
import json
import re
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations
from hypothesis import given
from hypothesis import strategies as st

from cds_service.cards.i18n import Translator, escape_markdown, translator
from cds_service.cards.options import resolve
from guideline.text import Decimals, msg, plural
from tests.catalog import CATALOG_PATH, KEYWORDS, catalog_ids, message_ids
from tests.conftest import make_app

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalog():  # type: ignore[no-untyped-def]
    with CATALOG_PATH.open("rb") as po:
        return read_po(po, locale="da")


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def test_every_message_has_a_danish_translation_with_the_same_placeholders() -> None:
    catalog = _catalog()
    ids = catalog_ids()
    assert len(ids) > 250
    for message_id in ids:
        singular = message_id if isinstance(message_id, str) else message_id[0]
        entry = catalog.get(singular)
        assert entry is not None and entry.string, f"no Danish translation for {message_id!r}"
        assert not entry.fuzzy, message_id
        assert entry.id == message_id, f"singular/plural entry kind or plural msgid differ: {entry.id!r}"
        if isinstance(message_id, str):
            assert _placeholders(entry.string) == _placeholders(message_id), message_id
            continue
        # A plural entry: msgstr[0] (n == 1) and msgstr[1] (every other n), each with its English form's placeholders.
        assert len(entry.string) == catalog.num_plurals == 2, message_id
        for form, english_form in zip(entry.string, message_id, strict=True):
            assert form, f"a Danish plural form of {message_id!r} is empty"
            assert _placeholders(form) == _placeholders(english_form), message_id


def test_catalog_has_no_stale_messages() -> None:
    catalog = _catalog()
    entries = [m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id]
    assert set(entries) == set(catalog_ids())
    assert set(message_ids()) == {e if isinstance(e, str) else e[0] for e in entries}


def test_catalog_plural_forms_are_danish() -> None:
    catalog = _catalog()
    assert (catalog.num_plurals, catalog.plural_expr) == (2, "(n != 1)")


def test_danish_numbers_use_a_decimal_comma_and_dates_stay_iso() -> None:
    text = msg("IgG {value} g/L on {on}", value=3.15, on=date(2026, 11, 20))
    assert translator("da")(text) == "IgG 3,15 g/L on 2026-11-20"
    assert translator("en")(text) == "IgG 3.15 g/L on 2026-11-20"


@pytest.mark.parametrize(
    ("value", "english", "danish"),
    [
        (Decimals(3.0, 1), "3.0", "3,0"),  # the lab reported 3.0: not "3"
        (Decimals(3.1, 2), "3.10", "3,10"),
        (Decimals(3, 0), "3", "3"),
        (Decimals(0.25, 1), "0.3", "0,3"),  # half up, the same digits in both languages
        (Decimals(2.45, 1), "2.5", "2,5"),  # 2.45 is 2.4499... as a float; its shortest repr is what is rounded
        (Decimals(12.345, 3), "12.345", "12,345"),
        (Decimals(1234.5, 1), "1234.5", "1.234,5"),
    ],
)
def test_fixed_decimals_keep_the_labs_precision(value: Decimals, english: str, danish: str) -> None:
    text = msg("IgG {value} g/L", value=value)
    assert text.english() == f"IgG {english} g/L"
    assert translator("en")(text) == f"IgG {english} g/L"
    assert translator("da")(text) == f"IgG {danish} g/L"
    assert translator("da").markdown()(text) == f"IgG {danish} g/L"


@given(
    st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**6), 10**6).map(lambda n: n / 100),
    st.integers(0, 6),
)
def test_fixed_decimals_english_is_the_rounded_decimal(value: float, places: int) -> None:
    """``str(Decimals)`` pads a value that needs no rounding; the text is always the half-up ``Decimal`` of its repr."""
    fixed = Decimals(value, places)
    try:
        expected = f"{fixed.digits():f}"
    except ArithmeticError as error:  # too many digits for the Decimal context: both ways refuse alike
        with pytest.raises(type(error)):
            str(fixed)
        return
    assert str(fixed) == expected


@pytest.mark.parametrize(
    ("value", "places", "english"),
    [
        (1.5e16, 5, "15000000000000000.00000"),  # repr "1.5e+16": an exponent, not decimals
        (1.5e-07, 5, "0.00000"),
        (1.5e-07, 7, "0.0000002"),  # half up
        (3.0, 1, "3.0"),
        (2.675, 2, "2.68"),  # the repr's decimals, rounded half up
    ],
)
def test_fixed_decimals_in_exponent_notation(value: float, places: int, english: str) -> None:
    assert str(Decimals(value, places)) == english


def test_fixed_decimals_refuse_negative_places() -> None:
    with pytest.raises(ValueError):
        Decimals(3.0, -1)
    assert translator("en")(msg("{v}", v=3.0)) == "3"  # a plain float still drops trailing zeros


def _danish(*entries: tuple[str | tuple[str, str], str | tuple[str, str]]) -> Translator:
    """A Danish translator over a catalog of just these entries (the real catalog has the card texts)."""
    catalog = Catalog(locale="da")
    for message_id, string in entries:
        catalog.add(message_id, string)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translator("da", Translations(buffer))


_MORE = ("{count} further administration in the same course", "{count} further administrations in the same course")
_MERE = ("{count} yderligere administration i samme forløb", "{count} yderligere administrationer i samme forløb")


@pytest.mark.parametrize(
    ("count", "english", "danish"),
    [
        (1, "1 further administration in the same course", "1 yderligere administration i samme forløb"),
        (2, "2 further administrations in the same course", "2 yderligere administrationer i samme forløb"),
        (0, "0 further administrations in the same course", "0 yderligere administrationer i samme forløb"),
        (21, "21 further administrations in the same course", "21 yderligere administrationer i samme forløb"),
    ],
)
def test_plural_messages_take_the_form_their_count_needs(count: int, english: str, danish: str) -> None:
    text = plural(*_MORE, count)
    assert text.english() == english
    assert translator("en")(text) == english
    assert _danish((_MORE, _MERE))(text) == danish
    nested = msg("Evidence: {more}", more=text)
    assert _danish((_MORE, _MERE), ("Evidence: {more}", "Evidens: {more}"))(nested) == f"Evidens: {danish}"


def test_plural_messages_take_further_parameters_and_fall_back_to_english() -> None:
    severe = ("{count} severe infection since {since}", "{count} severe infections since {since}")
    text = plural(*severe, 1, since=date(2026, 5, 1))
    assert text.english() == "1 severe infection since 2026-05-01"
    danish = ("{count} svær infektion siden {since}", "{count} svære infektioner siden {since}")
    three = plural(*severe, 3, since=date(2026, 5, 1))
    assert _danish((severe, danish))(three) == "3 svære infektioner siden 2026-05-01"
    assert _danish()(text) == "1 severe infection since 2026-05-01"  # untranslated: English, in the right form
    with pytest.raises(TypeError):
        plural(*severe, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        plural(*severe, 1, count=2)


def test_plural_messages_are_extracted_with_both_forms() -> None:
    source = b'plural("{count} day", "{count} days", n)\nmsg("Start.")\nplural(other, "x", n)\n'
    found = [message for _, message, _, _ in extract("python", io.BytesIO(source), keywords=KEYWORDS)]
    assert found == [("{count} day", "{count} days"), "Start."]


def _update_catalog() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "update_catalog.py"
    spec = importlib.util.spec_from_file_location("update_catalog", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_update_catalog_keeps_plural_and_singular_translations() -> None:
    translation = _update_catalog().translation
    old = Catalog(locale="da")
    old.add("Start.", "Start.")
    old.add(("{count} day", "{count} days"), ("{count} dag", "{count} dage"))
    old.add("{count} further administrations in the same course", _MERE[1])
    assert translation(old, "Start.") == "Start."
    assert translation(old, ("{count} day", "{count} days")) == ("{count} dag", "{count} dage")
    assert translation(old, _MORE) == ("", _MERE[1])  # became plural: the old text is the plural form
    assert translation(old, "{count} day") == ""  # was plural, now singular: to translate again
    assert translation(old, "New.") == ""


def test_update_catalog_keeps_a_removed_translation_as_obsolete_and_takes_it_up_again() -> None:
    update = _update_catalog().update
    old = Catalog(locale="da")
    old.add("Start.", "Start.")
    old.add("Gone.", "Væk.")
    old.add(("{count} day", "{count} days"), ("{count} dag", "{count} dage"))
    catalog, missing = update(old, ["Start.", "New."])
    assert ([m.id for m in catalog if m.id], missing) == (["Start.", "New."], 1)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0)
    assert b'#~ msgid "Gone."' in buffer.getvalue()
    buffer.seek(0)
    again, missing = update(read_po(buffer, locale="da"), ["Gone.", ("{count} day", "{count} days")])
    assert (again.get("Gone.").string, again.get("{count} day").string, missing) == (
        "Væk.",
        ("{count} dag", "{count} dage"),
        0,
    )
    assert not update(old, ["Start."], drop_obsolete=True)[0].obsolete


@pytest.mark.parametrize(
    ("extension", "accept_language", "default", "expected"),
    [
        ({"sid-igrt": {"language": "da"}}, None, "en", "da"),
        ({"sid-igrt": {"language": "da"}}, "en-GB", "en", "da"),  # the request's option wins over the header
        ({"sid-igrt": {"language": "sv"}}, None, "en", "en"),  # unknown: the default, no error
        ({"sid-igrt": {"language": "sv"}}, "da-DK,da;q=0.9", "en", "da"),
        ({"com.epic.cdshooks.request.x": 1}, "da", "en", "da"),
        (None, "fr-FR, *;q=0.5", "da", "da"),  # nothing we speak named: the deployment default
        (None, None, "da", "da"),
        ("not an object", "en-US", "da", "en"),
    ],
)
def test_card_language_from_option_header_and_default(
    extension: object, accept_language: str | None, default: str, expected: str
) -> None:
    assert resolve(extension, accept_language=accept_language, default_language=default).language == expected
    with pytest.raises(ValueError):
        translator("de")


def test_unknown_card_options_are_ignored() -> None:
    options = resolve(
        {"sid-igrt": {"advice": "everything", "details": "yes", "colour": "red"}},
        accept_language=None,
        default_language="en",
    )
    assert (options.advice, options.details) == ("lines", False)
    assert (
        resolve({"sid-igrt": {"advice": "cards", "details": False}}, accept_language=None, default_language="en").advice
        == "cards"
    )


@pytest.mark.parametrize(
    ("payload", "forbidden"),
    [
        ("[Privigen](javascript:alert(1))", "[Privigen]("),
        ("![x](https://evil.example/p.png)", "![x]("),
        ("# Heading", "\n# Heading"),
        ("<img src=x onerror=alert(1)>", "<img"),
        ("**Start IgRT now**", "**Start IgRT now**"),
        ("line one\n\n# two", "\n\n# two"),
    ],
)
def test_ehr_text_is_escaped_in_markdown(payload: str, forbidden: str) -> None:
    text = translator("en").markdown()(msg("Order: {display}", display=payload))
    assert forbidden not in text
    assert "\n" not in text
    assert escape_markdown("4. item").startswith("4\\.")


def _golden_requests() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(GOLDEN.glob("*/*/request.json")):
        found.append((path.parent.parent.name, json.loads(path.read_text(encoding="utf-8"))))
    return found


@pytest.mark.parametrize("language", ["en", "da"])
def test_every_card_kind_renders_in_both_languages_under_140_characters(language: str) -> None:
    kinds: set[str] = set()
    rules: set[str] = set()
    client = make_app(FIXED_DATE="2026-11-20", LANGUAGE=language).test_client()
    for service, body in _golden_requests():
        body = {k: v for k, v in body.items() if k != "extension"}
        body["extension"] = {"sid-igrt": {"advice": "cards"}}  # every advice kind as its own card
        response = client.post(f"/cds-services/{service}", json=body)
        if response.status_code != 200:
            continue
        for card in response.get_json()["cards"]:
            ext = card["extension"]["sid-igrt"]
            kinds.add(ext["kind"])
            rules.add(ext["rule"])
            assert len(card["summary"]) < 140, card["summary"]
            assert not card["summary"].endswith("…"), f"summary cut in {language}: {card['summary']}"
            assert card["source"]["topic"]["code"] == ext["rule"]
    assert kinds == {"decision", "dose", "product", "m-component", "monitoring", "prerequisites"}
    assert len(rules) >= 30


def test_danish_cards_are_danish() -> None:
    client = make_app(FIXED_DATE="2026-11-20").test_client()
    body = json.loads((GOLDEN / "sid-igrt-order-sign" / "danish-dose-out-of-range-ivig" / "request.json").read_text())
    cards = client.post("/cds-services/sid-igrt-order-sign", json=body).get_json()["cards"]
    assert len(cards) == 1
    assert cards[0]["summary"].startswith("Start immunglobulin: IgG 2,9 g/L < 4 g/L")
    assert "Detaljer" not in cards[0]["detail"] and "Seponér senest" in cards[0]["detail"]
    assert cards[0]["extension"]["sid-igrt"]["language"] == "da"
    dose = next(a for a in cards[0]["extension"]["sid-igrt"]["advice"] if a["kind"] == "dose")
    assert dose["summary"].startswith("Immunglobulindosis 1,2 g/kg pr. måned")
    assert "er uden for 0,4-0,8 g/kg" in dose["summary"]
    assert f"Næste skridt: {dose['summary']}" in cards[0]["detail"]  # the dose warning is the one next step
    body["extension"]["sid-igrt"]["details"] = True  # the long form a site may ask for
    long_form = client.post("/cds-services/sid-igrt-order-sign", json=body).get_json()["cards"][0]["detail"]
    assert "**Detaljer**" in long_form and long_form.startswith(cards[0]["detail"].split("\n\n")[0])


def test_accept_language_chooses_danish_and_an_unknown_language_is_no_error() -> None:
    client = make_app(FIXED_DATE="2026-11-20").test_client()
    body = json.loads((GOLDEN / "sid-igrt-order-sign" / "danish-dose-out-of-range-ivig" / "request.json").read_text())
    body.pop("extension", None)
    danish = client.post("/cds-services/sid-igrt-order-sign", json=body, headers={"Accept-Language": "da-DK,da;q=0.9"})
    assert danish.get_json()["cards"][0]["extension"]["sid-igrt"]["language"] == "da"
    body["extension"] = {"sid-igrt": {"language": "sv"}}
    response = client.post("/cds-services/sid-igrt-order-sign", json=body)
    assert response.status_code == 200
    assert response.get_json()["cards"][0]["extension"]["sid-igrt"]["language"] == "en"
