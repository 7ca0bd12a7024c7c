"""Card language: the Danish catalog is complete, placeholders match, both languages render every card kind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from cds_service.card_options import resolve
from cds_service.i18n import escape_markdown, translator
from guideline.text import msg
from tests.catalog import CATALOG_PATH, message_ids
from tests.conftest import make_app

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalog():  # type: ignore[no-untyped-def]
    with CATALOG_PATH.open("rb") as po:
        return read_po(po, locale="da")


def test_every_message_has_a_danish_translation_with_the_same_placeholders() -> None:
    catalog = _catalog()
    ids = message_ids()
    assert len(ids) > 250
    for msgid in ids:
        entry = catalog.get(msgid)
        assert entry is not None and entry.string, f"no Danish translation for {msgid!r}"
        assert not entry.fuzzy, msgid
        assert set(_PLACEHOLDER.findall(entry.string)) == set(_PLACEHOLDER.findall(msgid)), msgid


def test_catalog_has_no_stale_messages() -> None:
    catalog = _catalog()
    assert {m.id for m in catalog if m.id} == set(message_ids())


def test_danish_numbers_use_a_decimal_comma_and_dates_stay_iso() -> None:
    from datetime import date

    text = msg("IgG {value} g/L on {on}", value=3.15, on=date(2026, 11, 20))
    assert translator("da")(text) == "IgG 3,15 g/L on 2026-11-20"
    assert translator("en")(text) == "IgG 3.15 g/L on 2026-11-20"


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
    assert (options.advice, options.details) == ("lines", True)
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
    assert "**Detaljer**" in cards[0]["detail"] and "Seponér senest" in cards[0]["detail"]
    assert cards[0]["extension"]["sid-igrt"]["language"] == "da"
    dose = next(a for a in cards[0]["extension"]["sid-igrt"]["advice"] if a["kind"] == "dose")
    assert dose["summary"].startswith("Immunglobulindosis 1,2 g/kg pr. måned er uden for 0,4-0,8 g/kg")
    assert dose["summary"] in cards[0]["detail"]  # a warning: one of the short lines above Details


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
