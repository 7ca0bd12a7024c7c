"""Card language: the Danish catalog is complete, placeholders match, both languages render every card kind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from cds_service.i18n import request_language, translator
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


def test_request_extension_language() -> None:
    assert request_language({"sid-igrt": {"language": "da"}}) == "da"
    assert request_language({"com.epic.cdshooks.request.x": 1}) is None
    assert request_language(None) is None
    with pytest.raises(ValueError):
        request_language({"sid-igrt": {"language": "sv"}})
    with pytest.raises(ValueError):
        translator("de")


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
    assert cards[0]["summary"].startswith("Start immunglobulin: IgG 2,9 g/L < 4 g/L")
    assert "**Anbefaling: start**" in cards[0]["detail"]
    assert cards[0]["extension"]["sid-igrt"]["language"] == "da"
    dose = next(c for c in cards if c["extension"]["sid-igrt"]["kind"] == "dose")
    assert dose["summary"].startswith("Immunglobulindosis 1,2 g/kg pr. måned er uden for 0,4-0,8 g/kg")


def test_unsupported_request_language_is_a_400() -> None:
    client = make_app(FIXED_DATE="2026-11-20").test_client()
    body = json.loads((GOLDEN / "sid-igrt-order-sign" / "danish-dose-out-of-range-ivig" / "request.json").read_text())
    body["extension"] = {"sid-igrt": {"language": "sv"}}
    response = client.post("/cds-services/sid-igrt-order-sign", json=body)
    assert response.status_code == 400
    assert response.get_json()["resourceType"] == "OperationOutcome"
